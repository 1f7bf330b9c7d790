//! Reconciling pushed ops, whatever the storage: authorise each op against the device's grids,
//! validate it, bound its clock, merge it last-writer-wins per field (core's merge), log every
//! overwritten value, and record the op once. A storage backend supplies the primitives
//! (`EntityTx`) inside one transaction; this file owns the rules.

use gridbook_core::hlc::Hlc;
use gridbook_core::merge::{MergeOutcome, Overwrite};
use gridbook_core::model::{self, EntityKind, Record};
use gridbook_core::validate;
use gridbook_core::wire::{EntityState, Op, OpAction, OpOutcome, OpResult, RejectCode};
use gridbook_core::ValidationError;

use crate::domain::auth::DeviceAuth;
use crate::http::error::AppResult;

/// Storage primitives the rules need, all inside one write transaction.
pub trait EntityTx {
    /// Whether this op was recorded before (pushes are retried; each op counts once).
    fn op_seen(&mut self, op: &Op) -> AppResult<bool>;
    /// The entity's state and its grid.
    fn load(&mut self, kind: EntityKind, id: &str) -> AppResult<Option<(EntityState, String)>>;
    /// Saves the state under a new change sequence number (what pulls page by).
    fn save(&mut self, state: &EntityState, grid: &str, now_ms: i64) -> AppResult<()>;
    /// `save` with the state's values already encoded as JSON (`prepare`, outside the writer).
    fn save_encoded(&mut self, state: &EntityState, values_json: &str, grid: &str, now_ms: i64) -> AppResult<()> {
        let _ = values_json;
        self.save(state, grid, now_ms)
    }
    fn record_op(&mut self, device_id: &str, op: &Op, merged_as: &Hlc, outcome: &str, now_ms: i64) -> AppResult<()>;
    /// Stores a new fact and records the op that carried it (merged under its own stamp), unless a
    /// record of that kind and id exists: then nothing is written and the answer is false.
    fn insert_fact(
        &mut self,
        fact: &PreparedFact,
        op: &Op,
        grid: &str,
        device_id: &str,
        now_ms: i64,
    ) -> AppResult<bool> {
        if self.load(fact.state.kind, &fact.state.id)?.is_some() {
            return Ok(false);
        }
        self.save_encoded(&fact.state, &fact.values_json, grid, now_ms)?;
        self.record_op(device_id, op, &op.hlc, "applied", now_ms)?;
        Ok(true)
    }
    fn record_conflict(&mut self, op: &Op, grid: &str, overwrite: &Overwrite, now_ms: i64) -> AppResult<()>;
    fn record_rejection(
        &mut self,
        device_id: &str,
        op: &Op,
        code: RejectCode,
        reason: &str,
        now_ms: i64,
    ) -> AppResult<()>;
    /// Claims a receipt number for a receipt; false when another receipt holds it.
    fn claim_receipt_no(&mut self, receipt_no: &str, receipt_id: &str) -> AppResult<bool>;
    /// The receipt that holds a number, if any.
    fn receipt_no_holder(&mut self, receipt_no: &str) -> AppResult<Option<String>>;
    /// Whether the number lies in a receipt block issued to this device.
    fn receipt_no_issued_to(&mut self, receipt_no: &str, device_id: &str) -> AppResult<bool>;
    /// Every Ed25519 public key (hex) the device registered, newest first.
    fn device_public_keys(&mut self, device_id: &str) -> AppResult<Vec<String>>;
    /// A void from a phone waits for the back office's approval.
    fn record_void_request(&mut self, void_id: &str, receipt_id: &str, device_id: &str, now_ms: i64) -> AppResult<()>;
    /// One row of the audit trail: who did what to which record, when.
    fn audit(&mut self, actor: &str, action: &str, subject: &str, detail: &str, now_ms: i64) -> AppResult<()>;

    // Handovers (handover.rs). The defaults: a backend that keeps none.

    /// The handovers this device is part of (its manager lost their scope).
    fn device_handovers(&mut self, device_id: &str) -> AppResult<Vec<crate::domain::handover::DeviceHandover>> {
        let _ = device_id;
        Ok(vec![])
    }
    /// The handovers whose moved records include this one.
    fn handovers_holding(&mut self, kind: EntityKind, id: &str) -> AppResult<Vec<String>> {
        let _ = (kind, id);
        Ok(vec![])
    }
    /// The grid a record is served under, if the server has it.
    fn served_grid(&mut self, kind: EntityKind, id: &str) -> AppResult<Option<String>> {
        Ok(self.load(kind, id)?.map(|(_, grid)| grid))
    }
    /// Serves a record under another grid, with a new change number, its values untouched.
    fn rescope(&mut self, kind: EntityKind, id: &str, grid: &str, now_ms: i64) -> AppResult<()> {
        let _ = (kind, id, grid, now_ms);
        Err(crate::http::error::AppError::internal("this storage backend keeps no handovers"))
    }
    /// Lists a record among a handover's moved records, under its current change number.
    fn join_handover(&mut self, handover_id: &str, kind: EntityKind, id: &str) -> AppResult<()> {
        let _ = (handover_id, kind, id);
        Err(crate::http::error::AppError::internal("this storage backend keeps no handovers"))
    }
}

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

pub(crate) struct Reject(pub(crate) RejectCode, pub(crate) String);

impl From<ValidationError> for Reject {
    fn from(e: ValidationError) -> Self {
        Reject(RejectCode::Invalid, e.to_string())
    }
}

