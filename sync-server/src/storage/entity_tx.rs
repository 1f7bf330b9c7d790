//! The storage primitives the reconcile rules need (domain/reconcile.rs, handover.rs, signed.rs),
//! all inside one write transaction: a storage backend implements `EntityTx` on its transaction
//! (storage/sqlite/entity_tx.rs) and the rules stay the same whatever the storage.

use gridbook_core::model::EntityKind;
use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::merge::Overwrite;
use gridbook_core::sync::wire::{EntityState, Op, RejectCode};

use super::error::{StorageError, StorageResult};
use super::handover::DeviceHandover;
use crate::domain::prepared::PreparedFact;

/// Storage primitives the rules need, all inside one write transaction.
pub trait EntityTx {
    /// Whether this op was recorded before (pushes are retried; each op counts once).
    fn op_seen(&mut self, op: &Op) -> StorageResult<bool>;
    /// The entity's state and its grid.
    fn load(&mut self, kind: EntityKind, id: &str) -> StorageResult<Option<(EntityState, String)>>;
    /// Saves the state under a new change sequence number (what pulls page by).
    fn save(&mut self, state: &EntityState, grid: &str, now_ms: i64) -> StorageResult<()>;
    /// `save` with the state's values already encoded as JSON (`prepare`, outside the writer).
    fn save_encoded(&mut self, state: &EntityState, values_json: &str, grid: &str, now_ms: i64) -> StorageResult<()> {
        let _ = values_json;
        self.save(state, grid, now_ms)
    }
    fn record_op(&mut self, device_id: &str, op: &Op, merged_as: &Hlc, outcome: &str, now_ms: i64)
        -> StorageResult<()>;
    /// Stores a new fact and records the op that carried it (merged under its own stamp), unless a
    /// record of that kind and id exists: then nothing is written and the answer is false.
    fn insert_fact(
        &mut self,
        fact: &PreparedFact,
        op: &Op,
        grid: &str,
        device_id: &str,
        now_ms: i64,
    ) -> StorageResult<bool> {
        if self.load(fact.state.kind, &fact.state.id)?.is_some() {
            return Ok(false);
        }
        self.save_encoded(&fact.state, &fact.values_json, grid, now_ms)?;
        self.record_op(device_id, op, &op.hlc, "applied", now_ms)?;
        Ok(true)
    }
    fn record_conflict(&mut self, op: &Op, grid: &str, overwrite: &Overwrite, now_ms: i64) -> StorageResult<()>;
    fn record_rejection(
        &mut self,
        device_id: &str,
        op: &Op,
        code: RejectCode,
        reason: &str,
        now_ms: i64,
    ) -> StorageResult<()>;
    /// Claims a receipt number for a receipt; false when another receipt holds it.
    fn claim_receipt_no(&mut self, receipt_no: &str, receipt_id: &str) -> StorageResult<bool>;
    /// The receipt that holds a number, if any.
    fn receipt_no_holder(&mut self, receipt_no: &str) -> StorageResult<Option<String>>;
    /// Whether the number lies in a receipt block issued to this device.
    fn receipt_no_issued_to(&mut self, receipt_no: &str, device_id: &str) -> StorageResult<bool>;
    /// Every Ed25519 public key (hex) the device registered, newest first.
    fn device_public_keys(&mut self, device_id: &str) -> StorageResult<Vec<String>>;
    /// A void from a phone waits for the back office's approval.
    fn record_void_request(
        &mut self,
        void_id: &str,
        receipt_id: &str,
        device_id: &str,
        now_ms: i64,
    ) -> StorageResult<()>;
    /// What a receipt's arrears account owed when the receipt arrived, before the receipt lowered
    /// it (None: the server holds no such account); the back office flags receipts by it
    /// (storage/money.rs). Kept once per receipt.
    fn record_receipt_check(
        &mut self,
        receipt_id: &str,
        account_id: &str,
        owed_at_arrival_fen: Option<i64>,
        now_ms: i64,
    ) -> StorageResult<()>;
    /// One row of the audit trail: who did what to which record, when.
    fn audit(&mut self, actor: &str, action: &str, subject: &str, detail: &str, now_ms: i64) -> StorageResult<()>;
    /// The latest back-office stamp any server process wrote (domain/authoring.rs), locked until
    /// the transaction ends, so that back-office writes stamp in the order they commit.
    fn latest_backoffice_stamp(&mut self) -> StorageResult<Hlc>;
    /// Makes `stamp` the latest back-office stamp (it was made after `latest_backoffice_stamp`).
    fn raise_backoffice_stamp(&mut self, stamp: &Hlc) -> StorageResult<()>;

    // Handovers (domain/handover.rs). The defaults: a backend that keeps none.

    /// The handovers this device is part of (its manager lost their scope).
    fn device_handovers(&mut self, device_id: &str) -> StorageResult<Vec<DeviceHandover>> {
        let _ = device_id;
        Ok(vec![])
    }
    /// The handovers whose moved records include this one.
    fn handovers_holding(&mut self, kind: EntityKind, id: &str) -> StorageResult<Vec<String>> {
        let _ = (kind, id);
        Ok(vec![])
    }
    /// The grid a record is served under, if the server has it.
    fn served_grid(&mut self, kind: EntityKind, id: &str) -> StorageResult<Option<String>> {
        Ok(self.load(kind, id)?.map(|(_, grid)| grid))
    }
    /// Serves a record under another grid, with a new change number, its values untouched.
    fn rescope(&mut self, kind: EntityKind, id: &str, grid: &str, now_ms: i64) -> StorageResult<()> {
        let _ = (kind, id, grid, now_ms);
        Err(StorageError::internal("this storage backend keeps no handovers"))
    }
    /// Lists a record among a handover's moved records, under its current change number.
    fn join_handover(&mut self, handover_id: &str, kind: EntityKind, id: &str) -> StorageResult<()> {
        let _ = (handover_id, kind, id);
        Err(StorageError::internal("this storage backend keeps no handovers"))
    }
}
