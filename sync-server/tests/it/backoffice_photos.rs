//! Each visit's photos in the back office (issue 20) through the real router, on SQLite or
//! PostgreSQL (GRIDBOOK_TEST_BACKEND): the household page says of each photo whether it arrived
//! (with a thumbnail the server makes once and keeps), is on its way, or is missing with the device
//! that owes it; the full view is audited; staff of another grid see nothing; missing photos are
//! listed per device.

use crate::common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{send, Reply, Server};
use gridbook_core::photos::photo_sha256;
use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::wire::{DeviceFacts, Op, OpAction, OpOutcome, PushRequest, PROTOCOL_VERSION};
use gridbook_core::testing;
use gridbook_core::EntityKind;
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::domain::photos::THUMBNAIL_PX;
use gridbook_sync_server::{now_ms, AppState};
use serde_json::Value;

async fn get(state: &AppState, path: &str, session: &str) -> Reply {
    let req = Request::get(path)
        .header(header::HOST, common::HOST)
        .header(header::COOKIE, format!("gb_session={session}"))
        .body(Body::empty())
        .unwrap();
    send(state, req).await
}

fn op(kind: EntityKind, entity: &str, fields: serde_json::Map<String, Value>, n: u64) -> Op {
    Op {
        id: uuid::Uuid::now_v7(),
        kind,
        entity: entity.into(),
        grid: "g1".into(),
        action: OpAction::Create,
        fields,
        hlc: Hlc::new(now_ms() as u64 + n, 0, "phone_a"),
    }
}

/// A real JPEG of `w`×`h` pixels.
fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&img).unwrap();
    out
}

async fn upload(f: &Server, token: &str, bytes: &[u8]) {
    let sha = photo_sha256(bytes);
    let req = Request::put(format!("/v1/photos/{sha}/chunks/0?size={}", bytes.len()))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(bytes.to_vec()))
        .unwrap();
    let r = f.send(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

struct Seeded {
    arrived: (String, Vec<u8>),
    on_its_way: String,
    missing: String,
}

/// g1 with zhang's phone_a and supervisor sup1; g2 with sup2. Household h1 has a visit of now with
/// two photos (one uploaded, one not) and a visit of two days ago whose photo never came.
async fn seed(f: &Server) -> Seeded {
    let token = f.enrol("zhang", "phone_a").await;
    let arrived = jpeg(800, 600);
    let (a, b, c) = (photo_sha256(&arrived), photo_sha256(b"still on the phone"), photo_sha256(b"never sent"));
    let mut fresh = testing::visit("g1", "h1");
    fresh.manager_id = "zhang".into();
    fresh.arrived_at_ms = now_ms() - 60_000;
    fresh.photos = vec![a.clone(), b.clone()];
    let mut old = testing::visit("g1", "h1");
    old.manager_id = "zhang".into();
    old.arrived_at_ms = now_ms() - 48 * 3_600_000;
    old.photos = vec![c.clone()];
    let h1 = testing::household_n("g1", 1);
    let ops = vec![
        op(EntityKind::Household, "h1", testing::fields_of(&h1).unwrap(), 0),
        op(EntityKind::Visit, "v_fresh", testing::fields_of(&fresh).unwrap(), 1),
        op(EntityKind::Visit, "v_old", testing::fields_of(&old).unwrap(), 2),
    ];
    let facts = DeviceFacts {
        app_version: "2.1.0".into(),
        wall_clock_ms: now_ms(),
        zone_offset_min: 480,
        ..Default::default()
    };
    let answer = f.push(&token, &PushRequest { protocol: PROTOCOL_VERSION, facts, ops }).await;
    for r in &answer.results {
        assert!(matches!(r.outcome, OpOutcome::Applied), "{:?}", r.outcome);
    }
    upload(f, &token, &arrived).await;
    Seeded { arrived: (a, arrived), on_its_way: b, missing: c }
}

fn city() -> Server {
    Server::new()
        .grid("g1", "幸福里网格")
        .grid("g2", "人民路网格")
        .manager("zhang", "张伟", Role::Field, None)
        .assign("zhang", "g1")
        .manager("sup1", "周主管", Role::Supervisor, None)
        .manager("sup2", "吴主管", Role::Supervisor, None)
        .assign("sup1", "g1")
        .assign("sup2", "g2")
}

fn photos_of(page: &Value, visit: &str) -> Vec<(String, String, String)> {
    let line = page["history"].as_array().unwrap().iter().find(|l| l["id"] == visit).unwrap();
    line["photos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap().to_string();
            (s("sha256"), s("state"), s("owed_by"))
        })
        .collect()
}

