//! `serve`: opens the database (the SQLite file, or PostgreSQL with `--database-url`), builds the state from the configuration, keeps the snapshot files
//! fresh in the background, and serves the sync API and the back office until SIGINT or SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;

use gridbook_core::evidence::printable::MAX_SEAL_BYTES;

use crate::domain::receipt_profile::ReceiptConfig;
use crate::domain::reconcile::Rules;
use crate::domain::snapshot_files::SnapshotFilesConfig;
use crate::http::client_addr::ClientAddrConfig;
use crate::http::connections::fit_to_file_limit;
use crate::http::device_budget::BudgetConfig;
use crate::http::state::AppState;
use crate::http::{serve_with, shutdown_signal, ServeLimits};
use crate::storage::postgres::{PoolSize, PostgresStorage};
use crate::storage::sqlite::SqliteStorage;

/// What `serve` is told on the command line (main.rs parses it).
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub db: PathBuf,
    /// `--database-url postgres://…`: the PostgreSQL backend instead of the SQLite file `db`.
    pub database_url: Option<String>,
    /// `--snapshot-dir`: PostgreSQL's snapshot files, shared by the replicas (docs/postgres.md).
    pub snapshot_dir: Option<PathBuf>,
    /// `--pg-pool-size`: PostgreSQL connections this replica holds at most (checked at start).
    pub pg_pool_size: usize,
    pub listen: String,
    /// Where the bound address is written once listening.
    pub port_file: Option<PathBuf>,
    pub rules: Rules,
    /// What the phones are asked to keep to (`--idle-lock-minutes`, `--max-offline-days`, …).
    pub policy: gridbook_core::sync::wire::DevicePolicy,
    /// `--company-name`: the head of every receipt, the back office's and the phones'.
    pub company_name: String,
    /// `--receipt-seal-png`: the seal image the phones print (checked at start).
    pub receipt_seal_png: Option<PathBuf>,
    /// `--receipt-verify-url`: the public check's address on the receipts' QR code.
    pub receipt_verify_url: Option<String>,
    pub snapshot_files: SnapshotFilesConfig,
    /// Seconds between background refreshes of the snapshot files (0: none).
    pub snapshot_refresh_s: u64,
    /// `--changes-max-wait-s`: the longest a `/v1/changes` poll is held (http/changes.rs).
    pub changes_max_wait_s: u32,
    pub device_budget: BudgetConfig,
    /// The connection cap and header-read timeout (the cap is lowered to fit the file limit).
    pub limits: ServeLimits,
    /// Where a client's address comes from (the peer, or a trusted proxy's header).
    pub client_addr: ClientAddrConfig,
    /// Scheduled backups (none when `None`).
    pub backups: Option<BackupSchedule>,
    /// `--visit-max-distance-m`: how far from its household's reference a visit may be.
    pub visit_max_distance_m: i64,
    /// `--photo-missing-after-h`: hours after its visit or receipt before a photo not here is
    /// "missing" (on its way before), as milliseconds.
    pub photo_missing_after_ms: i64,
}

/// Seconds between rounds of checking newly arrived visits by place.
const VISIT_CHECK_EVERY_S: u64 = 60;

/// `--backup-dir DIR --backup-every-s N --backup-keep K`: a backup into DIR every N seconds, the
/// newest K kept (docs/operations.md).
#[derive(Debug, Clone)]
pub struct BackupSchedule {
    pub dir: PathBuf,
    pub every_s: u64,
    pub keep: usize,
}

/// Takes one scheduled backup into `schedule.dir` and prunes the old ones.
fn scheduled_backup(storage: &dyn crate::storage::SyncStorage, schedule: &BackupSchedule) -> Result<(), String> {
    use crate::storage::sqlite::backup::{backup_name, prune};
    std::fs::create_dir_all(&schedule.dir).map_err(|e| format!("{}: {e}", schedule.dir.display()))?;
    let now = crate::now_ms();
    let report = storage.backup_to(&schedule.dir.join(backup_name(now)), now).map_err(|e| e.to_string())?;
    let removed = prune(&schedule.dir, schedule.keep.max(1)).map_err(|e| e.to_string())?;
    tracing::info!(file = %report.file.display(), bytes = report.bytes, removed, "scheduled backup taken");
    Ok(())
}

