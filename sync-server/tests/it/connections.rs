//! The server's connections over a real socket: idle TCP connections beyond the cap do not stop
//! `/health` from answering someone else, and the server closes connections that send no request
//! header within its timeout — fresh ones and kept-alive ones alike. The cap is 64 and the timeout
//! half a second here; the server's own are 1,000 and 30 s (`ServeLimits::default`).

use std::sync::Arc;
use std::time::Duration;

use gridbook_sync_server::http::{serve_with, ServeLimits};
use gridbook_sync_server::{AppState, SqliteStorage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the test waits for something that must happen, before it calls it a failure. Far above
/// the server's timeout; it bounds the test, it is not what the test measures.
const GUARD: Duration = Duration::from_secs(60);

/// Reads until the server closes the connection; what it sent before closing.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    match tokio::time::timeout(GUARD, stream.read_to_end(&mut got)).await {
        // closed, or reset by the server: either way no longer held
        Ok(_) => got,
        Err(_) => panic!("the server kept an idle connection open"),
    }
}

#[tokio::test]
async fn idle_connections_past_the_cap_leave_health_answering_and_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::new(Arc::new(SqliteStorage::open(dir.path().join("s.db")).unwrap()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ServeLimits { max_connections: 64, header_read_timeout: Duration::from_millis(500) };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_with(listener, state, limits, async {
        let _ = stopped.await;
    }));

    // 100 connections that never send a byte: more than the cap
    let mut idle = Vec::new();
    for _ in 0..100 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    // someone else's health check is still answered
    let client = reqwest::Client::builder().timeout(GUARD).build().unwrap();
    let health = client.get(format!("http://{addr}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let health: serde_json::Value = health.json().await.unwrap();
    assert_eq!(health["status"], "ok");

    // and every idle connection is closed by the server, without an answer
    for stream in &mut idle {
        assert_eq!(read_until_closed(stream).await, b"");
    }

    // a kept-alive connection is closed too once it stays quiet after its answer
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(b"GET /health HTTP/1.1\r\nHost: gridbook\r\n\r\n").await.unwrap();
    let answer = String::from_utf8(read_until_closed(&mut kept).await).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(answer.matches("HTTP/1.1").count(), 1, "one answer, then closed");

    // and the server still serves, then shuts down cleanly
    assert_eq!(client.get(format!("http://{addr}/health")).send().await.unwrap().status(), 200);
    stop.send(()).unwrap();
    tokio::time::timeout(GUARD, server).await.unwrap().unwrap().unwrap();
}

#[test]
fn the_file_limit_is_raised_to_the_hard_limit_where_allowed() {
    let (before, now) = gridbook_sync_server::http::connections::raise_file_limit().expect("readable on unix");
    assert!(now >= before);
    // a second call finds it already raised
    let (again, still) = gridbook_sync_server::http::connections::raise_file_limit().unwrap();
    assert_eq!((again, still), (now, now));
}
