//! Reconciling pushed ops, whatever the storage: authorise each op against the device's grids,
//! validate it, bound its clock, merge it last-writer-wins per field (core's merge), log every
//! overwritten value, and record the op once. A storage backend supplies the primitives
//! (`EntityTx`) inside one transaction; this file owns the rules.

use gridbook_core::model::EntityKind;
use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::merge::MergeOutcome;
use gridbook_core::sync::wire::{EntityState, Op, OpAction, OpOutcome, OpResult, RejectCode};
use gridbook_core::validate;
use gridbook_core::ValidationError;

use crate::domain::auth::DeviceAuth;
use crate::domain::authoring::is_backoffice_node;
use crate::domain::prepared::{validate_record, PreparedFact, Reject};
use crate::storage::entity_tx::EntityTx;
use crate::storage::error::{StorageError, StorageResult};

/// Server-side settings of the rules.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Stamps further ahead of the server's clock than this are clamped (docs/sync-protocol.md).
    pub max_clock_ahead_ms: i64,
}

impl Default for Rules {
    fn default() -> Self {
        Self { max_clock_ahead_ms: 5 * 60 * 1000 }
    }
}

/// The stamp an op is merged under: its own, or the server's clock when it is too far ahead
/// (a phone set to next week must not win every merge until next week).
fn bounded_stamp(op: &Op, rules: &Rules, now_ms: i64, seq: u16) -> Option<Hlc> {
    let limit = now_ms.saturating_add(rules.max_clock_ahead_ms).max(0) as u64;
    (op.hlc.millis > limit).then(|| Hlc::new(now_ms.max(0) as u64, seq, op.hlc.node.clone()))
}

/// The op as pushed, its fields back from its prepared record if they moved there.
fn with_fields<'a>(op: &'a Op, prepared: Option<&PreparedFact>, restored: &'a mut Option<Op>) -> &'a Op {
    match prepared {
        Some(fact) if op.fields.is_empty() && !fact.state.values.is_empty() => {
            restored.insert(Op { fields: fact.state.values.clone(), ..op.clone() })
        }
        _ => op,
    }
}

/// Applies one op; the answer to give the device.
pub fn apply_op(
    tx: &mut dyn EntityTx,
    device: &DeviceAuth,
    op: &Op,
    rules: &Rules,
    now_ms: i64,
    index: u16,
) -> StorageResult<OpResult> {
    apply_prepared_op(tx, device, op, None, rules, now_ms, index)
}

/// `apply_op` with what `prepare` worked out for the op beforehand.
pub fn apply_prepared_op(
    tx: &mut dyn EntityTx,
    device: &DeviceAuth,
    op: &Op,
    prepared: Option<&PreparedFact>,
    rules: &Rules,
    now_ms: i64,
    index: u16,
) -> StorageResult<OpResult> {
    let clamped = bounded_stamp(op, rules, now_ms, index);
    if let Some(fact) = prepared.filter(|_| clamped.is_none()) {
        match store_new_fact(tx, device, op, fact, now_ms) {
            Ok(true) => return Ok(OpResult { op_id: op.id, outcome: OpOutcome::Applied, clamped_to: None }),
            // there already (a retried push), or refused: judged the long way, which says which
            Ok(false) | Err(Decision::Reject(_)) => {}
            Err(Decision::Fail(e)) => return Err(e),
        }
    }
    let mut restored = None;
    let op = with_fields(op, prepared, &mut restored);
    if tx.op_seen(op)? {
        return Ok(OpResult { op_id: op.id, outcome: OpOutcome::AlreadyHad, clamped_to: None });
    }
    let restamped;
    let merged = match &clamped {
        Some(stamp) => {
            restamped = Op { hlc: stamp.clone(), ..op.clone() };
            &restamped
        }
        None => op,
    };
    match decide(tx, device, merged, now_ms) {
        Ok(outcome) => {
            let label = match outcome {
                MergeOutcome::Applied => "applied",
                MergeOutcome::AlreadyHad => "already_had",
                MergeOutcome::Superseded => "superseded",
            };
            tx.record_op(&device.device_id, op, &merged.hlc, label, now_ms)?;
            let outcome = match outcome {
                MergeOutcome::Applied => OpOutcome::Applied,
                MergeOutcome::AlreadyHad => OpOutcome::AlreadyHad,
                MergeOutcome::Superseded => OpOutcome::Superseded,
            };
            Ok(OpResult { op_id: op.id, outcome, clamped_to: clamped })
        }
        Err(Decision::Reject(Reject(code, reason))) => {
            tx.record_rejection(&device.device_id, op, code, &reason, now_ms)?;
            Ok(OpResult { op_id: op.id, outcome: OpOutcome::Rejected { code, reason }, clamped_to: None })
        }
        Err(Decision::Fail(e)) => Err(e),
    }
}

pub(crate) enum Decision {
    Reject(Reject),
    Fail(StorageError),
}
impl From<Reject> for Decision {
    fn from(r: Reject) -> Self {
        Decision::Reject(r)
    }
}
impl From<StorageError> for Decision {
    fn from(e: StorageError) -> Self {
        Decision::Fail(e)
    }
}
impl From<ValidationError> for Decision {
    fn from(e: ValidationError) -> Self {
        Decision::Reject(e.into())
    }
}

