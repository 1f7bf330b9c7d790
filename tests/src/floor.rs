//! The machine's floor under "write on A → visible on B" (docs/benchmarks.md, sync-bench
//! `--only floor`): one HTTP hop from a push to a long poll waiting on the same server, with no
//! storage at all, and one durable SQLite commit on this disk with the server's settings (WAL,
//! `synchronous = FULL`). A latency target below their sum plus the phones' own writes cannot
//! be met on the machine without giving up the commit's durability.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::Notify;

/// Milliseconds from a POST leaving client A to client B holding the answer of the GET it had
/// waiting on the same loopback server, which the POST's handler wakes; `reps` samples. The
/// server and both clients are on the caller's runtime, as the latency bench's are.
pub async fn push_to_waiter_ms(reps: usize) -> std::io::Result<Vec<f64>> {
    let changed = Arc::new(Notify::new());
    let app = Router::new()
        .route(
            "/wait",
            get(|State(n): State<Arc<Notify>>| async move {
                n.notified().await;
                "changed"
            }),
        )
        .route(
            "/push",
            post(|State(n): State<Arc<Notify>>, body: axum::body::Bytes| async move {
                n.notify_waiters();
                body.len().to_string()
            }),
        )
        .with_state(changed);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let (a, b) = (reqwest::Client::new(), reqwest::Client::new());
    let io = |e: reqwest::Error| std::io::Error::other(e.to_string());
    let mut samples = Vec::with_capacity(reps);
    // three rounds to open both connections first
    for i in 0..reps + 3 {
        let waiting = {
            let (b, url) = (b.clone(), format!("{url}/wait"));
            tokio::spawn(async move {
                let answer = b.get(url).send().await?.text().await?;
                Ok::<_, reqwest::Error>((answer, Instant::now()))
            })
        };
        // B's wait reaches the server first
        tokio::time::sleep(Duration::from_millis(10)).await;
        let sent = Instant::now();
        let pushed = a.post(format!("{url}/push")).body(vec![b'x'; 2_000]).send().await.map_err(io)?;
        pushed.text().await.map_err(io)?;
        let (answer, seen) = waiting.await.map_err(std::io::Error::other)?.map_err(io)?;
        if answer != "changed" {
            return Err(std::io::Error::other(format!("the waiter was answered {answer:?}")));
        }
        if i >= 3 {
            samples.push(seen.duration_since(sent).as_secs_f64() * 1000.0);
        }
    }
    server.abort();
    Ok(samples)
}

/// Milliseconds per durable commit of one 2 KB row into a SQLite database in `dir`, opened as the
/// server opens its own (`storage::sqlite::open_connection`: 8 KiB pages, WAL, `synchronous =
/// FULL`); `reps` samples, taken once the log has been checkpointed and is overwritten in place
/// (as on a server that has run a while, or whose log's room was written ahead) rather than grown.
/// Each commit follows `pause` of idleness: on this machine's virtual disk a commit right after
/// another takes a fraction of one made after a pause (0.3–0.5 against 0.7–1.9 ms, 2026-12-08),
/// and the latency bench's commits each follow tens of milliseconds of quiet.
pub fn durable_commit_ms(
    dir: &Path,
    reps: usize,
    pause: Duration,
) -> Result<Vec<f64>, Box<dyn std::error::Error + Send + Sync>> {
    let conn = gridbook_sync_server::storage::sqlite::open_connection(&dir.join("floor.db"))?;
    conn.execute_batch("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")?;
    let body = vec![7u8; 2_000];
    let insert = |conn: &rusqlite::Connection| conn.execute("INSERT INTO rows (body) VALUES (?1)", [&body]);
    // fill the log past its checkpoint without waiting for the disk, so it is reused from its start
    conn.pragma_update(None, "synchronous", "OFF")?;
    for _ in 0..1_500 {
        insert(&conn)?;
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    let mut samples = Vec::with_capacity(reps);
    for _ in 0..reps {
        std::thread::sleep(pause);
        let t = Instant::now();
        insert(&conn)?;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_push_reaches_the_waiter_and_is_timed() {
        let samples = push_to_waiter_ms(5).await.expect("hops");
        assert_eq!(samples.len(), 5);
        assert!(samples.iter().all(|ms| ms.is_finite() && *ms > 0.0), "{samples:?}");
    }

    #[test]
    fn every_timed_commit_is_in_the_database() {
        let dir = tempfile::tempdir().expect("dir");
        let samples = durable_commit_ms(dir.path(), 20, Duration::from_millis(1)).expect("commits");
        assert_eq!(samples.len(), 20);
        assert!(samples.iter().all(|ms| ms.is_finite() && *ms > 0.0), "{samples:?}");
        let conn = rusqlite::Connection::open(dir.path().join("floor.db")).expect("open");
        let rows: i64 = conn.query_row("SELECT count(*) FROM rows", [], |r| r.get(0)).expect("count");
        assert_eq!(rows, 1_520, "the fill and every timed commit");
    }
}
