//! The server's photo policy and the phone's traffic end to end, against the real server on
//! loopback: Wi-Fi only holds photos back on mobile data, the day's mobile-data cap stops the
//! upload at the chunk that would pass it, the facts the phone sends (the day's bytes each way,
//! the photos waiting) reach the back office's device list as sent, and a photo another phone took
//! is fetched when opened, no larger than the cap, into a cache trimmed by size.

use std::sync::Arc;

use gridbook_core::photos::photo_sha256;
use gridbook_core::store::photos::PhotoOrigin;
use gridbook_core::sync::traffic::{china_day, NetworkKind};
use gridbook_core::sync::wire::{PhotoPolicy, MAX_PHOTO_BYTES, PHOTO_CHUNK_BYTES};
use gridbook_core::*;
use gridbook_tests::{Phone, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PASSWORD: &str = "网格后台-2026";

/// Bytes standing in for a prepared photo: they start as a JPEG does (the server refuses an upload
/// that does not), the rest varies with `seed`.
fn photo(seed: u8, len: usize) -> Vec<u8> {
    let mut bytes: Vec<u8> =
        (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).wrapping_shr(13) as u8 ^ seed).collect();
    bytes[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
    bytes
}

async fn server_with(photos: PhotoPolicy) -> TestServer {
    let server = TestServer::start_with(|state| state.policy.photos = Some(photos)).await;
    server.grid_with_manager("g1", "zhang");
    server.supervisor("sup1", PASSWORD);
    // a supervisor sees the devices of the grids assigned to them
    server.storage.assign_grid("sup1", "g1").expect("assign");
    server
}

/// The back office's row of the phone, as the device list answers it.
async fn device_row(server: &TestServer, session: &str) -> serde_json::Value {
    let list: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/admin/api/devices", server.url))
        .header("cookie", format!("gb_session={session}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["devices"].as_array().unwrap().iter().find(|d| d["manager_id"] == "zhang").unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn wifi_only_holds_photos_back_on_mobile_data_and_the_back_office_sees_them_waiting() {
    let policy = PhotoPolicy { over_mobile: false, mobile_bytes_per_day: 0, keep_days: 3 };
    let server = server_with(policy).await;
    let (session, _) = server.staff_session("sup1", PASSWORD).await;
    let phone = server.phone("zhang").await;
    let photos = [photo(1, PHOTO_CHUNK_BYTES + 10), photo(2, 5_000)];
    for p in &photos {
        phone.store.keep_photo(p, PhotoOrigin::Taken).unwrap();
    }
    let waiting_bytes: u64 = photos.iter().map(|p| p.len() as u64).sum();

    phone.engine.set_network(NetworkKind::Mobile);
    let report = phone.sync().await;
    assert_eq!(phone.store.policy().photos(), policy, "the policy came with the sync");
    assert_eq!((report.photos_uploaded, report.photo_bytes_sent), (0, 0));
    let why = report.photos_held_back.expect("the report says why");
    assert!(why.contains("Wi-Fi only") && why.contains("Wi-Fi"), "{why}");
    assert_eq!(phone.store.photos_waiting().unwrap().len(), 2);
    let row = device_row(&server, &session).await;
    assert_eq!((row["photos_waiting"].as_i64(), row["photo_bytes_waiting"].as_u64()), (Some(2), Some(waiting_bytes)));

    // no network: nothing goes either, and the report says so
    phone.engine.set_network(NetworkKind::None);
    let mut r = gridbook_core::sync::photo_upload::PhotoUploadReport::default();
    phone.engine.upload_photos_into(&mut r).await.unwrap();
    assert_eq!(r.chunks_sent, 0);
    assert!(r.held_back.unwrap().contains("no network"));

    phone.engine.set_network(NetworkKind::Wifi);
    let report = phone.sync().await;
    assert_eq!((report.photos_uploaded, report.photo_bytes_sent, report.photos_held_back), (2, waiting_bytes, None));
    assert_eq!(phone.store.day_traffic().unwrap().photo_mobile_bytes, 0, "nothing went over mobile data");
    phone.sync().await;
    let row = device_row(&server, &session).await;
    assert_eq!((row["photos_waiting"].as_i64(), row["photo_bytes_waiting"].as_i64()), (Some(0), Some(0)));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_days_mobile_cap_stops_the_upload_and_the_days_bytes_reach_the_back_office() {
    // two and a half chunks a day: the first photo (two chunks) goes, the second waits
    let cap = (PHOTO_CHUNK_BYTES * 5 / 2) as u64;
    let server = server_with(PhotoPolicy { over_mobile: true, mobile_bytes_per_day: cap, keep_days: 7 }).await;
    let (session, _) = server.staff_session("sup1", PASSWORD).await;
    let phone = server.phone("zhang").await;
    // the policy arrives with the first sync; an app that never said its network is on Wi-Fi
    phone.store.keep_photo(&photo(3, PHOTO_CHUNK_BYTES * 2), PhotoOrigin::Taken).unwrap();
    assert_eq!(phone.sync().await.photos_uploaded, 1);

    let third = phone.store.keep_photo(&photo(5, PHOTO_CHUNK_BYTES * 2), PhotoOrigin::Taken).unwrap();
    let fourth = phone.store.keep_photo(&photo(6, PHOTO_CHUNK_BYTES * 2), PhotoOrigin::Taken).unwrap();
    phone.engine.set_network(NetworkKind::Mobile);
    let report = phone.sync().await;
    assert_eq!((report.photos_uploaded, report.photo_bytes_sent), (1, (PHOTO_CHUNK_BYTES * 2) as u64));
    let why = report.photos_held_back.expect("the cap is named");
    assert!(why.contains(&format!("of {cap} bytes")), "{why}");
    let waiting: Vec<String> = phone.store.photos_waiting().unwrap().into_iter().map(|w| w.sha256).collect();
    assert_eq!(waiting, vec![fourth.clone()]);
    assert!(!waiting.contains(&third));
    assert_eq!(phone.store.day_traffic().unwrap().photo_mobile_bytes, (PHOTO_CHUNK_BYTES * 2) as u64);
    // the same day, still on mobile data: not one more chunk
    let report = phone.sync().await;
    assert_eq!((report.photos_uploaded, report.photo_bytes_sent), (0, 0));
    assert!(report.photos_held_back.is_some());
    // on Wi-Fi the rest goes, and the mobile count stays
    phone.engine.set_network(NetworkKind::Wifi);
    let report = phone.sync().await;
    assert_eq!((report.photos_uploaded, report.photos_held_back), (1, None));
    assert_eq!(phone.store.day_traffic().unwrap().photo_mobile_bytes, (PHOTO_CHUNK_BYTES * 2) as u64);

    // The facts of the next push carry the day's bytes as the phone counted them up to it (the
    // push is the cycle's first request, and every earlier byte was added at the end of its round).
    let before = phone.store.day_traffic().unwrap();
    assert_eq!(before.day, china_day(gridbook_sync_server::now_ms()));
    assert!(before.bytes_sent > (PHOTO_CHUNK_BYTES * 6) as u64, "every photo's chunks and the pushes: {before:?}");
    assert!(before.bytes_received > 0);
    phone.sync().await;
    let row = device_row(&server, &session).await;
    assert_eq!(row["traffic_day"].as_str(), Some(before.day.as_str()));
    assert_eq!(row["bytes_sent_day"].as_u64(), Some(before.bytes_sent));
    assert_eq!(row["bytes_received_day"].as_u64(), Some(before.bytes_received));
    let after = phone.store.day_traffic().unwrap();
    assert!(after.bytes_sent > before.bytes_sent && after.bytes_received > before.bytes_received);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_phone_fetches_a_photo_when_opened_into_a_cache_trimmed_by_size() {
    let server = server_with(PhotoPolicy::default()).await;
    let taker = server.phone("zhang").await;
    let shots: Vec<Vec<u8>> = (0..3).map(|i| photo(10 + i, 40_000 + usize::from(i) * 100)).collect();
    let shas: Vec<String> = shots.iter().map(|p| taker.store.keep_photo(p, PhotoOrigin::Taken).unwrap()).collect();
    assert_eq!(taker.sync().await.photos_uploaded, 3);

    let viewer = server.phone("zhang").await;
    // room for two of them
    viewer.engine.set_photo_cache_bytes(90_000);
    for (sha, bytes) in shas.iter().zip(&shots) {
        assert!(!viewer.store.has_photo(sha).unwrap());
        assert_eq!(&viewer.engine.open_photo(sha).await.unwrap(), bytes);
    }
    // the first opened went when the third came; opened again, it is fetched again
    assert!(!viewer.store.has_photo(&shas[0]).unwrap());
    assert!(viewer.store.has_photo(&shas[1]).unwrap() && viewer.store.has_photo(&shas[2]).unwrap());
    assert!(viewer.store.photos_waiting().unwrap().is_empty(), "a fetched photo is never uploaded back");
    assert_eq!(viewer.engine.open_photo(&shas[0]).await.unwrap(), shots[0]);
    assert!(!viewer.store.has_photo(&shas[1]).unwrap(), "now the least recently opened");
    // a photo the server does not hold is an error, not an empty picture
    assert!(viewer.engine.open_photo(&photo_sha256(b"never taken")).await.is_err());
}

/// A server answering every request with `body` (no length given when `say_length` is false):
/// what a proxy or a broken server might send instead of a photo.
async fn one_answer_server(body: Arc<Vec<u8>>, say_length: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let head = if say_length {
                    format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len())
                } else {
                    "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_string()
                };
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn a_photo_past_the_size_cap_is_refused_with_or_without_its_length() {
    let server = server_with(PhotoPolicy::default()).await;
    let phone: Phone = server.phone("zhang").await;
    let huge = Arc::new(vec![7u8; MAX_PHOTO_BYTES as usize + 1]);
    let sha = photo_sha256(&huge);
    for say_length in [true, false] {
        let url = one_answer_server(huge.clone(), say_length).await;
        let engine =
            SyncEngine::new(phone.store.clone(), SyncConfig { server_url: url, ..phone.config.clone() }).unwrap();
        match engine.open_photo(&sha).await {
            Err(Error::Server { code, .. }) => assert_eq!(code, "too_large", "length given: {say_length}"),
            other => panic!("length given {say_length}: {other:?}"),
        }
        assert!(!phone.store.has_photo(&sha).unwrap());
    }
    // the cap itself is not refused for size: a photo of exactly the cap whose bytes do not
    // match the address asked for is refused for that
    let at_cap = Arc::new(vec![8u8; MAX_PHOTO_BYTES as usize]);
    let url = one_answer_server(at_cap, false).await;
    let engine = SyncEngine::new(phone.store.clone(), SyncConfig { server_url: url, ..phone.config.clone() }).unwrap();
    match engine.open_photo(&sha).await {
        Err(Error::Server { code, .. }) => assert_eq!(code, "hash_mismatch"),
        other => panic!("{other:?}"),
    }
}
