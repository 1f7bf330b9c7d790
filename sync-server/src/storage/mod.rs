//! Where the server keeps its data. `SyncStorage` is what the HTTP layer and the admin commands
//! need; `sqlite::SqliteStorage` is the embedded default. A PostgreSQL backend implements the same
//! trait and reuses `reconcile` through its own `EntityTx`.

pub mod sqlite;

use gridbook_core::wire::{EnrolRequest, EnrolResponse, Op, OpResult, PullPage, PushRequest, PushResponse};
use serde::Serialize;

use crate::auth::{DeviceAuth, Role};
use crate::error::AppResult;
use crate::reconcile::Rules;

/// A device as the back office sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceRow {
    pub device_id: String,
    pub manager_id: String,
    pub manager_name: String,
    pub grids: Vec<String>,
    pub app_version: String,
    pub enrolled_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
    pub last_seen_ms: Option<i64>,
    pub last_push_ms: Option<i64>,
    pub last_pull_ms: Option<i64>,
    pub pending_count: i64,
    pub oldest_pending_age_s: Option<i64>,
    pub rejected_count: i64,
    pub db_size_bytes: i64,
    pub clock_offset_ms: Option<i64>,
    pub unsynced_receipts_fen: i64,
    pub unsynced_receipts_count: i64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictRow {
    pub at_ms: i64,
    pub kind: String,
    pub entity_id: String,
    pub grid_id: String,
    pub field: String,
    pub old_value: String,
    pub new_value: String,
    pub old_hlc: String,
    pub new_hlc: String,
    pub old_device: String,
    pub new_device: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectionRow {
    pub at_ms: i64,
    pub op_id: String,
    pub device_id: String,
    pub kind: String,
    pub entity_id: String,
    pub grid_id: String,
    pub code: String,
    pub reason: String,
}

pub trait SyncStorage: Send + Sync + 'static {
    fn authenticate_device(&self, token_hash: &str) -> AppResult<DeviceAuth>;
    fn enrol(&self, request: &EnrolRequest, now_ms: i64) -> AppResult<EnrolResponse>;
    /// Applies a batch in one transaction and answers only after it is durably committed.
    fn push(&self, device: &DeviceAuth, request: &PushRequest, rules: &Rules, now_ms: i64) -> AppResult<PushResponse>;
    fn pull(&self, device: &DeviceAuth, cursor: u64, limit: u32, now_ms: i64) -> AppResult<PullPage>;

    fn create_grid(&self, id: &str, name: &str, now_ms: i64) -> AppResult<()>;
    fn create_manager(&self, id: &str, name: &str, role: Role, password_hash: Option<&str>, now_ms: i64) -> AppResult<()>;
    fn assign_grid(&self, manager_id: &str, grid_id: &str) -> AppResult<()>;
    /// A one-time enrolment code for a manager's phone, valid for `ttl_ms`.
    fn create_enrol_code(&self, manager_id: &str, now_ms: i64, ttl_ms: i64) -> AppResult<String>;
    fn revoke_device(&self, device_id: &str, now_ms: i64) -> AppResult<()>;
    /// A change made by the back office (arrears accounts, corrections), merged like any op.
    fn apply_backoffice_op(&self, op: &Op, now_ms: i64) -> AppResult<OpResult>;

    fn devices(&self) -> AppResult<Vec<DeviceRow>>;
    fn conflicts(&self, limit: u32) -> AppResult<Vec<ConflictRow>>;
    fn rejections(&self, limit: u32) -> AppResult<Vec<RejectionRow>>;
    fn check_health(&self) -> AppResult<()>;
}
