//! Handovers end to end (issue 7, docs/sync-protocol.md "Handovers"): the real server on
//! 127.0.0.1, phones on real SQLite files. Manager A's phone edits offline in the scope that moves;
//! the back office hands the grid (or one building) to manager B; A's sync pushes the edit first,
//! then removes its copy and reports it; B's phone pulls the whole scope; A's later writes there
//! are refused and kept with their reason.

use std::sync::Arc;

use gridbook_core::sync::wire::{
    DeviceFacts, Op, OpAction, PullPage, PushRequest, PushResponse, PATH_PULL, PATH_PUSH, PROTOCOL_VERSION,
};
use gridbook_core::testing::{self, household_n};
use gridbook_core::*;
use gridbook_sync_server::cli::admin::AdminCommand;
use gridbook_sync_server::storage::handover::{HandoverRequest, HandoverScope};
use gridbook_sync_server::{now_ms, AppError};
use gridbook_tests::*;
use serde_json::json;

fn full(phone: &Phone, id: &str) -> Result<Household> {
    phone.store.household(id, Reveal::Full { purpose: "test".into() })
}

fn gone(phone: &Phone, id: &str) -> bool {
    matches!(full(phone, id), Err(Error::NotFound { .. }))
}

/// An op the phone's app could no longer make (its copy is gone), sent with the phone's token.
async fn raw_push(phone: &Phone, ops: Vec<Op>, removed_handovers: Vec<String>) -> PushResponse {
    let facts = DeviceFacts {
        app_version: "test-1.0".into(),
        wall_clock_ms: now_ms(),
        removed_handovers,
        ..Default::default()
    };
    let resp = reqwest::Client::new()
        .post(format!("{}{}", phone.config.server_url, PATH_PUSH))
        .bearer_auth(&phone.config.token)
        .json(&PushRequest { protocol: PROTOCOL_VERSION, facts, ops })
        .send()
        .await
        .expect("push");
    assert!(resp.status().is_success(), "push: {}", resp.status());
    resp.json().await.expect("push answer")
}

async fn raw_pull(phone: &Phone, cursor: u64) -> PullPage {
    let resp = reqwest::Client::new()
        .get(format!("{}{}?cursor={cursor}&limit=1000", phone.config.server_url, PATH_PULL))
        .bearer_auth(&phone.config.token)
        .send()
        .await
        .expect("pull");
    assert!(resp.status().is_success(), "pull: {}", resp.status());
    resp.json().await.expect("pull page")
}

fn edit_mobile(phone: &Phone, id: &str, mobile: &str) {
    let mut h = full(phone, id).expect("household on the phone");
    h.mobile = mobile.into();
    phone.store.update_household(h).expect("edit");
}

fn mobile_update(grid: &str, id: &str, mobile: &str, node: &str) -> Op {
    let mut fields = serde_json::Map::new();
    fields.insert("mobile".into(), json!(mobile));
    Op {
        id: uuid::Uuid::now_v7(),
        kind: EntityKind::Household,
        entity: id.into(),
        grid: grid.into(),
        action: OpAction::Update,
        fields,
        hlc: Hlc::new(now_ms() as u64, 0, node),
    }
}

