//! The server binary: parses configuration, then calls into `cli` to serve, run an admin command,
//! or run the demo.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use gridbook_core::sync::wire::{DevicePolicy, PhotoPolicy};
use gridbook_sync_server::cli::{self, admin::AdminCommand, serve::BackupSchedule, serve::ServeConfig};
use gridbook_sync_server::domain::snapshot_files::SnapshotFilesConfig;
use gridbook_sync_server::http::client_addr::ClientAddrConfig;
use gridbook_sync_server::http::device_budget::BudgetConfig;
use gridbook_sync_server::http::ServeLimits;
use gridbook_sync_server::{now_ms, Rules, SqliteStorage};

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
        /// PostgreSQL instead of the SQLite file: `postgres://user:password@host:port/database`
        /// (several replicas may serve one database; docs/postgres.md).
        #[arg(long, env = "GRIDBOOK_DATABASE_URL")]
        database_url: Option<String>,
        /// With PostgreSQL: the directory of the snapshot files, shared by every replica (a
        /// network volume); without it phones pull row pages. SQLite keeps them beside its file.
        #[arg(long, env = "GRIDBOOK_SNAPSHOT_DIR")]
        snapshot_dir: Option<PathBuf>,
        /// With PostgreSQL: connections this replica holds at most (2–256; all replicas together
        /// stay under the database's `max_connections`; docs/postgres.md, "The pool").
        #[arg(long, env = "GRIDBOOK_PG_POOL_SIZE", default_value_t = gridbook_sync_server::storage::postgres::PoolSize::DEFAULT.get())]
        pg_pool_size: usize,
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
        /// The longest a phone's `GET /v1/changes` is held before the answer "maybe" (at most 25, the
        /// protocol's; a shorter one only means more polls).
        #[arg(long, env = "GRIDBOOK_CHANGES_MAX_WAIT_S", default_value_t = gridbook_core::sync::wire::CHANGES_MAX_WAIT_S)]
        changes_max_wait_s: u32,
        /// Requests a second each device earns (0: no limit); over its budget a device gets 429
        /// with Retry-After.
        #[arg(long, env = "GRIDBOOK_DEVICE_REQUESTS_PER_S", default_value_t = BudgetConfig::default().per_second)]
        device_requests_per_s: u32,
        /// Requests a device may send at once after a quiet spell.
        #[arg(long, env = "GRIDBOOK_DEVICE_BURST", default_value_t = BudgetConfig::default().burst)]
        device_burst: u32,
        /// Connections served at once (lowered to fit the open-file limit); more wait to be accepted.
        #[arg(long, env = "GRIDBOOK_MAX_CONNECTIONS", default_value_t = ServeLimits::default().max_connections)]
        max_connections: usize,
        /// A connection that sends no request header within this many seconds is closed.
        #[arg(long, env = "GRIDBOOK_HEADER_READ_TIMEOUT_S", default_value_t = ServeLimits::default().header_read_timeout.as_secs())]
        header_read_timeout_s: u64,
        /// Behind a reverse proxy: the header it puts the client's address in (e.g. X-Forwarded-For;
        /// its last entry is taken). Without it, the peer address; never set it when clients reach
        /// the server directly, since they could then choose their own address.
        #[arg(long, env = "GRIDBOOK_TRUSTED_PROXY_HEADER")]
        trusted_proxy_header: Option<axum::http::HeaderName>,
        /// Takes a backup into this directory on a schedule (docs/operations.md); none without it.
        #[arg(long, env = "GRIDBOOK_BACKUP_DIR")]
        backup_dir: Option<PathBuf>,
        /// Seconds between scheduled backups.
        #[arg(long, env = "GRIDBOOK_BACKUP_EVERY_S", default_value_t = 3600)]
        backup_every_s: u64,
        /// How many scheduled backups are kept (the oldest go).
        #[arg(long, env = "GRIDBOOK_BACKUP_KEEP", default_value_t = 48)]
        backup_keep: usize,
        /// Minutes without use after which a phone locks its store until unlocked with the PIN or
        /// biometrics (0: never).
        #[arg(long, env = "GRIDBOOK_IDLE_LOCK_MINUTES", default_value_t = DevicePolicy::IDLE_LOCK_MINUTES)]
        idle_lock_minutes: u32,
        /// Days without a successful sync after which a phone records nothing new until it syncs
        /// (it still syncs and shows what it holds; 0: no limit).
        #[arg(long, env = "GRIDBOOK_MAX_OFFLINE_DAYS", default_value_t = DevicePolicy::MAX_OFFLINE_DAYS)]
        max_offline_days: u32,
        /// Minutes an unlock stays fresh enough for signing a receipt (0: any unlock will do).
        #[arg(long, env = "GRIDBOOK_FRESH_UNLOCK_MINUTES", default_value_t = DevicePolicy::FRESH_UNLOCK_MINUTES)]
        fresh_unlock_minutes: u32,
        /// Whether the apps keep their screens out of screenshots and the app switcher.
        #[arg(long, env = "GRIDBOOK_BLOCK_SCREENSHOTS", default_value_t = true, action = clap::ArgAction::Set)]
        block_screenshots: bool,
        /// Whether phones upload photos over mobile data too (false: on Wi-Fi only).
        #[arg(long, env = "GRIDBOOK_PHOTOS_OVER_MOBILE", default_value_t = true, action = clap::ArgAction::Set)]
        photos_over_mobile: bool,
        /// Photo bytes a phone may send over mobile data per day, China time (0: no cap).
        #[arg(long, env = "GRIDBOOK_PHOTO_MOBILE_BYTES_PER_DAY", default_value_t = PhotoPolicy::MOBILE_BYTES_PER_DAY)]
        photo_mobile_bytes_per_day: u64,
        /// Days a phone keeps a photo after the server has it whole (0: removed at its next trim).
        #[arg(long, env = "GRIDBOOK_PHOTO_KEEP_DAYS", default_value_t = PhotoPolicy::KEEP_DAYS)]
        photo_keep_days: u32,
        /// Metres from its household's reference position beyond which a visit is flagged (a
        /// fix's own accuracy widens it).
        #[arg(long, env = "GRIDBOOK_VISIT_MAX_DISTANCE_M", default_value_t = gridbook_core::location::DEFAULT_MAX_DISTANCE_M)]
        visit_max_distance_m: i64,
        /// Hours after its visit or receipt before a photo the phone has not sent is shown
        /// "照片缺失 / photo missing" in the back office ("on its way" before).
        #[arg(long, env = "GRIDBOOK_PHOTO_MISSING_AFTER_H", default_value_t = 24)]
        photo_missing_after_h: i64,
        /// The company named at the head of every receipt: the back office's and the customer's
        /// copy the phones print (docs/money.md, docs/sync-protocol.md "Receipt profile").
        #[arg(long, env = "GRIDBOOK_COMPANY_NAME", default_value = gridbook_sync_server::http::state::DEFAULT_COMPANY_NAME)]
        company_name: String,
        /// The company's seal (印章) the phones print on every receipt's copy: a PNG file of at
        /// most 512 KB and 1024 px a side (none: no seal).
        #[arg(long, env = "GRIDBOOK_RECEIPT_SEAL_PNG")]
        receipt_seal_png: Option<PathBuf>,
        /// The public check's address printed as the receipts' QR code, e.g.
        /// `https://gridbook.example` (none: the address each phone enrolled with).
        #[arg(long, env = "GRIDBOOK_RECEIPT_VERIFY_URL")]
        receipt_verify_url: Option<String>,
    },
    /// Admin commands against the database (the server may be running).
    Admin {
        #[arg(long, env = "GRIDBOOK_DB", default_value = "gridbook.db")]
        db: PathBuf,
        /// PostgreSQL instead of the SQLite file (as `serve --database-url`).
        #[arg(long, env = "GRIDBOOK_DATABASE_URL")]
        database_url: Option<String>,
        /// With PostgreSQL: the replicas' shared snapshot-file directory (as `serve --snapshot-dir`).
        #[arg(long, env = "GRIDBOOK_SNAPSHOT_DIR")]
        snapshot_dir: Option<PathBuf>,
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The builds of the Android app the server offers phones, and the minimum app version
    /// (docs/operations.md, "App versions"); the server may be running.
    Releases {
        #[arg(long, env = "GRIDBOOK_DB", default_value = "gridbook.db")]
        db: PathBuf,
        #[command(subcommand)]
        command: cli::releases::ReleaseCommand,
    },
    /// Prints the sync protocol's OpenAPI document (what `GET /v1/openapi.json` serves):
    /// `cargo run -p gridbook-sync-server -- openapi > docs/openapi.json`.
    Openapi,
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

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve {
            db,
            database_url,
            snapshot_dir,
            pg_pool_size,
            listen,
            port_file,
            max_clock_ahead_s,
            snapshot_max_changes_behind,
            snapshot_max_age_s,
            snapshot_min_records,
            snapshot_refresh_s,
            changes_max_wait_s,
            device_requests_per_s,
            device_burst,
            max_connections,
            header_read_timeout_s,
            trusted_proxy_header,
            backup_dir,
            backup_every_s,
            backup_keep,
            idle_lock_minutes,
            max_offline_days,
            fresh_unlock_minutes,
            block_screenshots,
            photos_over_mobile,
            photo_mobile_bytes_per_day,
            photo_keep_days,
            visit_max_distance_m,
            photo_missing_after_h,
            company_name,
            receipt_seal_png,
            receipt_verify_url,
        } => {
            cli::serve::run(ServeConfig {
                db,
                database_url: database_url.filter(|url| !url.trim().is_empty()),
                snapshot_dir,
                pg_pool_size,
                listen,
                port_file,
                rules: Rules { max_clock_ahead_ms: max_clock_ahead_s.max(0) * 1000 },
                policy: DevicePolicy {
                    idle_lock_minutes,
                    max_offline_days,
                    fresh_unlock_minutes,
                    block_screenshots,
                    photos: Some(PhotoPolicy {
                        over_mobile: photos_over_mobile,
                        mobile_bytes_per_day: photo_mobile_bytes_per_day,
                        keep_days: photo_keep_days,
                    }),
                },
                company_name,
                receipt_seal_png,
                receipt_verify_url,
                snapshot_files: SnapshotFilesConfig {
                    max_changes_behind: snapshot_max_changes_behind,
                    max_age_ms: snapshot_max_age_s.max(0) * 1000,
                    min_records: snapshot_min_records,
                },
                snapshot_refresh_s,
                changes_max_wait_s,
                device_budget: BudgetConfig { per_second: device_requests_per_s, burst: device_burst },
                limits: ServeLimits {
                    max_connections: max_connections.max(1),
                    header_read_timeout: std::time::Duration::from_secs(header_read_timeout_s.max(1)),
                },
                client_addr: ClientAddrConfig { trusted_proxy_header },
                backups: backup_dir.map(|dir| BackupSchedule { dir, every_s: backup_every_s, keep: backup_keep }),
                visit_max_distance_m: visit_max_distance_m.clamp(10, 100_000),
                photo_missing_after_ms: photo_missing_after_h.clamp(1, 24 * 90) * 3_600_000,
            })
            .await
        }
        Command::Openapi => {
            print!("{}", gridbook_sync_server::http::openapi::document());
            Ok(())
        }
        Command::Admin { db, database_url: Some(url), snapshot_dir, command } if !url.trim().is_empty() => {
            match command {
                AdminCommand::MigrateToPostgres => {
                    let out = cli::admin::migrate_to_postgres(&db, &url, snapshot_dir.as_deref());
                    println!("{}", out.map_err(|e| e.to_string())?);
                    return Ok(());
                }
                AdminCommand::Restore { .. } => {
                    return Err("restore: PostgreSQL 请用其自带的工具恢复（scripts/pg-backup.sh），再运行 mark-restored \
                                restore PostgreSQL with its own tools (scripts/pg-backup.sh), then run `mark-restored` (docs/postgres.md)"
                        .into())
                }
                // before the storage is opened: opening refuses a restored database not marked yet
                AdminCommand::MarkRestored => {
                    println!("{}", cli::admin::mark_restored_database(&url).map_err(|e| e.to_string())?);
                    return Ok(());
                }
                _ => {}
            }
            let storage = gridbook_sync_server::PostgresStorage::open(&url)
                .map_err(|e| e.to_string())?
                .with_snapshot_dir(snapshot_dir);
            let out = cli::admin::run(&storage, command, now_ms()).map_err(|e| e.to_string())?;
            println!("{out}");
            Ok(())
        }
        Command::Admin { db, command: AdminCommand::Restore { from }, .. } => {
            println!("{}", cli::admin::restore_database(&db, &from).map_err(|e| e.to_string())?);
            Ok(())
        }
        Command::Admin { db, command, .. } => {
            let storage = SqliteStorage::open(&db).map_err(|e| e.to_string())?;
            let out = cli::admin::run(&storage, command, now_ms()).map_err(|e| e.to_string())?;
            println!("{out}");
            Ok(())
        }
        Command::Releases { db, command } => {
            let storage = SqliteStorage::open(&db).map_err(|e| e.to_string())?;
            println!("{}", cli::releases::run(&storage, command, now_ms()).map_err(|e| e.to_string())?);
            Ok(())
        }
        Command::Demo { db, listen, phones } => cli::demo::run(&db, &listen, phones).await.map_err(|e| e.to_string()),
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
