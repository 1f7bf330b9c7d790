//! What a pushing device reported about itself, worked out against the push's results as the
//! `devices` row keeps it (ops the server acknowledged are no longer pending, receipts that
//! arrived are no longer "on the phone"): the same figures on every backend.

use gridbook_core::model::EntityKind;
use gridbook_core::sync::wire::{OpOutcome, OpResult, PushRequest};
use serde_json::Value;

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
    /// Ops of this push refused (the push's sync event counts them).
    pub rejected_now: i64,
}

impl DeviceReport {
    pub fn of(req: &PushRequest, results: &[OpResult], now_ms: i64) -> Self {
        let rejected = results.iter().filter(|r| matches!(r.outcome, OpOutcome::Rejected { .. })).count() as i64;
        // receipts that reached the server are no longer "on the phone"
        let (mut arrived_fen, mut arrived_n) = (0i64, 0i64);
        for (op, r) in req.ops.iter().zip(results) {
            if op.kind == EntityKind::Receipt && !matches!(r.outcome, OpOutcome::Rejected { .. }) {
                arrived_fen += op.fields.get("amount_fen").and_then(Value::as_i64).unwrap_or(0);
                arrived_n += 1;
            }
        }
        let acked = req.ops.len() as i64 - rejected;
        let f = &req.facts;
        Self {
            app_version: f.app_version.clone(),
            pending_count: (f.pending_count as i64 - acked).max(0),
            oldest_pending_age_s: if (f.pending_count as i64) <= acked {
                None
            } else {
                f.oldest_pending_age_s.map(|v| v as i64)
            },
            rejected_count: f.rejected_count as i64 + rejected,
            db_size_bytes: f.db_size_bytes as i64,
            clock_offset_ms: f.wall_clock_ms - now_ms,
            zone_offset_min: f.zone_offset_min,
            unsynced_receipts_fen: (f.unsynced_receipts_fen - arrived_fen).max(0),
            unsynced_receipts_count: (f.unsynced_receipts_count as i64 - arrived_n).max(0),
            last_error: f.last_error.clone(),
            rejected_now: rejected,
        }
    }
}
