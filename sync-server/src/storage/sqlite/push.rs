//! Pushes on SQLite: each push's facts are prepared by its own thread, then the pushes waiting
//! for the writer are written in one transaction and one fsync (group commit, each in its own
//! savepoint) through the reconcile rules, with what each device reported about itself. The
//! back office's own ops take the same path in a transaction of their own.

use std::sync::Arc;

use gridbook_core::sync::wire::{Op, OpResult, PushRequest, PushResponse, PROTOCOL_VERSION};
use rusqlite::{params, Connection, Transaction};

use super::entity_tx::SqliteTx;
use super::{checkpoint, group_commit, handover, Durability, SqliteStorage};
use crate::domain::auth::DeviceAuth;
use crate::domain::reconcile::{self, Rules};
use crate::storage::device_report::DeviceReport;
use crate::storage::error::{StorageError, StorageResult};

/// A push waiting for the writer (group commit).
pub(super) struct PushWork {
    device: DeviceAuth,
    request: PushRequest,
    /// Worked out by the pushing thread before it queued (`reconcile::prepare`); taken by the writer.
    /// Dropped by the pushing thread once answered, not by the writer.
    prepared: Vec<Option<crate::domain::prepared::PreparedFact>>,
    rules: Rules,
    now_ms: i64,
}

/// Ops one group commit takes at most: a bound on how long the pushes in it wait for their answer.
const GROUP_COMMIT_OPS: usize = 10_000;

