//! App versions in the field (issue 17), through the real router: an admin publishes a build in the
//! back office, the sync answers offer it to the devices it is rolled out to, an enrolled device
//! downloads it whole or resumed by range, a withdrawn build is offered and served to nobody; an
//! app below the minimum version has its push applied and is then refused with
//! `upgrade_required`; what a phone says of itself reaches the back office's device list.

use crate::common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{staff_request, Reply, Server, HOST, ORIGIN};
use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::wire::{
    DeviceFacts, Op, OpOutcome, PullPage, PushRequest, PushResponse, HEADER_APP_VERSION, PROTOCOL_VERSION,
};
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::now_ms;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn fixture() -> Server {
    let f = Server::new()
        .grid("g1", "g1")
        .manager("zhang", "张伟", Role::Field, None)
        .assign("zhang", "g1")
        .manager("sup", "王主管", Role::Supervisor, None)
        .assign("sup", "g1");
    let household = gridbook_core::testing::household_op("g1", "h-g1").unwrap();
    f.storage.apply_backoffice_ops(&[household], now_ms()).unwrap();
    f
}

/// A file that is a zip as far as the first bytes go, as an APK is.
fn apk(size: usize, seed: u8) -> Vec<u8> {
    let mut bytes = b"PK\x03\x04".to_vec();
    bytes.extend((0..size).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    bytes
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

async fn publish(f: &Server, session: &(String, String), query: &str, bytes: Vec<u8>) -> Reply {
    let req = staff_request("POST", &format!("/admin/api/releases?{query}"), session)
        .header(header::CONTENT_TYPE, "application/vnd.android.package-archive")
        .body(Body::from(bytes))
        .unwrap();
    f.send(req).await
}

async fn admin_json(f: &Server, session: &(String, String), path: &str, body: Value) -> Reply {
    let req = staff_request("POST", path, session)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    f.send(req).await
}

fn visit(n: u16) -> Op {
    let visit = gridbook_core::testing::visit("g1", "h-g1");
    gridbook_core::testing::visit_op(
        gridbook_core::testing::fields_of(&visit).unwrap(),
        Hlc::new(now_ms() as u64 - 1_000, n, "devold"),
    )
}

fn push_request(app_version: &str, ops: Vec<Op>) -> PushRequest {
    PushRequest {
        protocol: PROTOCOL_VERSION,
        facts: DeviceFacts { app_version: app_version.into(), ..Default::default() },
        ops,
    }
}

async fn push_raw(f: &Server, token: &str, request: &PushRequest) -> Reply {
    let mut req = common::json_post("/v1/push", request);
    req.headers_mut().insert(header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    f.send(req).await
}

async fn get_as_device(f: &Server, token: &str, path: &str, extra: &[(&str, &str)]) -> Reply {
    let mut req = Request::get(path).header(header::AUTHORIZATION, format!("Bearer {token}"));
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    f.send(req.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn a_published_build_is_offered_where_it_is_rolled_out_and_served_whole_or_resumed() {
    let f = fixture();
    let admin = f.session("boss", Role::Admin);
    let bytes = apk(300_000, 7);
    let published = publish(&f, &admin, "version=1.5.0&notes=%E4%BF%AE%E5%A4%8D&rollout=100", bytes.clone()).await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.text());
    let row = published.json();
    assert_eq!(row["sha256"], hex_sha256(&bytes));
    assert_eq!(row["bytes"], bytes.len());
    assert_eq!(row["notes"], "修复");

    let token = f.device("zhang", "dev1");
    let old = f.push(&token, &push_request("1.4.2", vec![])).await;
    let offer = old.update.expect("an older app is offered the build");
    assert_eq!(
        (offer.version.as_str(), offer.sha256.as_str(), offer.required),
        ("1.5.0", row["sha256"].as_str().unwrap(), false)
    );
    assert_eq!(offer.bytes, bytes.len() as u64);
    assert_eq!(f.push(&token, &push_request("1.5.0", vec![])).await.update, None, "an app as new is offered nothing");

    // a pull names its app in the header, and gets the same offer
    let page = get_as_device(&f, &token, "/v1/pull?cursor=0", &[(HEADER_APP_VERSION, "1.4.2")]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let page: PullPage = serde_json::from_slice(&page.body).unwrap();
    assert_eq!(page.update.map(|u| u.sha256), Some(offer.sha256.clone()));

    let whole = get_as_device(&f, &token, &offer.url, &[]).await;
    assert_eq!(whole.status, StatusCode::OK);
    assert_eq!(whole.headers[header::CONTENT_TYPE], "application/vnd.android.package-archive");
    assert_eq!(whole.headers.get(header::CONTENT_ENCODING), None, "a zip is sent as it is");
    assert_eq!(hex_sha256(&whole.body), offer.sha256);

    let resumed = get_as_device(&f, &token, &offer.url, &[("range", "bytes=100000-")]).await;
    assert_eq!(resumed.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(resumed.body, bytes[100_000..]);
    assert_eq!(resumed.headers[header::CONTENT_RANGE], format!("bytes 100000-{}/{}", bytes.len() - 1, bytes.len()));
    let past = get_as_device(&f, &token, &offer.url, &[("range", &format!("bytes={}-", bytes.len()))]).await;
    assert_eq!(past.status, StatusCode::RANGE_NOT_SATISFIABLE);

    let nobody = Request::get(&offer.url).body(Body::empty()).unwrap();
    assert_eq!(f.send(nobody).await.status, StatusCode::UNAUTHORIZED, "only an enrolled device downloads");
    let unknown = get_as_device(&f, &token, &format!("/v1/app/releases/{}", "0".repeat(64)), &[]).await;
    assert_eq!((unknown.status, unknown.error().code.as_str()), (StatusCode::NOT_FOUND, "not_found"));
    let not_hex = get_as_device(&f, &token, "/v1/app/releases/..%2F..%2Fs.db", &[]).await;
    assert_eq!(not_hex.status, StatusCode::NOT_FOUND);

    // withdrawn: offered and served to nobody
    let withdrawn = admin_json(&f, &admin, &format!("/admin/api/releases/{}/withdraw", offer.sha256), json!({})).await;
    assert_eq!(withdrawn.status, StatusCode::OK, "{}", withdrawn.text());
    assert_eq!(f.push(&token, &push_request("1.4.2", vec![])).await.update, None);
    assert_eq!(get_as_device(&f, &token, &offer.url, &[]).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_rollout_reaches_only_its_grids_and_share() {
    let f = fixture().grid("g2", "g2").manager("li", "李娜", Role::Field, None).assign("li", "g2");
    let admin = f.session("boss", Role::Admin);
    let published = publish(&f, &admin, "version=2.0.0&rollout=100&grids=g2", apk(1000, 1)).await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.text());
    let sha = published.json()["sha256"].as_str().unwrap().to_string();
    let zhang = f.device("zhang", "devz");
    let li = f.device("li", "devl");
    assert_eq!(f.push(&zhang, &push_request("1.0.0", vec![])).await.update, None, "g1 is not in the rollout");
    assert!(f.push(&li, &push_request("1.0.0", vec![])).await.update.is_some());

    let none = admin_json(&f, &admin, &format!("/admin/api/releases/{sha}/rollout"), json!({"percent": 0})).await;
    assert_eq!(none.status, StatusCode::OK, "{}", none.text());
    assert_eq!(f.push(&li, &push_request("1.0.0", vec![])).await.update, None, "0 % reaches nobody");
    let bad = admin_json(&f, &admin, &format!("/admin/api/releases/{sha}/rollout"), json!({"percent": 101})).await;
    assert_eq!((bad.status, bad.error().code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"));
}

#[tokio::test]
async fn only_an_admin_from_the_page_publishes_and_only_an_apk() {
    let f = fixture();
    let admin = f.session("boss", Role::Admin);
    let supervisor = f.session("sup", Role::Supervisor);
    let refused = publish(&f, &supervisor, "version=1.5.0", apk(100, 2)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let no_csrf = Request::post("/admin/api/releases?version=1.5.0")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(header::COOKIE, format!("gb_session={}", admin.0))
        .body(Body::from(apk(100, 2)))
        .unwrap();
    assert_eq!(f.send(no_csrf).await.status, StatusCode::FORBIDDEN);
    let not_apk = publish(&f, &admin, "version=1.5.0", b"<html>not a package</html>".to_vec()).await;
    assert_eq!((not_apk.status, not_apk.error().code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"));
    assert!(not_apk.error().message.contains("APK"), "{}", not_apk.text());
    let bad_version = publish(&f, &admin, "version=latest", apk(100, 2)).await;
    assert_eq!(bad_version.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(publish(&f, &admin, "version=1.5.0", apk(100, 2)).await.status, StatusCode::OK);
    let again = publish(&f, &admin, "version=1.5.1", apk(100, 2)).await;
    assert_eq!((again.status, again.error().code.as_str()), (StatusCode::CONFLICT, "exists"), "the same file twice");
    // nothing but the published builds is left in the directory: no part files of refused uploads
    let dir = f.dir.path().join("s.db.releases");
    let files: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(files, vec![format!("{}.apk", hex_sha256(&apk(100, 2)))]);
    // the audit names who published it
    let audit = gridbook_sync_server::SyncStorage::audit_log(f.storage.as_ref(), None, 50).unwrap();
    assert!(audit.iter().any(|a| a.action == "app_release_published" && a.actor == "boss"), "{audit:?}");
}

#[tokio::test]
async fn an_app_below_the_minimum_has_its_push_taken_then_is_told_to_upgrade() {
    let f = fixture();
    let admin = f.session("boss", Role::Admin);
    assert_eq!(publish(&f, &admin, "version=1.6.0&rollout=0", apk(5000, 3)).await.status, StatusCode::OK);
    let set = admin_json(&f, &admin, "/admin/api/min-app-version", json!({"version": "1.5.0"})).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text());
    let token = f.device("zhang", "devold");

    let op = visit(1);
    let refused = push_raw(&f, &token, &push_request("1.4.9", vec![op.clone()])).await;
    assert_eq!(refused.status, StatusCode::UPGRADE_REQUIRED, "{}", refused.text());
    let body = refused.error();
    assert_eq!((body.code.as_str(), body.min_app_version.as_deref()), ("upgrade_required", Some("1.5.0")));
    let update = body.update.expect("the build that meets the minimum, whatever its rollout");
    assert_eq!((update.version.as_str(), update.required), ("1.6.0", true));
    assert!(body.message.contains("升级") && body.message.contains("update"), "{}", body.message);
    // the visit reached the server all the same
    let visits = f.storage.grid_records(gridbook_core::model::EntityKind::Visit, "g1").unwrap();
    assert!(visits.iter().any(|v| v.id == op.entity), "the old app's visit was kept");

    // after the upgrade the same op is a repeat, and the app syncs
    let after: PushResponse = f.push(&token, &push_request("1.6.0", vec![op])).await;
    assert!(matches!(after.results[0].outcome, OpOutcome::AlreadyHad), "{:?}", after.results);
    // a pull that names an old app is refused before any work; one that names none is served
    let pull_old = get_as_device(&f, &token, "/v1/pull?cursor=0", &[(HEADER_APP_VERSION, "1.4.9")]).await;
    assert_eq!(pull_old.status, StatusCode::UPGRADE_REQUIRED);
    let not_a_version = get_as_device(&f, &token, "/v1/pull?cursor=0", &[(HEADER_APP_VERSION, "dev-build")]).await;
    assert_eq!(not_a_version.status, StatusCode::UPGRADE_REQUIRED, "what is not a version meets no minimum");
    assert_eq!(get_as_device(&f, &token, "/v1/pull?cursor=0", &[]).await.status, StatusCode::OK);

    // cleared: every version syncs again
    let cleared = admin_json(&f, &admin, "/admin/api/min-app-version", json!({"version": null})).await;
    assert_eq!(cleared.status, StatusCode::OK);
    assert_eq!(push_raw(&f, &token, &push_request("1.0.0", vec![])).await.status, StatusCode::OK);
    let bad = admin_json(&f, &admin, "/admin/api/min-app-version", json!({"version": "one"})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn what_a_phone_says_of_itself_reaches_the_device_list_and_the_version_spread() {
    let f = fixture();
    let token = f.device("zhang", "dev1");
    let facts = DeviceFacts {
        app_version: "1.4.0".into(),
        device_model: Some("HUAWEI nova 11".into()),
        os_version: Some("Android 14".into()),
        free_storage_bytes: Some(200 << 20),
        last_sync_duration_ms: Some(45_000),
        last_sync_bytes: Some(1_234_567),
        battery_saver: Some(true),
        ..Default::default()
    };
    f.push(&token, &PushRequest { protocol: PROTOCOL_VERSION, facts, ops: vec![] }).await;
    // an overlong model is cut, not refused (refusing would strand the push's ops)
    let other = f.device("zhang", "dev2");
    let long =
        DeviceFacts { app_version: "1.3.0".into(), device_model: Some("型".repeat(5000)), ..Default::default() };
    f.push(&other, &PushRequest { protocol: PROTOCOL_VERSION, facts: long, ops: vec![] }).await;

    let supervisor = f.session("sup", Role::Supervisor);
    let list = f.send(staff_request("GET", "/admin/api/devices", &supervisor).body(Body::empty()).unwrap()).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    let devices = list.json()["devices"].as_array().unwrap().clone();
    let d1 = devices.iter().find(|d| d["device_id"] == "dev1").unwrap();
    assert_eq!((d1["device_model"].as_str(), d1["os_version"].as_str()), (Some("HUAWEI nova 11"), Some("Android 14")));
    assert_eq!((d1["last_sync_bytes"].as_i64(), d1["battery_saver"].as_bool()), (Some(1_234_567), Some(true)));
    assert_eq!((d1["health"]["low_storage"].as_bool(), d1["health"]["slow_sync"].as_bool()), (Some(true), Some(true)));
    let d2 = devices.iter().find(|d| d["device_id"] == "dev2").unwrap();
    assert_eq!(d2["device_model"].as_str().unwrap().chars().count(), 100);
    assert_eq!(d2["health"]["low_storage"], false, "an app that does not say is not flagged");

    let admin = f.session("boss", Role::Admin);
    admin_json(&f, &admin, "/admin/api/min-app-version", json!({"version": "1.4.0"})).await;
    let spread = f.send(staff_request("GET", "/admin/api/releases", &supervisor).body(Body::empty()).unwrap()).await;
    let spread = spread.json();
    assert_eq!(spread["min_app_version"], "1.4.0");
    assert_eq!(
        spread["versions"],
        json!([{"version": "1.4.0", "devices": 1, "below_minimum": false}, {"version": "1.3.0", "devices": 1, "below_minimum": true}])
    );
}
