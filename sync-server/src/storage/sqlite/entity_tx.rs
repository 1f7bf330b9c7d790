//! The reconcile rules' storage primitives (`EntityTx`, storage/entity_tx.rs) on one SQLite write
//! transaction: load and save records under new change numbers, record ops, conflicts and
//! rejections, claim receipt numbers, and the handover look-ups, with what a batch needs looked up
//! once per push instead of once per op.

use std::collections::HashSet;

use gridbook_core::model::EntityKind;
use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::merge::Overwrite;
use gridbook_core::sync::wire::{EntityState, Op, RejectCode};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::records::entity_from_row;
use super::{handover, receipts};
use crate::domain::prepared::PreparedFact;
use crate::storage::entity_tx::EntityTx;
use crate::storage::error::StorageResult;

/// `EntityTx` over one SQLite write transaction.
pub(super) struct SqliteTx<'a> {
    pub(super) tx: &'a Transaction<'a>,
    /// `insert_fact`'s statement, held for the batch (taking it from the cache per fact and putting
    /// it back cost a tenth of the writer's work on a fact).
    insert_fact: Option<rusqlite::CachedStatement<'a>>,
    pub(super) next_seq: i64,
    batch: BatchIds,
    /// The pushing device's handovers, read once per push: every op asks (domain/handover.rs), and
    /// applying ops never changes them (a removal report is written apart from the ops).
    device_handovers: Option<(String, Vec<crate::storage::handover::DeviceHandover>)>,
}

/// What the batch being applied needs looked up, in one query each instead of one per op: which
/// of its (mutable records') op ids were recorded before, and which ops of the pushing device
/// wait as rejections. Kept current as the batch is applied. A fact's op id is not looked up: a
/// new fact's insert says whether it was there (`insert_fact`), and only a fact found there is
/// asked about (`op_seen`).
#[derive(Default)]
struct BatchIds {
    looked_up: HashSet<String>,
    recorded: HashSet<String>,
    device_rejections: HashSet<String>,
}

impl<'a> SqliteTx<'a> {
    pub(super) fn begin(tx: &'a Transaction<'a>, device_id: &str, batch_ops: &[Op]) -> StorageResult<Self> {
        let next_seq: i64 = tx.query_row("SELECT coalesce(max(seq), 0) + 1 FROM entities", [], |r| r.get(0))?;
        let mut batch = BatchIds::default();
        let ids: Vec<String> =
            batch_ops.iter().filter(|op| !op.kind.insert_only()).map(|op| op.id.to_string()).collect();
        if !ids.is_empty() {
            let list = serde_json::to_string(&ids)?;
            let mut stmt =
                tx.prepare_cached("SELECT op_id FROM ops WHERE op_id IN (SELECT value FROM json_each(?1))")?;
            for id in stmt.query_map([&list], |r| r.get::<_, String>(0))? {
                batch.recorded.insert(id?);
            }
            batch.looked_up = ids.into_iter().collect();
        }
        if !batch_ops.is_empty() {
            // a device's rejections are few: the ones that wait for someone to deal with them
            let mut stmt = tx.prepare_cached("SELECT op_id FROM rejections WHERE device_id = ?1")?;
            for id in stmt.query_map([device_id], |r| r.get::<_, String>(0))? {
                batch.device_rejections.insert(id?);
            }
        }
        Ok(Self { tx, insert_fact: None, next_seq, batch, device_handovers: None })
    }

    /// A retried op that now passes is no longer a rejection waiting for someone.
    fn settle_rejection(&mut self, op_id: &str) -> StorageResult<()> {
        if self.batch.device_rejections.remove(op_id) {
            self.tx.prepare_cached("DELETE FROM rejections WHERE op_id = ?1")?.execute([op_id])?;
        }
        Ok(())
    }
}