fn rejected_code(r: &PushResponse) -> (String, String) {
    match &r.results[0].outcome {
        sync::wire::OpOutcome::Rejected { code, reason } => (code.as_str().to_string(), reason.clone()),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn a_whole_grid_goes_to_another_manager_after_the_old_phone_pushed_its_offline_edits() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    server.grid_with_manager("g2", "zhang");
    server.grid_with_manager("g9", "li");
    let a = server.phone("zhang").await;
    let b = server.phone("li").await;

    // A's archive in g1 (moves) and in g2 (stays)
    let h1 = a.store.create_household(household_n("g1", 1)).unwrap();
    let visit = a.store.record_visit(testing::visit("g1", &h1.id)).unwrap();
    let h2 = a.store.create_household(household_n("g2", 2)).unwrap();
    a.sync().await;
    let account = server.arrears("g1", &h1.id, 12_800);
    a.sync().await;
    // a receipt without the customer's signature: refused, kept on A with its reason
    a.store.record_receipt(testing::receipt("g1", &account, &h1.id, "")).unwrap();
    assert_eq!(a.sync().await.rejected, 1);
    b.sync().await;
    assert!(gone(&b, &h1.id), "B does not see g1 yet");

    // offline on A: the customer's new number
    edit_mobile(&a, &h1.id, "13900001111");
    let row = server
        .storage
        .hand_over(
            &HandoverRequest::Grid { grid: "g1".into(), from: "zhang".into(), to: "li".into() },
            "admin",
            now_ms(),
        )
        .unwrap();
    assert_eq!((row.scope, row.state.as_str(), row.devices.len()), (HandoverScope::Grid, "waiting", 1));
    assert_eq!(row.devices[0].device_id, a.store.device_id());

    // A syncs: the edit is accepted, then the copy of g1 goes, then A reports it removed
    let report = a.sync().await;
    assert_eq!((report.acknowledged, report.rejected), (1, 0), "{report:?}");
    assert!(report.removed >= 4, "household, visit, account and the local receipt: {report:?}");
    assert!(gone(&a, &h1.id));
    assert!(a.store.visit(&visit.id).unwrap().is_none());
    assert!(a.store.search_households("g1", &h1.customer_name, 10).unwrap().is_empty());
    assert!(a.store.search_households("g1", "13900001111", 10).unwrap().is_empty());
    assert!(a.store.household_history(&h1.id).unwrap().is_empty());
    assert!(a.store.arrears_account(&account).unwrap().is_none());
    // nothing else of A's is touched
    assert_eq!(full(&a, &h2.id).unwrap().customer_name, h2.customer_name);
    assert_eq!(a.store.search_households("g2", &h2.customer_name, 10).unwrap().len(), 1);
    let kept = a.store.rejected_ops().unwrap();
    assert_eq!(kept.len(), 1, "the rejected receipt stays on A");
    assert_eq!(kept[0].op.kind, EntityKind::Receipt);
    assert!(!kept[0].reason.is_empty());
    let done = &server.storage.handovers(10).unwrap()[0];
    assert_eq!(done.state, "done", "{done:?}");
    assert!(done.devices[0].removed_at_ms.is_some());

    // B pulls the whole grid, A's offline edit included
    b.sync().await;
    assert_eq!(full(&b, &h1.id).unwrap().mobile, "13900001111");
    assert!(b.store.visit(&visit.id).unwrap().is_some());
    assert_eq!(b.store.arrears_account(&account).unwrap().unwrap().owed_fen, 12_800);
    assert_eq!(b.store.search_households("g1", "13900001111", 10).unwrap().len(), 1);

    // A's later write to the scope is refused, and kept with its reason
    assert!(a.store.retry_rejected(&kept[0].op.id.to_string()).unwrap());
    assert_eq!(a.sync().await.rejected, 1);
    let again = a.store.rejected_ops().unwrap();
    assert_eq!(again[0].code, "outside_grids", "{again:?}");
    assert!(again[0].reason.contains("handed over"), "{}", again[0].reason);
    let refused = raw_push(&a, vec![mobile_update("g1", &h1.id, "13800000000", a.store.device_id())], vec![]).await;
    assert_eq!(rejected_code(&refused).0, "outside_grids");
    b.sync().await;
    assert_eq!(full(&b, &h1.id).unwrap().mobile, "13900001111", "nothing of A's reaches g1 any more");
}

#[tokio::test]
async fn one_building_moves_with_its_households_and_their_history_into_the_new_managers_grid() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    server.grid_with_manager("g2", "li");
    let a = server.phone("zhang").await;
    let b = server.phone("li").await;
    let now = now_ms();

    let building = a.store.create_premises(testing::premises("g1", 3)).unwrap();
    let mut h = household_n("g1", 5);
    h.premises_id = Some(building.id.clone());
    let h1 = a.store.create_household(h).unwrap();
    let v1 = a.store.record_visit(testing::visit("g1", &h1.id)).unwrap();
    let ticket = a.store.open_ticket(testing::ticket("g1", &h1.id, "2026-01-05")).unwrap();
    let appt = a.store.book_appointment(testing::appointment("g1", &h1.id, now + 3_600_000)).unwrap();
    let h3 = a.store.create_household(household_n("g1", 6)).unwrap(); // another street: stays
    a.sync().await;
    let account = server.arrears("g1", &h1.id, 5_000);
    a.sync().await;

    // offline on A: an edit and a new visit in the building
    edit_mobile(&a, &h1.id, "13911112222");
    let mut promised = testing::visit("g1", &h1.id);
    promised.follow_up = "周五送宽带报价".into();
    promised.follow_up_due = "2026-01-09".into();
    let v2 = a.store.record_visit(promised).unwrap();

    // a grid the new manager does not hold, an unknown building: clear 4xx, nothing moves
    let refused = server
        .storage
        .hand_over(
            &HandoverRequest::Building { premises: building.id.clone(), to: "li".into(), to_grid: "g1".into() },
            "admin",
            now_ms(),
        )
        .unwrap_err();
    assert_eq!(
        (AppError::from(refused.clone()).status().as_u16(), refused.code().as_str()),
        (409, "not_assigned"),
        "{refused}"
    );
    let unknown = server
        .storage
        .hand_over(
            &HandoverRequest::Building { premises: "no-such".into(), to: "li".into(), to_grid: "g2".into() },
            "admin",
            now_ms(),
        )
        .unwrap_err();
    assert_eq!(AppError::from(unknown).status().as_u16(), 404);
    let out = server.admin(AdminCommand::HandoverBuilding {
        premises: building.id.clone(),
        to: "li".into(),
        to_grid: "g2".into(),
        by: "admin".into(),
    });
    assert!(out.contains("\"building\""), "{out}");

    let report = a.sync().await;
    assert_eq!((report.acknowledged, report.rejected), (2, 0), "{report:?}");
    assert!(gone(&a, &h1.id));
    assert!(a.store.visit(&v1.id).unwrap().is_none() && a.store.visit(&v2.id).unwrap().is_none());
    assert!(a.store.ticket(&ticket.id).unwrap().is_none());
    assert!(a.store.appointment(&appt.id).unwrap().is_none());
    assert!(a.store.premises_in_grid("g1").unwrap().is_empty());
    assert!(a.store.search_households("g1", &h1.customer_name, 10).unwrap().is_empty());
    assert_eq!(full(&a, &h3.id).unwrap().grid_id, "g1", "the rest of g1 stays on A");
    assert!(a.store.handovers_to_report().unwrap().is_empty(), "reported in the same sync");

    b.sync().await;
    let moved = full(&b, &h1.id).unwrap();
    assert_eq!((moved.grid_id.as_str(), moved.mobile.as_str()), ("g2", "13911112222"));
    assert_eq!(b.store.premises_in_grid("g2").unwrap().len(), 1);
    let history = b.store.household_history(&h1.id).unwrap();
    assert_eq!(history.len(), 2, "both visits, the one recorded offline included: {history:?}");
    // the facts keep what was recorded (where they happened); the records that change now say g2
    assert_eq!(b.store.visit(&v2.id).unwrap().unwrap().grid_id, "g1");
    assert_eq!(b.store.ticket(&ticket.id).unwrap().unwrap().grid_id, "g2");
    assert_eq!(b.store.appointment(&appt.id).unwrap().unwrap().grid_id, "g2");
    assert_eq!(b.store.arrears_account(&account).unwrap().unwrap().grid_id, "g2");
    assert_eq!(b.store.overdue_tickets("g2", "2026-02-01").unwrap().len(), 1, "the overdue ticket follows");
    let due: Vec<String> = b.store.follow_ups_due("g2", "2026-01-09").unwrap().into_iter().map(|v| v.id).collect();
    assert_eq!(due, vec![v2.id.clone()], "the promise made on the old phone is on the new manager's list");
    assert_eq!(server.storage.handovers(1).unwrap()[0].state, "done");
    assert!(gone(&b, &h3.id));
    let served = server.text(&format!(
        "SELECT grid_id || '/' || {} FROM entities WHERE kind = 'visit' AND id = '{}'",
        server.json_text("grid_id"),
        v1.id
    ));
    assert_eq!(served, "g2/g1", "served under the new grid, recorded where it was made");
    let audit = server.admin(AdminCommand::Audit { subject: Some(format!("building:{}", building.id)), limit: 10 });
    assert!(audit.contains("handover_building"), "{audit}");

    // A's later writes to the building are refused; A's own grid is still A's
    let refused = raw_push(&a, vec![mobile_update("g1", &h1.id, "13800000000", a.store.device_id())], vec![]).await;
    let (code, reason) = rejected_code(&refused);
    assert_eq!(code, "outside_grids");
    assert!(reason.contains("g2"), "{reason}");
    let mut late = testing::visit("g1", &h1.id);
    late.id = new_id();
    let late_op = Op {
        id: uuid::Uuid::now_v7(),
        kind: EntityKind::Visit,
        entity: late.id.clone(),
        grid: "g1".into(),
        action: OpAction::Create,
        fields: testing::fields_of(&late).unwrap(),
        hlc: Hlc::new(now_ms() as u64, 0, a.store.device_id()),
    };
    assert_eq!(
        rejected_code(&raw_push(&a, vec![late_op], vec![]).await).0,
        "outside_grids",
        "a new visit to a moved household"
    );
    edit_mobile(&a, &h3.id, "13700000000");
    assert_eq!(a.sync().await.rejected, 0);
}