#[tokio::test]
async fn a_household_page_shows_arrived_photos_and_those_on_their_way_or_missing() {
    let f = city();
    let s = seed(&f).await;
    let (sup1, _) = f.session("sup1", Role::Supervisor);
    let page = get(&f.state, "/admin/api/household?grid=g1&id=h1", &sup1).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let page = page.json();
    let owed = |sha: &str, state: &str| (sha.to_string(), state.to_string(), "phone_a".to_string());
    assert_eq!(photos_of(&page, "v_fresh"), vec![owed(&s.arrived.0, "arrived"), owed(&s.on_its_way, "on_its_way")]);
    assert_eq!(photos_of(&page, "v_old"), vec![owed(&s.missing, "missing")]);

    // a server that waits three days calls the old one on its way still
    let patient = f.state.clone().with_photo_missing_after_ms(72 * 3_600_000);
    let page = get(&patient, "/admin/api/household?grid=g1&id=h1", &sup1).await.json();
    assert_eq!(photos_of(&page, "v_old"), vec![owed(&s.missing, "on_its_way")]);
}

#[tokio::test]
async fn a_thumbnail_is_made_once_and_the_full_view_is_audited_for_the_grid_s_staff_only() {
    let f = city();
    let s = seed(&f).await;
    let (sha, bytes) = s.arrived.clone();
    let (sup1, _) = f.session("sup1", Role::Supervisor);
    let thumb = get(&f.state, &format!("/admin/api/photos/{sha}/thumbnail?grid=g1"), &sup1).await;
    assert_eq!(thumb.status, StatusCode::OK, "{}", thumb.text());
    assert_eq!(thumb.headers.get(header::CONTENT_TYPE).unwrap(), "image/jpeg");
    let small = image::load_from_memory(&thumb.body).unwrap();
    assert_eq!((small.width(), small.height()), (THUMBNAIL_PX, THUMBNAIL_PX * 3 / 4));
    // kept by the blob store: the next request is served the same bytes without making it again
    let kept = f.state.photos.as_ref().unwrap().thumbnail(&sha).unwrap();
    assert_eq!(kept.as_deref(), Some(thumb.body.as_slice()));
    assert_eq!(get(&f.state, &format!("/admin/api/photos/{sha}/thumbnail?grid=g1"), &sup1).await.body, thumb.body);
    assert!(f.storage.audit_log(Some(&sha), 10).unwrap().is_empty(), "a thumbnail is not a reveal");

    let full = get(&f.state, &format!("/admin/api/photos/{sha}?grid=g1"), &sup1).await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.body, bytes);
    let audit = f.storage.audit_log(Some(&sha), 10).unwrap();
    assert!(
        audit.iter().any(|a| a.action == "photo_viewed" && a.actor == "sup1" && a.detail.contains("v_fresh")),
        "{audit:?}"
    );

    // another grid's supervisor: not through their grid, not through ours
    let (sup2, _) = f.session("sup2", Role::Supervisor);
    for grid in ["g1", "g2"] {
        let r = get(&f.state, &format!("/admin/api/photos/{sha}?grid={grid}"), &sup2).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{grid}");
        let r = get(&f.state, &format!("/admin/api/photos/{sha}/thumbnail?grid={grid}"), &sup2).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{grid}");
    }
    // a photo on its way has no thumbnail yet; the answer says so
    let r = get(&f.state, &format!("/admin/api/photos/{}/thumbnail?grid=g1", s.on_its_way), &sup1).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.error().message.contains("照片上传中"), "{}", r.text());
}

