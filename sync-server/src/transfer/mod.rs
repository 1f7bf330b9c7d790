//! The back office's spreadsheets (issue 7): importing the archive and arrears sheets it already
//! keeps, with a report of the rows refused and why, and exporting archives, visits, receipts and
//! the grid summary. The HTTP side is backoffice/transfer.rs, the command line admin.rs.

pub mod archives;
pub mod arrears;
pub mod export;
pub mod import;
pub mod labels;
pub mod template;

use crate::error::{AppError, AppResult};
use crate::spreadsheet;
use crate::storage::SyncStorage;
pub use import::{ImportReport, Refusal};

/// Which sheet an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetKind {
    Archives,
    Arrears,
}

impl SheetKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "archives" => Some(SheetKind::Archives),
            "arrears" => Some(SheetKind::Arrears),
            _ => None,
        }
    }
}

/// Reads a CSV or XLSX file and imports it into one grid (nothing is written in a dry run).
pub fn import(storage: &dyn SyncStorage, kind: SheetKind, grid: &str, bytes: &[u8], dry_run: bool, actor: &str, file: &str, now_ms: i64) -> AppResult<ImportReport> {
    if grid.trim().is_empty() {
        return Err(AppError::bad_request("bad_query", "grid: the grid to import into"));
    }
    let sheet = spreadsheet::read(bytes)?;
    match kind {
        SheetKind::Archives => archives::import(storage, grid, &sheet, dry_run, actor, file, now_ms),
        SheetKind::Arrears => arrears::import(storage, grid, &sheet, dry_run, actor, file, now_ms),
    }
}
