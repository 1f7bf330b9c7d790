//! The photo upload channel through the real router: chunks acknowledged one by one, the status
//! telling what is missing after a lost chunk, the photo kept only when its bytes hash to its
//! address, deduplicated for a second phone, fetched whole; wrong sizes, lengths, addresses and
//! tokens refused with their codes. On either backend (GRIDBOOK_TEST_BACKEND): a directory beside
//! the SQLite file, or PostgreSQL's tables, where a second replica resumes what the first took.

use crate::common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{Reply, Server};
use gridbook_core::photos::photo_sha256;
use gridbook_core::sync::wire::{PhotoStatus, MAX_PHOTO_BYTES, PHOTO_CHUNK_BYTES};
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::storage::blobs::DirBlobStore;

/// A server keeping photos where its backend keeps them.
fn fixture() -> Server {
    let f = Server::new().grid("g1", "g1").manager("zhang", "张伟", Role::Field, None).assign("zhang", "g1");
    assert!(f.state.photos.is_some(), "both backends keep photos");
    f
}

/// How many whole copies of the photo and how many chunks of it the backend holds.
fn held(f: &Server, sha: &str) -> (usize, usize) {
    if f.postgres.is_some() {
        let n = |sql: &str| f.count(&format!("{sql} WHERE sha256 = '{sha}'")) as usize;
        return (n("SELECT count(*) FROM photo_blobs"), n("SELECT count(*) FROM photo_chunks"));
    }
    let root = std::path::PathBuf::from(format!("{}.photos", f.sqlite_path().display()));
    let whole = usize::from(root.join("photos").join(&sha[..2]).join(sha).exists());
    let under_way = DirBlobStore::open(&root).unwrap().chunks_under_way().unwrap();
    (whole, under_way.iter().filter(|(s, _, _)| s == sha).count())
}

/// Bytes that start as a JPEG does (what the server checks of chunk 0).
fn photo(len: usize, seed: u8) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed)).collect();
    bytes[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
    bytes
}

fn chunk(bytes: &[u8], i: usize) -> Vec<u8> {
    bytes[i * PHOTO_CHUNK_BYTES..((i + 1) * PHOTO_CHUNK_BYTES).min(bytes.len())].to_vec()
}

