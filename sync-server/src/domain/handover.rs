//! Handovers (issue 7, docs/sync-protocol.md "Handovers"): a whole grid, or one building with
//! everything that belongs to it (core's scope.rs), moves to another manager. This file owns the
//! rules of a push during and after a handover:
//!
//! - a device of a manager who lost the scope keeps writing there until it reports the scope
//!   removed (`DeviceFacts::removed_handovers`): its unsent edits are never lost;
//! - a record such a device creates in the moved scope meanwhile joins it: it is served under the
//!   new grid (a fact keeps its recorded values; a mutable record's `grid_id` is rewritten by a
//!   back-office op) and listed for removal from the old devices;
//! - after the device reported the removal, its writes there are refused as `outside_grids`.
//!
//! What is stored of a handover is storage/handover.rs; the storage side (what moves, the
//! removals a pull carries) is storage/sqlite/handover.rs.

use gridbook_core::model::EntityKind;
use gridbook_core::sync::wire::{EntityState, ErrorCode, Op, OpAction, OpOutcome, RejectCode};
use serde_json::{Map, Value};

use crate::domain::auth::{DeviceAuth, Role};
use crate::domain::prepared::Reject;
use crate::domain::reconcile::{self, Decision, Rules};
use crate::storage::entity_tx::EntityTx;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::handover::HandoverScope;

/// How a device reaches the record an op writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Access {
    /// Through the grids of its manager.
    Own,
    /// Through a handover it has not reported removed yet.
    Handover { id: String, to_grid: String },
}

/// Whether `device` may write `op` (merged into `state`, served under `merged_grid`; the record
/// was served under `existing_grid` before, if it existed). Every grid the op touches must be its
/// manager's — or a handover the device is still part of must hold the record, its parent, or
/// (for a whole grid) the op's grid.
pub(crate) fn may_write_scope(
    tx: &mut dyn EntityTx,
    device: &DeviceAuth,
    op: &Op,
    existing_grid: Option<&str>,
    merged_grid: &str,
    state: &EntityState,
) -> Result<Access, Decision> {
    // One indexed lookup; empty for every device whose manager never lost a grid or a building.
    let handovers = if device.role == Role::Field { tx.device_handovers(&device.device_id)? } else { vec![] };
    // A new record belongs where its parent went (a visit recorded offline for a moved household).
    let mut parent: Option<(String, String, EntityKind)> = None;
    if existing_grid.is_none() && !handovers.is_empty() {
        'refs: for p in op.kind.parents() {
            let Some(id) = state.value(p.field).as_str().filter(|s| !s.is_empty()) else { continue };
            for &kind in p.kinds {
                for h in tx.handovers_holding(kind, id)? {
                    if handovers.iter().any(|d| d.id == h) {
                        if let Some(grid) = tx.served_grid(kind, id)? {
                            parent = Some((h, grid, kind));
                            break 'refs;
                        }
                    }
                }
            }
        }
    }
    let outside = |grid: &str| !device.may_write(grid);
    let refused = if outside(&op.grid) {
        Some(format!("grid {} is not assigned to this device's manager", op.grid))
    } else if let Some(g) = existing_grid.filter(|g| outside(g)) {
        Some(format!("the {} belongs to grid {g}", op.kind.as_str()))
    } else if outside(merged_grid) {
        Some(format!("grid {merged_grid} is not assigned to this device's manager"))
    } else if let Some((_, g, kind)) = parent.as_ref().filter(|(_, g, _)| outside(g)) {
        Some(format!("the {} it belongs to is in grid {g}", kind.as_str()))
    } else {
        None
    };
    let Some(reason) = refused else { return Ok(Access::Own) };
    let holding = match (existing_grid, &parent) {
        (Some(_), _) => tx.handovers_holding(op.kind, &op.entity)?,
        (None, Some((h, _, _))) => vec![h.clone()],
        (None, None) => vec![],
    };
    let covering = handovers.iter().find(|d| {
        holding.contains(&d.id) || (d.scope == HandoverScope::Grid && existing_grid.is_none() && d.from_grid == op.grid)
    });
    match covering {
        Some(d) if !d.removed => Ok(Access::Handover { id: d.id.clone(), to_grid: d.to_grid.clone() }),
        Some(d) => Err(Reject(
            RejectCode::OutsideGrids,
            format!(
                "{reason}: it was handed over to grid {} (handover {}) and this device removed its copy",
                d.to_grid, d.id
            ),
        )
        .into()),
        None => Err(Reject(RejectCode::OutsideGrids, reason).into()),
    }
}

/// After a write through a handover: a record new to the handover's scope joins it — served under
/// the new grid and listed for removal from the old devices — with the signature it carries.
pub(crate) fn after_write(
    tx: &mut dyn EntityTx,
    access: &Access,
    op: &Op,
    state: &EntityState,
    is_new: bool,
    now_ms: i64,
) -> StorageResult<()> {
    let Access::Handover { id, to_grid } = access else { return Ok(()) };
    if !is_new {
        return Ok(());
    }
    join(tx, id, to_grid, op.kind, &op.entity, state, now_ms)?;
    // a signature is pushed before the receipt or visit it signed, so it is not new here
    if let Some(signature) = state.value("signature_id").as_str().filter(|s| !s.is_empty()) {
        if let Some((sig, _)) = tx.load(EntityKind::Signature, signature)? {
            join(tx, id, to_grid, EntityKind::Signature, signature, &sig, now_ms)?;
        }
    }
    Ok(())
}

fn join(
    tx: &mut dyn EntityTx,
    handover: &str,
    to_grid: &str,
    kind: EntityKind,
    id: &str,
    state: &EntityState,
    now_ms: i64,
) -> StorageResult<()> {
    move_record(tx, kind, id, state, to_grid, now_ms)?;
    tx.join_handover(handover, kind, id)
}

/// Serves a record under `to_grid` from now on, with a new change number. A fact keeps its
/// recorded values (its `grid_id` says where it happened); a mutable record's `grid_id` is
/// rewritten by a back-office op, merged and logged like any other.
pub(crate) fn move_record(
    tx: &mut dyn EntityTx,
    kind: EntityKind,
    id: &str,
    state: &EntityState,
    to_grid: &str,
    now_ms: i64,
) -> StorageResult<()> {
    if kind.insert_only() || state.base.is_none() {
        return tx.rescope(kind, id, to_grid, now_ms);
    }
    if state.value("grid_id").as_str() == Some(to_grid) {
        return tx.rescope(kind, id, to_grid, now_ms);
    }
    let mut fields = Map::new();
    fields.insert("grid_id".into(), Value::String(to_grid.to_string()));
    let op = Op {
        id: uuid::Uuid::now_v7(),
        kind,
        entity: id.to_string(),
        grid: to_grid.to_string(),
        action: OpAction::Update,
        fields,
        hlc: crate::domain::authoring::stamp_after_in(tx, state.max_clock())?,
    };
    match reconcile::apply_op(tx, &crate::domain::authoring::device(), &op, &Rules::default(), now_ms, 0)?.outcome {
        OpOutcome::Applied => Ok(()),
        OpOutcome::Rejected { reason, .. } => Err(StorageError::conflict(
            ErrorCode::CannotMove,
            format!("{} {id} cannot move to grid {to_grid}: {reason}", kind.as_str()),
        )),
        other => Err(StorageError::internal(format!("moving {} {id}: {other:?}", kind.as_str()))),
    }
}
