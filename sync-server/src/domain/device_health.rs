//! How the back office judges a device from the facts it reported (docs/field.md, sync 15): stale
//! when it has not synced for a day, stuck when its oldest unsent op has waited for hours, skewed
//! when its clock is more than a minute off the server's; short of storage below 500 MiB free, slow
//! when its last sync took more than 30 s (what the phone says of itself, issue 17).

use std::cmp::Ordering;

use serde::Serialize;

use crate::storage::DeviceRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    Ok,
    /// Syncs, but its oldest pending op has waited longer than `stuck_pending_age_s`.
    Stuck,
    /// No successful sync for longer than `stale_after_ms`.
    Stale,
    /// Enrolled, never synced.
    NeverSynced,
    Revoked,
}

impl DeviceState {
    pub const ALL: [DeviceState; 5] =
        [DeviceState::Ok, DeviceState::Stuck, DeviceState::Stale, DeviceState::NeverSynced, DeviceState::Revoked];

    /// A state as a query names it (`?state=stuck`); None for a name that is none.
    pub fn parse(name: &str) -> Option<DeviceState> {
        DeviceState::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Where the state stands in the sync-health list: what needs IT first (stuck phones hold
    /// money and work back), then phones never synced, stale ones, the healthy, the revoked last.
    fn rank(self) -> u8 {
        match self {
            DeviceState::Stuck => 0,
            DeviceState::NeverSynced => 1,
            DeviceState::Stale => 2,
            DeviceState::Ok => 3,
            DeviceState::Revoked => 4,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Ok => "ok",
            DeviceState::Stuck => "stuck",
            DeviceState::Stale => "stale",
            DeviceState::NeverSynced => "never_synced",
            DeviceState::Revoked => "revoked",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Thresholds {
    pub stale_after_ms: i64,
    pub stuck_pending_age_s: i64,
    pub skew_ms: i64,
    /// Free storage below this is "low" (a full phone cannot take a snapshot file or photos).
    pub low_storage_bytes: i64,
    /// A last sync longer than this is "slow".
    pub slow_sync_ms: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            stale_after_ms: 24 * 3_600_000,
            stuck_pending_age_s: 2 * 3_600,
            skew_ms: 60_000,
            low_storage_bytes: 500 << 20,
            slow_sync_ms: 30_000,
        }
    }
}

/// A device's state and flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DeviceHealth {
    pub state: DeviceState,
    /// The last push or pull that the server answered.
    pub last_sync_ms: Option<i64>,
    pub stale: bool,
    pub stuck: bool,
    pub skewed: bool,
    pub low_storage: bool,
    pub slow_sync: bool,
}

impl DeviceHealth {
    /// The sync-health list's order, stated once (issue 18): by state (`DeviceState::rank`), a
    /// skewed clock before a right one, then by manager's name and device id so that pages of
    /// the same list never overlap.
    pub fn attention_order(a: (&DeviceHealth, &DeviceRow), b: (&DeviceHealth, &DeviceRow)) -> Ordering {
        a.0.state
            .rank()
            .cmp(&b.0.state.rank())
            .then(b.0.skewed.cmp(&a.0.skewed))
            .then_with(|| a.1.manager_name.cmp(&b.1.manager_name))
            .then_with(|| a.1.device_id.cmp(&b.1.device_id))
    }
}

impl Thresholds {
    pub fn classify(&self, d: &DeviceRow, now_ms: i64) -> DeviceHealth {
        let last_sync_ms = d.last_push_ms.max(d.last_pull_ms);
        let stale = last_sync_ms.is_none_or(|t| now_ms - t > self.stale_after_ms);
        let stuck = d.pending_count > 0 && d.oldest_pending_age_s.is_some_and(|a| a > self.stuck_pending_age_s);
        let skewed = d.clock_offset_ms.is_some_and(|o| o.abs() > self.skew_ms);
        let low_storage = d.free_storage_bytes.is_some_and(|b| b < self.low_storage_bytes);
        let slow_sync = d.last_sync_duration_ms.is_some_and(|ms| ms > self.slow_sync_ms);
        let state = if d.revoked_at_ms.is_some() {
            DeviceState::Revoked
        } else if last_sync_ms.is_none() {
            DeviceState::NeverSynced
        } else if stuck {
            DeviceState::Stuck
        } else if stale {
            DeviceState::Stale
        } else {
            DeviceState::Ok
        };
        DeviceHealth { state, last_sync_ms, stale, stuck, skewed, low_storage, slow_sync }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> DeviceRow {
        DeviceRow {
            device_id: "d1".into(),
            manager_id: "m".into(),
            manager_name: "张伟".into(),
            grids: vec![],
            app_version: "1.0".into(),
            enrolled_at_ms: 0,
            revoked_at_ms: None,
            last_seen_ms: None,
            last_push_ms: None,
            last_pull_ms: None,
            pending_count: 0,
            oldest_pending_age_s: None,
            rejected_count: 0,
            db_size_bytes: 0,
            clock_offset_ms: None,
            unsynced_receipts_fen: 0,
            unsynced_receipts_count: 0,
            last_error: None,
            ..Default::default()
        }
    }

    #[test]
    fn states_and_flags() {
        let t = Thresholds::default();
        let now = 100 * 86_400_000;
        let mut d = device();
        assert_eq!(t.classify(&d, now).state, DeviceState::NeverSynced);
        d.last_pull_ms = Some(now - 60_000);
        let h = t.classify(&d, now);
        assert_eq!((h.state, h.stale, h.stuck, h.skewed), (DeviceState::Ok, false, false, false));
        d.last_pull_ms = Some(now - 25 * 3_600_000);
        assert_eq!(t.classify(&d, now).state, DeviceState::Stale);
        d.last_push_ms = Some(now - 1_000);
        d.pending_count = 3;
        d.oldest_pending_age_s = Some(3 * 3_600);
        d.clock_offset_ms = Some(-90_000);
        let h = t.classify(&d, now);
        assert_eq!(
            (h.state, h.stale, h.stuck, h.skewed, h.last_sync_ms),
            (DeviceState::Stuck, false, true, true, Some(now - 1_000))
        );
        d.revoked_at_ms = Some(now);
        assert_eq!(t.classify(&d, now).state, DeviceState::Revoked);
    }

    #[test]
    fn the_list_shows_what_needs_it_first_and_names_each_state_once() {
        let t = Thresholds::default();
        let now = 100 * 86_400_000;
        let mut rows = Vec::new();
        for (id, name, push, pending, skew, revoked) in [
            ("a", "乙", Some(now), 0, None, None),
            ("b", "甲", Some(now), 0, Some(120_000), None),
            ("c", "甲", None, 0, None, None),
            ("d", "甲", Some(now), 0, None, Some(now)),
            ("e", "甲", Some(now - 2 * 86_400_000), 0, None, None),
            ("f", "丙", Some(now), 2, None, None),
        ] {
            let mut d = device();
            (d.device_id, d.manager_name, d.last_push_ms, d.pending_count) = (id.into(), name.into(), push, pending);
            (d.clock_offset_ms, d.revoked_at_ms) = (skew, revoked);
            d.oldest_pending_age_s = (pending > 0).then_some(3 * 3_600);
            rows.push((t.classify(&d, now), d));
        }
        rows.sort_by(|a, b| DeviceHealth::attention_order((&a.0, &a.1), (&b.0, &b.1)));
        let order: Vec<&str> = rows.iter().map(|(_, d)| d.device_id.as_str()).collect();
        assert_eq!(order, ["f", "c", "e", "b", "a", "d"], "stuck, never synced, stale, skewed ok, ok, revoked");
        for s in DeviceState::ALL {
            assert_eq!(DeviceState::parse(s.as_str()), Some(s));
        }
        assert_eq!(DeviceState::parse("broken"), None);
    }

    #[test]
    fn low_storage_and_slow_sync_come_from_what_the_phone_says_and_only_then() {
        let t = Thresholds::default();
        let mut d = device();
        let h = t.classify(&d, 0);
        assert_eq!((h.low_storage, h.slow_sync), (false, false), "an app that says nothing is not flagged");
        d.free_storage_bytes = Some(t.low_storage_bytes - 1);
        d.last_sync_duration_ms = Some(t.slow_sync_ms + 1);
        let h = t.classify(&d, 0);
        assert_eq!((h.low_storage, h.slow_sync), (true, true));
        d.free_storage_bytes = Some(t.low_storage_bytes);
        d.last_sync_duration_ms = Some(t.slow_sync_ms);
        let h = t.classify(&d, 0);
        assert_eq!((h.low_storage, h.slow_sync), (false, false), "at the threshold is not past it");
    }
}