impl EntityTx for SqliteTx<'_> {
    fn op_seen(&mut self, op: &Op) -> StorageResult<bool> {
        // Only recorded ops count: a rejected op comes back when its cause was dealt with (say, the
        // grid was assigned) and must then be judged again, not waved through as "already had".
        let op_id = op.id.to_string();
        if self.batch.recorded.contains(&op_id) {
            return Ok(true);
        }
        if self.batch.looked_up.contains(&op_id) {
            return Ok(false);
        }
        if op.kind.insert_only()
            && self.tx.prepare_cached("SELECT 1 FROM entities WHERE kind = ?1 AND id = ?2 AND op_id = ?3")?.exists([
                op.kind.as_str(),
                &op.entity,
                &op_id,
            ])?
        {
            return Ok(true);
        }
        Ok(self.tx.prepare_cached("SELECT 1 FROM ops WHERE op_id = ?1")?.exists([&op_id])?)
    }

    fn insert_fact(
        &mut self,
        fact: &PreparedFact,
        _op: &Op,
        grid: &str,
        device_id: &str,
        now_ms: i64,
    ) -> StorageResult<bool> {
        let tx = self.tx;
        let stmt = match &mut self.insert_fact {
            Some(stmt) => stmt,
            empty => empty.insert(tx.prepare_cached(
                "INSERT INTO entities (seq, kind, id, grid_id, vals, base_hlc, clocks, updated_at_ms, op_id, device_id, received_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, '{}', ?7, ?8, ?9, ?7)
                 ON CONFLICT (kind, id) DO NOTHING",
            )?),
        };
        let inserted = stmt.execute(params![
            self.next_seq,
            fact.state.kind.as_str(),
            fact.state.id,
            grid,
            fact.values_json,
            fact.stamp,
            now_ms,
            fact.op_id,
            device_id
        ])?;
        if inserted == 0 {
            return Ok(false);
        }
        self.next_seq += 1;
        self.settle_rejection(&fact.op_id)?;
        Ok(true)
    }

    fn load(&mut self, kind: EntityKind, id: &str) -> StorageResult<Option<(EntityState, String)>> {
        let row = self
            .tx
            .prepare_cached("SELECT vals, base_hlc, clocks, grid_id FROM entities WHERE kind = ?1 AND id = ?2")?
            .query_row([kind.as_str(), id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .optional()?;
        match row {
            None => Ok(None),
            Some((vals, base, clocks, grid)) => {
                Ok(Some((entity_from_row(kind, id.to_string(), &vals, base, &clocks)?, grid)))
            }
        }
    }

    fn save(&mut self, state: &EntityState, grid: &str, now_ms: i64) -> StorageResult<()> {
        self.save_encoded(state, &serde_json::to_string(&state.values)?, grid, now_ms)
    }

    fn save_encoded(&mut self, state: &EntityState, values_json: &str, grid: &str, now_ms: i64) -> StorageResult<()> {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.tx
            .prepare_cached(
                "INSERT INTO entities (kind, id, grid_id, vals, base_hlc, clocks, seq, updated_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (kind, id) DO UPDATE SET grid_id = excluded.grid_id, vals = excluded.vals,
                   base_hlc = excluded.base_hlc, clocks = excluded.clocks, seq = excluded.seq,
                   updated_at_ms = excluded.updated_at_ms",
            )?
            .execute(params![
                state.kind.as_str(),
                state.id,
                grid,
                values_json,
                state.base.as_ref().map(|h| h.to_string()),
                if state.clocks.is_empty() { "{}".to_string() } else { serde_json::to_string(&state.clocks)? },
                seq,
                now_ms
            ])?;
        Ok(())
    }

    fn record_op(
        &mut self,
        device_id: &str,
        op: &Op,
        merged_as: &Hlc,
        outcome: &str,
        now_ms: i64,
    ) -> StorageResult<()> {
        let op_id = op.id.to_string();
        let hlc = op.hlc.to_string();
        // An insert-only record is stored as received, once: its fields are the entity's values.
        let body = if op.kind.insert_only() { String::new() } else { serde_json::to_string(&op.fields)? };
        self.tx
            .prepare_cached(
                "INSERT INTO ops (op_id, device_id, kind, entity_id, grid_id, hlc, merged_hlc, received_at_ms, outcome, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                op_id,
                device_id,
                op.kind.as_str(),
                op.entity,
                op.grid,
                hlc,
                if *merged_as == op.hlc { hlc.clone() } else { merged_as.to_string() },
                now_ms,
                outcome,
                body
            ])?;
        self.settle_rejection(&op_id)?;
        self.batch.recorded.insert(op_id);
        Ok(())
    }

    fn record_conflict(&mut self, op: &Op, grid: &str, o: &Overwrite, now_ms: i64) -> StorageResult<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO conflicts (at_ms, kind, entity_id, grid_id, field, old_value, new_value, old_hlc, new_hlc, old_device, new_device)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                now_ms,
                op.kind.as_str(),
                op.entity,
                grid,
                o.field,
                o.old_value.to_string(),
                o.new_value.to_string(),
                o.old_hlc.to_string(),
                o.new_hlc.to_string(),
                o.old_hlc.node,
                o.new_hlc.node
            ])?;
        Ok(())
    }

    fn record_rejection(
        &mut self,
        device_id: &str,
        op: &Op,
        code: RejectCode,
        reason: &str,
        now_ms: i64,
    ) -> StorageResult<()> {
        let op_id = op.id.to_string();
        self.batch.device_rejections.insert(op_id.clone());
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO rejections (op_id, at_ms, device_id, kind, entity_id, grid_id, code, reason, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                op_id,
                now_ms,
                device_id,
                op.kind.as_str(),
                op.entity,
                op.grid,
                code.as_str(),
                reason,
                serde_json::to_string(op)?
            ])?;
        Ok(())
    }

    fn claim_receipt_no(&mut self, receipt_no: &str, receipt_id: &str) -> StorageResult<bool> {
        let n = self
            .tx
            .prepare_cached("INSERT OR IGNORE INTO receipt_numbers (receipt_no, receipt_id) VALUES (?1, ?2)")?
            .execute([receipt_no, receipt_id])?;
        if n == 1 {
            return Ok(true);
        }
        let holder: String =
            self.tx.query_row("SELECT receipt_id FROM receipt_numbers WHERE receipt_no = ?1", [receipt_no], |r| {
                r.get(0)
            })?;
        Ok(holder == receipt_id)
    }

    fn receipt_no_holder(&mut self, receipt_no: &str) -> StorageResult<Option<String>> {
        receipts::receipt_no_holder(self.tx, receipt_no)
    }

    fn receipt_no_issued_to(&mut self, receipt_no: &str, device_id: &str) -> StorageResult<bool> {
        receipts::receipt_no_issued_to(self.tx, receipt_no, device_id)
    }

    fn device_public_keys(&mut self, device_id: &str) -> StorageResult<Vec<String>> {
        receipts::device_public_keys(self.tx, device_id)
    }

    fn record_void_request(
        &mut self,
        void_id: &str,
        receipt_id: &str,
        device_id: &str,
        now_ms: i64,
    ) -> StorageResult<()> {
        self.tx
            .prepare_cached(
                "INSERT OR IGNORE INTO void_reviews (void_id, receipt_id, device_id, requested_at_ms) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![void_id, receipt_id, device_id, now_ms])?;
        Ok(())
    }

    fn record_receipt_check(
        &mut self,
        receipt_id: &str,
        account_id: &str,
        owed_at_arrival_fen: Option<i64>,
        now_ms: i64,
    ) -> StorageResult<()> {
        self.tx
            .prepare_cached(
                "INSERT OR IGNORE INTO receipt_checks (receipt_id, account_id, owed_at_arrival_fen, checked_at_ms)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![receipt_id, account_id, owed_at_arrival_fen, now_ms])?;
        Ok(())
    }

    fn audit(&mut self, actor: &str, action: &str, subject: &str, detail: &str, now_ms: i64) -> StorageResult<()> {
        receipts::audit(self.tx, actor, action, subject, detail, now_ms)
    }

    fn latest_backoffice_stamp(&mut self) -> StorageResult<Hlc> {
        latest_backoffice_stamp(self.tx)
    }

    fn raise_backoffice_stamp(&mut self, stamp: &Hlc) -> StorageResult<()> {
        raise_backoffice_stamp(self.tx, stamp)
    }

    fn device_handovers(&mut self, device_id: &str) -> StorageResult<Vec<crate::storage::handover::DeviceHandover>> {
        match &self.device_handovers {
            Some((device, handovers)) if device == device_id => Ok(handovers.clone()),
            _ => {
                let handovers = handover::device_handovers(self.tx, device_id)?;
                self.device_handovers = Some((device_id.to_string(), handovers.clone()));
                Ok(handovers)
            }
        }
    }

    fn served_grid(&mut self, kind: EntityKind, id: &str) -> StorageResult<Option<String>> {
        // the grid column alone: every reference of every pushed record asks (domain/references.rs)
        let mut stmt = self.tx.prepare_cached("SELECT grid_id FROM entities WHERE kind = ?1 AND id = ?2")?;
        Ok(stmt.query_row([kind.as_str(), id], |r| r.get(0)).optional()?)
    }

    fn handovers_holding(&mut self, kind: EntityKind, id: &str) -> StorageResult<Vec<String>> {
        handover::handovers_holding(self.tx, kind, id)
    }

    fn rescope(&mut self, kind: EntityKind, id: &str, grid: &str, now_ms: i64) -> StorageResult<()> {
        handover::rescope(self, kind, id, grid, now_ms)
    }

    fn join_handover(&mut self, handover_id: &str, kind: EntityKind, id: &str) -> StorageResult<()> {
        handover::join(self.tx, handover_id, kind, id)
    }
}

/// The latest back-office stamp any process wrote (domain/authoring.rs); the zero stamp when none.
/// The write transaction is the lock: SQLite has one writer.
pub(super) fn latest_backoffice_stamp(c: &Connection) -> StorageResult<Hlc> {
    let text: Option<String> = c
        .prepare_cached("SELECT last_hlc FROM backoffice_clock WHERE single = 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    crate::storage::parse_backoffice_stamp(text)
}

pub(super) fn raise_backoffice_stamp(c: &Connection, stamp: &Hlc) -> StorageResult<()> {
    c.prepare_cached(
        "INSERT INTO backoffice_clock (single, last_hlc) VALUES (1, ?1)
         ON CONFLICT (single) DO UPDATE SET last_hlc = excluded.last_hlc",
    )?
    .execute([stamp.to_string()])?;
    Ok(())
}
