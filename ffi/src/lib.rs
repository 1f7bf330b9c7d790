//! Gridbook FFI: the core for Kotlin, Swift and Python through uniffi (proc-macros only). A thin
//! layer: records mirrored and converted (records.rs), the store (store.rs), enrolment and sync
//! as async calls with an observable status (sync.rs), signatures and receipts (evidence.rs), the
//! manager's day — appointments, sign-in, plan, summary (workday.rs) — and first-ask tickets
//! (tickets.rs), reminders (reminders.rs), the receipt as a picture and for a thermal printer
//! (printing.rs), and the one public error every core error maps to (error.rs). No business
//! rule lives here.

uniffi::setup_scaffolding!();

pub mod error;
pub mod evidence;
pub mod printing;
pub mod records;
pub mod reminders;
pub mod store;
pub mod sync;
pub mod tickets;
pub mod workday;

pub use error::GridbookError;
pub use store::GridbookStore;
pub use sync::GridbookSync;

/// The version of the Gridbook core inside these bindings (the workspace version).
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
