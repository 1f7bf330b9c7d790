//! The server's rules that are neither HTTP nor SQL: reconciling pushed ops (`reconcile`, with
//! `handover` and `signed` for the ops that move or seal records, `references` for what they name), the back office's own ops
//! (`authoring`), billing figures and tiers, who a caller is (`auth`, `password`), what the back
//! office may show (`privacy`, `reveals`, `device_health`, `report_day`), snapshot files and
//! spreadsheets, which build of the app each device is offered (`app_versions`), and what a
//! device's report of its remote wipe must be (`wipes`), and how the phones print their receipts
//! (`receipt_profile`).

pub mod app_versions;
pub mod auth;
pub mod authoring;
pub mod billing;
pub mod device_health;
pub mod drilldown;
pub mod error;
pub mod handover;
pub mod password;
pub mod photo_export;
pub mod photos;
pub mod prepared;
pub mod privacy;
pub mod receipt_profile;
pub mod reconcile;
pub mod references;
pub mod report_day;
pub mod reveals;
pub mod signed;
pub mod snapshot_files;
pub mod spreadsheets;
pub mod stored_zip;
pub mod tiers;
pub mod visit_locations;
pub mod wipes;
pub mod workbench;

/// Milliseconds since the epoch on the server's clock.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
