//! The money controls on PostgreSQL (storage/money.rs), as sqlite/money.rs: receipts paged with
//! what their account owed when they arrived, and cash hand-ins (交款) in one transaction with an
//! audit row. Two replicas handing in the same receipt at once: the receipt's key in
//! `hand_in_receipts` lets one insert through; the other finds it taken and rolls back.

use deadpool_postgres::GenericClient;
use gridbook_core::sync::wire::ErrorCode;

use super::monitoring::{bounded_amount, int};
use super::pool::{Db, RowExt};
use super::PostgresStorage;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::money::{
    check_hand_in, page_limit, CashLine, HandInCandidate, HandInRequest, HandInRow, MoneyPage, MoneyQuery,
    MoneyReceipt, MoneyStorage, MAX_HAND_IN_RECEIPTS,
};
use crate::storage::ListPage;

const APPROVED_VOID: &str = "EXISTS (SELECT 1 FROM void_reviews v WHERE v.receipt_id = e.id AND v.status = 'approved')";

/// The receipts of a money query: $1 flagged only, $2 collector, $3 cash not handed in, $4 number,
/// $5 the grids (NULL: every grid).
fn from_where() -> String {
    format!(
        "FROM (SELECT id, grid_id, vals::jsonb AS j FROM entities WHERE kind = 'receipt') e
         LEFT JOIN receipt_checks c ON c.receipt_id = e.id
         LEFT JOIN hand_in_receipts h ON h.receipt_id = e.id
         WHERE (NOT $1::bool OR (c.owed_at_arrival_fen IS NOT NULL AND ({amount} > c.owed_at_arrival_fen
                OR {owed_before} <> c.owed_at_arrival_fen)))
           AND ($2::text IS NULL OR e.j ->> 'collector_id' = $2)
           AND (NOT $3::bool OR (h.receipt_id IS NULL AND e.j ->> 'method' = 'cash' AND NOT {APPROVED_VOID}))
           AND ($4::text IS NULL OR e.j ->> 'receipt_no' = $4)
           AND ($5::text[] IS NULL OR e.grid_id = ANY($5::text[]))",
        amount = int("e.j", "amount_fen"),
        owed_before = int("e.j", "owed_before_fen"),
    )
}

fn page<C: GenericClient + Sync>(db: &Db, c: &C, q: &MoneyQuery) -> StorageResult<MoneyPage> {
    let counted = db.query_one(
        c,
        &format!(
            "SELECT count(*), coalesce(sum(CASE WHEN NOT {APPROVED_VOID} THEN {amount} END), 0)::bigint {}",
            from_where(),
            amount = bounded_amount("e.j"),
        ),
        &[&q.flagged, &q.collector, &q.not_handed_in, &q.receipt_no, &q.grids],
    )?;
    let (total, total_fen): (i64, i64) = (counted.at(0)?, counted.at(1)?);
    let at = int("e.j", "collected_at_ms");
    let sql = format!(
        "SELECT e.id, coalesce(e.j ->> 'receipt_no', ''), coalesce(e.j ->> 'grid_id', e.grid_id),
                coalesce(e.j ->> 'account_id', ''), coalesce(e.j ->> 'household_id', ''),
                coalesce({owed_before}, 0), coalesce({amount}, 0), coalesce({cash}, 0), coalesce({change}, 0),
                coalesce(e.j ->> 'method', ''), coalesce({at}, 0), coalesce({zone}, 480),
                coalesce(e.j ->> 'collector_id', ''),
                (SELECT name FROM managers m WHERE m.id = e.j ->> 'collector_id'), coalesce(e.j ->> 'device_id', ''),
                coalesce(e.j ->> 'signature_id', '') <> '', c.owed_at_arrival_fen,
                (SELECT v.status FROM void_reviews v WHERE v.receipt_id = e.id
                 ORDER BY v.status = 'approved' DESC, v.requested_at_ms DESC LIMIT 1),
                h.hand_in_id
         {} ORDER BY {at} DESC NULLS LAST, e.id COLLATE \"C\" LIMIT $6 OFFSET $7",
        from_where(),
        owed_before = int("e.j", "owed_before_fen"),
        amount = int("e.j", "amount_fen"),
        cash = int("e.j", "cash_received_fen"),
        change = int("e.j", "change_fen"),
        zone = int("e.j", "zone_offset_min"),
    );
    let rows = db.query(
        c,
        &sql,
        &[&q.flagged, &q.collector, &q.not_handed_in, &q.receipt_no, &q.grids, &page_limit(q), &i64::from(q.offset)],
    )?;
    let receipts = rows
        .iter()
        .map(|r| {
            Ok(MoneyReceipt {
                id: r.at(0)?,
                receipt_no: r.at(1)?,
                grid_id: r.at(2)?,
                account_id: r.at(3)?,
                household_id: r.at(4)?,
                owed_before_fen: r.at(5)?,
                amount_fen: r.at(6)?,
                cash_received_fen: r.at(7)?,
                change_fen: r.at(8)?,
                method: r.at(9)?,
                collected_at_ms: r.at(10)?,
                zone_offset_min: r.at(11)?,
                collector_id: r.at(12)?,
                collector_name: r.at(13)?,
                device_id: r.at(14)?,
                signed: r.at(15)?,
                owed_at_arrival_fen: r.at(16)?,
                void_status: r.at(17)?,
                hand_in_id: r.at(18)?,
                flags: vec![],
            }
            .with_flags())
        })
        .collect::<StorageResult<_>>()?;
    Ok(MoneyPage { total, total_fen, offset: q.offset, receipts })
}

