//! Remote wipes as the server keeps them (docs/sync-protocol.md, "Remote wipe"): one row per
//! device in `device_wipes`, from the back office's order (who, when, which mode) through the
//! device's first contact after it (told) to its signed report (wiped, with what it uploaded and
//! what was lost). The rows and their texts are the same on every backend.

use gridbook_core::sync::wire::{ErrorCode, WipeMode, WipeOrder, WipeReport};
use serde::Serialize;

use super::error::StorageError;

/// Where a device's wipe stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WipeStatus {
    /// The back office gave the order; the phone has not been in touch since (it can be cancelled).
    Ordered,
    /// The phone was in touch and told: it uploads and wipes itself (no cancelling now).
    Told,
    /// The phone reported its wipe, signed: its token is refused from now on.
    Wiped,
}

/// A device's wipe as the back office lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WipeRow {
    pub device_id: String,
    pub manager_id: String,
    pub manager_name: String,
    pub mode: WipeMode,
    pub status: WipeStatus,
    pub ordered_at_ms: i64,
    /// The staff member (or `cli` / the command's `--by`) who gave the order.
    pub ordered_by: String,
    pub told_at_ms: Option<i64>,
    /// When the server recorded the device's report.
    pub wiped_at_ms: Option<i64>,
    /// The device's report: what was uploaded at the end and what was lost.
    pub report: Option<WipeReport>,
}

impl WipeRow {
    pub fn order(&self) -> WipeOrder {
        WipeOrder { mode: self.mode, ordered_at_ms: self.ordered_at_ms }
    }
}

/// The columns a `WipeRow` is read from, in `WipeColumns`' order (`w` is `device_wipes`, `d`
/// `devices`, `m` `managers`).
pub const WIPE_COLUMNS: &str =
    "w.device_id, d.manager_id, m.name, w.mode, w.ordered_at_ms, w.ordered_by, w.told_at_ms, \
     w.wiped_at_ms, w.device_wiped_at_ms, w.ops_uploaded, w.receipts_uploaded, w.receipts_uploaded_fen, \
     w.ops_rejected, w.ops_lost, w.receipts_lost, w.receipts_lost_fen";

/// The `FROM` of a `WipeRow` query.
pub const WIPE_FROM: &str =
    "device_wipes w JOIN devices d ON d.id = w.device_id JOIN managers m ON m.id = d.manager_id";

/// One stored row's values, as either backend reads them.
pub struct WipeColumns {
    pub device_id: String,
    pub manager_id: String,
    pub manager_name: String,
    pub mode: String,
    pub ordered_at_ms: i64,
    pub ordered_by: String,
    pub told_at_ms: Option<i64>,
    pub wiped_at_ms: Option<i64>,
    /// The report's figures, in the order of `WIPE_COLUMNS` from `device_wiped_at_ms` on; all
    /// set once wiped.
    pub figures: [Option<i64>; 8],
}

impl WipeColumns {
    pub fn row(self) -> Result<WipeRow, StorageError> {
        let mode = WipeMode::parse(&self.mode)
            .ok_or_else(|| StorageError::internal(format!("device_wipes: unknown mode {}", self.mode)))?;
        let count = |v: i64| u64::try_from(v).unwrap_or(0);
        let report = match (self.wiped_at_ms, self.figures) {
            (
                Some(_),
                [Some(wiped_at), Some(ops_uploaded), Some(receipts_uploaded), Some(receipts_uploaded_fen), Some(ops_rejected), Some(ops_lost), Some(receipts_lost), Some(receipts_lost_fen)],
            ) => Some(WipeReport {
                device_id: self.device_id.clone(),
                mode,
                ordered_at_ms: self.ordered_at_ms,
                wiped_at_ms: wiped_at,
                ops_uploaded: count(ops_uploaded),
                receipts_uploaded: count(receipts_uploaded),
                receipts_uploaded_fen,
                ops_rejected: count(ops_rejected),
                ops_lost: count(ops_lost),
                receipts_lost: count(receipts_lost),
                receipts_lost_fen,
            }),
            _ => None,
        };
        let status = match (self.wiped_at_ms, self.told_at_ms) {
            (Some(_), _) => WipeStatus::Wiped,
            (None, Some(_)) => WipeStatus::Told,
            (None, None) => WipeStatus::Ordered,
        };
        Ok(WipeRow {
            device_id: self.device_id,
            manager_id: self.manager_id,
            manager_name: self.manager_name,
            mode,
            status,
            ordered_at_ms: self.ordered_at_ms,
            ordered_by: self.ordered_by,
            told_at_ms: self.told_at_ms,
            wiped_at_ms: self.wiped_at_ms,
            report,
        })
    }
}

/// The report's figures as stored, in `WIPE_COLUMNS`' order from `device_wiped_at_ms` on. The
/// counts are within `WipeReport::MAX_COUNT` (checked before), so each fits.
pub fn stored_figures(report: &WipeReport) -> [i64; 8] {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    [
        report.wiped_at_ms,
        count(report.ops_uploaded),
        count(report.receipts_uploaded),
        report.receipts_uploaded_fen,
        count(report.ops_rejected),
        count(report.ops_lost),
        count(report.receipts_lost),
        report.receipts_lost_fen,
    ]
}

/// What the audit trail says of a report (counts and totals; nothing personal).
pub fn describe(report: &WipeReport) -> String {
    format!(
        "{}: uploaded {} ops ({} receipts, {} fen); refused {}; lost {} ops ({} receipts, {} fen)",
        report.mode.as_str(),
        report.ops_uploaded,
        report.receipts_uploaded,
        report.receipts_uploaded_fen,
        report.ops_rejected,
        report.ops_lost,
        report.receipts_lost,
        report.receipts_lost_fen
    )
}

/// The mode the back office (page or command line) names: `retire` or `lost`.
pub fn mode_of(text: &str) -> Result<WipeMode, StorageError> {
    WipeMode::parse(text.trim())
        .ok_or_else(|| StorageError::invalid("mode: retire（离职交回）或 lost（遗失） / retire or lost"))
}

// The refusals, the same words on every backend.

pub fn no_device(device_id: &str) -> StorageError {
    StorageError::not_found(format!("没有这台设备 / no device {device_id}"))
}

pub fn revoked(device_id: &str) -> StorageError {
    StorageError::conflict(
        ErrorCode::WipeUnderWay,
        format!("设备 {device_id} 已吊销，不会再联系服务器，无法下达清除 / device {device_id} is revoked: it will never be told"),
    )
}

pub fn told_already(device_id: &str) -> StorageError {
    StorageError::conflict(
        ErrorCode::WipeUnderWay,
        format!("设备 {device_id} 已收到清除指令（或已清除），不能再更改或撤销 / device {device_id} was told (or wiped) already: the order stands"),
    )
}

pub fn no_order(device_id: &str) -> StorageError {
    StorageError::not_found(format!("设备 {device_id} 没有待执行的清除指令 / no wipe order for device {device_id}"))
}

pub fn other_order() -> StorageError {
    StorageError::invalid("report: 报告的清除指令与服务器的不符 / the report names another order than the server gave")
}
