//! Gridbook FFI: the core for Kotlin, Swift and Python through uniffi (proc-macros only). A thin
//! layer: core's records exported as they are, and the few shapes the app sees differently
//! (records.rs), the store (store.rs), enrolment and sync
//! as async calls with an observable status (sync.rs), signatures and receipts (evidence.rs), the
//! manager's day — appointments, sign-in, plan, summary (workday.rs) — and first-ask tickets
//! (tickets.rs), reminders (reminders.rs), the receipt as a picture and for a thermal printer
//! (printing.rs), the store's key vault (vault.rs), the one public error every core error maps to
//! (error.rs), and the app's log sink for what the core logs (log.rs). No business rule lives here.

uniffi::setup_scaffolding!();

pub mod error;
pub mod evidence;
pub mod log;
pub mod photos;
pub mod printing;
pub mod records;
pub mod reminders;
pub mod store;
pub mod sync;
pub mod tickets;
pub mod vault;
pub mod workday;

pub use error::GridbookError;
pub use store::GridbookStore;
pub use sync::GridbookSync;

/// The version of the Gridbook core inside these bindings (the workspace version).
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
