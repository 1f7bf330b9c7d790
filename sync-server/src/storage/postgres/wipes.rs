//! Remote wipes on PostgreSQL (`device_wipes`, storage/wipes.rs), as on SQLite: orders and their
//! cancelling audited, the device told at its first contact, its signed report recorded with its
//! token refused from then on. Replicas taking the same device's requests at once meet on the
//! row: an order is replaced, cancelled or reported only in one statement (or under `FOR UPDATE`).

use deadpool_postgres::GenericClient;
use gridbook_core::sync::wire::{WipeMode, WipeOrder, WipeReport};
use tokio_postgres::Row;

use super::pool::{Db, RowExt};
use super::records::audit;
use super::PostgresStorage;
use crate::storage::error::StorageResult;
use crate::storage::wipes::{self, WipeColumns, WipeRow, WIPE_COLUMNS, WIPE_FROM};

fn columns(r: &Row) -> StorageResult<WipeColumns> {
    Ok(WipeColumns {
        device_id: r.at(0)?,
        manager_id: r.at(1)?,
        manager_name: r.at(2)?,
        mode: r.at(3)?,
        ordered_at_ms: r.at(4)?,
        ordered_by: r.at(5)?,
        told_at_ms: r.at(6)?,
        wiped_at_ms: r.at(7)?,
        figures: [r.at(8)?, r.at(9)?, r.at(10)?, r.at(11)?, r.at(12)?, r.at(13)?, r.at(14)?, r.at(15)?],
    })
}

fn one<C: GenericClient + Sync>(db: &Db, c: &C, device_id: &str, lock: bool) -> StorageResult<Option<WipeRow>> {
    let lock = if lock { " FOR UPDATE OF w" } else { "" };
    let found = db.query_opt(
        c,
        &format!("SELECT {WIPE_COLUMNS} FROM {WIPE_FROM} WHERE w.device_id = $1{lock}"),
        &[&device_id],
    )?;
    found.map(|r| columns(&r)?.row()).transpose()
}

pub(super) fn order_wipe(
    s: &PostgresStorage,
    device_id: &str,
    mode: WipeMode,
    by: &str,
    now_ms: i64,
) -> StorageResult<WipeRow> {
    let db = &s.db;
    db.write(|tx| {
        let revoked = db.query_opt(tx, "SELECT revoked_at_ms FROM devices WHERE id = $1 FOR SHARE", &[&device_id])?;
        match revoked.map(|r| r.at::<Option<i64>>(0)).transpose()? {
            None => return Err(wipes::no_device(device_id)),
            Some(Some(_)) => return Err(wipes::revoked(device_id)),
            Some(None) => {}
        }
        // a standing order not yet told is replaced (another mode, a new time); one told stands
        let written = db.execute(
            tx,
            "INSERT INTO device_wipes (device_id, mode, ordered_at_ms, ordered_by) VALUES ($1, $2, $3, $4)
             ON CONFLICT (device_id) DO UPDATE SET mode = excluded.mode, ordered_at_ms = excluded.ordered_at_ms,
                 ordered_by = excluded.ordered_by
             WHERE device_wipes.told_at_ms IS NULL AND device_wipes.wiped_at_ms IS NULL",
            &[&device_id, &mode.as_str(), &now_ms, &by],
        )?;
        if written == 0 {
            return Err(wipes::told_already(device_id));
        }
        audit(db, tx, by, "wipe_ordered", device_id, mode.as_str(), now_ms)?;
        one(db, tx, device_id, false)?.ok_or_else(|| wipes::no_order(device_id))
    })
}

pub(super) fn cancel_wipe(s: &PostgresStorage, device_id: &str, by: &str, now_ms: i64) -> StorageResult<()> {
    let db = &s.db;
    db.write(|tx| {
        let Some(row) = one(db, tx, device_id, true)? else { return Err(wipes::no_order(device_id)) };
        let gone = db.execute(
            tx,
            "DELETE FROM device_wipes WHERE device_id = $1 AND told_at_ms IS NULL AND wiped_at_ms IS NULL",
            &[&device_id],
        )?;
        if gone == 0 {
            return Err(wipes::told_already(device_id));
        }
        audit(db, tx, by, "wipe_cancelled", device_id, row.mode.as_str(), now_ms)
    })
}

pub(super) fn wipe_told(s: &PostgresStorage, device_id: &str, now_ms: i64) -> StorageResult<Option<WipeOrder>> {
    let db = &s.db;
    db.write(|tx| {
        let order = db.query_opt(
            tx,
            "UPDATE device_wipes SET told_at_ms = coalesce(told_at_ms, $2)
             WHERE device_id = $1 AND wiped_at_ms IS NULL RETURNING mode, ordered_at_ms",
            &[&device_id, &now_ms],
        )?;
        let Some(order) = order else { return Ok(None) };
        let (mode, ordered_at_ms): (String, i64) = (order.at(0)?, order.at(1)?);
        Ok(WipeMode::parse(&mode).map(|mode| WipeOrder { mode, ordered_at_ms }))
    })
}

pub(super) fn record_wipe_report(
    s: &PostgresStorage,
    device_id: &str,
    report: &WipeReport,
    now_ms: i64,
) -> StorageResult<WipeRow> {
    let db = &s.db;
    db.write(|tx| {
        let Some(row) = one(db, tx, device_id, true)? else { return Err(wipes::no_order(device_id)) };
        if row.wiped_at_ms.is_some() {
            return Err(wipes::told_already(device_id));
        }
        if row.order() != (WipeOrder { mode: report.mode, ordered_at_ms: report.ordered_at_ms }) {
            return Err(wipes::other_order());
        }
        let f = wipes::stored_figures(report);
        db.execute(
            tx,
            "UPDATE device_wipes SET told_at_ms = coalesce(told_at_ms, $2), wiped_at_ms = $2, device_wiped_at_ms = $3,
                 ops_uploaded = $4, receipts_uploaded = $5, receipts_uploaded_fen = $6, ops_rejected = $7,
                 ops_lost = $8, receipts_lost = $9, receipts_lost_fen = $10
             WHERE device_id = $1",
            &[&device_id, &now_ms, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7]],
        )?;
        // refused like a revoked device from now on; the id never enrols again (devices.rs)
        db.execute(
            tx,
            "UPDATE devices SET revoked_at_ms = coalesce(revoked_at_ms, $2) WHERE id = $1",
            &[&device_id, &now_ms],
        )?;
        audit(db, tx, device_id, "wipe_reported", device_id, &wipes::describe(report), now_ms)?;
        one(db, tx, device_id, false)?.ok_or_else(|| wipes::no_order(device_id))
    })
}

pub(super) fn wipes(s: &PostgresStorage) -> StorageResult<Vec<WipeRow>> {
    let db = &s.db;
    db.read(|tx| {
        let rows = db.query(
            tx,
            &format!("SELECT {WIPE_COLUMNS} FROM {WIPE_FROM} ORDER BY w.ordered_at_ms DESC, w.device_id COLLATE \"C\""),
            &[],
        )?;
        rows.iter().map(|r| columns(r)?.row()).collect()
    })
}