/// The phone's process dies and starts again on the same database file.
fn restart(phone: Phone) -> Phone {
    let db = phone.db_path();
    let Phone { dir, store, engine, config } = phone;
    drop(engine);
    drop(store);
    let store = Arc::new(Store::open(&db).unwrap());
    Phone { engine: SyncEngine::new(store.clone(), config.clone()).unwrap(), store, dir, config }
}

#[tokio::test]
async fn a_sync_cut_off_between_the_push_and_the_removal_finishes_next_time() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    server.grid_with_manager("g9", "li");
    let a = server.phone("zhang").await;
    let h1 = a.store.create_household(household_n("g1", 7)).unwrap();
    a.sync().await;
    edit_mobile(&a, &h1.id, "13600006666");
    server
        .storage
        .hand_over(
            &HandoverRequest::Grid { grid: "g1".into(), from: "zhang".into(), to: "li".into() },
            "admin",
            now_ms(),
        )
        .unwrap();

    // the push lands, then the phone dies before it pulls
    let pushed = raw_push(&a, a.store.pending_ops(100).unwrap(), vec![]).await;
    a.store.settle(&pushed.results, pushed.server_time_ms).unwrap();
    // restarted: the pull page is applied, then the phone dies before reporting the removal
    let a = restart(a);
    let page = raw_pull(&a, a.store.pull_cursor().unwrap()).await;
    assert_eq!(page.removals.len(), 1);
    assert_eq!(page.handovers_complete.len(), 1);
    a.store.apply_pull_page(&page).unwrap();
    assert!(gone(&a, &h1.id));
    assert_eq!(server.storage.handovers(1).unwrap()[0].state, "waiting", "not reported yet");

    // restarted again: the next sync reports it, and the new manager has the edit
    let a = restart(a);
    assert_eq!(a.store.handovers_to_report().unwrap().len(), 1);
    a.sync().await;
    assert_eq!(server.storage.handovers(1).unwrap()[0].state, "done");
    assert!(a.store.handovers_to_report().unwrap().is_empty());
    let b = server.phone("li").await;
    b.sync().await;
    assert_eq!(full(&b, &h1.id).unwrap().mobile, "13600006666");
}

