//! The device as a replica: hands out pending ops, settles the server's answers, merges pulled
//! state and remote ops, keeps the pull cursor, and reports the device's health facts.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, ValidationError};
use crate::model::EntityKind;
use crate::store::entity_table;
use crate::store::search_index::SearchBatch;
use crate::store::{meta_get, meta_set, Store, Transaction};
use crate::sync::hlc::Hlc;
use crate::sync::merge::MergeOutcome;
use crate::sync::outbox::{self, RejectedOp};
use crate::sync::wire::{DeviceFacts, EntityState, Op, OpResult, PullPage};
use crate::validate;

/// What a batch of remote changes did to the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApplyReport {
    pub applied: u64,
    pub already_had: u64,
    pub superseded: u64,
    /// Changes refused because of their shape; the rest of the batch still applied.
    pub invalid: Vec<(String, ValidationError)>,
    /// Records removed because they left this device's scope (a handover), with what belongs to them.
    pub removed: u64,
    /// Removals put off because this device still has unsynced edits to the record.
    pub removals_deferred: u64,
}

impl ApplyReport {
    fn count(&mut self, outcome: MergeOutcome) {
        match outcome {
            MergeOutcome::Applied => self.applied += 1,
            MergeOutcome::AlreadyHad => self.already_had += 1,
            MergeOutcome::Superseded => self.superseded += 1,
        }
    }
}

pub(crate) const CURSOR_KEY: &str = "pull_cursor";

/// The pull cursor as `conn` holds it (0: never pulled).
pub(crate) fn cursor_in(conn: &rusqlite::Connection) -> Result<u64> {
    Ok(match meta_get(conn, CURSOR_KEY)? {
        Some(v) => v.parse().map_err(|_| Error::Corrupt(format!("pull cursor {v:?}")))?,
        None => 0,
    })
}

impl Store {
    /// The oldest pending ops (never the rejected ones), at most `limit`.
    pub fn pending_ops(&self, limit: usize) -> Result<Vec<Op>> {
        self.read(|c| outbox::pending(c, limit))
    }

    /// Records what the server said of pushed ops: acknowledged ops leave the outbox, rejected
    /// ones stay with their reason, clamped stamps replace the device's own.
    pub fn settle(&self, results: &[OpResult], server_time_ms: i64) -> Result<()> {
        self.write(|tx, clock| {
            meta_set(tx, "hlc", &clock.last().to_string())?;
            for (op, to) in outbox::settle(tx, results, server_time_ms)? {
                restamp(tx, op.kind, &op.entity, &op.hlc, &to)?;
            }
            // the retention window rides on this write, not on a transaction of its own
            outbox::forget_acked_before(tx, server_time_ms.saturating_sub(crate::sync::generation::keep_ms(tx)?))?;
            Ok(())
        })
    }

    pub fn rejected_ops(&self) -> Result<Vec<RejectedOp>> {
        self.read(outbox::rejected)
    }

    /// Puts a rejected op back in the queue once its cause is dealt with.
    pub fn retry_rejected(&self, op_id: &str) -> Result<bool> {
        self.write(|tx, _| outbox::retry(tx, op_id))
    }

    /// Drops a rejected op for good: a deliberate act, logged with who did it.
    pub fn discard_rejected(&self, op_id: &str, by: &str) -> Result<bool> {
        let dropped = self.write(|tx, _| outbox::discard(tx, op_id))?;
        if let Some(op) = &dropped {
            tracing::warn!(op_id, by, kind = op.kind.as_str(), entity = %op.entity, "rejected change discarded");
        }
        Ok(dropped.is_some())
    }

    /// Merges ops made elsewhere (last writer wins per field). One transaction for the batch.
    pub fn apply_remote_ops(&self, ops: &[Op]) -> Result<ApplyReport> {
        self.write(|tx, clock| {
            let mut report = ApplyReport::default();
            let mut search = SearchBatch::default();
            for op in ops {
                if let Err(e) = validate::fields(op.kind, &op.fields) {
                    report.invalid.push((op.id.to_string(), e));
                    continue;
                }
                clock.observe(&op.hlc);
                let loaded = entity_table::load(tx, op.kind, &op.entity)?;
                let existed = loaded.is_some();
                let mut state = loaded.unwrap_or_else(|| EntityState::empty(op.kind, op.entity.clone()));
                let merge = state.apply(op);
                if merge.outcome == MergeOutcome::Applied {
                    entity_table::save(tx, &state, existed, &mut search)?;
                }
                report.count(merge.outcome);
            }
            search.write(tx)?;
            Ok(report)
        })
    }

