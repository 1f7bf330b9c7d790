//! Gridbook core: the device store of household archives, visits, arrears and receipts, every
//! change logged for sync, and the sync protocol shared with the server. ARCHITECTURE.md shows
//! how the pieces fit.

// With the `uniffi` feature the records and enums are uniffi types, exported by gridbook-ffi.
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

pub mod archive;
mod entity_table;
pub mod error;
pub mod evidence;
pub mod fieldwork;
pub mod hlc;
pub mod mask;
pub mod merge;
pub mod model;
pub mod outbox;
pub mod receipts;
mod record_row;
pub mod reminders;
pub mod replica;
pub mod reports;
mod schema;
pub mod scope;
mod scope_removal;
mod search_index;
pub mod snapshot_file;
pub mod store;
pub mod sync_client;
pub mod tickets;
pub mod validate;
pub mod wire;
pub mod workday;

#[doc(hidden)]
pub mod testing;

pub use archive::{DuplicateReason, PossibleDuplicate, Reveal};
pub use error::{Error, Result, ValidationError};
pub use hlc::{Hlc, HlcClock, SkewedClock, SystemClock, WallClock};
pub use model::*;
pub use receipts::{ReceiptBlockStatus, ReceiptPrintout, SignatureCapture, SignedReceipt, SignedVisit};
pub use reminders::Reminder;
pub use replica::ApplyReport;
pub use reports::{ArrearsLine, GridSummary, HistoryEntry, ProductCount};
pub use store::{new_id, Store};
pub use sync_client::{SyncConfig, SyncEngine, SyncPhase, SyncReport, SyncStatus};
pub use wire::{EntityState, Op, OpAction, PROTOCOL_VERSION};
pub use workday::{punctuality, DayPlan, PlanItem, PlanStop, Punctuality};
