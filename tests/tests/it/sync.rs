//! Sync end to end: the real server on 127.0.0.1, phones with real SQLite files, real HTTP.

use std::time::Duration;

use gridbook_core::sync::wire::{Op, OpAction};
use gridbook_core::testing::{household_n, visit};
use gridbook_core::*;
use gridbook_tests::*;
use serde_json::json;

const DAY: i64 = 86_400_000;

fn chrono_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn household_of(phone: &Phone, id: &str) -> Household {
    phone.store.household(id, Reveal::Full { purpose: "test".into() }).expect("household")
}

#[tokio::test]
async fn edits_to_different_fields_both_survive_and_the_same_field_goes_to_the_later_stamp() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    server.grid_with_manager("g1", "li");
    let a = server.phone("zhang").await;
    let b = server.phone("li").await;

    let h = a.store.create_household(household_n("g1", 1)).unwrap();
    a.sync().await;
    b.sync().await;
    assert_eq!(household_of(&b, &h.id).customer_name, h.customer_name);

    // offline, A changes the mobile and B the notes
    let mut on_a = household_of(&a, &h.id);
    on_a.mobile = "13911112222".into();
    a.store.update_household(on_a).unwrap();
    let mut on_b = household_of(&b, &h.id);
    on_b.notes = "晚上七点后在家".into();
    b.store.update_household(on_b).unwrap();
    a.sync().await;
    b.sync().await;
    a.sync().await;
    for phone in [&a, &b] {
        let seen = household_of(phone, &h.id);
        assert_eq!(seen.mobile, "13911112222");
        assert_eq!(seen.notes, "晚上七点后在家");
    }

    // both change the name; B's edit is later
    let mut on_a = household_of(&a, &h.id);
    on_a.customer_name = "王芳(甲)".into();
    a.store.update_household(on_a).unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let mut on_b = household_of(&b, &h.id);
    on_b.customer_name = "王芳(乙)".into();
    b.store.update_household(on_b).unwrap();
    b.sync().await; // the later edit reaches the server first
    a.sync().await;
    b.sync().await;
    for phone in [&a, &b] {
        assert_eq!(household_of(phone, &h.id).customer_name, "王芳(乙)");
    }
    let conflicts = server.storage.conflicts(10).unwrap();
    let c = conflicts.iter().find(|c| c.field == "customer_name").expect("the overwrite is logged");
    assert_eq!((c.old_value.as_str(), c.new_value.as_str()), ("\"王芳(甲)\"", "\"王芳(乙)\""));
    assert_eq!(c.old_device, a.store.device_id());
    assert_eq!(c.new_device, b.store.device_id());
    assert!(c.old_hlc < c.new_hlc);
}

#[tokio::test]
async fn phones_a_day_behind_or_ahead_still_converge() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    let normal = server.phone("zhang").await;
    let behind = server.phone_with_clock("zhang", Box::new(SkewedClock(-DAY))).await;
    let ahead = server.phone_with_clock("zhang", Box::new(SkewedClock(DAY))).await;

    let h = normal.store.create_household(household_n("g1", 3)).unwrap();
    normal.sync().await;
    behind.sync().await; // absorbs the normal phone's stamps
    ahead.sync().await;

    // the phone a day behind edits after seeing the archive: its edit is the later one
    let mut edit = household_of(&behind, &h.id);
    edit.notes = "behind-edit".into();
    behind.store.update_household(edit).unwrap();
    behind.sync().await;
    normal.sync().await;
    assert_eq!(household_of(&normal, &h.id).notes, "behind-edit");

    // the phone a day ahead edits; its stamp is clamped to the server's clock...
    let mut edit = household_of(&ahead, &h.id);
    edit.mobile = "13700000001".into();
    ahead.store.update_household(edit).unwrap();
    ahead.sync().await;
    // ...so an edit made after it, on a phone with a right clock, wins as it should
    tokio::time::sleep(Duration::from_millis(5)).await;
    normal.sync().await;
    let mut edit = household_of(&normal, &h.id);
    edit.mobile = "13700000002".into();
    normal.store.update_household(edit).unwrap();
    normal.sync().await;
    ahead.sync().await;
    behind.sync().await;
    for phone in [&normal, &behind, &ahead] {
        let seen = household_of(phone, &h.id);
        assert_eq!((seen.mobile.as_str(), seen.notes.as_str()), ("13700000002", "behind-edit"));
    }
    let states: Vec<_> = [&normal, &behind, &ahead]
        .iter()
        .map(|p| p.store.entity_state(EntityKind::Household, &h.id).unwrap())
        .collect();
    assert_eq!(states[0], states[1]);
    assert_eq!(states[1], states[2]);
}

