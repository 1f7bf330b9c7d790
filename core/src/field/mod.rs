//! Field work: the manager's records and the questions asked of them, each file one part of the
//! job, all of them methods on `Store` built on its one write path.
//!
//! `archive` holds premises and household archives (writes, search, the duplicate check);
//! `fieldwork` the insert-only facts recorded at the door (visits, arrears notices, receipts and
//! voids); `receipts` their signed forms (customer signatures sealed by the device key, receipt
//! books) over `evidence`, and `receipt_branding` how their copies look as the server says; `workday` appointments, sign-in, the day's plan and summary; `tickets`
//! first-ask tickets; `reminders` the day's 预警 worked out from the archive and the synced
//! figures; `reports` read-only views (a household's history, the arrears list, the grid summary).
//! The day's plan lists reminders and arrears lines, so `workday` uses `reminders` and `reports`;
//! `receipts` and `tickets` use two of workday's checks (an appointment kept by a visit, a
//! household in the grid). Nothing in store/ or sync/ uses this folder.

pub mod archive;
pub mod fieldwork;
pub mod receipt_branding;
pub mod receipts;
pub mod reminders;
pub mod reports;
pub mod tickets;
pub mod workday;

use rusqlite::Connection;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::EntityKind;
use crate::store::entity_table;

/// The references of a record this phone makes hold (sync/references.rs): each record it names is
/// here, live, and in `grid`. `value` reads a field of the record. Pulled records are not checked.
pub(crate) fn references_hold<'a>(
    conn: &Connection,
    kind: EntityKind,
    grid: &str,
    value: impl Fn(&str) -> Option<&'a str>,
) -> Result<()> {
    crate::sync::references::check(kind, grid, value, |k, id| entity_table::grid_of(conn, k, id))?
        .map_err(|bad| Error::Invalid(bad.into()))
}

/// `references_hold` for a record given as its fields.
pub(crate) fn field_references_hold(
    conn: &Connection,
    kind: EntityKind,
    grid: &str,
    fields: &Map<String, Value>,
) -> Result<()> {
    references_hold(conn, kind, grid, |f| fields.get(f).and_then(Value::as_str))
}
