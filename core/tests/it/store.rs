//! The device store through its public API, on real SQLite files.

use gridbook_core::sync::wire::{OpOutcome, OpResult, RejectCode};
use gridbook_core::testing::{self, household_n};
use gridbook_core::*;
use serde_json::json;

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.db")).unwrap();
    (dir, store)
}

#[test]
fn a_created_household_is_in_the_outbox_and_reads_back_masked() {
    let (_d, store) = open();
    let h = store.create_household(household_n("g1", 7)).unwrap();
    let back = store.household(&h.id, Reveal::Masked).unwrap();
    assert_eq!(back.customer_name, h.customer_name);
    assert_eq!(back.id_number.len(), 18);
    assert!(back.id_number.starts_with("1101") && back.id_number.contains("**********"));
    assert_eq!(back.mobile, format!("138****{}", &h.mobile[7..]));
    let full = store.household(&h.id, Reveal::Full { purpose: "办理过户".into() }).unwrap();
    assert_eq!(full.id_number, h.id_number);
    let ops = store.pending_ops(10).unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].action, OpAction::Create);
    assert_eq!(ops[0].fields["customer_name"], json!(h.customer_name));
}

#[test]
fn an_edit_records_only_the_changed_field() {
    let (_d, store) = open();
    let h = store.create_household(household_n("g1", 1)).unwrap();
    let mut edited = store.household(&h.id, Reveal::Masked).unwrap(); // as the edit form gets it
    edited.mobile = "13900001111".into();
    store.update_household(edited).unwrap();
    let ops = store.pending_ops(10).unwrap();
    assert_eq!(ops.len(), 2);
    assert_eq!(ops[1].fields.len(), 1, "{:?}", ops[1].fields);
    assert_eq!(ops[1].fields["mobile"], json!("13900001111"));
    // the masked ID number sent back by the form did not overwrite the real one
    let full = store.household(&h.id, Reveal::Full { purpose: "核对".into() }).unwrap();
    assert_eq!(full.id_number, h.id_number);
    assert!(ops[1].hlc > ops[0].hlc);
}

#[test]
fn validation_names_the_field_and_writes_nothing() {
    let (_d, store) = open();
    let mut h = household_n("g1", 1);
    h.customer_name = "  ".into();
    match store.create_household(h) {
        Err(Error::Invalid(e)) => {
            assert_eq!((e.field.as_str(), e.rule.as_str()), ("customer_name", "must not be empty"))
        }
        other => panic!("{other:?}"),
    }
    let mut h = household_n("g1", 2);
    h.id_number = "110105198001010011".into(); // wrong check digit
    match store.create_household(h) {
        Err(Error::Invalid(e)) => assert!(e.rule.contains("check digit"), "{e}"),
        other => panic!("{other:?}"),
    }
    let v = testing::visit("g1", "no-such-household");
    match store.record_visit(v) {
        Err(Error::Invalid(e)) => {
            assert_eq!((e.field.as_str(), e.rule.as_str()), ("household_id", "unknown household"))
        }
        other => panic!("{other:?}"),
    }
    assert!(store.pending_ops(10).unwrap().is_empty());
    assert_eq!(store.all_states(EntityKind::Household).unwrap().len(), 0);
}

#[test]
fn households_of_a_building_come_in_door_order() {
    let (_d, store) = open();
    let b = store.create_premises(testing::premises("g1", 3)).unwrap();
    for (unit, floor, room) in [("2单元", 1, "101"), ("1单元", 12, "1201"), ("1单元", 2, "201"), ("1单元", 2, "202")]
    {
        let mut h = household_n("g1", floor as u64);
        h.premises_id = Some(b.id.clone());
        h.unit = unit.into();
        h.floor = Some(floor);
        h.room = room.into();
        store.create_household(h).unwrap();
    }
    let order: Vec<String> =
        store.households_in_premises(&b.id).unwrap().into_iter().map(|h| format!("{}-{}", h.unit, h.room)).collect();
    assert_eq!(order, ["1单元-201", "1单元-202", "1单元-1201", "2单元-101"]);
}

