//! Field workflows (issue 7) end to end: the real server on 127.0.0.1, two phones of one grid.

use gridbook_core::sync::wire::{Op, OpAction, OpOutcome};
use gridbook_core::testing::{self, household_n};
use gridbook_core::*;
use gridbook_tests::*;
use serde_json::json;

const MINUTE: i64 = 60_000;
const BEIJING: i64 = 480;

/// Today and yesterday in Beijing, as the phones' clocks see them.
fn beijing_dates() -> (String, String) {
    let now = chrono::Utc::now() + chrono::Duration::minutes(BEIJING);
    let today = now.date_naive();
    (today.format("%Y-%m-%d").to_string(), (today - chrono::Duration::days(1)).format("%Y-%m-%d").to_string())
}

#[tokio::test]
async fn an_appointment_booked_on_one_phone_is_confirmed_and_kept_on_another_and_an_overdue_ticket_follows() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    server.grid_with_manager("g1", "li");
    let a = server.phone("zhang").await;
    let b = server.phone("li").await;
    let (today, yesterday) = beijing_dates();
    let now = chrono::Utc::now().timestamp_millis();

    // phone A: the archive, the appointment in 30 minutes, a sign-in, a complaint promised yesterday
    let h = a.store.create_household(household_n("g1", 1)).unwrap();
    let booked = a.store.book_appointment(testing::appointment("g1", &h.id, now + 30 * MINUTE)).unwrap();
    a.store.sign_in(testing::sign_in("g1", "zhang", now - 60 * MINUTE)).unwrap();
    let ticket = a.store.open_ticket(testing::ticket("g1", &h.id, &yesterday)).unwrap();
    let report = a.sync().await;
    assert_eq!(report.rejected, 0, "{report:?}");

    // phone B sees it all, confirms the appointment, and keeps it 40 minutes late
    b.sync().await;
    assert_eq!(b.store.appointment(&booked.id).unwrap().unwrap().status, AppointmentStatus::Booked);
    b.store.confirm_appointment(&booked.id).unwrap();
    let mut v = testing::visit("g1", &h.id);
    v.arrived_at_ms = now + 70 * MINUTE;
    v.manager_id = "li".into();
    let (visit, _) = b.store.record_appointment_visit(&booked.id, v).unwrap();
    let overdue: Vec<String> = b.store.overdue_tickets("g1", &today).unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(overdue, vec![ticket.id.clone()], "the broken promise is visible on the second phone");
    assert_eq!(b.store.all_states(EntityKind::SignIn).unwrap().len(), 1, "the sign-in reached the second phone");
    let report = b.sync().await;
    assert_eq!(report.rejected, 0, "{report:?}");

    // back on phone A: done, linked, and the visit shows it was late
    a.sync().await;
    let kept = a.store.appointment(&booked.id).unwrap().unwrap();
    assert_eq!(kept.status, AppointmentStatus::Done);
    assert_eq!(kept.visit_id.as_deref(), Some(visit.id.as_str()));
    let seen = a.store.visit(&visit.id).unwrap().expect("the visit reached phone A");
    assert_eq!(seen.punctuality(), Some(Punctuality::Late { minutes: 40 }));
    assert!(a.store.late_appointments("g1", now + 120 * MINUTE).unwrap().is_empty());

    // phone A replies and closes with the customer; phone B no longer lists it as overdue
    a.store.reply_ticket(&ticket.id, "已安排装维上门更换光猫").unwrap();
    a.store.close_ticket(&ticket.id, true, now).unwrap();
    a.sync().await;
    b.sync().await;
    assert!(b.store.overdue_tickets("g1", &today).unwrap().is_empty());
    assert_eq!(b.store.ticket(&ticket.id).unwrap().unwrap().status, TicketStatus::Closed);

    // phone B submits the day's summary; phone A (and the server) see it
    let summary = b.store.submit_day_summary("g1", "li", &today, BEIJING, "明天回访1号楼").unwrap();
    b.sync().await;
    a.sync().await;
    let seen = a.store.day_summaries("g1", &today).unwrap();
    assert_eq!(seen, vec![summary.clone()]);
    let on_server = server.text("SELECT count(*) || '/' || max(grid_id) FROM entities WHERE kind = 'day_summary'");
    assert_eq!(on_server, "1/g1", "the back office has the summary");

    // both phones and the server hold the same state of the new kinds
    for kind in [EntityKind::Appointment, EntityKind::SignIn, EntityKind::Ticket, EntityKind::DaySummary] {
        assert_eq!(a.store.all_states(kind).unwrap(), b.store.all_states(kind).unwrap(), "{}", kind.as_str());
    }
}

