//! What a pushing device reported about itself, worked out against the push's results as the
//! `devices` row keeps it (ops the server acknowledged are no longer pending, receipts that
//! arrived are no longer "on the phone"): the same figures on every backend.

use gridbook_core::model::{EntityKind, MAX_FEN};
use gridbook_core::sync::wire::{OpOutcome, OpResult, PushRequest};
use serde_json::Value;

/// The longest text kept of what a phone says of itself (version, model, OS) and of its last
/// error: the facts only inform the back office, so a longer one is cut, never refused (refusing
/// the push would strand its ops).
const MAX_FACT_CHARS: usize = 100;
const MAX_ERROR_CHARS: usize = 1000;

/// `text` cut to at most `max` characters.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => text[..at].to_string(),
        None => text.to_string(),
    }
}

fn saturating_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Whether `day` reads as a date, "2026-12-07".
fn is_day(day: &str) -> bool {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_ok() && day.len() == 10
}

/// The device's row after a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceReport {
    pub app_version: String,
    pub pending_count: i64,
    pub oldest_pending_age_s: Option<i64>,
    pub rejected_count: i64,
    pub db_size_bytes: i64,
    pub clock_offset_ms: i64,
    pub zone_offset_min: i32,
    pub unsynced_receipts_fen: i64,
    pub unsynced_receipts_count: i64,
    pub last_error: Option<String>,
    pub device_model: Option<String>,
    pub os_version: Option<String>,
    pub free_storage_bytes: Option<i64>,
    pub last_sync_duration_ms: Option<i64>,
    pub last_sync_bytes: Option<i64>,
    pub battery_saver: Option<bool>,
    pub traffic_day: Option<String>,
    pub bytes_sent_day: Option<i64>,
    pub bytes_received_day: Option<i64>,
    pub photos_waiting: Option<i64>,
    pub photo_bytes_waiting: Option<i64>,
    /// Ops of this push refused (the push's sync event counts them).
    pub rejected_now: i64,
}

impl DeviceReport {
    /// Every figure a phone reports is taken as untrusted: u64s past i64 and sums past its range
    /// saturate (a nonsense report is stored clipped, never a panic that would refuse the push).
    pub fn of(req: &PushRequest, results: &[OpResult], now_ms: i64) -> Self {
        let rejected = results.iter().filter(|r| matches!(r.outcome, OpOutcome::Rejected { .. })).count() as i64;
        // receipts that reached the server are no longer "on the phone"
        let (mut arrived_fen, mut arrived_n) = (0i64, 0i64);
        for (op, r) in req.ops.iter().zip(results) {
            if op.kind == EntityKind::Receipt && !matches!(r.outcome, OpOutcome::Rejected { .. }) {
                let fen = op.fields.get("amount_fen").and_then(Value::as_i64).unwrap_or(0);
                arrived_fen = arrived_fen.saturating_add(fen);
                arrived_n += 1;
            }
        }
        let acked = req.ops.len() as i64 - rejected;
        let f = &req.facts;
        let pending = saturating_i64(f.pending_count);
        Self {
            app_version: clip(&f.app_version, MAX_FACT_CHARS),
            pending_count: pending.saturating_sub(acked).max(0),
            oldest_pending_age_s: if pending <= acked { None } else { f.oldest_pending_age_s.map(saturating_i64) },
            rejected_count: saturating_i64(f.rejected_count).saturating_add(rejected),
            db_size_bytes: saturating_i64(f.db_size_bytes),
            clock_offset_ms: f.wall_clock_ms.saturating_sub(now_ms),
            zone_offset_min: f.zone_offset_min,
            // money on one phone is at most what one receipt may be (a nonsense report is clipped)
            unsynced_receipts_fen: f.unsynced_receipts_fen.saturating_sub(arrived_fen).clamp(0, MAX_FEN),
            unsynced_receipts_count: saturating_i64(f.unsynced_receipts_count).saturating_sub(arrived_n).max(0),
            last_error: f.last_error.as_deref().map(|e| clip(e, MAX_ERROR_CHARS)),
            device_model: f.device_model.as_deref().map(|m| clip(m, MAX_FACT_CHARS)),
            os_version: f.os_version.as_deref().map(|o| clip(o, MAX_FACT_CHARS)),
            free_storage_bytes: f.free_storage_bytes.map(saturating_i64),
            last_sync_duration_ms: f.last_sync_duration_ms.map(saturating_i64),
            last_sync_bytes: f.last_sync_bytes.map(saturating_i64),
            battery_saver: f.battery_saver,
            // a day that is not one (a nonsense report) is kept as none, its bytes with it
            traffic_day: f.traffic.as_ref().filter(|t| is_day(&t.day)).map(|t| t.day.clone()),
            bytes_sent_day: f.traffic.as_ref().filter(|t| is_day(&t.day)).map(|t| saturating_i64(t.bytes_sent)),
            bytes_received_day: f.traffic.as_ref().filter(|t| is_day(&t.day)).map(|t| saturating_i64(t.bytes_received)),
            photos_waiting: f.photos_waiting.map(saturating_i64),
            photo_bytes_waiting: f.photo_bytes_waiting.map(saturating_i64),
            rejected_now: rejected,
        }
    }
}

#[cfg(test)]
mod tests {
    use gridbook_core::sync::wire::{DeviceFacts, RejectCode, PROTOCOL_VERSION};

    use super::*;

    /// The contract suite (schemathesis) sent rejected_count = i64::MAX, and the server panicked
    /// on `+ rejected` ("attempt to add with overflow"): a 500 where the push should go through.
    #[test]
    fn a_nonsense_report_is_stored_clipped_and_never_overflows() {
        let facts = DeviceFacts {
            pending_count: u64::MAX,
            oldest_pending_age_s: Some(u64::MAX),
            rejected_count: i64::MAX as u64,
            db_size_bytes: u64::MAX,
            wall_clock_ms: i64::MIN,
            unsynced_receipts_fen: i64::MIN,
            unsynced_receipts_count: u64::MAX,
            free_storage_bytes: Some(u64::MAX),
            ..DeviceFacts::default()
        };
        let request = PushRequest { protocol: PROTOCOL_VERSION, facts, ops: Vec::new() };
        let rejected = OpResult {
            op_id: uuid::Uuid::nil(),
            outcome: OpOutcome::Rejected { code: RejectCode::Invalid, reason: String::new() },
            clamped_to: None,
        };
        let report = DeviceReport::of(&request, &[rejected], i64::MAX);
        assert_eq!(report.rejected_count, i64::MAX);
        assert_eq!(report.pending_count, i64::MAX);
        assert_eq!(report.oldest_pending_age_s, Some(i64::MAX));
        assert_eq!(report.db_size_bytes, i64::MAX);
        assert_eq!(report.clock_offset_ms, i64::MIN);
        assert_eq!(report.unsynced_receipts_fen, 0);
        assert_eq!(report.unsynced_receipts_count, i64::MAX);
        assert_eq!(report.free_storage_bytes, Some(i64::MAX));
    }
}
