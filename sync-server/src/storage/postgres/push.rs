//! Pushes on PostgreSQL: each push is one transaction of its own (several replicas and
//! connections write at once; `entity_tx` makes the rules safe under that), its ops judged by the
//! same reconcile rules as on SQLite, then what the device reported about itself. The answer
//! leaves only after the commit.

use gridbook_core::sync::wire::{Op, OpResult, PushRequest, PushResponse, PROTOCOL_VERSION};

use super::entity_tx::PgTx;
use super::pool::Db;
use super::PostgresStorage;
use crate::domain::auth::DeviceAuth;
use crate::domain::prepared::PreparedFact;
use crate::domain::reconcile::{self, Rules};
use crate::storage::device_report::DeviceReport;
use crate::storage::error::StorageResult;

pub(super) fn push(
    s: &PostgresStorage,
    device: &DeviceAuth,
    mut request: PushRequest,
    rules: &Rules,
    now_ms: i64,
) -> StorageResult<PushResponse> {
    let started = std::time::Instant::now();
    // facts are built and checked before the transaction starts (domain/prepared.rs)
    let prepared: Vec<_> = request.ops.iter_mut().map(crate::domain::prepared::prepare).collect();
    let req = &request;
    let db = &s.db;
    // Only the device's facts (the push beside a reading phone's pull, each cycle): nothing
    // acknowledged hangs on them and no grid is written, so no grid lock and no wait for the
    // disk (as pull bookkeeping; SQLite's `Bookkeeping`): the reading phone's cycle, which waits
    // for this answer, does not wait for a WAL flush.
    let facts_only = req.ops.is_empty() && req.facts.removed_handovers.is_empty();
    let results = db.write(|tx| {
        if facts_only {
            db.execute(tx, super::pull::NO_DISK_WAIT, &[])?;
        } else {
            // the grids it writes in, shared: a handover moving them waits for this push (handover.rs)
            let mut grids: Vec<&str> = device.grids.iter().map(String::as_str).collect();
            grids.extend(req.ops.iter().map(|op| op.grid.as_str()));
            grids.sort_unstable();
            grids.dedup();
            super::handover::lock_grids(db, tx, &grids, false)?;
        }
        // no ops: no transaction id to take, no rejections to read
        let results = if req.ops.is_empty() {
            Vec::new()
        } else {
            apply_batch(db, tx, device, &req.ops, &prepared, rules, now_ms)?
        };
        super::handover::report_removed(db, tx, device, &req.facts.removed_handovers, now_ms)?;
        let report = DeviceReport::of(req, &results, now_ms);
        // what the device reported, and the event: one round trip
        let took_ms = started.elapsed().as_millis() as i64;
        let ops_n = req.ops.len() as i64;
        db.execute_all(
            tx,
            &[
                (
            "UPDATE devices SET app_version = $2, last_seen_ms = $3, last_push_ms = $3, pending_count = $4,
               oldest_pending_age_s = $5, rejected_count = $6, db_size_bytes = $7, clock_offset_ms = $8,
               zone_offset_min = $9, unsynced_receipts_fen = $10, unsynced_receipts_count = $11, last_error = $12,
               device_model = $13, os_version = $14, free_storage_bytes = $15, last_sync_duration_ms = $16,
               last_sync_bytes = $17, battery_saver = $18, traffic_day = $19, bytes_sent_day = $20,
               bytes_received_day = $21, photos_waiting = $22, photo_bytes_waiting = $23
             WHERE id = $1",
            &[
                &device.device_id,
                &report.app_version,
                &now_ms,
                &report.pending_count,
                &report.oldest_pending_age_s,
                &report.rejected_count,
                &report.db_size_bytes,
                &report.clock_offset_ms,
                &i64::from(report.zone_offset_min),
                &report.unsynced_receipts_fen,
                &report.unsynced_receipts_count,
                &report.last_error,
                &report.device_model,
                &report.os_version,
                &report.free_storage_bytes,
                &report.last_sync_duration_ms,
                &report.last_sync_bytes,
                &report.battery_saver,
                &report.traffic_day,
                &report.bytes_sent_day,
                &report.bytes_received_day,
                &report.photos_waiting,
                &report.photo_bytes_waiting,
            ],
                ),
                (
                    "INSERT INTO sync_events (at_ms, device_id, direction, ops, rejected, duration_ms) VALUES ($1, $2, 'push', $3, $4, $5)",
                    &[&now_ms, &device.device_id, &ops_n, &report.rejected_now, &took_ms],
                ),
            ],
        )?;
        Ok(results)
    })?;
    Ok(PushResponse {
        protocol: PROTOCOL_VERSION,
        results,
        server_time_ms: now_ms,
        clock_offset_ms: request.facts.wall_clock_ms - now_ms,
        generation: None, // the HTTP layer adds it
        update: None,
        policy: None,
        receipt: None,
        wipe: None,
    })
}

/// The ops of one batch through the reconcile rules, inside `tx`.
pub(super) fn apply_batch(
    db: &Db,
    tx: &deadpool_postgres::Transaction<'_>,
    device: &DeviceAuth,
    ops: &[Op],
    prepared: &[Option<PreparedFact>],
    rules: &Rules,
    now_ms: i64,
) -> StorageResult<Vec<OpResult>> {
    // reads up front and writes at the end, a few statements for the whole batch (entity_tx.rs)
    let mut etx = PgTx::begin_batch(db, tx, &device.device_id, ops, prepared)?;
    let mut results = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let fact = prepared.get(i).and_then(Option::as_ref);
        results.push(reconcile::apply_prepared_op(&mut etx, device, op, fact, rules, now_ms, (i % 65_536) as u16)?);
    }
    etx.flush()?;
    Ok(results)
}
