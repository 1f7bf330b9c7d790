//! The served contract: `GET /v1/openapi.json` is valid JSON naming every sync path and every wire
//! type and record kind, and docs/openapi.json is exactly what the server serves (regenerate it with
//! `cargo run -p gridbook-sync-server -- openapi > docs/openapi.json`, or GRIDBOOK_WRITE_DOCS=1 on
//! this test).

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use gridbook_core::model::EntityKind;
use gridbook_core::sync::contract::record_schema;
use gridbook_sync_server::{app, AppState, SqliteStorage};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

async fn served() -> (String, Value) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(SqliteStorage::open(dir.path().join("s.db")).unwrap());
    let req = Request::get("/v1/openapi.json").body(Body::empty()).unwrap();
    let resp = app(AppState::new(storage)).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
    let text = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    let doc: Value = serde_json::from_str(&text).expect("the served document is JSON");
    (text, doc)
}

#[tokio::test]
async fn the_served_document_names_every_sync_path_and_wire_type() {
    let (_, doc) = served().await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/health", "get"),
        ("/v1/enrol", "post"),
        ("/v1/push", "post"),
        ("/v1/pull", "get"),
        ("/v1/snapshot-file", "get"),
        ("/v1/receipt-blocks", "post"),
        ("/v1/verify/{receipt_no}", "get"),
        ("/v1/openapi.json", "get"),
    ] {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is missing");
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "EnrolRequest",
        "EnrolResponse",
        "PushRequest",
        "DeviceFacts",
        "Op",
        "OpAction",
        "PushResponse",
        "OpResult",
        "OpOutcome",
        "RejectCode",
        "EntityState",
        "Removal",
        "SnapshotFileFacts",
        "ReceiptBlockRequest",
        "ReceiptBlockResponse",
        "ReceiptBlock",
        "VerifyResponse",
        "ErrorBody",
        "Hlc",
        "EntityKind",
    ] {
        assert!(schemas.contains_key(name), "schema {name} is missing");
    }
    assert!(schemas.keys().any(|k| k.starts_with("PullPage")), "no PullPage schema");
    // every record kind, each of its fields
    for kind in EntityKind::ALL {
        let (name, _) = record_schema(kind);
        let props = schemas[&name]["properties"].as_object().unwrap_or_else(|| panic!("{name} has no properties"));
        for f in kind.fields().iter().filter(|f| f.name != "deleted") {
            assert!(props.contains_key(f.name), "{name}.{} is missing", f.name);
        }
    }
    // the pull's limit range is the one the handler enforces
    let limit = doc["paths"]["/v1/pull"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .expect("a limit parameter")
        .clone();
    assert_eq!((limit["schema"]["minimum"].as_i64(), limit["schema"]["maximum"].as_i64()), (Some(1), Some(10_000)));
    let kinds: Vec<&str> = schemas["EntityKind"]["enum"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(kinds, EntityKind::ALL.map(EntityKind::as_str).to_vec());
}

#[tokio::test]
async fn docs_openapi_json_is_what_the_server_serves() {
    let (text, _) = served().await;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    if std::env::var_os("GRIDBOOK_WRITE_DOCS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "docs/openapi.json differs from what the server serves; regenerate it with \
         `cargo run -p gridbook-sync-server -- openapi > docs/openapi.json`"
    );
}
