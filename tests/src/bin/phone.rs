//! A phone as its own process: opens a device store and runs one sync cycle against the server
//! it was enrolled with. Tests kill it mid-sync to show the next sync completes.
//!
//!   gridbook-phone sync <store.db> [push-batch]

use gridbook_core::{Store, SyncEngine};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(cmd), Some(path)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: gridbook-phone sync <store.db> [push-batch]");
        std::process::exit(2);
    };
    if cmd != "sync" {
        eprintln!("unknown command {cmd}");
        std::process::exit(2);
    }
    // smaller batches make more acknowledged steps in one push, for a kill to fall between
    let push_batch = match args.get(3).map(|b| b.parse::<usize>()) {
        None => None,
        Some(Ok(n)) if n > 0 => Some(n),
        Some(_) => {
            eprintln!("push-batch is a positive number");
            std::process::exit(2);
        }
    };
    let store = match Store::open(path) {
        Ok(s) => std::sync::Arc::new(s),
        Err(e) => {
            eprintln!("cannot open {path}: {e}");
            std::process::exit(1);
        }
    };
    let config = match gridbook_core::sync::client::saved_config(&store, "phone-cli") {
        Ok(Some(c)) => {
            gridbook_core::SyncConfig { pull_limit: 500, push_batch: push_batch.unwrap_or(c.push_batch), ..c }
        }
        Ok(None) => {
            eprintln!("{path} is not enrolled");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let result = match SyncEngine::new(store, config) {
        Ok(engine) => engine.sync_once().await,
        Err(e) => Err(e),
    };
    match result {
        Ok(report) => println!("{}", serde_json::json!({"pushed": report.pushed, "pulled": report.pulled})),
        Err(e) => {
            eprintln!("sync failed: {e}");
            std::process::exit(1);
        }
    }
}