#[tokio::test]
async fn confirming_and_rescheduling_on_two_phones_offline_merge_per_field() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    server.grid_with_manager("g1", "li");
    let a = server.phone("zhang").await;
    let b = server.phone("li").await;
    let now = chrono::Utc::now().timestamp_millis();
    let h = a.store.create_household(household_n("g1", 2)).unwrap();
    let appt = a.store.book_appointment(testing::appointment("g1", &h.id, now + 60 * MINUTE)).unwrap();
    a.sync().await;
    b.sync().await;

    // offline: A confirms; later B moves the time with a note
    a.store.confirm_appointment(&appt.id).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    b.store.reschedule_appointment(&appt.id, now + 180 * MINUTE, BEIJING, "客户改到下午三点").unwrap();
    b.sync().await;
    a.sync().await;
    b.sync().await;
    for phone in [&a, &b] {
        let seen = phone.store.appointment(&appt.id).unwrap().unwrap();
        assert_eq!(seen.status, AppointmentStatus::Rescheduled, "the later status wins");
        assert_eq!(seen.agreed_at_ms, now + 180 * MINUTE);
        assert_eq!(seen.note, "客户改到下午三点");
    }
}

#[tokio::test]
async fn the_server_refuses_incomplete_workflow_records() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    let op = |kind: EntityKind, fields: serde_json::Value| Op {
        id: uuid::Uuid::now_v7(),
        kind,
        entity: gridbook_core::new_id(),
        grid: "g1".into(),
        action: OpAction::Create,
        fields: fields.as_object().unwrap().clone(),
        hlc: Hlc::new(1_795_395_600_000, 0, "backoffice"),
    };
    let rejected = |op: &Op| -> String {
        match server.storage.apply_backoffice_op(op, gridbook_sync_server::now_ms()).unwrap().outcome {
            OpOutcome::Rejected { reason, .. } => reason,
            other => panic!("expected a rejection, got {other:?}"),
        }
    };
    let mut closed = serde_json::to_value(testing::ticket("g1", "", "2026-11-25")).unwrap();
    closed["status"] = json!("closed");
    closed["closed_at_ms"] = json!(1);
    closed.as_object_mut().unwrap().remove("id");
    assert!(rejected(&op(EntityKind::Ticket, closed)).contains("closure_confirmed_by_customer"));

    let mut done = serde_json::to_value(testing::appointment("g1", "h1", 1)).unwrap();
    done["status"] = json!("done");
    done.as_object_mut().unwrap().remove("id");
    assert!(rejected(&op(EntityKind::Appointment, done)).contains("visit_id"));

    let mut sign_in = serde_json::to_value(testing::sign_in("g1", "", 1)).unwrap();
    sign_in.as_object_mut().unwrap().remove("id");
    assert!(rejected(&op(EntityKind::SignIn, sign_in)).contains("manager_id"));

    let mut summary = serde_json::to_value(testing::day_summary("g1", "zhang", "2026-11-23")).unwrap();
    summary["visits"] = json!(-3);
    summary.as_object_mut().unwrap().remove("id");
    assert!(rejected(&op(EntityKind::DaySummary, summary)).contains("visits"));

    let mut fine = serde_json::to_value(testing::ticket("g1", "", "2026-11-25")).unwrap();
    fine.as_object_mut().unwrap().remove("id");
    let ok = server.storage.apply_backoffice_op(&op(EntityKind::Ticket, fine), gridbook_sync_server::now_ms()).unwrap();
    assert_eq!(ok.outcome, OpOutcome::Applied);
}