/// What an op may be before anything stored is read: a sane id, known fields, a fact never edited,
/// back-office figures from the back office only.
fn check_shape(device: &DeviceAuth, op: &Op) -> Result<(), Reject> {
    if op.entity.is_empty() || op.entity.len() > 64 {
        return Err(Reject(RejectCode::Invalid, "entity: the id must be 1 to 64 characters".into()));
    }
    if op.kind.insert_only() && op.action != OpAction::Create {
        return Err(Reject(RejectCode::Immutable, format!("a {} is recorded once and never edited", op.kind.as_str())));
    }
    if op.kind.backoffice_only() && device.role == crate::domain::auth::Role::Field {
        let what = match op.kind {
            EntityKind::ArrearsAccount => "arrears accounts",
            _ => "billing figures",
        };
        return Err(Reject(RejectCode::Invalid, format!("{what} are kept by the back office")));
    }
    Ok(())
}

/// A new fact whose record `prepare` built and found valid, stored without reading anything
/// first: the insert itself says whether the record was there. True when stored; false when it
/// was there, and the op is then judged the long way (a retry is "already had", another op for
/// the same record is refused).
fn store_new_fact(
    tx: &mut dyn EntityTx,
    device: &DeviceAuth,
    op: &Op,
    fact: &PreparedFact,
    now_ms: i64,
) -> Result<bool, Decision> {
    check_shape(device, op)?;
    let state = &fact.state;
    let grid = state.value("grid_id").as_str().unwrap_or(&op.grid);
    let access = crate::domain::handover::may_write_scope(tx, device, op, None, grid, state)?;
    crate::domain::signed::check(tx, device, state)?;
    crate::domain::references::check(tx, op, state, grid, &access)?;
    if !tx.insert_fact(fact, op, grid, &device.device_id, now_ms)? {
        return Ok(false);
    }
    stored(tx, device, &access, op, state, true, now_ms)?;
    Ok(true)
}

/// What follows a stored change: the receipt's account, a void's review, a handover's scope.
fn stored(
    tx: &mut dyn EntityTx,
    device: &DeviceAuth,
    access: &crate::domain::handover::Access,
    op: &Op,
    state: &EntityState,
    is_new: bool,
    now_ms: i64,
) -> StorageResult<()> {
    crate::domain::signed::after_save(tx, device, state, now_ms)?;
    crate::domain::handover::after_write(tx, access, op, state, is_new, now_ms)
}

/// Stores the canonical form of what has one, as the phone does before it makes the op: a
/// resident ID number's check character `X` (validate::canonical_id_number). A client that sent
/// `x` keeps its own copy until the record is next written.
fn canonicalise(state: &mut EntityState) {
    if state.kind != EntityKind::Household {
        return;
    }
    let id_type = state.value("id_type").as_str().and_then(gridbook_core::model::IdType::parse);
    if let Some(canonical) =
        validate::canonical_id_number(id_type, state.value("id_number").as_str().unwrap_or_default())
    {
        state.values.insert("id_number".into(), canonical.into());
    }
}

fn decide(tx: &mut dyn EntityTx, device: &DeviceAuth, op: &Op, now_ms: i64) -> Result<MergeOutcome, Decision> {
    check_shape(device, op)?;
    validate::fields(op.kind, &op.fields)?;
    let existing = tx.load(op.kind, &op.entity)?;
    if existing.is_none() && op.action != OpAction::Create {
        // an update alone would store a record without its required fields, which no phone can
        // read; phones create before they edit, so the update is refused for good
        return Err(Reject(
            RejectCode::UnknownEntity,
            format!("{} {} does not exist: create it before updating it", op.kind.as_str(), op.entity),
        )
        .into());
    }
    let existing_grid = existing.as_ref().map(|(_, grid)| grid.clone());
    let (mut state, current_grid) =
        existing.unwrap_or_else(|| (EntityState::empty(op.kind, op.entity.clone()), op.grid.clone()));
    let merge = state.apply(op);
    canonicalise(&mut state);
    let grid = state.value("grid_id").as_str().unwrap_or(&current_grid).to_string();
    // the device's grids, or a handover it is still part of (handover.rs)
    let access = crate::domain::handover::may_write_scope(tx, device, op, existing_grid.as_deref(), &grid, &state)?;
    if existing_grid.is_some() && op.kind.insert_only() {
        return Err(Reject(
            RejectCode::Immutable,
            format!("{} {} already exists and is never changed", op.kind.as_str(), op.entity),
        )
        .into());
    }
    if merge.outcome == MergeOutcome::Applied {
        // A record stored before updates of unknown records were refused may lack its create; it
        // is checked in full once complete. A complete record satisfies the phone's rules.
        if state.base.is_some() {
            validate_record(&state)?;
            // signatures, signed receipts and work orders (issue 4): a missing or refused
            // signature is a bad signature first
            crate::domain::signed::check(tx, device, &state)?;
            // what it names exists, in its grid (references.rs)
            crate::domain::references::check(tx, op, &state, &grid, &access)?;
        }
        if op.kind == EntityKind::Receipt {
            let number = state.value("receipt_no").as_str().unwrap_or_default().to_string();
            if !tx.claim_receipt_no(&number, &op.entity)? {
                return Err(Reject(
                    RejectCode::DuplicateReceiptNo,
                    format!("receipt number {number} was already used"),
                )
                .into());
            }
        }
        tx.save(&state, &grid, now_ms)?;
        stored(tx, device, &access, op, &state, existing_grid.is_none(), now_ms)?;
    }
    for overwrite in &merge.overwrites {
        // Successive edits by one device are not conflicts; different devices' edits are. The back
        // office is one writer, whichever replica or server start stamped it (authoring.rs).
        let (old, new) = (&overwrite.old_hlc.node, &overwrite.new_hlc.node);
        if old != new && !(is_backoffice_node(old) && is_backoffice_node(new)) {
            tx.record_conflict(op, &grid, overwrite, now_ms)?;
        }
    }
    Ok(merge.outcome)
}
