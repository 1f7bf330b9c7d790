//! The server's connections: accepted up to a cap, each closed when it sends no request header
//! within a timeout (a fresh connection or an idle keep-alive one alike), and the process's
//! open-file limit raised at start. Without them 1,100 idle TCP connections used up the server's
//! file descriptors (the usual soft limit is 1,024) and `/health` from anyone else timed out.
//!
//! At the cap the server stops accepting: newcomers wait in the kernel's listen queue, where they
//! hold no descriptor of the server's, and are accepted as idle ones time out.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tower::ServiceExt;

/// How many connections, and how long one may stay without sending a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
    /// A connection that sends no complete request header within this long is closed: a new one,
    /// and a kept-alive one between requests.
    pub header_read_timeout: Duration,
}

impl Default for ServeLimits {
    /// A city's phones sync every few minutes over short connections; a thousand at once is far
    /// above a busy morning, and 30 s is longer than any phone takes to send a header.
    fn default() -> Self {
        Self { max_connections: 1_000, header_read_timeout: Duration::from_secs(30) }
    }
}

/// Descriptors kept for the database, its WAL, snapshot files and logs, below the file limit.
pub const RESERVED_FILES: u64 = 64;

/// Raises the soft open-file limit to the hard one, where the system allows; returns (the soft
/// limit before, the soft limit now). Where it cannot be read, `None`.
// `rlim_t` is u64 on Linux but not on every unix
#[allow(clippy::unnecessary_cast)]
pub fn raise_file_limit() -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes one rlimit into the struct it is given, which lives on this stack.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return None;
        }
        let before = limit.rlim_cur as u64;
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            // SAFETY: setrlimit reads one rlimit; raising the soft limit up to the hard one is allowed
            // to any process, and a refusal leaves the limit as it was.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                return Some((before, limit.rlim_max as u64));
            }
        }
        Some((before, before))
    }
    #[cfg(not(unix))]
    None
}

/// Raises the open-file limit and says in one log line what it got; returns `limits` with the
/// connection cap lowered to fit under the limit (less `RESERVED_FILES`).
pub fn fit_to_file_limit(limits: ServeLimits) -> ServeLimits {
    let Some((before, now)) = raise_file_limit() else {
        tracing::warn!(
            max_connections = limits.max_connections,
            "open-file limit unknown; connection cap as configured"
        );
        return limits;
    };
    let fits = usize::try_from(now.saturating_sub(RESERVED_FILES)).unwrap_or(usize::MAX).max(1);
    let max_connections = limits.max_connections.min(fits);
    tracing::info!(
        soft_before = before,
        soft_now = now,
        max_connections,
        header_read_timeout_s = limits.header_read_timeout.as_secs_f64(),
        "open-file limit raised to the hard limit where allowed; connections capped"
    );
    ServeLimits { max_connections, ..limits }
}

/// Accepts and serves connections to `app` until `shutdown` resolves; then stops accepting, lets
/// requests in flight finish and closes idle connections.
pub async fn serve_connections(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ServeLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // a slot first: at the cap nothing more is accepted until a connection closes
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit.map_err(std::io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // out of descriptors (other files of the process) or a connection reset before
                    // it was accepted: wait a little rather than spin, and go on
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            // the peer, for `ClientAddr`
            request.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move { Ok::<_, Infallible>(app.oneshot(request).await.unwrap_or_else(|never| match never {})) }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // a timed-out or reset connection is the client's business, not an error of the server
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
