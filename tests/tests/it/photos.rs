//! Photos over a bad network to the real server binary on 127.0.0.1: two phones each keep 25
//! photos (2–3 chunks each) and upload them through a proxy that cuts requests and answers,
//! replays, delays and truncates, while the server is SIGKILLed twice and restarted on its port.
//! Every photo arrives whole under its hash, nothing is left half-stored, and resuming never
//! restarts a photo: the chunk bytes sent are at most the photos' sizes plus, per failed round,
//! one chunk for each photo in flight. Fixed seed.

use std::sync::Arc;

use gridbook_core::photos::photo_sha256;
use gridbook_core::store::photos::PhotoOrigin;
use gridbook_core::sync::photo_upload::{PhotoUploadReport, PHOTOS_IN_FLIGHT};
use gridbook_core::sync::wire::PHOTO_CHUNK_BYTES;
use gridbook_core::*;
use gridbook_tests::fault_proxy::{FaultMix, FaultProxy};
use gridbook_tests::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const PHOTOS_PER_PHONE: usize = 25;
const SEED: u64 = 20;
/// Upload rounds the two phones may need before the test gives up.
const ROUNDS: usize = 400;

fn setup(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let db = dir.join("server.db");
    admin_cli(&db, &["create-grid", "--id", "g1", "--name", "一网格"]);
    admin_cli(&db, &["create-manager", "--id", "zhang", "--name", "张伟"]);
    admin_cli(&db, &["assign-grid", "--manager", "zhang", "--grid", "g1"]);
    let code = admin_cli(&db, &["enrol-code", "--manager", "zhang"]);
    (db, code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_photos_from_two_phones_arrive_whole_through_cuts_and_two_server_kills() {
    let dir = tempfile::tempdir().unwrap();
    let (db, code) = setup(dir.path());
    let mut server = ServerProcess::start(&db);
    let addr = server.url.trim_start_matches("http://").to_string();
    let code_b = admin_cli(&db, &["enrol-code", "--manager", "zhang"]);
    let proxy = FaultProxy::start(&server.url, SEED, FaultMix::STORMY).await.expect("proxy");
    let mut rng = StdRng::seed_from_u64(SEED);

    let mut phones = Vec::new();
    let mut expected: Vec<(String, Vec<u8>)> = Vec::new();
    for code in [&code, &code_b] {
        let phone = Phone::enrol(&server.url, code.trim(), Box::new(SystemClock)).await;
        for _ in 0..PHOTOS_PER_PHONE {
            let len = rng.gen_range(PHOTO_CHUNK_BYTES + 1..PHOTO_CHUNK_BYTES * 3);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            // the server takes only what starts as a JPEG does
            bytes[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
            let sha = phone.store.keep_photo(&bytes, PhotoOrigin::Taken).unwrap();
            expected.push((sha, bytes));
        }
        let engine = Arc::new(
            SyncEngine::new(phone.store.clone(), SyncConfig { server_url: proxy.url.clone(), ..phone.config.clone() })
                .unwrap(),
        );
        phones.push((phone, engine));
    }
    let total_bytes: u64 = expected.iter().map(|(_, b)| b.len() as u64).sum();

    let mut sent = PhotoUploadReport::default();
    let mut failed_rounds = 0u64;
    let mut kills = 0;
    for round in 0..ROUNDS {
        if phones.iter().all(|(p, _)| p.store.photos_waiting().unwrap().is_empty()) {
            break;
        }
        // the two phones upload at once
        let (a, b) = (phones[0].1.clone(), phones[1].1.clone());
        let (ra, rb) = tokio::join!(
            async move {
                let mut r = PhotoUploadReport::default();
                let outcome = a.upload_photos_into(&mut r).await;
                (r, outcome)
            },
            async move {
                let mut r = PhotoUploadReport::default();
                let outcome = b.upload_photos_into(&mut r).await;
                (r, outcome)
            }
        );
        for (r, outcome) in [ra, rb] {
            sent.chunks_sent += r.chunks_sent;
            sent.bytes_sent += r.bytes_sent;
            assert!(r.refused.is_empty(), "round {round}: refused {:?}", r.refused);
            if outcome.is_err() {
                failed_rounds += 1;
            }
        }
        // SIGKILL twice, early on, and restart on the same port (the proxy forwards there)
        if (round == 2 || round == 6) && kills < 2 {
            server.kill();
            kills += 1;
            // the phones meet the dead server once at least
            for (_, engine) in &phones {
                let mut r = PhotoUploadReport::default();
                if engine.upload_photos_into(&mut r).await.is_err() {
                    failed_rounds += 1;
                }
                sent.bytes_sent += r.bytes_sent;
                sent.chunks_sent += r.chunks_sent;
            }
            server = ServerProcess::start_at(&db, &addr);
        }
    }
    assert_eq!(kills, 2);
    for (phone, _) in &phones {
        assert!(phone.store.photos_waiting().unwrap().is_empty(), "photos still waiting after {ROUNDS} rounds");
    }
    let counts = proxy.counts();
    assert!(counts.cut_request + counts.cut_response + counts.truncate > 0, "the proxy cut nothing: {counts:?}");
    assert!(failed_rounds > 0, "no round failed");

    // every photo is on the server whole, under its hash; no upload is left half-stored
    let root = std::path::PathBuf::from(format!("{}.photos", db.display()));
    for (sha, bytes) in &expected {
        let on_disk = std::fs::read(root.join("photos").join(&sha[..2]).join(sha)).expect("photo on the server");
        assert_eq!(photo_sha256(&on_disk), *sha);
        assert_eq!(&on_disk, bytes);
    }
    assert_eq!(std::fs::read_dir(root.join("parts")).unwrap().count(), 0, "chunks left behind");
    assert_eq!(std::fs::read_dir(root.join("tmp")).unwrap().count(), 0, "temporary files left behind");

    // never restarted from zero: at most one chunk more than the photos per photo in flight in a
    // failed round (each cut request costs the chunk it carried, no more)
    let bound = total_bytes + failed_rounds * (PHOTOS_IN_FLIGHT * PHOTO_CHUNK_BYTES) as u64;
    assert!(
        sent.bytes_sent <= bound,
        "sent {} bytes for {total_bytes} bytes of photos with {failed_rounds} failed rounds (bound {bound})",
        sent.bytes_sent
    );
    assert!(sent.bytes_sent >= total_bytes);
    drop(server);
}