#[tokio::test]
async fn a_device_sees_and_writes_only_its_grids_and_a_revoked_device_is_refused() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    server.grid_with_manager("g2", "li");
    let zhang = server.phone("zhang").await;
    let li = server.phone("li").await;

    li.store.create_household(household_n("g2", 1)).unwrap();
    li.sync().await;
    zhang.sync().await;
    assert!(zhang.store.all_states(EntityKind::Household).unwrap().is_empty(), "g2 must not reach zhang");

    // zhang writes into g2: rejected, kept on the phone with the reason, and the rest goes on
    let foreign = zhang.store.create_household(household_n("g2", 2)).unwrap();
    let own = zhang.store.create_household(household_n("g1", 3)).unwrap();
    let report = zhang.sync().await;
    assert_eq!((report.rejected, report.acknowledged), (1, 1));
    let rejected = zhang.store.rejected_ops().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!((rejected[0].code.as_str(), rejected[0].op.entity.as_str()), ("outside_grids", foreign.id.as_str()));
    assert!(zhang.store.household(&foreign.id, Reveal::Masked).is_ok(), "the rejected write stays on the phone");
    assert_eq!(server.storage.rejections(10).unwrap()[0].code, "outside_grids");
    li.sync().await;
    assert!(li.store.household(&own.id, Reveal::Masked).is_err());

    // revoked: refused at once
    let device = zhang.store.device_id().to_string();
    server.storage.revoke_device(&device, gridbook_sync_server::now_ms()).unwrap();
    match zhang.engine.sync_once().await {
        Err(Error::Unauthorized(m)) => assert!(m.contains("revoked"), "{m}"),
        other => panic!("expected unauthorized, got {other:?}"),
    }
    assert!(matches!(zhang.engine.status().phase, SyncPhase::Failed { .. }));
}

#[tokio::test]
async fn a_visit_and_a_receipt_reach_the_other_phone_and_the_server_keeps_receipt_numbers_unique() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    server.grid_with_manager("g1", "li");
    let a = server.phone("zhang").await;
    let b = server.phone("li").await;
    let h = a.store.create_household(household_n("g1", 1)).unwrap();
    a.store.record_visit(visit("g1", &h.id)).unwrap();
    a.sync().await;
    let account = server.admin(gridbook_sync_server::cli::admin::AdminCommand::AddArrears {
        grid: "g1".into(),
        household: h.id.clone(),
        account_no: "ACC-1".into(),
        owed_fen: 25_600,
        months: 2,
        service_number: String::new(),
        payment_type: "postpaid".into(),
    });
    a.sync().await;
    b.sync().await;
    // the other phone used the same number offline (it held a copy of A's receipt book)
    let number = a.store.next_receipt_no().unwrap().expect("A was issued receipt numbers");
    b.store.add_receipt_block(&a.store.receipt_blocks().unwrap()[0].block).unwrap();
    let r = a.collect(testing::receipt("g1", &account, &h.id, &number)).receipt;
    let dup = b.collect(testing::receipt("g1", &account, &h.id, &number)).receipt;
    let facts = a.store.device_facts("t", None).unwrap();
    assert_eq!((facts.unsynced_receipts_count, facts.unsynced_receipts_fen), (1, 12_800));
    a.sync().await;
    let report = b.sync().await;
    assert_eq!(report.rejected, 1);
    assert_eq!(b.store.rejected_ops().unwrap()[0].code, "duplicate_receipt_no");
    assert_eq!(b.store.rejected_ops().unwrap()[0].op.entity, dup.id);
    let history = b.store.household_history(&h.id).unwrap();
    assert!(history.iter().any(|e| matches!(e, HistoryEntry::VisitEntry { .. })));
    assert!(history.iter().any(|e| matches!(e, HistoryEntry::ReceiptEntry { receipt, .. } if receipt.id == r.id)));
    let device = server.storage.devices().unwrap().into_iter().find(|d| d.device_id == a.store.device_id()).unwrap();
    assert_eq!((device.unsynced_receipts_count, device.pending_count), (0, 0));
}

