//! The back office's state kept in the database (issue 15), on the backend GRIDBOOK_TEST_BACKEND
//! names, through the real router (`oneshot`): two servers on one database (two states, as two
//! replicas or one server before and after a restart) share logins, CSRF tokens, logouts and
//! failed-login counts; sessions are bounded; back-office stamps follow the order of the writes
//! whatever a process's clock says; no device enrols as the back office; and the back office's
//! edits from several processes are one writer's, not conflicts.

use crate::common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{send, Reply, Server, HOST, ORIGIN};
use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::wire::{EnrolRequest, Op, OpAction, OpOutcome, PROTOCOL_VERSION};
use gridbook_core::testing::{fields_of, household_n};
use gridbook_core::EntityKind;
use gridbook_sync_server::domain::auth::{hash_secret, Role};
use gridbook_sync_server::domain::authoring;
use gridbook_sync_server::http::login_throttle::LoginThrottle;
use gridbook_sync_server::http::login_throttle::FREE_FAILURES;
use gridbook_sync_server::storage::sessions::{SessionBounds, SessionRow};
use gridbook_sync_server::{now_ms, AppState};
use serde_json::{json, Map, Value};

const PASSWORD: &str = "网格主管-2026";

/// Grid g1 with household h0, and an admin "adm" who can log in.
fn fixture() -> Server {
    let server = Server::new().grid("g1", "幸福里网格").manager("adm", "李管理", Role::Admin, Some(PASSWORD));
    let create =
        authoring::op(EntityKind::Household, "h0", "g1", OpAction::Create, fields_of(&household_n("g1", 0)).unwrap());
    assert_eq!(server.storage.apply_backoffice_op(&create, now_ms()).unwrap().outcome, OpOutcome::Applied);
    server
}

fn enc(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// A login through the form of `state`, with its CSRF cookie fetched first.
async fn form_login(state: &AppState, id: &str, password: &str) -> Reply {
    let page = send(state, Request::get("/admin/login").body(Body::empty()).unwrap()).await;
    let csrf = page.cookie("gb_login").expect("the login form's CSRF cookie");
    let body = format!("id={}&password={}&csrf={}", enc(id), enc(password), enc(&csrf));
    let req = Request::post("/admin/login")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("gb_login={csrf}"))
        .body(Body::from(body))
        .unwrap();
    send(state, req).await
}

