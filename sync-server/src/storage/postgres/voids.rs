//! Voids on PostgreSQL: the review list, and the back office's decision — approved or refused
//! once, with an audit row; an approval gives the receipt's amount back to its arrears account
//! once, even when two supervisors on two replicas decide at the same moment (the review's row is
//! locked, then the receipt's key, before anything is checked). Rules and texts as in
//! sqlite/receipts.rs.

use deadpool_postgres::GenericClient;
use gridbook_core::model::EntityKind;
use gridbook_core::sync::wire::ErrorCode;

use super::entity_tx::PgTx;
use super::pool::{Db, RowExt};
use super::PostgresStorage;
use crate::domain::auth::Role;
use crate::domain::signed;
use crate::storage::entity_tx::EntityTx;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::evidence::{VoidDecision, VoidFilter, VoidReviewRow};
use crate::storage::ListPage;

const VOID_SELECT: &str =
    "SELECT v.void_id, v.receipt_id, r.vals::json ->> 'receipt_no', (r.vals::json ->> 'amount_fen')::bigint,
        r.grid_id, coalesce(e.vals::json ->> 'reason', ''), v.device_id, v.requested_at_ms, v.status,
        v.decided_by, v.decided_at_ms, v.note
    FROM void_reviews v
    LEFT JOIN entities r ON r.kind = 'receipt' AND r.id = v.receipt_id
    LEFT JOIN entities e ON e.kind = 'receipt_void' AND e.id = v.void_id";

fn void_row(r: &tokio_postgres::Row) -> StorageResult<VoidReviewRow> {
    Ok(VoidReviewRow {
        void_id: r.at(0)?,
        receipt_id: r.at(1)?,
        receipt_no: r.at(2)?,
        amount_fen: r.at(3)?,
        grid_id: r.at(4)?,
        reason: r.at(5)?,
        requested_by_device: r.at(6)?,
        requested_at_ms: r.at(7)?,
        status: r.at(8)?,
        decided_by: r.at(9)?,
        decided_at_ms: r.at(10)?,
        note: r.at(11)?,
    })
}

pub(super) fn void_reviews(s: &PostgresStorage, status: Option<&str>, limit: u32) -> StorageResult<Vec<VoidReviewRow>> {
    let conn = s.db.conn()?;
    let rows = s.db.query(
        &conn,
        &format!(
            "{VOID_SELECT} WHERE $1::text IS NULL OR v.status = $1 ORDER BY v.requested_at_ms DESC, v.void_id COLLATE \"C\" LIMIT $2"
        ),
        &[&status, &i64::from(limit)],
    )?;
    rows.iter().map(void_row).collect()
}

/// One page of the voids of `page.grids`' receipts that `filter` names, with the count of all, on
/// one snapshot.
pub(super) fn void_reviews_page(
    s: &PostgresStorage,
    filter: &VoidFilter,
    page: &ListPage,
) -> StorageResult<(u64, Vec<VoidReviewRow>)> {
    const WHERE: &str = "WHERE ($1::text IS NULL OR v.status = $1)
          AND ($2::text[] IS NULL OR r.grid_id = ANY($2::text[]))
          AND ($3::text IS NULL OR v.receipt_id = $3) AND ($4::text IS NULL OR v.void_id = $4)";
    let (limit, offset) = page.bounds();
    let (status, receipt, void) = (&filter.status, &filter.receipt_id, &filter.void_id);
    s.db.read(|tx| {
        let total: i64 = s
            .db
            .query_one(
                tx,
                &format!(
                    "SELECT count(*) FROM void_reviews v LEFT JOIN entities r ON r.kind = 'receipt' AND r.id = v.receipt_id {WHERE}"
                ),
                &[status, &page.grids, receipt, void],
            )?
            .at(0)?;
        let rows = s.db.query(
            tx,
            &format!("{VOID_SELECT} {WHERE} ORDER BY v.requested_at_ms DESC, v.void_id COLLATE \"C\" LIMIT $5 OFFSET $6"),
            &[status, &page.grids, receipt, void, &limit, &offset],
        )?;
        Ok((u64::try_from(total).unwrap_or(0), rows.iter().map(void_row).collect::<StorageResult<Vec<_>>>()?))
    })
}

fn void_review<C: GenericClient + Sync>(db: &Db, c: &C, void_id: &str) -> StorageResult<Option<VoidReviewRow>> {
    db.query_opt(c, &format!("{VOID_SELECT} WHERE v.void_id = $1"), &[&void_id])?.as_ref().map(void_row).transpose()
}

fn approved<C: GenericClient + Sync>(db: &Db, c: &C, receipt_id: &str) -> StorageResult<bool> {
    Ok(db
        .query_opt(c, "SELECT 1 FROM void_reviews WHERE receipt_id = $1 AND status = 'approved'", &[&receipt_id])?
        .is_some())
}

