//! Enrolment's identity rules through the HTTP surface: an enrolled device id is never enrolled
//! again (another phone cannot take it over with a fresh code), and device ids follow the rule the
//! clock stamps use, so every enrolled device can push.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::wire::{DeviceFacts, EnrolRequest, EnrolResponse, ErrorBody, PushRequest, PROTOCOL_VERSION};
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::storage::records::RecordStorage;
use gridbook_sync_server::{app, now_ms, AppState, SqliteStorage, SyncStorage};
use http_body_util::BodyExt;
use tower::ServiceExt;

const KEY_A: &str = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";
const KEY_B: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

struct City {
    dir: tempfile::TempDir,
    state: AppState,
}

fn city() -> City {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(SqliteStorage::open(dir.path().join("s.db")).unwrap());
    storage.create_grid("g1", "一网格", now_ms()).unwrap();
    for (id, name) in [("zhang", "张伟"), ("li", "李娜")] {
        storage.create_manager(id, name, Role::Field, None, now_ms()).unwrap();
        storage.assign_grid(id, "g1").unwrap();
    }
    // the household the pushed visits name
    storage.apply_backoffice_ops(&[gridbook_core::testing::household_op("g1", "h1").unwrap()], now_ms()).unwrap();
    City { state: AppState::new(storage), dir }
}

async fn send(state: &AppState, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let resp = app(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    (status, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

async fn enrol(city: &City, manager: &str, device_id: &str, key: &str) -> (StatusCode, Vec<u8>) {
    let code = city.state.storage.create_enrol_code(manager, now_ms(), 3_600_000).unwrap();
    let req = EnrolRequest {
        protocol: PROTOCOL_VERSION,
        code,
        device_id: device_id.into(),
        app_version: "1".into(),
        public_key: Some(key.into()),
    };
    send(
        &city.state,
        Request::post("/v1/enrol")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(&req).unwrap()))
            .unwrap(),
    )
    .await
}

/// Pushes one op stamped by `device_id` with its token: the status of the whole request and the
/// op's outcome.
async fn push_one(city: &City, token: &str, device_id: &str) -> (StatusCode, String) {
    let visit = gridbook_core::testing::fields_of(&gridbook_core::testing::visit("g1", "h1")).unwrap();
    let op = gridbook_core::testing::visit_op(visit, Hlc::new(now_ms() as u64, 0, device_id));
    let body = PushRequest { protocol: PROTOCOL_VERSION, facts: DeviceFacts::default(), ops: vec![op] };
    let (status, body) = send(
        &city.state,
        Request::post("/v1/push")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap(),
    )
    .await;
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    (status, answer["results"][0]["outcome"].as_str().unwrap_or("").to_string())
}

fn error_code(body: &[u8]) -> String {
    serde_json::from_slice::<ErrorBody>(body).unwrap().code
}

fn registered_keys(city: &City, device_id: &str) -> (String, Vec<String>) {
    let db = rusqlite::Connection::open(city.dir.path().join("s.db")).unwrap();
    let key = db.query_row("SELECT public_key FROM devices WHERE id = ?1", [device_id], |r| r.get(0)).unwrap();
    let mut all = db.prepare("SELECT public_key FROM device_keys WHERE device_id = ?1 ORDER BY 1").unwrap();
    let all = all.query_map([device_id], |r| r.get(0)).unwrap().collect::<Result<Vec<String>, _>>().unwrap();
    (key, all)
}

#[tokio::test]
async fn an_enrolled_device_id_is_never_enrolled_again_and_the_real_phone_keeps_working() {
    let city = city();
    let (status, body) = enrol(&city, "zhang", "phone1", KEY_A).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let real: EnrolResponse = serde_json::from_slice(&body).unwrap();

    // a fresh code of the same manager, and of another, with the real phone's id and another key
    for manager in ["zhang", "li"] {
        let (status, body) = enrol(&city, manager, "phone1", KEY_B).await;
        assert_eq!((status, error_code(&body).as_str()), (StatusCode::CONFLICT, "device_taken"), "{manager}");
    }
    // the same phone asking again is refused too: an id is enrolled once
    let (status, body) = enrol(&city, "zhang", "phone1", KEY_A).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::CONFLICT, "device_taken"));

    // the real phone's token and key are untouched: it still pushes, and only its key is registered
    assert_eq!(push_one(&city, &real.token, "phone1").await, (StatusCode::OK, "applied".to_string()));
    assert_eq!(registered_keys(&city, "phone1"), (KEY_A.to_string(), vec![KEY_A.to_string()]));
}

#[tokio::test]
async fn a_device_id_is_enrolled_only_in_the_form_its_stamps_parse_with() {
    let city = city();
    let dashed = "0c7d9f0e-3b2a-4c5d-8e9f-00112233aabb";
    let (status, body) = enrol(&city, "zhang", dashed, KEY_A).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"));
    assert!(format!("0000000000010000-{dashed}").parse::<Hlc>().is_err());
    for bad in ["", "a b", "设备1", &"a".repeat(65)] {
        assert_eq!(enrol(&city, "zhang", bad, KEY_A).await.0, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
    }

    // the same UUID without its dashes enrols, and its stamps are accepted
    let simple = dashed.replace('-', "");
    let (status, body) = enrol(&city, "zhang", &simple, KEY_A).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let enrolled: EnrolResponse = serde_json::from_slice(&body).unwrap();
    assert_eq!(push_one(&city, &enrolled.token, &simple).await, (StatusCode::OK, "applied".to_string()));
}
