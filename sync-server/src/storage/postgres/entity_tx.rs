//! The reconcile rules' storage primitives (`EntityTx`, storage/entity_tx.rs) on one PostgreSQL
//! write transaction, safe when other replicas write the same records at the same moment:
//!
//! - a record is locked by its key (`pg_advisory_xact_lock`) before it is read for a merge, so two
//!   pushes editing one record merge one after the other, never both from the same old state,
//!   and a record that does not exist yet is locked as well (two creates of one id);
//! - an op id is claimed by inserting it (`ON CONFLICT DO NOTHING`) before the op is judged: the
//!   same op pushed on two connections at once waits on the key and is then "already had" — no
//!   read-then-write, so it is applied once and its conflicts are logged once;
//! - a new fact is one insert that says whether the record was there; receipt numbers are claimed
//!   by their key.

use std::collections::HashSet;

use gridbook_core::model::EntityKind;
use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::merge::Overwrite;
use gridbook_core::sync::wire::{EntityState, Op, ReceiptBlock, RejectCode};

use super::cursor::Numbers;
use super::pool::{Db, RowExt};
use crate::domain::prepared::PreparedFact;
use crate::storage::entity_tx::EntityTx;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::handover::DeviceHandover;
use crate::storage::sqlite::entity_from_row;

/// `EntityTx` over one PostgreSQL write transaction.
pub(super) struct PgTx<'a> {
    db: &'a Db,
    tx: &'a deadpool_postgres::Transaction<'a>,
    numbers: Numbers,
    /// Op ids recorded by this transaction (a batch may carry an op twice).
    recorded: HashSet<String>,
    /// The pushing device's rejections waiting for someone, read once per batch.
    device_rejections: HashSet<String>,
    /// Records this transaction holds the lock of.
    locked: HashSet<(EntityKind, String)>,
    /// The pushing device's handovers, read once per push (every op asks, domain/handover.rs).
    device_handovers: Option<(String, Vec<DeviceHandover>)>,
}

/// The advisory lock key of a record (64-bit hash of its kind and id).
const LOCK_KEY: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 0))";

fn retry(what: &str) -> StorageError {
    StorageError::Unavailable(format!("{what} was written by another request at the same moment; retry"))
}

impl<'a> PgTx<'a> {
    pub(super) fn begin(
        db: &'a Db,
        tx: &'a deadpool_postgres::Transaction<'a>,
        device_id: &str,
        batch_ops: &[Op],
    ) -> StorageResult<Self> {
        let numbers = Numbers::begin(db, tx)?;
        let mut device_rejections = HashSet::new();
        if !batch_ops.is_empty() {
            for r in db.query(tx, "SELECT op_id FROM rejections WHERE device_id = $1", &[&device_id])? {
                device_rejections.insert(r.at::<String>(0)?);
            }
        }
        Ok(Self {
            db,
            tx,
            numbers,
            recorded: HashSet::new(),
            device_rejections,
            locked: HashSet::new(),
            device_handovers: None,
        })
    }

    /// `n` consecutive change numbers of this transaction; the first.
    pub(super) fn reserve(&mut self, n: i64) -> StorageResult<i64> {
        self.numbers.reserve(n)
    }

    fn settle_rejection(&mut self, op_id: &str) -> StorageResult<()> {
        if self.device_rejections.remove(op_id) {
            self.db.execute(self.tx, "DELETE FROM rejections WHERE op_id = $1", &[&op_id])?;
        }
        Ok(())
    }

    fn lock(&mut self, kind: EntityKind, id: &str) -> StorageResult<()> {
        if self.locked.insert((kind, id.to_string())) {
            self.db.execute(self.tx, LOCK_KEY, &[&kind.as_str(), &id])?;
        }
        Ok(())
    }
}

