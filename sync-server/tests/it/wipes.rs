//! Remote wipes at the server's edge (docs/sync-protocol.md, "Remote wipe"), through the real
//! router, on SQLite or PostgreSQL (GRIDBOOK_TEST_BACKEND): the back office orders and cancels
//! with a staff session and its CSRF token, audited; a device with an order is told at its first
//! contact, may then only push (the answer carries the order) and report; a report is taken only
//! from its own device, for the standing order, within bounds and signed with its registered key;
//! afterwards its token is refused as revoked.

use crate::common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{json_post, staff_request, Reply, Server, HOST};
use gridbook_core::evidence::{to_hex, DeviceKey, DeviceSigner};
use gridbook_core::sync::wire::{
    DeviceFacts, EnrolRequest, EnrolResponse, ErrorCode, PushRequest, WipeMode, WipeOrder, WipeReport,
    WipeReportRequest, PATH_PULL, PATH_PUSH, PATH_RECEIPT_BLOCKS, PATH_WIPE_REPORT, PROTOCOL_VERSION,
};
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::now_ms;
use serde_json::{json, Value};

async fn staff_post(f: &Server, session: &(String, String), path: &str, body: Value) -> Reply {
    let req = staff_request("POST", path, session)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    f.send(req).await
}

async fn staff_get(f: &Server, session: &(String, String), path: &str) -> Value {
    let reply = f.send(staff_request("GET", path, session).body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

/// A request of the device with `token`.
fn device_request(method: &str, path: &str, token: &str, body: Option<Value>) -> Request<Body> {
    let builder = Request::builder().method(method).uri(path).header(header::AUTHORIZATION, format!("Bearer {token}"));
    match body {
        Some(body) => builder.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .unwrap()
}

fn empty_push() -> Value {
    serde_json::to_value(PushRequest { protocol: PROTOCOL_VERSION, facts: DeviceFacts::default(), ops: vec![] })
        .unwrap()
}

/// A server with grid g1, field manager zhang and a phone of his enrolled with `key`: its token.
async fn with_phone(key: &DeviceKey) -> (Server, String) {
    let f = Server::new()
        .grid("g1", "幸福里")
        .manager("zhang", "张伟", Role::Field, None)
        .assign("zhang", "g1")
        .manager("sup", "王主管", Role::Supervisor, None)
        .assign("sup", "g1");
    let request = EnrolRequest {
        protocol: PROTOCOL_VERSION,
        code: f.storage.create_enrol_code("zhang", now_ms(), 3_600_000).unwrap(),
        device_id: "p1".into(),
        app_version: "2.1.0".into(),
        public_key: Some(to_hex(&key.public_key_bytes())),
    };
    let reply = f.send(json_post("/v1/enrol", &request)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let token = serde_json::from_slice::<EnrolResponse>(&reply.body).unwrap().token;
    (f, token)
}

fn report(order: WipeOrder) -> WipeReport {
    WipeReport {
        device_id: "p1".into(),
        mode: order.mode,
        ordered_at_ms: order.ordered_at_ms,
        wiped_at_ms: now_ms(),
        ops_uploaded: 3,
        receipts_uploaded: 1,
        receipts_uploaded_fen: 12_800,
        ops_rejected: 0,
        ops_lost: 2,
        receipts_lost: 1,
        receipts_lost_fen: 5_000,
    }
}

fn signed(key: &DeviceKey, report: WipeReport) -> Value {
    let signature = to_hex(&key.sign(&report.signed_message()).unwrap());
    serde_json::to_value(WipeReportRequest { protocol: PROTOCOL_VERSION, report, signature }).unwrap()
}

#[tokio::test]
async fn staff_order_and_cancel_a_wipe_with_their_session_and_csrf_token_and_it_is_audited() {
    let key = DeviceKey::from_bytes(&[3; 32]);
    let (f, _token) = with_phone(&key).await;
    let supervisor = f.session("sup", Role::Supervisor);
    let path = "/admin/api/devices/p1/wipe";

    // without the CSRF token, or from a field manager's session, nothing is ordered
    let no_csrf = Request::post(path)
        .header(header::HOST, HOST)
        .header(header::COOKIE, format!("gb_session={}", supervisor.0))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"mode":"lost"}"#))
        .unwrap();
    assert_eq!(f.send(no_csrf).await.status, StatusCode::FORBIDDEN);
    let field = f.session("zhang", Role::Field);
    assert_eq!(staff_post(&f, &field, path, json!({"mode": "lost"})).await.status, StatusCode::UNAUTHORIZED);
    // a mode that is neither, and a device that is not there
    let bad = staff_post(&f, &supervisor, path, json!({"mode": "erase"})).await;
    assert_eq!((bad.status, bad.error().code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"));
    let none = staff_post(&f, &supervisor, "/admin/api/devices/nobody/wipe", json!({"mode": "lost"})).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert!(staff_get(&f, &supervisor, "/admin/api/wipes").await["wipes"].as_array().unwrap().is_empty());

    // a supervisor orders it: listed, and on the device's row
    let ordered = staff_post(&f, &supervisor, path, json!({"mode": "lost"})).await;
    assert_eq!(ordered.status, StatusCode::CREATED, "{}", ordered.text());
    let row = ordered.json();
    assert_eq!(
        (row["status"].as_str(), row["mode"].as_str(), row["ordered_by"].as_str()),
        (Some("ordered"), Some("lost"), Some("sup"))
    );
    let devices = staff_get(&f, &supervisor, "/admin/api/devices").await;
    assert_eq!(devices["devices"][0]["wipe"]["status"], "ordered");
    // an admin changes the mode before the phone is told, then cancels
    let admin = f.session("boss", Role::Admin);
    let changed = staff_post(&f, &admin, path, json!({"mode": "retire"})).await.json();
    assert_eq!((changed["mode"].as_str(), changed["ordered_by"].as_str()), (Some("retire"), Some("boss")));
    let cancelled = staff_post(&f, &admin, "/admin/api/devices/p1/wipe/cancel", json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text());
    assert!(staff_get(&f, &admin, "/admin/api/wipes").await["wipes"].as_array().unwrap().is_empty());
    let again = staff_post(&f, &admin, "/admin/api/devices/p1/wipe/cancel", json!({})).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);

    let audit: Vec<(String, String, String)> =
        f.storage.audit_log(Some("p1"), 10).unwrap().into_iter().map(|a| (a.actor, a.action, a.detail)).collect();
    let expected =
        [("boss", "wipe_cancelled", "retire"), ("boss", "wipe_ordered", "retire"), ("sup", "wipe_ordered", "lost")];
    let expected: Vec<(String, String, String)> =
        expected.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect();
    assert_eq!(audit, expected);
}

#[tokio::test]
async fn a_device_with_an_order_is_told_may_only_push_and_report_and_is_then_revoked() {
    let key = DeviceKey::from_bytes(&[3; 32]);
    let (f, token) = with_phone(&key).await;
    let ordered_at = now_ms() - 60_000;
    f.storage.order_wipe("p1", WipeMode::Retire, "sup", ordered_at).unwrap();
    let order = WipeOrder { mode: WipeMode::Retire, ordered_at_ms: ordered_at };

    // a pull is refused 410 with the order; the device is told from then on
    let pull = f.send(device_request("GET", &format!("{PATH_PULL}?cursor=0"), &token, None)).await;
    assert_eq!(pull.status, StatusCode::GONE);
    let error = pull.error();
    assert_eq!((error.code.as_str(), error.wipe), ("wipe_ordered", Some(order)));
    assert!(error.message.contains("离职交回") && error.message.contains("retire"), "{}", error.message);
    assert!(f.storage.wipes().unwrap()[0].told_at_ms.is_some());
    let blocks = json!({"protocol": 1, "request_id": uuid::Uuid::now_v7(), "numbers_left": 0});
    let refill = f.send(device_request("POST", PATH_RECEIPT_BLOCKS, &token, Some(blocks))).await;
    assert_eq!((refill.status, refill.error().wipe), (StatusCode::GONE, Some(order)));
    // a push is taken, and its answer carries the order
    let push = f.send(device_request("POST", PATH_PUSH, &token, Some(empty_push()))).await;
    assert_eq!(push.status, StatusCode::OK, "{}", push.text());
    assert_eq!(serde_json::from_value::<WipeOrder>(push.json()["wipe"].clone()).unwrap(), order);
    // told: the order stands
    assert_eq!(f.storage.cancel_wipe("p1", "sup", now_ms()).unwrap_err().code(), ErrorCode::WipeUnderWay);

    // reports that are not taken: each 422 invalid, nothing recorded
    let refused = |reply: Reply| {
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.text());
        reply.error().message
    };
    let send = |body: Value| f.send(device_request("POST", PATH_WIPE_REPORT, &token, Some(body)));
    let other_key = DeviceKey::from_bytes(&[4; 32]);
    assert!(refused(send(signed(&other_key, report(order))).await).contains("signature"));
    assert!(
        refused(send(signed(&key, WipeReport { device_id: "p2".into(), ..report(order) })).await).contains("device_id")
    );
    let earlier = WipeOrder { ordered_at_ms: ordered_at - 1, ..order };
    assert!(refused(send(signed(&key, report(earlier))).await).contains("another order"));
    let too_many = WipeReport { receipts_lost_fen: 20_000_000_000, ..report(order) };
    assert!(refused(send(signed(&key, too_many)).await).contains("receipts_lost_fen"));
    assert_eq!(f.storage.wipes().unwrap()[0].wiped_at_ms, None);

    // the device's own, signed, within bounds: recorded; the token is a revoked one's from now on
    let taken = send(signed(&key, report(order))).await;
    assert_eq!(taken.status, StatusCode::OK, "{}", taken.text());
    let row = f.storage.wipes().unwrap().remove(0);
    let got = row.report.expect("the report is kept");
    // each report above was made (and signed) at its own moment: the device's clock aside, equal
    assert_eq!(WipeReport { wiped_at_ms: 0, ..got }, WipeReport { wiped_at_ms: 0, ..report(order) });
    assert_eq!(row.status, gridbook_sync_server::storage::wipes::WipeStatus::Wiped);
    for reply in [
        f.send(device_request("POST", PATH_PUSH, &token, Some(empty_push()))).await,
        send(signed(&key, report(order))).await,
    ] {
        assert_eq!((reply.status, reply.error().code.as_str()), (StatusCode::UNAUTHORIZED, "revoked"));
    }
    let audit = f.storage.audit_log(Some("p1"), 10).unwrap();
    assert_eq!((audit[0].actor.as_str(), audit[0].action.as_str()), ("p1", "wipe_reported"));
    assert!(audit[0].detail.contains("lost 2 ops (1 receipts, 5000 fen)"), "{}", audit[0].detail);
}

#[tokio::test]
async fn a_device_without_an_order_has_no_report_to_give_and_an_order_cancelled_meanwhile_is_not_told() {
    let key = DeviceKey::from_bytes(&[3; 32]);
    let (f, token) = with_phone(&key).await;
    let order = WipeOrder { mode: WipeMode::Lost, ordered_at_ms: now_ms() };
    let reply = f.send(device_request("POST", PATH_WIPE_REPORT, &token, Some(signed(&key, report(order))))).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text());
    f.storage.order_wipe("p1", WipeMode::Lost, "sup", now_ms()).unwrap();
    f.storage.cancel_wipe("p1", "sup", now_ms()).unwrap();
    let push = f.send(device_request("POST", PATH_PUSH, &token, Some(empty_push()))).await;
    assert_eq!(push.status, StatusCode::OK);
    assert!(push.json().get("wipe").is_none(), "{}", push.text());
    assert_eq!(f.storage.wipe_told("p1", now_ms()).unwrap(), None);
}
