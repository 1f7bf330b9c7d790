//! Gridbook core: the device store of household archives, visits, arrears and receipts, every
//! change logged for sync, and the sync protocol shared with the server. ARCHITECTURE.md shows
//! how the pieces fit.
//!
//! The folders, from the bottom up: `model` (what the store holds), `error`, `validate` and `mask`
//! at the top level, with `location` (fixes, distances, map datums); `evidence/` (signatures, canonical documents, seals: no storage); `store/`
//! (SQLite, the one write path); `sync/` (the protocol, the clock, the merge rule, the outbox and
//! the device's sync client); `field/` (the manager's work: archive, visits and receipts, the day,
//! tickets, reminders, reports). `testing` (sample records) exists only with the `testing` feature.

// With the `uniffi` feature the records and enums are uniffi types, exported by gridbook-ffi.
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

pub mod error;
pub mod evidence;
pub mod field;
pub mod location;
pub mod mask;
pub mod model;
pub mod photos;
pub mod store;
pub mod sync;
pub mod validate;

#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing;

pub use error::{Error, Result, ValidationError};
pub use field::archive::{DuplicateReason, PossibleDuplicate, Reveal};
pub use field::receipts::{
    CollectorProfile, ReceiptBlockStatus, ReceiptBranding, ReceiptPrintout, SignatureCapture, SignedReceipt,
    SignedVisit,
};
pub use field::reminders::Reminder;
pub use field::reports::{ArrearsLine, GridSummary, HistoryEntry, ProductCount};
pub use field::workday::{punctuality, DayPlan, PlanItem, PlanStop, Punctuality};
pub use model::*;
pub use store::{new_id, Store};
pub use sync::client::{SyncConfig, SyncEngine, SyncPhase, SyncReport, SyncStatus};
pub use sync::hlc::{Hlc, HlcClock, SkewedClock, SystemClock, WallClock};
pub use sync::replica::ApplyReport;
pub use sync::wire::{EntityState, Op, OpAction, PROTOCOL_VERSION};