fn candidate<C: GenericClient + Sync>(db: &Db, c: &C, id: &str) -> StorageResult<Option<HandInCandidate>> {
    let sql = format!(
        "SELECT e.id, coalesce(e.j ->> 'receipt_no', ''), coalesce(e.j ->> 'collector_id', ''),
                coalesce(e.j ->> 'method', ''), coalesce({amount}, 0), {APPROVED_VOID},
                EXISTS (SELECT 1 FROM hand_in_receipts h WHERE h.receipt_id = e.id)
         FROM (SELECT id, vals::jsonb AS j FROM entities WHERE kind = 'receipt' AND id = $1) e",
        amount = int("e.j", "amount_fen"),
    );
    db.query_opt(c, &sql, &[&id])?
        .map(|r| {
            Ok(HandInCandidate {
                id: r.at(0)?,
                receipt_no: r.at(1)?,
                collector_id: r.at(2)?,
                method: r.at(3)?,
                amount_fen: r.at(4)?,
                void_approved: r.at(5)?,
                handed_in: r.at(6)?,
            })
        })
        .transpose()
}

const HAND_IN_SELECT: &str = "SELECT i.id, i.manager_id, (SELECT name FROM managers m WHERE m.id = i.manager_id),
        i.amount_fen, (SELECT count(*) FROM hand_in_receipts h WHERE h.hand_in_id = i.id), i.received_by,
        i.handed_in_at_ms, i.note
    FROM hand_ins i";

fn hand_in_row(r: &tokio_postgres::Row) -> StorageResult<HandInRow> {
    Ok(HandInRow {
        id: r.at(0)?,
        manager_id: r.at(1)?,
        manager_name: r.at(2)?,
        amount_fen: r.at(3)?,
        receipt_count: r.at(4)?,
        received_by: r.at(5)?,
        handed_in_at_ms: r.at(6)?,
        note: r.at(7)?,
    })
}

impl MoneyStorage for PostgresStorage {
    fn money_receipts(&self, q: &MoneyQuery) -> StorageResult<MoneyPage> {
        let db = &self.db;
        db.read(|tx| page(db, tx, q))
    }

    fn record_hand_in(&self, id: &str, request: &HandInRequest, by: &str, now_ms: i64) -> StorageResult<HandInRow> {
        let db = &self.db;
        db.write(|tx| {
            let mut found = Vec::with_capacity(request.receipt_ids.len().min(MAX_HAND_IN_RECEIPTS));
            for rid in request.receipt_ids.iter().take(MAX_HAND_IN_RECEIPTS + 1) {
                found.extend(candidate(db, tx, rid)?);
            }
            let sum = check_hand_in(request, &found)?;
            db.execute(
                tx,
                "INSERT INTO hand_ins (id, manager_id, amount_fen, received_by, handed_in_at_ms, note)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[&id, &request.manager_id, &sum, &by, &now_ms, &request.note.trim()],
            )?;
            for rid in &request.receipt_ids {
                let linked = db.execute(
                    tx,
                    "INSERT INTO hand_in_receipts (receipt_id, hand_in_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[rid, &id],
                )?;
                if linked != 1 {
                    return Err(StorageError::conflict(
                        ErrorCode::AlreadyHandedIn,
                        format!("收据 {rid} 的现金已交 receipt {rid} was handed in already"),
                    ));
                }
            }
            let detail = format!("{}: {} receipts, {sum} fen", request.manager_id, request.receipt_ids.len());
            super::records::audit(db, tx, by, "cash_handed_in", id, &detail, now_ms)?;
            hand_in_row(&db.query_one(tx, &format!("{HAND_IN_SELECT} WHERE i.id = $1"), &[&id])?)
        })
    }