/// The typed record a state holds, read straight from its values: no copy of the map (this runs
/// for every pushed record, inside the write transaction).
pub(crate) fn typed<R: Record>(state: &EntityState) -> Result<R, serde_json::Error> {
    gridbook_core::sync::readable::typed(state)
}

/// Checks a whole record of a kind against the core's rules (the same the app ran).
fn validate_record(state: &EntityState) -> Result<(), Reject> {
    fn typed<R: Record>(state: &EntityState) -> Result<R, Reject> {
        self::typed(state).map_err(|e| Reject(RejectCode::Invalid, e.to_string()))
    }
    if state.deleted() {
        return Ok(()); // a tombstone needs no complete record
    }
    match state.kind {
        EntityKind::Household => validate::household(&typed::<model::Household>(state)?)?,
        EntityKind::Premises => validate::premises(&typed::<model::Premises>(state)?)?,
        EntityKind::ArrearsAccount => validate::arrears_account(&typed::<model::ArrearsAccount>(state)?)?,
        EntityKind::ArrearsNotice => validate::notice(&typed::<model::ArrearsNotice>(state)?)?,
        EntityKind::Visit => validate::visit(&typed::<model::Visit>(state)?)?,
        EntityKind::Receipt => validate::receipt(&typed::<model::Receipt>(state)?)?,
        EntityKind::ReceiptVoid => validate::receipt_void(&typed::<model::ReceiptVoid>(state)?)?,
        // checked in full, seal included, by signed::check
        EntityKind::Signature => drop(typed::<model::CustomerSignature>(state)?),
        EntityKind::Appointment => validate::appointment(&typed::<model::Appointment>(state)?)?,
        EntityKind::SignIn => validate::sign_in(&typed::<model::SignIn>(state)?)?,
        EntityKind::Ticket => validate::ticket(&typed::<model::Ticket>(state)?)?,
        EntityKind::DaySummary => validate::day_summary(&typed::<model::DaySummary>(state)?)?,
        EntityKind::BillingProfile => validate::billing_profile(&typed::<model::BillingProfile>(state)?)?,
        EntityKind::ReminderOutcome => validate::reminder_outcome(&typed::<model::ReminderOutcome>(state)?)?,
    }
    Ok(())
}

/// The stamp an op is merged under: its own, or the server's clock when it is too far ahead
/// (a phone set to next week must not win every merge until next week).
fn bounded_stamp(op: &Op, rules: &Rules, now_ms: i64, seq: u16) -> Option<Hlc> {
    let limit = now_ms.saturating_add(rules.max_clock_ahead_ms).max(0) as u64;
    (op.hlc.millis > limit).then(|| Hlc::new(now_ms.max(0) as u64, seq, op.hlc.node.clone()))
}

/// A fact's record (visit, notice …), built and checked before the write transaction, in the
/// pushing thread while other pushes are being written: a fact is never merged with anything, so
/// neither its record nor its verdict depends on what the server holds. `store_new_fact` takes a
/// valid one whose stamp was not clamped; any other op is judged the long way (`decide`).
pub struct PreparedFact {
    /// The fact's record, stamped with the op's stamp (`state.base`).
    pub(crate) state: EntityState,
    /// `state.values` as stored (the writer's single largest piece of work per fact otherwise).
    pub(crate) values_json: String,
    /// The op's id and stamp as stored, formatted here rather than in the writer.
    pub(crate) op_id: String,
    pub(crate) stamp: String,
}

/// The work on an op that needs no storage, for a valid new fact; None for anything else. A
/// receipt always goes the long way: its number is claimed before it is stored, and that claim
/// must not outlive an insert that finds the receipt there.
///
/// The op's fields move into the prepared record (copying every visit's map was a tenth of a
/// push's work); `with_fields` gives them back where the op is judged the long way.
pub fn prepare(op: &mut Op) -> Option<PreparedFact> {
    if !op.kind.insert_only()
        || op.kind == EntityKind::Receipt
        || op.action != OpAction::Create
        || validate::fields(op.kind, &op.fields).is_err()
    {
        return None;
    }
    let state = EntityState::fact(op.kind, op.entity.clone(), std::mem::take(&mut op.fields), op.hlc.clone());
    let values_json = validate_record(&state).ok().and_then(|()| serde_json::to_string(&state.values).ok());
    let Some(values_json) = values_json else {
        op.fields = state.values; // judged the long way, with its fields
        return None;
    };
    Some(PreparedFact { state, values_json, op_id: op.id.to_string(), stamp: op.hlc.to_string() })
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
) -> AppResult<OpResult> {
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
) -> AppResult<OpResult> {
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
    Fail(crate::http::error::AppError),
}
impl From<Reject> for Decision {
    fn from(r: Reject) -> Self {
        Decision::Reject(r)
    }
}
impl From<crate::http::error::AppError> for Decision {
    fn from(e: crate::http::error::AppError) -> Self {
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
) -> AppResult<()> {
    crate::domain::signed::after_save(tx, device, state, now_ms)?;
    crate::domain::handover::after_write(tx, access, op, state, is_new, now_ms)
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
            // signatures, signed receipts and work orders, voids (issue 4)
            crate::domain::signed::check(tx, device, &state)?;
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
        // Successive edits by one device are not conflicts; different devices' edits are.
        if overwrite.old_hlc.node != overwrite.new_hlc.node {
            tx.record_conflict(op, &grid, overwrite, now_ms)?;
        }
    }
    Ok(merge.outcome)
}
