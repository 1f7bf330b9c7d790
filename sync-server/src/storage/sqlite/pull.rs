//! Pulls on SQLite: a page of a device's grids after its cursor, one index range per grid merged
//! by change number, with the stored JSON spliced in as it is and the device's handover removals
//! paged with the changes; the same pages without a device build snapshot files.

use std::path::PathBuf;

use gridbook_core::model::EntityKind;
use gridbook_core::sync::wire::{PullPage, Removal, StoredState, PROTOCOL_VERSION};
use rusqlite::{params, Connection};
use serde_json::value::RawValue;

use super::{handover, Durability, SqliteStorage};
use crate::domain::auth::DeviceAuth;
use crate::storage::error::{StorageError, StorageResult};

pub(super) fn pull(
    storage: &SqliteStorage,
    device: &DeviceAuth,
    cursor: u64,
    limit: u32,
    now_ms: i64,
) -> StorageResult<PullPage<StoredState>> {
    let started = std::time::Instant::now();
    let found = storage.read(|c| read_page(c, &device.device_id, &device.grids, cursor, limit))?;
    noted(storage, device, found, started, now_ms)
}

/// `GET /v1/changes`' page: `pull`, but None (and nothing noted) when the page holds nothing.
/// The page is the look itself: one read, where `changed_since` then `pull` were two.
pub(super) fn live_page(
    storage: &SqliteStorage,
    device: &DeviceAuth,
    cursor: u64,
    limit: u32,
    now_ms: i64,
) -> StorageResult<Option<PullPage<StoredState>>> {
    let started = std::time::Instant::now();
    let found = storage.read(|c| read_page(c, &device.device_id, &device.grids, cursor, limit))?;
    if found.0.is_empty() && found.1.is_empty() {
        return Ok(None);
    }
    noted(storage, device, found, started, now_ms).map(Some)
}

/// A device's page as read, once its pull is noted (when it last pulled, where its cursor is:
/// a handover's removal counts only once the device's cursor is past it).
fn noted(
    storage: &SqliteStorage,
    device: &DeviceAuth,
    found: FoundPage,
    started: std::time::Instant,
    now_ms: i64,
) -> StorageResult<PullPage<StoredState>> {
    let (changes, removals, remaining, last, handovers_complete) = found;
    let next_cursor = last as u64;
    let n = (changes.len() + removals.len()) as i64;
    storage.write_with(Durability::Bookkeeping, |tx| {
        tx.prepare_cached("UPDATE devices SET last_seen_ms = ?2, last_pull_ms = ?2, pull_cursor = ?3 WHERE id = ?1")?
            .execute(params![device.device_id, now_ms, next_cursor as i64])?;
        tx.prepare_cached(
            "INSERT INTO sync_events (at_ms, device_id, direction, ops, rejected, duration_ms) VALUES (?1, ?2, 'pull', ?3, 0, ?4)",
        )?
        .execute(params![now_ms, device.device_id, n, started.elapsed().as_millis() as i64])?;
        Ok(())
    })?;
    Ok(page_of(changes, removals, handovers_complete, remaining, next_cursor, now_ms))
}

pub(super) fn snapshot_page(
    storage: &SqliteStorage,
    grids: &[String],
    cursor: u64,
    limit: u32,
    now_ms: i64,
) -> StorageResult<PullPage<StoredState>> {
    // no device: no handover removals, and no device's pull bookkeeping
    let (changes, removals, remaining, last, complete) = storage.read(|c| read_page(c, "", grids, cursor, limit))?;
    Ok(page_of(changes, removals, complete, remaining, last as u64, now_ms))
}

pub(super) fn changes_after(storage: &SqliteStorage, grids: &[String], cursor: u64) -> StorageResult<u64> {
    storage.read(|c| count_after(c, grids, cursor as i64))
}

