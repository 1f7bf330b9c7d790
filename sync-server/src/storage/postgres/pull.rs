//! Pulls on PostgreSQL: a page of a device's grids after its cursor, below the watermark
//! (cursor.rs: every change numbered below it is final, so no page skips a row that commits
//! later), with the stored JSON spliced in as it is and the device's handover removals paged
//! with the changes by number (below the same watermark); the same pages without a device build
//! snapshot files. One REPEATABLE READ snapshot per page: the watermark, the rows and the count
//! of what remains agree.

use deadpool_postgres::GenericClient;
use gridbook_core::model::EntityKind;
use gridbook_core::sync::wire::{PullPage, StoredState, PROTOCOL_VERSION};
use serde_json::value::RawValue;

use super::cursor::watermark;
use super::handover;
use super::pool::RowExt;
use super::PostgresStorage;
use crate::domain::auth::DeviceAuth;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::handover::cut_page;

/// `SET LOCAL synchronous_commit = off` as a statement that pipelines with others: this
/// transaction's commit does not wait for the disk (bookkeeping nobody was promised).
pub(super) const NO_DISK_WAIT: &str = "SELECT set_config('synchronous_commit', 'off', true)";

pub(super) fn pull(
    s: &PostgresStorage,
    device: &DeviceAuth,
    cursor: u64,
    limit: u32,
    now_ms: i64,
) -> StorageResult<PullPage<StoredState>> {
    let started = std::time::Instant::now();
    let page = page_of(s, &device.device_id, &device.grids, cursor, limit, now_ms)?;
    noted(s, device, page, started, now_ms)
}

/// `GET /v1/changes`' page: `pull`, but None (and nothing noted) when the page holds nothing.
/// The page is the look itself: one snapshot, where `changed_since` then `pull` were two.
pub(super) fn live_page(
    s: &PostgresStorage,
    device: &DeviceAuth,
    cursor: u64,
    limit: u32,
    now_ms: i64,
) -> StorageResult<Option<PullPage<StoredState>>> {
    let started = std::time::Instant::now();
    let page = page_of(s, &device.device_id, &device.grids, cursor, limit, now_ms)?;
    if page.changes.is_empty() && page.removals.is_empty() {
        return Ok(None);
    }
    noted(s, device, page, started, now_ms).map(Some)
}

/// A device's page as read, once its pull is noted (when it last pulled, where its cursor is:
/// a handover's removal counts only once the device's cursor is past it).
fn noted(
    s: &PostgresStorage,
    device: &DeviceAuth,
    page: PullPage<StoredState>,
    started: std::time::Instant,
    now_ms: i64,
) -> StorageResult<PullPage<StoredState>> {
    let n = (page.changes.len() + page.removals.len()) as i64;
    // bookkeeping nobody was promised: committed without waiting for the disk
    // (the three statements in one round trip: a phone's cycle waits for this answer)
    let (next_cursor, took_ms) = (cursor_i64(page.next_cursor)?, started.elapsed().as_millis() as i64);
    s.db.write(|tx| {
        s.db.execute_all(
            tx,
            &[
                (NO_DISK_WAIT, &[]),
                (
                    "UPDATE devices SET last_seen_ms = $2, last_pull_ms = $2, pull_cursor = $3 WHERE id = $1",
                    &[&device.device_id, &now_ms, &next_cursor],
                ),
                (
                    "INSERT INTO sync_events (at_ms, device_id, direction, ops, rejected, duration_ms) VALUES ($1, $2, 'pull', $3, 0, $4)",
                    &[&now_ms, &device.device_id, &n, &took_ms],
                ),
            ],
        )
    })?;
    Ok(page)
}

/// A page of `grids` after `cursor`, as a new device of them pulls it: no device's handover
/// removals (what a snapshot file is built from).
pub(super) fn page(
    s: &PostgresStorage,
    grids: &[String],
    cursor: u64,
    limit: u32,
    now_ms: i64,
) -> StorageResult<PullPage<StoredState>> {
    page_of(s, "", grids, cursor, limit, now_ms)
}

