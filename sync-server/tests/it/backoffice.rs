//! The back office and /metrics through `tower::ServiceExt::oneshot` on the real router and a real
//! SQLite file: login (password, role, CSRF, throttling), every page and API behind the session,
//! masking of personal data in the conflict log and follow-ups, and the metrics exposition after
//! real pushes.

use crate::common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{send, sql_text, Reply, Server};
use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::wire::{DeviceFacts, Op, OpAction, PushRequest, PushResponse, PROTOCOL_VERSION};
use gridbook_core::testing;
use gridbook_core::EntityKind;
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::{now_ms, AppState};
use serde_json::{Map, Value};

const PASSWORD: &str = "网格主管-2026";

/// Grids g1 and g2; field managers zhang and li (who has a password, to show a field account is
/// refused) in g1; supervisor sup, who watches both grids.
fn fixture() -> Server {
    Server::new()
        .grid("g1", "幸福里网格")
        .grid("g2", "人民路网格")
        .manager("zhang", "张伟", Role::Field, None)
        .manager("li", "李娜", Role::Field, Some(PASSWORD))
        .assign("zhang", "g1")
        .assign("li", "g1")
        .manager("sup", "王主管", Role::Supervisor, Some(PASSWORD))
        .assign("sup", "g1")
        .assign("sup", "g2")
}

async fn get(state: &AppState, path: &str, session: Option<&str>) -> Reply {
    let mut req = Request::get(path).header(header::HOST, "127.0.0.1:8080");
    if let Some(s) = session {
        req = req.header(header::COOKIE, format!("gb_session={s}"));
    }
    send(state, req.body(Body::empty()).unwrap()).await
}

fn form(pairs: &[(&str, &str)]) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// The login form's CSRF token: (cookie value, hidden field value).
async fn login_token(state: &AppState) -> (String, String) {
    let page = get(state, "/admin/login", None).await;
    assert_eq!(page.status, StatusCode::OK);
    let cookie = page.cookie("gb_login").expect("the login form sets its CSRF cookie");
    let field = page
        .text()
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the login form carries the token")
        .to_string();
    (cookie, field)
}

async fn post_login(
    state: &AppState,
    id: &str,
    password: &str,
    cookie: Option<&str>,
    csrf: &str,
    origin: Option<&str>,
) -> Reply {
    let mut req = Request::post("/admin/login")
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, format!("gb_login={c}"));
    }
    if let Some(o) = origin {
        req = req.header(header::ORIGIN, o);
    }
    send(state, req.body(Body::from(form(&[("id", id), ("password", password), ("csrf", csrf)]))).unwrap()).await
}

/// Logs in and returns the session cookie.
async fn login(state: &AppState, id: &str) -> String {
    let (cookie, field) = login_token(state).await;
    let reply = post_login(state, id, PASSWORD, Some(&cookie), &field, Some("http://127.0.0.1:8080")).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    assert_eq!(reply.location(), "/admin");
    reply.cookie("gb_session").expect("a session cookie")
}

// ---- phones, through the sync API ------------------------------------------------------------

async fn enrol(f: &Server, manager: &str, device: &str) -> String {
    f.enrol(manager, device).await
}

fn fields_of<R: gridbook_core::model::Record>(record: &R) -> Map<String, Value> {
    gridbook_core::testing::fields_of(record).expect("a record's fields")
}

fn op(kind: EntityKind, entity: &str, grid: &str, action: OpAction, fields: Map<String, Value>, stamp: Hlc) -> Op {
    Op { id: uuid::Uuid::now_v7(), kind, entity: entity.into(), grid: grid.into(), action, fields, hlc: stamp }
}

/// A push with the facts a phone reports: `rejected_on_phone` ops it keeps as rejected before this push.
async fn push_with(
    f: &Server,
    token: &str,
    ops: Vec<Op>,
    clock_offset_ms: i64,
    rejected_on_phone: u64,
) -> PushResponse {
    let facts = DeviceFacts {
        app_version: "2.1.0".into(),
        pending_count: ops.len() as u64,
        oldest_pending_age_s: Some(30),
        rejected_count: rejected_on_phone,
        wall_clock_ms: now_ms() + clock_offset_ms,
        zone_offset_min: 480,
        ..Default::default()
    };
    f.push(token, &PushRequest { protocol: PROTOCOL_VERSION, facts, ops }).await
}

async fn push(f: &Server, token: &str, ops: Vec<Op>, clock_offset_ms: i64) -> PushResponse {
    push_with(f, token, ops, clock_offset_ms, 0).await
}

