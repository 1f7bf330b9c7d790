//! The records and enums the apps see. Core's own types are exported as they are: gridbook-core
//! derives their uniffi traits under its `uniffi` feature (their bindings are the `gridbook_core`
//! namespace, core/uniffi.toml), and they are re-exported here for the rest of the FFI. What
//! remains written here are the shapes the app sees differently from the core, each saying why.
//! Money is integer fen (i64) everywhere; times are UTC milliseconds with the zone offset beside.

use gridbook_core as core;

pub use core::store::session::SessionStatus;
pub use core::sync::outbox::OutboxCounts;
pub use core::sync::wire::DevicePolicy;
pub use core::{
    Appointment, AppointmentStatus, Area, ArrearsAccount, ArrearsLine, ArrearsNotice, BillingProfile, CollectorProfile,
    CompetitorService, DayPlan, DaySummary, DuplicateReason, GridSummary, HistoryEntry, Household, IdType,
    NoticeChannel, OwnService, PaymentMethod, PaymentType, PlanItem, PlanStop, PossibleDuplicate, Premises,
    PremisesType, ProductCount, Punctuality, Receipt, ReceiptBlockStatus, ReceiptBranding, ReceiptPrintout,
    ReceiptVoid, Reminder, ReminderKind, ReminderOutcome, ReminderResolution, Segment, SignIn, SignedDocument,
    SyncPhase, SyncReport, Ticket, TicketChannel, TicketKind, TicketStatus, Tier, Visit, VisitPurpose,
};

use crate::evidence::{SignatureFlag, SignaturePad, SignerRelation};

/// The customer's signature on a receipt or a work order, as evidence: the strokes, the hash of
/// exactly what was signed, the signer's name and relation, and the device's seal over all of it.
/// Insert-only; synced with its document, so every device of the grid holds it.
///
/// Written here, not core's `CustomerSignature`: the app reads the relation as the enum it chose
/// from (`SignerRelation`), where core keeps the sealed code text (`householder`, `other:…`), and
/// the strokes and flags in the signature pad's own types (`SignaturePad`, `SignatureFlag`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CustomerSignature {
    /// The signature's id (the receipt's or visit's `signature_id`).
    pub id: String,
    /// 网格
    pub grid_id: String,
    /// Receipt or work order.
    pub document_kind: SignedDocument,
    /// The receipt's or visit's id.
    pub document_id: String,
    /// SHA-256 of the signed document's canonical bytes, lower-case hex.
    pub document_hash: String,
    /// The strokes as captured, quantised to what is hashed.
    pub strokes: SignaturePad,
    /// SHA-256 of the strokes' canonical bytes, lower-case hex.
    pub strokes_hash: String,
    /// Who signed, as they gave their name (签字人).
    pub signer_name: String,
    /// Who the signer is to the household (an unknown code reads as "other" with the code).
    pub relation: SignerRelation,
    /// The device's clock stamp at signing.
    pub hlc: String,
    /// The device that sealed it.
    pub device_id: String,
    /// The device's Ed25519 signature over the seal, lower-case hex.
    pub device_signature: String,
    /// Plausibility warnings kept for the back office (drawn too fast, a dot …).
    pub flags: Vec<SignatureFlag>,
}

impl From<core::CustomerSignature> for CustomerSignature {
    fn from(s: core::CustomerSignature) -> Self {
        let relation = match s.relation() {
            Some(r) => r.into(),
            None => SignerRelation::Other { description: s.relation.clone() },
        };
        Self {
            id: s.id,
            grid_id: s.grid_id,
            document_kind: s.document_kind,
            document_id: s.document_id,
            document_hash: s.document_hash,
            strokes: s.strokes.into(),
            strokes_hash: s.strokes_hash,
            signer_name: s.signer_name,
            relation,
            hlc: s.hlc,
            device_id: s.device_id,
            device_signature: s.device_signature,
            flags: s.flags.into_iter().map(Into::into).collect(),
        }
    }
}

