//! The money controls on SQLite (storage/money.rs): receipts paged with what their account owed
//! when they arrived, and cash hand-ins (交款) recorded in one write transaction with an audit
//! row; a receipt's key in `hand_in_receipts` keeps it to one hand-in.

use rusqlite::{params, Connection, OptionalExtension};

use super::{receipts, SqliteStorage};
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::money::{
    check_hand_in, page_limit, CashLine, HandInCandidate, HandInRequest, HandInRow, MoneyPage, MoneyQuery,
    MoneyReceipt, MoneyStorage,
};
use crate::storage::ListPage;
use gridbook_core::sync::wire::ErrorCode;

/// A field of the receipt's stored JSON.
macro_rules! field {
    ($name:literal) => {
        concat!("json_extract(e.vals, '$.", $name, "')")
    };
}

const APPROVED_VOID: &str = "EXISTS (SELECT 1 FROM void_reviews v WHERE v.receipt_id = e.id AND v.status = 'approved')";

/// The receipts of a money query: ?1 flagged only, ?2 collector, ?3 cash not handed in, ?4 number,
/// ?5 the grids as a JSON array (NULL: every grid).
fn from_where() -> String {
    format!(
        "FROM entities e
         LEFT JOIN receipt_checks c ON c.receipt_id = e.id
         LEFT JOIN hand_in_receipts h ON h.receipt_id = e.id
         WHERE e.kind = 'receipt'
           AND (?1 = 0 OR (c.owed_at_arrival_fen IS NOT NULL AND ({amount} > c.owed_at_arrival_fen
                OR {owed_before} <> c.owed_at_arrival_fen)))
           AND (?2 IS NULL OR {collector} = ?2)
           AND (?3 = 0 OR (h.receipt_id IS NULL AND {method} = 'cash' AND NOT {APPROVED_VOID}))
           AND (?4 IS NULL OR {number} = ?4)
           AND (?5 IS NULL OR e.grid_id IN (SELECT value FROM json_each(?5)))",
        amount = field!("amount_fen"),
        owed_before = field!("owed_before_fen"),
        collector = field!("collector_id"),
        method = field!("method"),
        number = field!("receipt_no"),
    )
}

/// A query's grids as the JSON array `json_each` reads; None for every grid.
fn grids_json(q: &MoneyQuery) -> StorageResult<Option<String>> {
    q.grids.as_ref().map(|g| serde_json::to_string(g).map_err(|e| StorageError::invalid(e.to_string()))).transpose()
}

fn page(c: &Connection, q: &MoneyQuery) -> StorageResult<MoneyPage> {
    let grids = grids_json(q)?;
    let filter = params![q.flagged, q.collector, q.not_handed_in, q.receipt_no, grids];
    let (total, total_fen): (i64, i64) = c.query_row(
        &format!(
            "SELECT count(*), coalesce(sum(CASE WHEN NOT {APPROVED_VOID} AND {amount} BETWEEN -10000000000 AND 10000000000
                 THEN {amount} END), 0) {}",
            from_where(),
            amount = field!("amount_fen"),
        ),
        filter,
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let sql = format!(
        "SELECT e.id, coalesce({no}, ''), coalesce({grid}, e.grid_id), coalesce({account}, ''), coalesce({household}, ''),
                coalesce({owed_before}, 0), coalesce({amount}, 0), coalesce({cash}, 0), coalesce({change}, 0),
                coalesce({method}, ''), coalesce({at}, 0), coalesce({zone}, 480), coalesce({collector}, ''),
                (SELECT name FROM managers m WHERE m.id = {collector}), coalesce({device}, ''),
                coalesce({signature}, '') <> '', c.owed_at_arrival_fen,
                (SELECT v.status FROM void_reviews v WHERE v.receipt_id = e.id
                 ORDER BY v.status = 'approved' DESC, v.requested_at_ms DESC LIMIT 1),
                h.hand_in_id
         {} ORDER BY {at} DESC, e.id LIMIT ?6 OFFSET ?7",
        from_where(),
        no = field!("receipt_no"),
        grid = field!("grid_id"),
        account = field!("account_id"),
        household = field!("household_id"),
        owed_before = field!("owed_before_fen"),
        amount = field!("amount_fen"),
        cash = field!("cash_received_fen"),
        change = field!("change_fen"),
        method = field!("method"),
        at = field!("collected_at_ms"),
        zone = field!("zone_offset_min"),
        collector = field!("collector_id"),
        device = field!("device_id"),
        signature = field!("signature_id"),
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![q.flagged, q.collector, q.not_handed_in, q.receipt_no, grids, page_limit(q), q.offset],
        |r| {
            Ok(MoneyReceipt {
                id: r.get(0)?,
                receipt_no: r.get(1)?,
                grid_id: r.get(2)?,
                account_id: r.get(3)?,
                household_id: r.get(4)?,
                owed_before_fen: r.get(5)?,
                amount_fen: r.get(6)?,
                cash_received_fen: r.get(7)?,
                change_fen: r.get(8)?,
                method: r.get(9)?,
                collected_at_ms: r.get(10)?,
                zone_offset_min: r.get(11)?,
                collector_id: r.get(12)?,
                collector_name: r.get(13)?,
                device_id: r.get(14)?,
                signed: r.get(15)?,
                owed_at_arrival_fen: r.get(16)?,
                void_status: r.get(17)?,
                hand_in_id: r.get(18)?,
                flags: vec![],
            }
            .with_flags())
        },
    )?;
    let receipts = rows.collect::<Result<_, _>>()?;
    Ok(MoneyPage { total, total_fen, offset: q.offset, receipts })
}

