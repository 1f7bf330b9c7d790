//! The customer's copy of a receipt from the store, on real SQLite: the collector's name and
//! staff number and the billing months are filled in, signed (receipt document version 2) and
//! printed; the payer and the account come from the store, masked; the company, seal and
//! verification address come from the branding the app passes (or the enrolled server).

use gridbook_core::evidence::{self, qr};
use gridbook_core::field::receipts::{self, billing_months_owed};
use gridbook_core::testing::{self, household_n};
use gridbook_core::*;

/// A store with a household, an account owing 300 yuan two months as of 2023-11-15 (Beijing),
/// and one receipt book.
fn ready() -> (tempfile::TempDir, Store, Household, String) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.db")).unwrap();
    let h = store.create_household(household_n("g1", 1)).unwrap();
    let acc = testing::seed_account(&store, "g1", &h.id, 30_000).unwrap();
    store.add_receipt_block(&testing::receipt_block("SJ000001-")).unwrap();
    (dir, store, h, acc)
}

fn seal_png() -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, 4, 4);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().unwrap();
    w.write_image_data(&[190, 20, 20].repeat(16)).unwrap();
    w.finish().unwrap();
    out
}

#[test]
fn billing_months_are_the_months_before_the_debts_date() {
    // 2026-11-02 10:00 Beijing
    let as_of = 1_793_584_800_000;
    assert_eq!(billing_months_owed(3, as_of, 480), "2026-08/2026-10");
    assert_eq!(billing_months_owed(1, as_of, 480), "2026-10");
    assert_eq!(billing_months_owed(12, as_of, 480), "2025-11/2026-10");
    assert_eq!(billing_months_owed(0, as_of, 480), "");
    // 2026-01-01 01:00 Beijing is still 2025-12-31 in UTC: the zone decides the month
    let new_year = 1_767_200_400_000;
    assert_eq!(billing_months_owed(1, new_year, 480), "2025-12");
    assert_eq!(billing_months_owed(1, new_year, 0), "2025-11");
    // far outside the years a receipt prints: left to the collector
    assert_eq!(billing_months_owed(1200, as_of, 480), "");
    assert_eq!(billing_months_owed(1, i64::MAX, 480), "");
}