/// A receipt recorded with the customer's signature, and the code printed on their copy.
/// Written here because it carries the app's `CustomerSignature` (above).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SignedReceipt {
    /// The receipt as recorded (its number, this device's id, the signature's id filled in).
    pub receipt: Receipt,
    /// The sealed signature.
    pub signature: CustomerSignature,
    /// `XXXX-XXXX-XX`, printed for the customer; the back office checks it.
    pub verification_code: String,
}

impl From<core::SignedReceipt> for SignedReceipt {
    fn from(s: core::SignedReceipt) -> Self {
        Self { receipt: s.receipt, signature: s.signature.into(), verification_code: s.verification_code }
    }
}

/// A visit recorded with the customer's signature on its work order. Written here: it carries the
/// app's `CustomerSignature`, and the punctuality the app shows, which core leaves to be worked
/// out from the visit.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SignedVisit {
    /// The visit as recorded (its id and the signature's id filled in).
    pub visit: Visit,
    /// The sealed signature.
    pub signature: CustomerSignature,
    /// The appointment the visit kept, now done; null for a visit without one.
    pub appointment: Option<Appointment>,
    /// Against the appointment's time: on time within ±10 minutes; null without one.
    pub punctuality: Option<Punctuality>,
}

impl From<core::SignedVisit> for SignedVisit {
    fn from(s: core::SignedVisit) -> Self {
        Self {
            punctuality: s.visit.punctuality(),
            visit: s.visit,
            signature: s.signature.into(),
            appointment: s.appointment,
        }
    }
}

/// A visit that kept an appointment, and the appointment, now done. Core answers the pair; the
/// app also gets the punctuality.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AppointmentVisit {
    /// The visit recorded (carrying the agreed time).
    pub visit: Visit,
    /// The appointment, marked done with the visit's id.
    pub appointment: Appointment,
    /// 准时 / 早到 / 迟到: the arrival against the agreed time (±10 minutes is on time).
    pub punctuality: Punctuality,
}

impl From<(core::Visit, core::Appointment)> for AppointmentVisit {
    fn from((visit, appointment): (core::Visit, core::Appointment)) -> Self {
        let agreed = visit.appointment_at_ms.unwrap_or(appointment.agreed_at_ms);
        Self { punctuality: core::punctuality(agreed, visit.arrived_at_ms), visit, appointment }
    }
}

/// A change the server refused for good, waiting on this device with its reason until someone
/// retries it (after fixing the cause) or discards it. Written here, not core's `RejectedOp`: the
/// app gets the names of the fields the change set, never their values (they may hold personal
/// data).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RejectedChange {
    /// The change's id: pass it to retry or discard.
    pub op_id: String,
    /// The kind of record: "household", "visit", "receipt", …
    pub kind: String,
    /// The record's id.
    pub entity_id: String,
    /// The grid the record belongs to.
    pub grid_id: String,
    /// Whether the change created the record (else it edited it).
    pub is_create: bool,
    /// The fields the change set.
    pub fields: Vec<String>,
    /// The server's code: invalid, outside_grids, immutable, duplicate_receipt_no, …
    pub code: String,
    /// The server's reason, for the manager to read.
    pub reason: String,
    /// When the change was made on this phone, UTC ms.
    pub created_at_ms: i64,
}

impl From<core::sync::outbox::RejectedOp> for RejectedChange {
    fn from(r: core::sync::outbox::RejectedOp) -> Self {
        Self {
            op_id: r.op.id.to_string(),
            kind: r.op.kind.as_str().to_string(),
            entity_id: r.op.entity,
            grid_id: r.op.grid,
            is_create: r.op.action == core::OpAction::Create,
            fields: r.op.fields.keys().cloned().collect(),
            code: r.code,
            reason: r.reason,
            created_at_ms: r.created_at_ms,
        }
    }
}