pub(super) fn decide_void(
    s: &PostgresStorage,
    void_id: &str,
    decision: VoidDecision,
    by: &str,
    note: &str,
    now_ms: i64,
) -> StorageResult<VoidReviewRow> {
    let db = &s.db;
    let row = db.write(|tx| {
        let role: Option<String> =
            db.query_opt(tx, "SELECT role FROM managers WHERE id = $1", &[&by])?.map(|r| r.at(0)).transpose()?;
        if !matches!(role.as_deref().and_then(Role::parse), Some(Role::Supervisor | Role::Admin)) {
            return Err(StorageError::denied(
                ErrorCode::Forbidden,
                format!("{by} is not a back-office supervisor or admin"),
            ));
        }
        // a second decision of this void waits here, then finds it decided
        db.query_opt(tx, "SELECT 1 FROM void_reviews WHERE void_id = $1 FOR UPDATE", &[&void_id])?;
        let review =
            void_review(db, tx, void_id)?.ok_or_else(|| StorageError::not_found(format!("no void {void_id}")))?;
        if review.status != "pending" {
            return Err(StorageError::conflict(
                ErrorCode::AlreadyDecided,
                format!("void {void_id} was already {}", review.status),
            ));
        }
        let note = note.trim();
        if note.chars().count() > 500 {
            return Err(StorageError::invalid("note: at most 500 characters"));
        }
        let (status, action) = match decision {
            VoidDecision::Approve => ("approved", "void_approved"),
            VoidDecision::Refuse => ("refused", "void_refused"),
        };
        let mut etx = PgTx::begin(db, tx, by, &[])?;
        if decision == VoidDecision::Approve {
            // the receipt's key first: another void of the same receipt approved at once waits
            let receipt = etx.load(EntityKind::Receipt, &review.receipt_id)?;
            if approved(db, tx, &review.receipt_id)? {
                return Err(StorageError::conflict(
                    ErrorCode::AlreadyVoided,
                    format!("receipt {} is already voided", review.receipt_id),
                ));
            }
            // The receipt no longer pays off the account: its amount is owed again.
            if let Some((receipt, _)) = receipt {
                let account = receipt.value("account_id").as_str().unwrap_or_default().to_string();
                let amount = receipt.value("amount_fen").as_i64().unwrap_or(0);
                signed::adjust_owed(&mut etx, &account, amount, now_ms)?;
            }
        }
        db.execute(
            tx,
            "UPDATE void_reviews SET status = $2, decided_by = $3, decided_at_ms = $4, note = $5 WHERE void_id = $1",
            &[&void_id, &status, &by, &now_ms, &note],
        )?;
        let detail = format!(
            "receipt {}{}",
            review.receipt_no.as_deref().unwrap_or(&review.receipt_id),
            if note.is_empty() { String::new() } else { format!(": {note}") }
        );
        etx.audit(by, action, void_id, &detail, now_ms)?;
        void_review(db, tx, void_id)?.ok_or_else(|| StorageError::internal("the void vanished"))
    })?;
    tracing::info!(void = %void_id, by, decision = ?decision, "void decided");
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::postgres::test_cluster::TestCluster;
    use crate::storage::SyncStorage;

    #[test]
    fn voids_of_one_receipt_approved_on_many_connections_at_once_give_its_amount_back_once() {
        let cluster = TestCluster::shared().expect("PostgreSQL 15 for the tests (.ci/install-tools)");
        let s = PostgresStorage::open(&cluster.create_database().expect("database")).expect("storage");
        s.create_grid("g1", "一网格", 0).expect("grid");
        s.create_manager("boss", "王主管", Role::Supervisor, None, 0).expect("supervisor");
        let conn = s.db.conn().expect("connection");
        let stamp = |ms: u64| gridbook_core::sync::hlc::Hlc::new(ms, 0, "phone1").to_string();
        s.db.batch(
            &conn,
            &format!(
                "INSERT INTO entities (kind, id, grid_id, vals, base_hlc, seq, updated_at_ms) VALUES
                   ('arrears_account', 'acc1', 'g1', '{{\"owed_fen\":1000}}', '{}', 1, 0),
                   ('receipt', 'r1', 'g1', '{{\"account_id\":\"acc1\",\"amount_fen\":300,\"receipt_no\":\"SJ000001-001\"}}', '{}', 2, 0);
                 INSERT INTO void_reviews (void_id, receipt_id, device_id, requested_at_ms) VALUES ('v1', 'r1', 'phone1', 5), ('v2', 'r1', 'phone1', 6);",
                stamp(1_000),
                stamp(2_000)
            ),
        )
        .expect("rows");
        let owed = || -> i64 {
            let vals: String =
                s.db.query_one(&conn, "SELECT vals FROM entities WHERE kind = 'arrears_account' AND id = 'acc1'", &[])
                    .expect("account")
                    .at(0)
                    .expect("vals");
            serde_json::from_str::<serde_json::Value>(&vals).expect("json")["owed_fen"].as_i64().expect("owed")
        };
        assert_eq!(owed(), 1000);
        let answers: Vec<StorageResult<VoidReviewRow>> = std::thread::scope(|scope| {
            let runs: Vec<_> = ["v1", "v1", "v2", "v2"]
                .into_iter()
                .map(|v| scope.spawn(|| s.decide_void(v, VoidDecision::Approve, "boss", "客户要求", 10)))
                .collect();
            runs.into_iter().map(|r| r.join().expect("thread")).collect()
        });
        let approved: Vec<_> = answers.iter().filter_map(|a| a.as_ref().ok()).collect();
        assert_eq!(approved.len(), 1, "{answers:?}");
        assert_eq!(approved[0].status, "approved");
        for refused in answers.iter().filter_map(|a| a.as_ref().err()) {
            assert!(matches!(refused.code(), ErrorCode::AlreadyDecided | ErrorCode::AlreadyVoided), "{refused}");
        }
        assert_eq!(owed(), 1300, "the receipt's 300 fen are owed again, once");
        assert_eq!(s.void_reviews(Some("approved"), 10).expect("list").len(), 1);
        assert_eq!(s.audit_log(Some(&approved[0].void_id), 10).expect("audit")[0].action, "void_approved");
        let e = s.decide_void("v1", VoidDecision::Approve, "nobody", "", 11).expect_err("not staff");
        assert_eq!(e.code(), ErrorCode::Forbidden);
    }
}