impl EntityTx for PgTx<'_> {
    fn op_seen(&mut self, op: &Op) -> StorageResult<bool> {
        let op_id = op.id.to_string();
        if self.recorded.contains(&op_id) {
            return Ok(true);
        }
        if op.kind.insert_only()
            && self
                .db
                .query_opt(
                    self.tx,
                    "SELECT 1 FROM entities WHERE kind = $1 AND id = $2 AND op_id = $3",
                    &[&op.kind.as_str(), &op.entity, &op_id],
                )?
                .is_some()
        {
            return Ok(true);
        }
        // the claim: a concurrent push of this op waits here until this transaction ends
        let claimed = self.db.execute(
            self.tx,
            "INSERT INTO ops (op_id, device_id, kind, entity_id, grid_id, hlc, merged_hlc, received_at_ms, outcome, body)
             VALUES ($1, '', '', '', '', '', '', 0, 'claimed', '') ON CONFLICT (op_id) DO NOTHING",
            &[&op_id],
        )?;
        Ok(claimed == 0)
    }

    fn insert_fact(
        &mut self,
        fact: &PreparedFact,
        _op: &Op,
        grid: &str,
        device_id: &str,
        now_ms: i64,
    ) -> StorageResult<bool> {
        let seq = self.numbers.next()?;
        let inserted = self.db.execute(
            self.tx,
            "INSERT INTO entities (seq, kind, id, grid_id, vals, base_hlc, clocks, updated_at_ms, op_id, device_id, received_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, '{}', $7, $8, $9, $7)
             ON CONFLICT (kind, id) DO NOTHING",
            &[
                &seq,
                &fact.state.kind.as_str(),
                &fact.state.id,
                &grid,
                &fact.values_json,
                &fact.stamp,
                &now_ms,
                &fact.op_id,
                &device_id,
            ],
        )?;
        if inserted == 0 {
            return Ok(false);
        }
        self.settle_rejection(&fact.op_id)?;
        Ok(true)
    }

    fn load(&mut self, kind: EntityKind, id: &str) -> StorageResult<Option<(EntityState, String)>> {
        // locked first, read after: the read sees what the lock's last holder committed
        self.lock(kind, id)?;
        let row = self.db.query_opt(
            self.tx,
            "SELECT vals, base_hlc, clocks, grid_id FROM entities WHERE kind = $1 AND id = $2",
            &[&kind.as_str(), &id],
        )?;
        match row {
            None => Ok(None),
            Some(r) => {
                let state = entity_from_row(kind, id.to_string(), &r.at::<String>(0)?, r.at(1)?, &r.at::<String>(2)?)?;
                Ok(Some((state, r.at(3)?)))
            }
        }
    }

    fn save(&mut self, state: &EntityState, grid: &str, now_ms: i64) -> StorageResult<()> {
        self.save_encoded(state, &serde_json::to_string(&state.values)?, grid, now_ms)
    }

    fn save_encoded(&mut self, state: &EntityState, values_json: &str, grid: &str, now_ms: i64) -> StorageResult<()> {
        let seq = self.numbers.next()?;
        let base = state.base.as_ref().map(|h| h.to_string());
        let clocks = if state.clocks.is_empty() { "{}".to_string() } else { serde_json::to_string(&state.clocks)? };
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 8] =
            [&state.kind.as_str(), &state.id, &grid, &values_json, &base, &clocks, &seq, &now_ms];
        if state.kind.insert_only() {
            // a fact is written once: one that appeared since it was read (a fact's insert takes
            // no lock) means this push raced another carrying it, and is sent again
            let n = self.db.execute(
                self.tx,
                "INSERT INTO entities (kind, id, grid_id, vals, base_hlc, clocks, seq, updated_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (kind, id) DO NOTHING",
                &params,
            )?;
            if n == 0 {
                return Err(retry(&format!("{} {}", state.kind.as_str(), state.id)));
            }
            return Ok(());
        }
        self.db.execute(
            self.tx,
            "INSERT INTO entities (kind, id, grid_id, vals, base_hlc, clocks, seq, updated_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (kind, id) DO UPDATE SET grid_id = excluded.grid_id, vals = excluded.vals,
               base_hlc = excluded.base_hlc, clocks = excluded.clocks, seq = excluded.seq,
               updated_at_ms = excluded.updated_at_ms",
            &params,
        )?;
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
        let merged = if *merged_as == op.hlc { hlc.clone() } else { merged_as.to_string() };
        let body = if op.kind.insert_only() { String::new() } else { serde_json::to_string(&op.fields)? };
        // fills in this transaction's claim (or records an op judged without one)
        let n = self.db.execute(
            self.tx,
            "INSERT INTO ops (op_id, device_id, kind, entity_id, grid_id, hlc, merged_hlc, received_at_ms, outcome, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (op_id) DO UPDATE SET device_id = excluded.device_id, kind = excluded.kind,
               entity_id = excluded.entity_id, grid_id = excluded.grid_id, hlc = excluded.hlc,
               merged_hlc = excluded.merged_hlc, received_at_ms = excluded.received_at_ms,
               outcome = excluded.outcome, body = excluded.body
             WHERE ops.outcome = 'claimed'",
            &[&op_id, &device_id, &op.kind.as_str(), &op.entity, &op.grid, &hlc, &merged, &now_ms, &outcome, &body],
        )?;
        if n == 0 {
            return Err(retry(&format!("op {op_id}")));
        }
        self.settle_rejection(&op_id)?;
        self.recorded.insert(op_id);
        Ok(())
    }

    fn record_conflict(&mut self, op: &Op, grid: &str, o: &Overwrite, now_ms: i64) -> StorageResult<()> {
        self.db.execute(
            self.tx,
            "INSERT INTO conflicts (at_ms, kind, entity_id, grid_id, field, old_value, new_value, old_hlc, new_hlc, old_device, new_device)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &now_ms,
                &op.kind.as_str(),
                &op.entity,
                &grid,
                &o.field,
                &o.old_value.to_string(),
                &o.new_value.to_string(),
                &o.old_hlc.to_string(),
                &o.new_hlc.to_string(),
                &o.old_hlc.node,
                &o.new_hlc.node,
            ],
        )?;
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
        // a refused op is not recorded: its claim goes, and it is judged again when sent again
        self.db.execute(self.tx, "DELETE FROM ops WHERE op_id = $1 AND outcome = 'claimed'", &[&op_id])?;
        self.device_rejections.insert(op_id.clone());
        self.db.execute(
            self.tx,
            "INSERT INTO rejections (op_id, at_ms, device_id, kind, entity_id, grid_id, code, reason, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (op_id) DO UPDATE SET at_ms = excluded.at_ms, device_id = excluded.device_id,
               kind = excluded.kind, entity_id = excluded.entity_id, grid_id = excluded.grid_id,
               code = excluded.code, reason = excluded.reason, body = excluded.body",
            &[
                &op_id,
                &now_ms,
                &device_id,
                &op.kind.as_str(),
                &op.entity,
                &op.grid,
                &code.as_str(),
                &reason,
                &serde_json::to_string(op)?,
            ],
        )?;
        Ok(())
    }

    fn claim_receipt_no(&mut self, receipt_no: &str, receipt_id: &str) -> StorageResult<bool> {
        let n = self.db.execute(
            self.tx,
            "INSERT INTO receipt_numbers (receipt_no, receipt_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&receipt_no, &receipt_id],
        )?;
        if n == 1 {
            return Ok(true);
        }
        Ok(self.receipt_no_holder(receipt_no)?.as_deref() == Some(receipt_id))
    }

    fn receipt_no_holder(&mut self, receipt_no: &str) -> StorageResult<Option<String>> {
        self.db
            .query_opt(self.tx, "SELECT receipt_id FROM receipt_numbers WHERE receipt_no = $1", &[&receipt_no])?
            .map(|r| r.at(0))
            .transpose()
    }

    fn receipt_no_issued_to(&mut self, receipt_no: &str, device_id: &str) -> StorageResult<bool> {
        // ':' sorts right after '9' (byte order): the prefix is the number before its digits
        let rows = self.db.query(
            self.tx,
            "SELECT prefix, first, last, issued_at_ms FROM receipt_blocks
             WHERE device_id = $1 AND $2 > prefix COLLATE \"C\" AND $2 < (prefix || ':') COLLATE \"C\"",
            &[&device_id, &receipt_no],
        )?;
        for r in rows {
            let block = ReceiptBlock {
                prefix: r.at(0)?,
                first: u32::try_from(r.at::<i64>(1)?).map_err(|_| StorageError::internal("block start"))?,
                last: u32::try_from(r.at::<i64>(2)?).map_err(|_| StorageError::internal("block end"))?,
                issued_at_ms: r.at(3)?,
            };
            if block.contains(receipt_no) {
                return Ok(true);
            }
        }
        super::receipts::reclaimed(self.db, self.tx, receipt_no, device_id)
    }

    fn device_public_keys(&mut self, device_id: &str) -> StorageResult<Vec<String>> {
        super::receipts::device_public_keys(self.db, self.tx, device_id)
    }

    fn record_void_request(
        &mut self,
        void_id: &str,
        receipt_id: &str,
        device_id: &str,
        now_ms: i64,
    ) -> StorageResult<()> {
        self.db.execute(
            self.tx,
            "INSERT INTO void_reviews (void_id, receipt_id, device_id, requested_at_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
            &[&void_id, &receipt_id, &device_id, &now_ms],
        )?;
        Ok(())
    }

    fn record_receipt_check(
        &mut self,
        receipt_id: &str,
        account_id: &str,
        owed_at_arrival_fen: Option<i64>,
        now_ms: i64,
    ) -> StorageResult<()> {
        self.db.execute(
            self.tx,
            "INSERT INTO receipt_checks (receipt_id, account_id, owed_at_arrival_fen, checked_at_ms)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[&receipt_id, &account_id, &owed_at_arrival_fen, &now_ms],
        )?;
        Ok(())
    }

    fn audit(&mut self, actor: &str, action: &str, subject: &str, detail: &str, now_ms: i64) -> StorageResult<()> {
        super::records::audit(self.db, self.tx, actor, action, subject, detail, now_ms)
    }

    fn latest_backoffice_stamp(&mut self) -> StorageResult<Hlc> {
        latest_backoffice_stamp(self.db, self.tx)
    }

    fn raise_backoffice_stamp(&mut self, stamp: &Hlc) -> StorageResult<()> {
        raise_backoffice_stamp(self.db, self.tx, stamp)
    }

    fn served_grid(&mut self, kind: EntityKind, id: &str) -> StorageResult<Option<String>> {
        self.db
            .query_opt(self.tx, "SELECT grid_id FROM entities WHERE kind = $1 AND id = $2", &[&kind.as_str(), &id])?
            .map(|r| r.at(0))
            .transpose()
    }

    fn device_handovers(&mut self, device_id: &str) -> StorageResult<Vec<DeviceHandover>> {
        match &self.device_handovers {
            Some((device, handovers)) if device == device_id => Ok(handovers.clone()),
            _ => {
                let handovers = super::handover::device_handovers(self.db, self.tx, device_id)?;
                self.device_handovers = Some((device_id.to_string(), handovers.clone()));
                Ok(handovers)
            }
        }
    }

    fn handovers_holding(&mut self, kind: EntityKind, id: &str) -> StorageResult<Vec<String>> {
        super::handover::handovers_holding(self.db, self.tx, kind, id)
    }

    fn rescope(&mut self, kind: EntityKind, id: &str, grid: &str, now_ms: i64) -> StorageResult<()> {
        let seq = self.numbers.next()?;
        self.db.execute(
            self.tx,
            "UPDATE entities SET grid_id = $3, seq = $4, updated_at_ms = $5 WHERE kind = $1 AND id = $2",
            &[&kind.as_str(), &id, &grid, &seq, &now_ms],
        )?;
        Ok(())
    }

    fn join_handover(&mut self, handover_id: &str, kind: EntityKind, id: &str) -> StorageResult<()> {
        super::handover::join(self.db, self.tx, handover_id, kind, id)
    }
}

/// The latest back-office stamp any replica wrote (domain/authoring.rs), its row locked until the
/// transaction ends: back-office writes of all replicas stamp one after the other, in commit order.
/// The zero stamp when none (the migration writes the row, so there is always one to lock).
pub(super) fn latest_backoffice_stamp<C: deadpool_postgres::GenericClient + Sync>(
    db: &Db,
    c: &C,
) -> StorageResult<Hlc> {
    let row = db.query_opt(c, "SELECT last_hlc FROM backoffice_clock WHERE single = 1 FOR UPDATE", &[])?;
    crate::storage::parse_backoffice_stamp(row.map(|r| r.at::<String>(0)).transpose()?)
}

pub(super) fn raise_backoffice_stamp<C: deadpool_postgres::GenericClient + Sync>(
    db: &Db,
    c: &C,
    stamp: &Hlc,
) -> StorageResult<()> {
    db.execute(
        c,
        "INSERT INTO backoffice_clock (single, last_hlc) VALUES (1, $1)
         ON CONFLICT (single) DO UPDATE SET last_hlc = excluded.last_hlc",
        &[&stamp.to_string()],
    )?;
    Ok(())
}
