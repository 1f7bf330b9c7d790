//! References between records on push (issue 21, defect 7; docs/sync-protocol.md, "References"):
//! a pushed record names only records the server holds, in its own grid, or it is rejected
//! `bad_reference` with the field, the record and the grids in its reason. Order within a push
//! counts: what an earlier op of the same push created exists. And the resident ID's check
//! character is stored as `X` however a client sent it (defect 12).

use crate::common;

use common::Server;
use gridbook_core::model::{EntityKind, Record};
use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::wire::{DeviceFacts, Op, OpAction, OpOutcome, PushRequest, PushResponse, RejectCode};
use gridbook_core::testing;
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::now_ms;

/// Grids g1 and g2, both held by field manager zhang: a refusal here is about references, never
/// about the device's grids.
fn fixture() -> Server {
    Server::new()
        .grid("g1", "g1")
        .grid("g2", "g2")
        .manager("zhang", "张伟", Role::Field, None)
        .assign("zhang", "g1")
        .assign("zhang", "g2")
}

fn create<R: Record>(record: &R, id: &str, n: u16) -> Op {
    let mut fields = testing::fields_of(record).unwrap();
    fields.remove("id");
    let grid = fields["grid_id"].as_str().unwrap().to_string();
    Op {
        id: uuid::Uuid::now_v7(),
        kind: R::KIND,
        entity: id.into(),
        grid,
        action: OpAction::Create,
        fields,
        hlc: Hlc::new(now_ms() as u64 - 10_000, n, "dev1"),
    }
}

async fn push(f: &Server, token: &str, ops: Vec<Op>) -> PushResponse {
    f.push(token, &PushRequest { protocol: 1, facts: DeviceFacts::default(), ops }).await
}

fn rejection(r: &PushResponse, i: usize) -> Option<(RejectCode, String)> {
    match &r.results[i].outcome {
        OpOutcome::Rejected { code, reason } => Some((*code, reason.clone())),
        _ => None,
    }
}

#[tokio::test]
async fn a_visit_in_one_grid_naming_a_household_of_another_is_refused_as_a_bad_reference() {
    let f = fixture();
    let token = f.device("zhang", "dev1");
    let ops = vec![
        // a visit before its household in the same push: not there yet
        create(&testing::visit("g1", "hA"), "v0", 1),
        create(&testing::household("g1"), "hA", 2),
        create(&testing::household("g2"), "hB", 3),
        // the household created earlier in this push counts as existing
        create(&testing::visit("g1", "hA"), "v1", 4),
        create(&testing::visit("g1", "hB"), "v2", 5),
        create(&testing::visit("g1", "never-pushed"), "v3", 6),
        create(&testing::appointment("g1", "hB", 1_800_000_000_000), "a1", 7),
        create(&testing::reminder_outcome("g1", "hB", "birthday:hB:2026"), "o1", 8),
        create(&testing::ticket("g1", "hB", "2026-12-31"), "t1", 9),
        // a ticket without an archive names nothing
        create(&testing::ticket("g1", "", "2026-12-31"), "t2", 10),
    ];
    let r = push(&f, &token, ops).await;
    let codes: Vec<Option<RejectCode>> = (0..r.results.len()).map(|i| rejection(&r, i).map(|(c, _)| c)).collect();
    let bad = Some(RejectCode::BadReference);
    assert_eq!(codes, vec![bad, None, None, None, bad, bad, bad, bad, bad, None], "{r:?}");
    let (_, reason) = rejection(&r, 4).unwrap();
    assert!(reason.contains("household hB is in grid g2, not grid g1"), "{reason}");
    assert!(reason.starts_with("household_id: 客户档案 hB 在网格 g2"), "{reason}");
    let (_, reason) = rejection(&r, 5).unwrap();
    assert!(reason.contains("there is no household never-pushed"), "{reason}");
    // the refused ones wait on the server with their reason, for the back office
    let kept = f.storage.rejections(50).unwrap();
    assert_eq!(kept.iter().filter(|k| k.code == "bad_reference").count(), 6);

    // pushed again once its household is there, the first visit is applied
    let again = create(&testing::visit("g1", "hA"), "v0", 1);
    let r = push(&f, &token, vec![again]).await;
    assert_eq!(r.results[0].outcome, OpOutcome::Applied);
}