fn stamp(device: &str, offset: u64) -> Hlc {
    Hlc::new(now_ms() as u64 + offset, 0, device)
}

const API_PATHS: &[&str] = &[
    "/admin/api/me",
    "/admin/api/overview",
    "/admin/api/devices",
    "/admin/api/activity",
    "/admin/api/rejections",
    "/admin/api/conflicts",
    "/admin/api/money",
    "/admin/api/follow-ups",
    "/admin/api/handovers",
    "/admin/api/tickets",
    "/admin/api/appointments",
    "/admin/api/day-summaries",
    "/admin/api/home",
    "/admin/api/names",
    "/admin/api/buildings?grid=g1",
    "/admin/api/households",
    "/admin/api/household?grid=g1&id=h1",
];

#[tokio::test]
async fn pages_and_apis_need_a_session() {
    let f = fixture();
    let page = get(&f.state, "/admin", None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/admin/login");
    for path in API_PATHS {
        let reply = get(&f.state, path, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(reply.json()["code"], "unauthorized", "{path}");
        let forged = get(&f.state, path, Some("0123456789abcdef")).await;
        assert_eq!(forged.status, StatusCode::UNAUTHORIZED, "{path} with a made-up session");
    }
    // the login form and the static files are public, and carry no data
    let login = get(&f.state, "/admin/login", None).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.text().contains("name=\"password\""));
    let csp = login.headers.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
    // with no-referrer, browsers send `Origin: null` on the form's POST, which is refused
    assert_eq!(login.headers[header::REFERRER_POLICY], "same-origin");
    let js = get(&f.state, "/admin/assets/app.js", None).await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"));
    // nothing is fetched from elsewhere: the only absolute URL in the scripts is the SVG namespace
    for asset in ["app.js", "i18n.js", "login.js", "app.css"] {
        let body = get(&f.state, &format!("/admin/assets/{asset}"), None)
            .await
            .text()
            .replace("http://www.w3.org/2000/svg", "");
        assert!(!body.contains("http://") && !body.contains("https://") && !body.contains("//cdn"), "{asset}");
    }
    assert!(!login.text().contains("http://") && !login.text().contains("https://"));
    assert_eq!(get(&f.state, "/admin/assets/../../Cargo.toml", None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_wrong_password_or_a_field_account_is_refused_and_five_failures_slow_the_next_login() {
    let f = fixture();
    let (cookie, field) = login_token(&f.state).await;
    let wrong = post_login(&f.state, "sup", "not-the-password", Some(&cookie), &field, None).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.cookie("gb_session").is_none());
    assert!(wrong.text().contains("data-error=\"credentials\""));
    // written into the page, both languages, so that it shows with JavaScript off
    assert!(
        wrong.text().contains("role=\"alert\">账号或密码错误。 / Wrong account or password.</p>"),
        "{}",
        wrong.text()
    );
    let unknown = post_login(&f.state, "nobody", PASSWORD, Some(&cookie), &field, None).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(unknown.text().contains("data-error=\"credentials\""), "an unknown account looks like a wrong password");

    // a field manager with a password still may not use the back office
    let field_login = post_login(&f.state, "li", PASSWORD, Some(&cookie), &field, None).await;
    assert_eq!(field_login.status, StatusCode::FORBIDDEN);
    assert!(field_login.cookie("gb_session").is_none());

    // the right password: a session cookie that scripts cannot read and other sites do not send
    let session = login(&f.state, "sup").await;
    let (c2, f2) = login_token(&f.state).await;
    let ok = post_login(&f.state, "sup", PASSWORD, Some(&c2), &f2, None).await;
    let line = ok.set_cookie_line("gb_session");
    assert!(line.contains("HttpOnly") && line.contains("SameSite=Strict") && line.contains("Path=/admin"), "{line}");
    let page = get(&f.state, "/admin", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("王主管"));
    let me = get(&f.state, "/admin/api/me", Some(&session)).await.json();
    assert_eq!((me["id"].as_str(), me["role"].as_str()), (Some("sup"), Some("supervisor")));

    // five failures from one address (two above, three here) slow it down: the next attempt waits,
    // even with the right password (login_throttle.rs; tests/it/login_throttle.rs has each rule)
    for _ in 0..3 {
        let r = post_login(&f.state, "sup", "still-wrong-1", Some(&c2), &f2, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let locked = post_login(&f.state, "sup", PASSWORD, Some(&c2), &f2, None).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers.get(header::RETRY_AFTER).is_some());
    assert!(locked.cookie("gb_session").is_none());
    // the session made before still works: the wait is on new logins
    assert_eq!(get(&f.state, "/admin/api/me", Some(&session)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn login_and_logout_need_their_csrf_token_and_the_same_origin() {
    let f = fixture();
    let (cookie, field) = login_token(&f.state).await;
    // no cookie, a token that does not match, another site's origin: all refused before the password
    for (c, t, origin) in [
        (None, field.as_str(), None),
        (Some(cookie.as_str()), "forged-token", None),
        (Some(cookie.as_str()), field.as_str(), Some("http://evil.example")),
        (Some(cookie.as_str()), field.as_str(), Some("null")),
    ] {
        let r = post_login(&f.state, "sup", PASSWORD, c, t, origin).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "cookie {c:?}, token {t}, origin {origin:?}");
        assert!(r.cookie("gb_session").is_none());
    }

    let session = login(&f.state, "sup").await;
    let csrf = get(&f.state, "/admin/api/me", Some(&session)).await.json()["csrf"].as_str().unwrap().to_string();
    let logout = |token: String, origin: &'static str| {
        let session = session.clone();
        let state = f.state.clone();
        async move {
            let req = Request::post("/admin/logout")
                .header(header::HOST, "127.0.0.1:8080")
                .header(header::ORIGIN, origin)
                .header(header::COOKIE, format!("gb_session={session}"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form(&[("csrf", &token)])))
                .unwrap();
            send(&state, req).await
        }
    };
    assert_eq!(logout(String::new(), "http://127.0.0.1:8080").await.status, StatusCode::FORBIDDEN);
    assert_eq!(logout("0".repeat(64), "http://127.0.0.1:8080").await.status, StatusCode::FORBIDDEN);
    assert_eq!(logout(csrf.clone(), "https://evil.example").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        get(&f.state, "/admin/api/me", Some(&session)).await.status,
        StatusCode::OK,
        "refused logouts change nothing"
    );
    let out = logout(csrf, "http://127.0.0.1:8080").await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/admin/login");
    assert!(out.set_cookie_line("gb_session").contains("Max-Age=0"));
    assert_eq!(get(&f.state, "/admin/api/me", Some(&session)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(get(&f.state, "/admin", Some(&session)).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_conflict_log_masks_id_and_phone_numbers() {
    let f = fixture();
    let a = enrol(&f, "zhang", "phone_a").await;
    let b = enrol(&f, "li", "phone_b").await;
    let mut h = testing::household_n("g1", 7);
    h.mobile = "13812345678".into();
    h.id_number = testing::resident_id(7);
    h.landline = "0731-84561234".into();
    let created = push(
        &f,
        &a,
        vec![op(EntityKind::Household, "hh-7", "g1", OpAction::Create, fields_of(&h), stamp("phone_a", 0))],
        0,
    )
    .await;
    assert!(matches!(created.results[0].outcome, gridbook_core::sync::wire::OpOutcome::Applied));
    let mut edit = Map::new();
    edit.insert("mobile".into(), Value::from("13987654321"));
    edit.insert("id_number".into(), Value::from(testing::resident_id(8)));
    edit.insert("landline".into(), Value::from("0731-84569999"));
    edit.insert("notes".into(), Value::from("新号码 13700001111，晚上在家"));
    push(&f, &b, vec![op(EntityKind::Household, "hh-7", "g1", OpAction::Update, edit, stamp("phone_b", 10))], 0).await;
    let mut note = Map::new();
    note.insert("notes".into(), Value::from("改约周六"));
    push(&f, &a, vec![op(EntityKind::Household, "hh-7", "g1", OpAction::Update, note, stamp("phone_a", 20))], 0).await;
    assert!(f.storage.conflicts(10).unwrap().len() >= 4, "the overwrites were logged");

    let session = login(&f.state, "sup").await;
    let reply = get(&f.state, "/admin/api/conflicts", Some(&session)).await;
    assert_eq!(reply.status, StatusCode::OK);
    for secret in [
        "13812345678",
        "13987654321",
        "13700001111",
        "84561234",
        "84569999",
        &testing::resident_id(7)[4..14],
        &testing::resident_id(8)[4..14],
    ] {
        assert!(!reply.text().contains(secret), "{secret} leaked: {}", reply.text());
    }
    let rows = reply.json()["conflicts"].as_array().unwrap().clone();
    let field = |name: &str| {
        rows.iter().find(|r| r["field"] == name).unwrap_or_else(|| panic!("no conflict on {name}")).clone()
    };
    assert_eq!(field("mobile")["old_value"], "138****5678");
    assert_eq!(field("mobile")["new_value"], "139****4321");
    assert_eq!(field("mobile")["old_manager"], "张伟");
    assert_eq!(field("mobile")["new_manager"], "李娜");
    let id = field("id_number");
    assert_eq!(id["old_value"].as_str().unwrap(), gridbook_core::mask::id_number(&testing::resident_id(7)));
    let notes = field("notes");
    assert!(notes["old_value"].as_str().unwrap().contains("137****1111"), "{notes}");
    assert_eq!(notes["new_value"], "改约周六");
}

/// Stores a receipt the way the server keeps an accepted one (entity row and its number). Signed
/// receipts need a phone's key and a customer's strokes; the browser suite collects real ones.
fn store_receipt(f: &Server, id: &str, receipt: &gridbook_core::Receipt) {
    let vals = serde_json::to_string(&fields_of(receipt)).unwrap();
    f.execute(&format!(
        "INSERT INTO entities (kind, id, grid_id, vals, base_hlc, clocks, seq, updated_at_ms)
         VALUES ('receipt', {id}, {grid}, {vals}, {stamp}, '{{}}', {seq}, {now});
         INSERT INTO receipt_numbers (receipt_no, receipt_id) VALUES ({no}, {id});",
        id = sql_text(id),
        grid = sql_text(&receipt.grid_id),
        vals = sql_text(&vals),
        stamp = sql_text(&stamp("phone_a", 0).to_string()),
        seq = f.next_seq_sql(),
        now = now_ms(),
        no = sql_text(&receipt.receipt_no),
    ));
}

/// A visit with a promise due three days ago, a write outside the grid, a receipt and its void.
async fn field_day(f: &Server) -> (String, String) {
    let a = enrol(f, "zhang", "phone_a").await;
    let h = testing::household_n("g1", 3);
    let mut v = testing::visit("g1", "hh-3");
    v.manager_id = "zhang".into();
    v.open_question = "千兆宽带能否下月开通？客户电话 13611112222".into();
    v.follow_up = "三天内回复开通时间".into();
    v.follow_up_due = gridbook_sync_server::domain::report_day::report_day(now_ms(), 3);
    let outside = testing::household_n("g2", 4);
    let reply = push(
        f,
        &a,
        vec![
            op(EntityKind::Household, "hh-3", "g1", OpAction::Create, fields_of(&h), stamp("phone_a", 0)),
            op(EntityKind::Visit, "vi-1", "g1", OpAction::Create, fields_of(&v), stamp("phone_a", 1)),
            op(EntityKind::Household, "hh-4", "g2", OpAction::Create, fields_of(&outside), stamp("phone_a", 2)),
        ],
        -150_000,
    )
    .await;
    let rejected: Vec<_> = reply
        .results
        .iter()
        .filter(|r| matches!(r.outcome, gridbook_core::sync::wire::OpOutcome::Rejected { .. }))
        .collect();
    assert_eq!(rejected.len(), 1, "{:?}", reply.results);

    let mut r = testing::receipt("g1", "acc-1", "hh-3", "NO-000777");
    r.collector_id = "zhang".into();
    r.device_id = "phone_a".into();
    r.collected_at_ms = now_ms();
    store_receipt(f, "rc-1", &r);
    let void = gridbook_core::model::ReceiptVoid {
        id: String::new(),
        grid_id: "g1".into(),
        receipt_id: "rc-1".into(),
        reason: "金额写错".into(),
        voided_at_ms: now_ms(),
        voided_by: "zhang".into(),
    };
    let void = vec![op(EntityKind::ReceiptVoid, "vo-1", "g1", OpAction::Create, fields_of(&void), stamp("phone_a", 3))];
    let reply = push_with(f, &a, void, -150_000, 1).await;
    assert!(matches!(reply.results[0].outcome, gridbook_core::sync::wire::OpOutcome::Applied), "{:?}", reply.results);
    (a, h.customer_name)
}

#[tokio::test]
async fn the_dashboard_apis_show_devices_activity_rejections_money_and_follow_ups() {
    let f = fixture();
    let (_, customer) = field_day(&f).await;
    enrol(&f, "li", "phone_b").await; // enrolled, never synced
    let session = login(&f.state, "sup").await;

    let devices = get(&f.state, "/admin/api/devices", Some(&session)).await.json();
    let rows = devices["devices"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let a = rows.iter().find(|d| d["device_id"] == "phone_a").unwrap();
    assert_eq!((a["manager_name"].as_str(), a["app_version"].as_str()), (Some("张伟"), Some("2.1.0")));
    assert_eq!(a["grids"], serde_json::json!(["g1"]));
    assert_eq!(a["rejected_count"], 1);
    assert_eq!(a["health"]["state"], "ok");
    assert_eq!(a["health"]["skewed"], true, "150 s behind is more than the 60 s threshold");
    assert!(a["clock_offset_ms"].as_i64().unwrap() < -100_000);
    let b = rows.iter().find(|d| d["device_id"] == "phone_b").unwrap();
    assert_eq!(b["health"]["state"], "never_synced");
    assert!(a["rate_limited"].is_null() && b["rate_limited"].is_null(), "no device went over its budget yet");

    // phone_a caught in a loop: the rest of its burst goes through, then it is refused (the
    // check its requests pass, right after authentication)
    let now = now_ms();
    let refused = (0..400).filter(|_| f.state.device_budget.take("phone_a", now).is_err()).count();
    assert!(refused > 50, "{refused}");
    let devices = get(&f.state, "/admin/api/devices", Some(&session)).await.json();
    let rows = devices["devices"].as_array().unwrap();
    let a = rows.iter().find(|d| d["device_id"] == "phone_a").unwrap();
    assert_eq!(a["rate_limited"]["count"], refused as u64);
    assert_eq!(a["rate_limited"]["last_ms"], now);
    assert!(rows.iter().find(|d| d["device_id"] == "phone_b").unwrap()["rate_limited"].is_null());

    let activity = get(&f.state, "/admin/api/activity?range=24h", Some(&session)).await.json();
    let buckets = activity["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 24);
    let last = &buckets[23];
    assert_eq!(
        (last["pushes"].as_i64(), last["ops_pushed"].as_i64(), last["rejected"].as_i64()),
        (Some(2), Some(4), Some(1))
    );
    assert_eq!(
        get(&f.state, "/admin/api/activity?range=forever", Some(&session)).await.status,
        StatusCode::BAD_REQUEST
    );

    let rejections = get(&f.state, "/admin/api/rejections", Some(&session)).await.json();
    let r = &rejections["rejections"][0];
    assert_eq!(
        (r["code"].as_str(), r["entity_id"].as_str(), r["grid_id"].as_str()),
        (Some("outside_grids"), Some("hh-4"), Some("g2"))
    );
    assert_eq!(r["manager_name"], "张伟");

    let money = get(&f.state, "/admin/api/money?days=7", Some(&session)).await.json();
    let receipt = &money["receipts"][0];
    assert_eq!((receipt["receipt_no"].as_str(), receipt["amount_fen"].as_i64()), (Some("NO-000777"), Some(12_800)));
    assert_eq!(receipt["verification"], "unsigned", "no customer signature on this one");
    assert_eq!(receipt["void_status"], "pending");
    assert_eq!(receipt["collector_name"], "张伟");
    assert_eq!(receipt["void_requested"], true);
    assert_eq!(money["by_grid_day"][0]["grid_id"], "g1");
    assert_eq!(money["by_grid_day"][0]["day"], money["today"]);
    assert_eq!(money["by_grid_day"][0]["amount_fen"], 12_800);
    assert_eq!(money["by_manager"][0]["manager_name"], "张伟");
    assert_eq!(money["voids"][0]["receipt_no"], "NO-000777");
    assert_eq!(money["voids"][0]["status"], "pending");
    assert_eq!(money["voids"][0]["voided_by_name"], "张伟");
    assert_eq!(money["voids"][0]["reason"], "金额写错");

    let follow = get(&f.state, "/admin/api/follow-ups", Some(&session)).await;
    assert!(!follow.text().contains(&customer), "the customer's full name is not listed");
    assert!(!follow.text().contains("13611112222"));
    let follow = follow.json();
    let row = &follow["follow_ups"][0];
    assert_eq!((row["visit_id"].as_str(), row["manager_name"].as_str()), (Some("vi-1"), Some("张伟")));
    assert_eq!(row["customer_name"].as_str().unwrap().chars().next(), customer.chars().next());

    let overview = get(&f.state, "/admin/api/overview", Some(&session)).await.json();
    assert_eq!(overview["devices"]["never_synced"], 1);
    assert_eq!(overview["skewed"], 1);
    assert_eq!(overview["rejections"], 1);
    assert_eq!(overview["receipts_today"]["amount_fen"], 12_800);
    assert_eq!(overview["voids_pending"], 1);
    assert_eq!(overview["follow_ups_overdue"], 1);
}

#[tokio::test]
async fn metrics_count_requests_syncs_rejections_and_devices_by_state() {
    let f = fixture();
    field_day(&f).await;
    let _ = get(&f.state, "/no/such/path/12345", None).await;
    let reply = get(&f.state, "/metrics", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers[header::CONTENT_TYPE], "text/plain; version=0.0.4; charset=utf-8");
    let m = &reply.text();
    for line in [
        "gridbook_http_requests_total{route=\"/v1/push\",method=\"POST\",status=\"200\"} 2",
        "gridbook_http_requests_total{route=\"/v1/enrol\",method=\"POST\",status=\"200\"} 1",
        "gridbook_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1",
        "gridbook_sync_duration_seconds_count{direction=\"push\"} 2",
        "gridbook_sync_duration_seconds_bucket{direction=\"push\",le=\"+Inf\"} 2",
        "gridbook_sync_requests_total{direction=\"push\"} 2",
        "gridbook_sync_ops_total{direction=\"push\"} 4",
        "gridbook_ops_rejected_total 1",
        "gridbook_rejections 1",
        "gridbook_conflicts_total 0",
        "gridbook_devices{state=\"ok\"} 1",
        "gridbook_devices{state=\"stale\"} 0",
        "gridbook_devices_clock_skewed 1",
        "gridbook_devices_rate_limited 0",
        "gridbook_database_up 1",
    ] {
        assert!(m.lines().any(|l| l == line), "missing `{line}` in:\n{m}");
    }
    // SQLite's share of the process's memory is reported (its page caches hold pages by now)
    let sqlite_heap = m
        .lines()
        .find_map(|l| l.strip_prefix("gridbook_sqlite_heap_bytes "))
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    if f.postgres.is_none() {
        assert!(sqlite_heap > 0, "gridbook_sqlite_heap_bytes in:\n{m}");
    }
    // every sample belongs to a declared family, and no label names a device or a path typed by a client
    for l in m.lines().filter(|l| !l.starts_with('#')) {
        let name = l.split(['{', ' ']).next().unwrap();
        let family = name.trim_end_matches("_bucket").trim_end_matches("_sum").trim_end_matches("_count");
        assert!(
            m.contains(&format!("# TYPE {family} ")) || m.contains(&format!("# TYPE {name} ")),
            "undeclared {name}"
        );
    }
    assert!(!m.contains("phone_a") && !m.contains("12345"));

    // totals only grow: a second push is added to what was counted
    let b = enrol(&f, "li", "phone_b").await;
    let h = testing::household_n("g1", 9);
    push(
        &f,
        &b,
        vec![op(EntityKind::Household, "hh-9", "g1", OpAction::Create, fields_of(&h), stamp("phone_b", 0))],
        0,
    )
    .await;
    let again = get(&f.state, "/metrics", None).await.text();
    assert!(again.lines().any(|l| l == "gridbook_sync_ops_total{direction=\"push\"} 5"), "{again}");
    assert!(again.lines().any(|l| l == "gridbook_sync_requests_total{direction=\"push\"} 3"), "{again}");
    assert!(again.lines().any(|l| l == "gridbook_devices{state=\"ok\"} 2"), "{again}");

    // a device over its budget is counted, not named
    while f.state.device_budget.take("phone_b", now_ms()).is_ok() {}
    let limited = get(&f.state, "/metrics", None).await.text();
    assert!(limited.lines().any(|l| l == "gridbook_devices_rate_limited 1"), "{limited}");
    assert!(!limited.contains("phone_b"));
}

/// A phone's facts are its own word: two phones claiming the most money and ops a number can
/// hold are stored clipped, and the overview and the metrics still add them up.
#[tokio::test]
async fn nonsense_figures_from_two_phones_are_clipped_and_summed_without_overflow() {
    let f = fixture();
    for (manager, device) in [("zhang", "phone_x"), ("li", "phone_y")] {
        let token = enrol(&f, manager, device).await;
        let facts = DeviceFacts {
            app_version: "2.1.0".into(),
            pending_count: u64::MAX,
            unsynced_receipts_fen: i64::MAX,
            unsynced_receipts_count: u64::MAX,
            wall_clock_ms: now_ms(),
            zone_offset_min: 480,
            ..Default::default()
        };
        f.push(&token, &PushRequest { protocol: PROTOCOL_VERSION, facts, ops: vec![] }).await;
    }
    let session = login(&f.state, "sup").await;
    let overview = get(&f.state, "/admin/api/overview", Some(&session)).await;
    assert_eq!(overview.status, StatusCode::OK, "{}", overview.text());
    let o = overview.json();
    // each phone's money is clipped to the most one receipt may be; the two add up exactly
    assert_eq!(o["on_phones"]["amount_fen"], 2 * gridbook_core::model::MAX_FEN);
    assert_eq!(o["on_phones"]["count"], i64::MAX);
    assert_eq!(o["pending_ops"], i64::MAX);
    let metrics = get(&f.state, "/metrics", None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    let fen_line = format!("gridbook_receipts_on_phones_fen {}", 2 * gridbook_core::model::MAX_FEN);
    assert!(metrics.text().lines().any(|l| l == fen_line), "{}", metrics.text());
}

// ---- field workflows (issue 7): handovers, tickets, appointments, day summaries ----------------

async fn post_handover(f: &Server, session: &str, csrf: Option<&str>, body: &str) -> Reply {
    let mut req = Request::post("/admin/api/handovers")
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::ORIGIN, "http://127.0.0.1:8080")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, format!("gb_session={session}"));
    if let Some(token) = csrf {
        req = req.header("x-csrf-token", token);
    }
    send(&f.state, req.body(Body::from(body.to_string())).unwrap()).await
}

#[tokio::test]
async fn an_admin_hands_a_building_over_with_the_csrf_token_and_bad_requests_get_clear_4xx() {
    let f = fixture()
        .manager("root", "系统管理员", Role::Admin, Some(PASSWORD))
        .manager("wang", "王强", Role::Field, None)
        .assign("wang", "g2");
    let a = enrol(&f, "zhang", "phone_a").await;
    let building = testing::premises("g1", 3);
    let mut h = testing::household_n("g1", 3);
    h.premises_id = Some("pr-3".into());
    push(
        &f,
        &a,
        vec![
            op(EntityKind::Premises, "pr-3", "g1", OpAction::Create, fields_of(&building), stamp("phone_a", 0)),
            op(EntityKind::Household, "hh-3", "g1", OpAction::Create, fields_of(&h), stamp("phone_a", 1)),
        ],
        0,
    )
    .await;
    let body = r#"{"scope":"building","premises":"pr-3","to":"wang","to_grid":"g2"}"#;

    // a supervisor sees handovers but does not start them
    let sup = login(&f.state, "sup").await;
    let sup_csrf = get(&f.state, "/admin/api/me", Some(&sup)).await.json()["csrf"].as_str().unwrap().to_string();
    assert_eq!(post_handover(&f, &sup, Some(&sup_csrf), body).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&f.state, "/admin/api/handovers", Some(&sup)).await.json()["handovers"], serde_json::json!([]));

    let root = login(&f.state, "root").await;
    let csrf = get(&f.state, "/admin/api/me", Some(&root)).await.json()["csrf"].as_str().unwrap().to_string();
    let no_token = post_handover(&f, &root, None, body).await;
    assert_eq!((no_token.status, no_token.json()["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    for (bad, status) in [
        (r#"{"scope":"building","premises":"nope","to":"wang","to_grid":"g2"}"#, StatusCode::NOT_FOUND),
        (r#"{"scope":"building","premises":"pr-3","to":"li","to_grid":"g2"}"#, StatusCode::CONFLICT),
        (r#"{"scope":"grid","grid":"g9","from":"zhang","to":"wang"}"#, StatusCode::NOT_FOUND),
        (r#"{"scope":"grid","grid":"g1","from":"zhang","to":"sup"}"#, StatusCode::UNPROCESSABLE_ENTITY),
        (r#"{"scope":"street","grid":"g1"}"#, StatusCode::UNPROCESSABLE_ENTITY),
        (r#"{"scope":"building""#, StatusCode::BAD_REQUEST),
    ] {
        let reply = post_handover(&f, &root, Some(&csrf), bad).await;
        assert_eq!(reply.status, status, "{bad}: {}", reply.text());
        assert!(!reply.json()["message"].as_str().unwrap_or("").is_empty(), "{bad}");
    }
    let done = post_handover(&f, &root, Some(&csrf), body).await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text());
    let row = done.json();
    assert_eq!(
        (row["scope"].as_str(), row["to_grid"].as_str(), row["records"].as_i64()),
        (Some("building"), Some("g2"), Some(2))
    );
    assert_eq!(row["premises_name"], "3号楼");
    assert_eq!(row["state"], "waiting");
    assert_eq!(row["devices"][0]["device_id"], "phone_a");
    let listed = get(&f.state, "/admin/api/handovers", Some(&sup)).await.json();
    assert_eq!(listed["handovers"][0]["devices"][0]["manager_name"], "张伟");
    // a revoked phone will never report: it is no longer waited for
    f.storage.revoke_device("phone_a", now_ms()).unwrap();
    let listed = get(&f.state, "/admin/api/handovers", Some(&sup)).await.json();
    assert_eq!(
        (listed["handovers"][0]["state"].as_str(), listed["handovers"][0]["devices"][0]["revoked"].as_bool()),
        (Some("done"), Some(true))
    );
}

#[tokio::test]
async fn tickets_list_the_overdue_first_and_appointments_show_late_and_missed_ones_masked() {
    let f = fixture();
    let a = enrol(&f, "zhang", "phone_a").await;
    let now = now_ms();
    let today = gridbook_sync_server::domain::report_day::report_day(now, 0);
    let last_week = gridbook_sync_server::domain::report_day::report_day(now, 7);
    let next_week = gridbook_sync_server::domain::report_day::report_day(now, -7);
    let h = testing::household_n("g1", 3);
    let mut overdue = testing::ticket("g1", "hh-3", &last_week);
    overdue.owner_manager_id = "zhang".into();
    overdue.text = "宽带断线，客户手机 13611112222".into();
    let mut fresh = testing::ticket("g1", "hh-3", &next_week);
    fresh.owner_manager_id = "zhang".into();
    let mut late = testing::appointment("g1", "hh-3", now - 3 * 3_600_000);
    late.manager_id = "zhang".into();
    let mut missed = testing::appointment("g1", "hh-3", now - 3 * 86_400_000);
    missed.manager_id = "zhang".into();
    let mut summary = testing::day_summary("g1", "zhang", &today);
    summary.collected_fen = 12_800;
    summary.note = "明天回访 13611112222".into();
    push(
        &f,
        &a,
        vec![
            op(EntityKind::Household, "hh-3", "g1", OpAction::Create, fields_of(&h), stamp("phone_a", 0)),
            op(EntityKind::Ticket, "tk-fresh", "g1", OpAction::Create, fields_of(&fresh), stamp("phone_a", 1)),
            op(EntityKind::Ticket, "tk-late", "g1", OpAction::Create, fields_of(&overdue), stamp("phone_a", 2)),
            op(EntityKind::Appointment, "ap-late", "g1", OpAction::Create, fields_of(&late), stamp("phone_a", 3)),
            op(EntityKind::Appointment, "ap-missed", "g1", OpAction::Create, fields_of(&missed), stamp("phone_a", 4)),
            op(EntityKind::DaySummary, "ds-1", "g1", OpAction::Create, fields_of(&summary), stamp("phone_a", 5)),
        ],
        0,
    )
    .await;
    let session = login(&f.state, "sup").await;
    let tickets = get(&f.state, "/admin/api/tickets", Some(&session)).await;
    assert_eq!(tickets.status, StatusCode::OK, "{}", tickets.text());
    let t = tickets.json();
    assert_eq!(t["overdue"], 1);
    assert_eq!(t["tickets"][0]["id"], "tk-late", "overdue first");
    assert_eq!(t["tickets"][0]["owner_name"], "张伟");
    assert_eq!(t["tickets"][1]["overdue"], false);
    assert!(
        !tickets.text().contains("13611112222") && !tickets.text().contains(&h.customer_name),
        "{}",
        tickets.text()
    );

    let appts = get(&f.state, "/admin/api/appointments", Some(&session)).await.json();
    let category = |id: &str| {
        appts["appointments"].as_array().unwrap().iter().find(|a| a["id"] == id).map(|a| a["category"].clone())
    };
    assert_eq!(category("ap-missed"), Some(serde_json::json!("missed")));
    // three hours ago is today in Beijing unless the day began less than three hours ago
    let late_is_today = gridbook_sync_server::domain::report_day::report_day(now - 3 * 3_600_000, 0) == today;
    assert_eq!(
        category("ap-late"),
        late_is_today.then(|| serde_json::json!("late")).or(Some(serde_json::json!("missed")))
    );

    let days = get(&f.state, "/admin/api/day-summaries?days=3", Some(&session)).await;
    let d = days.json();
    assert_eq!(d["summaries"][0]["manager_name"], "张伟");
    assert_eq!(d["summaries"][0]["collected_fen"], 12_800);
    assert!(!days.text().contains("13611112222"));
    assert_eq!(get(&f.state, "/admin/api/day-summaries?days=x", Some(&session)).await.status, StatusCode::BAD_REQUEST);
}
