//! Remote wipes on SQLite (`device_wipes`, storage/wipes.rs): the back office's orders and their
//! cancelling, each audited; the device told at its first contact; its signed report recorded
//! with its token refused from then on, in one transaction.

use gridbook_core::sync::wire::{WipeMode, WipeOrder, WipeReport};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::receipts::audit;
use super::SqliteStorage;
use crate::storage::error::StorageResult;
use crate::storage::wipes::{self, WipeColumns, WipeRow, WIPE_COLUMNS, WIPE_FROM};

fn columns(r: &Row) -> rusqlite::Result<WipeColumns> {
    Ok(WipeColumns {
        device_id: r.get(0)?,
        manager_id: r.get(1)?,
        manager_name: r.get(2)?,
        mode: r.get(3)?,
        ordered_at_ms: r.get(4)?,
        ordered_by: r.get(5)?,
        told_at_ms: r.get(6)?,
        wiped_at_ms: r.get(7)?,
        figures: [r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?, r.get(13)?, r.get(14)?, r.get(15)?],
    })
}

fn one(c: &Connection, device_id: &str) -> StorageResult<Option<WipeRow>> {
    let found = c
        .prepare_cached(&format!("SELECT {WIPE_COLUMNS} FROM {WIPE_FROM} WHERE w.device_id = ?1"))?
        .query_row([device_id], columns)
        .optional()?;
    found.map(WipeColumns::row).transpose()
}

pub(super) fn order_wipe(
    storage: &SqliteStorage,
    device_id: &str,
    mode: WipeMode,
    by: &str,
    now_ms: i64,
) -> StorageResult<WipeRow> {
    storage.write(|tx| {
        let revoked: Option<Option<i64>> =
            tx.query_row("SELECT revoked_at_ms FROM devices WHERE id = ?1", [device_id], |r| r.get(0)).optional()?;
        match revoked {
            None => return Err(wipes::no_device(device_id)),
            Some(Some(_)) => return Err(wipes::revoked(device_id)),
            Some(None) => {}
        }
        // a standing order not yet told is replaced (another mode, a new time); one told stands
        let written = tx.execute(
            "INSERT INTO device_wipes (device_id, mode, ordered_at_ms, ordered_by) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (device_id) DO UPDATE SET mode = excluded.mode, ordered_at_ms = excluded.ordered_at_ms,
                 ordered_by = excluded.ordered_by
             WHERE device_wipes.told_at_ms IS NULL AND device_wipes.wiped_at_ms IS NULL",
            params![device_id, mode.as_str(), now_ms, by],
        )?;
        if written == 0 {
            return Err(wipes::told_already(device_id));
        }
        audit(tx, by, "wipe_ordered", device_id, mode.as_str(), now_ms)?;
        one(tx, device_id)?.ok_or_else(|| wipes::no_order(device_id))
    })
}

pub(super) fn cancel_wipe(storage: &SqliteStorage, device_id: &str, by: &str, now_ms: i64) -> StorageResult<()> {
    storage.write(|tx| {
        let Some(row) = one(tx, device_id)? else { return Err(wipes::no_order(device_id)) };
        let gone = tx.execute(
            "DELETE FROM device_wipes WHERE device_id = ?1 AND told_at_ms IS NULL AND wiped_at_ms IS NULL",
            [device_id],
        )?;
        if gone == 0 {
            return Err(wipes::told_already(device_id));
        }
        audit(tx, by, "wipe_cancelled", device_id, row.mode.as_str(), now_ms)
    })
}

pub(super) fn wipe_told(storage: &SqliteStorage, device_id: &str, now_ms: i64) -> StorageResult<Option<WipeOrder>> {
    storage.write(|tx| {
        let order = tx
            .prepare_cached(
                "UPDATE device_wipes SET told_at_ms = coalesce(told_at_ms, ?2)
                 WHERE device_id = ?1 AND wiped_at_ms IS NULL RETURNING mode, ordered_at_ms",
            )?
            .query_row(params![device_id, now_ms], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .optional()?;
        Ok(order.and_then(|(mode, ordered_at_ms)| Some(WipeOrder { mode: WipeMode::parse(&mode)?, ordered_at_ms })))
    })
}

pub(super) fn record_wipe_report(
    storage: &SqliteStorage,
    device_id: &str,
    report: &WipeReport,
    now_ms: i64,
) -> StorageResult<WipeRow> {
    storage.write(|tx| {
        let Some(row) = one(tx, device_id)? else { return Err(wipes::no_order(device_id)) };
        if row.wiped_at_ms.is_some() {
            return Err(wipes::told_already(device_id));
        }
        if row.order() != (WipeOrder { mode: report.mode, ordered_at_ms: report.ordered_at_ms }) {
            return Err(wipes::other_order());
        }
        let f = wipes::stored_figures(report);
        tx.execute(
            "UPDATE device_wipes SET told_at_ms = coalesce(told_at_ms, ?2), wiped_at_ms = ?2, device_wiped_at_ms = ?3,
                 ops_uploaded = ?4, receipts_uploaded = ?5, receipts_uploaded_fen = ?6, ops_rejected = ?7,
                 ops_lost = ?8, receipts_lost = ?9, receipts_lost_fen = ?10
             WHERE device_id = ?1",
            params![device_id, now_ms, f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]],
        )?;
        // refused like a revoked device from now on; the id never enrols again (devices.rs)
        tx.execute(
            "UPDATE devices SET revoked_at_ms = coalesce(revoked_at_ms, ?2) WHERE id = ?1",
            params![device_id, now_ms],
        )?;
        audit(tx, device_id, "wipe_reported", device_id, &wipes::describe(report), now_ms)?;
        one(tx, device_id)?.ok_or_else(|| wipes::no_order(device_id))
    })
}

pub(super) fn wipes(storage: &SqliteStorage) -> StorageResult<Vec<WipeRow>> {
    storage.read(|c| {
        let mut stmt = c.prepare_cached(&format!(
            "SELECT {WIPE_COLUMNS} FROM {WIPE_FROM} ORDER BY w.ordered_at_ms DESC, w.device_id"
        ))?;
        let rows = stmt.query_map([], columns)?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(WipeColumns::row).collect()
    })
}