pub(super) fn push(
    storage: &SqliteStorage,
    device: &DeviceAuth,
    mut request: PushRequest,
    rules: &Rules,
    now_ms: i64,
) -> StorageResult<PushResponse> {
    // facts are built and checked here, in this thread, while other pushes are written
    let prepared = {
        let _turn = storage.preparing.enter();
        request.ops.iter_mut().map(crate::domain::prepared::prepare).collect()
    };
    let work = PushWork { device: device.clone(), request, prepared, rules: *rules, now_ms };
    storage
        .pushes
        .run(
            work,
            &storage.writer,
            |w| w.request.ops.len(),
            GROUP_COMMIT_OPS,
            |conn, jobs| {
                let started = std::time::Instant::now();
                write_pushes(conn, jobs);
                if jobs.iter().map(|j| j.work.request.ops.len()).sum::<usize>() >= checkpoint::AFTER_OPS {
                    if let Some(c) = &storage.checkpoints {
                        c.wake();
                    }
                }
                storage
                    .push_writing_ns
                    .fetch_add(started.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
            },
        )
        .unwrap_or_else(|| Err(StorageError::internal("the push was not written")))
}

pub(super) fn apply_backoffice_ops(storage: &SqliteStorage, ops: &[Op], now_ms: i64) -> StorageResult<Vec<OpResult>> {
    storage.write(|tx| {
        let mut known = tx.prepare_cached("SELECT 1 FROM grids WHERE id = ?1")?;
        for op in ops {
            if !known.exists([&op.grid])? {
                return Err(StorageError::not_found(format!("no grid {}", op.grid)));
            }
        }
        drop(known);
        // after every back-office stamp committed before, whichever process made it
        let ops = crate::domain::authoring::stamp_in_commit_order(
            ops,
            || super::entity_tx::latest_backoffice_stamp(tx),
            |top| super::entity_tx::raise_backoffice_stamp(tx, top),
        )?;
        apply_batch(tx, &crate::domain::authoring::device(), &ops, &[], &Rules::default(), now_ms)
    })
}

/// Writes the waiting pushes in one transaction, each in its own savepoint (a push that fails
/// leaves the others standing), and answers each after the commit.
pub(super) fn write_pushes(
    conn: &mut Connection,
    jobs: &[Arc<group_commit::Job<PushWork, StorageResult<PushResponse>>>],
) {
    // pushes without ops carry only the device's facts: nothing acknowledged hangs on them
    let durability =
        if jobs.iter().all(|j| j.work.request.ops.is_empty() && j.work.request.facts.removed_handovers.is_empty()) {
            Durability::Bookkeeping
        } else {
            Durability::Synced
        };
    let written = SqliteStorage::write_on(conn, durability, |tx| {
        let mut answers = Vec::with_capacity(jobs.len());
        for job in jobs {
            tx.execute_batch("SAVEPOINT push")?;
            let answer = apply_push(tx, &job.work);
            tx.execute_batch(if answer.is_ok() { "RELEASE push" } else { "ROLLBACK TO push; RELEASE push" })?;
            answers.push(answer);
        }
        Ok(answers)
    });
    match written {
        Ok(answers) => jobs.iter().zip(answers).for_each(|(job, answer)| job.answer(answer)),
        Err(e) => jobs.iter().for_each(|job| job.answer(Err(e.clone()))),
    }
}

/// One push inside the shared transaction: its ops, then what the device reported.
pub(super) fn apply_push(tx: &Transaction, work: &PushWork) -> StorageResult<PushResponse> {
    let started = std::time::Instant::now();
    let PushWork { device, request: req, prepared, rules, now_ms } = work;
    let now_ms = *now_ms;
    // before the ops: an op sent with the report is a later write, refused in the scope
    handover::report_removed(tx, device, &req.facts.removed_handovers, now_ms)?;
    let results = apply_batch(tx, device, &req.ops, prepared, rules, now_ms)?;
    let report = DeviceReport::of(req, &results, now_ms);
    let rejected = report.rejected_now;
    tx.prepare_cached(
        "UPDATE devices SET app_version = ?2, last_seen_ms = ?3, last_push_ms = ?3, pending_count = ?4,
           oldest_pending_age_s = ?5, rejected_count = ?6, db_size_bytes = ?7, clock_offset_ms = ?8,
           zone_offset_min = ?9, unsynced_receipts_fen = ?10, unsynced_receipts_count = ?11, last_error = ?12,
           device_model = ?13, os_version = ?14, free_storage_bytes = ?15, last_sync_duration_ms = ?16,
           last_sync_bytes = ?17, battery_saver = ?18, traffic_day = ?19, bytes_sent_day = ?20,
           bytes_received_day = ?21, photos_waiting = ?22, photo_bytes_waiting = ?23
         WHERE id = ?1",
    )?
    .execute(params![
        device.device_id,
        report.app_version,
        now_ms,
        report.pending_count,
        report.oldest_pending_age_s,
        report.rejected_count,
        report.db_size_bytes,
        report.clock_offset_ms,
        report.zone_offset_min,
        report.unsynced_receipts_fen,
        report.unsynced_receipts_count,
        report.last_error,
        report.device_model,
        report.os_version,
        report.free_storage_bytes,
        report.last_sync_duration_ms,
        report.last_sync_bytes,
        report.battery_saver,
        report.traffic_day,
        report.bytes_sent_day,
        report.bytes_received_day,
        report.photos_waiting,
        report.photo_bytes_waiting
    ])?;
    tx.prepare_cached(
        "INSERT INTO sync_events (at_ms, device_id, direction, ops, rejected, duration_ms) VALUES (?1, ?2, 'push', ?3, ?4, ?5)",
    )?
    .execute(params![now_ms, device.device_id, req.ops.len() as i64, rejected, started.elapsed().as_millis() as i64])?;
    Ok(PushResponse {
        protocol: PROTOCOL_VERSION,
        results,
        server_time_ms: now_ms,
        clock_offset_ms: req.facts.wall_clock_ms - now_ms,
        generation: None, // the HTTP layer adds it
        update: None,
        policy: None,
        receipt: None,
        wipe: None,
    })
}

pub(super) fn apply_batch(
    tx: &Transaction,
    device: &DeviceAuth,
    ops: &[Op],
    prepared: &[Option<crate::domain::prepared::PreparedFact>],
    rules: &Rules,
    now_ms: i64,
) -> StorageResult<Vec<OpResult>> {
    let mut etx = SqliteTx::begin(tx, &device.device_id, ops)?;
    let mut results = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let fact = prepared.get(i).and_then(Option::as_ref);
        results.push(reconcile::apply_prepared_op(&mut etx, device, op, fact, rules, now_ms, (i % 65_536) as u16)?);
    }
    Ok(results)
}
