//! App versions in the field (docs/sync-protocol.md, "App versions"): which build of the app each
//! device is offered, and whether its app is below the server's minimum. Versions compare by
//! core's rule (`gridbook_core::sync::app_version`), the same one the phone uses.
//!
//! Every push and pull asks, so the published builds and the minimum are read from storage at
//! most every few seconds (`AppVersions::policy`); a change made through this server is seen at
//! once, one made through another replica within `REFRESH`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gridbook_core::sync::app_version::{compare, meets_minimum, AppVersion};
use gridbook_core::sync::wire::{AppUpdate, ErrorCode, PATH_APP_RELEASES};
use sha2::{Digest, Sha256};

use super::auth::DeviceAuth;
use super::error::DomainError;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::releases::{ReleaseRow, ReleaseStorage, Rollout};

/// How long the builds and the minimum read from storage are used before they are read again.
pub const REFRESH: Duration = Duration::from_secs(5);

/// The published builds and the minimum, as read at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionPolicy {
    pub min_app_version: Option<String>,
    /// Builds offered to somebody (not withdrawn), newest version first.
    pub releases: Vec<ReleaseRow>,
}

impl VersionPolicy {
    pub fn from_storage(storage: &dyn ReleaseStorage) -> StorageResult<Self> {
        let mut releases: Vec<ReleaseRow> =
            storage.releases()?.into_iter().filter(|r| r.withdrawn_at_ms.is_none()).collect();
        releases.sort_by(|a, b| compare(&b.version, &a.version).then(b.published_at_ms.cmp(&a.published_at_ms)));
        Ok(Self { min_app_version: storage.min_app_version()?, releases })
    }

    /// Whether an app of `app_version` may sync.
    pub fn admits(&self, app_version: &str) -> bool {
        meets_minimum(app_version, self.min_app_version.as_deref())
    }

    /// The build to offer `device`, whose app is `app_version`: the newest one newer than its app
    /// and rolled out to it. An app below the minimum is offered the newest build that meets the
    /// minimum whatever the rollout (it cannot sync until it updates), marked `required`.
    pub fn offer(&self, device: &DeviceAuth, app_version: &str) -> Option<AppUpdate> {
        let required = !self.admits(app_version);
        let release = self.releases.iter().find(|r| {
            compare(&r.version, app_version).is_gt()
                && if required { self.admits(&r.version) } else { rolled_out_to(r, device) }
        })?;
        Some(AppUpdate {
            version: release.version.clone(),
            url: format!("{PATH_APP_RELEASES}/{}", release.sha256),
            sha256: release.sha256.clone(),
            bytes: release.bytes,
            notes: release.notes.clone(),
            required,
        })
    }
}

/// Whether `release` is offered to `device`: its manager and grids in scope, and the device among
/// the rollout's share. The share is decided by a hash of the device and the build, so a device
/// is in or out the same way at every sync, and a larger share only adds devices.
pub fn rolled_out_to(release: &ReleaseRow, device: &DeviceAuth) -> bool {
    let manager_in = release.managers.is_empty() || release.managers.contains(&device.manager_id);
    let grid_in = release.grids.is_empty() || release.grids.iter().any(|g| device.grids.contains(g));
    manager_in && grid_in && bucket(&device.device_id, &release.sha256) < release.rollout_percent
}

/// 0–99, fixed for a device and a build.
pub fn bucket(device_id: &str, sha256: &str) -> u8 {
    let digest = Sha256::new().chain_update(device_id.as_bytes()).chain_update(b":").chain_update(sha256).finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % 100) as u8
}

/// A version the back office may publish or set as the minimum: dotted numbers.
pub fn check_version(text: &str) -> Result<String, String> {
    let text = text.trim();
    AppVersion::parse(text).map(|_| text.to_string()).ok_or_else(|| {
        format!("版本号应为点分数字，例如 1.4.0 / a version is dotted numbers, e.g. 1.4.0 (got {text:?})")
    })
}

/// A build being received (uploaded in the back office, or read by `releases publish`): written to
/// a part file in the releases directory as it comes, hashed and counted on the way, bounded.
/// `publish` checks it is a zip (an APK is one), moves it to `<sha256>.apk` and records it; on any
/// failure, or when dropped unpublished, the part file is removed.
pub struct IncomingBuild {
    part: PathBuf,
    out: Option<std::io::BufWriter<std::fs::File>>,
    hash: Sha256,
    bytes: u64,
    head: Vec<u8>,
}

/// The largest build accepted (an Android app of this kind is 20–60 MiB).
pub const MAX_APK_BYTES: u64 = 200 * 1024 * 1024;
/// The longest release notes kept, characters.
pub const MAX_NOTES_CHARS: usize = 2_000;

