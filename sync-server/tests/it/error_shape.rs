//! Every error is `{code, message}` JSON, zh-CN and English, including the refusals that axum's
//! extractors and tower-http's layers make before any handler runs: an unsupported
//! `Content-Encoding`, a path parameter that is not UTF-8, a query that does not parse, a JSON body
//! that does not parse or is not JSON, a method the route lacks, a body over the limit.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use gridbook_core::sync::wire::ErrorBody;
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::domain::password::hash_password;
use gridbook_sync_server::{app, now_ms, AppState, SqliteStorage, SyncStorage, MAX_BODY_BYTES};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn state() -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(SqliteStorage::open(dir.path().join("s.db")).unwrap());
    let hash = hash_password("主管密码2026!").unwrap();
    storage.create_manager("sup1", "王主管", Role::Supervisor, Some(&hash), now_ms()).unwrap();
    (dir, AppState::new(storage))
}

/// `sup1:主管密码2026!` in base64, as HTTP Basic sends it.
const SUP1: &str = "Basic c3VwMTrkuLvnrqHlr4bnoIEyMDI2IQ==";

/// Sends `req`; asserts the answer is a JSON error of `status` and returns it.
async fn error_of(state: &AppState, req: Request<Body>, status: StatusCode) -> (ErrorBody, axum::http::HeaderMap) {
    let what = format!("{} {}", req.method(), req.uri());
    let resp = app(state.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), status, "{what}");
    let headers = resp.headers().clone();
    let kind = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(kind.starts_with("application/json"), "{what}: content type {kind:?}");
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let error: ErrorBody = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{what}: not a JSON error ({e}): {}", String::from_utf8_lossy(&body)));
    assert!(!error.code.is_empty() && !error.message.is_empty(), "{what}: {error:?}");
    (error, headers)
}

/// Whether a message has Chinese in it (zh-CN first, English beside it).
fn has_chinese(message: &str) -> bool {
    message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

#[tokio::test]
async fn an_unsupported_content_encoding_is_415_json() {
    let (_dir, state) = state();
    let req = Request::post("/v1/push")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_ENCODING, "br")
        .body(Body::from(&b"\x1b\x00\x00"[..]))
        .unwrap();
    let (error, _) = error_of(&state, req, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert_eq!(error.code, "unsupported_media_type");
    assert!(has_chinese(&error.message) && error.message.contains("gzip"), "{}", error.message);
}

#[tokio::test]
async fn a_path_parameter_that_is_not_utf8_is_400_json() {
    let (_dir, state) = state();
    let req = Request::get("/v1/verify/%FF%FE?code=x").body(Body::empty()).unwrap();
    let (error, _) = error_of(&state, req, StatusCode::BAD_REQUEST).await;
    assert_eq!(error.code, "bad_request");
    assert!(has_chinese(&error.message), "{}", error.message);
    let req = Request::get("/v1/backoffice/receipts/%C3%28").header(header::AUTHORIZATION, SUP1).body(Body::empty());
    assert_eq!(error_of(&state, req.unwrap(), StatusCode::BAD_REQUEST).await.0.code, "bad_request");
}

#[tokio::test]
async fn a_query_that_does_not_parse_is_400_json() {
    let (_dir, state) = state();
    let req = Request::get("/v1/backoffice/audit?limit=abc").header(header::AUTHORIZATION, SUP1).body(Body::empty());
    let (error, _) = error_of(&state, req.unwrap(), StatusCode::BAD_REQUEST).await;
    assert_eq!(error.code, "bad_request");
    assert!(has_chinese(&error.message) && error.message.contains("limit"), "{}", error.message);
}

#[tokio::test]
async fn json_body_rejections_are_json() {
    let (_dir, state) = state();
    let enrol = |kind: &str, body: &'static str| {
        Request::post("/v1/enrol").header(header::CONTENT_TYPE, kind).body(Body::from(body)).unwrap()
    };
    assert_eq!(
        error_of(&state, enrol("application/json", "{not json"), StatusCode::BAD_REQUEST).await.0.code,
        "malformed_json"
    );
    assert_eq!(
        error_of(&state, enrol("application/json", "{\"protocol\": \"one\"}"), StatusCode::UNPROCESSABLE_ENTITY)
            .await
            .0
            .code,
        "invalid_body"
    );
    assert_eq!(
        error_of(&state, enrol("text/plain", "{}"), StatusCode::UNSUPPORTED_MEDIA_TYPE).await.0.code,
        "content_type"
    );
}

#[tokio::test]
async fn a_method_the_route_lacks_is_405_json_with_allow() {
    let (_dir, state) = state();
    let req = Request::builder().method(Method::DELETE).uri("/v1/push").body(Body::empty()).unwrap();
    let (error, headers) = error_of(&state, req, StatusCode::METHOD_NOT_ALLOWED).await;
    assert_eq!(error.code, "method_not_allowed");
    assert!(has_chinese(&error.message), "{}", error.message);
    assert_eq!(headers.get(header::ALLOW).and_then(|v| v.to_str().ok()), Some("POST"));
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_json() {
    let (_dir, state) = state();
    let req = Request::post("/v1/enrol")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(vec![b' '; MAX_BODY_BYTES + 1]))
        .unwrap();
    assert_eq!(error_of(&state, req, StatusCode::PAYLOAD_TOO_LARGE).await.0.code, "too_large");
}

#[tokio::test]
async fn an_unknown_path_is_404_json() {
    let (_dir, state) = state();
    let req = Request::get("/v1/nowhere").body(Body::empty()).unwrap();
    assert_eq!(error_of(&state, req, StatusCode::NOT_FOUND).await.0.code, "not_found");
}
