//! What the rules work out about an op before anything stored is read: a whole record checked
//! against core's rules (`validate_record`, the same the app ran), a typed record read straight
//! from a state's values, and a new fact's record built, checked and encoded in the pushing
//! thread (`prepare`) so that the writer only stores it. reconcile.rs judges the op.

use gridbook_core::model::{self, EntityKind, Record};
use gridbook_core::sync::wire::{EntityState, Op, OpAction, RejectCode};
use gridbook_core::validate;
use gridbook_core::ValidationError;

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
pub(crate) fn validate_record(state: &EntityState) -> Result<(), Reject> {
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
