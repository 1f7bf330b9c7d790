//! The server's push path alone, for callgrind: `--encode FILE N` writes N gzip'd pushes of 1,000
//! visit ops each (as sync-bench's ingest sends them); `--run FILE` sends them one after another
//! through the router (`tower::ServiceExt::oneshot`, no socket) to a server on a fresh SQLite
//! file. Running `--run` on files of N and 2N pushes under `valgrind --tool=callgrind` and
//! subtracting gives the server's instructions per op without the set-up.
//!
//!   cargo run --release -p gridbook-tests --bin push-profile -- --encode /tmp/p8.bin 8
//!   valgrind --tool=callgrind target/release/push-profile --run /tmp/p8.bin

use std::io::{Read, Write};
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use gridbook_core::sync::wire::{DeviceFacts, EnrolRequest, Op, PushRequest, PROTOCOL_VERSION};
use gridbook_core::*;
use gridbook_sync_server::cli::admin::{self, AdminCommand};
use gridbook_sync_server::storage::records::RecordStorage;
use gridbook_sync_server::{app, now_ms, AppState, SqliteStorage, SyncStorage};
use tower::ServiceExt;

#[global_allocator]
static ALLOCATOR: gridbook_sync_server::Allocator = gridbook_sync_server::Allocator {};

const OPS_PER_PUSH: usize = 1_000;

fn encode(path: &str, pushes: usize) {
    let mut clock = HlcClock::new("profile1", Box::new(SystemClock));
    let mut out = Vec::new();
    for p in 0..pushes {
        let ops: Vec<Op> = (0..OPS_PER_PUSH)
            .map(|i| {
                let visit = testing::visit("g1", &testing::workload_household_id(p * OPS_PER_PUSH + i));
                testing::visit_op(testing::fields_of(&visit).expect("fields"), clock.now())
            })
            .collect();
        let json = serde_json::to_vec(&PushRequest { protocol: PROTOCOL_VERSION, facts: DeviceFacts::default(), ops })
            .expect("json");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&json).expect("gzip");
        let body = gz.finish().expect("gzip");
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(&body);
    }
    std::fs::write(path, out).expect("write");
}

async fn run(path: &str) {
    let mut bytes = Vec::new();
    std::fs::File::open(path).expect("open").read_to_end(&mut bytes).expect("read");
    let dir = tempfile::tempdir().expect("dir");
    let storage = Arc::new(SqliteStorage::open(dir.path().join("server.db")).expect("db"));
    storage.create_grid("g1", "g1", now_ms()).expect("grid");
    storage
        .create_manager("zhang", "张", gridbook_sync_server::domain::auth::Role::Field, None, now_ms())
        .expect("manager");
    storage.assign_grid("zhang", "g1").expect("assign");
    // the households the visits name (a pushed record names one the server holds)
    storage.apply_backoffice_ops(&testing::workload_households("g1").expect("households"), now_ms()).expect("seed");
    let code =
        admin::run(storage.as_ref(), AdminCommand::EnrolCode { manager: "zhang".into(), valid_hours: 1 }, now_ms())
            .expect("code");
    let req = EnrolRequest {
        protocol: PROTOCOL_VERSION,
        code,
        device_id: "profile1".into(),
        app_version: "p".into(),
        public_key: None,
    };
    let token = storage.enrol(&req, now_ms()).expect("enrol").token;
    let router = app(AppState::new(storage.clone()));
    let mut at = 0;
    let mut pushes = 0;
    while at + 8 <= bytes.len() {
        let len = u64::from_le_bytes(bytes[at..at + 8].try_into().expect("len")) as usize;
        let body = bytes[at + 8..at + 8 + len].to_vec();
        at += 8 + len;
        let request = Request::post("/v1/push")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .header("accept-encoding", "gzip")
            .body(Body::from(body))
            .expect("request");
        let response = router.clone().oneshot(request).await.expect("response");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        if !status.is_success() {
            let mut text = String::new();
            let _ = flate2::read::GzDecoder::new(&body[..]).read_to_string(&mut text);
            panic!("push: {status} {text}");
        }
        pushes += 1;
    }
    println!("pushes {pushes}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match argv.first().map(String::as_str) {
        Some("--encode") => encode(&argv[1], argv[2].parse().expect("pushes")),
        Some("--run") => run(&argv[1]).await,
        _ => eprintln!("usage: push-profile --encode FILE N | --run FILE"),
    }
}
