//! A phone as its own process: opens a device store and runs one sync cycle against the server
//! it was enrolled with. Tests kill it mid-sync to show the next sync completes.
//!
//! It also opens a plaintext store through a software vault, converting it to an encrypted one,
//! for the test that kills the conversion.
//!
//!   gridbook-phone sync <store.db> [push-batch]
//!   gridbook-phone convert <store.db> <vault secret, 64 hex digits>

use gridbook_core::store::encryption::SoftwareVault;
use gridbook_core::{Store, SyncEngine};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(cmd), Some(path)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: gridbook-phone sync <store.db> [push-batch] | convert <store.db> <secret hex>");
        std::process::exit(2);
    };
    if cmd == "convert" {
        let secret = args.get(3).and_then(|hex| gridbook_tests::secret_from_hex(hex));
        let Some(secret) = secret else {
            eprintln!("convert needs the vault's secret: 64 hex digits");
            std::process::exit(2);
        };
        match Store::open_sealed(path, &SoftwareVault::new(secret)) {
            Ok(store) => println!("{}", serde_json::json!({"encrypted": store.is_encrypted()})),
            Err(e) => {
                eprintln!("cannot open {path}: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
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
