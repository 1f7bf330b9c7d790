//! A receipt's payment reference (交易单号) for WeChat Pay, Alipay or a card, through the store on
//! real SQLite: validated, sealed with the receipt (a changed reference breaks the seal), printed
//! on the customer's copy, and sent only when there is one — a receipt without it is on the wire
//! and in its signed document exactly as before the field existed.

use gridbook_core::field::receipts::{self, EvidenceProblem};
use gridbook_core::testing::{self, household_n};
use gridbook_core::*;

/// A store with a household, an account owing 300 yuan, and one receipt book.
fn ready() -> (tempfile::TempDir, Store, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.db")).unwrap();
    let h = store.create_household(household_n("g1", 1)).unwrap();
    let acc = testing::seed_account(&store, "g1", &h.id, 30_000).unwrap();
    store.add_receipt_block(&testing::receipt_block("SJ000001-")).unwrap();
    (dir, store, h.id, acc)
}

fn wechat(acc: &str, h: &str, reference: &str) -> Receipt {
    Receipt {
        method: PaymentMethod::Wechat,
        cash_received_fen: 12_800,
        change_fen: 0,
        payment_ref: reference.into(),
        ..testing::receipt("g1", acc, h, "")
    }
}

fn refused_field<T: std::fmt::Debug>(r: Result<T>) -> (String, String) {
    match r {
        Err(Error::Invalid(e)) => (e.field, e.rule),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn a_wechat_receipt_keeps_its_reference_sealed_printed_and_sent() {
    let (_d, store, h, acc) = ready();
    let key = store.device_key().unwrap();
    let reference = "4200001234202611181234567890";
    let signed = store.record_signed_receipt(wechat(&acc, &h, reference), testing::capture("王芳"), &key).unwrap();
    let r = &signed.receipt;
    assert_eq!(r.payment_ref, reference);
    assert_eq!(store.receipt(&r.id).unwrap().unwrap().payment_ref, reference);

    // sealed with it: the same receipt with another reference, or none, no longer verifies
    let pk = key.public_key_bytes();
    assert_eq!(receipts::check_receipt_signature(r, &signed.signature, &pk), Ok(()));
    for other in ["4200001234202611181234567891", ""] {
        let changed = Receipt { payment_ref: other.into(), ..r.clone() };
        assert_eq!(
            receipts::check_receipt_signature(&changed, &signed.signature, &pk),
            Err(EvidenceProblem::DocumentAltered),
            "{other:?}"
        );
    }

    // on the customer's copy, beside the method
    let copy = store.receipt_printout(&r.id, "中国电信").unwrap();
    assert!(copy.html.contains(&format!("微信支付 WeChat Pay · 交易单号 Ref. {reference}")), "{}", copy.html);

    // and in the op the phone pushes
    let op = store.pending_ops(10).unwrap().into_iter().find(|o| o.kind == EntityKind::Receipt).unwrap();
    assert_eq!(op.fields.get("payment_ref").and_then(|v| v.as_str()), Some(reference));
}

#[test]
fn a_receipt_without_a_reference_travels_as_before() {
    let (_d, store, h, acc) = ready();
    let key = store.device_key().unwrap();
    let signed =
        store.record_signed_receipt(testing::receipt("g1", &acc, &h, ""), testing::capture("王芳"), &key).unwrap();
    let op = store.pending_ops(10).unwrap().into_iter().find(|o| o.kind == EntityKind::Receipt).unwrap();
    assert!(!op.fields.contains_key("payment_ref"), "{:?}", op.fields);
    // its document has no reference line: a server or phone from before reads the same bytes
    let doc = receipts::receipt_document(&signed.receipt);
    assert_eq!(doc.payment_ref, None);
    assert!(!String::from_utf8(doc.canonical_bytes()).unwrap().contains("payment_ref"));
    // an op from an older phone (no such field) is read as a receipt without a reference
    let old: Receipt = serde_json::from_value(serde_json::to_value(&signed.receipt).unwrap()).unwrap();
    assert_eq!(old.payment_ref, "");
}

#[test]
fn a_reference_is_checked_before_anything_is_written() {
    let (_d, store, h, acc) = ready();
    let key = store.device_key().unwrap();
    let pending = store.outbox_counts().unwrap().pending;
    let cash_with_ref = Receipt { payment_ref: "4200001234".into(), ..testing::receipt("g1", &acc, &h, "") };
    for (receipt, rule_says) in [
        (cash_with_ref, "cash"),
        (wechat(&acc, &h, "123"), "4 to 64"),
        (wechat(&acc, &h, &"9".repeat(65)), "4 to 64"),
        (wechat(&acc, &h, "4200 0012"), "letters, digits"),
        (wechat(&acc, &h, "单号4200001234"), "letters, digits"),
    ] {
        let (field, rule) = refused_field(store.record_signed_receipt(receipt, testing::capture("王芳"), &key));
        assert_eq!(field, "payment_ref");
        assert!(rule.contains(rule_says), "{rule}");
    }
    assert_eq!(store.outbox_counts().unwrap().pending, pending, "nothing was written");
    // the last digits alone, and a merchant's order number, are references too
    for ok in ["7890", "ALI-2026_1118-0001"] {
        store.record_signed_receipt(wechat(&acc, &h, ok), testing::capture("王芳"), &key).unwrap();
    }
}
