//! The back office on several server processes (issue 15): two replicas of the real server binary
//! (`serve --database-url`, 127.0.0.1 port 0) on one PostgreSQL, driven over real HTTP like a
//! browser behind a load balancer that sends each request anywhere — a login on A is valid on B
//! for a write with its CSRF token, a logout on A ends it on B, failed logins on A and B add up,
//! back-office stamps of A and B never equal and the later edit wins; and a server restarted
//! (SIGKILL, then started again) logs nobody out, on PostgreSQL and on SQLite. PostgreSQL comes
//! from GRIDBOOK_TEST_PG_URL's cluster, or a throwaway one started for this test process.

use std::collections::BTreeSet;

use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::wire::OpAction;
use gridbook_core::testing::{fields_of, household_n};
use gridbook_core::EntityKind;
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::domain::authoring;
use gridbook_sync_server::domain::password::hash_password;
use gridbook_sync_server::http::login_throttle::FREE_FAILURES;
use gridbook_sync_server::{now_ms, RecordStorage, SqliteStorage, SyncStorage};
use gridbook_tests::{Replicas, ServerProcess};
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};

const PASSWORD: &str = "网格主管-2026";

/// Grid g1, household h0, and the admin "adm" who logs in with `PASSWORD`.
fn set_up(storage: &dyn SyncStorage) {
    storage.create_grid("g1", "幸福里网格", now_ms()).expect("grid");
    let hash = hash_password(PASSWORD).expect("hash");
    storage.create_manager("adm", "李管理", Role::Admin, Some(&hash), now_ms()).expect("admin");
    let household = fields_of(&household_n("g1", 0)).expect("fields");
    let create = authoring::op(EntityKind::Household, "h0", "g1", OpAction::Create, household);
    storage.apply_backoffice_ops(&[create], now_ms()).expect("household");
}