#[test]
fn search_finds_chinese_names_phones_addresses_and_service_numbers() {
    let (_d, store) = open();
    let mut a = household_n("g1", 1);
    a.customer_name = "欧阳秀英".into();
    a.mobile = "13712345678".into();
    let a = store.create_household(a).unwrap();
    let mut b = household_n("g1", 2);
    b.customer_name = "张伟".into();
    let b = store.create_household(b).unwrap();
    let mut other_grid = household_n("g2", 3);
    other_grid.customer_name = "欧阳秀英".into();
    store.create_household(other_grid).unwrap();

    // every trigram of 欧阳秀英 is in this archive, but not the name itself: not a match
    let mut scattered = household_n("g1", 4);
    scattered.customer_name = "阳秀英".into();
    scattered.address = "欧阳秀路1号".into();
    let scattered = store.create_household(scattered).unwrap();

    let ids = |q: &str| store.search_households("g1", q, 20).unwrap().into_iter().map(|h| h.id).collect::<Vec<_>>();
    assert_eq!(ids("欧阳秀英"), vec![a.id.clone()]);
    assert_eq!(ids("阳秀英"), vec![a.id.clone(), scattered.id.clone()]);
    assert_eq!(ids("欧阳秀路"), vec![scattered.id.clone()], "addresses");
    assert_eq!(ids("张伟"), vec![b.id.clone()], "two-character names work too");
    assert_eq!(ids("2345678"), vec![a.id.clone()]);
    assert_eq!(ids("0731-00000002"), vec![b.id.clone()]);
    assert!(ids("不存在的人").is_empty());
    assert!(store.search_households("g1", " ", 5).is_err());
    // the results are masked
    assert!(store.search_households("g1", "欧阳", 5).unwrap()[0].mobile.contains("****"));
}

#[test]
fn duplicates_are_found_by_door_id_number_and_phone() {
    let (_d, store) = open();
    let b = store.create_premises(testing::premises("g1", 1)).unwrap();
    let mut existing = household_n("g1", 5);
    existing.premises_id = Some(b.id.clone());
    let existing = store.create_household(existing).unwrap();

    let mut same_door = household_n("g1", 99);
    same_door.premises_id = Some(b.id.clone());
    same_door.unit = existing.unit.clone();
    same_door.room = existing.room.clone();
    let found = store.possible_duplicates(&same_door).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].reasons, vec![DuplicateReason::SameAddress]);

    let mut same_person = household_n("g1", 98);
    same_person.id_number = existing.id_number.clone();
    same_person.mobile = existing.mobile.clone();
    let found = store.possible_duplicates(&same_person).unwrap();
    assert_eq!(found[0].reasons, vec![DuplicateReason::SameIdNumber, DuplicateReason::SamePhone]);
    assert!(found[0].household.id_number.contains('*'));

    assert!(store.possible_duplicates(&household_n("g1", 97)).unwrap().is_empty());
}