fn candidate(c: &Connection, id: &str) -> StorageResult<Option<HandInCandidate>> {
    let sql = format!(
        "SELECT e.id, coalesce({no}, ''), coalesce({collector}, ''), coalesce({method}, ''), coalesce({amount}, 0),
                {APPROVED_VOID}, EXISTS (SELECT 1 FROM hand_in_receipts h WHERE h.receipt_id = e.id)
         FROM entities e WHERE e.kind = 'receipt' AND e.id = ?1",
        no = field!("receipt_no"),
        collector = field!("collector_id"),
        method = field!("method"),
        amount = field!("amount_fen"),
    );
    Ok(c.prepare_cached(&sql)?
        .query_row([id], |r| {
            Ok(HandInCandidate {
                id: r.get(0)?,
                receipt_no: r.get(1)?,
                collector_id: r.get(2)?,
                method: r.get(3)?,
                amount_fen: r.get(4)?,
                void_approved: r.get(5)?,
                handed_in: r.get(6)?,
            })
        })
        .optional()?)
}

const HAND_IN_SELECT: &str = "SELECT i.id, i.manager_id, (SELECT name FROM managers m WHERE m.id = i.manager_id),
        i.amount_fen, (SELECT count(*) FROM hand_in_receipts h WHERE h.hand_in_id = i.id), i.received_by,
        i.handed_in_at_ms, i.note
    FROM hand_ins i";

fn hand_in_row(r: &rusqlite::Row) -> rusqlite::Result<HandInRow> {
    Ok(HandInRow {
        id: r.get(0)?,
        manager_id: r.get(1)?,
        manager_name: r.get(2)?,
        amount_fen: r.get(3)?,
        receipt_count: r.get(4)?,
        received_by: r.get(5)?,
        handed_in_at_ms: r.get(6)?,
        note: r.get(7)?,
    })
}

impl MoneyStorage for SqliteStorage {
    fn money_receipts(&self, q: &MoneyQuery) -> StorageResult<MoneyPage> {
        self.read(|c| page(c, q))
    }

