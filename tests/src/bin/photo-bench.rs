//! The photo upload benchmark (issue 20, docs/benchmarks.md "Photos (issue 20)"): 100 photos of
//! 200–400 KB from one phone store through the real server binary on loopback, resumable in
//! chunks, against plain copies of the same bytes: one PUT per photo to a bare upload route in this
//! process on the same HTTP stack (axum/hyper, written, fsync'd, renamed: the server's durability),
//! the same PUTs with as many at once as the phone sends photos (`PHOTOS_IN_FLIGHT`), and one GET
//! per photo from the real server. Then 100 more photos through a proxy that cuts
//! connections, until at least 10 cuts happened: bytes resent per cut (target ≤ one chunk).
//!
//! `cargo run --release -p gridbook-tests --bin photo-bench [-- --photos N]`

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::routing::put;
use axum::Router;
use gridbook_core::store::photos::PhotoOrigin;
use gridbook_core::sync::photo_upload::{PhotoUploadReport, PHOTOS_IN_FLIGHT};
use gridbook_core::sync::wire::PHOTO_CHUNK_BYTES;
use gridbook_core::*;
use gridbook_tests::fault_proxy::{FaultMix, FaultProxy};
use gridbook_tests::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SEED: u64 = 2020;

fn photos(rng: &mut StdRng, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            let len = rng.gen_range(200_000..400_000);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            bytes[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
            bytes
        })
        .collect()
}

fn mb_s(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs
}

