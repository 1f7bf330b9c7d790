//! Read-only queries of the back office (issue 6): sync activity over time, rejections with who
//! sent them, money collected, voids, overdue follow-ups and the running totals behind /metrics.
//! `SyncStorage` stays what the phones need; a backend that serves the back office also
//! implements `MonitoringStorage` (sqlite/monitoring.rs for SQLite).

use serde::Serialize;

use crate::storage::error::StorageResult;

/// Syncs in one time bucket (`sync_events`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActivityBucket {
    pub start_ms: i64,
    pub pushes: i64,
    pub pulls: i64,
    pub ops_pushed: i64,
    pub ops_pulled: i64,
    pub rejected: i64,
    pub devices: i64,
    pub max_duration_ms: i64,
}

/// A rejected op with who sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectionDetail {
    pub at_ms: i64,
    pub op_id: String,
    pub device_id: String,
    pub manager_id: Option<String>,
    pub manager_name: Option<String>,
    pub app_version: Option<String>,
    pub kind: String,
    pub entity_id: String,
    pub grid_id: String,
    pub code: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GridDayTotal {
    pub grid_id: String,
    pub grid_name: Option<String>,
    /// YYYY-MM-DD on the phone's local calendar when the money was collected.
    pub day: String,
    pub count: i64,
    pub amount_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManagerTotal {
    pub collector_id: String,
    pub manager_name: Option<String>,
    pub count: i64,
    pub amount_fen: i64,
}

/// A receipt that reached the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptLine {
    pub id: String,
    pub receipt_no: String,
    pub grid_id: String,
    pub amount_fen: i64,
    pub method: String,
    pub collected_at_ms: i64,
    pub zone_offset_min: i64,
    pub collector_id: String,
    pub collector_name: Option<String>,
    pub device_id: String,
    pub signed: bool,
    /// "verified", "failed", "unsigned" or "unverified" (not checked by this backend): what the
    /// server knows of the customer's signature and the device's seal.
    pub verification: String,
    /// Why a check failed.
    pub verification_detail: Option<String>,
    /// A void of this receipt exists.
    pub void_requested: bool,
    /// "pending", "approved" or "refused" when the backend reviews voids.
    pub void_status: Option<String>,
}

/// A request to void a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VoidLine {
    pub id: String,
    pub grid_id: String,
    pub receipt_id: String,
    pub receipt_no: Option<String>,
    pub amount_fen: Option<i64>,
    pub reason: String,
    pub voided_at_ms: i64,
    pub voided_by: String,
    pub voided_by_name: Option<String>,
    /// "pending", "approved" or "refused".
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at_ms: Option<i64>,
    pub note: Option<String>,
}

/// A promised follow-up (承诺回复) past its date. `customer_name` is personal data: the HTTP
/// layer masks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FollowUpLine {
    pub visit_id: String,
    pub grid_id: String,
    pub household_id: String,
    pub customer_name: Option<String>,
    pub purpose: String,
    pub open_question: String,
    pub follow_up: String,
    pub follow_up_due: String,
    pub arrived_at_ms: i64,
    pub manager_id: String,
    pub manager_name: Option<String>,
    /// The latest later visit to the same household, if any (the loop may have been closed there).
    pub later_visit_ms: Option<i64>,
}

/// Running totals for /metrics; all only grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SyncTotals {
    pub pushes: i64,
    pub pulls: i64,
    pub ops_pushed: i64,
    pub ops_pulled: i64,
    pub ops_rejected: i64,
    pub conflicts: i64,
    pub rejections_stored: i64,
}

pub trait MonitoringStorage: Send + Sync + 'static {
    fn activity(&self, since_ms: i64, bucket_ms: i64) -> StorageResult<Vec<ActivityBucket>>;
    fn rejection_details(&self, limit: u32) -> StorageResult<Vec<RejectionDetail>>;
    /// One page of the rejected ops of `page.grids` or of the devices of `page.managers`, newest
    /// first, with how many match in all.
    fn rejections_page(&self, page: &crate::storage::ListPage) -> StorageResult<(u64, Vec<RejectionDetail>)>;
    /// Receipts per grid and local day, from `since_day` (YYYY-MM-DD) on.
    fn receipts_by_grid_day(&self, since_day: &str) -> StorageResult<Vec<GridDayTotal>>;
    fn receipts_by_manager(&self, since_day: &str) -> StorageResult<Vec<ManagerTotal>>;
    /// One page of the receipts of `page.grids` (the grid they are served under), newest first,
    /// with how many match in all.
    fn receipts_page(&self, page: &crate::storage::ListPage) -> StorageResult<(u64, Vec<ReceiptLine>)>;
    /// One page of the visits of `page.grids` whose promised follow-up date is before `today`
    /// (YYYY-MM-DD), oldest promise first, with the count of all of them.
    fn overdue_follow_ups(
        &self,
        today: &str,
        page: &crate::storage::ListPage,
    ) -> StorageResult<(u64, Vec<FollowUpLine>)>;
    fn totals(&self) -> StorageResult<SyncTotals>;
}