impl IncomingBuild {
    pub fn start(dir: &Path) -> Result<Self, DomainError> {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        let part = dir.join(format!("upload-{}.part", uuid::Uuid::now_v7()));
        let file = std::fs::File::create(&part).map_err(|e| io_error(&part, e))?;
        Ok(Self { part, out: Some(std::io::BufWriter::new(file)), hash: Sha256::new(), bytes: 0, head: Vec::new() })
    }

    pub fn write(&mut self, chunk: &[u8]) -> Result<(), DomainError> {
        self.bytes += chunk.len() as u64;
        if self.bytes > MAX_APK_BYTES {
            return Err(DomainError::refused(
                ErrorCode::TooLarge,
                format!("安装包超过 {0} MiB / the build is over {0} MiB", MAX_APK_BYTES >> 20),
            ));
        }
        if self.head.len() < 4 {
            self.head.extend(chunk.iter().take(4 - self.head.len()));
        }
        self.hash.update(chunk);
        let out = self.out.as_mut().ok_or_else(|| DomainError::internal("the build was written already"))?;
        out.write_all(chunk).map_err(|e| io_error(&self.part, e))
    }

    /// Records the build (the file first, so that a listed build always has its file).
    #[allow(clippy::too_many_arguments)]
    pub fn publish(
        mut self,
        releases: &dyn ReleaseStorage,
        version: &str,
        notes: &str,
        rollout: &Rollout,
        by: &str,
        now_ms: i64,
    ) -> Result<ReleaseRow, DomainError> {
        let out = self.out.take().ok_or_else(|| DomainError::internal("the build was written already"))?;
        out.into_inner()
            .map_err(|e| io_error(&self.part, e.into_error()))?
            .sync_all()
            .map_err(|e| io_error(&self.part, e))?;
        if self.head != b"PK\x03\x04" {
            return Err(DomainError::invalid(
                "这不是 Android 安装包（APK） / the file is not an Android package (APK)",
            ));
        }
        let version = check_version(version).map_err(DomainError::invalid)?;
        let notes: String = notes.chars().filter(|c| !c.is_control() || *c == '\n').take(MAX_NOTES_CHARS).collect();
        let sha256: String = std::mem::take(&mut self.hash).finalize().iter().map(|b| format!("{b:02x}")).collect();
        let file = self.part.with_file_name(format!("{sha256}.apk"));
        std::fs::rename(&self.part, &file).map_err(|e| io_error(&file, e))?;
        match releases.publish_release(&sha256, &version, self.bytes, &notes, rollout, by, now_ms) {
            Ok(row) => Ok(row),
            Err(e) => {
                // the same build published before keeps its file; a new one failing loses it
                if !matches!(&e, StorageError::Conflict { code: ErrorCode::Exists, .. }) {
                    let _ = std::fs::remove_file(&file);
                }
                Err(e.into())
            }
        }
    }
}

impl Drop for IncomingBuild {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.part);
    }
}

fn io_error(path: &Path, e: std::io::Error) -> DomainError {
    DomainError::internal(format!("{}: {e}", path.display()))
}

/// The most grids or managers one rollout names.
pub const MAX_SCOPE: usize = 500;

/// Comma-separated ids (a form field, a command-line argument), each cut to 64 characters.
pub fn id_list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.chars().take(64).collect()).collect()
}

/// A rollout an admin asked for, checked.
pub fn checked_rollout(percent: u8, grids: Vec<String>, managers: Vec<String>) -> Result<Rollout, DomainError> {
    if percent > 100 {
        return Err(DomainError::invalid("rollout: 0 到 100 之间 / between 0 and 100"));
    }
    if grids.len() > MAX_SCOPE || managers.len() > MAX_SCOPE {
        return Err(DomainError::refused(
            ErrorCode::TooMany,
            format!("最多 {MAX_SCOPE} 个网格或经理 / at most {MAX_SCOPE} grids or managers"),
        ));
    }
    Ok(Rollout { percent, grids, managers })
}

/// The builds and the minimum, read again when older than `REFRESH` or after a change here.
pub struct AppVersions {
    storage: Arc<dyn ReleaseStorage>,
    read: Mutex<Option<(Instant, Arc<VersionPolicy>)>>,
}

impl AppVersions {
    pub fn new(storage: Arc<dyn ReleaseStorage>) -> Self {
        Self { storage, read: Mutex::new(None) }
    }

    pub fn storage(&self) -> &Arc<dyn ReleaseStorage> {
        &self.storage
    }

