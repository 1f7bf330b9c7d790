//! The whole HTTP surface: `app(state)` is every route and every layer (body limit, gzip both
//! ways, panics caught, metrics, tracing); `serve` runs it on a listener until shutdown. Each
//! handler parses and checks its request, hands the work to storage or a domain rule on a
//! blocking thread, and answers JSON; every failure leaves as `error::AppError`.

pub mod app_versions;
pub mod backoffice;
pub mod changes;
pub mod client_addr;
pub mod connections;
pub mod device_auth;
pub mod device_budget;
pub mod error;
pub mod error_fallback;
pub mod login_throttle;
pub mod metrics;
pub mod openapi;
pub mod photos;
pub mod qr;
pub mod receipt_seal;
pub mod receipts;
pub mod snapshot_files;
pub mod state;
pub mod sync;
pub mod verify_page;
pub mod wipes;

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use gridbook_core::sync::wire::{
    GZIP_MIN_BYTES, PATH_APP_RELEASES, PATH_CHANGES, PATH_ENROL, PATH_HEALTH, PATH_PULL, PATH_PUSH, PATH_SNAPSHOT_FILE,
    PATH_WIPE_REPORT,
};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::TraceLayer;

pub use connections::ServeLimits;
use error::AppError;
use state::AppState;
pub use sync::MAX_OPS_PER_PUSH;

/// The largest request body, after decompression: a push of a few thousand ops fits many times.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    AppError::internal("the server failed on this request; it was logged").into_response()
}

async fn not_found() -> AppError {
    AppError::not_found("no such endpoint")
}

pub fn app(state: AppState) -> Router {
    let metrics = state.backoffice.metrics.clone();
    Router::new()
        .route(PATH_HEALTH, get(sync::health))
        .route(PATH_ENROL, post(sync::enrol))
        .route(PATH_PUSH, post(sync::push))
        .route(PATH_PULL, get(sync::pull))
        .route(PATH_CHANGES, get(changes::changes))
        .route(PATH_SNAPSHOT_FILE, get(snapshot_files::snapshot_file))
        .route(PATH_WIPE_REPORT, post(wipes::report))
        .route(&format!("{PATH_APP_RELEASES}/{{sha256}}"), get(app_versions::download))
        .route(openapi::PATH_OPENAPI, get(openapi::openapi_json))
        .merge(receipts::routes())
        .merge(receipt_seal::routes())
        .merge(verify_page::routes())
        .merge(photos::routes())
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
                .compress_when(
                    DefaultPredicate::new()
                        .and(SizeAbove::new(GZIP_MIN_BYTES as u16))
                        // a build of the app is a zip already, and is sent resumable by range
                        .and(NotForContentType::const_new(app_versions::APK_CONTENT_TYPE)),
                ),
        )
        // outside the decompression and body limit, so their refusals get the JSON shape too
        .layer(axum::middleware::from_fn(error_fallback::json_errors))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http())
}

/// Serves `app` on a bound listener until `shutdown` resolves, under the default connection
/// limits; in-flight requests (a push being committed) finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, ServeLimits::default(), shutdown).await
}

/// `serve` with a connection cap and header-read timeout of its own (`connections.rs`).
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    limits: ServeLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    no_transparent_huge_pages();
    connections::serve_connections(listener, app(state), limits, shutdown).await
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