/// The receipts' seal and check address as configured, or why they cannot be printed.
fn receipt_config(config: &ServeConfig) -> Result<ReceiptConfig, String> {
    let seal = match &config.receipt_seal_png {
        Some(path) => {
            let named = |e: std::io::Error| format!("--receipt-seal-png {}: {e}", path.display());
            let bytes = std::fs::metadata(path).map_err(named)?.len();
            if bytes > MAX_SEAL_BYTES as u64 {
                return Err(format!(
                    "--receipt-seal-png {}: 印章图片至多 {MAX_SEAL_BYTES} 字节 / the seal is {bytes} bytes, at most {MAX_SEAL_BYTES}",
                    path.display()
                ));
            }
            Some(std::fs::read(path).map_err(named)?)
        }
        None => None,
    };
    ReceiptConfig::new(config.receipt_verify_url.as_deref(), seal)
}

pub async fn run(config: ServeConfig) -> Result<(), String> {
    let receipts = receipt_config(&config)?;
    let (state, _serving) = match &config.database_url {
        Some(url) => {
            if config.backups.is_some() {
                return Err("--backup-dir: 定时备份只用于 SQLite；PostgreSQL 请用其自带的备份 scheduled backups are for SQLite; back up PostgreSQL with its own tools".into());
            }
            let pool = PoolSize::new(config.pg_pool_size).map_err(|e| e.to_string())?;
            let (url, dir) = (url.clone(), config.snapshot_dir.clone());
            // connecting and migrating wait on the database: off the runtime's workers
            let storage = tokio::task::spawn_blocking(move || {
                PostgresStorage::open_with_pool(&url, pool).map(|s| s.with_snapshot_dir(dir))
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
            tracing::info!("storage: PostgreSQL");
            (AppState::new(Arc::new(storage)), None)
        }
        None => {
            // held while serving: `admin restore` refuses to replace the file under a running server
            let serving = crate::storage::sqlite::backup::ServeLock::take(&config.db).map_err(|e| e.to_string())?;
            let storage = SqliteStorage::open(&config.db).map_err(|e| e.to_string())?;
            storage.write_log_room_ahead();
            (AppState::new(Arc::new(storage)), Some(serving))
        }
    };
    let mut state = state
        .with_snapshot_files(config.snapshot_files)
        .with_device_budget(config.device_budget)
        .with_client_addr(config.client_addr)
        .with_visit_max_distance_m(config.visit_max_distance_m)
        .with_photo_missing_after_ms(config.photo_missing_after_ms)
        .with_company_name(config.company_name.trim())
        .with_receipt_config(receipts);
    state.rules = config.rules;
    state.policy = config.policy.bounded();
    state.changes_max_wait_s = config.changes_max_wait_s.min(gridbook_core::sync::wire::CHANGES_MAX_WAIT_S);
    if let (Some(files), true) = (state.snapshot_files.clone(), config.snapshot_refresh_s > 0) {
        let storage = state.storage.clone();
        let every_s = config.snapshot_refresh_s;
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(every_s));
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
    if let Some(schedule) = config.backups.clone() {
        let storage = state.storage.clone();
        tokio::spawn(async move {
            let every = std::time::Duration::from_secs(schedule.every_s.max(1));
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let (storage, schedule) = (storage.clone(), schedule.clone());
                match tokio::task::spawn_blocking(move || scheduled_backup(storage.as_ref(), &schedule)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::error!(error = %e, "scheduled backup failed"),
                    Err(e) => tracing::error!(error = %e, "scheduled backup task failed"),
                }
            }
        });
    }
    // visits are checked by place as they arrive, not only when the back office looks: each one
    // once, a minute after it came at most (domain/visit_locations.rs)
    {
        let (locations, max_distance_m) = (state.backoffice.locations.clone(), state.backoffice.visit_max_distance_m);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(std::time::Duration::from_secs(VISIT_CHECK_EVERY_S));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let locations = locations.clone();
                let checked = tokio::task::spawn_blocking(move || {
                    crate::domain::visit_locations::catch_up(locations.as_ref(), max_distance_m, crate::now_ms())
                })
                .await;
                match checked {
                    Ok(Ok(n)) if n > 0 => tracing::info!(visits = n, "visits checked by place"),
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "checking visits by place failed; the next round retries"),
                    Err(e) => tracing::error!(error = %e, "visit check task failed"),
                }
            }
        });
    }
    let limits = fit_to_file_limit(config.limits);
    let listener = bind(&config.listen, config.port_file.as_ref()).await?;
    serve_with(listener, state, limits, shutdown_signal()).await.map_err(|e| e.to_string())
}

/// Binds the listening address, and writes it to `port_file` (for scripts and tests).
pub async fn bind(listen: &str, port_file: Option<&PathBuf>) -> Result<tokio::net::TcpListener, String> {
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
