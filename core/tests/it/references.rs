//! References between records on the phone (issue 21, defect 7): a record the phone makes names
//! only records it holds, in its own grid; a pulled record is never refused for its references.
//! And the search keys of defect 12: full-width and half-width forms find each other, and a
//! resident ID typed with `x` is stored with `X`.

use gridbook_core::testing::{self, household_n};
use gridbook_core::*;

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.db")).unwrap();
    (dir, store)
}

fn refused(result: Result<impl std::fmt::Debug>) -> (String, String) {
    match result {
        Err(Error::Invalid(e)) => (e.field, e.rule),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

const OTHER_GRID: (&str, &str) = ("grid_id", "the household belongs to another grid");

#[test]
fn a_visit_in_one_grid_naming_a_household_of_another_is_refused_and_writes_nothing() {
    let (_d, store) = open();
    let theirs = store.create_household(household_n("g2", 1)).unwrap();
    let ours = store.create_household(household_n("g1", 2)).unwrap();
    let before = store.pending_ops(100).unwrap().len();
    assert_eq!(
        refused(store.record_visit(testing::visit("g1", &theirs.id))),
        (OTHER_GRID.0.into(), OTHER_GRID.1.into())
    );
    assert_eq!(store.pending_ops(100).unwrap().len(), before, "nothing was recorded");
    store.record_visit(testing::visit("g1", &ours.id)).unwrap();
}

#[test]
fn notices_receipts_and_reminder_closures_name_records_of_their_grid() {
    let (_d, store) = open();
    let ours = store.create_household(household_n("g1", 1)).unwrap();
    let theirs = store.create_household(household_n("g2", 2)).unwrap();
    let their_account = testing::seed_account(&store, "g2", &theirs.id, 10_000).unwrap();
    // the debt the receipt below pays off (more is refused: docs/money.md)
    let our_account = testing::seed_account(&store, "g1", &ours.id, 12_800).unwrap();

    // a notice about an account of another grid
    let notice = |account: &str, household: &str| ArrearsNotice {
        id: String::new(),
        grid_id: "g1".into(),
        account_id: account.into(),
        household_id: household.into(),
        channel: NoticeChannel::Phone,
        given_at_ms: 1_700_000_000_000,
        zone_offset_min: 480,
        outcome: "答应月底前交".into(),
        promised_pay_at_ms: None,
        notes: String::new(),
        manager_id: "mgr-1".into(),
    };
    let (field, rule) = refused(store.record_notice(notice(&their_account, &ours.id)));
    assert_eq!((field.as_str(), rule.as_str()), ("grid_id", "the arrears account belongs to another grid"));
    // … or naming a household that is not there
    assert_eq!(
        refused(store.record_notice(notice(&our_account, "no-such"))),
        ("household_id".into(), "unknown household".into())
    );
    store.record_notice(notice(&our_account, &ours.id)).unwrap();

    // a receipt against an account of another grid
    store.add_receipt_block(&testing::receipt_block("SJ")).unwrap();
    let r = testing::receipt("g1", &their_account, &ours.id, "");
    let (field, rule) = refused(store.record_receipt(r));
    assert_eq!((field.as_str(), rule.as_str()), ("grid_id", "the arrears account belongs to another grid"));
    store.record_receipt(testing::receipt("g1", &our_account, &ours.id, "")).unwrap();
}

#[test]
fn a_household_names_a_building_of_its_grid_on_create_and_on_edit() {
    let (_d, store) = open();
    let building_b = store.create_premises(testing::premises("g2", 3)).unwrap();
    let building_a = store.create_premises(testing::premises("g1", 4)).unwrap();
    let mut h = household_n("g1", 1);
    h.premises_id = Some(building_b.id.clone());
    let (field, rule) = refused(store.create_household(h.clone()));
    assert_eq!((field.as_str(), rule.as_str()), ("grid_id", "the premises belongs to another grid"));
    h.premises_id = Some(building_a.id.clone());
    let h = store.create_household(h).unwrap();
    let mut moved = store.household(&h.id, Reveal::Masked).unwrap();
    moved.premises_id = Some(building_b.id.clone());
    let (field, rule) = refused(store.update_household(moved));
    assert_eq!((field.as_str(), rule.as_str()), ("grid_id", "the premises belongs to another grid"));
}

#[test]
fn a_pulled_record_naming_what_the_phone_does_not_hold_is_applied() {
    let (_d, store) = open();
    // the server decided: a visit of the grid whose household this phone has not pulled yet
    let mut v = testing::visit("g1", "household-not-pulled-yet");
    v.id = new_id();
    let op = testing::backoffice_create(&v, "g1", 1_700_000_000_000).unwrap();
    let report = store.apply_remote_ops(&[op]).unwrap();
    assert_eq!(report.applied, 1, "{report:?}");
    assert!(store.visit(&v.id).unwrap().is_some());
}

#[test]
fn full_width_and_half_width_text_find_each_other_and_the_text_stays_as_typed() {
    let (_d, store) = open();
    let mut full = household_n("g1", 1);
    full.address = "人民路３号楼２单元".into();
    full.customer_name = "ＷＡＮＧ Ｆａｎｇ".into();
    let full = store.create_household(full).unwrap();
    let mut half = household_n("g1", 2);
    half.address = "解放路3号楼".into();
    half.mobile = "13800005678".into();
    let half = store.create_household(half).unwrap();
    let found = |q: &str| {
        let mut ids: Vec<String> = store.search_households("g1", q, 10).unwrap().into_iter().map(|h| h.id).collect();
        ids.sort();
        ids
    };
    let mut both = vec![full.id.clone(), half.id.clone()];
    both.sort();
    assert_eq!(found("３号楼"), both);
    assert_eq!(found("3号楼"), both);
    assert_eq!(found("５６７８"), vec![half.id.clone()]);
    assert_eq!(found("wang"), vec![full.id.clone()]);
    assert_eq!(found("ＷＡＮＧ"), vec![full.id.clone()]);
    // a two-character query, below the trigram index, too
    assert_eq!(found("３号").len(), 2);
    assert_eq!(store.household(&full.id, Reveal::Masked).unwrap().address, "人民路３号楼２单元");
}

#[test]
fn a_resident_id_typed_with_a_lowercase_x_is_stored_with_x() {
    let (_d, store) = open();
    // a valid number whose check character is X
    let number = (0..1000).map(testing::resident_id).find(|n| n.ends_with('X')).unwrap();
    let mut h = household_n("g1", 1);
    h.id_number = number.to_lowercase();
    let h = store.create_household(h).unwrap();
    let stored = store.household(&h.id, Reveal::Full { purpose: "核对证件".into() }).unwrap();
    assert_eq!(stored.id_number, number);
    assert_eq!(store.pending_ops(10).unwrap()[0].fields["id_number"], serde_json::json!(number));
    // an edit typing it again in lower case changes nothing
    let mut edited = stored.clone();
    edited.id_number = number.to_lowercase();
    store.update_household(edited).unwrap();
    assert_eq!(store.pending_ops(10).unwrap().len(), 1);
}
