//! References between records on push (issue 21, defect 7; docs/sync-protocol.md, "References"):
//! a record names only records the server holds, served under the grid it is in. Core's
//! `sync::references` lists the references and states the rule; this file applies it inside the
//! write transaction, so a household created earlier in the same push counts as existing.

use gridbook_core::sync::references;
use gridbook_core::sync::wire::{EntityState, Op, OpAction, RejectCode};

use crate::domain::handover::Access;
use crate::domain::prepared::Reject;
use crate::domain::reconcile::Decision;
use crate::storage::entity_tx::EntityTx;

/// Checks the references of `state` (the record `op` makes or edits, merged) against what the
/// server holds. `grid` is where the record is served once stored: its own grid, or the grid a
/// handover takes it to (a visit recorded offline for a household that moved with its building
/// moves with it, so both are there). An edit is checked when it names a reference or moves the
/// record to another grid; a tombstone names nothing.
pub(crate) fn check(
    tx: &mut dyn EntityTx,
    op: &Op,
    state: &EntityState,
    grid: &str,
    access: &Access,
) -> Result<(), Decision> {
    let refs = state.kind.references();
    if refs.is_empty() || state.deleted() {
        return Ok(());
    }
    if op.action == OpAction::Update
        && !op.fields.contains_key("grid_id")
        && !refs.iter().any(|r| op.fields.contains_key(r.field))
    {
        return Ok(());
    }
    let grid = match access {
        Access::Handover { to_grid, .. } => to_grid.as_str(),
        Access::Own => grid,
    };
    references::check(state.kind, grid, |f| state.value(f).as_str(), |kind, id| tx.served_grid(kind, id))?
        .map_err(|bad| Decision::Reject(Reject(RejectCode::BadReference, bad.to_string())))
}
