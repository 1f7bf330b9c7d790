//! Photos through the store's public API on real files: a prepared photo kept in an encrypted
//! store is not on disk in the clear and reads back whole with the key; a visit's photos are inside
//! the work order the customer signs, so a swapped photo breaks the seal.

use std::path::Path;

use gridbook_core::field::receipts::{self, EvidenceProblem};
use gridbook_core::photos::{prepare_photo, Fix, Stamp};
use gridbook_core::store::encryption::SoftwareVault;
use gridbook_core::store::photos::PhotoOrigin;
use gridbook_core::testing::{self, household_n};
use gridbook_core::*;
use image::{Rgb, RgbImage};

/// Debian's fonts-noto-cjk, installed by `.ci/install-tools` (the receipt image's font).
const NOTO_CJK: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

fn prepared() -> gridbook_core::photos::PreparedPhoto {
    let font = std::fs::read(NOTO_CJK).expect("the CJK font (run .ci/install-tools)");
    // a camera-sized picture with some detail, as JPEG
    let src = RgbImage::from_fn(2000, 1500, |x, y| Rgb([(x % 251) as u8, (y % 241) as u8, ((x ^ y) % 256) as u8]));
    let mut raw = Vec::new();
    src.write_to(&mut std::io::Cursor::new(&mut raw), image::ImageFormat::Jpeg).unwrap();
    let stamp = Stamp {
        taken_at_ms: 1_714_543_380_000,
        manager: "张伟".into(),
        grid: "g1".into(),
        address: "幸福里3栋".into(),
        fix: Some(Fix { lat: 28.2282, lon: 112.9388, accuracy_m: 8.0 }),
    };
    prepare_photo(&raw, &stamp, &font).unwrap()
}

fn holds(path: &Path, needle: &[u8]) -> bool {
    std::fs::read(path).unwrap_or_default().windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_kept_photo_is_encrypted_with_the_store_and_reads_back_whole() {
    let photo = prepared();
    assert!(photo.jpeg.len() > 40_000, "a real photo, {} bytes", photo.jpeg.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let vault = SoftwareVault::generate().unwrap();
    let store = Store::open_sealed(&path, &vault).unwrap();
    let sha = store.keep_photo(&photo.jpeg, PhotoOrigin::Taken).unwrap();
    assert_eq!(sha, photo.sha256);
    let wal = dir.path().join("device.db-wal");
    // pieces of the JPEG: its JFIF header and 32 bytes from its middle
    let middle = &photo.jpeg[photo.jpeg.len() / 2..photo.jpeg.len() / 2 + 32];
    for file in [&path, &wal] {
        assert!(!holds(file, b"JFIF"), "{} holds the JPEG header", file.display());
        assert!(!holds(file, middle), "{} holds the photo's bytes", file.display());
    }
    drop(store);
    let again = Store::open_sealed(&path, &vault).unwrap();
    assert_eq!(again.photo(&sha).unwrap(), Some(photo.jpeg.clone()));
    assert_eq!(again.photos_waiting().unwrap().iter().map(|w| w.sha256.as_str()).collect::<Vec<_>>(), [sha.as_str()]);
}

#[test]
fn a_visits_photos_are_sealed_with_its_work_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.db")).unwrap();
    let h = store.create_household(household_n("g1", 1)).unwrap();
    let key = store.device_key().unwrap();
    let (front, form) = (photos::photo_sha256(b"shop front"), photos::photo_sha256(b"signed form"));
    let mut v = testing::visit("g1", &h.id);
    v.photos = vec![front.clone(), form.clone()];
    let signed = store.record_signed_visit(v, testing::capture("赵老板"), &key, None).unwrap();
    let (v, sig) = (&signed.visit, &signed.signature);
    assert_eq!(store.visit(&v.id).unwrap().map(|s| s.photos), Some(vec![front.clone(), form.clone()]));
    let pk = key.public_key_bytes();
    assert_eq!(receipts::check_visit_signature(v, sig, &pk), Ok(()));
    for photos in [
        vec![front.clone(), photos::photo_sha256(b"another form")],
        vec![form.clone(), front.clone()],
        vec![front.clone()],
        vec![],
    ] {
        let changed = Visit { photos, ..v.clone() };
        assert_eq!(receipts::check_visit_signature(&changed, sig, &pk), Err(EvidenceProblem::DocumentAltered));
    }
    // a reference that is not a photo address is refused before anything is signed
    let mut bad = testing::visit("g1", &h.id);
    bad.photos = vec!["IMG_0001.JPG".into()];
    match store.record_signed_visit(bad, testing::capture("赵老板"), &key, None) {
        Err(Error::Invalid(e)) => assert_eq!(e.field, "photos"),
        other => panic!("{other:?}"),
    }
}