#[test]
fn the_collector_and_the_months_are_signed_and_printed_with_the_payer_masked() {
    let (_d, store, h, acc) = ready();
    store.set_collector_profile(&CollectorProfile { name: " 张伟 ".into(), staff_no: "HN0731".into() }).unwrap();
    assert_eq!(store.collector_profile().unwrap(), CollectorProfile { name: "张伟".into(), staff_no: "HN0731".into() });
    let key = store.device_key().unwrap();
    let signed =
        store.record_signed_receipt(testing::receipt("g1", &acc, &h.id, ""), testing::capture("王芳"), &key).unwrap();
    let r = &signed.receipt;
    assert_eq!((r.collector_name.as_str(), r.collector_staff_no.as_str()), ("张伟", "HN0731"));
    assert_eq!(r.billing_months, "2023-09/2023-10", "two months overdue as of 2023-11-15");
    assert_eq!(store.receipt(&r.id).unwrap().unwrap(), *r, "kept as recorded");

    // signed: version 2, and a changed staff number no longer verifies
    assert_eq!(receipts::receipt_document(r).version(), 2);
    let pk = key.public_key_bytes();
    assert_eq!(receipts::check_receipt_signature(r, &signed.signature, &pk), Ok(()));
    let altered = Receipt { collector_staff_no: "HN0000".into(), ..r.clone() };
    assert!(receipts::check_receipt_signature(&altered, &signed.signature, &pk).is_err());

    // printed: the branding, the payer and the account masked, months, collector, QR link
    let branding = ReceiptBranding {
        company_name: "中国电信长沙分公司".into(),
        seal_png: Some(seal_png()),
        verify_base_url: Some("https://gb.example".into()),
    };
    let copy = store.receipt_copy(&r.id, &branding).unwrap();
    let link = format!("https://gb.example/verify?no={}&code={}", r.receipt_no, signed.verification_code);
    assert_eq!(copy.verify_url.as_deref(), Some(link.as_str()));
    let account = store.arrears_account(&acc).unwrap().unwrap();
    let surname: String = h.customer_name.chars().take(1).collect();
    for needle in [
        "<h1>中国电信长沙分公司</h1>".to_string(),
        "data:image/png;base64,".to_string(),
        format!("缴费人 Payer</th><td>{}</td>", mask::name(&h.customer_name)),
        format!("账号 Account No.</th><td>{}</td>", mask::account(&account.account_no)),
        format!("业务号码 Service No.</th><td>{}</td>", mask::phone(&account.service_number)),
        "缴费月份 Billing months</th><td>2023-09 至 to 2023-10（2 个月 months）</td>".to_string(),
        "人民币壹佰贰拾捌元整".to_string(),
        "找零 Change</th><td>¥72.00".to_string(),
        "收款人 Collector</th><td>张伟（工号 Staff No. HN0731）</td>".to_string(),
        link.replace('&', "&amp;"),
    ] {
        assert!(copy.html.contains(&needle), "missing {needle}");
    }
    assert!(mask::name(&h.customer_name).starts_with(&surname));
    for secret in [&h.customer_name, &account.account_no, &account.service_number] {
        assert!(!copy.html.contains(secret.as_str()), "{secret} printed in full");
    }

    // the same copy as one image (and so on the printer): its QR code is the link
    let font = std::fs::read("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
        .expect("the CJK test font (.ci/install-tools installs fonts-noto-cjk)");
    let png = store.receipt_copy_image(&r.id, &branding, &font).unwrap();
    let (w, h_px, px) = evidence::escpos::decode_gray_png(&png).unwrap();
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w as usize, h_px as usize, |x, y| px[y * w as usize + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1);
    assert_eq!(grids[0].decode().unwrap().1, link);

    // a seal that is not a PNG is the seal's fault, not the receipt's
    let bad = ReceiptBranding { seal_png: Some(b"GIF89a".to_vec()), ..branding.clone() };
    match store.receipt_copy(&r.id, &bad) {
        Err(Error::Invalid(e)) => assert_eq!(e.field, "seal_png"),
        other => panic!("{other:?}"),
    }
    // not enrolled and no address given: no QR code; an empty address: none either
    assert_eq!(store.receipt_printout(&r.id, "中国电信").unwrap().verify_url, None);
    let none = ReceiptBranding { verify_base_url: Some(String::new()), ..branding };
    assert!(!store.receipt_copy(&r.id, &none).unwrap().html.contains("/verify?"));
    assert_eq!(qr::VERIFY_PAGE_PATH, "/verify");
}

#[test]
fn a_receipt_without_profile_or_months_stays_version_1() {
    let (_d, store, h, _) = ready();
    // an account not overdue any month: nothing to fill
    let mut account = testing::account("g1", &h.id, 30_000);
    account.months_overdue = 0;
    let acc = testing::seed_this_account(&store, &account).unwrap();
    let key = store.device_key().unwrap();
    let signed =
        store.record_signed_receipt(testing::receipt("g1", &acc, &h.id, ""), testing::capture("王芳"), &key).unwrap();
    let doc = receipts::receipt_document(&signed.receipt);
    assert_eq!(doc.version(), 1);
    assert!(String::from_utf8(doc.canonical_bytes()).unwrap().starts_with("gridbook-receipt/1\n"));
    let op = store.pending_ops(10).unwrap().into_iter().find(|o| o.kind == EntityKind::Receipt).unwrap();
    for absent in ["billing_months", "collector_name", "collector_staff_no"] {
        assert!(!op.fields.contains_key(absent), "{absent} sent empty");
    }
    // the copy names the collector by id, as before
    let copy = store.receipt_printout(&signed.receipt.id, "中国电信").unwrap();
    assert!(copy.html.contains("收款人 Collector</th><td>mgr-1</td>"), "{}", copy.html);
}

#[test]
fn a_profile_that_cannot_be_printed_is_refused() {
    let (_d, store, _, _) = ready();
    for (profile, field) in [
        (CollectorProfile { name: "张".repeat(51), staff_no: String::new() }, "collector_name"),
        (CollectorProfile { name: "张伟".into(), staff_no: "HN 0731".into() }, "collector_staff_no"),
        (CollectorProfile { name: "张伟".into(), staff_no: "9".repeat(33) }, "collector_staff_no"),
    ] {
        match store.set_collector_profile(&profile) {
            Err(Error::Invalid(e)) => assert_eq!(e.field, field),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(store.collector_profile().unwrap(), CollectorProfile::default());
    // a receipt whose months are not months is refused before anything is written
    let (_d2, store, h, acc) = ready();
    let key = store.device_key().unwrap();
    let bad = Receipt { billing_months: "2026-13".into(), ..testing::receipt("g1", &acc, &h.id, "") };
    match store.record_signed_receipt(bad, testing::capture("王芳"), &key) {
        Err(Error::Invalid(e)) => assert_eq!(e.field, "billing_months"),
        other => panic!("{other:?}"),
    }
    assert_eq!(store.receipt_numbers_left().unwrap(), 100);
}
