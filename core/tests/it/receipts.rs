//! Signed receipts and work orders on the device, through the store's public API on real SQLite:
//! receipt numbers from issued blocks only, the customer's signature bound to exactly what was
//! signed and sealed by the device key, the customer's copy, and the checks the server runs.

use gridbook_core::evidence::{self, DeviceKey, DeviceSigner, Flag, Relation};
use gridbook_core::field::receipts::{self, EvidenceProblem};
use gridbook_core::sync::wire::ReceiptBlock;
use gridbook_core::testing::{self, household_n};
use gridbook_core::*;

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.db")).unwrap();
    (dir, store)
}

/// A store with a household, an account owing 300 yuan, and one receipt book.
fn ready() -> (tempfile::TempDir, Store, String, String) {
    let (dir, store) = open();
    let h = store.create_household(household_n("g1", 1)).unwrap();
    let acc = testing::seed_account(&store, "g1", &h.id, 30_000).unwrap();
    store.add_receipt_block(&testing::receipt_block("SJ000001-")).unwrap();
    (dir, store, h.id, acc)
}

fn invalid_field<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Err(Error::Invalid(e)) => e.field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn numbers_come_only_from_issued_blocks_in_order_and_once() {
    let (_d, store) = open();
    let h = store.create_household(household_n("g1", 1)).unwrap();
    // a debt that three receipts do not pay off (a receipt beyond the debt is refused: docs/money.md)
    let acc = testing::seed_account(&store, "g1", &h.id, 100_000).unwrap();
    let key = store.device_key().unwrap();
    // no block yet: nothing can be collected, and no number is made up
    assert_eq!(store.next_receipt_no().unwrap(), None);
    assert_eq!(
        invalid_field(store.record_signed_receipt(
            testing::receipt("g1", &acc, &h.id, ""),
            testing::capture("王芳"),
            &key
        )),
        "receipt_no"
    );
    assert_eq!(invalid_field(store.record_receipt(testing::receipt("g1", &acc, &h.id, "R-1"))), "receipt_no");

    store.add_receipt_block(&ReceiptBlock { last: 3, ..testing::receipt_block("SJ000007-") }).unwrap();
    store
        .add_receipt_block(&ReceiptBlock { issued_at_ms: 1_800_000_000_000, ..testing::receipt_block("SJ000009-") })
        .unwrap();
    store.add_receipt_block(&testing::receipt_block("SJ000009-")).unwrap(); // the same book again: nothing changes
    store.add_receipt_block(&ReceiptBlock { last: 50, ..testing::receipt_block("SJ000009-") }).unwrap_err(); // other numbers
    assert_eq!(store.receipt_numbers_left().unwrap(), 103);
    assert_eq!(store.next_receipt_no().unwrap().as_deref(), Some("SJ000007-001"));

    let first =
        store.record_signed_receipt(testing::receipt("g1", &acc, &h.id, ""), testing::capture("王芳"), &key).unwrap();
    assert_eq!(first.receipt.receipt_no, "SJ000007-001");
    // a number given explicitly must be from a block and unused
    assert_eq!(invalid_field(store.record_receipt(testing::receipt("g1", &acc, &h.id, "SJ000007-001"))), "receipt_no");
    assert_eq!(invalid_field(store.record_receipt(testing::receipt("g1", &acc, &h.id, "SJ000008-001"))), "receipt_no");
    assert_eq!(invalid_field(store.record_receipt(testing::receipt("g1", &acc, &h.id, "SJ000007-004"))), "receipt_no");
    store.record_receipt(testing::receipt("g1", &acc, &h.id, "SJ000007-003")).unwrap(); // out of order is fine
    let next = store.record_receipt(testing::receipt("g1", &acc, &h.id, "")).unwrap();
    assert_eq!(next.receipt_no, "SJ000007-002");
    // the first book is used up: the next comes from the second
    assert_eq!(store.next_receipt_no().unwrap().as_deref(), Some("SJ000009-001"));
    let status = store.receipt_blocks().unwrap();
    assert_eq!((status[0].used, status[0].left, status[1].left), (3, 0, 100));
    assert_eq!(store.receipt_numbers_left().unwrap(), 100);
    // a rejected write used no number
    let mut bad = testing::receipt("g1", &acc, &h.id, "");
    bad.change_fen += 1;
    assert_eq!(invalid_field(store.record_receipt(bad)), "change_fen");
    assert_eq!(store.receipt_numbers_left().unwrap(), 100);
    // a malformed block is refused
    assert_eq!(
        invalid_field(store.add_receipt_block(&ReceiptBlock { first: 0, ..testing::receipt_block("X-") })),
        "receipt_block"
    );
}

