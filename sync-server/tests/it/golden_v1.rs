//! Protocol version 1 pinned byte for byte, the server's side: the real HTTP surface (through
//! `oneshot`) answers each golden request in tests/golden/v1 with exactly the golden answer, once
//! the values the server chooses itself are normalised (each normalisation is explained where it
//! is made). core/tests/it/golden_v1.rs checks the device's side of the same files.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::wire::{
    DevicePolicy, EnrolResponse, Op, PullPage, PushResponse, ReceiptBlockResponse, WipeMode, WipeReportResponse,
    PATH_ENROL, PATH_PUSH, PATH_RECEIPT_BLOCKS, PATH_WIPE_REPORT,
};
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::storage::records::RecordStorage;
use gridbook_sync_server::{app, now_ms, AppState, SqliteStorage, SyncStorage};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// The enrolment code the golden request carries.
const GOLDEN_CODE: &str = "K3M9Q-7TZ2D";
/// The token the golden enrolment answer carries.
const GOLDEN_TOKEN: &str = "5e1f0c2b9a7d4e6f8a3b1c0d2e4f6a8b9c7d5e3f1a2b4c6d8e0f1a3b5c7d9e2f";
/// The golden answers' server clock: the receipt book's issue, the push's and the pull's receive time.
const GOLDEN_BLOCK_ISSUED_MS: i64 = 1_793_664_060_000;
const GOLDEN_PUSH_MS: i64 = 1_793_674_805_000;
const GOLDEN_PULL_MS: i64 = 1_793_674_806_000;
/// The remote wipe's: when the back office ordered it (given to the server as it is, the time of
/// the order being the back office's), the telling push's and the report's receive times, the
/// generation the answer names.
const GOLDEN_WIPE_ORDERED_MS: i64 = 1_793_676_600_000;
const GOLDEN_WIPE_PUSH_MS: i64 = 1_793_676_665_000;
const GOLDEN_WIPE_REPORT_MS: i64 = 1_793_676_675_000;
const GOLDEN_GENERATION_ID: &str = "9f2c41d07ab35e18";

fn golden(name: &str) -> String {
    // this crate sits in the workspace root, beside tests/
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = root.parent().map(|p| p.join("tests").join("golden").join("v1").join(name)).unwrap_or(root);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Replaces a value the server chose with the golden one. `from` must occur exactly `times`
/// times, so a normalisation can neither hide a missing field nor reach past the one it means.
fn normalise(body: String, from: &str, to: &str, times: usize) -> String {
    assert_eq!(body.matches(from).count(), times, "{from:?} in {body}");
    body.replace(from, to)
}

/// Takes out the receipt profile a push answer or pull page carries since servers have it
/// (docs/sync-protocol.md, "Receipt profile"; pinned in receipt-profile.json): an added field,
/// last, which a v1 phone skips. This server names no seal and no check address.
fn without_receipt_profile(body: String) -> String {
    const KEY: &str = ",\"receipt\":";
    assert_eq!(body.matches(KEY).count(), 1, "one receipt profile: {body}");
    let start = body.find(KEY).unwrap_or_default();
    let end = start + body[start..].find('}').unwrap_or_default() + 1;
    let profile: gridbook_core::sync::wire::ReceiptProfile =
        serde_json::from_str(&body[start + KEY.len()..end]).unwrap();
    assert_eq!(profile.company_name, gridbook_sync_server::http::state::DEFAULT_COMPANY_NAME);
    assert_eq!((profile.seal_sha256, profile.verify_base_url), (None, None));
    assert_eq!(&body[end..], "}", "the receipt profile, last: {body}");
    format!("{}{}", &body[..start], &body[end..])
}

/// Takes out the `generation` and the `policy` a push answer or pull page carries since servers
/// have them (docs/sync-protocol.md, "Restores", "Device policy"): added fields, which a v1 phone
/// skips (`PushResponse` and `PullPage` of the first phones read past unknown fields). They must
/// be there once each, last.
fn without_generation(body: String, generation: &gridbook_core::sync::wire::ServerGeneration) -> String {
    let body = without_receipt_profile(body);
    // the server states its photo policy too (docs/sync-protocol.md, "Photo policy")
    let served = DevicePolicy { photos: Some(Default::default()), ..DevicePolicy::default() };
    let policy = format!(",\"policy\":{}", serde_json::to_string(&served).unwrap());
    let added = format!(",\"generation\":{}{policy}", serde_json::to_string(generation).unwrap());
    assert!(body.ends_with(&format!("{added}}}")), "the generation and the policy, last: {body}");
    normalise(body, &added, "", 1)
}

fn assert_golden(name: &str, answered: &str) {
    let expected = golden(name);
    assert!(answered == expected, "{name}: the server now answers\n{answered}\nwhere protocol v1 is\n{expected}");
}

struct Server {
    _dir: tempfile::TempDir,
    state: AppState,
    code: String,
}

/// The server of the scenario (tests/golden/README.md): grids yuelu-01 (zhangwei's) and
/// yuelu-02 (nobody's here), the back office's import and correction applied, a code issued.
fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(SqliteStorage::open(dir.path().join("server.db")).unwrap());
    storage.create_grid("yuelu-01", "岳麓区麓山网格", now_ms()).unwrap();
    storage.create_grid("yuelu-02", "岳麓区桃花岭网格", now_ms()).unwrap();
    storage.create_manager("zhangwei", "张伟", Role::Field, None, now_ms()).unwrap();
    storage.assign_grid("zhangwei", "yuelu-01").unwrap();
    let setup: Vec<Op> = serde_json::from_str(&golden("setup-backoffice-ops.json")).unwrap();
    let results = storage.apply_backoffice_ops(&setup, now_ms()).unwrap();
    assert_eq!(results.len(), setup.len());
    let code = storage.create_enrol_code("zhangwei", now_ms(), 3_600_000).unwrap();
    Server { _dir: dir, state: AppState::new(storage), code }
}

