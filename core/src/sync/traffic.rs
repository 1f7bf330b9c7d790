//! What the phone sends and receives on the wire, per day in China time (docs/sync-protocol.md,
//! "Device facts"), and the network it is on: the device facts report the day's bytes, and the
//! photo upload reads the network and the day's photo bytes over mobile data against the server's
//! photo policy (sync/photo_upload.rs).
//!
//! The day's counts live in the store's `meta` (one small JSON row), so an app killed mid-upload
//! still knows how much of the day's cap it spent; the engine counts in memory and adds to the
//! row at the end of each round.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::photos::CHINA_OFFSET_MIN;
use crate::store::{meta_get, meta_set, Store};
use crate::sync::wire::DayTraffic;

const TRAFFIC_KEY: &str = "day_traffic";

/// The network the phone is on, as the app last said (`SyncEngine::set_network`).
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkKind {
    /// Wi-Fi or any network that is not metered. An engine the app never told is taken as on it:
    /// the apps say the network before each sync, tools and tests have no mobile data.
    #[default]
    Wifi,
    /// Mobile data (metered): photos go only if the policy lets them, up to its daily cap.
    Mobile,
    /// No network: nothing is sent.
    None,
}

/// The day, China time, that `ms` (UTC) falls on: "2026-12-07".
pub fn china_day(ms: i64) -> String {
    // China keeps no daylight saving: the fixed offset added to UTC is its wall clock
    let local = ms.saturating_add(i64::from(CHINA_OFFSET_MIN) * 60_000);
    chrono::DateTime::from_timestamp_millis(local).unwrap_or_default().format("%Y-%m-%d").to_string()
}

/// Bytes counted on the wire by the engine and not yet added to the store's day.
#[derive(Debug, Default)]
pub(crate) struct WireCount {
    /// Both ways, this cycle (the facts' `last_sync_bytes`).
    pub(crate) cycle: AtomicU64,
    sent: AtomicU64,
    received: AtomicU64,
}

impl WireCount {
    pub(crate) fn sent(&self, n: u64) {
        self.cycle.fetch_add(n, Ordering::Relaxed);
        self.sent.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn received(&self, n: u64) {
        self.cycle.fetch_add(n, Ordering::Relaxed);
        self.received.fetch_add(n, Ordering::Relaxed);
    }

    /// What was counted since the last call, taken out.
    pub(crate) fn take(&self) -> (u64, u64) {
        (self.sent.swap(0, Ordering::Relaxed), self.received.swap(0, Ordering::Relaxed))
    }

    /// What `take` would take now, left in place.
    pub(crate) fn untaken(&self) -> (u64, u64) {
        (self.sent.load(Ordering::Relaxed), self.received.load(Ordering::Relaxed))
    }
}

impl Store {
    /// Today's traffic (China time, by the store's clock): zeros on a new day.
    pub fn day_traffic(&self) -> Result<DayTraffic> {
        let today = china_day(self.wall_ms());
        self.read(|c| Ok(today_of(meta_get(c, TRAFFIC_KEY)?, today)))
    }

    /// Adds bytes to today's traffic: `sent` and `received` on the wire, and of the sent ones
    /// `photo_mobile` photo bytes over mobile data. Returns the day as it now stands.
    pub fn add_traffic(&self, sent: u64, received: u64, photo_mobile: u64) -> Result<DayTraffic> {
        let today = china_day(self.wall_ms());
        self.write(|tx, _| {
            let mut day = today_of(meta_get(tx, TRAFFIC_KEY)?, today);
            day.bytes_sent = day.bytes_sent.saturating_add(sent);
            day.bytes_received = day.bytes_received.saturating_add(received);
            day.photo_mobile_bytes = day.photo_mobile_bytes.saturating_add(photo_mobile);
            meta_set(tx, TRAFFIC_KEY, &serde_json::to_string(&day)?)?;
            Ok(day)
        })
    }
}

/// The kept day when it is `today`, else a new day of zeros (a day that no longer reads, too).
fn today_of(kept: Option<String>, today: String) -> DayTraffic {
    match kept.and_then(|json| serde_json::from_str::<DayTraffic>(&json).ok()) {
        Some(day) if day.day == today => day,
        _ => DayTraffic { day: today, ..DayTraffic::default() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_is_china_time() {
        // 2026-12-06 16:00 UTC is midnight in China: the next day there
        let ms = chrono::DateTime::parse_from_rfc3339("2026-12-06T16:00:00Z").unwrap().timestamp_millis();
        assert_eq!(china_day(ms - 1), "2026-12-06");
        assert_eq!(china_day(ms), "2026-12-07");
    }

    #[test]
    fn a_new_day_starts_from_zero() {
        let old = serde_json::to_string(&DayTraffic {
            day: "2026-12-06".into(),
            bytes_sent: 5,
            bytes_received: 6,
            photo_mobile_bytes: 4,
        })
        .unwrap();
        assert_eq!(today_of(Some(old.clone()), "2026-12-06".into()).bytes_sent, 5);
        assert_eq!(
            today_of(Some(old), "2026-12-07".into()),
            DayTraffic { day: "2026-12-07".into(), ..Default::default() }
        );
        assert_eq!(today_of(Some("{".into()), "2026-12-07".into()).bytes_received, 0);
    }
}