#[tokio::test]
async fn notices_receipts_voids_and_billing_name_records_of_their_grid() {
    let f = fixture();
    let token = f.device("zhang", "dev1");
    let setup = vec![
        testing::backoffice_create(&testing::household("g1"), "g1", 1).unwrap(),
        testing::backoffice_create(&testing::household("g2"), "g2", 2).unwrap(),
    ];
    let mut setup = setup;
    setup[0].entity = "hA".into();
    setup[1].entity = "hB".into();
    setup.push(Op {
        entity: "acB".into(),
        ..testing::backoffice_create(&testing::account("g2", "hB", 5_000), "g2", 3).unwrap()
    });
    // the back office's own figures are held to the rule too
    setup.push(Op {
        entity: "bp1".into(),
        ..testing::backoffice_create(&testing::billing_profile("g1", "hB", "2026-11"), "g1", 4).unwrap()
    });
    let results = f.storage.apply_backoffice_ops(&setup, now_ms()).unwrap();
    assert!(matches!(results[3].outcome, OpOutcome::Rejected { code: RejectCode::BadReference, .. }), "{results:?}");

    let mut notice_fields = serde_json::json!({
        "grid_id": "g1", "account_id": "acB", "household_id": "hA", "channel": "phone",
        "given_at_ms": 1_700_000_000_000i64, "zone_offset_min": 480, "outcome": "答应月底交", "notes": "", "manager_id": "zhang"
    });
    let notice = |fields: &serde_json::Value, id: &str| Op {
        id: uuid::Uuid::now_v7(),
        kind: EntityKind::ArrearsNotice,
        entity: id.into(),
        grid: "g1".into(),
        action: OpAction::Create,
        fields: fields.as_object().cloned().unwrap(),
        hlc: Hlc::new(now_ms() as u64 - 10_000, 1, "dev1"),
    };
    let void = create(
        &gridbook_core::model::ReceiptVoid {
            id: String::new(),
            grid_id: "g1".into(),
            receipt_id: "no-such-receipt".into(),
            reason: "写错了".into(),
            voided_at_ms: 1_700_000_000_000,
            voided_by: "zhang".into(),
        },
        "void1",
        2,
    );
    let ops = vec![notice(&notice_fields, "n1"), void];
    let r = push(&f, &token, ops).await;
    let (code, reason) = rejection(&r, 0).unwrap();
    assert_eq!(code, RejectCode::BadReference);
    assert!(reason.contains("arrears account acB is in grid g2, not grid g1"), "{reason}");
    let (code, reason) = rejection(&r, 1).unwrap();
    assert_eq!(code, RejectCode::BadReference);
    assert!(reason.contains("there is no receipt no-such-receipt"), "{reason}");
    // the same notice in the account's grid, about the account's household, is applied
    notice_fields["grid_id"] = "g2".into();
    notice_fields["household_id"] = "hB".into();
    let mut op = notice(&notice_fields, "n2");
    op.grid = "g2".into();
    let r = push(&f, &token, vec![op]).await;
    assert_eq!(r.results[0].outcome, OpOutcome::Applied, "{r:?}");
}

#[tokio::test]
async fn a_resident_id_sent_with_a_lowercase_x_is_stored_with_x() {
    let f = fixture();
    let token = f.device("zhang", "dev1");
    let number = (0..1000).map(testing::resident_id).find(|n| n.ends_with('X')).unwrap();
    let mut h = testing::household("g1");
    h.id_number = number.to_lowercase();
    let r = push(&f, &token, vec![create(&h, "hX", 1)]).await;
    assert_eq!(r.results[0].outcome, OpOutcome::Applied, "{r:?}");
    let vals = f.text("SELECT vals FROM entities WHERE kind = 'household' AND id = 'hX'");
    let vals: serde_json::Value = serde_json::from_str(&vals).unwrap();
    assert_eq!(vals["id_number"], serde_json::json!(number));
}
