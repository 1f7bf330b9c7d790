//! The core of sync from one source on either backend (GRIDBOOK_TEST_BACKEND=postgres runs it on
//! PostgreSQL; scripts/test-postgres.sh does): an enrolment code taken by many phones at once
//! enrols one; what one phone pushes another pulls, page by page, every record once; edits of one
//! field by two phones log one conflict, and sending them again logs nothing more.

use crate::common;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{json_post, Server};
use gridbook_core::model::EntityKind;
use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::wire::{
    DeviceFacts, EnrolRequest, Op, OpAction, OpOutcome, PullPage, PushRequest, PushResponse, PROTOCOL_VERSION,
};
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::now_ms;
use serde_json::{json, Value};

fn fixture() -> Server {
    Server::new()
        .grid("g1", "一网格")
        .manager("zhang", "张伟", Role::Field, None)
        .manager("li", "李娜", Role::Field, None)
        .assign("zhang", "g1")
        .assign("li", "g1")
}

async fn push(f: &Server, token: &str, ops: &[Op]) -> PushResponse {
    f.push(token, &PushRequest { protocol: PROTOCOL_VERSION, facts: DeviceFacts::default(), ops: ops.to_vec() }).await
}

async fn pull(f: &Server, token: &str, cursor: u64, limit: u32) -> PullPage<Value> {
    let req = Request::get(format!("/v1/pull?cursor={cursor}&limit={limit}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let reply = f.send(req).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    serde_json::from_slice(&reply.body).unwrap()
}

/// Every record a phone pulls from `cursor` on, page after page, with the final cursor.
async fn pull_all(f: &Server, token: &str, mut cursor: u64, limit: u32) -> (Vec<Value>, u64) {
    let mut seen = Vec::new();
    loop {
        let page = pull(f, token, cursor, limit).await;
        assert!(page.changes.len() <= limit as usize);
        assert!(page.next_cursor >= cursor, "the cursor never goes back");
        cursor = page.next_cursor;
        seen.extend(page.changes);
        if !page.has_more {
            return (seen, cursor);
        }
    }
}

fn household_create(n: u32, device: &str) -> Op {
    let household = gridbook_core::testing::household_n("g1", u64::from(n));
    Op {
        id: uuid::Uuid::now_v7(),
        kind: EntityKind::Household,
        entity: format!("h{n}"),
        grid: "g1".into(),
        action: OpAction::Create,
        fields: gridbook_core::testing::fields_of(&household).unwrap(),
        hlc: Hlc::new(now_ms() as u64 - 10_000, n as u16, device),
    }
}

/// An edit of the notes stamped `millis_ago` before now.
fn notes_edit(entity: &str, notes: &str, millis_ago: u64, device: &str) -> Op {
    Op {
        id: uuid::Uuid::now_v7(),
        kind: EntityKind::Household,
        entity: entity.into(),
        grid: "g1".into(),
        action: OpAction::Update,
        fields: json!({ "notes": notes }).as_object().cloned().unwrap(),
        hlc: Hlc::new(now_ms() as u64 - millis_ago, 0, device),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrolment_code_taken_by_many_phones_at_once_enrols_exactly_one() {
    let f = Arc::new(fixture());
    let code = f.storage.create_enrol_code("zhang", now_ms(), 3_600_000).unwrap();
    let tries: Vec<_> = (0..8)
        .map(|i| {
            let (f, code) = (f.clone(), code.clone());
            tokio::spawn(async move {
                let request = EnrolRequest {
                    protocol: PROTOCOL_VERSION,
                    code,
                    device_id: format!("phone{i}"),
                    app_version: "2.1.0".into(),
                    public_key: None,
                };
                f.send(json_post("/v1/enrol", &request)).await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tries {
        let reply = t.await.unwrap();
        if reply.status != StatusCode::OK {
            assert_eq!(reply.error().code.as_str(), "code_used", "{}", reply.text());
        }
        statuses.push(reply.status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert_eq!(f.storage.devices().unwrap().len(), 1, "one device enrolled");
}

#[tokio::test]
async fn what_one_phone_pushes_another_pulls_in_pages_each_record_once_and_a_second_push_changes_nothing() {
    let f = fixture();
    let (a, b) = (f.enrol("zhang", "phoneA").await, f.enrol("li", "phoneB").await);
    let ops: Vec<Op> = (1..=25).map(|n| household_create(n, "phoneA")).collect();
    let answer = push(&f, &a, &ops).await;
    assert!(answer.results.iter().all(|r| r.outcome == OpOutcome::Applied), "{answer:?}");

    let (seen, cursor) = pull_all(&f, &b, 0, 7).await;
    let ids: Vec<&str> = seen.iter().map(|c| c["id"].as_str().unwrap()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), 25, "each record once: {ids:?}");
    assert_eq!(unique, (1..=25).map(|n| format!("h{n}")).collect::<BTreeSet<_>>().iter().map(String::as_str).collect());
    let h7 = seen.iter().find(|c| c["id"] == "h7").unwrap();
    assert_eq!(h7["values"]["customer_name"], ops[6].fields["customer_name"], "values as pushed");

    // the same push again (a phone that timed out): already had, nothing new to pull
    let again = push(&f, &a, &ops).await;
    assert!(again.results.iter().all(|r| r.outcome == OpOutcome::AlreadyHad), "{again:?}");
    let (more, _) = pull_all(&f, &b, cursor, 7).await;
    assert!(more.is_empty(), "nothing changed: {more:?}");
    assert_eq!(f.count("SELECT count(*) FROM op_log WHERE device_id = 'phoneA'"), 25, "each op recorded once");

    // an edit is pulled after the cursor, once
    let edit = notes_edit("h3", "周末在家", 1_000, "phoneA");
    assert_eq!(push(&f, &a, std::slice::from_ref(&edit)).await.results[0].outcome, OpOutcome::Applied);
    let (more, _) = pull_all(&f, &b, cursor, 7).await;
    assert_eq!(more.len(), 1);
    assert_eq!((more[0]["id"].as_str(), more[0]["values"]["notes"].as_str()), (Some("h3"), Some("周末在家")));
}

#[tokio::test]
async fn two_phones_editing_one_field_log_one_conflict_and_sending_again_logs_no_more() {
    let f = fixture();
    let (a, b) = (f.enrol("zhang", "phoneA").await, f.enrol("li", "phoneB").await);
    push(&f, &a, &[household_create(1, "phoneA")]).await;
    let earlier = notes_edit("h1", "甲的备注", 5_000, "phoneA");
    let later = notes_edit("h1", "乙的备注", 2_000, "phoneB");
    assert_eq!(push(&f, &a, std::slice::from_ref(&earlier)).await.results[0].outcome, OpOutcome::Applied);
    assert!(f.storage.conflicts(10).unwrap().is_empty(), "a phone editing its own record is no conflict");
    assert_eq!(push(&f, &b, std::slice::from_ref(&later)).await.results[0].outcome, OpOutcome::Applied);
    let conflicts = f.storage.conflicts(10).unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!((conflicts[0].field.as_str(), conflicts[0].old_device.as_str()), ("notes", "phoneA"));

    for _ in 0..2 {
        assert_eq!(push(&f, &a, std::slice::from_ref(&earlier)).await.results[0].outcome, OpOutcome::AlreadyHad);
        assert_eq!(push(&f, &b, std::slice::from_ref(&later)).await.results[0].outcome, OpOutcome::AlreadyHad);
    }
    assert_eq!(f.storage.conflicts(10).unwrap().len(), 1, "the conflict is logged once");
    let (seen, _) = pull_all(&f, &a, 0, 100).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["values"]["notes"], "乙的备注", "the later stamp holds the field");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_push_on_two_connections_at_once_is_applied_once_and_both_answers_agree() {
    let f = Arc::new(fixture());
    let a = f.enrol("zhang", "phoneA").await;
    push(&f, &a, &[household_create(1, "phoneA")]).await;
    // stamps that rise round by round: each edit overwrites the one before, another device's
    let start = 5_000u64; // after the create's stamp (10 s ago)
    for round in 0..5u64 {
        let b = f.enrol("li", &format!("phoneB{round}")).await;
        let theirs = notes_edit("h1", &format!("乙{round}"), start - round * 100 - 10, &format!("phoneB{round}"));
        assert_eq!(push(&f, &b, &[theirs]).await.results[0].outcome, OpOutcome::Applied);
        // an edit that overwrites another device's field: applied once, its conflict logged once
        let edit = notes_edit("h1", &format!("甲{round}"), start - round * 100 - 20, "phoneA");
        let sends: Vec<_> = (0..2)
            .map(|_| {
                let (f, a, edit) = (f.clone(), a.clone(), edit.clone());
                tokio::spawn(async move { push(&f, &a, &[edit]).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for s in sends {
            outcomes.push(s.await.unwrap().results[0].outcome.clone());
        }
        outcomes.sort_by_key(|o| format!("{o:?}"));
        assert_eq!(outcomes, [OpOutcome::AlreadyHad, OpOutcome::Applied], "round {round}");
        let id = edit.id.to_string();
        assert_eq!(f.count(&format!("SELECT count(*) FROM op_log WHERE op_id = '{id}'")), 1);
        let logged = f.storage.conflicts(100).unwrap().len() as u64;
        assert_eq!(logged, 2 * (round + 1), "one conflict per overwriting edit");
    }
}
