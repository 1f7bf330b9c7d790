//! Each version of the signed receipt document pinned byte for byte (core/tests/golden/
//! receipt-v*.txt, which never change once a version is out: a receipt signed under it must keep
//! verifying): a receipt without billing months, collector name and staff number is written as
//! version 1 exactly as before those fields existed, one with any of them as version 2, and a
//! seal made over either version's bytes verifies, and breaks when a version-2 field changes.

use std::path::PathBuf;

use gridbook_core::evidence::document::billing_month_range;
use gridbook_core::evidence::{
    check_receipt, seal_receipt, DeviceKey, Point, ReceiptDocument, Relation, Signature, Stroke,
};

fn golden(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("golden").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The receipt of the golden files: 2026-11-03 09:30 Beijing, ¥128.00 paid from ¥200.00.
fn document() -> ReceiptDocument {
    ReceiptDocument {
        receipt_no: "SJ000001-001".into(),
        household_id: "hh-0001".into(),
        account_id: "acct-0001".into(),
        owed_before_fen: 12_800,
        paid_fen: 12_800,
        cash_received_fen: 20_000,
        change_fen: 7_200,
        method: "cash".into(),
        collector_id: "zhangwei".into(),
        device_id: "zhangwei_p1".into(),
        issued_at_ms: 1_793_669_400_000,
        zone_offset_min: 480,
        place: Some("28.228000,112.938800".into()),
        payment_ref: None,
        photos: Vec::new(),
        billing_months: String::new(),
        collector_name: String::new(),
        collector_staff_no: String::new(),
    }
}

fn version_2() -> ReceiptDocument {
    ReceiptDocument {
        billing_months: "2026-09/2026-10".into(),
        collector_name: "张伟".into(),
        collector_staff_no: "HN0731".into(),
        ..document()
    }
}

fn strokes() -> Signature {
    let line = |y: f32| Stroke {
        points: (0..8)
            .map(|i| Point { x: 20.0 + 30.0 * i as f32, y: y + (i % 3) as f32 * 9.0, t_ms: 40 * i, pressure: None })
            .collect(),
    };
    Signature { width: 300, height: 120, strokes: vec![line(30.0), line(70.0)] }
}

#[test]
fn version_1_is_written_exactly_as_before() {
    let doc = document();
    assert_eq!(doc.version(), 1);
    doc.validate().unwrap();
    assert_eq!(String::from_utf8(doc.canonical_bytes()).unwrap(), golden("receipt-v1.txt"));
}

#[test]
fn version_2_adds_the_months_and_the_collector() {
    let doc = version_2();
    assert_eq!(doc.version(), 2);
    doc.validate().unwrap();
    assert_eq!(String::from_utf8(doc.canonical_bytes()).unwrap(), golden("receipt-v2.txt"));
    // version 2 is version 1 with another tag and three lines after the zone offset
    let v1 = golden("receipt-v1.txt").replacen("gridbook-receipt/1", "gridbook-receipt/2", 1).replacen(
        "zone_offset_min=480\n",
        "zone_offset_min=480\nbilling_months=2026-09/2026-10\ncollector_name=张伟\ncollector_staff_no=HN0731\n",
        1,
    );
    assert_eq!(v1, golden("receipt-v2.txt"));
    assert_eq!(billing_month_range(&doc.billing_months), Some(((2026, 9), (2026, 10))));
}

#[test]
fn seals_of_both_versions_verify_and_a_changed_field_breaks_them() {
    let key = DeviceKey::from_bytes(&[0x5a; 32]);
    let pk = key.public_key_bytes();
    for doc in [document(), version_2()] {
        let record = seal_receipt(&doc, &strokes(), "王芳", Relation::Householder, "h1", &key).unwrap();
        assert_eq!(check_receipt(&doc, &strokes(), &record, &pk), Ok(()), "version {}", doc.version());
        for changed in [
            ReceiptDocument { billing_months: "2026-10".into(), ..doc.clone() },
            ReceiptDocument { collector_name: "张伟伟".into(), ..doc.clone() },
            ReceiptDocument { collector_staff_no: "HN0732".into(), ..doc.clone() },
        ] {
            assert!(check_receipt(&changed, &strokes(), &record, &pk).is_err(), "{changed:?}");
        }
    }
}
