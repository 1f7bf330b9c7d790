//! The public receipt check (`GET /v1/verify/{no}`) is rate-limited per client address: one
//! address bursting is refused with 429, `Retry-After` and `retry_after_ms`, while another is
//! served; a forwarded-for header counts only when the server is told to trust it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderName, Request, StatusCode};
use gridbook_core::sync::wire::ErrorBody;
use gridbook_sync_server::http::client_addr::ClientAddrConfig;
use gridbook_sync_server::http::device_budget::{BudgetConfig, DeviceBudget};
use gridbook_sync_server::{app, AppState, SqliteStorage};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// Burst of 3, one a second: a test sends its burst far faster than that refills.
const BUDGET: BudgetConfig = BudgetConfig { per_second: 1, burst: 3 };

fn state(client_addr: ClientAddrConfig) -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(SqliteStorage::open(dir.path().join("s.db")).unwrap());
    let mut state = AppState::new(storage).with_client_addr(client_addr);
    state.verify_budget = Arc::new(DeviceBudget::new(BUDGET));
    (dir, state)
}

/// A check of a receipt that is not there, from `peer`, with an optional X-Forwarded-For.
async fn check(state: &AppState, peer: &str, forwarded: Option<&str>) -> (StatusCode, Option<String>, Vec<u8>) {
    let mut req = Request::get("/v1/verify/SJ000001-001?code=0000-0000-00");
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    let mut req = req.body(Body::empty()).unwrap();
    req.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    let resp = app(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let retry = resp.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_string);
    (status, retry, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

/// Checks from `peer` until one is refused; how many were served.
async fn burst_until_refused(state: &AppState, peer: &str, forwarded: Option<&str>) -> usize {
    for served in 0..100 {
        let (status, retry, body) = check(state, peer, forwarded).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            let error: ErrorBody = serde_json::from_slice(&body).unwrap();
            assert_eq!(error.code, "rate_limited");
            assert!(error.retry_after_ms.is_some_and(|ms| (1..=1_000).contains(&ms)), "{error:?}");
            assert!(retry.is_some_and(|s| s.parse::<u64>().is_ok_and(|s| s >= 1)), "Retry-After in seconds");
            assert!(error.message.contains("too many checks from this address"), "{}", error.message);
            return served;
        }
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    }
    panic!("never refused");
}

#[tokio::test]
async fn one_address_bursting_is_refused_while_another_is_served() {
    let (_dir, state) = state(ClientAddrConfig::default());
    let served = burst_until_refused(&state, "203.0.113.5:1000", None).await;
    assert!(served >= BUDGET.burst as usize, "its burst was served first ({served})");
    // the same address from another port is the same client
    assert_eq!(check(&state, "203.0.113.5:2000", None).await.0, StatusCode::TOO_MANY_REQUESTS);
    // an honest clerk elsewhere is served
    assert_eq!(check(&state, "198.51.100.20:1000", None).await.0, StatusCode::OK);
    // a forwarded-for header the server was not told to trust changes nothing
    assert_eq!(check(&state, "203.0.113.5:1000", Some("192.0.2.1")).await.0, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn behind_a_trusted_proxy_its_header_names_the_client() {
    let proxy = ClientAddrConfig { trusted_proxy_header: Some(HeaderName::from_static("x-forwarded-for")) };
    let (_dir, state) = state(proxy);
    // every request comes from the proxy; the clients are told apart by the proxy's last entry
    burst_until_refused(&state, "10.0.0.2:1000", Some("1.2.3.4, 203.0.113.5")).await;
    assert_eq!(check(&state, "10.0.0.2:1000", Some("203.0.113.5")).await.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(check(&state, "10.0.0.2:1000", Some("203.0.113.5, 198.51.100.20")).await.0, StatusCode::OK);
}