#[test]
fn history_arrears_and_unsynced_collections() {
    let (_d, store) = open();
    let h = store.create_household(household_n("g1", 1)).unwrap();
    let acc = testing::seed_account(&store, "g1", &h.id, 30_000).unwrap();
    let mut v = testing::visit("g1", &h.id);
    v.arrived_at_ms = 1_700_000_100_000;
    store.record_visit(v).unwrap();
    let n = ArrearsNotice {
        id: String::new(),
        grid_id: "g1".into(),
        account_id: acc.clone(),
        household_id: h.id.clone(),
        channel: NoticeChannel::NoticeSlip,
        given_at_ms: 1_700_000_050_000,
        zone_offset_min: 480,
        outcome: "答应周五缴费".into(),
        promised_pay_at_ms: None,
        notes: String::new(),
        manager_id: "mgr-1".into(),
    };
    store.record_notice(n).unwrap();
    store.add_receipt_block(&testing::receipt_block("SJ000001-")).unwrap();
    let r = store.record_receipt(testing::receipt("g1", &acc, &h.id, "SJ000001-001")).unwrap();
    assert_eq!(r.device_id, store.device_id());

    let kinds: Vec<&str> = store
        .household_history(&h.id)
        .unwrap()
        .iter()
        .map(|e| match e {
            HistoryEntry::VisitEntry { .. } => "visit",
            HistoryEntry::NoticeEntry { .. } => "notice",
            HistoryEntry::ReceiptEntry { .. } => "receipt",
        })
        .collect();
    assert_eq!(kinds, ["notice", "visit", "receipt"]);

    let lines = store.grid_arrears("g1").unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].collected_unsynced_fen, 12_800);
    assert_eq!(lines[0].remaining_fen, 30_000 - 12_800);

    // once the server acknowledged the receipt it no longer counts as unsynced
    let results: Vec<OpResult> = store
        .pending_ops(100)
        .unwrap()
        .iter()
        .map(|op| OpResult { op_id: op.id, outcome: OpOutcome::Applied, clamped_to: None })
        .collect();
    store.settle(&results, 0).unwrap();
    assert_eq!(store.grid_arrears("g1").unwrap()[0].collected_unsynced_fen, 0);
}

#[test]
fn receipts_are_insert_only_and_a_number_is_used_once() {
    let (_d, store) = open();
    let h = store.create_household(household_n("g1", 1)).unwrap();
    let acc = testing::seed_account(&store, "g1", &h.id, 30_000).unwrap();
    store.add_receipt_block(&testing::receipt_block("SJ000001-")).unwrap();
    let r = store.record_receipt(testing::receipt("g1", &acc, &h.id, "SJ000001-007")).unwrap();
    match store.record_receipt(testing::receipt("g1", &acc, &h.id, "SJ000001-007")) {
        Err(Error::Invalid(e)) => assert_eq!(e.field, "receipt_no"),
        other => panic!("{other:?}"),
    }
    let mut bad = testing::receipt("g1", &acc, &h.id, "SJ000001-008");
    bad.change_fen = bad.cash_received_fen + 1;
    assert!(matches!(store.record_receipt(bad), Err(Error::Invalid(_))));
    let void = store.void_receipt(&r.id, "金额录错", "mgr-1").unwrap();
    assert_eq!(void.receipt_id, r.id);
    assert!(matches!(store.void_receipt(&r.id, " ", "mgr-1"), Err(Error::Invalid(_))));
    // the receipt itself is unchanged, and the history shows it voided
    assert_eq!(store.receipt(&r.id).unwrap().unwrap(), r);
    assert!(store
        .household_history(&h.id)
        .unwrap()
        .iter()
        .any(|e| matches!(e, HistoryEntry::ReceiptEntry { voided: true, .. })));
}

#[test]
fn grid_summary_counts_products_competitors_and_penetration() {
    let (_d, store) = open();
    store.create_premises(testing::premises("g1", 1)).unwrap();
    let mut shop = testing::premises("g1", 2);
    shop.premises_type = PremisesType::Shop;
    store.create_premises(shop).unwrap();
    for seq in 1..=4 {
        store.create_household(household_n("g1", seq)).unwrap();
    }
    let mut prospect = household_n("g1", 8);
    prospect.services.clear();
    store.create_household(prospect).unwrap();
    let s = store.grid_summary("g1").unwrap();
    assert_eq!((s.households, s.buildings, s.shops, s.prospects), (5, 1, 1, 1));
    // seq 1,2,4 broadband; 3 mobile (seq % 3 == 0)
    let broadband = s.own_products.iter().find(|p| p.name == "broadband").unwrap();
    assert_eq!((broadband.households, broadband.penetration_bp), (3, 6_000));
    // seq 4 and 8 have a China Mobile line
    let mobile = s.competitors.iter().find(|p| p.name == "china_mobile").unwrap();
    assert_eq!((mobile.households, mobile.penetration_bp), (2, 4_000));
}

