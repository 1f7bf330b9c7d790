//! The push path under concurrency and repetition, through `tower::ServiceExt::oneshot`: pushes
//! from many devices at once (they may share a transaction and its commit) are each answered per
//! op and recorded once; a batch sent again, or an op repeated inside one batch, counts once; a
//! rejected op sent again after its cause was dealt with is applied and leaves the rejections.

use crate::common;

use std::sync::Arc;

use common::{sql_text, Server};
use gridbook_core::model::EntityKind;
use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::wire::{DeviceFacts, Op, OpAction, OpOutcome, PushRequest, PushResponse, PROTOCOL_VERSION};
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::now_ms;
use serde_json::{json, Map, Value};

/// Grids g1 and g2, field manager zhang holding g1.
fn fixture() -> Server {
    let f = Server::new()
        .grid("g1", "g1")
        .grid("g2", "g2")
        .manager("zhang", "张伟", Role::Field, None)
        .assign("zhang", "g1");
    // the household each grid's visits name (a pushed record names one the server holds); the
    // counts below leave out these back-office ops
    let households = ["g1", "g2"].map(|g| gridbook_core::testing::household_op(g, &format!("h-{g}")).unwrap());
    f.storage.apply_backoffice_ops(&households, now_ms()).unwrap();
    f
}

fn token(f: &Server, device: &str) -> String {
    f.device("zhang", device)
}

async fn push(f: &Server, token: &str, ops: &[Op]) -> PushResponse {
    f.push(token, &PushRequest { protocol: PROTOCOL_VERSION, facts: DeviceFacts::default(), ops: ops.to_vec() }).await
}

fn fields(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn visit(device: &str, grid: &str, n: u64) -> Op {
    let visit = gridbook_core::testing::visit(grid, &format!("h-{grid}"));
    gridbook_core::testing::visit_op(
        gridbook_core::testing::fields_of(&visit).unwrap(),
        Hlc::new(now_ms() as u64 - 1_000, n as u16, device),
    )
}

fn outcomes(r: &PushResponse) -> Vec<&'static str> {
    r.results
        .iter()
        .map(|r| match r.outcome {
            OpOutcome::Applied => "applied",
            OpOutcome::AlreadyHad => "already_had",
            OpOutcome::Superseded => "superseded",
            OpOutcome::Rejected { .. } => "rejected",
        })
        .collect()
}