#[test]
fn a_signed_receipt_binds_the_strokes_to_exactly_what_was_signed() {
    let (_d, store, h, acc) = ready();
    let key = store.device_key().unwrap();
    let mut r = testing::receipt("g1", &acc, &h, "");
    r.lat_e6 = Some(28_228_000);
    r.lon_e6 = Some(112_938_800);
    let signed = store.record_signed_receipt(r, testing::capture("王芳"), &key).unwrap();
    let (r, sig) = (&signed.receipt, &signed.signature);
    assert_eq!(r.device_id, store.device_id());
    assert_eq!(r.signature_id.as_deref(), Some(sig.id.as_str()));
    assert_eq!((sig.document_kind, sig.document_id.as_str()), (SignedDocument::Receipt, r.id.as_str()));
    assert_eq!((sig.signer_name.as_str(), sig.relation.as_str()), ("王芳", "householder"));
    assert!(sig.flags.is_empty(), "a plausible signature has no flags");
    // what was stored is what was returned, and it travels in the outbox signature first
    assert_eq!(store.receipt(&r.id).unwrap().as_ref(), Some(r));
    assert_eq!(store.signature(&sig.id).unwrap().as_ref(), Some(sig));
    let ops = store.pending_ops(10).unwrap();
    let kinds: Vec<EntityKind> = ops.iter().map(|o| o.kind).collect();
    assert_eq!(&kinds[kinds.len() - 2..], &[EntityKind::Signature, EntityKind::Receipt]);

    let pk = key.public_key_bytes();
    assert_eq!(receipts::check_receipt_signature(r, sig, &pk), Ok(()));
    assert_eq!(
        receipts::check_receipt_signature(r, sig, &DeviceKey::generate().unwrap().public_key_bytes()),
        Err(EvidenceProblem::BadSeal)
    );

    // any change to the stored receipt or strokes is detected
    let altered: Vec<(&str, Receipt)> = vec![
        ("amount", Receipt { amount_fen: r.amount_fen - 100, change_fen: r.change_fen + 100, ..r.clone() }),
        ("owed before", Receipt { owed_before_fen: 0, ..r.clone() }),
        ("number", Receipt { receipt_no: "SJ000001-099".into(), ..r.clone() }),
        ("time", Receipt { collected_at_ms: r.collected_at_ms + 60_000, ..r.clone() }),
        ("account", Receipt { account_id: "other".into(), ..r.clone() }),
        ("place", Receipt { lat_e6: Some(28_228_001), ..r.clone() }),
        ("method", Receipt { method: PaymentMethod::Wechat, ..r.clone() }),
    ];
    for (what, changed) in altered {
        assert_eq!(
            receipts::check_receipt_signature(&changed, sig, &pk),
            Err(EvidenceProblem::DocumentAltered),
            "{what}"
        );
    }
    let moved = Receipt { device_id: "another-device".into(), ..r.clone() };
    assert_eq!(receipts::check_receipt_signature(&moved, sig, &pk), Err(EvidenceProblem::DocumentAltered));
    let mut redrawn = sig.clone();
    redrawn.strokes.strokes[0].points[3].y += 2.0;
    assert_eq!(receipts::check_receipt_signature(r, &redrawn, &pk), Err(EvidenceProblem::StrokesAltered));
    let mut renamed = sig.clone();
    renamed.signer_name = "李四".into();
    assert_eq!(receipts::check_receipt_signature(r, &renamed, &pk), Err(EvidenceProblem::BadSeal));
    let mut unflagged = sig.clone();
    unflagged.flags = vec![Flag::TooFast];
    assert_eq!(receipts::check_receipt_signature(r, &unflagged, &pk), Err(EvidenceProblem::FlagsAltered));
    let other_receipt = Receipt { id: new_id(), ..r.clone() };
    assert!(matches!(
        receipts::check_receipt_signature(&other_receipt, sig, &pk),
        Err(EvidenceProblem::OtherDocument(_))
    ));
}