#[tokio::test]
async fn a_new_device_pulls_a_snapshot_in_pages_and_resumes() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    let a = server.phone("zhang").await;
    for n in 0..1_200 {
        a.store.create_household(household_n("g1", n)).unwrap();
    }
    // edits to the same archives do not add rows to the snapshot
    for state in a.store.all_states(EntityKind::Household).unwrap().iter().take(300) {
        let mut h = household_of(&a, &state.id);
        h.notes = "复访".into();
        a.store.update_household(h).unwrap();
    }
    a.sync().await;
    let b = server.phone("zhang").await;
    let b_engine = SyncEngine::new(b.store.clone(), SyncConfig { pull_limit: 250, ..b.config.clone() }).unwrap();
    let report = b_engine.sync_once().await.unwrap();
    assert_eq!((report.pulled, report.pages), (1_200, 5));
    assert_eq!(b.store.all_states(EntityKind::Household).unwrap(), a.store.all_states(EntityKind::Household).unwrap());
    // nothing new: one page, nothing pulled
    let again = b_engine.sync_once().await.unwrap();
    assert_eq!((again.pulled, again.pages), (0, 1));
}

#[tokio::test]
async fn status_is_true_offline_and_retries_back_off() {
    // a server that is not there
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(dir.path().join("p.db")).unwrap());
    store.create_household(household_n("g1", 1)).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let engine = SyncEngine::new(store.clone(), SyncConfig::new(&url, "token", "t")).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    engine.set_observer(move |s| s2.lock().unwrap().push(s.phase.clone()));
    let before_first = chrono_now();
    let err = engine.sync_once().await.unwrap_err();
    assert!(sync::client::is_retryable(&err));
    let status = engine.status();
    assert!(matches!(status.phase, SyncPhase::Offline { .. }), "{status:?}");
    assert_eq!(status.last_success_ms, None, "never claims a success it did not have");
    assert_eq!(status.pending, 1);
    let first = match status.phase {
        SyncPhase::Offline { retry_at_ms } => retry_at_ms,
        _ => 0,
    };
    // jittered, but within bounds: the first wait is at least 0.5 s, the second at least 1 s
    assert!(first - before_first >= 500, "first wait {} ms", first - before_first);
    let before_second = chrono_now();
    let _ = engine.sync_once().await;
    let second = match engine.status().phase {
        SyncPhase::Offline { retry_at_ms } => retry_at_ms,
        _ => 0,
    };
    assert!(second - before_second >= 1_000, "second wait {} ms", second - before_second);
    assert!(second > first);
    assert!(seen.lock().unwrap().iter().any(|p| matches!(p, SyncPhase::Pushing { .. })));
    assert_eq!(store.pending_ops(10).unwrap().len(), 1, "nothing was lost");
}

#[tokio::test]
async fn a_back_office_op_with_an_unknown_field_is_rejected_not_stored() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    let op = Op {
        id: uuid::Uuid::now_v7(),
        kind: EntityKind::ArrearsAccount,
        entity: "acc-x".into(),
        grid: "g1".into(),
        action: OpAction::Create,
        fields: json!({"owed_fen": "a lot"}).as_object().unwrap().clone(),
        hlc: Hlc::new(1, 0, "backoffice"),
    };
    let result = server.storage.apply_backoffice_op(&op, gridbook_sync_server::now_ms()).unwrap();
    assert!(matches!(result.outcome, gridbook_core::sync::wire::OpOutcome::Rejected { .. }));
}

