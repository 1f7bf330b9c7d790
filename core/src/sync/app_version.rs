//! App versions in the field (docs/sync-protocol.md, "App versions"): how versions compare (the
//! server's minimum and its rollouts use the same rule), the facts about the phone the app hands
//! the sync, and what the device keeps of the server's update offer and of its last cycle.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::store::{meta_get, meta_set, Store};
use crate::sync::wire::{AppUpdate, DeviceFacts};

/// Longest version text compared or kept; longer ones are not versions.
pub const MAX_VERSION_LEN: usize = 32;

/// A version as dotted numbers ("1.4.0", "2.10"), up to four of them; a suffix after `-` or `+`
/// ("1.4.0-beta") is left out of the comparison. Missing parts count as 0, so "1.4" equals "1.4.0".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AppVersion([u32; 4]);

impl AppVersion {
    /// `None` for a text that is not dotted numbers (empty, letters, more than four parts, a part
    /// past u32): such an app is older than any minimum.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() || text.len() > MAX_VERSION_LEN {
            return None;
        }
        let core = text.split(['-', '+']).next()?;
        let mut parts = [0u32; 4];
        for (n, part) in core.split('.').enumerate() {
            if n == 4 || part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            parts[n] = part.parse().ok()?;
        }
        Some(Self(parts))
    }
}

/// Whether an app of version `app` may sync with a server whose minimum is `minimum`. An app
/// whose version does not parse is below every minimum; no minimum admits every app.
pub fn meets_minimum(app: &str, minimum: Option<&str>) -> bool {
    let Some(min) = minimum.and_then(AppVersion::parse) else { return true };
    AppVersion::parse(app).is_some_and(|v| v >= min)
}

/// `a` against `b`; a version that does not parse sorts before every one that does.
pub fn compare(a: &str, b: &str) -> Ordering {
    AppVersion::parse(a).cmp(&AppVersion::parse(b))
}

/// What the app knows of the phone and the core cannot ask the platform itself; the app sets it
/// before a sync (`SyncEngine::set_environment`) and it goes out with the device's facts.
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceEnvironment {
    /// Maker and model, e.g. "HUAWEI nova 11".
    pub device_model: Option<String>,
    /// e.g. "Android 14", "iOS 17.5".
    pub os_version: Option<String>,
    /// Storage left for the app's data, bytes.
    pub free_storage_bytes: Option<u64>,
    /// Whether the battery saver is on.
    pub battery_saver: Option<bool>,
}

impl DeviceEnvironment {
    /// Adds these facts, and the last cycle's, to what the device reports.
    pub(crate) fn fill(&self, facts: &mut DeviceFacts, last: Option<LastCycle>) {
        facts.device_model = self.device_model.clone();
        facts.os_version = self.os_version.clone();
        facts.free_storage_bytes = self.free_storage_bytes;
        facts.battery_saver = self.battery_saver;
        facts.last_sync_duration_ms = last.map(|l| l.duration_ms);
        facts.last_sync_bytes = last.map(|l| l.bytes);
    }
}

/// The last successful cycle: how long it took and its bytes on the wire, both ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastCycle {
    pub duration_ms: u64,
    pub bytes: u64,
}

const UPDATE_KEY: &str = "app_update";
const LAST_CYCLE_KEY: &str = "last_cycle";

impl Store {
    /// The build the server last offered this device (`required` when the app is below the
    /// server's minimum), kept across restarts so the app can show it offline.
    pub fn app_update(&self) -> Result<Option<AppUpdate>> {
        self.read(|c| Ok(meta_get(c, UPDATE_KEY)?.and_then(|v| serde_json::from_str(&v).ok())))
    }

    /// Keeps what an answer said of updates: an offer, or none (a build withdrawn, or installed).
    /// Writes only when it changed: every answer carries it.
    pub(crate) fn note_app_update(&self, offer: Option<&AppUpdate>) -> Result<()> {
        let text = match offer {
            Some(u) => serde_json::to_string(u)?,
            None => String::new(),
        };
        if self.read(|c| meta_get(c, UPDATE_KEY))?.unwrap_or_default() == text {
            return Ok(());
        }
        self.write(|tx, _| meta_set(tx, UPDATE_KEY, &text))
    }

    /// The last successful cycle, if any.
    pub fn last_cycle(&self) -> Result<Option<LastCycle>> {
        self.read(|c| Ok(meta_get(c, LAST_CYCLE_KEY)?.and_then(|v| serde_json::from_str(&v).ok())))
    }

    pub(crate) fn note_last_cycle(&self, cycle: LastCycle) -> Result<()> {
        let text = serde_json::to_string(&cycle)?;
        self.write(|tx, _| meta_set(tx, LAST_CYCLE_KEY, &text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_numbers_not_text() {
        assert!(compare("1.10.0", "1.9.9").is_gt());
        assert!(compare("1.4", "1.4.0").is_eq());
        assert!(compare("1.4.0-beta", "1.4.0").is_eq());
        assert!(compare("2", "1.99.99.99").is_gt());
        assert!(compare("x", "0.0.1").is_lt(), "what does not parse sorts first");
    }

    #[test]
    fn what_is_not_a_version_does_not_parse() {
        for bad in ["", " ", "1..2", "1.2.3.4.5", "v1.2", "1.a", "99999999999.1", ".1", &"1".repeat(40)] {
            assert_eq!(AppVersion::parse(bad), None, "{bad:?}");
        }
        assert_eq!(AppVersion::parse(" 1.2.3 "), Some(AppVersion([1, 2, 3, 0])));
    }

    #[test]
    fn the_minimum_admits_equal_and_newer_and_refuses_older_or_unreadable() {
        assert!(meets_minimum("1.4.0", Some("1.4")));
        assert!(meets_minimum("1.5", Some("1.4.0")));
        assert!(!meets_minimum("1.3.9", Some("1.4.0")));
        assert!(!meets_minimum("dev", Some("1.4.0")));
        assert!(meets_minimum("dev", None), "no minimum admits every app");
        assert!(meets_minimum("1.0", Some("not a version")), "a minimum that does not parse refuses nobody");
    }

    #[test]
    fn an_offer_is_kept_across_opening_and_cleared_when_the_server_drops_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("phone.db");
        let offer = AppUpdate {
            version: "1.5.0".into(),
            url: "/v1/app/releases/ab".into(),
            sha256: "ab".repeat(32),
            bytes: 10,
            notes: "修复 / fixes".into(),
            required: false,
        };
        {
            let store = Store::open(&path).unwrap();
            assert_eq!(store.app_update().unwrap(), None);
            store.note_app_update(Some(&offer)).unwrap();
            store.note_last_cycle(LastCycle { duration_ms: 1200, bytes: 5000 }).unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.app_update().unwrap(), Some(offer));
        assert_eq!(store.last_cycle().unwrap(), Some(LastCycle { duration_ms: 1200, bytes: 5000 }));
        store.note_app_update(None).unwrap();
        assert_eq!(store.app_update().unwrap(), None);
    }
}