#[test]
fn the_customer_copy_has_the_code_the_amount_in_capitals_and_valid_images() {
    let (_d, store, h, acc) = ready();
    let key = store.device_key().unwrap();
    let mut r = testing::receipt("g1", &acc, &h, "");
    r.amount_fen = 10_005; // 100.05 yuan
    r.cash_received_fen = 11_000;
    r.change_fen = 995;
    let signed = store.record_signed_receipt(r, testing::capture("王芳"), &key).unwrap();
    let code = &signed.verification_code;
    let record = signed.signature.seal_record().unwrap();
    assert_eq!(evidence::check_verification_code(code, &record, &signed.receipt.receipt_no), Ok(()));
    assert_eq!(
        evidence::check_verification_code(&code.to_lowercase().replace('-', " "), &record, &signed.receipt.receipt_no),
        Ok(())
    );
    assert!(evidence::check_verification_code(code, &record, "SJ000001-002").is_err());

    let out = store.receipt_printout(&signed.receipt.id, "中国电信 幸福里营业部").unwrap();
    assert_eq!(&out.verification_code, code);
    for needle in [
        "中国电信 幸福里营业部",
        "SJ000001-001",
        "¥100.05",
        "人民币壹佰元零伍分",
        code.as_str(),
        "王芳 (户主 Householder)",
    ] {
        assert!(out.html.contains(needle), "the page lacks {needle}");
    }
    let xml = out.html.replacen("<!DOCTYPE html>", "", 1);
    let page = roxmltree::Document::parse(&xml).expect("the page is well-formed");
    assert!(page.descendants().any(|n| n.has_tag_name("svg")));
    let svg = roxmltree::Document::parse(&out.signature_svg).expect("the SVG is well-formed");
    assert_eq!(svg.root_element().attribute("viewBox"), Some("0 0 300 120"));
    assert!(svg.descendants().filter(|n| n.has_tag_name("path")).count() > 10);
    let mut png = png::Decoder::new(std::io::Cursor::new(&out.png)).read_info().expect("the PNG decodes");
    let texts: Vec<(String, String)> =
        png.info().utf8_text.iter().map(|t| (t.keyword.clone(), t.get_text().unwrap_or_default())).collect();
    assert!(texts.contains(&("Company".into(), "中国电信 幸福里营业部".into())));
    assert!(texts.contains(&("Receipt-No".into(), "SJ000001-001".into())));
    assert!(texts.contains(&("Amount".into(), "¥100.05".into())));
    assert!(texts.contains(&("Amount-Capitals".into(), "人民币壹佰元零伍分".into())));
    assert!(texts.contains(&("Verification-Code".into(), code.clone())));
    let mut buf = vec![0; png.output_buffer_size()];
    let frame = png.next_frame(&mut buf).unwrap();
    assert_eq!((frame.width, frame.height), (300, 120));
    assert!(buf.iter().any(|&v| v < 64), "ink is drawn");

    // an unsigned receipt has no customer copy
    let unsigned = store.record_receipt(testing::receipt("g1", &acc, &h, "")).unwrap();
    assert_eq!(invalid_field(store.receipt_printout(&unsigned.id, "X")), "signature_id");
}

#[test]
fn amounts_in_capitals_for_the_edge_cases() {
    for (fen, want) in [(0, "零元整"), (1_000, "壹拾元整"), (10_005, "壹佰元零伍分"), (100_000_000, "壹佰万元整")]
    {
        assert_eq!(evidence::capitals(fen).unwrap(), want, "{fen} fen");
    }
    assert_eq!(evidence::format_yuan(100_000_000), "1,000,000.00");
}

#[test]
fn the_signer_must_be_named_and_a_hasty_signature_is_flagged() {
    let (_d, store, h, acc) = ready();
    let key = store.device_key().unwrap();
    let receipt = || testing::receipt("g1", &acc, &h, "");
    assert_eq!(invalid_field(store.record_signed_receipt(receipt(), testing::capture("  "), &key)), "signer_name");
    let mut c = testing::capture("王芳");
    c.relation = Relation::Other(" ".into());
    assert_eq!(invalid_field(store.record_signed_receipt(receipt(), c, &key)), "relation");
    let mut c = testing::capture("王芳");
    c.strokes.strokes.clear();
    assert_eq!(invalid_field(store.record_signed_receipt(receipt(), c, &key)), "strokes");
    assert_eq!(store.receipt_numbers_left().unwrap(), 100, "nothing was recorded");

    // a swipe in 0.1 s is recorded, flagged, and the flag is sealed into what the server checks
    let mut c = testing::capture("王芳");
    for (i, p) in c.strokes.strokes.iter_mut().flat_map(|s| s.points.iter_mut()).enumerate() {
        p.t_ms = i as u32 * 2;
    }
    assert_eq!(receipts::capture_flags(&c), vec![Flag::TooFast]);
    let signed = store.record_signed_receipt(receipt(), c, &key).unwrap();
    assert_eq!(signed.signature.flags, vec![Flag::TooFast]);
    assert!(signed.signature.duration_ms() < 300);
    assert_eq!(receipts::check_receipt_signature(&signed.receipt, &signed.signature, &key.public_key_bytes()), Ok(()));
}