/// The cookie of a login that must succeed.
async fn logged_in(state: &AppState) -> String {
    let reply = form_login(state, "adm", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    reply.cookie("gb_session").expect("a session cookie")
}

async fn me(state: &AppState, cookie: &str) -> Reply {
    let req = Request::get("/admin/api/me").header(header::COOKIE, format!("gb_session={cookie}"));
    send(state, req.body(Body::empty()).unwrap()).await
}

/// HTTP Basic credentials on a back-office endpoint.
async fn basic(state: &AppState, id: &str, password: &str) -> Reply {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{id}:{password}").into_bytes();
    let mut encoded = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            encoded.push(if i <= chunk.len() { ABC[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    let req = Request::get("/v1/backoffice/voids").header(header::AUTHORIZATION, format!("Basic {encoded}"));
    send(state, req.body(Body::empty()).unwrap()).await
}

/// The billing figures of h0's one service, with `spend_fen` this period.
fn figures(spend_fen: i64) -> Value {
    json!({"profiles": [{"grid_id": "g1", "household_id": "h0", "service_number": "13900000001",
           "product": "mobile", "contract_end": "2027-01-10", "period": "2026-11",
           "spend_fen": spend_fen, "baseline_fen": 10_000}]})
}

/// An admin's JSON write: the session cookie and its CSRF token.
async fn load_billing(state: &AppState, cookie: &str, csrf: &str, spend_fen: i64) -> Reply {
    let req = Request::post("/admin/api/billing")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, format!("gb_session={cookie}"))
        .header("x-csrf-token", csrf);
    send(state, req.body(Body::from(figures(spend_fen).to_string())).unwrap()).await
}

fn spend_of(server: &Server) -> Option<i64> {
    let profiles = server.storage.grid_records(EntityKind::BillingProfile, "g1").unwrap();
    profiles.first().and_then(|p| p.value("spend_fen").as_i64())
}

#[tokio::test]
async fn a_login_on_one_server_serves_a_write_on_another_and_a_logout_on_either_ends_it() {
    let server = fixture();
    let (b, _) = server.replica();
    let cookie = logged_in(&server.state).await;
    // the session and its CSRF token, as the other server knows them
    let on_b = me(&b, &cookie).await;
    assert_eq!(on_b.status, StatusCode::OK, "{}", on_b.text());
    let csrf = on_b.json()["csrf"].as_str().unwrap().to_string();
    assert_eq!(me(&server.state, &cookie).await.json()["csrf"], json!(csrf), "one CSRF token on both");
    let written = load_billing(&b, &cookie, &csrf, 12_300).await;
    assert_eq!(written.status, StatusCode::OK, "{}", written.text());
    assert_eq!(spend_of(&server), Some(12_300));
    // a stale token is refused there as anywhere
    assert_eq!(load_billing(&b, &cookie, &hash_secret(&cookie), 1).await.status, StatusCode::FORBIDDEN);

    // only the token's hash is stored
    let stored = server
        .count(&format!("SELECT count(*) FROM backoffice_sessions WHERE token_hash = '{}'", hash_secret(&cookie)));
    assert_eq!(stored, 1);
    assert_eq!(server.count(&format!("SELECT count(*) FROM backoffice_sessions WHERE token_hash = '{cookie}'")), 0);

    // a logout on the first server ends the session on the second
    let logout = Request::post("/admin/logout")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("gb_session={cookie}"))
        .body(Body::from(format!("csrf={csrf}")))
        .unwrap();
    assert_eq!(send(&server.state, logout).await.status, StatusCode::SEE_OTHER);
    assert_eq!(me(&b, &cookie).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(load_billing(&b, &cookie, &csrf, 1).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(spend_of(&server), Some(12_300), "nothing written after the logout");
}

#[tokio::test]
async fn a_restart_logs_nobody_out() {
    let server = fixture();
    let cookie = logged_in(&server.state).await;
    let (restarted, _) = server.replica();
    let reply = me(&restarted, &cookie).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["id"], json!("adm"));
}

#[tokio::test]
async fn failed_logins_on_two_servers_add_up_to_one_slow_down() {
    let server = fixture();
    // two servers whose waits are far longer than the test takes, so a slow machine cannot
    // outwait them
    let [a, b] = [server.replica(), server.replica()].map(|(mut state, storage)| {
        state.login_throttle = Arc::new(LoginThrottle::new(storage).with_delays(10 * 60_000, 10 * 60_000));
        state
    });
    // three wrong passwords through the first server's form, the rest through the second's HTTP
    // Basic: neither server alone saw enough to slow anyone down
    for _ in 0..3 {
        assert_eq!(form_login(&a, "adm", "wrong").await.status, StatusCode::UNAUTHORIZED);
    }
    for _ in 3..FREE_FAILURES {
        assert_eq!(basic(&b, "adm", "wrong").await.status, StatusCode::UNAUTHORIZED);
    }
    // both now slow the account down, even for the right password
    let refused = form_login(&a, "adm", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.text());
    assert!(refused.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(basic(&b, "adm", PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
    let counted = server.count("SELECT count FROM login_failures WHERE scope = 'account' AND key = 'adm'");
    assert_eq!(counted, i64::from(FREE_FAILURES));
}

#[tokio::test]
async fn sessions_are_bounded_and_ended_ones_cleared_at_the_next_login() {
    let server = fixture();
    let (_, sessions) = server.replica();
    let row = |at: i64| SessionRow {
        staff_id: "adm".into(),
        name: "李管理".into(),
        role: Role::Admin,
        created_ms: at,
        last_seen_ms: at,
    };
    let bounds =
        |now: i64| SessionBounds { idle_before_ms: now - 1_000, started_before_ms: now - 5_000, max_sessions: 3 };
    for (n, at) in [10_000, 10_100, 10_200].into_iter().enumerate() {
        sessions.create_session(&format!("s{n}"), &row(at), bounds(at)).unwrap();
    }
    sessions.touch_session("s0", 10_300).unwrap();
    // a fourth: the least recently seen (s1) goes, the bound holds
    sessions.create_session("s3", &row(10_400), bounds(10_400)).unwrap();
    let live = |id: &str| sessions.session(id).unwrap().is_some();
    assert_eq!(["s0", "s1", "s2", "s3"].map(live), [true, false, true, true]);
    assert_eq!(sessions.session("s0").unwrap().unwrap().last_seen_ms, 10_300);
    // a login later than every idle limit clears the others
    sessions.create_session("s4", &row(20_000), bounds(20_000)).unwrap();
    assert_eq!(["s0", "s2", "s3", "s4"].map(live), [false, false, false, true]);
    sessions.remove_session("s4").unwrap();
    assert_eq!(server.count("SELECT count(*) FROM backoffice_sessions"), 0);
}

/// A back-office update of h0's `mobile`, stamped `hlc`.
fn mobile_edit(mobile: &str, hlc: Hlc) -> Op {
    let mut fields = Map::new();
    fields.insert("mobile".into(), json!(mobile));
    Op { hlc, ..authoring::op(EntityKind::Household, "h0", "g1", OpAction::Update, fields) }
}

fn mobile_of(server: &Server) -> String {
    let households = server.storage.grid_records(EntityKind::Household, "g1").unwrap();
    households.iter().find(|h| h.id == "h0").and_then(|h| h.value("mobile").as_str().map(str::to_string)).unwrap()
}

#[tokio::test]
async fn a_later_back_office_edit_wins_even_from_a_process_whose_clock_is_behind() {
    let server = fixture();
    let (b, _) = server.replica();
    let first = authoring::op(
        EntityKind::Household,
        "h0",
        "g1",
        OpAction::Update,
        [("mobile".to_string(), json!("13800000001"))].into_iter().collect(),
    );
    assert_eq!(server.storage.apply_backoffice_op(&first, now_ms()).unwrap().outcome, OpOutcome::Applied);
    // the second edit, made after the first, by a process whose clock is a minute behind
    let behind = Hlc::new(first.hlc.millis - 60_000, 0, authoring::node());
    let second = mobile_edit("13800000002", behind);
    let result = b.storage.apply_backoffice_op(&second, now_ms()).unwrap();
    assert_eq!(result.outcome, OpOutcome::Applied, "the later edit must not be superseded");
    assert_eq!(mobile_of(&server), "13800000002");
    let stamps =
        server.text("SELECT merged_hlc FROM ops WHERE device_id = 'backoffice' ORDER BY merged_hlc DESC LIMIT 1");
    let latest: Hlc = stamps.parse().unwrap();
    assert!(latest > first.hlc && latest.node == authoring::node(), "{latest} after {}", first.hlc);
    assert_eq!(server.text("SELECT last_hlc FROM backoffice_clock"), latest.to_string(), "the latest stamp was raised");
    // data stamped elsewhere is applied as stamped: an old value loses
    let foreign = mobile_edit("13800000003", Hlc::new(first.hlc.millis - 60_000, 0, "backoffice"));
    assert_eq!(b.storage.apply_backoffice_op(&foreign, now_ms()).unwrap().outcome, OpOutcome::Superseded);
    assert_eq!(mobile_of(&server), "13800000002");
}

#[tokio::test]
async fn edits_by_the_back_office_of_other_processes_are_not_conflicts() {
    let server = fixture();
    let now = now_ms() as u64;
    let other_process = mobile_edit("13800000001", Hlc::new(now + 1_000, 0, "backoffice_0123456789abcdef"));
    assert_eq!(server.storage.apply_backoffice_op(&other_process, now_ms()).unwrap().outcome, OpOutcome::Applied);
    let this_process = mobile_edit("13800000002", Hlc::new(now + 2_000, 0, authoring::node()));
    assert_eq!(server.storage.apply_backoffice_op(&this_process, now_ms()).unwrap().outcome, OpOutcome::Applied);
    assert!(server.storage.conflicts(10).unwrap().is_empty(), "one writer");
    // a phone's edit over the back office's is one
    let phone = mobile_edit("13800000003", Hlc::new(now + 3_000, 0, "dev1"));
    assert_eq!(server.storage.apply_backoffice_op(&phone, now_ms()).unwrap().outcome, OpOutcome::Applied);
    assert_eq!(server.storage.conflicts(10).unwrap().len(), 1);
}

#[tokio::test]
async fn no_device_enrols_under_a_back_office_node() {
    let server = fixture().manager("zhang", "张伟", Role::Field, None).assign("zhang", "g1");
    for id in ["backoffice", "backoffice_1", authoring::node()] {
        let request = EnrolRequest {
            protocol: PROTOCOL_VERSION,
            code: server.storage.create_enrol_code("zhang", now_ms(), 3_600_000).unwrap(),
            device_id: id.into(),
            app_version: "2.1.0".into(),
            public_key: None,
        };
        let reply = server.send(common::json_post("/v1/enrol", &request)).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{id}: {}", reply.text());
        assert!(reply.error().message.contains("backoffice"), "{}", reply.text());
    }
    // a name that only begins like it is a device's like any other
    assert!(!server.device("zhang", "backofficer").is_empty());
}