    fn record_hand_in(&self, id: &str, request: &HandInRequest, by: &str, now_ms: i64) -> StorageResult<HandInRow> {
        self.write(|tx| {
            let mut found =
                Vec::with_capacity(request.receipt_ids.len().min(crate::storage::money::MAX_HAND_IN_RECEIPTS));
            for rid in request.receipt_ids.iter().take(crate::storage::money::MAX_HAND_IN_RECEIPTS + 1) {
                found.extend(candidate(tx, rid)?);
            }
            let sum = check_hand_in(request, &found)?;
            tx.prepare_cached(
                "INSERT INTO hand_ins (id, manager_id, amount_fen, received_by, handed_in_at_ms, note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![id, request.manager_id, sum, by, now_ms, request.note.trim()])?;
            let mut link =
                tx.prepare_cached("INSERT OR IGNORE INTO hand_in_receipts (receipt_id, hand_in_id) VALUES (?1, ?2)")?;
            for rid in &request.receipt_ids {
                if link.execute(params![rid, id])? != 1 {
                    return Err(StorageError::conflict(
                        ErrorCode::AlreadyHandedIn,
                        format!("收据 {rid} 的现金已交 receipt {rid} was handed in already"),
                    ));
                }
            }
            let detail = format!("{}: {} receipts, {sum} fen", request.manager_id, request.receipt_ids.len());
            receipts::audit(tx, by, "cash_handed_in", id, &detail, now_ms)?;
            tx.query_row(&format!("{HAND_IN_SELECT} WHERE i.id = ?1"), [id], hand_in_row).map_err(Into::into)
        })
    }

    fn hand_ins(&self, page: &ListPage) -> StorageResult<(u64, Vec<HandInRow>)> {
        // a hand-in is a manager's: every one when every grid is seen, else those of `managers`
        const MINE: &str = "WHERE ?1 IS NULL OR i.manager_id IN (SELECT value FROM json_each(?2))";
        let (grids, managers) = (page.grids_json(), page.managers_json());
        self.read(|c| {
            let total: i64 = c
                .prepare_cached(&format!("SELECT count(*) FROM hand_ins i {MINE}"))?
                .query_row(params![grids, managers], |r| r.get(0))?;
            let mut stmt = c.prepare_cached(&format!(
                "{HAND_IN_SELECT} {MINE} ORDER BY i.handed_in_at_ms DESC, i.id LIMIT ?3 OFFSET ?4"
            ))?;
            let rows = stmt.query_map(params![grids, managers, page.limit, page.offset], hand_in_row)?;
            Ok((u64::try_from(total).unwrap_or(0), rows.collect::<Result<_, _>>()?))
        })
    }

    fn cash_lines(&self, since_ms: i64) -> StorageResult<Vec<CashLine>> {
        self.read(|c| {
            let sql = format!(
                "SELECT e.grid_id, coalesce({collector}, ''), (SELECT name FROM managers m WHERE m.id = {collector}),
                        coalesce({amount}, 0), coalesce({at}, 0), coalesce({zone}, 480),
                        EXISTS (SELECT 1 FROM hand_in_receipts h WHERE h.receipt_id = e.id)
                 FROM entities e
                 WHERE e.kind = 'receipt' AND {method} = 'cash' AND {at} >= ?1 AND NOT {APPROVED_VOID}
                   AND {amount} BETWEEN -10000000000 AND 10000000000",
                collector = field!("collector_id"),
                amount = field!("amount_fen"),
                at = field!("collected_at_ms"),
                zone = field!("zone_offset_min"),
                method = field!("method"),
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map([since_ms], |r| {
                Ok(CashLine {
                    grid_id: r.get(0)?,
                    collector_id: r.get(1)?,
                    collector_name: r.get(2)?,
                    amount_fen: r.get(3)?,
                    collected_at_ms: r.get(4)?,
                    zone_offset_min: r.get(5)?,
                    handed_in: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn handed_in_fen(&self, grid_id: &str, start_ms: i64, end_ms: i64) -> StorageResult<Vec<(String, i64)>> {
        self.read(|c| {
            // SQLite's sum of integers fails on overflow rather than wrapping
            let sql = format!(
                "SELECT coalesce({collector}, ''), sum({amount}) FROM hand_in_receipts h
                 JOIN entities e ON e.kind = 'receipt' AND e.id = h.receipt_id
                 WHERE e.grid_id = ?1 AND {at} >= ?2 AND {at} < ?3 AND typeof({amount}) = 'integer'
                 GROUP BY 1 ORDER BY 1",
                collector = field!("collector_id"),
                amount = field!("amount_fen"),
                at = field!("collected_at_ms"),
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![grid_id, start_ms, end_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}