impl Server {
    async fn send(&self, req: Request<Body>) -> (StatusCode, String) {
        let resp = app(self.state.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, String) {
        let req = Request::get(path.trim()).header(header::AUTHORIZATION, format!("Bearer {token}"));
        self.send(req.body(Body::empty()).unwrap()).await
    }

    async fn post(&self, path: &str, token: Option<&str>, body: String) -> (StatusCode, String) {
        let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(req.body(Body::from(body)).unwrap()).await
    }
}

#[tokio::test]
async fn the_server_answers_every_golden_request_with_the_golden_answer() {
    let s = server();

    // Enrol. The code is one the server issued (random, typed into the phone), put in place of
    // the golden one; the token is random too and shown once, so the golden one stands in for it.
    let request = normalise(golden("enrol-request.json"), GOLDEN_CODE, &s.code, 1);
    let (status, answer) = s.post(PATH_ENROL, None, request.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let token = serde_json::from_str::<EnrolResponse>(&answer).unwrap().token;
    assert_eq!(token.len(), 64);
    assert_golden("enrol-response.json", &normalise(answer, &token, GOLDEN_TOKEN, 1));

    // A receipt book. Its number (SJ000001-) is the server's first book, as on any fresh server;
    // only the issue time is the server's clock.
    let (status, answer) = s.post(PATH_RECEIPT_BLOCKS, Some(&token), golden("receipt-blocks-request.json")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let issued = serde_json::from_str::<ReceiptBlockResponse>(&answer).unwrap().block.issued_at_ms;
    let answer = normalise(
        answer,
        &format!("\"issued_at_ms\":{issued}"),
        &format!("\"issued_at_ms\":{GOLDEN_BLOCK_ISSUED_MS}"),
        1,
    );
    assert_golden("receipt-blocks-response.json", &answer);

    // The push. The server's receive time T is in the answer (`server_time_ms`) and in the
    // measured offset (`clock_offset_ms` = the phone's wall clock − T).
    let request = golden("push-request.json");
    let wall = serde_json::from_str::<serde_json::Value>(&request).unwrap()["facts"]["wall_clock_ms"].as_i64().unwrap();
    let (status, answer) = s.post(PATH_PUSH, Some(&token), request).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let pushed_at = serde_json::from_str::<PushResponse>(&answer).unwrap().server_time_ms;
    let generation = s.state.storage.generation();
    let answer = without_generation(answer, &generation);
    let answer = normalise(
        answer,
        &format!("\"server_time_ms\":{pushed_at},\"clock_offset_ms\":{}", wall - pushed_at),
        &format!("\"server_time_ms\":{GOLDEN_PUSH_MS},\"clock_offset_ms\":{}", wall - GOLDEN_PUSH_MS),
        1,
    );
    assert_golden("push-response.json", &answer);

    // The pull. Besides the page's own `server_time_ms`, the receipt's arrears account carries the
    // push's receive time T: the server took the amount off it at T (`as_of_ms` = T) under its
    // own stamp (T, counter 0, node backoffice) on both fields it wrote.
    let target = golden("pull-request.txt");
    let (status, answer) = s.get(&target, &token).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let pulled_at = serde_json::from_str::<PullPage>(&answer).unwrap().server_time_ms;
    let answer = without_generation(answer, &generation);
    let answer = normalise(
        answer,
        &format!("\"server_time_ms\":{pulled_at}}}"),
        &format!("\"server_time_ms\":{GOLDEN_PULL_MS}}}"),
        1,
    );
    let answer = normalise(answer, &format!("\"as_of_ms\":{pushed_at}"), &format!("\"as_of_ms\":{GOLDEN_PUSH_MS}"), 1);
    let stamp = |ms: i64| format!("\"{}\"", Hlc::new(ms as u64, 0, "backoffice"));
    let answer = normalise(answer, &stamp(pushed_at), &stamp(GOLDEN_PUSH_MS), 2);
    assert_golden("pull-response.json", &answer);

    // An error: the same code a second time. Nothing in it is chosen by the clock or chance.
    let (status, answer) = s.post(PATH_ENROL, None, request_again(&s.code)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_golden("error-code-used.json", &answer);

    // The remote wipe. The back office orders it at the golden time (the order's time is what the
    // report names back, so it is given, not taken from the clock).
    s.state.storage.order_wipe("zhangwei_p1", WipeMode::Retire, "zhuguan", GOLDEN_WIPE_ORDERED_MS).unwrap();
    // The push that tells the phone: besides the receive time, the generation's id is random.
    let request = golden("wipe-push-request.json");
    let wall = serde_json::from_str::<serde_json::Value>(&request).unwrap()["facts"]["wall_clock_ms"].as_i64().unwrap();
    let (status, answer) = s.post(PATH_PUSH, Some(&token), request).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let pushed_at = serde_json::from_str::<PushResponse>(&answer).unwrap().server_time_ms;
    let answer = normalise(
        answer,
        &format!("\"server_time_ms\":{pushed_at},\"clock_offset_ms\":{}", wall - pushed_at),
        &format!("\"server_time_ms\":{GOLDEN_WIPE_PUSH_MS},\"clock_offset_ms\":{}", wall - GOLDEN_WIPE_PUSH_MS),
        1,
    );
    let answer =
        normalise(answer, &format!("\"id\":\"{}\"", generation.id), &format!("\"id\":\"{GOLDEN_GENERATION_ID}\""), 1);
    let answer = without_receipt_profile(answer);
    // the photo part of the policy came after this file (pinned in photo-policy.json): a field a
    // v1 phone skips
    let photos = serde_json::to_string(&gridbook_core::sync::wire::PhotoPolicy::default()).unwrap();
    let answer = normalise(answer, &format!(",\"photos\":{photos}"), "", 1);
    assert_golden("wipe-push-response.json", &answer);
    // Any other request is refused with the order.
    let (status, answer) = s.get(&target, &token).await;
    assert_eq!(status, StatusCode::GONE, "{answer}");
    assert_golden("error-wipe-ordered.json", &answer);
    // The signed report; only the receive time is the server's.
    let (status, answer) = s.post(PATH_WIPE_REPORT, Some(&token), golden("wipe-report-request.json")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let recorded = serde_json::from_str::<WipeReportResponse>(&answer).unwrap().recorded_at_ms;
    let answer = normalise(
        answer,
        &format!("\"recorded_at_ms\":{recorded}"),
        &format!("\"recorded_at_ms\":{GOLDEN_WIPE_REPORT_MS}"),
        1,
    );
    assert_golden("wipe-report-response.json", &answer);
    // From now on the token is a revoked device's.
    let (status, answer) = s.post(PATH_PUSH, Some(&token), golden("wipe-push-request.json")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert!(answer.contains("\"code\":\"revoked\""), "{answer}");
}

/// The golden enrolment request with the server's code, as a second phone would type it.
fn request_again(code: &str) -> String {
    normalise(golden("enrol-request.json"), GOLDEN_CODE, code, 1)
}
