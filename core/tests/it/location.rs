//! Where the phone was, through the store (issue 20): a visit, a sign-in and a receipt keep the
//! fix or "no fix" they were recorded with, their `lat_e6`/`lon_e6` are the fix's, positions out
//! of bounds are refused naming the field, and an app that gives no position records as before.

use gridbook_core::location::{LocationFix, LocationProvider, Position};
use gridbook_core::{testing, Error, Receipt, SignIn, Store, Visit};

fn ready() -> (tempfile::TempDir, Store, String) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("phone.db")).unwrap();
    let h = store.create_household(testing::household("g1")).unwrap();
    (dir, store, h.id)
}

fn fix(mock: bool) -> Position {
    Position::Fix(LocationFix {
        lat_e6: 28_228_123,
        lon_e6: 112_938_456,
        accuracy_m: 15,
        age_ms: 2_500,
        provider: LocationProvider::Network,
        mock,
    })
}

fn refused(r: gridbook_core::Result<impl std::fmt::Debug>) -> (String, String) {
    match r {
        Err(Error::Invalid(e)) => (e.field, e.rule),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn a_visit_keeps_its_fix_and_takes_its_coordinates_from_it() {
    let (_d, store, h) = ready();
    let v = Visit { lat_e6: None, lon_e6: None, location: Some(fix(true)), ..testing::visit("g1", &h) };
    let saved = store.record_visit(v).unwrap();
    let read = store.visit(&saved.id).unwrap().unwrap();
    assert_eq!(read.location, Some(fix(true)));
    assert_eq!((read.lat_e6, read.lon_e6), (Some(28_228_123), Some(112_938_456)));
}

#[test]
fn no_fix_is_recorded_and_may_not_carry_coordinates() {
    let (_d, store, h) = ready();
    let with_place = Visit { location: Some(Position::no_fix()), ..testing::visit("g1", &h) };
    assert_eq!(refused(store.record_visit(with_place)).0, "lat_e6");
    let v = Visit { lat_e6: None, lon_e6: None, location: Some(Position::no_fix()), ..testing::visit("g1", &h) };
    let saved = store.record_visit(v).unwrap();
    assert_eq!(store.visit(&saved.id).unwrap().unwrap().location, Some(Position::no_fix()));
    let s = SignIn {
        lat_e6: None,
        lon_e6: None,
        location: Some(Position::no_fix()),
        ..testing::sign_in("g1", "mgr-1", 1_700_000_000_000)
    };
    let signed_in = store.sign_in(s).unwrap();
    assert_eq!(signed_in.location, Some(Position::no_fix()));
}

#[test]
fn coordinates_that_disagree_with_the_fix_or_a_fix_out_of_bounds_are_refused() {
    let (_d, store, h) = ready();
    // testing::visit's own coordinates are not the fix's
    let disagreeing = Visit { location: Some(fix(false)), ..testing::visit("g1", &h) };
    assert_eq!(refused(store.record_visit(disagreeing)).0, "lat_e6");
    let Position::Fix(f) = fix(false) else { unreachable!() };
    let wide = Position::Fix(LocationFix { accuracy_m: 50_000, ..f });
    let v = Visit { lat_e6: None, lon_e6: None, location: Some(wide), ..testing::visit("g1", &h) };
    let (field, rule) = refused(store.record_visit(v));
    assert_eq!(field, "location");
    assert!(rule.starts_with("accuracy_m"), "{rule}");
    let stale = Position::Fix(LocationFix { age_ms: -5, ..f });
    let s = SignIn {
        lat_e6: None,
        lon_e6: None,
        location: Some(stale),
        ..testing::sign_in("g1", "mgr-1", 1_700_000_000_000)
    };
    assert_eq!(refused(store.sign_in(s)).0, "location");
}

#[test]
fn an_app_that_gives_no_position_records_as_before_and_its_op_has_no_location() {
    let (_d, store, h) = ready();
    let saved = store.record_visit(testing::visit("g1", &h)).unwrap();
    assert_eq!(store.visit(&saved.id).unwrap().unwrap().location, None);
    let ops = store.pending_ops(100).unwrap();
    let op = ops.iter().find(|op| op.entity == saved.id).unwrap();
    assert!(!op.fields.contains_key("location"), "{:?}", op.fields);
}

#[test]
fn a_receipt_keeps_its_fix() {
    let (_d, store, h) = ready();
    let acc = testing::seed_account(&store, "g1", &h, 30_000).unwrap();
    store.add_receipt_block(&testing::receipt_block("SJ000001-")).unwrap();
    let r = Receipt { location: Some(fix(false)), ..testing::receipt("g1", &acc, &h, "") };
    let saved = store.record_receipt(r).unwrap();
    let read = store.receipt(&saved.id).unwrap().unwrap();
    assert_eq!(read.location, Some(fix(false)));
    assert_eq!(read.lat_e6, Some(28_228_123));
}