async fn put(f: &Server, token: &str, sha: &str, size: usize, index: u32, body: Vec<u8>) -> Reply {
    let req = Request::put(format!("/v1/photos/{sha}/chunks/{index}?size={size}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(body))
        .unwrap();
    f.send(req).await
}

async fn get(f: &Server, token: &str, path: &str) -> Reply {
    let req = Request::get(path).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap();
    f.send(req).await
}

fn status_of(reply: &Reply) -> PhotoStatus {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    serde_json::from_slice(&reply.body).unwrap()
}

#[tokio::test]
async fn a_photo_arrives_in_chunks_resumes_after_a_lost_one_and_is_kept_once() {
    let f = fixture();
    let token = f.enrol("zhang", "phone_a").await;
    let bytes = photo(PHOTO_CHUNK_BYTES * 2 + 1234, 1);
    let (sha, size) = (photo_sha256(&bytes), bytes.len());

    let s = status_of(&get(&f, &token, &format!("/v1/photos/{sha}/status?size={size}")).await);
    assert_eq!((s.chunks, s.missing(), s.complete), (3, vec![0, 1, 2], false));
    // chunk 1 is "lost" on the way: the status says so, and only it is sent again
    status_of(&put(&f, &token, &sha, size, 0, chunk(&bytes, 0)).await);
    status_of(&put(&f, &token, &sha, size, 2, chunk(&bytes, 2)).await);
    let s = status_of(&get(&f, &token, &format!("/v1/photos/{sha}/status?size={size}")).await);
    assert_eq!(s.missing(), vec![1]);
    assert_eq!(get(&f, &token, &format!("/v1/photos/{sha}")).await.status, StatusCode::NOT_FOUND, "not whole yet");
    let s = status_of(&put(&f, &token, &sha, size, 1, chunk(&bytes, 1)).await);
    assert!(s.complete && s.missing().is_empty());

    // another phone: the photo is there already, nothing to send; it fetches it whole
    let other = f.enrol("zhang", "phone_b").await;
    assert!(status_of(&get(&f, &other, &format!("/v1/photos/{sha}/status?size={size}")).await).complete);
    let fetched = get(&f, &other, &format!("/v1/photos/{sha}")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.headers.get(header::CONTENT_TYPE).unwrap(), "image/jpeg");
    assert_eq!(fetched.body, bytes);
    // kept once, and no chunk left behind
    assert_eq!(held(&f, &sha), (1, 0));
}

#[tokio::test]
async fn another_replica_or_a_restarted_server_resumes_an_upload_from_the_next_chunk() {
    let f = fixture();
    let token = f.enrol("zhang", "phone_a").await;
    let bytes = photo(PHOTO_CHUNK_BYTES * 3 + 7, 3);
    let (sha, size) = (photo_sha256(&bytes), bytes.len());
    status_of(&put(&f, &token, &sha, size, 0, chunk(&bytes, 0)).await);
    status_of(&put(&f, &token, &sha, size, 1, chunk(&bytes, 1)).await);
    assert_eq!(held(&f, &sha), (0, 2));

    // the next request lands on another process of the same database (a replica, or this server
    // after a SIGKILL): it knows the two chunks, and a chunk sent again is held once
    let (other, _) = f.replica();
    let url = |p: &str| format!("/v1/photos/{sha}{p}?size={size}");
    let req = |r: axum::http::request::Builder, body: Vec<u8>| {
        r.header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::from(body)).unwrap()
    };
    let s = status_of(&common::send(&other, req(Request::get(url("/status")), vec![])).await);
    assert_eq!(s.missing(), vec![2, 3]);
    status_of(&common::send(&other, req(Request::put(url("/chunks/1")), chunk(&bytes, 1))).await);
    status_of(&common::send(&other, req(Request::put(url("/chunks/2")), chunk(&bytes, 2))).await);
    assert_eq!(held(&f, &sha), (0, 3));
    let s = status_of(&common::send(&other, req(Request::put(url("/chunks/3")), chunk(&bytes, 3))).await);
    assert!(s.complete);
    assert_eq!(held(&f, &sha), (1, 0));
    // the first process serves it whole too
    assert_eq!(get(&f, &token, &format!("/v1/photos/{sha}")).await.body, bytes);
}

#[tokio::test]
async fn wrong_bytes_sizes_and_addresses_are_refused_with_their_codes() {
    let f = fixture();
    let token = f.enrol("zhang", "phone_a").await;
    let bytes = photo(5000, 2);

    // bytes that do not hash to the address: refused, and nothing kept
    let wrong = photo_sha256(b"another photo");
    let r = put(&f, &token, &wrong, bytes.len(), 0, bytes.clone()).await;
    assert_eq!(
        (r.status, r.error().code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch"),
        "{}",
        r.text()
    );
    assert!(r.error().message.contains("不符") && r.error().message.contains("do not hash"));
    assert_eq!(
        status_of(&get(&f, &token, &format!("/v1/photos/{wrong}/status?size=5000")).await).have,
        Vec::<u32>::new()
    );

    let sha = photo_sha256(&bytes);
    // a 50 MB "photo" is refused by its declared size, before any chunk is taken
    let r = put(&f, &token, &sha, 50 * 1024 * 1024, 0, chunk(&photo(PHOTO_CHUNK_BYTES, 0), 0)).await;
    assert_eq!((r.status, r.error().code.as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "too_large"));
    assert!(r.error().message.contains(&MAX_PHOTO_BYTES.to_string()));
    // a chunk of the wrong length, an index past the last, no size
    let r = put(&f, &token, &sha, bytes.len(), 0, bytes[..100].to_vec()).await;
    assert_eq!((r.status, r.error().code.as_str()), (StatusCode::BAD_REQUEST, "bad_body"));
    let r = put(&f, &token, &sha, bytes.len(), 1, bytes.clone()).await;
    assert_eq!((r.status, r.error().code.as_str()), (StatusCode::BAD_REQUEST, "bad_query"));
    let r = get(&f, &token, &format!("/v1/photos/{sha}/status")).await;
    assert_eq!((r.status, r.error().code.as_str()), (StatusCode::BAD_REQUEST, "bad_query"));
    // not an address
    let r = get(&f, &token, "/v1/photos/..%2F..%2Fetc%2Fpasswd").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = put(&f, &token, &sha.to_uppercase(), bytes.len(), 0, bytes.clone()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // no token
    let r = put(&f, "not-a-token", &sha, bytes.len(), 0, bytes.clone()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // a file that is not a JPEG is refused at its first chunk, whatever its hash
    let text = b"%PDF-1.7 not a photo".to_vec();
    let r = put(&f, &token, &photo_sha256(&text), text.len(), 0, text.clone()).await;
    assert_eq!((r.status, r.error().code.as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"));
    assert!(r.error().message.contains("JPEG") && r.error().message.contains("不是照片"));
    assert_eq!(held(&f, &photo_sha256(&text)), (0, 0));
    // and the right bytes are taken whole in one chunk
    assert!(status_of(&put(&f, &token, &sha, bytes.len(), 0, bytes.clone()).await).complete);
}