/// The bare upload: the body written to a temporary file, fsync'd, renamed, the directory fsync'd.
async fn plain_put(State(dir): State<Arc<std::path::PathBuf>>, UrlPath(name): UrlPath<String>, body: Bytes) {
    let dir = dir.clone();
    tokio::task::spawn_blocking(move || {
        let tmp = dir.join(format!("{name}.tmp"));
        let mut f = std::fs::File::create(&tmp).expect("create");
        f.write_all(&body).expect("write");
        f.sync_all().expect("fsync");
        std::fs::rename(&tmp, dir.join(&name)).expect("rename");
        std::fs::File::open(dir.as_path()).expect("dir").sync_all().expect("fsync dir");
    })
    .await
    .expect("join");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.iter().position(|a| a == "--photos").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(100);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("server.db");
    admin_cli(&db, &["create-grid", "--id", "g1", "--name", "一网格"]);
    admin_cli(&db, &["create-manager", "--id", "zhang", "--name", "张伟"]);
    admin_cli(&db, &["assign-grid", "--manager", "zhang", "--grid", "g1"]);
    let server = ServerProcess::start(&db);
    let mut rng = StdRng::seed_from_u64(SEED);

    // 1. chunked, resumable upload through the real server
    let code = admin_cli(&db, &["enrol-code", "--manager", "zhang"]);
    let phone = Phone::enrol(&server.url, code.trim(), Box::new(SystemClock)).await;
    let batch = photos(&mut rng, n);
    let total: u64 = batch.iter().map(|b| b.len() as u64).sum();
    let mut shas = Vec::new();
    for b in &batch {
        shas.push(phone.store.keep_photo(b, PhotoOrigin::Taken).expect("keep"));
    }
    let started = Instant::now();
    let report = phone.engine.upload_photos().await.expect("upload");
    let chunked_s = started.elapsed().as_secs_f64();
    assert_eq!(report.uploaded, n as u64);

    // 2. the same bytes, one plain PUT each, to a bare route on the same stack
    let plain_dir = Arc::new(dir.path().join("plain"));
    std::fs::create_dir_all(plain_dir.as_path()).expect("plain dir");
    let app = Router::new().route("/plain/{name}", put(plain_put)).with_state(plain_dir.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let plain_addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    let http = reqwest::Client::new();
    let started = Instant::now();
    for (i, b) in batch.iter().enumerate() {
        let r = http.put(format!("http://{plain_addr}/plain/{i}")).body(b.clone()).send().await.expect("put");
        assert!(r.status().is_success());
    }
    let plain_s = started.elapsed().as_secs_f64();
    // the same, as many PUTs at once as the phone has photos in flight (the fair comparison for
    // the pipelined upload): lane `k` takes every `PHOTOS_IN_FLIGHT`-th photo from the `k`-th
    let started = Instant::now();
    let lane = |first: usize| {
        let (http, batch) = (http.clone(), &batch);
        async move {
            for (i, b) in batch.iter().enumerate().skip(first).step_by(PHOTOS_IN_FLIGHT) {
                let r = http.put(format!("http://{plain_addr}/plain/p{i}")).body(b.clone()).send().await.expect("put");
                assert!(r.status().is_success());
            }
        }
    };
    futures_util::future::join_all((0..PHOTOS_IN_FLIGHT).map(lane)).await;
    let plain_par_s = started.elapsed().as_secs_f64();

    // 3. the same bytes read back whole from the real server (GET /v1/photos/{sha256}), once the
    // device's request budget (burst 300, 20 a second) has refilled after the upload's requests
    tokio::time::sleep(std::time::Duration::from_secs(15)).await;
    let token = phone.config.token.clone();
    let started = Instant::now();
    for (sha, b) in shas.iter().zip(&batch) {
        let r = http.get(format!("{}/v1/photos/{sha}", server.url)).bearer_auth(&token).send().await.expect("get");
        assert_eq!(r.bytes().await.expect("body").len(), b.len());
    }
    let get_s = started.elapsed().as_secs_f64();

    // 4. cuts: another phone's photos through a proxy that cuts requests and answers
    let code = admin_cli(&db, &["enrol-code", "--manager", "zhang"]);
    let cut_phone = Phone::enrol(&server.url, code.trim(), Box::new(SystemClock)).await;
    let cut_batch = photos(&mut rng, n);
    let cut_total: u64 = cut_batch.iter().map(|b| b.len() as u64).sum();
    for b in &cut_batch {
        cut_phone.store.keep_photo(b, PhotoOrigin::Taken).expect("keep");
    }
    // pass, cut request, cut response, replay, delay, truncate
    let proxy = FaultProxy::start(&server.url, SEED, FaultMix([20, 1, 1, 0, 0, 0])).await.expect("proxy");
    let engine = SyncEngine::new(
        cut_phone.store.clone(),
        SyncConfig { server_url: proxy.url.clone(), ..cut_phone.config.clone() },
    )
    .expect("engine");
    let mut sent = PhotoUploadReport::default();
    let mut rounds = 0;
    while !cut_phone.store.photos_waiting().expect("waiting").is_empty() && rounds < 1000 {
        let c = proxy.counts();
        if c.cut_request + c.cut_response >= 10 {
            proxy.set_mix(FaultMix::CALM);
        }
        let _ = engine.upload_photos_into(&mut sent).await;
        rounds += 1;
    }
    let c = proxy.counts();
    let cuts = c.cut_request + c.cut_response;
    let resent = sent.bytes_sent.saturating_sub(cut_total);

    let mb = total as f64 / 1e6;
    println!("photos: {n}, {mb:.1} MB, chunk {PHOTO_CHUNK_BYTES} bytes");
    println!(
        "chunked upload (real server):   {chunked_s:.2} s  {:.1} MB/s  ({} chunks)",
        mb_s(total, chunked_s),
        report.chunks_sent
    );
    println!("plain PUT per photo (bare route): {plain_s:.2} s  {:.1} MB/s", mb_s(total, plain_s));
    println!("plain GET per photo (real server): {get_s:.2} s  {:.1} MB/s", mb_s(total, get_s));
    println!("plain PUT, {PHOTOS_IN_FLIGHT} at once:        {plain_par_s:.2} s  {:.1} MB/s", mb_s(total, plain_par_s));
    println!("chunked / plain PUT: {:.0} %", 100.0 * plain_s / chunked_s);
    println!("chunked / plain PUT {PHOTOS_IN_FLIGHT} at once: {:.0} %", 100.0 * plain_par_s / chunked_s);
    println!(
        "cuts: {cuts} ({} requests, {} answers) over {rounds} rounds; {} bytes resent for {cut_total} bytes of photos: {:.0} bytes per cut ({:.2} chunks)",
        c.cut_request,
        c.cut_response,
        resent,
        resent as f64 / cuts.max(1) as f64,
        resent as f64 / cuts.max(1) as f64 / PHOTO_CHUNK_BYTES as f64
    );
    assert!(cut_phone.store.photos_waiting().expect("waiting").is_empty(), "photos left after {rounds} rounds");
    drop(server);
}
