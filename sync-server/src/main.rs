//! The server binary: parses configuration, then serves, runs an admin command, or runs the demo.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use gridbook_sync_server::admin::{self, AdminCommand};
use gridbook_sync_server::device_budget::BudgetConfig;
use gridbook_sync_server::snapshot_files::SnapshotFilesConfig;
use gridbook_sync_server::{demo, now_ms, serve, shutdown_signal, AppState, Rules, SqliteStorage};

#[global_allocator]
static ALLOCATOR: gridbook_sync_server::Allocator = gridbook_sync_server::Allocator {};

#[derive(Debug, Parser)]
#[command(name = "gridbook-sync-server", version, about = "Gridbook sync server and back office")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serves the sync API and the back office.
    Serve {
        /// The SQLite database file (created when missing).
        #[arg(long, env = "GRIDBOOK_DB", default_value = "gridbook.db")]
        db: PathBuf,
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, env = "GRIDBOOK_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Writes the bound address here once listening (for scripts and tests).
        #[arg(long)]
        port_file: Option<PathBuf>,
        /// Clock stamps further ahead of the server than this many seconds are clamped.
        #[arg(long, env = "GRIDBOOK_MAX_CLOCK_AHEAD_S", default_value_t = 300)]
        max_clock_ahead_s: i64,
        /// A snapshot file is rebuilt (in the background) once more records than this changed in
        /// its grids since it was built.
        #[arg(long, env = "GRIDBOOK_SNAPSHOT_MAX_CHANGES_BEHIND", default_value_t = 10_000)]
        snapshot_max_changes_behind: u64,
        /// A snapshot file older than this many seconds is rebuilt (in the background).
        #[arg(long, env = "GRIDBOOK_SNAPSHOT_MAX_AGE_S", default_value_t = 6 * 3600)]
        snapshot_max_age_s: i64,
        /// Grids holding fewer records than this get no snapshot file: row pages are smaller.
        #[arg(long, env = "GRIDBOOK_SNAPSHOT_MIN_RECORDS", default_value_t = 2_000)]
        snapshot_min_records: u64,
        /// Every this many seconds the server builds the snapshot files that are missing or stale,
        /// ahead of the phones that will ask (0: only on request and by `admin build-snapshot-files`).
        #[arg(long, env = "GRIDBOOK_SNAPSHOT_REFRESH_S", default_value_t = 600)]
        snapshot_refresh_s: u64,
        /// Requests a second each device earns (0: no limit); over its budget a device gets 429
        /// with Retry-After.
        #[arg(long, env = "GRIDBOOK_DEVICE_REQUESTS_PER_S", default_value_t = BudgetConfig::default().per_second)]
        device_requests_per_s: u32,
        /// Requests a device may send at once after a quiet spell.
        #[arg(long, env = "GRIDBOOK_DEVICE_BURST", default_value_t = BudgetConfig::default().burst)]
        device_burst: u32,
    },
    /// Admin commands against the database file (the server may be running).
    Admin {
        #[arg(long, env = "GRIDBOOK_DB", default_value = "gridbook.db")]
        db: PathBuf,
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Serves a demo city: grids, managers, households, and simulated phones syncing.
    Demo {
        #[arg(long, env = "GRIDBOOK_DB", default_value = "gridbook-demo.db")]
        db: PathBuf,
        #[arg(long, env = "GRIDBOOK_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Simulated phones.
        #[arg(long, default_value_t = 6)]
        phones: usize,
    },
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GRIDBOOK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

async fn bind(listen: &str, port_file: Option<&PathBuf>) -> Result<tokio::net::TcpListener, String> {
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    if let Some(file) = port_file {
        let tmp = file.with_extension("tmp");
        std::fs::write(&tmp, addr.to_string())
            .and_then(|_| std::fs::rename(&tmp, file))
            .map_err(|e| format!("port file: {e}"))?;
    }
    tracing::info!(%addr, "listening");
    Ok(listener)
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve {
            db,
            listen,
            port_file,
            max_clock_ahead_s,
            snapshot_max_changes_behind,
            snapshot_max_age_s,
            snapshot_min_records,
            snapshot_refresh_s,
            device_requests_per_s,
            device_burst,
        } => {
            let storage = SqliteStorage::open(&db).map_err(|e| e.to_string())?;
            let mut state = AppState::new(Arc::new(storage))
                .with_snapshot_files(SnapshotFilesConfig {
                    max_changes_behind: snapshot_max_changes_behind,
                    max_age_ms: snapshot_max_age_s.max(0) * 1000,
                    min_records: snapshot_min_records,
                })
                .with_device_budget(BudgetConfig { per_second: device_requests_per_s, burst: device_burst });
            state.rules = Rules { max_clock_ahead_ms: max_clock_ahead_s.max(0) * 1000 };
            if let (Some(files), true) = (state.snapshot_files.clone(), snapshot_refresh_s > 0) {
                let storage = state.storage.clone();
                tokio::spawn(async move {
                    let mut every = tokio::time::interval(std::time::Duration::from_secs(snapshot_refresh_s));
                    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        every.tick().await;
                        match files.refresh(storage.clone()).await {
                            Ok(built) if !built.is_empty() => {
                                tracing::info!(files = built.len(), "snapshot files refreshed")
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "snapshot file refresh failed; phones get row pages or a build on request")
                            }
                        }
                    }
                });
            }
            let listener = bind(&listen, port_file.as_ref()).await?;
            serve(listener, state, shutdown_signal()).await.map_err(|e| e.to_string())
        }
        Command::Admin { db, command } => {
            let storage = SqliteStorage::open(&db).map_err(|e| e.to_string())?;
            let out = admin::run(&storage, command, now_ms()).map_err(|e| e.to_string())?;
            println!("{out}");
            Ok(())
        }
        Command::Demo { db, listen, phones } => demo::run(&db, &listen, phones).await.map_err(|e| e.to_string()),
    }
}

#[tokio::main]
async fn main() {
    init_tracing();
    if let Err(message) = run(Cli::parse()).await {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}