#[test]
fn a_rejected_op_is_kept_apart_and_does_not_block_the_rest() {
    let (_d, store) = open();
    let a = store.create_household(household_n("g1", 1)).unwrap();
    store.create_household(household_n("g1", 2)).unwrap();
    let ops = store.pending_ops(10).unwrap();
    store
        .settle(
            &[OpResult {
                op_id: ops[0].id,
                outcome: OpOutcome::Rejected { code: RejectCode::OutsideGrids, reason: "grid g1 is not yours".into() },
                clamped_to: None,
            }],
            0,
        )
        .unwrap();
    let pending = store.pending_ops(10).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id, ops[1].id);
    let rejected = store.rejected_ops().unwrap();
    assert_eq!((rejected.len(), rejected[0].code.as_str()), (1, "outside_grids"));
    assert_eq!(rejected[0].op.entity, a.id);
    // still on the device, with its data
    assert!(store.household(&a.id, Reveal::Masked).is_ok());
    assert!(store.retry_rejected(&ops[0].id.to_string()).unwrap());
    assert_eq!(store.pending_ops(10).unwrap().len(), 2);
}

#[test]
fn the_clock_survives_a_restart_even_when_the_phone_clock_goes_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let first = {
        let store = Store::open_with_clock(&path, Box::new(SkewedClock(3_600_000))).unwrap();
        store.create_household(household_n("g1", 1)).unwrap();
        store.pending_ops(1).unwrap()[0].hlc.clone()
    };
    // reopened with the clock set back two hours
    let store = Store::open_with_clock(&path, Box::new(SkewedClock(-3_600_000))).unwrap();
    store.create_household(household_n("g1", 2)).unwrap();
    let second = store.pending_ops(2).unwrap()[1].hlc.clone();
    assert!(second > first, "{second} must order after {first}");
}

#[test]
fn a_database_that_cannot_be_opened_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    std::fs::write(&path, b"this is not a database, but somebody's data").unwrap();
    assert!(Store::open(&path).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), b"this is not a database, but somebody's data");
}

#[test]
fn remote_ops_with_bad_fields_are_reported_and_the_rest_apply() {
    let (_d, store) = open();
    let good = Op {
        id: uuid::Uuid::now_v7(),
        kind: EntityKind::Household,
        entity: "h1".into(),
        grid: "g1".into(),
        action: OpAction::Update,
        fields: json!({"customer_name": "赵敏"}).as_object().unwrap().clone(),
        hlc: Hlc::new(5, 0, "other"),
    };
    let mut bad = good.clone();
    bad.id = uuid::Uuid::now_v7();
    bad.entity = "h2".into();
    bad.fields = json!({"floor": "三楼"}).as_object().unwrap().clone();
    let report = store.apply_remote_ops(&[bad, good]).unwrap();
    assert_eq!(report.applied, 1);
    assert_eq!(report.invalid.len(), 1);
    assert_eq!(report.invalid[0].1.field, "floor");
}

