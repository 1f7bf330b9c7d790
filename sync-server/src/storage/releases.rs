//! Builds of the Android app the back office publishes (issue 17, "App versions in the field"),
//! and the minimum app version the server syncs with. Phones in China have no Google Play: the
//! server itself offers each phone the build rolled out to it (domain/app_versions.rs decides).

use std::path::PathBuf;

use serde::Serialize;

use super::error::{StorageError, StorageResult};

/// The setting that holds the minimum app version, on every backend.
pub const MIN_APP_VERSION: &str = "min_app_version";

/// A rollout's grids or managers as they are stored: a JSON array.
pub fn json_list(items: &[String]) -> StorageResult<String> {
    serde_json::to_string(items).map_err(|e| StorageError::internal(e.to_string()))
}

/// A stored JSON array of ids; what does not read as one is none.
pub fn ids_of(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// A published build as the back office lists it. The file is `<releases_dir>/<sha256>.apk`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseRow {
    /// SHA-256 of the file, lowercase hex: the build's identity.
    pub sha256: String,
    /// Its version, dotted numbers.
    pub version: String,
    pub bytes: u64,
    pub notes: String,
    /// Share of the devices in scope offered it, 0–100 (each device falls in or out the same way
    /// at every sync).
    pub rollout_percent: u8,
    /// Only devices of managers of these grids (empty: every grid).
    pub grids: Vec<String>,
    /// Only these managers' devices (empty: every manager).
    pub managers: Vec<String>,
    pub published_at_ms: i64,
    pub published_by: String,
    /// Withdrawn builds are offered to nobody; their file stays for the audit.
    pub withdrawn_at_ms: Option<i64>,
}

/// Who is offered a build: a share of the devices, perhaps only some grids' or managers'.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rollout {
    pub percent: u8,
    pub grids: Vec<String>,
    pub managers: Vec<String>,
}

impl Rollout {
    /// What an audit row says of it: the share and the scope, never personal data.
    pub fn describe(&self) -> String {
        format!("{}% grids={:?} managers={:?}", self.percent, self.grids, self.managers)
    }
}

pub trait ReleaseStorage: Send + Sync + 'static {
    /// Where the builds' files are kept, beside the database; None when the backend keeps none.
    fn releases_dir(&self) -> Option<PathBuf>;
    /// Records a build whose file is already in `releases_dir`, with an audit row. A build with
    /// the same SHA-256 is `exists`.
    #[allow(clippy::too_many_arguments)]
    fn publish_release(
        &self,
        sha256: &str,
        version: &str,
        bytes: u64,
        notes: &str,
        rollout: &Rollout,
        by: &str,
        now_ms: i64,
    ) -> StorageResult<ReleaseRow>;
    /// Every build, newest first.
    fn releases(&self) -> StorageResult<Vec<ReleaseRow>>;
    /// Changes who is offered a build, with an audit row.
    fn set_rollout(&self, sha256: &str, rollout: &Rollout, by: &str, now_ms: i64) -> StorageResult<ReleaseRow>;
    /// Offers a build to nobody from now on, with an audit row.
    fn withdraw_release(&self, sha256: &str, by: &str, now_ms: i64) -> StorageResult<ReleaseRow>;
    /// The lowest app version the server syncs with; None: every version.
    fn min_app_version(&self) -> StorageResult<Option<String>>;
    /// Sets (or with None clears) the minimum, with an audit row.
    fn set_min_app_version(&self, version: Option<&str>, by: &str, now_ms: i64) -> StorageResult<()>;
}