#[test]
fn a_locked_key_store_records_nothing() {
    struct Locked(DeviceKey);
    impl DeviceSigner for Locked {
        fn public_key(&self) -> [u8; 32] {
            self.0.public_key_bytes()
        }
        fn sign(&self, _: &[u8]) -> std::result::Result<[u8; 64], evidence::SignError> {
            Err(evidence::SignError::Unavailable("keystore locked".into()))
        }
    }
    let (_d, store, h, acc) = ready();
    let locked = Locked(store.device_key().unwrap());
    let appointment = store.book_appointment(testing::appointment("g1", &h, 1_795_395_600_000)).unwrap();
    let pending = store.outbox_counts().unwrap().pending;
    // its own error (not a wrong input): the app asks to unlock the phone and try again
    let unavailable = |r: Result<()>| match r {
        Err(Error::KeyUnavailable(detail)) => assert!(detail.contains("keystore locked"), "{detail}"),
        other => panic!("expected KeyUnavailable, got {other:?}"),
    };
    unavailable(
        store.record_signed_receipt(testing::receipt("g1", &acc, &h, ""), testing::capture("王芳"), &locked).map(drop),
    );
    unavailable(
        store
            .record_signed_visit(testing::visit("g1", &h), testing::capture("王芳"), &locked, Some(&appointment.id))
            .map(drop),
    );
    assert_eq!(store.receipt_numbers_left().unwrap(), 100);
    assert_eq!(store.outbox_counts().unwrap().pending, pending, "nothing was recorded");
    assert_eq!(store.appointment(&appointment.id).unwrap().unwrap().status, AppointmentStatus::Booked);
}

#[test]
fn the_device_key_is_made_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let first = Store::open(&path).unwrap().device_key().unwrap().public_key_bytes();
    let again = Store::open(&path).unwrap().device_key().unwrap().public_key_bytes();
    assert_eq!(first, again);
    let (_d, other) = open();
    assert_ne!(other.device_key().unwrap().public_key_bytes(), first);
}

#[test]
fn a_signed_work_order_binds_the_visit() {
    let (_d, store, h, _acc) = ready();
    let key = store.device_key().unwrap();
    let mut v = testing::visit("g1", &h);
    v.purpose = VisitPurpose::Complaint;
    v.outcome = "宽带已修复".into();
    v.follow_up = "三天后回访".into();
    v.follow_up_due = "2024-05-10".into();
    let mut capture = testing::capture("赵老板");
    capture.relation = Relation::ShopStaff;
    let signed = store.record_signed_visit(v, capture, &key, None).unwrap();
    let (v, sig) = (&signed.visit, &signed.signature);
    assert_eq!(store.visit(&v.id).unwrap().as_ref(), Some(v));
    assert_eq!((sig.document_kind, sig.relation.as_str()), (SignedDocument::WorkOrder, "shop_staff"));
    let pk = key.public_key_bytes();
    assert_eq!(receipts::check_visit_signature(v, sig, &pk), Ok(()));
    for changed in [
        Visit { outcome: "未修复".into(), ..v.clone() },
        Visit { follow_up_due: "2024-06-10".into(), ..v.clone() },
        Visit { arrived_at_ms: v.arrived_at_ms + 1, ..v.clone() },
        Visit { purpose: VisitPurpose::Sale, ..v.clone() },
    ] {
        assert_eq!(receipts::check_visit_signature(&changed, sig, &pk), Err(EvidenceProblem::DocumentAltered));
    }
    // a visit whose household is unknown is refused before anything is signed into the outbox
    assert_eq!(
        invalid_field(store.record_signed_visit(testing::visit("g1", "nobody"), testing::capture("王芳"), &key, None)),
        "household_id"
    );
}