fn client() -> reqwest::Client {
    // a login answers 303 with the session's cookie: read it, do not follow it
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

fn cookie_of(reply: &reqwest::Response, name: &str) -> Option<String> {
    reply
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")).map(|rest| rest.split(';').next().unwrap_or("").to_string()))
}

/// A login through the form of the server at `url`: its status, and the session cookie if any.
async fn form_login(url: &str, id: &str, password: &str) -> (StatusCode, Option<String>) {
    let http = client();
    let page = http.get(format!("{url}/admin/login")).send().await.expect("login form");
    let csrf = cookie_of(&page, "gb_login").expect("the form's CSRF cookie");
    let reply = http
        .post(format!("{url}/admin/login"))
        .header(COOKIE, format!("gb_login={csrf}"))
        .form(&[("id", id), ("password", password), ("csrf", &csrf)])
        .send()
        .await
        .expect("login");
    (reply.status(), cookie_of(&reply, "gb_session"))
}

async fn logged_in(url: &str) -> String {
    let (status, cookie) = form_login(url, "adm", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    cookie.expect("a session cookie")
}

/// `GET /admin/api/me` with the session cookie: its status, and the CSRF token when logged in.
async fn me(url: &str, cookie: &str) -> (StatusCode, Option<String>) {
    let reply = client()
        .get(format!("{url}/admin/api/me"))
        .header(COOKIE, format!("gb_session={cookie}"))
        .send()
        .await
        .expect("me");
    let status = reply.status();
    let body: Value = reply.json().await.unwrap_or(Value::Null);
    (status, body["csrf"].as_str().map(str::to_string))
}

/// An admin's write: h0's billing figures with `spend_fen`, through `POST /admin/api/billing`.
async fn load_billing(url: &str, cookie: &str, csrf: &str, spend_fen: i64) -> StatusCode {
    let body = json!({"profiles": [{"grid_id": "g1", "household_id": "h0", "service_number": "13900000001",
        "product": "mobile", "contract_end": "2027-01-10", "period": "2026-11",
        "spend_fen": spend_fen, "baseline_fen": 10_000}]});
    client()
        .post(format!("{url}/admin/api/billing"))
        .header(COOKIE, format!("gb_session={cookie}"))
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .expect("billing")
        .status()
}

async fn basic(url: &str, id: &str, password: &str) -> StatusCode {
    let reply = client().get(format!("{url}/v1/backoffice/voids")).basic_auth(id, Some(password)).send().await;
    reply.expect("basic").status()
}

fn spend_of(r: &Replicas) -> Option<i64> {
    let profiles = r.storage.grid_records(EntityKind::BillingProfile, "g1").expect("profiles");
    profiles.first().and_then(|p| p.value("spend_fen").as_i64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_on_one_replica_writes_on_the_other_and_a_logout_ends_it_on_both() {
    let r = Replicas::start(|s| set_up(s));
    let cookie = logged_in(&r.a.url).await;
    let (status, csrf) = me(&r.b.url, &cookie).await;
    assert_eq!(status, StatusCode::OK, "B knows A's session");
    let csrf = csrf.expect("the session's CSRF token");
    assert_eq!(me(&r.a.url, &cookie).await.1.as_deref(), Some(csrf.as_str()), "one token on both");

    // admin edits of one record through B, A, B, A: each is stored, the later over the earlier
    let urls = [&r.b.url, &r.a.url, &r.b.url, &r.a.url];
    for (n, url) in urls.into_iter().enumerate() {
        let spend = 10_000 + n as i64;
        assert_eq!(load_billing(url, &cookie, &csrf, spend).await, StatusCode::OK, "write {n} on {url}");
        assert_eq!(spend_of(&r), Some(spend), "the write made after the others wins");
    }
    let stamps: Vec<Hlc> = r
        .text(
            "SELECT string_agg(merged_hlc, ',' ORDER BY (body::json->>'spend_fen')::bigint) FROM ops
             WHERE kind = 'billing_profile'",
        )
        .split(',')
        .map(|s| s.parse().expect("a stamp"))
        .collect();
    assert_eq!(stamps.len(), 4, "{stamps:?}");
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "stamps in the order of the writes: {stamps:?}");
    let nodes: BTreeSet<&str> = stamps.iter().map(|s| s.node.as_str()).collect();
    assert_eq!(nodes.len(), 2, "each replica stamps with its own node: {nodes:?}");
    assert!(nodes.iter().all(|n| authoring::is_backoffice_node(n) && *n != authoring::node()));
    assert_eq!(r.text("SELECT count(*) FROM conflicts"), "0", "one writer, the back office");

    // a logout on A ends the session on B at once
    let logout = client()
        .post(format!("{}/admin/logout", r.a.url))
        .header(COOKIE, format!("gb_session={cookie}"))
        .form(&[("csrf", &csrf)])
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&r.b.url, &cookie).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(load_billing(&r.b.url, &cookie, &csrf, 1).await, StatusCode::UNAUTHORIZED);
    assert_eq!(spend_of(&r), Some(10_003));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_on_both_replicas_add_up_to_one_slow_down() {
    let r = Replicas::start(|s| set_up(s));
    for _ in 0..3 {
        assert_eq!(form_login(&r.a.url, "adm", "wrong").await.0, StatusCode::UNAUTHORIZED);
    }
    for _ in 3..FREE_FAILURES {
        assert_eq!(basic(&r.b.url, "adm", "wrong").await, StatusCode::UNAUTHORIZED);
    }
    // neither replica alone saw the free failures used up; together they did, and both say so
    assert_eq!(
        r.text("SELECT count FROM login_failures WHERE scope = 'account' AND key = 'adm'"),
        FREE_FAILURES.to_string()
    );
    for url in [&r.a.url, &r.b.url] {
        let metrics = client().get(format!("{url}/metrics")).send().await.expect("metrics").text().await.expect("text");
        assert!(metrics.contains("gridbook_login_throttled{by=\"account\"} 1\n"), "{url}: {metrics}");
        assert!(metrics.contains("gridbook_login_throttled{by=\"address\"} 1\n"), "{url}: {metrics}");
    }
    // and a good login clears the account's count on both
    let mut status = form_login(&r.b.url, "adm", PASSWORD).await.0;
    for _ in 0..120 {
        if status != StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        // the account's spacing and the address's first delay are a second: wait them out
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        status = form_login(&r.b.url, "adm", PASSWORD).await.0;
    }
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(r.text("SELECT count(*) FROM login_failures WHERE scope = 'account'"), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_and_started_again_logs_nobody_out() {
    let mut r = Replicas::start(|s| set_up(s));
    let cookie = logged_in(&r.a.url).await;
    let listen = r.a.url.trim_start_matches("http://").to_string();
    r.a.kill();
    let dir = tempfile::tempdir().expect("temp dir");
    let restarted = ServerProcess::start_postgres(&r.database_url, dir.path(), &listen);
    assert_eq!(me(&restarted.url, &cookie).await.0, StatusCode::OK);
    assert_eq!(me(&r.b.url, &cookie).await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_server_killed_and_started_again_logs_nobody_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("server.db");
    set_up(&SqliteStorage::open(&db).expect("database"));
    let mut server = ServerProcess::start(&db);
    let cookie = logged_in(&server.url).await;
    let (status, csrf) = me(&server.url, &cookie).await;
    assert_eq!(status, StatusCode::OK);
    let listen = server.url.trim_start_matches("http://").to_string();
    server.kill();
    let server = ServerProcess::start_at(&db, &listen);
    let (status, after) = me(&server.url, &cookie).await;
    assert_eq!(status, StatusCode::OK, "the session outlived the process");
    assert_eq!(after, csrf, "and its CSRF token with it");
    assert_eq!(load_billing(&server.url, &cookie, &csrf.unwrap_or_default(), 7_700).await, StatusCode::OK);
}
