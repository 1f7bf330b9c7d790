//! Field workflows (issue 7) through the store's public API: appointments, sign-in, the day's plan
//! and summary, first-ask tickets.

use gridbook_core::field::receipts;
use gridbook_core::field::workday::day_bounds;
use gridbook_core::sync::hlc::WallClock;
use gridbook_core::testing::{self, household_n};
use gridbook_core::*;

/// 2026-11-23 09:00 Beijing time (01:00 UTC).
const NINE_AM: i64 = 1_795_395_600_000;
const MINUTE: i64 = 60_000;
const DATE: &str = "2026-11-23";
const BEIJING: i64 = 480;

struct FixedClock(i64);
impl WallClock for FixedClock {
    fn now_millis(&self) -> u64 {
        self.0 as u64
    }
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with_clock(dir.path().join("device.db"), Box::new(FixedClock(NINE_AM))).unwrap();
    (dir, store)
}

fn field_error<T: std::fmt::Debug>(r: Result<T>) -> (String, String) {
    match r {
        Err(Error::Invalid(e)) => (e.field, e.rule),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn visit_at(grid: &str, household_id: &str, arrived_at_ms: i64) -> Visit {
    let mut v = testing::visit(grid, household_id);
    v.appointment_at_ms = None;
    v.arrived_at_ms = arrived_at_ms;
    v
}

#[test]
fn nine_am_is_on_the_day_in_beijing() {
    let (start, end) = day_bounds(DATE, BEIJING).unwrap();
    assert!(start <= NINE_AM && NINE_AM < end);
    assert_eq!(NINE_AM - start, 9 * 60 * MINUTE);
}

#[test]
fn an_appointment_is_booked_confirmed_rescheduled_and_synced_per_field() {
    let (_d, store) = open();
    let h = store.create_household(household_n("g1", 1)).unwrap();
    let a = store.book_appointment(testing::appointment("g1", &h.id, NINE_AM + 60 * MINUTE)).unwrap();
    assert_eq!(a.status, AppointmentStatus::Booked);
    let a = store.confirm_appointment(&a.id).unwrap();
    assert_eq!(a.status, AppointmentStatus::Confirmed);
    let a = store.reschedule_appointment(&a.id, NINE_AM + 180 * MINUTE, BEIJING, "客户改到中午").unwrap();
    assert_eq!(
        (a.status, a.agreed_at_ms, a.note.as_str()),
        (AppointmentStatus::Rescheduled, NINE_AM + 180 * MINUTE, "客户改到中午")
    );
    assert_eq!(store.appointment(&a.id).unwrap().unwrap(), a);

    let ops = store.pending_ops(10).unwrap();
    let mine: Vec<_> = ops.iter().filter(|o| o.kind == EntityKind::Appointment).collect();
    assert_eq!(mine.len(), 3);
    assert_eq!(mine[0].action, OpAction::Create);
    // the confirmation changes the status only; the reschedule the status, time and note
    assert_eq!(mine[1].fields.keys().collect::<Vec<_>>(), ["status"]);
    let mut keys: Vec<_> = mine[2].fields.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["agreed_at_ms", "note", "status"]);
}

#[test]
fn booking_checks_the_household_and_the_rules() {
    let (_d, store) = open();
    assert_eq!(
        field_error(store.book_appointment(testing::appointment("g1", "nobody", NINE_AM))),
        ("household_id".into(), "unknown household".into())
    );
    let h = store.create_household(household_n("g1", 1)).unwrap();
    assert_eq!(
        field_error(store.book_appointment(testing::appointment("g2", &h.id, NINE_AM))),
        ("grid_id".into(), "the household belongs to another grid".into())
    );
    let mut a = testing::appointment("g1", &h.id, NINE_AM);
    a.manager_id = " ".into();
    assert_eq!(field_error(store.book_appointment(a)).0, "manager_id");
    let mut a = testing::appointment("g1", &h.id, NINE_AM);
    a.zone_offset_min = 2000;
    assert_eq!(field_error(store.book_appointment(a)).0, "zone_offset_min");
    assert!(store.pending_ops(10).unwrap().iter().all(|o| o.kind != EntityKind::Appointment));
}

#[test]
fn a_cancelled_appointment_cannot_be_confirmed_or_kept() {
    let (_d, store) = open();
    let h = store.create_household(household_n("g1", 1)).unwrap();
    let a = store.book_appointment(testing::appointment("g1", &h.id, NINE_AM)).unwrap();
    assert_eq!(field_error(store.cancel_appointment(&a.id, "  ")).0, "note");
    let a = store.cancel_appointment(&a.id, "客户出差").unwrap();
    assert_eq!(a.status, AppointmentStatus::Cancelled);
    assert_eq!(
        field_error(store.confirm_appointment(&a.id)),
        ("status".into(), "the appointment was cancelled".into())
    );
    assert_eq!(field_error(store.record_appointment_visit(&a.id, visit_at("g1", &h.id, NINE_AM))).0, "status");
    assert!(matches!(store.confirm_appointment("nope"), Err(Error::NotFound { kind: "appointment", .. })));
    // nothing of the refused visit was written
    assert!(store.household_history(&h.id).unwrap().is_empty());
}

#[test]
fn a_visit_linked_to_its_appointment_marks_it_done_and_shows_early_or_late() {
    let (_d, store) = open();
    let h1 = store.create_household(household_n("g1", 1)).unwrap();
    let h2 = store.create_household(household_n("g1", 2)).unwrap();
    let on_time = store.book_appointment(testing::appointment("g1", &h1.id, NINE_AM)).unwrap();
    let late = store.book_appointment(testing::appointment("g1", &h2.id, NINE_AM + 60 * MINUTE)).unwrap();

    let (v, a) = store.record_appointment_visit(&on_time.id, visit_at("g1", &h1.id, NINE_AM + 8 * MINUTE)).unwrap();
    assert_eq!(a.status, AppointmentStatus::Done);
    assert_eq!(a.visit_id.as_deref(), Some(v.id.as_str()));
    assert_eq!(v.appointment_at_ms, Some(NINE_AM));
    assert_eq!(store.visit(&v.id).unwrap().unwrap().punctuality(), Some(Punctuality::OnTime));
    assert_eq!(store.appointment(&a.id).unwrap().unwrap().status, AppointmentStatus::Done);

    let (v, _) = store.record_appointment_visit(&late.id, visit_at("g1", &h2.id, NINE_AM + 85 * MINUTE)).unwrap();
    assert_eq!(store.visit(&v.id).unwrap().unwrap().punctuality(), Some(Punctuality::Late { minutes: 25 }));
    // kept once only; a visit to another door does not keep it
    assert_eq!(field_error(store.record_appointment_visit(&late.id, visit_at("g1", &h2.id, NINE_AM))).0, "status");
    let other = store.book_appointment(testing::appointment("g1", &h1.id, NINE_AM)).unwrap();
    assert_eq!(
        field_error(store.record_appointment_visit(&other.id, visit_at("g1", &h2.id, NINE_AM))).0,
        "household_id"
    );
    // a visit without an appointment has no punctuality
    assert_eq!(visit_at("g1", &h1.id, NINE_AM).punctuality(), None);
}

#[test]
fn a_signed_visit_keeps_its_appointment_in_the_same_transaction() {
    let (_d, store) = open();
    let key = store.device_key().unwrap();
    let h1 = store.create_household(household_n("g1", 1)).unwrap();
    let h2 = store.create_household(household_n("g1", 2)).unwrap();
    let a = store.book_appointment(testing::appointment("g1", &h1.id, NINE_AM)).unwrap();
    let pending = store.outbox_counts().unwrap().pending;

    // another door's visit cannot keep it, and nothing is written
    let wrong = store.record_signed_visit(visit_at("g1", &h2.id, NINE_AM), testing::capture("王芳"), &key, Some(&a.id));
    assert_eq!(field_error(wrong).0, "household_id");
    assert_eq!(store.outbox_counts().unwrap().pending, pending);

    let signed = store
        .record_signed_visit(visit_at("g1", &h1.id, NINE_AM - 14 * MINUTE), testing::capture("王芳"), &key, Some(&a.id))
        .unwrap();
    let done = signed.appointment.clone().expect("the kept appointment");
    assert_eq!((done.status, done.visit_id.as_deref()), (AppointmentStatus::Done, Some(signed.visit.id.as_str())));
    assert_eq!(store.appointment(&a.id).unwrap().unwrap(), done);
    let v = store.visit(&signed.visit.id).unwrap().unwrap();
    assert_eq!((v.appointment_at_ms, v.punctuality()), (Some(NINE_AM), Some(Punctuality::Early { minutes: 14 })));
    assert_eq!(receipts::check_visit_signature(&v, &signed.signature, &key.public_key_bytes()), Ok(()));
    // signature, visit and the appointment's status: three changes, one transaction
    assert_eq!(store.outbox_counts().unwrap().pending, pending + 3);
    let again = store.record_signed_visit(visit_at("g1", &h1.id, NINE_AM), testing::capture("王芳"), &key, Some(&a.id));
    assert_eq!(field_error(again).0, "status");
    let plain =
        store.record_signed_visit(visit_at("g1", &h1.id, NINE_AM), testing::capture("王芳"), &key, None).unwrap();
    assert_eq!(plain.appointment, None);
}

#[test]
fn appointments_past_their_window_with_no_visit_need_a_notice_and_a_new_time() {
    let (_d, store) = open();
    let h = store.create_household(household_n("g1", 1)).unwrap();
    let missed = store.book_appointment(testing::appointment("g1", &h.id, NINE_AM)).unwrap();
    let later = store.book_appointment(testing::appointment("g1", &h.id, NINE_AM + 30 * MINUTE)).unwrap();
    let kept = store.book_appointment(testing::appointment("g1", &h.id, NINE_AM - 60 * MINUTE)).unwrap();
    store.record_appointment_visit(&kept.id, visit_at("g1", &h.id, NINE_AM - 60 * MINUTE)).unwrap();
    let cancelled = store.book_appointment(testing::appointment("g1", &h.id, NINE_AM - 30 * MINUTE)).unwrap();
    store.cancel_appointment(&cancelled.id, "客户取消").unwrap();

    let ids = |now: i64| store.late_appointments("g1", now).unwrap().into_iter().map(|a| a.id).collect::<Vec<_>>();
    assert!(ids(NINE_AM + 10 * MINUTE).is_empty(), "still within ten minutes");
    assert_eq!(ids(NINE_AM + 11 * MINUTE), vec![missed.id.clone()]);
    assert_eq!(ids(NINE_AM + 41 * MINUTE), vec![missed.id.clone(), later.id.clone()]);
    // a new time takes it off the list until that time has passed too
    store.reschedule_appointment(&missed.id, NINE_AM + 240 * MINUTE, BEIJING, "已电话告知客户迟到，改约下午").unwrap();
    assert_eq!(ids(NINE_AM + 41 * MINUTE), vec![later.id.clone()]);
    assert!(store.late_appointments("g2", NINE_AM + 41 * MINUTE).unwrap().is_empty());
}

#[test]
fn an_absent_customer_leaves_a_follow_up_to_rebook() {
    let (_d, store) = open();
    let h = store.create_household(household_n("g1", 1)).unwrap();
    let a = store.book_appointment(testing::appointment("g1", &h.id, NINE_AM)).unwrap();
    assert_eq!(field_error(store.record_customer_absent(&a.id, visit_at("g1", &h.id, NINE_AM), "")).0, "follow_up_due");
    let (v, a) =
        store.record_customer_absent(&a.id, visit_at("g1", &h.id, NINE_AM + 2 * MINUTE), "2026-11-24").unwrap();
    assert_eq!(a.status, AppointmentStatus::Done);
    assert_eq!(v.follow_up_due, "2026-11-24");
    assert!(!v.follow_up.is_empty());
    let due: Vec<String> = store.follow_ups_due("g1", "2026-11-24").unwrap().into_iter().map(|v| v.id).collect();
    assert_eq!(due, vec![v.id.clone()]);
    assert!(store.follow_ups_due("g1", DATE).unwrap().is_empty());
}

#[test]
fn sign_in_records_time_and_place() {
    let (_d, store) = open();
    let s = store.sign_in(testing::sign_in("g1", "mgr-1", NINE_AM - 30 * MINUTE)).unwrap();
    let mut bad = testing::sign_in("g1", "mgr-1", NINE_AM);
    bad.lat_e6 = Some(95_000_000);
    assert_eq!(field_error(store.sign_in(bad)).0, "lat_e6");
    let today = store.sign_ins_on("g1", DATE, BEIJING).unwrap();
    assert_eq!(today, vec![s.clone()]);
    assert!(store.sign_ins_on("g1", "2026-11-24", BEIJING).unwrap().is_empty());
    // a sign-in is a fact: its op is a create and the kind is insert-only
    assert!(EntityKind::SignIn.insert_only());
    let op = store.pending_ops(10).unwrap().into_iter().find(|o| o.entity == s.id).unwrap();
    assert_eq!((op.kind, op.action), (EntityKind::SignIn, OpAction::Create));
}

#[test]
fn the_day_plan_walks_building_by_building_in_door_order() {
    let (_d, store) = open();
    let b10 = store.create_premises(testing::premises("g1", 10)).unwrap();
    let b3 = store.create_premises(testing::premises("g1", 3)).unwrap();
    let door = |premises: &Premises, unit: &str, floor: i64, room: &str, seq: u64| {
        let mut h = household_n("g1", seq);
        h.premises_id = Some(premises.id.clone());
        h.unit = unit.into();
        h.floor = Some(floor);
        h.room = room.into();
        store.create_household(h).unwrap()
    };
    let b10_1_2 = door(&b10, "1单元", 2, "201", 1);
    let b3_2_1 = door(&b3, "2单元", 1, "101", 2);
    let b3_1_12 = door(&b3, "1单元", 12, "1201", 3);
    let b3_1_3 = door(&b3, "1单元", 3, "301", 4);
    let untouched = door(&b3, "1单元", 1, "101", 5);
    let mut loose = household_n("g1", 6);
    loose.premises_id = None;
    let loose = store.create_household(loose).unwrap();

    // an appointment today at 10号楼, one tomorrow (not in today's plan), one cancelled today
    let appt = store.book_appointment(testing::appointment("g1", &b10_1_2.id, NINE_AM + 120 * MINUTE)).unwrap();
    store.book_appointment(testing::appointment("g1", &untouched.id, NINE_AM + 24 * 60 * MINUTE)).unwrap();
    let cancelled = store.book_appointment(testing::appointment("g1", &untouched.id, NINE_AM)).unwrap();
    store.cancel_appointment(&cancelled.id, "客户取消").unwrap();
    // a follow-up due yesterday at 3号楼 2单元, one due next week (not yet)
    let mut promise = visit_at("g1", &b3_2_1.id, NINE_AM - 3 * 24 * 60 * MINUTE);
    promise.follow_up = "回复千兆宽带资费".into();
    promise.follow_up_due = "2026-11-22".into();
    let promise = store.record_visit(promise).unwrap();
    let mut not_yet = visit_at("g1", &untouched.id, NINE_AM);
    not_yet.follow_up = "下周回访".into();
    not_yet.follow_up_due = "2026-11-30".into();
    store.record_visit(not_yet).unwrap();
    // arrears at 3号楼 1单元 12楼 and 3楼, at the door with no building, and a paid-off account
    testing::seed_account(&store, "g1", &b3_1_12.id, 12_800).unwrap();
    testing::seed_account(&store, "g1", &b3_1_3.id, 5_000).unwrap();
    testing::seed_account(&store, "g1", &loose.id, 3_000).unwrap();
    testing::seed_account(&store, "g1", &untouched.id, 0).unwrap();
    // the appointment's door also owes money: one stop, appointment first
    testing::seed_account(&store, "g1", &b10_1_2.id, 9_900).unwrap();

    let plan = store.day_plan("g1", DATE, BEIJING).unwrap();
    let order: Vec<&str> = plan.stops.iter().map(|s| s.household_id.as_str()).collect();
    assert_eq!(
        order,
        [b3_1_3.id.as_str(), b3_1_12.id.as_str(), b3_2_1.id.as_str(), b10_1_2.id.as_str(), loose.id.as_str()]
    );
    assert_eq!(plan.stops[0].premises_name, "3号楼");
    assert_eq!(plan.stops[3].premises_name, "10号楼");
    let kinds = |i: usize| {
        plan.stops[i]
            .items
            .iter()
            .map(|item| match item {
                PlanItem::AppointmentItem { .. } => "appointment",
                PlanItem::FollowUpItem { .. } => "follow_up",
                PlanItem::ArrearsItem { .. } => "arrears",
                PlanItem::ReminderItem { reminder } => reminder.kind.as_str(),
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(kinds(2), ["follow_up"]);
    // postpaid unpaid two months: the debt to collect, and the reminder (欠费两月) to close
    assert_eq!(kinds(3), ["appointment", "arrears", "postpaid_overdue"]);
    assert!(matches!(&plan.stops[2].items[0], PlanItem::FollowUpItem { visit } if visit.id == promise.id));
    assert!(matches!(&plan.stops[1].items[0], PlanItem::ArrearsItem { line } if line.remaining_fen == 12_800));
    assert_eq!(plan.appointments().map(|a| a.id.clone()).collect::<Vec<_>>(), vec![appt.id.clone()]);

    // once kept, the appointment leaves the plan
    store.record_appointment_visit(&appt.id, visit_at("g1", &b10_1_2.id, NINE_AM + 125 * MINUTE)).unwrap();
    let plan = store.day_plan("g1", DATE, BEIJING).unwrap();
    assert_eq!(plan.appointments().count(), 0);
    assert!(store.day_plan("g1", "2026/11/23", BEIJING).is_err());
}

#[test]
fn the_day_summary_counts_what_the_records_show() {
    let (_d, store) = open();
    store.sign_in(testing::sign_in("g1", "mgr-1", NINE_AM - 30 * MINUTE)).unwrap();
    store.sign_in(testing::sign_in("g1", "mgr-2", NINE_AM - 10 * MINUTE)).unwrap();
    let h1 = store.create_household(household_n("g1", 1)).unwrap();
    let h2 = store.create_household(household_n("g1", 2)).unwrap();
    // an archive created on another day (a remote create stamped a week ago) and edited today
    let mut old = serde_json::to_value(household_n("g1", 3)).unwrap().as_object().unwrap().clone();
    old.remove("id");
    let old_id = new_id();
    store
        .apply_remote_ops(&[Op {
            id: uuid::Uuid::now_v7(),
            kind: EntityKind::Household,
            entity: old_id.clone(),
            grid: "g1".into(),
            action: OpAction::Create,
            fields: old,
            hlc: Hlc::new((NINE_AM - 7 * 24 * 60 * MINUTE) as u64, 0, "otherphone"),
        }])
        .unwrap();
    let mut edited = store.household(&old_id, Reveal::Masked).unwrap();
    edited.notes = "周末在家".into();
    store.update_household(edited).unwrap();

    let on_time = store.book_appointment(testing::appointment("g1", &h1.id, NINE_AM + 60 * MINUTE)).unwrap();
    let late = store.book_appointment(testing::appointment("g1", &h2.id, NINE_AM + 120 * MINUTE)).unwrap();
    store.book_appointment(testing::appointment("g1", &h2.id, NINE_AM + 300 * MINUTE)).unwrap(); // missed
    let cancelled = store.book_appointment(testing::appointment("g1", &h1.id, NINE_AM + 400 * MINUTE)).unwrap();
    store.cancel_appointment(&cancelled.id, "客户取消").unwrap();
    store.record_appointment_visit(&on_time.id, visit_at("g1", &h1.id, NINE_AM + 55 * MINUTE)).unwrap();
    let mut promise = visit_at("g1", &h2.id, NINE_AM + 150 * MINUTE);
    promise.follow_up = "回复资费".into();
    promise.follow_up_due = "2026-11-25".into();
    store.record_appointment_visit(&late.id, promise).unwrap();
    store.record_visit(visit_at("g1", &h1.id, NINE_AM - 24 * 60 * MINUTE)).unwrap(); // yesterday

    let account = testing::seed_account(&store, "g1", &h1.id, 20_000).unwrap();
    store.add_receipt_block(&testing::receipt_block("SJ000001-")).unwrap();
    let mut r = testing::receipt("g1", &account, &h1.id, "");
    r.collected_at_ms = NINE_AM + 56 * MINUTE;
    r.amount_fen = 12_800;
    store.record_receipt(r).unwrap();
    let mut r = testing::receipt("g1", &account, &h1.id, "");
    r.collected_at_ms = NINE_AM + 57 * MINUTE;
    r.amount_fen = 5_000;
    r.cash_received_fen = 5_000;
    r.change_fen = 0;
    let voided = store.record_receipt(r).unwrap();
    store.void_receipt(&voided.id, "金额写错", "mgr-1").unwrap();
    store
        .record_notice(ArrearsNotice {
            id: String::new(),
            grid_id: "g1".into(),
            account_id: account.clone(),
            household_id: h1.id.clone(),
            channel: NoticeChannel::Phone,
            given_at_ms: NINE_AM + 5 * MINUTE,
            zone_offset_min: BEIJING,
            outcome: "答应周五交".into(),
            promised_pay_at_ms: None,
            notes: String::new(),
            manager_id: "mgr-1".into(),
        })
        .unwrap();
    store.open_ticket(testing::ticket("g1", &h1.id, "2026-11-25")).unwrap();

    let s = store.day_summary("g1", DATE, BEIJING).unwrap();
    assert_eq!(s.signed_in_at_ms, Some(NINE_AM - 30 * MINUTE));
    assert_eq!(s.visits, 2);
    assert_eq!((s.appointments_kept, s.appointments_on_time, s.appointments_missed), (2, 1, 1));
    assert_eq!((s.households_created, s.households_updated), (2, 1));
    assert_eq!((s.receipts, s.collected_fen), (1, 12_800));
    assert_eq!(s.notices, 1);
    assert_eq!(s.open_promises, 1);
    assert_eq!(s.open_tickets, 1);

    assert_eq!((s.made_at_ms, s.id.as_str(), s.manager_id.as_str()), (NINE_AM, "", ""), "not submitted yet");

    // submitted for the back office: an insert-only record with the manager's name and note
    assert_eq!(field_error(store.submit_day_summary("g1", " ", DATE, BEIJING, "")).0, "manager_id");
    let submitted = store.submit_day_summary("g1", "mgr-1", DATE, BEIJING, " 明天重点催缴3号楼 ").unwrap();
    assert_eq!((submitted.manager_id.as_str(), submitted.note.as_str()), ("mgr-1", "明天重点催缴3号楼"));
    assert_eq!((submitted.visits, submitted.collected_fen), (s.visits, s.collected_fen));
    assert_eq!(store.day_summaries("g1", DATE).unwrap(), vec![submitted.clone()]);
    let op = store.pending_ops(100).unwrap().into_iter().find(|o| o.entity == submitted.id).unwrap();
    assert_eq!((op.kind, op.action), (EntityKind::DaySummary, OpAction::Create));
    assert!(store.day_summaries("g1", "2026-11-22").unwrap().is_empty());

    let yesterday = store.day_summary("g1", "2026-11-22", BEIJING).unwrap();
    assert_eq!((yesterday.visits, yesterday.receipts, yesterday.signed_in_at_ms), (1, 0, None));
    assert_eq!((yesterday.households_created, yesterday.households_updated), (0, 0));
    assert_eq!(store.day_summary("g2", DATE, BEIJING).unwrap().visits, 0);
}

#[test]
fn a_ticket_is_owned_escalated_replied_and_closed_only_with_the_customers_confirmation() {
    let (_d, store) = open();
    let h = store.create_household(household_n("g1", 1)).unwrap();
    let t = store.open_ticket(testing::ticket("g1", &h.id, "2026-11-25")).unwrap();
    assert_eq!(t.status, TicketStatus::Open);
    assert_eq!(field_error(store.escalate_ticket(&t.id, " ")).0, "escalated_to");
    let t = store.escalate_ticket(&t.id, "装维班组 刘班长").unwrap();
    assert_eq!(
        (t.status, t.escalated_to.as_str(), t.owner_manager_id.as_str()),
        (TicketStatus::Escalated, "装维班组 刘班长", "mgr-1")
    );
    // closing before a reply, or without the customer's confirmation, is refused
    assert_eq!(field_error(store.close_ticket(&t.id, true, NINE_AM)).0, "status");
    assert_eq!(field_error(store.reply_ticket(&t.id, "")).0, "reply");
    let ids = |list: Vec<Ticket>| list.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(store.open_tickets("g1").unwrap()), vec![t.id.clone()]);
    let t = store.reply_ticket(&t.id, "光猫已更换，晚间测速正常").unwrap();
    assert_eq!(t.status, TicketStatus::Replied);
    // replied: no longer open, waiting for the customer to confirm
    assert!(store.open_tickets("g1").unwrap().is_empty());
    assert_eq!(ids(store.replied_tickets("g1").unwrap()), vec![t.id.clone()]);
    assert_eq!(field_error(store.close_ticket(&t.id, false, NINE_AM)).0, "closure_confirmed_by_customer");
    let t = store.close_ticket(&t.id, true, NINE_AM + MINUTE).unwrap();
    assert_eq!(
        (t.status, t.closure_confirmed_by_customer, t.closed_at_ms),
        (TicketStatus::Closed, true, Some(NINE_AM + MINUTE))
    );
    assert_eq!(store.ticket(&t.id).unwrap().unwrap(), t);
    assert!(store.replied_tickets("g1").unwrap().is_empty());
    assert_eq!(field_error(store.reply_ticket(&t.id, "再说一次")).1, "the ticket is closed");
    let ops: Vec<_> = store.pending_ops(20).unwrap().into_iter().filter(|o| o.kind == EntityKind::Ticket).collect();
    assert_eq!(ops.len(), 4, "open, escalate, reply, close");
}

#[test]
fn a_ticket_needs_a_promised_date_and_a_known_household() {
    let (_d, store) = open();
    assert_eq!(field_error(store.open_ticket(testing::ticket("g1", "", ""))).0, "promised_reply_by");
    assert_eq!(field_error(store.open_ticket(testing::ticket("g1", "nobody", "2026-11-25"))).0, "household_id");
    let h = store.create_household(household_n("g1", 1)).unwrap();
    assert_eq!(field_error(store.open_ticket(testing::ticket("g2", &h.id, "2026-11-25"))).0, "grid_id");
    store.delete_household(&h.id).unwrap();
    assert_eq!(field_error(store.open_ticket(testing::ticket("g1", &h.id, "2026-11-25"))).0, "household_id");
    let mut t = testing::ticket("g1", "", "2026-11-25");
    t.text = "   ".into();
    assert_eq!(field_error(store.open_ticket(t)).0, "text");
    // a walk-in without an archive is fine
    let walk_in = store.open_ticket(testing::ticket("g1", "", "2026-11-25")).unwrap();
    // whatever status the form sent, a new ticket is open
    let mut sneaky = testing::ticket("g1", "", "2026-11-25");
    sneaky.status = TicketStatus::Closed;
    assert_eq!(store.open_ticket(sneaky).unwrap().status, TicketStatus::Open);
    assert!(store.ticket(&walk_in.id).unwrap().is_some());
}

#[test]
fn tickets_past_their_promised_date_without_a_reply_are_overdue() {
    let (_d, store) = open();
    let h = store.create_household(household_n("g1", 1)).unwrap();
    let due_yesterday = store.open_ticket(testing::ticket("g1", &h.id, "2026-11-22")).unwrap();
    let due_today = store.open_ticket(testing::ticket("g1", &h.id, "2026-11-23")).unwrap();
    let escalated = store.open_ticket(testing::ticket("g1", &h.id, "2026-11-20")).unwrap();
    store.escalate_ticket(&escalated.id, "客户服务部").unwrap();
    let replied = store.open_ticket(testing::ticket("g1", &h.id, "2026-11-21")).unwrap();
    store.reply_ticket(&replied.id, "已答复").unwrap();
    store.open_ticket(testing::ticket("g2", "", "2026-11-01")).unwrap();

    let ids = |today: &str| store.overdue_tickets("g1", today).unwrap().into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(DATE), vec![escalated.id.clone(), due_yesterday.id.clone()]);
    assert_eq!(ids("2026-11-24"), vec![escalated.id.clone(), due_yesterday.id.clone(), due_today.id.clone()]);
    assert!(ids("2026-11-20").is_empty());
    assert_eq!(field_error(store.overdue_tickets("g1", "明天")).0, "today");
    assert_eq!(store.open_tickets("g1").unwrap().len(), 3);
}