pub(super) fn changed_since(
    storage: &SqliteStorage,
    device_id: &str,
    grids: &[String],
    cursor: u64,
) -> StorageResult<bool> {
    let cursor = i64::try_from(cursor).unwrap_or(i64::MAX);
    storage.read(|c| {
        let mut found = c.prepare_cached("SELECT EXISTS (SELECT 1 FROM entities WHERE grid_id = ?1 AND seq > ?2)")?;
        for grid in grids {
            if found.query_row(params![grid, cursor], |r| r.get::<_, bool>(0))? {
                return Ok(true);
            }
        }
        // records a handover took out of the device's scope: its pull removes them
        let removed = c
            .prepare_cached(super::handover::REMOVAL_AFTER)?
            .query_row(params![device_id, cursor], |r| r.get::<_, bool>(0))?;
        Ok(removed)
    })
}

pub(super) fn snapshot_dir(storage: &SqliteStorage) -> Option<PathBuf> {
    Some(PathBuf::from(format!("{}.snapshot-files", storage.path.display())))
}

/// A page as read: its changes and removals (with their change numbers), how many remain after
/// it, its last change number, and the handovers it completes.
type FoundPage = (Vec<(i64, StoredState)>, Vec<(i64, Removal)>, i64, i64, Vec<String>);

/// One page of a pull: the changes of `grids` after `cursor` and the device's removals, cut
/// at `limit` (what `pull` serves and what a snapshot file is built from).
pub(super) fn read_page(
    c: &Connection,
    device_id: &str,
    grids: &[String],
    cursor: u64,
    limit: u32,
) -> StorageResult<FoundPage> {
    let limit = limit.clamp(1, 10_000) as usize;
    // one read transaction: the rows, the removals and the count of what remains agree
    let c = &c.unchecked_transaction()?;
    // One index range per grid, merged by sequence: each range is an ordered index walk.
    // values and clocks go out as the JSON text they are stored as (no parse, no encode)
    let mut rows: Vec<(i64, StoredState)> = Vec::new();
    let mut stmt = c.prepare_cached(
        "SELECT seq, kind, id, vals, base_hlc, clocks FROM entities WHERE grid_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    for grid in grids {
        let mut q = stmt.query(params![grid, cursor as i64, limit as i64])?;
        while let Some(r) = q.next()? {
            let kind: String = r.get(1)?;
            let kind = EntityKind::parse(&kind).ok_or_else(|| StorageError::internal(format!("stored kind {kind}")))?;
            let raw = |i: usize| -> StorageResult<Box<RawValue>> { Ok(RawValue::from_string(r.get::<_, String>(i)?)?) };
            rows.push((
                r.get(0)?,
                StoredState { kind, id: r.get(2)?, values: raw(3)?, base: r.get(4)?, clocks: raw(5)? },
            ));
        }
    }
    rows.sort_by_key(|(seq, _)| *seq);
    // Records that left the device's scope (handovers), paged with the changes by number.
    let (mut removals, handovers) = handover::removals_after(c, device_id, cursor, limit)?;
    let last = handover::cut_page(&mut rows, &mut removals, limit, cursor);
    let remaining = count_after(c, grids, last)? as i64;
    let (removals_left, complete) = handover::removals_left(c, &handovers, last)?;
    Ok((rows, removals, remaining + removals_left, last, complete))
}

/// Records of `grids` changed after change number `after`.
pub(super) fn count_after(c: &Connection, grids: &[String], after: i64) -> StorageResult<u64> {
    let mut remaining = 0i64;
    let mut count = c.prepare_cached("SELECT count(*) FROM entities WHERE grid_id = ?1 AND seq > ?2")?;
    for grid in grids {
        remaining += count.query_row(params![grid, after], |r| r.get::<_, i64>(0))?;
    }
    Ok(remaining as u64)
}

pub(super) fn page_of(
    changes: Vec<(i64, StoredState)>,
    removals: Vec<(i64, Removal)>,
    handovers_complete: Vec<String>,
    remaining: i64,
    next_cursor: u64,
    now_ms: i64,
) -> PullPage<StoredState> {
    PullPage {
        protocol: PROTOCOL_VERSION,
        changes: changes.into_iter().map(|(_, s)| s).collect(),
        removals: removals.into_iter().map(|(_, r)| r).collect(),
        handovers_complete,
        next_cursor,
        has_more: remaining > 0,
        remaining: remaining as u64,
        server_time_ms: now_ms,
        generation: None, // the HTTP layer adds it
        update: None,
        policy: None,
        receipt: None,
    }
}