/// A page of `grids` and of the device's handover removals after `cursor`, by change number.
fn page_of(
    s: &PostgresStorage,
    device_id: &str,
    grids: &[String],
    cursor: u64,
    limit: u32,
    now_ms: i64,
) -> StorageResult<PullPage<StoredState>> {
    let cursor = cursor_i64(cursor)?;
    let limit = limit.clamp(1, 10_000) as usize;
    let (changes, removals, remaining, last, complete) = s.db.read(|tx| {
        let below = watermark(&s.db, tx)?;
        // one index range per grid, merged by change number
        let mut rows: Vec<(i64, StoredState)> = Vec::new();
        for grid in grids {
            let found = s.db.query(
                tx,
                "SELECT seq, kind, id, vals, base_hlc, clocks FROM entities
                 WHERE grid_id = $1 AND seq > $2 AND seq < $3 ORDER BY seq LIMIT $4",
                &[grid, &cursor, &below, &(limit as i64)],
            )?;
            for r in found {
                let kind: String = r.at(1)?;
                let kind =
                    EntityKind::parse(&kind).ok_or_else(|| StorageError::internal(format!("stored kind {kind}")))?;
                let raw = |i: usize| -> StorageResult<Box<RawValue>> { Ok(RawValue::from_string(r.at(i)?)?) };
                rows.push((
                    r.at(0)?,
                    StoredState { kind, id: r.at(2)?, values: raw(3)?, base: r.at(4)?, clocks: raw(5)? },
                ));
            }
        }
        rows.sort_by_key(|(seq, _)| *seq);
        // records that left the device's scope (handovers), paged with the changes by number
        let (mut removals, pending) = handover::removals_after(&s.db, tx, device_id, cursor, below, limit)?;
        let last = cut_page(&mut rows, &mut removals, limit, cursor as u64);
        let (removals_left, complete) = handover::removals_left(&s.db, tx, &pending, last, below)?;
        let remaining = count_between(s, tx, grids, last, below)? + removals_left;
        Ok((rows, removals, remaining, last, complete))
    })?;
    Ok(PullPage {
        protocol: PROTOCOL_VERSION,
        changes: changes.into_iter().map(|(_, c)| c).collect(),
        removals: removals.into_iter().map(|(_, r)| r).collect(),
        handovers_complete: complete,
        next_cursor: last as u64,
        has_more: remaining > 0,
        remaining,
        server_time_ms: now_ms,
        generation: None, // the HTTP layer adds it
        update: None,
        policy: None,
        receipt: None,
    })
}

/// Records of `grids` changed after `cursor` (how far a snapshot file is behind the log).
pub(super) fn changes_after(s: &PostgresStorage, grids: &[String], cursor: u64) -> StorageResult<u64> {
    let cursor = cursor_i64(cursor)?;
    s.db.read(|tx| count_between(s, tx, grids, cursor, i64::MAX))
}

/// Whether a pull of `grids` from `cursor` would receive a record now: one below the watermark.
/// One statement on its own, not a transaction: the statement's snapshot gives both the watermark
/// and the rows (as a page's REPEATABLE READ snapshot does), in one round trip instead of four
/// (BEGIN, watermark, rows, COMMIT) — every waiting phone asks this once per announcement.
pub(super) fn changed_since(
    s: &PostgresStorage,
    device_id: &str,
    grids: &[String],
    cursor: u64,
) -> StorageResult<bool> {
    let cursor = cursor_i64(cursor)?;
    let conn = s.db.conn()?;
    // records of its grids, or records a handover took out of its scope (its pull removes them)
    s.db.query_one(
        &conn,
        &format!(
            "WITH w AS (SELECT {} AS below)
             SELECT EXISTS (SELECT 1 FROM entities, w WHERE grid_id = ANY($1) AND seq > $2 AND seq < w.below)
                 OR EXISTS (SELECT 1 FROM handover_devices d JOIN handover_records r ON r.handover_id = d.handover_id, w
                            WHERE d.device_id = $3 AND d.removed_at_ms IS NULL AND r.seq > $2 AND r.seq < w.below)",
            super::cursor::WATERMARK_SQL
        ),
        &[&grids, &cursor, &device_id],
    )?
    .at(0)
}

/// Records of `grids` numbered in (after, below).
fn count_between<C: GenericClient + Sync>(
    s: &PostgresStorage,
    c: &C,
    grids: &[String],
    after: i64,
    below: i64,
) -> StorageResult<u64> {
    let mut remaining = 0i64;
    for grid in grids {
        let n: i64 =
            s.db.query_one(
                c,
                "SELECT count(*) FROM entities WHERE grid_id = $1 AND seq > $2 AND seq < $3",
                &[grid, &after, &below],
            )?
            .at(0)?;
        remaining += n;
    }
    Ok(remaining.max(0) as u64)
}

/// A cursor from the wire as stored: change numbers are below 2^63.
fn cursor_i64(cursor: u64) -> StorageResult<i64> {
    i64::try_from(cursor).map_err(|_| StorageError::invalid("cursor: 游标超出范围 out of range"))
}