    /// Applies one pulled page and moves the cursor past it, in one transaction: a pull cut off
    /// mid-way resumes from the last page applied.
    pub fn apply_pull_page(&self, page: &PullPage) -> Result<ApplyReport> {
        self.write(|tx, clock| {
            let mut report = ApplyReport::default();
            let mut search = SearchBatch::default();
            for change in &page.changes {
                // a record this phone could not read back (a partial one a server stored before
                // updates of unknown records were refused) is set aside, never stored
                let readable =
                    validate::fields(change.kind, &change.values).and_then(|()| crate::sync::readable::check(change));
                if let Err(e) = readable {
                    report.invalid.push((change.id.clone(), e));
                    continue;
                }
                if let Some(h) = change.max_clock() {
                    clock.observe(h);
                }
                // New to this device (every row of a snapshot): stored as pulled, no lookup first.
                let merge = if entity_table::insert_new(tx, change, &mut search)? {
                    MergeOutcome::Applied
                } else {
                    let mut state = entity_table::load(tx, change.kind, &change.id)?.ok_or_else(|| {
                        Error::Corrupt(format!("{} {} vanished mid-pull", change.kind.as_str(), change.id))
                    })?;
                    let merge = state.merge_state(change);
                    if merge.outcome == MergeOutcome::Applied {
                        entity_table::save(tx, &state, true, &mut search)?;
                    }
                    merge.outcome
                };
                report.count(merge);
            }
            search.write(tx)?;
            crate::sync::scope_removal::apply(tx, page, &mut report)?;
            meta_set(tx, CURSOR_KEY, &page.next_cursor.to_string())?;
            meta_set(tx, "hlc", &clock.last().to_string())?;
            Ok(report)
        })
    }

    /// Where the next pull starts (0: never pulled, the first pull is a snapshot).
    pub fn pull_cursor(&self) -> Result<u64> {
        self.read(cursor_in)
    }

    /// Counts of pending and rejected changes.
    pub fn outbox_counts(&self) -> Result<outbox::OutboxCounts> {
        self.read(outbox::counts)
    }

    /// The facts this device reports with each sync (docs/field.md, sync 15).
    pub fn device_facts(&self, app_version: &str, last_error: Option<String>) -> Result<DeviceFacts> {
        let now = self.wall_ms();
        let counts = self.outbox_counts()?;
        // kept prepared, as the other facts' queries: every push asks them
        let (unsynced_fen, unsynced_count) = self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT coalesce(sum(CASE WHEN r.amount_fen BETWEEN -10000000000 AND 10000000000 THEN r.amount_fen END), 0), count(*) FROM receipts r
                 WHERE r.id IN (SELECT entity_id FROM outbox WHERE kind = 'receipt')",
            )?
            .query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?)
        })?;
        Ok(DeviceFacts {
            app_version: app_version.to_string(),
            pending_count: counts.pending,
            oldest_pending_age_s: counts.oldest_pending_ms.map(|t| ((now - t).max(0) / 1000) as u64),
            rejected_count: counts.rejected,
            db_size_bytes: self.db_size_bytes(),
            wall_clock_ms: now,
            zone_offset_min: chrono::Local::now().offset().local_minus_utc() / 60,
            unsynced_receipts_fen: unsynced_fen,
            unsynced_receipts_count: unsynced_count as u64,
            last_error,
            removed_handovers: self.read(crate::sync::scope_removal::to_report)?,
            // what the app knows of the phone and the last cycle: the sync engine adds them
            ..Default::default()
        })
    }

    /// The merge state of one entity (for diagnostics and tests).
    pub fn entity_state(&self, kind: EntityKind, id: &str) -> Result<Option<EntityState>> {
        self.read(|c| entity_table::load(c, kind, id))
    }

    /// Every entity of a kind, by id (for convergence checks).
    pub fn all_states(&self, kind: EntityKind) -> Result<Vec<EntityState>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!("{} ORDER BY id", entity_table::select_sql(kind)))?;
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(entity_table::state_from_row(kind, row)?);
            }
            Ok(out)
        })
    }
}

/// The server merged an op under an earlier stamp than the device gave it (the device's clock
/// was too far ahead): carry that stamp over, so device and server agree on who wrote last.
fn restamp(tx: &Transaction, kind: EntityKind, id: &str, from: &Hlc, to: &Hlc) -> Result<()> {
    let Some(mut state) = entity_table::load(tx, kind, id)? else { return Ok(()) };
    if state.base.as_ref() == Some(from) {
        state.base = Some(to.clone());
    }
    for clock in state.clocks.values_mut() {
        if clock == from {
            *clock = to.clone();
        }
    }
    let mut search = SearchBatch::default();
    entity_table::save(tx, &state, true, &mut search)?;
    search.write(tx)
}