    fn hand_ins(&self, page: &ListPage) -> StorageResult<(u64, Vec<HandInRow>)> {
        // a hand-in is a manager's: every one when every grid is seen, else those of `managers`
        const MINE: &str = "WHERE $1::text[] IS NULL OR i.manager_id = ANY($2::text[])";
        let db = &self.db;
        db.read(|tx| {
            let total: i64 = db
                .query_one(tx, &format!("SELECT count(*) FROM hand_ins i {MINE}"), &[&page.grids, &page.managers])?
                .at(0)?;
            let rows = db.query(
                tx,
                &format!(
                    "{HAND_IN_SELECT} {MINE} ORDER BY i.handed_in_at_ms DESC, i.id COLLATE \"C\" LIMIT $3 OFFSET $4"
                ),
                &[&page.grids, &page.managers, &i64::from(page.limit), &i64::from(page.offset)],
            )?;
            Ok((u64::try_from(total).unwrap_or(0), rows.iter().map(hand_in_row).collect::<StorageResult<Vec<_>>>()?))
        })
    }

    fn cash_lines(&self, since_ms: i64) -> StorageResult<Vec<CashLine>> {
        let db = &self.db;
        let conn = db.conn()?;
        let (amount, at) = (bounded_amount("e.j"), int("e.j", "collected_at_ms"));
        let sql = format!(
            "SELECT e.grid_id, coalesce(e.j ->> 'collector_id', ''), (SELECT name FROM managers m WHERE m.id = e.j ->> 'collector_id'),
                    {amount}, {at}, coalesce({zone}, 480),
                    EXISTS (SELECT 1 FROM hand_in_receipts h WHERE h.receipt_id = e.id)
             FROM (SELECT id, grid_id, vals::jsonb AS j FROM entities WHERE kind = 'receipt') e
             WHERE e.j ->> 'method' = 'cash' AND {at} >= $1 AND NOT {APPROVED_VOID} AND {amount} IS NOT NULL",
            zone = int("e.j", "zone_offset_min"),
        );
        let rows = db.query(&conn, &sql, &[&since_ms])?;
        rows.iter()
            .map(|r| {
                Ok(CashLine {
                    grid_id: r.at(0)?,
                    collector_id: r.at(1)?,
                    collector_name: r.at(2)?,
                    amount_fen: r.at(3)?,
                    collected_at_ms: r.at(4)?,
                    zone_offset_min: r.at(5)?,
                    handed_in: r.at(6)?,
                })
            })
            .collect()
    }

    fn handed_in_fen(&self, grid_id: &str, start_ms: i64, end_ms: i64) -> StorageResult<Vec<(String, i64)>> {
        let db = &self.db;
        let conn = db.conn()?;
        // the numeric sum cast back to bigint fails on overflow rather than wrapping; the caller
        // keys the sums by collector, so their order does not matter
        let (amount, at) = (int("e.j", "amount_fen"), int("e.j", "collected_at_ms"));
        let sql = format!(
            "SELECT coalesce(e.j ->> 'collector_id', ''), sum({amount})::bigint
             FROM hand_in_receipts h
             JOIN (SELECT id, grid_id, vals::jsonb AS j FROM entities WHERE kind = 'receipt') e ON e.id = h.receipt_id
             WHERE e.grid_id = $1 AND {at} >= $2 AND {at} < $3 AND {amount} IS NOT NULL
             GROUP BY 1"
        );
        let rows = db.query(&conn, &sql, &[&grid_id, &start_ms, &end_ms])?;
        rows.iter().map(|r| Ok((r.at(0)?, r.at(1)?))).collect()
    }
}
