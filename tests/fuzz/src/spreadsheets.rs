//! The property both import targets check: a sheet reads within the import's bounds or is refused
//! with one of the spreadsheet refusals, and a dry-run import of either sheet kind into a grid
//! never panics and accounts for every row it read.

use std::sync::OnceLock;

use gridbook_core::sync::wire::ErrorCode;
use gridbook_sync_server::domain::error::DomainError;
use gridbook_sync_server::domain::spreadsheets::sheet::{self, MAX_COLUMNS, MAX_ROWS};
use gridbook_sync_server::domain::spreadsheets::{import, SheetKind, Upload};
use gridbook_sync_server::{SqliteStorage, SyncStorage};

use crate::scratch_dir;

/// Which file a target feeds: each keeps to its own format, so each corpus stays one format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Csv,
    Xlsx,
}

/// The grid every import goes to.
const GRID: &str = "fuzz-01";

/// A server database holding one empty grid, opened once per fuzzing process (a dry run writes
/// nothing to it).
fn storage() -> &'static SqliteStorage {
    static STORAGE: OnceLock<SqliteStorage> = OnceLock::new();
    STORAGE.get_or_init(|| {
        let opened = SqliteStorage::open(scratch_dir().join("server.db"));
        match opened.and_then(|s| s.create_grid(GRID, "模糊测试 fuzz", 0).map(|()| s)) {
            Ok(storage) => storage,
            Err(e) => panic!("no server database for the import target: {e}"),
        }
    })
}

pub fn check_import(data: &[u8], kind: Kind) {
    let zip = sheet::Format::detect(data) == sheet::Format::Xlsx;
    if zip != (kind == Kind::Xlsx) {
        return;
    }
    match sheet::read(data) {
        Ok(sheet) => {
            assert!(sheet.rows.len() <= MAX_ROWS, "{} rows read", sheet.rows.len());
            assert!(sheet.headers.len() <= MAX_COLUMNS, "{} header cells read", sheet.headers.len());
            for row in &sheet.rows {
                assert!(row.cells.len() <= MAX_COLUMNS, "row {}: {} cells read", row.line, row.cells.len());
            }
        }
        Err(DomainError::Refused { code, .. }) => assert!(
            matches!(
                code,
                ErrorCode::NotASpreadsheet
                    | ErrorCode::TooManyRows
                    | ErrorCode::TooManyColumns
                    | ErrorCode::TooManyCells
            ),
            "refused with {code:?}"
        ),
        Err(e) => panic!("reading a sheet failed with something other than a refusal: {e}"),
    }
    for sheet_kind in [SheetKind::Archives, SheetKind::Arrears] {
        let upload =
            Upload { kind: sheet_kind, grid: GRID, bytes: data, dry_run: true, actor: "fuzz", file: "fuzz.sheet" };
        match import(storage(), &upload, 1_790_000_000_000) {
            Ok(report) => {
                let settled = report.created + report.updated + report.unchanged + report.refused_rows;
                assert!(settled <= report.rows, "{settled} rows settled of {} read: {report:?}", report.rows);
            }
            Err(DomainError::Refused { .. }) => {}
            Err(e) => panic!("a dry-run import failed with something other than a refusal: {e}"),
        }
    }
}