/// A fact's creation is logged without its fields (schema version 9): the op pushed, listed as
/// rejected, or discarded carries exactly the fields it was recorded with, read back from the row.
#[test]
fn a_facts_op_carries_the_fields_it_was_recorded_with() {
    let (_d, store) = open();
    let h = store.create_household(household_n("g1", 1)).unwrap();
    let acc = testing::seed_account(&store, "g1", &h.id, 30_000).unwrap();
    let mut bare = testing::visit("g1", &h.id);
    (bare.lat_e6, bare.lon_e6, bare.appointment_at_ms) = (None, None, None);
    let full = store.record_visit(testing::visit("g1", &h.id)).unwrap();
    let bare = store.record_visit(bare).unwrap();
    let notice = store
        .record_notice(ArrearsNotice {
            id: String::new(),
            grid_id: "g1".into(),
            account_id: acc.clone(),
            household_id: h.id.clone(),
            channel: NoticeChannel::Phone,
            given_at_ms: 1_700_000_050_000,
            zone_offset_min: 480,
            outcome: "说\"下周\"再缴\\费".into(),
            promised_pay_at_ms: Some(1_700_600_000_000),
            notes: "换行\n之后".into(),
            manager_id: "mgr-1".into(),
        })
        .unwrap();
    store.add_receipt_block(&testing::receipt_block("SJ000001-")).unwrap();
    let receipt = store.record_receipt(testing::receipt("g1", &acc, &h.id, "SJ000001-001")).unwrap();
    let void = store.void_receipt(&receipt.id, "金额录错", "mgr-1").unwrap();

    let ops = store.pending_ops(100).unwrap();
    let op_of = |id: &str| ops.iter().find(|op| op.entity == id).unwrap_or_else(|| panic!("no op for {id}"));
    let expect = [
        (EntityKind::Visit, full.id.clone(), testing::fields_of(&full).unwrap()),
        (EntityKind::Visit, bare.id.clone(), testing::fields_of(&bare).unwrap()),
        (EntityKind::ArrearsNotice, notice.id.clone(), testing::fields_of(&notice).unwrap()),
        (EntityKind::ReceiptVoid, void.id.clone(), testing::fields_of(&void).unwrap()),
    ];
    for (kind, id, fields) in &expect {
        let op = op_of(id);
        assert_eq!((op.kind, op.action, op.grid.as_str()), (*kind, OpAction::Create, "g1"));
        assert_eq!(&op.fields, fields, "{}", kind.as_str());
        assert!(!op.fields.contains_key("id"));
    }
    // in the order they were made, stamps rising
    let positions: Vec<usize> =
        expect.iter().map(|(_, id, _)| ops.iter().position(|op| &op.entity == id).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    assert!(ops.windows(2).all(|w| w[0].hlc < w[1].hlc));

    // rejected: listed with the same op; discarded: handed back whole, and gone
    let rejected_op = op_of(&notice.id).clone();
    store
        .settle(
            &[OpResult {
                op_id: rejected_op.id,
                outcome: OpOutcome::Rejected { code: RejectCode::Invalid, reason: "test".into() },
                clamped_to: None,
            }],
            0,
        )
        .unwrap();
    assert_eq!(store.rejected_ops().unwrap()[0].op, rejected_op);
    assert!(store.discard_rejected(&rejected_op.id.to_string(), "mgr-1").unwrap());
    assert!(store.rejected_ops().unwrap().is_empty());
    assert_eq!(store.pending_ops(100).unwrap().len(), ops.len() - 1);
}

/// A handover removes the household and its visits from the phone; a visit whose op the server
/// rejected keeps its op, whole, though the row it was rebuilt from is gone.
#[test]
fn a_rejected_visit_keeps_its_fields_when_a_handover_removes_its_row() {
    let (_d, store) = open();
    let h = store.create_household(household_n("g1", 1)).unwrap();
    let visit = store.record_visit(testing::visit("g1", &h.id)).unwrap();
    let ops = store.pending_ops(10).unwrap();
    let visit_op = ops.iter().find(|op| op.entity == visit.id).unwrap().clone();
    let results: Vec<OpResult> = ops
        .iter()
        .map(|op| OpResult {
            op_id: op.id,
            outcome: if op.id == visit_op.id {
                OpOutcome::Rejected { code: RejectCode::Invalid, reason: "签名缺失 signature missing".into() }
            } else {
                OpOutcome::Applied
            },
            clamped_to: None,
        })
        .collect();
    store.settle(&results, 0).unwrap();

    let page = sync::wire::PullPage {
        protocol: sync::wire::PROTOCOL_VERSION,
        changes: vec![],
        removals: vec![sync::wire::Removal { kind: EntityKind::Household, id: h.id.clone() }],
        handovers_complete: vec![],
        next_cursor: 1,
        has_more: false,
        remaining: 0,
        server_time_ms: 1_700_000_000_000,
        generation: None,
        update: None,
        policy: None,
        receipt: None,
    };
    let report = store.apply_pull_page(&page).unwrap();
    assert!(report.removed >= 2, "the household and its visit: {report:?}");
    assert!(store.visit(&visit.id).unwrap().is_none());
    let kept = store.rejected_ops().unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].op, visit_op, "the op as it was before its row went");
    assert_eq!(kept[0].reason, "签名缺失 signature missing");
    // and it can still be sent again
    assert!(store.retry_rejected(&visit_op.id.to_string()).unwrap());
    assert_eq!(store.pending_ops(10).unwrap(), vec![visit_op]);
}

