//! The records as the back office reads and writes them: its own changes (arrears figures,
//! imports, tiers, handover moves), merged like any op; a grid's records of one kind as stored now;
//! which grids exist; and the audit rows of acts outside any op. Imports, exports, billing and
//! tiers need nothing else of the storage; `SyncStorage` includes it.

use gridbook_core::model::EntityKind;
use gridbook_core::sync::wire::{EntityState, Op, OpResult};

use super::error::{StorageError, StorageResult};

pub trait RecordStorage: Send + Sync + 'static {
    /// Changes made by the back office (arrears accounts, imports, tiers, corrections), merged like
    /// any op, all in one transaction (`authoring::op` builds them). Answers per op, like a push.
    fn apply_backoffice_ops(&self, ops: &[Op], now_ms: i64) -> StorageResult<Vec<OpResult>>;
    /// One back-office change.
    fn apply_backoffice_op(&self, op: &Op, now_ms: i64) -> StorageResult<OpResult> {
        let mut results = self.apply_backoffice_ops(std::slice::from_ref(op), now_ms)?;
        results.pop().ok_or_else(|| StorageError::internal("no result for the op"))
    }

    /// Whether the grid exists.
    fn has_grid(&self, grid_id: &str) -> StorageResult<bool>;
    /// Every grid's id.
    fn grid_ids(&self) -> StorageResult<Vec<String>>;
    /// Every grid's (id, name), by id.
    fn grid_names(&self) -> StorageResult<Vec<(String, String)>>;
    /// Every record of one kind in a grid as the server holds it now, tombstones included (imports
    /// match rows against them; exports read them).
    fn grid_records(&self, kind: EntityKind, grid_id: &str) -> StorageResult<Vec<EntityState>>;
    /// The records of one kind in a grid that name household `household_id` (a receipt's visit,
    /// found without reading every visit of the grid), tombstones included, in change order.
    fn household_records(&self, kind: EntityKind, grid_id: &str, household_id: &str)
        -> StorageResult<Vec<EntityState>>;
    /// One row of the audit trail for an act outside any op: an import, an unmasked export.
    fn record_audit(&self, actor: &str, action: &str, subject: &str, detail: &str, now_ms: i64) -> StorageResult<()>;
}