    /// The copy in memory, if it is fresh enough (no storage read: for the async handlers).
    pub fn cached(&self) -> Option<Arc<VersionPolicy>> {
        match &*self.read.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((at, policy)) if at.elapsed() < REFRESH => Some(policy.clone()),
            _ => None,
        }
    }

    /// The policy now; reads storage (briefly: two small tables) when the copy is too old.
    pub fn policy(&self) -> StorageResult<Arc<VersionPolicy>> {
        if let Some((at, policy)) = &*self.read.lock().unwrap_or_else(|p| p.into_inner()) {
            if at.elapsed() < REFRESH {
                return Ok(policy.clone());
            }
        }
        let policy = Arc::new(VersionPolicy::from_storage(self.storage.as_ref())?);
        *self.read.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), policy.clone()));
        Ok(policy)
    }

    /// After a change through this server: the next request reads storage again.
    pub fn forget(&self) {
        *self.read.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::auth::Role;

    fn device(id: &str, manager: &str, grids: &[&str]) -> DeviceAuth {
        DeviceAuth {
            device_id: id.into(),
            manager_id: manager.into(),
            role: Role::Field,
            grids: grids.iter().map(|g| g.to_string()).collect(),
            wipe: None,
            collector: Default::default(),
        }
    }

    fn release(version: &str, percent: u8) -> ReleaseRow {
        ReleaseRow {
            sha256: format!("{:0>64}", version.replace('.', "")),
            version: version.into(),
            bytes: 100,
            notes: String::new(),
            rollout_percent: percent,
            grids: vec![],
            managers: vec![],
            published_at_ms: 1,
            published_by: "admin".into(),
            withdrawn_at_ms: None,
        }
    }

    #[test]
    fn a_full_rollout_offers_the_newest_newer_build_and_nothing_to_an_app_as_new() {
        let policy =
            VersionPolicy { min_app_version: None, releases: vec![release("1.5.0", 100), release("1.4.0", 100)] };
        let d = device("d1", "m1", &["g1"]);
        let offer = policy.offer(&d, "1.3.0").expect("an older app is offered a build");
        assert_eq!((offer.version.as_str(), offer.required), ("1.5.0", false));
        assert!(offer.url.ends_with(&offer.sha256));
        assert_eq!(policy.offer(&d, "1.5.0"), None);
        assert_eq!(policy.offer(&d, "1.6.0"), None);
    }

    #[test]
    fn a_partial_rollout_reaches_about_its_share_and_always_the_same_devices() {
        let r = release("2.0.0", 30);
        let devices: Vec<DeviceAuth> = (0..2000).map(|i| device(&format!("dev-{i}"), "m", &["g"])).collect();
        let reached = devices.iter().filter(|d| rolled_out_to(&r, d)).count();
        assert!((500..700).contains(&reached), "30 % of 2000 devices, give or take: {reached}");
        let wider = ReleaseRow { rollout_percent: 60, ..r.clone() };
        assert!(
            devices.iter().all(|d| !rolled_out_to(&r, d) || rolled_out_to(&wider, d)),
            "a wider share keeps everyone"
        );
        assert!(devices.iter().all(|d| rolled_out_to(&r, d) == rolled_out_to(&r, d)));
        assert!(!devices.iter().any(|d| rolled_out_to(&ReleaseRow { rollout_percent: 0, ..r.clone() }, d)));
    }

    #[test]
    fn a_rollout_by_grid_or_manager_reaches_only_them() {
        let mut r = release("2.0.0", 100);
        r.grids = vec!["g2".into()];
        assert!(!rolled_out_to(&r, &device("d", "m1", &["g1"])));
        assert!(rolled_out_to(&r, &device("d", "m1", &["g1", "g2"])));
        r.grids.clear();
        r.managers = vec!["m2".into()];
        assert!(!rolled_out_to(&r, &device("d", "m1", &["g1"])));
        assert!(rolled_out_to(&r, &device("d", "m2", &["g1"])));
    }

    #[test]
    fn an_app_below_the_minimum_is_offered_a_build_that_meets_it_whatever_the_rollout() {
        let policy = VersionPolicy {
            min_app_version: Some("1.4.0".into()),
            releases: vec![release("1.5.0", 0), release("1.3.5", 100)],
        };
        let d = device("d1", "m1", &["g1"]);
        assert!(!policy.admits("1.3.0") && policy.admits("1.4.0"));
        let offer = policy.offer(&d, "1.3.0").expect("a build that meets the minimum");
        assert_eq!((offer.version.as_str(), offer.required), ("1.5.0", true));
        let none_good = VersionPolicy { releases: vec![release("1.3.5", 100)], ..policy };
        assert_eq!(none_good.offer(&d, "1.3.0"), None, "no published build meets the minimum");
    }

    #[test]
    fn versions_to_publish_are_checked() {
        assert_eq!(check_version(" 1.4.0 "), Ok("1.4.0".into()));
        assert!(check_version("latest").unwrap_err().contains("dotted numbers"));
    }
}
