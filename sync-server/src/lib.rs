//! Gridbook's sync server: reconciles the phones' change logs (last writer wins per field, by
//! hybrid logical clock), stores on embedded SQLite by default, and serves the back office.
//! `app(state)` is the whole HTTP surface; main.rs only parses configuration and serves.

pub mod admin;
pub mod auth;
pub mod authoring;
pub mod backoffice;
pub mod billing;
pub mod demo;
pub mod device_budget;
pub mod error;
pub mod handover;
pub mod metrics;
pub mod receipt_routes;
pub mod reconcile;
mod signed;
pub mod snapshot_files;
pub mod spreadsheet;
pub mod storage;
mod sync_routes;
pub mod tiers;
pub mod transfer;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use gridbook_core::wire::{GZIP_MIN_BYTES, PATH_ENROL, PATH_HEALTH, PATH_PULL, PATH_PUSH, PATH_SNAPSHOT_FILE};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::TraceLayer;

pub use error::{AppError, AppResult};
pub use reconcile::Rules;
pub use storage::sqlite::SqliteStorage;
pub use storage::SyncStorage;

/// The server's memory allocator (main.rs and the benches that host the server install it): a
/// push allocates and frees some hundred small strings and map nodes per op, and the system
/// allocator spent a quarter of the push path's instructions on them.
pub type Allocator = mimalloc::MiMalloc;

/// The largest request body, after decompression: a push of a few thousand ops fits many times.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// The most ops one push may carry.
pub const MAX_OPS_PER_PUSH: usize = 5_000;

#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn SyncStorage>,
    pub rules: Rules,
    /// Sessions, monitoring queries and metrics of the back office (/admin, /metrics).
    pub backoffice: backoffice::Backoffice,
    /// Prebuilt device files for fresh phones (`/v1/snapshot-file`), when the backend keeps them.
    pub snapshot_files: Option<Arc<snapshot_files::SnapshotFiles>>,
    /// Each device's request budget (429 over it).
    pub device_budget: Arc<device_budget::DeviceBudget>,
}

impl AppState {
    pub fn new(storage: Arc<dyn SyncStorage>) -> Self {
        let backoffice = backoffice::Backoffice::for_storage(&storage);
        let snapshot_files =
            snapshot_files::SnapshotFiles::for_storage(storage.as_ref(), Default::default()).map(Arc::new);
        let device_budget = Arc::new(device_budget::DeviceBudget::new(Default::default()));
        Self { storage, rules: Rules::default(), backoffice, snapshot_files, device_budget }
    }

    /// The same state with another request budget per device.
    pub fn with_device_budget(mut self, config: device_budget::BudgetConfig) -> Self {
        self.device_budget = Arc::new(device_budget::DeviceBudget::new(config));
        self
    }

    /// The same state with snapshot files kept under other rules.
    pub fn with_snapshot_files(mut self, config: snapshot_files::SnapshotFilesConfig) -> Self {
        self.snapshot_files = snapshot_files::SnapshotFiles::for_storage(self.storage.as_ref(), config).map(Arc::new);
        self
    }
}

/// Milliseconds since the epoch on the server's clock.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    AppError::internal("the server failed on this request; it was logged").into_response()
}

async fn not_found() -> AppError {
    AppError::not_found("no such endpoint")
}

pub fn app(state: AppState) -> Router {
    let metrics = state.backoffice.metrics.clone();
    Router::new()
        .route(PATH_HEALTH, get(sync_routes::health))
        .route(PATH_ENROL, post(sync_routes::enrol))
        .route(PATH_PUSH, post(sync_routes::push))
        .route(PATH_PULL, get(sync_routes::pull))
        .route(PATH_SNAPSHOT_FILE, get(snapshot_files::snapshot_file))
        .merge(receipt_routes::routes())
        .route(metrics::PATH_METRICS, get(metrics::exposition))
        .merge(backoffice::routes())
        .fallback(not_found)
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(metrics, metrics::track))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestDecompressionLayer::new())
        .layer(
            CompressionLayer::new()
                // push answers and pull pages are repetitive JSON, which the fastest level already
                // shrinks ~10×; level 6 cost the server more time than the whole page took to read
                // (issue 3) for ~15 % fewer bytes
                .quality(tower_http::CompressionLevel::Fastest)
                // small answers leave as they are: a gzip stream costs ~0.5M instructions to set
                // up (its tables are zeroed), more than the rest of a small request
                .compress_when(DefaultPredicate::new().and(SizeAbove::new(GZIP_MIN_BYTES as u16))),
        )
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http())
}

/// Serves `app` on a bound listener until `shutdown` resolves; in-flight requests (a push being
/// committed) finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    no_transparent_huge_pages();
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await
}

/// Turns transparent huge pages off for this process, as database servers commonly ask (Redis,
/// MongoDB). The allocator hands freed memory back to the kernel and takes it again as pushes
/// come and go; with huge pages each new touch had the kernel zero a whole 2 MiB page: a fifth to
/// a third of the CPU under push load (perf, `clear_page_erms`), and half the system time.
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and changes only this process's paging policy.
    let refused = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) } != 0;
    #[cfg(not(target_os = "linux"))]
    let refused = false;
    if refused {
        tracing::warn!("transparent huge pages stay on (prctl refused)");
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing requests in flight");
    tokio::time::sleep(Duration::from_millis(10)).await;
}