fn acknowledge_all(store: &Store, server_time_ms: i64) -> Vec<sync::wire::Op> {
    let ops = store.pending_ops(1_000).unwrap();
    let results: Vec<OpResult> =
        ops.iter().map(|op| OpResult { op_id: op.id, outcome: OpOutcome::Applied, clamped_to: None }).collect();
    store.settle(&results, server_time_ms).unwrap();
    ops
}

fn generation(id: &str, restored_from_ms: i64, restored_cursor: u64) -> sync::wire::ServerGeneration {
    sync::wire::ServerGeneration { id: id.into(), restored_from_ms, restored_cursor, keep_acked_days: 30 }
}

#[test]
fn a_new_server_generation_sends_again_what_was_acknowledged_since_the_backup_in_order() {
    const DAY: i64 = 86_400_000;
    let (_d, store) = open();
    let t0 = 1_800_000_000_000;
    // the first generation met is remembered; nothing to send again
    assert_eq!(store.meet_generation(Some(&generation("gen-1", 0, 0))).unwrap(), Default::default());
    let early = store.create_household(household_n("g1", 1)).unwrap();
    acknowledge_all(&store, t0);
    let h = store.create_household(household_n("g1", 2)).unwrap();
    store.record_visit(testing::visit("g1", &h.id)).unwrap(); // a fact: its op is logged without fields
    let late = acknowledge_all(&store, t0 + DAY);
    assert_eq!((store.outbox_counts().unwrap().pending, store.acked_ops_kept().unwrap()), (0, 3));
    // the same generation again changes nothing
    assert!(!store.meet_generation(Some(&generation("gen-1", 0, 0))).unwrap().restored);
    assert_eq!(store.outbox_counts().unwrap().pending, 0);

    // restored from a backup taken between the two: only the late ops go again, in their order,
    // whole (the visit with its fields); the cursor moves back to the backup's
    let page = sync::wire::PullPage {
        protocol: sync::wire::PROTOCOL_VERSION,
        changes: vec![],
        removals: vec![],
        handovers_complete: vec![],
        next_cursor: 500,
        has_more: false,
        remaining: 0,
        server_time_ms: t0 + DAY,
        generation: None,
        update: None,
        policy: None,
        receipt: None,
    };
    store.apply_pull_page(&page).unwrap();
    assert_eq!(store.pull_cursor().unwrap(), 500);
    let met = store.meet_generation(Some(&generation("gen-2", t0 + DAY / 2, 120))).unwrap();
    assert_eq!((met.restored, met.requeued, met.cursor_reset_to), (true, 2, Some(120)));
    assert_eq!(store.pull_cursor().unwrap(), 120);
    assert_eq!(store.pending_ops(10).unwrap(), late, "the late ops, as first sent");
    assert!(!store.pending_ops(10).unwrap().iter().any(|op| op.entity == early.id));
    assert_eq!(store.server_generation().unwrap().as_deref(), Some("gen-2"));

    // acknowledged again; past the retention window they are forgotten
    acknowledge_all(&store, t0 + 2 * DAY);
    assert_eq!(store.acked_ops_kept().unwrap(), 3);
    // (the window is pruned when an answer settles, 31 days on)
    acknowledge_all(&store, t0 + 2 * DAY + 31 * DAY);
    assert_eq!(store.acked_ops_kept().unwrap(), 0);
    // an answer of a server before generations changes nothing
    assert_eq!(store.meet_generation(None).unwrap(), Default::default());
}
