//! Back-office login throttling through the real router (`oneshot`), each request from a client
//! address of its own choosing: failures count per account across the login form and HTTP Basic,
//! one address guessing is slowed down, and an attacker at one address cannot keep the real admin
//! out from another. A refusal is 429 with `Retry-After`; /metrics counts it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Request, StatusCode};
use gridbook_core::sync::wire::ErrorBody;
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::domain::password::hash_password;
use gridbook_sync_server::http::login_throttle::{LoginThrottle, ACCOUNT_SPACING_MS, FREE_FAILURES};
use gridbook_sync_server::{app, now_ms, AppState, SqliteStorage, SyncStorage};
use http_body_util::BodyExt;
use tower::ServiceExt;

const PASSWORD: &str = "网格主管-2026";

/// A server whose address delays start at `first_delay_ms` and whose accounts are spaced
/// `account_spacing_ms`: a test that must see a refusal makes them far longer than any test takes,
/// so a slow machine cannot outwait them.
fn state(first_delay_ms: i64, account_spacing_ms: i64) -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(SqliteStorage::open(dir.path().join("s.db")).unwrap());
    let hash = hash_password(PASSWORD).unwrap();
    storage.create_manager("sup", "王主管", Role::Supervisor, Some(&hash), now_ms()).unwrap();
    storage.create_manager("admin", "李管理", Role::Admin, Some(&hash), now_ms()).unwrap();
    let mut state = AppState::new(storage.clone());
    state.login_throttle = Arc::new(LoginThrottle::new(storage).with_delays(first_delay_ms, account_spacing_ms));
    (dir, state)
}

const LONG_MS: i64 = 10 * 60_000;

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

/// Sends `req` as if from `from` (the peer address the server sees).
async fn send(state: &AppState, from: &str, mut req: Request<Body>) -> Reply {
    req.extensions_mut().insert(ConnectInfo(format!("{from}:40000").parse::<SocketAddr>().unwrap()));
    let resp = app(state.clone()).oneshot(req).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).to_string();
    Reply { status, headers, body }
}

fn base64(bytes: &[u8]) -> String {
    gridbook_core::evidence::printable::base64(bytes)
}

/// An HTTP Basic request to a back-office endpoint.
async fn basic(state: &AppState, from: &str, id: &str, password: &str) -> Reply {
    let credentials = base64(format!("{id}:{password}").as_bytes());
    let req = Request::get("/v1/backoffice/voids")
        .header(header::AUTHORIZATION, format!("Basic {credentials}"))
        .body(Body::empty())
        .unwrap();
    send(state, from, req).await
}

/// A login through the form, with its CSRF token fetched first.
async fn form_login(state: &AppState, from: &str, id: &str, password: &str) -> Reply {
    let page = send(state, from, Request::get("/admin/login").body(Body::empty()).unwrap()).await;
    let cookie = page
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("gb_login=").map(|rest| rest.split(';').next().unwrap_or("").to_string()))
        .expect("the login form's CSRF cookie");
    let enc = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    let body = format!("id={}&password={}&csrf={}", enc(id), enc(password), enc(&cookie));
    let req = Request::post("/admin/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("gb_login={cookie}"))
        .body(Body::from(body))
        .unwrap();
    send(state, from, req).await
}

fn retry_after_s(reply: &Reply) -> u64 {
    reply.headers.get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

#[tokio::test]
async fn failures_on_an_account_count_across_the_login_form_and_http_basic() {
    let (_dir, state) = state(LONG_MS, LONG_MS);
    // three wrong passwords through the form and two through HTTP Basic, each from its own address
    // (so no address is slowed down): five on the account
    for i in 0..3 {
        assert_eq!(form_login(&state, &format!("10.0.1.{i}"), "sup", "wrong").await.status, StatusCode::UNAUTHORIZED);
    }
    for i in 3..FREE_FAILURES {
        assert_eq!(basic(&state, &format!("10.0.1.{i}"), "sup", "wrong").await.status, StatusCode::UNAUTHORIZED);
    }
    // the account is slowed down on both doors, even for the right password
    let refused = basic(&state, "10.0.2.1", "sup", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.body);
    let error: ErrorBody = serde_json::from_str(&refused.body).unwrap();
    assert_eq!(error.code, "rate_limited");
    assert!(error.retry_after_ms.is_some_and(|ms| (1..=LONG_MS as u64).contains(&ms)), "{error:?}");
    assert!(retry_after_s(&refused) >= 1);
    let refused = form_login(&state, "10.0.2.2", "sup", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after_s(&refused) >= 1);
    assert!(refused.body.contains("data-error=\"locked\""));
    // another account is not touched
    assert_eq!(basic(&state, "10.0.2.3", "admin", PASSWORD).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_attacker_at_one_address_cannot_keep_the_admin_out_from_another() {
    // the attacker's address waits long; the account's spacing is the real one
    let (_dir, state) = state(LONG_MS, ACCOUNT_SPACING_MS);
    let attacker = "203.0.113.66";
    for _ in 0..FREE_FAILURES {
        assert_eq!(basic(&state, attacker, "admin", "guess").await.status, StatusCode::UNAUTHORIZED);
    }
    // the attacker's address now waits, and keeps waiting, whichever door it knocks at
    let refused = basic(&state, attacker, "admin", "guess").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after_s(&refused) >= 1);
    assert_eq!(form_login(&state, attacker, "admin", "guess").await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(basic(&state, attacker, "sup", "guess").await.status, StatusCode::TOO_MANY_REQUESTS);

    // the admin, elsewhere, is asked at most to wait the account's spacing, then gets in
    let admin = "198.51.100.7";
    let mut reply = form_login(&state, admin, "admin", PASSWORD).await;
    if reply.status == StatusCode::TOO_MANY_REQUESTS {
        let wait_s = retry_after_s(&reply);
        assert!((1..=(ACCOUNT_SPACING_MS as u64).div_ceil(1000)).contains(&wait_s), "asked to wait {wait_s} s");
        tokio::time::sleep(std::time::Duration::from_secs(wait_s)).await;
        reply = form_login(&state, admin, "admin", PASSWORD).await;
    }
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(basic(&state, admin, "admin", PASSWORD).await.status, StatusCode::OK);
    // and the attacker is still held back
    assert_eq!(basic(&state, attacker, "admin", PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn one_address_guessing_at_many_accounts_is_slowed_and_metrics_count_it() {
    let (_dir, state) = state(LONG_MS, LONG_MS);
    let from = "192.0.2.9";
    for i in 0..FREE_FAILURES {
        let r = basic(&state, from, &format!("guess{i}"), "guess-Pw-7731").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let refused = basic(&state, from, "sup", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    // another address is served as ever
    assert_eq!(basic(&state, "192.0.2.10", "sup", PASSWORD).await.status, StatusCode::OK);

    let metrics = send(&state, "127.0.0.1", Request::get("/metrics").body(Body::empty()).unwrap()).await.body;
    assert!(metrics.contains(&format!("gridbook_login_failures_total {FREE_FAILURES}\n")), "{metrics}");
    assert!(metrics.contains("gridbook_login_refused_total 1\n"), "{metrics}");
    assert!(metrics.contains("gridbook_login_throttled{by=\"address\"} 1\n"), "{metrics}");
    assert!(!metrics.contains("guess-Pw-7731") && !metrics.contains(PASSWORD), "no password in the metrics");
}