#[tokio::test]
async fn a_rejected_op_retried_after_its_cause_is_fixed_is_applied() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    server.grid_with_manager("g2", "li");
    let zhang = server.phone("zhang").await;
    let h = zhang.store.create_household(household_n("g2", 5)).unwrap();
    assert_eq!(zhang.sync().await.rejected, 1);
    assert_eq!(server.storage.rejections(10).unwrap().len(), 1);
    // the back office gives zhang grid g2 too; the manager retries the change
    server.storage.assign_grid("zhang", "g2").unwrap();
    let op_id = zhang.store.rejected_ops().unwrap()[0].op.id.to_string();
    assert!(zhang.store.retry_rejected(&op_id).unwrap());
    let report = zhang.sync().await;
    assert_eq!((report.acknowledged, report.rejected), (1, 0));
    assert!(zhang.store.rejected_ops().unwrap().is_empty());
    assert!(server.storage.rejections(10).unwrap().is_empty(), "the rejection is resolved");
    let li = server.phone("li").await;
    li.sync().await;
    assert_eq!(li.store.household(&h.id, Reveal::Masked).unwrap().customer_name, h.customer_name);
}

#[tokio::test]
async fn the_status_counts_changes_made_since_the_last_sync() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    let phone = server.phone("zhang").await;
    assert_eq!(sync::client::enrolled_as(&phone.store).unwrap(), Some(("zhang".to_string(), vec!["g1".to_string()])));
    phone.sync().await;
    assert_eq!(phone.engine.status().pending, 0);
    phone.store.create_household(household_n("g1", 1)).unwrap();
    let status = phone.engine.status();
    assert_eq!(status.pending, 1, "a change made offline must not look synced");
    assert!(matches!(status.phase, SyncPhase::Idle));
    phone.sync().await;
    assert_eq!(phone.engine.status().pending, 0);
}

#[tokio::test]
async fn a_phone_over_its_request_budget_waits_as_asked_keeps_what_it_pulled_and_finishes() {
    use gridbook_sync_server::http::device_budget::BudgetConfig;
    let server = TestServer::start_with(|state| {
        *state = state.clone().with_device_budget(BudgetConfig { per_second: 5, burst: 8 })
    })
    .await;
    server.grid_with_manager("g1", "zhang");
    let a = server.phone("zhang").await;
    for n in 0..1_200 {
        a.store.create_household(household_n("g1", n)).unwrap();
    }
    a.sync().await;
    // thirteen pages of 100 and a few requests more: more than a burst of 8
    let b = server.phone("zhang").await;
    let b_engine = SyncEngine::new(b.store.clone(), SyncConfig { pull_limit: 100, ..b.config.clone() }).unwrap();
    let before = chrono_now();
    let err = b_engine.sync_once().await.unwrap_err();
    let Error::Busy { retry_after_ms, message } = &err else {
        panic!("expected the server to ask for a wait: {err:?}")
    };
    assert!((1..=200).contains(retry_after_ms), "5 requests a second: {retry_after_ms} ms");
    assert!(message.contains("429 rate_limited"), "{message}");
    let status = b_engine.status();
    let SyncPhase::Offline { retry_at_ms } = status.phase else {
        panic!("a wait is shown as offline until then: {status:?}")
    };
    assert!(retry_at_ms - before >= (*retry_after_ms as i64).max(500), "waits {} ms", retry_at_ms - before);
    assert!(status.last_error.as_deref().is_some_and(|e| e.contains("wait")), "{status:?}");
    // the pages it got are kept, and the next cycles continue from them
    let kept = b.store.all_states(EntityKind::Household).unwrap().len();
    assert!((100..1_200).contains(&kept), "{kept} households kept");
    assert!(b.store.pull_cursor().unwrap() > 0);
    // another phone has a budget of its own
    let c = server.phone("zhang").await;
    assert_eq!(c.sync().await.pulled, 1_200);

    let report = b_engine.sync_with_retry(6).await.expect("finishes within its budget");
    assert!(report.pulled as usize <= 1_200 - kept, "nothing pulled twice: {report:?}");
    assert_eq!(b.store.all_states(EntityKind::Household).unwrap(), a.store.all_states(EntityKind::Household).unwrap());
    assert_eq!(b_engine.status().phase, SyncPhase::Idle);
}