#[tokio::test]
async fn an_edit_made_between_the_push_and_the_pull_defers_the_removal_until_it_is_pushed() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    server.grid_with_manager("g9", "li");
    let a = server.phone("zhang").await;
    let h1 = a.store.create_household(household_n("g1", 8)).unwrap();
    a.sync().await;
    server
        .storage
        .hand_over(
            &HandoverRequest::Grid { grid: "g1".into(), from: "zhang".into(), to: "li".into() },
            "admin",
            now_ms(),
        )
        .unwrap();

    // the pull arrives while an edit is still unsent: the household stays, nothing is reported
    edit_mobile(&a, &h1.id, "13500005555");
    let page = raw_pull(&a, a.store.pull_cursor().unwrap()).await;
    let applied = a.store.apply_pull_page(&page).unwrap();
    assert_eq!((applied.removed, applied.removals_deferred), (0, 1));
    assert_eq!(full(&a, &h1.id).unwrap().mobile, "13500005555");
    assert!(a.store.handovers_to_report().unwrap().is_empty());

    // the next sync pushes the edit (accepted: A has not reported the removal), then removes
    let report = a.sync().await;
    assert_eq!((report.acknowledged, report.rejected), (1, 0));
    assert!(gone(&a, &h1.id));
    assert_eq!(a.store.deferred_removals().unwrap(), 0);
    assert_eq!(server.storage.handovers(1).unwrap()[0].state, "done");
    let b = server.phone("li").await;
    b.sync().await;
    assert_eq!(full(&b, &h1.id).unwrap().mobile, "13500005555");
}

#[tokio::test]
async fn handovers_of_unknown_grids_or_managers_are_clear_4xx_through_the_command_line() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    server.grid_with_manager("g2", "li");
    let run = |command: AdminCommand| gridbook_sync_server::cli::admin::run(server.storage.as_ref(), command, now_ms());
    let grid = |grid: &str, from: &str, to: &str| AdminCommand::HandoverGrid {
        grid: grid.into(),
        from: from.into(),
        to: to.into(),
        by: "t".into(),
    };
    let e = run(grid("nope", "zhang", "li")).unwrap_err();
    assert_eq!(e.status().as_u16(), 404, "{e}");
    assert!(e.message.contains("nope"));
    let e = run(grid("g1", "zhang", "nobody")).unwrap_err();
    assert_eq!(e.status().as_u16(), 404, "{e}");
    let e = run(grid("g2", "zhang", "li")).unwrap_err();
    assert_eq!((e.status().as_u16(), e.code.as_str()), (409, "not_assigned"), "{e}");
    let e = run(grid("g1", "zhang", "zhang")).unwrap_err();
    assert_eq!(e.status().as_u16(), 422, "{e}");
    let e = run(grid("g1", "zhang", "")).unwrap_err();
    assert_eq!(e.status().as_u16(), 422, "{e}");
    assert!(server.storage.handovers(10).unwrap().is_empty(), "nothing was recorded");
    let listed = server.admin(AdminCommand::HandoverGrid {
        grid: "g1".into(),
        from: "zhang".into(),
        to: "li".into(),
        by: "t".into(),
    });
    assert!(listed.contains("\"done\""), "no device to wait for: {listed}");
    assert!(server.admin(AdminCommand::Handovers { limit: 5 }).contains("\"g1\""));
}