#[tokio::test]
async fn missing_photos_are_listed_by_the_device_that_owes_them() {
    let f = city();
    let s = seed(&f).await;
    let (sup1, _) = f.session("sup1", Role::Supervisor);
    let r = get(&f.state, "/admin/api/photos/missing", &sup1).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(body["missing_after_h"], 24);
    let devices = body["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1, "{body}");
    assert_eq!((devices[0]["device_id"].as_str(), devices[0]["count"].as_u64()), (Some("phone_a"), Some(1)));
    let photo = &devices[0]["photos"][0];
    assert_eq!((photo["sha256"].as_str(), photo["fact_id"].as_str()), (Some(s.missing.as_str()), Some("v_old")));
    // another grid's supervisor sees none of it
    let (sup2, _) = f.session("sup2", Role::Supervisor);
    assert_eq!(get(&f.state, "/admin/api/photos/missing", &sup2).await.json()["devices"], serde_json::json!([]));
}

#[tokio::test]
async fn the_visits_export_links_each_photo() {
    let f = city();
    let s = seed(&f).await;
    let (sup1, _) = f.session("sup1", Role::Supervisor);
    let r = get(&f.state, "/admin/api/export/visits?grid=g1&format=csv", &sup1).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let csv = String::from_utf8_lossy(&r.body).to_string();
    assert!(csv.lines().next().unwrap().ends_with("照片"), "{csv}");
    for sha in [&s.arrived.0, &s.on_its_way, &s.missing] {
        assert!(csv.contains(&format!("/admin/api/photos/{sha}?grid=g1")), "{sha}: {csv}");
    }
}

#[tokio::test]
async fn an_export_with_photos_is_the_same_sheet_and_each_photo_under_its_hash_in_a_zip() {
    use std::io::Read;
    let f = city();
    let s = seed(&f).await;
    let (sup1, _) = f.session("sup1", Role::Supervisor);
    let r = get(&f.state, "/admin/api/export/visits/photos?grid=g1&format=csv", &sup1).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers.get(header::CONTENT_TYPE).unwrap(), "application/zip");
    let disposition = r.headers.get(header::CONTENT_DISPOSITION).unwrap().to_str().unwrap().to_string();
    assert!(disposition.contains("-photos.zip"), "{disposition}");
    // every entry's sizes stand in its local header: readable front to back as Java's
    // ZipInputStream reads (it refuses a stored entry with a data descriptor)
    let streamed = gridbook_sync_server::domain::stored_zip::read_local_headers(&r.body).expect("no descriptors");
    assert_eq!(streamed.len(), 3);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(r.body)).expect("a ZIP");
    let mut names: Vec<String> = zip.file_names().map(str::to_string).collect();
    names.sort();
    let sheet = names.iter().find(|n| n.ends_with(".csv")).expect("the sheet").clone();
    assert_eq!(names, ["README.txt".to_string(), format!("photos/{}.jpg", s.arrived.0), sheet.clone()]);
    // unpacked, each photo hashes to its name, and is the phone's bytes
    let mut photo = Vec::new();
    zip.by_name(&format!("photos/{}.jpg", s.arrived.0)).unwrap().read_to_end(&mut photo).unwrap();
    assert_eq!(photo_sha256(&photo), s.arrived.0);
    assert_eq!(photo, s.arrived.1);
    // the sheet is the plain export's, masked the same
    let mut csv = Vec::new();
    zip.by_name(&sheet).unwrap().read_to_end(&mut csv).unwrap();
    let plain = get(&f.state, "/admin/api/export/visits?grid=g1&format=csv", &sup1).await;
    assert_eq!(csv, plain.body);
    // the photos not on the server are named in the README
    let mut readme = String::new();
    zip.by_name("README.txt").unwrap().read_to_string(&mut readme).unwrap();
    assert!(readme.contains(&s.on_its_way) && readme.contains(&s.missing), "{readme}");
    assert!(readme.contains("SHA-256"), "{readme}");
    // audited: the sheet as every export is, and the photos that went with it
    let audit = f.storage.audit_log(Some("g1"), 20).unwrap();
    assert!(
        audit.iter().any(|a| a.action == "export_photos" && a.actor == "sup1" && a.detail.contains("1 photos")),
        "{audit:?}"
    );
    // a date range without the visits: the sheet and the README only
    let r =
        get(&f.state, "/admin/api/export/visits/photos?grid=g1&format=csv&from=2020-01-01&to=2020-01-02", &sup1).await;
    let zip = zip::ZipArchive::new(std::io::Cursor::new(r.body)).expect("a ZIP");
    assert_eq!(zip.len(), 2);
    // another grid's supervisor gets no grid; an archive has no photos to pack
    let (sup2, _) = f.session("sup2", Role::Supervisor);
    let r = get(&f.state, "/admin/api/export/visits/photos?grid=g1&format=csv", &sup2).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = get(&f.state, "/admin/api/export/archives/photos?grid=g1&format=csv", &sup1).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
