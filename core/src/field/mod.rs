//! Field work: the manager's records and the questions asked of them, each file one part of the
//! job, all of them methods on `Store` built on its one write path.
//!
//! `archive` holds premises and household archives (writes, search, the duplicate check);
//! `fieldwork` the insert-only facts recorded at the door (visits, arrears notices, receipts and
//! voids); `receipts` their signed forms (customer signatures sealed by the device key, receipt
//! books) over `evidence`; `workday` appointments, sign-in, the day's plan and summary; `tickets`
//! first-ask tickets; `reminders` the day's 预警 worked out from the archive and the synced
//! figures; `reports` read-only views (a household's history, the arrears list, the grid summary).
//! The day's plan lists reminders and arrears lines, so `workday` uses `reminders` and `reports`;
//! `receipts` and `tickets` use two of workday's checks (an appointment kept by a visit, a
//! household in the grid). Nothing in store/ or sync/ uses this folder.

pub mod archive;
pub mod fieldwork;
pub mod receipts;
pub mod reminders;
pub mod reports;
pub mod tickets;
pub mod workday;
