//! The back office's spreadsheets (issue 7): importing the archive and arrears sheets it already
//! keeps, with a report of the rows refused and why, and exporting archives, visits, receipts and
//! the grid summary (`sheet` reads and writes the files). The HTTP side is
//! http/backoffice/spreadsheets.rs, the command line cli/admin.rs.

pub mod archives;
pub mod arrears;
pub mod export;
pub mod import;
pub mod labels;
pub mod sheet;
pub mod template;

use gridbook_core::sync::wire::ErrorCode;

use crate::domain::error::{DomainError, DomainResult};
use crate::storage::records::RecordStorage;
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

/// A sheet to import: which one, into which grid, by whom.
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    pub kind: SheetKind,
    pub grid: &'a str,
    /// The file as received: CSV or XLSX.
    pub bytes: &'a [u8],
    /// Report only; write nothing.
    pub dry_run: bool,
    /// The staff member (or "cli"), for the audit trail.
    pub actor: &'a str,
    /// The file's name, for the audit trail.
    pub file: &'a str,
}

/// Reads a CSV or XLSX file and imports it into one grid (nothing is written in a dry run).
pub fn import(storage: &(impl RecordStorage + ?Sized), upload: &Upload, now_ms: i64) -> DomainResult<ImportReport> {
    let grid = upload.grid.trim();
    if grid.is_empty() {
        return Err(DomainError::refused(ErrorCode::BadQuery, "grid: the grid to import into"));
    }
    let sheet = sheet::read(upload.bytes)?;
    let (dry_run, actor, file) = (upload.dry_run, upload.actor, upload.file);
    match upload.kind {
        SheetKind::Archives => archives::import(storage, grid, &sheet, dry_run, actor, file, now_ms),
        SheetKind::Arrears => arrears::import(storage, grid, &sheet, dry_run, actor, file, now_ms),
    }
}
