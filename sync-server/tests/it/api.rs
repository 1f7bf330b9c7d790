//! The HTTP surface through `tower::ServiceExt::oneshot`: bad input gets a clear 4xx with a JSON
//! `{code, message}`, never a 500; then the same over a real socket.

use crate::common;

use std::io::Write;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{error_of, Server};
use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::wire::{DeviceFacts, EnrolRequest, Op, PushRequest, PROTOCOL_VERSION};
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::http::device_budget::BudgetConfig;
use gridbook_sync_server::{app, now_ms, AppState};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// Grid g1, field manager zhang and his phone dev1, enrolled through the API: the server and the
/// phone's token.
async fn fixture() -> (Server, String) {
    let server = Server::new().grid("g1", "一网格").manager("zhang", "张伟", Role::Field, None).assign("zhang", "g1");
    let token = server.enrol("zhang", "dev1").await;
    (server, token)
}

async fn send(state: &AppState, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let reply = common::send(state, req).await;
    (reply.status, reply.body)
}

fn push(token: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post("/v1/push")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap()
}

fn empty_push(protocol: u32) -> Vec<u8> {
    serde_json::to_vec(&PushRequest { protocol, facts: DeviceFacts::default(), ops: vec![] }).unwrap()
}

#[tokio::test]
async fn a_push_without_or_with_a_wrong_token_is_401() {
    let (f, token) = fixture().await;
    let req = Request::post("/v1/push")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(empty_push(1)))
        .unwrap();
    let (status, body) = send(&f.state, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(error_of(&body).message.contains("Bearer"));
    let (status, _) = send(&f.state, push("not-a-token", empty_push(1))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = send(&f.state, push(&token, empty_push(1))).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn malformed_json_is_400_and_the_wrong_shape_is_422() {
    let (f, token) = fixture().await;
    let (status, body) = send(&f.state, push(&token, "{\"protocol\": 1, ")).await;
    assert_eq!((status, error_of(&body).code.as_str()), (StatusCode::BAD_REQUEST, "malformed_json"));
    let (status, body) = send(&f.state, push(&token, "{\"protocol\": 1, \"ops\": 7}")).await;
    assert_eq!((status, error_of(&body).code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"));
}

#[tokio::test]
async fn a_wrong_protocol_version_is_refused_with_a_clear_message() {
    let (f, token) = fixture().await;
    let (status, body) = send(&f.state, push(&token, empty_push(99))).await;
    let err = error_of(&body);
    assert_eq!((status, err.code.as_str()), (StatusCode::BAD_REQUEST, "unsupported_protocol"));
    assert!(err.message.contains("99"));
    let req = Request::get("/v1/pull?cursor=0&protocol=0")
        .header(header::AUTHORIZATION, format!("Bearer {}", token))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&f.state, req).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_oversized_body_is_413_even_when_gzipped_small() {
    let (f, token) = fixture().await;
    // 20 MB of JSON whitespace compresses to a few kilobytes: the limit applies after inflating
    let mut raw = Vec::from(&b"{\"protocol\": 1, \"facts\": "[..]);
    raw.extend(std::iter::repeat_n(b' ', 20 * 1024 * 1024));
    raw.extend_from_slice(b"{}, \"ops\": []}");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&raw).unwrap();
    let small = gz.finish().unwrap();
    assert!(small.len() < 100_000);
    let mut req = push(&token, small);
    req.headers_mut().insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
    let (status, body) = send(&f.state, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{}", String::from_utf8_lossy(&body));
    assert_eq!(error_of(&body).code, "too_large");
}

#[tokio::test]
async fn bad_pull_queries_and_unknown_paths_get_json_errors() {
    let (f, token) = fixture().await;
    for (uri, status) in [
        ("/v1/pull?cursor=abc", StatusCode::BAD_REQUEST),
        ("/v1/pull?limit=0", StatusCode::BAD_REQUEST),
        ("/v1/pull?limit=99999", StatusCode::BAD_REQUEST),
        ("/v2/pull", StatusCode::NOT_FOUND),
    ] {
        let req =
            Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {}", token)).body(Body::empty()).unwrap();
        let (got, body) = send(&f.state, req).await;
        assert_eq!(got, status, "{uri}");
        error_of(&body);
    }
}

#[tokio::test]
async fn a_device_over_its_request_budget_gets_429_with_retry_after_before_its_body_is_read() {
    let (mut f, token) = fixture().await;
    f.state = f.state.clone().with_device_budget(BudgetConfig { per_second: 1, burst: 3 });
    for _ in 0..3 {
        assert_eq!(send(&f.state, push(&token, empty_push(1))).await.0, StatusCode::OK);
    }
    // a refill of one a second: within a few more requests the budget is spent, whatever the
    // machine's speed; the body is not even read (malformed JSON would be a 400)
    let mut limited = None;
    for _ in 0..5 {
        let resp = app(f.state.clone()).oneshot(push(&token, "{not json")).await.unwrap();
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(resp);
            break;
        }
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    }
    let resp = limited.expect("a device over its budget is refused");
    assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
    let err = error_of(&resp.into_body().collect().await.unwrap().to_bytes());
    assert_eq!(err.code, "rate_limited");
    assert!(err.retry_after_ms.is_some_and(|ms| (1..=1_000).contains(&ms)), "{err:?}");
    assert!(err.message.contains("1 requests a second"), "{}", err.message);

    // a wrong token is still a 401, and another device has a budget of its own
    assert_eq!(send(&f.state, push("not-a-token", empty_push(1))).await.0, StatusCode::UNAUTHORIZED);
    let other = f.enrol("zhang", "dev2").await;
    assert_eq!(send(&f.state, push(&other, empty_push(1))).await.0, StatusCode::OK);
}

#[tokio::test]
async fn an_enrolment_code_works_once() {
    let server = Server::new().manager("li", "李娜", Role::Field, None);
    let code = server.storage.create_enrol_code("li", now_ms(), 3_600_000).unwrap();
    let state = &server.state;
    let enrol = |device: &str, code: &str| {
        let req = EnrolRequest {
            protocol: 1,
            code: code.to_lowercase(),
            device_id: device.into(),
            app_version: "1".into(),
            public_key: None,
        };
        Request::post("/v1/enrol")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(&req).unwrap()))
            .unwrap()
    };
    assert_eq!(send(state, enrol("d1", &code)).await.0, StatusCode::OK);
    let (status, body) = send(state, enrol("d2", &code)).await;
    assert_eq!((status, error_of(&body).code.as_str()), (StatusCode::CONFLICT, "code_used"));
    assert_eq!(send(state, enrol("d3", "AAAAA-BBBBB")).await.0, StatusCode::UNAUTHORIZED);
    let (status, _) = send(state, enrol("bad id with spaces", &code)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn over_a_real_socket_health_and_gzip_responses_work() {
    let (f, token) = fixture().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(gridbook_sync_server::serve(listener, f.state.clone(), async {
        let _ = rx.await;
    }));
    // no automatic inflating, so the test sees what went over the wire
    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    let health: serde_json::Value = client.get(format!("{url}/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let resp = client
        .get(format!("{url}/v1/pull?cursor=0"))
        .bearer_auth(&token)
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // a small answer leaves as it is: setting up gzip would cost more than it saves
    assert_eq!(resp.headers().get(header::CONTENT_ENCODING), None);
    let page: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(page["changes"], serde_json::json!([]));
    // a large one (the answer to a push of 40 ops) is gzip'd
    let visit = gridbook_core::testing::fields_of(&gridbook_core::testing::visit("g1", "h1")).unwrap();
    let ops: Vec<Op> = (0..40u16)
        .map(|i| gridbook_core::testing::visit_op(visit.clone(), Hlc::new(now_ms() as u64, i, "dev1")))
        .collect();
    let body =
        serde_json::to_vec(&PushRequest { protocol: PROTOCOL_VERSION, facts: DeviceFacts::default(), ops }).unwrap();
    let resp = client
        .post(format!("{url}/v1/push"))
        .bearer_auth(&token)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers().get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap()), Some("gzip"));
    let _ = tx.send(());
    server.await.unwrap().unwrap();
}