fn count(f: &Server, sql: &str) -> i64 {
    f.count(sql)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pushes_are_each_answered_and_recorded_once_and_a_second_sending_changes_nothing() {
    let f = Arc::new(fixture());
    let devices: Vec<(String, Vec<Vec<Op>>)> = (0..8)
        .map(|d| {
            let device = format!("dev{d}");
            let batches = (0..3).map(|b| (0..50).map(|i| visit(&device, "g1", b * 50 + i)).collect()).collect();
            (token(&f, &device), batches)
        })
        .collect();
    for round in ["applied", "already_had"] {
        let tasks: Vec<_> = devices
            .iter()
            .cloned()
            .map(|(token, batches)| {
                let f = f.clone();
                tokio::spawn(async move {
                    let mut answers = Vec::new();
                    for batch in &batches {
                        let r = push(&f, &token, batch).await;
                        assert_eq!(
                            r.results.iter().map(|r| r.op_id).collect::<Vec<_>>(),
                            batch.iter().map(|o| o.id).collect::<Vec<_>>()
                        );
                        answers.extend(outcomes(&r));
                    }
                    answers
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), vec![round; 150]);
        }
        assert_eq!(
            count(&f, "SELECT count(*) FROM op_log WHERE device_id <> 'backoffice'"),
            8 * 150,
            "each op recorded once ({round})"
        );
        assert_eq!(count(&f, "SELECT count(*) FROM entities WHERE kind = 'visit'"), 8 * 150);
        assert_eq!(
            count(&f, "SELECT count(DISTINCT seq) FROM entities WHERE kind = 'visit'"),
            8 * 150,
            "every change has its own sequence number"
        );
    }
    assert_eq!(
        count(&f, "SELECT count(*) FROM sync_events WHERE direction = 'push'"),
        2 * 8 * 3,
        "every push is logged"
    );
}

#[tokio::test]
async fn an_op_repeated_inside_one_push_counts_once() {
    let f = fixture();
    let token = token(&f, "dev1");
    let v = visit("dev1", "g1", 1);
    // a create: an update of a household the server never saw is refused (unknown_entity)
    let mut record = gridbook_core::testing::household("g1");
    record.id = "h1".into();
    record.notes = "门口有狗".into();
    let household = Op {
        id: uuid::Uuid::now_v7(),
        kind: EntityKind::Household,
        entity: record.id.clone(),
        grid: "g1".into(),
        action: OpAction::Create,
        fields: gridbook_core::testing::fields_of(&record).unwrap(),
        hlc: Hlc::new(now_ms() as u64 - 1_000, 0, "dev1"),
    };
    let r = push(&f, &token, &[v.clone(), household.clone(), v, household]).await;
    assert_eq!(outcomes(&r), ["applied", "applied", "already_had", "already_had"]);
    assert_eq!(count(&f, "SELECT count(*) FROM op_log WHERE device_id <> 'backoffice'"), 2);
}

#[tokio::test]
async fn a_rejected_op_sent_again_after_its_grid_was_assigned_is_applied_and_leaves_the_rejections() {
    let f = fixture();
    let token = token(&f, "dev1");
    let elsewhere = visit("dev1", "g2", 1);
    let r = push(&f, &token, &[elsewhere.clone(), visit("dev1", "g1", 2)]).await;
    assert_eq!(outcomes(&r), ["rejected", "applied"]);
    assert!(matches!(&r.results[0].outcome, OpOutcome::Rejected { code, .. } if code.as_str() == "outside_grids"));
    assert_eq!(f.storage.rejections(10).unwrap().len(), 1);

    f.storage.assign_grid("zhang", "g2").unwrap();
    let r = push(&f, &token, &[elsewhere.clone(), elsewhere.clone()]).await;
    assert_eq!(outcomes(&r), ["applied", "already_had"]);
    let vals = f.text(&format!("SELECT vals FROM entities WHERE id = '{}'", elsewhere.entity));
    let vals: Value = serde_json::from_str(&vals).unwrap();
    assert_eq!(vals["outcome"], elsewhere.fields["outcome"], "the retried visit is stored with its fields");
    assert!(f.storage.rejections(10).unwrap().is_empty(), "the rejection was dealt with");
    assert_eq!(count(&f, "SELECT count(*) FROM op_log WHERE device_id <> 'backoffice'"), 2);
}

#[tokio::test]
async fn a_visit_stamped_a_week_ahead_is_stored_under_the_clamped_stamp_and_a_broken_one_is_refused_with_its_reason() {
    let f = fixture();
    let token = token(&f, "dev1");
    let mut ahead = visit("dev1", "g1", 1);
    ahead.hlc = Hlc::new(now_ms() as u64 + 7 * 24 * 3_600_000, 0, "dev1");
    let mut broken = visit("dev1", "g1", 2);
    broken.fields.insert("purpose".into(), json!("picnic"));
    let r = push(&f, &token, &[ahead.clone(), broken]).await;
    assert_eq!(outcomes(&r), ["applied", "rejected"]);
    let clamped = r.results[0].clamped_to.clone().expect("clamped");
    assert!(clamped.millis <= now_ms() as u64 && clamped.node == "dev1", "{clamped}");
    let base = f.text(&format!("SELECT base_hlc FROM entities WHERE id = '{}'", ahead.entity));
    assert_eq!(base, clamped.to_string(), "the record carries the stamp it was merged under");
    let OpOutcome::Rejected { reason, .. } = &r.results[1].outcome else { unreachable!() };
    assert!(reason.contains("picnic") && reason.contains("survey"), "{reason}");
}

#[tokio::test]
async fn another_op_for_a_stored_visit_is_refused_and_the_visit_keeps_its_first_record() {
    let f = fixture();
    let token = token(&f, "dev1");
    let first = visit("dev1", "g1", 1);
    let mut second = visit("dev1", "g1", 2);
    second.entity = first.entity.clone();
    second.fields.insert("outcome".into(), json!("改写的结果"));
    let r = push(&f, &token, std::slice::from_ref(&first)).await;
    assert_eq!(outcomes(&r), ["applied"]);
    // the stored fact is found by the insert, and each op then judged the long way
    let r = push(&f, &token, &[second.clone(), first.clone()]).await;
    assert_eq!(outcomes(&r), ["rejected", "already_had"]);
    assert!(
        matches!(&r.results[0].outcome, OpOutcome::Rejected { code, .. } if code.as_str() == "immutable"),
        "{:?}",
        r.results[0]
    );
    let column =
        |c: &str| f.text(&format!("SELECT {c} FROM entities WHERE kind = 'visit' AND id = '{}'", first.entity));
    let (vals, op_id, device) = (column("vals"), column("op_id"), column("device_id"));
    let vals: Value = serde_json::from_str(&vals).unwrap();
    assert_eq!(vals["outcome"], first.fields["outcome"]);
    assert_eq!((op_id, device.as_str()), (first.id.to_string(), "dev1"), "the fact's row names the op that carried it");
    assert_eq!(count(&f, "SELECT count(*) FROM op_log WHERE device_id <> 'backoffice'"), 1);
    assert_eq!(f.storage.rejections(10).unwrap().len(), 1, "the refused op waits with its reason");
    let body = f.text(&format!("SELECT body FROM rejections WHERE op_id = '{}'", second.id));
    let kept: Op = serde_json::from_str(&body).unwrap();
    assert_eq!(kept.fields["outcome"], json!("改写的结果"), "the refused op is kept whole, its fields with it");
    assert_eq!(kept.fields["household_id"], second.fields["household_id"]);
}

#[tokio::test]
async fn an_update_of_a_record_the_server_never_saw_is_refused_and_stores_nothing() {
    let f = fixture();
    let token = token(&f, "dev1");
    let mut household = gridbook_core::testing::household("g1");
    household.id = "h-new".into();
    let stamp = |n: u16| Hlc::new(now_ms() as u64 - 1_000, n, "dev1");
    let update = |n: u16| Op {
        id: uuid::Uuid::now_v7(),
        kind: EntityKind::Household,
        entity: household.id.clone(),
        grid: "g1".into(),
        action: OpAction::Update,
        fields: fields(json!({"notes": "只改了备注"})),
        hlc: stamp(n),
    };
    let early = update(1);
    let r = push(&f, &token, std::slice::from_ref(&early)).await;
    assert!(
        matches!(&r.results[0].outcome, OpOutcome::Rejected { code, .. } if code.as_str() == "unknown_entity"),
        "{r:?}"
    );
    assert_eq!(
        count(&f, "SELECT count(*) FROM entities WHERE id NOT IN ('h-g1', 'h-g2')"),
        0,
        "no partial record is stored"
    );
    assert_eq!(f.storage.rejections(10).unwrap().len(), 1, "the refusal is kept for the back office");

    let create = Op {
        id: uuid::Uuid::now_v7(),
        action: OpAction::Create,
        fields: gridbook_core::testing::fields_of(&household).unwrap(),
        hlc: stamp(2),
        ..update(2)
    };
    let r = push(&f, &token, &[create, update(3)]).await;
    assert_eq!(outcomes(&r), ["applied", "applied"], "created first, then edited, as phones do");
}

#[tokio::test]
async fn two_huge_receipts_stored_before_money_was_bounded_leave_the_money_pages_standing() {
    let f = fixture();
    let now = now_ms();
    for (id, amount) in [("r-huge-1", 1i64 << 62), ("r-huge-2", 1i64 << 62), ("r-fine", 500)] {
        let vals = json!({"grid_id": "g1", "receipt_no": id, "account_id": "a1", "amount_fen": amount,
            "cash_received_fen": amount, "change_fen": 0, "collected_at_ms": now, "collector_id": "zhang"});
        f.execute(&format!(
            "INSERT INTO entities (kind, id, grid_id, vals, base_hlc, seq, updated_at_ms)
             VALUES ('receipt', {}, 'g1', {}, {}, {}, {now})",
            sql_text(id),
            sql_text(&vals.to_string()),
            sql_text(&Hlc::new(now as u64, 0, "dev1").to_string()),
            f.next_seq_sql(),
        ));
    }
    let (session, _) = f.session("sup", Role::Supervisor);
    for page in ["/admin/api/overview", "/admin/api/money"] {
        let req = axum::http::Request::get(page)
            .header(axum::http::header::COOKIE, format!("gb_session={session}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let reply = f.send(req).await;
        assert_eq!(reply.status, axum::http::StatusCode::OK, "{page}: {}", String::from_utf8_lossy(&reply.body));
    }
}

/// One push editing one record twice after another device's edit, with a visit beside: the
/// record ends at its last state, each op is logged once, the overwrite of the other device's
/// edit is a conflict logged once and the push's second edit of its own first none; sent again
/// it changes nothing
/// (on PostgreSQL the push's writes go out together at its end, storage/postgres/entity_tx.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_edited_twice_in_one_push_keeps_its_last_state_and_each_op_and_conflict_is_logged_once() {
    let f = fixture();
    let (one, two) = (token(&f, "dev1"), token(&f, "dev2"));
    let mut record = gridbook_core::testing::household("g1");
    record.id = "h-twice".into();
    let at = now_ms() as u64 - 10_000;
    let op = |device: &str, action: OpAction, fields: Map<String, Value>, ms: u64| Op {
        id: uuid::Uuid::now_v7(),
        kind: EntityKind::Household,
        entity: record.id.clone(),
        grid: "g1".into(),
        action,
        fields,
        hlc: Hlc::new(at + ms, 0, device),
    };
    let create = op("dev1", OpAction::Create, gridbook_core::testing::fields_of(&record).unwrap(), 0);
    assert_eq!(outcomes(&push(&f, &one, &[create]).await), ["applied"]);
    let other = op("dev2", OpAction::Update, fields(json!({"notes": "二号机写的"})), 10);
    assert_eq!(outcomes(&push(&f, &two, &[other]).await), ["applied"]);
    // dev2 overwrote dev1's notes: one conflict already
    assert_eq!(count(&f, "SELECT count(*) FROM conflicts WHERE entity_id = 'h-twice'"), 1);
    let batch = [
        op("dev1", OpAction::Update, fields(json!({"notes": "一号机第一次"})), 20),
        visit("dev1", "g1", 7),
        op("dev1", OpAction::Update, fields(json!({"notes": "一号机第二次"})), 30),
    ];
    assert_eq!(outcomes(&push(&f, &one, &batch).await), ["applied", "applied", "applied"]);
    let notes = || f.text("SELECT vals FROM entities WHERE kind = 'household' AND id = 'h-twice'");
    assert!(notes().contains("一号机第二次"), "the last edit is what is stored: {}", notes());
    assert_eq!(count(&f, "SELECT count(*) FROM op_log WHERE device_id IN ('dev1', 'dev2')"), 5);
    assert_eq!(count(&f, "SELECT count(*) FROM conflicts WHERE entity_id = 'h-twice'"), 2);
    let again = push(&f, &one, &batch).await;
    assert_eq!(outcomes(&again), ["already_had", "already_had", "already_had"]);
    assert_eq!(count(&f, "SELECT count(*) FROM op_log WHERE device_id IN ('dev1', 'dev2')"), 5);
    assert_eq!(count(&f, "SELECT count(*) FROM conflicts WHERE entity_id = 'h-twice'"), 2);
    assert!(notes().contains("一号机第二次"));
}
