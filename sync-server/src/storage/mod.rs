//! Where the server keeps its data: the storage traits, the rows they answer with, and their own
//! error (`error::StorageError`, no HTTP in it). `SyncStorage` is what the phones, the admin
//! commands and the rules above storage need; `monitoring` and `workflows` are the back office's
//! read-only queries; `entity_tx::EntityTx` is what the reconcile rules need inside one write
//! transaction; `releases` the published builds of the app and the minimum app version; `sessions`
//! what the back office's logins share across replicas (sessions, failed logins); `wipes` the
//! rows of remote wipes, which `SyncStorage` keeps with the devices.
//! `sqlite::SqliteStorage` is the embedded default; a PostgreSQL backend would
//! implement the same traits and reuse the rules through its own `EntityTx`.

pub mod blobs;
pub mod changes;
pub mod device_report;
pub mod entity_tx;
pub mod error;
pub mod evidence;
pub mod generation;
pub mod handover;
pub mod locations;
pub mod money;
pub mod monitoring;
pub mod postgres;
pub mod records;
pub mod releases;
pub mod sessions;
pub mod sqlite;
pub mod staff;
pub mod wipes;
pub mod workflows;

use gridbook_core::sync::wire::{
    EnrolRequest, EnrolResponse, ErrorCode, PullPage, PushRequest, PushResponse, StoredState,
};
use gridbook_core::sync::wire::{ReceiptBlock, ReceiptBlockRequest, ServerGeneration, VerifyResponse};
use gridbook_core::sync::wire::{WipeMode, WipeOrder, WipeReport};
use serde::Serialize;

use crate::domain::auth::{DeviceAuth, Role};
use crate::domain::reconcile::Rules;
use error::{StorageError, StorageResult};
use records::RecordStorage;

/// A device as the back office sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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
    /// What the phone said of itself at its last push (issue 17); None from apps before it.
    pub device_model: Option<String>,
    pub os_version: Option<String>,
    pub free_storage_bytes: Option<i64>,
    pub last_sync_duration_ms: Option<i64>,
    pub last_sync_bytes: Option<i64>,
    pub battery_saver: Option<bool>,
    /// The day (China time) of the phone's last traffic report, and its bytes that day each way
    /// (issue 20); None from apps before it.
    pub traffic_day: Option<String>,
    pub bytes_sent_day: Option<i64>,
    pub bytes_received_day: Option<i64>,
    /// Photos taken on the phone still waiting to upload at its last push, and their bytes.
    pub photos_waiting: Option<i64>,
    pub photo_bytes_waiting: Option<i64>,
}

/// One page of a back-office list that grows, newest first: the rows of `grids` (every grid when
/// None) — and of a device whose manager is among `managers`, for rows about devices — `limit` of
/// them after skipping `offset`. The count of all that match comes beside the page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    pub grids: Option<Vec<String>>,
    pub managers: Vec<String>,
    pub offset: u32,
    pub limit: u32,
}

impl ListPage {
    /// `grids` as a JSON array for SQLite's `json_each`, or None for every grid.
    pub(crate) fn grids_json(&self) -> Option<String> {
        self.grids.as_ref().map(|g| serde_json::Value::from(g.clone()).to_string())
    }

    pub(crate) fn managers_json(&self) -> String {
        serde_json::Value::from(self.managers.clone()).to_string()
    }

    /// The page's limit and offset as SQL integers (PostgreSQL binds `bigint`).
    pub(crate) fn bounds(&self) -> (i64, i64) {
        (i64::from(self.limit), i64::from(self.offset))
    }
}

/// Which rows of the conflict log a page lists: the server's own recomputation of a tier
/// (domain/tiers.rs, written by a back-office node) is not a conflict between people, and the
/// conflicts tab pages the two apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConflictSide {
    #[default]
    All,
    /// Conflicts between people (what a supervisor should look at).
    People,
    /// The server's tier recomputations.
    Recomputed,
}

impl ConflictSide {
    /// The SQL condition on a `conflicts` row, the same on both backends: `field` is 'tier' and
    /// `new_device` a back-office node (`domain::authoring::is_backoffice_node`: "backoffice" or
    /// "backoffice_…").
    pub(crate) fn sql(self) -> &'static str {
        match self {
            ConflictSide::All => "TRUE",
            ConflictSide::People => {
                "NOT coalesce(field = 'tier' AND (new_device = 'backoffice' OR substr(new_device, 1, 11) = 'backoffice_'), FALSE)"
            }
            ConflictSide::Recomputed => {
                "coalesce(field = 'tier' AND (new_device = 'backoffice' OR substr(new_device, 1, 11) = 'backoffice_'), FALSE)"
            }
        }
    }
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

/// What the phones, the admin commands and the rules above storage need of a backend: devices and
/// their enrolment, pushes and pulls, snapshot pages, grids and managers, signed evidence,
/// handovers, and (through `RecordStorage`) the records the back office reads and writes.
pub trait SyncStorage: RecordStorage {
    /// Which life of the database this is (a new one after each restore), read when it was opened:
    /// every push answer and pull page carries it (docs/sync-protocol.md, "Restores").
    fn generation(&self) -> ServerGeneration;
    /// A consistent copy of the database at `to`, taken while it serves, with its checksum. A
    /// backend whose engine has its own backups (PostgreSQL) answers `unsupported`.
    fn backup_to(&self, to: &std::path::Path, now_ms: i64) -> StorageResult<sqlite::backup::BackupReport>;
    fn authenticate_device(&self, token_hash: &str) -> StorageResult<DeviceAuth>;
    /// Whether `authenticate_device` may run on the async runtime's own thread: true where it is
    /// an indexed read of a local file's cached pages (SQLite, tens of microseconds), so a request
    /// does not wait for a hand-over to a blocking thread and back; false where it is a round trip
    /// to another process (PostgreSQL), which runs on a blocking thread.
    fn authenticates_inline(&self) -> bool;
    fn enrol(&self, request: &EnrolRequest, now_ms: i64) -> StorageResult<EnrolResponse>;
    /// Applies a batch in one transaction and answers only after it is durably committed.
    /// (Concurrent pushes may share that transaction and its commit.)
    fn push(
        &self,
        device: &DeviceAuth,
        request: PushRequest,
        rules: &Rules,
        now_ms: i64,
    ) -> StorageResult<PushResponse>;
    fn pull(&self, device: &DeviceAuth, cursor: u64, limit: u32, now_ms: i64) -> StorageResult<PullPage<StoredState>>;
    /// Whether the device's pull of `grids` from `cursor` would now receive a record or a
    /// handover's removal (what `GET /v1/changes` answers; changes.rs): on PostgreSQL only those
    /// below the watermark count, as a pull serves only those, so a phone is never told of a
    /// change it cannot take yet.
    fn changed_since(&self, device_id: &str, grids: &[String], cursor: u64) -> StorageResult<bool>;
    /// The page the device's pull from `cursor` would get now, for a `GET /v1/changes` that asked
    /// for it, read in one go (no `changed_since` first): None when it holds nothing yet, and
    /// then nothing is noted; else noted as the device's pull, as `pull` notes it.
    fn live_page(
        &self,
        device: &DeviceAuth,
        cursor: u64,
        limit: u32,
        now_ms: i64,
    ) -> StorageResult<Option<PullPage<StoredState>>>;
    /// Tells the other server processes of this database that records of `grids` changed, once
    /// the write has committed (never from inside it). PostgreSQL relays it to every replica
    /// (NOTIFY); SQLite has no other process to tell.
    fn announce_changes(&self, grids: &[String]) -> StorageResult<()>;
    /// Relays the other processes' announcements to `signal` from now on (PostgreSQL: a
    /// connection of its own that LISTENs, connected again whenever it is lost).
    fn follow_changes(&self, signal: changes::ChangeSignal);

    // Snapshot files (domain/snapshot_files.rs). The defaults say the backend builds none.

    /// A page of what a new device of `grids` pulls, as `pull` serves it, without any device's
    /// bookkeeping or handover removals: what a snapshot file is built from.
    fn snapshot_page(
        &self,
        grids: &[String],
        cursor: u64,
        limit: u32,
        now_ms: i64,
    ) -> StorageResult<PullPage<StoredState>> {
        let _ = (grids, cursor, limit, now_ms);
        Err(snapshot_files_unsupported())
    }
    /// Records of `grids` changed after change number `cursor` (how far a file is behind the log).
    fn changes_after(&self, grids: &[String], cursor: u64) -> StorageResult<u64> {
        let _ = (grids, cursor);
        Err(snapshot_files_unsupported())
    }
    /// Where snapshot files are kept: a directory beside the database.
    fn snapshot_dir(&self) -> Option<std::path::PathBuf> {
        None
    }
    /// Where uploaded photos are kept (`blobs::DirBlobStore`): a directory beside the database.
    fn photo_dir(&self) -> Option<std::path::PathBuf> {
        None
    }
    /// The store of uploaded photos: by default the directory `photo_dir` names; PostgreSQL keeps
    /// them in its own tables, shared by every replica. None: the server keeps no photos.
    fn blob_store(&self) -> Option<std::sync::Arc<dyn blobs::BlobStore>> {
        let dir = self.photo_dir()?;
        match blobs::DirBlobStore::open(&dir) {
            Ok(store) => Some(std::sync::Arc::new(store)),
            Err(e) => {
                tracing::error!(error = %e, dir = %dir.display(), "photo directory unusable: photos refused");
                None
            }
        }
    }
    /// Each field manager's set of grids, sorted, each set once (what to prebuild files for).
    fn grid_sets(&self) -> StorageResult<Vec<Vec<String>>> {
        Err(snapshot_files_unsupported())
    }

    fn create_grid(&self, id: &str, name: &str, now_ms: i64) -> StorageResult<()>;
    fn create_manager(
        &self,
        id: &str,
        name: &str,
        role: Role,
        password_hash: Option<&str>,
        now_ms: i64,
    ) -> StorageResult<()>;
    fn assign_grid(&self, manager_id: &str, grid_id: &str) -> StorageResult<()>;
    /// Renames grid `id` (trimmed, 1–64 characters), audited under `by` (`grid_renamed`).
    fn rename_grid(&self, id: &str, name: &str, by: &str, now_ms: i64) -> StorageResult<()>;
    /// Sets the staff number (工号) of the manager `id`, the phones' receipts print it (checked
    /// by the caller; empty clears it); audited under `by` (`staff_no_set`, old → new) when it
    /// changed, and answers whether it did. Not found for an unknown manager.
    fn set_staff_no(&self, id: &str, staff_no: &str, by: &str, now_ms: i64) -> StorageResult<bool>;
    /// Assigns grid `grid_id` to the account `manager_id` (`assigned`) — a field manager's grid,
    /// or one a supervisor watches — or takes it away; audited under `by` (`grid_assigned`,
    /// `grid_unassigned`) when anything changed, and answers whether it did. Taking a grid away
    /// moves no records: a grid changes hands with all it holds by a handover.
    fn set_grid_assignment(
        &self,
        manager_id: &str,
        grid_id: &str,
        assigned: bool,
        by: &str,
        now_ms: i64,
    ) -> StorageResult<bool>;
    /// A one-time enrolment code for a manager's phone, valid for `ttl_ms`.
    fn create_enrol_code(&self, manager_id: &str, now_ms: i64, ttl_ms: i64) -> StorageResult<String>;
    fn revoke_device(&self, device_id: &str, now_ms: i64) -> StorageResult<()>;
    fn devices(&self) -> StorageResult<Vec<DeviceRow>>;

    // Remote wipes (wipes.rs; docs/sync-protocol.md, "Remote wipe").

    /// Orders `device_id` wiped in `mode`, audited under `by`. An order the device was not told yet
    /// is replaced; a told or wiped device, or a revoked one (never told), is `wipe_under_way`.
    fn order_wipe(&self, device_id: &str, mode: WipeMode, by: &str, now_ms: i64) -> StorageResult<wipes::WipeRow>;
    /// Cancels an order the device was not told yet, audited under `by`; a told one stands.
    fn cancel_wipe(&self, device_id: &str, by: &str, now_ms: i64) -> StorageResult<()>;
    /// The device is being told its order (its first contact after it): the order as it stands
    /// now, None when it was cancelled meanwhile (or reported).
    fn wipe_told(&self, device_id: &str, now_ms: i64) -> StorageResult<Option<WipeOrder>>;
    /// Records the device's report, checked already (domain/wipes.rs), against its standing order;
    /// from then on its token is refused as revoked. Audited under the device's id.
    fn record_wipe_report(&self, device_id: &str, report: &WipeReport, now_ms: i64) -> StorageResult<wipes::WipeRow>;
    /// Every device's wipe, newest order first.
    fn wipes(&self) -> StorageResult<Vec<wipes::WipeRow>>;
    /// Every Ed25519 public key (hex) the device registered, newest first.
    fn registered_keys(&self, device_id: &str) -> StorageResult<Vec<String>>;
    fn conflicts(&self, limit: u32) -> StorageResult<Vec<ConflictRow>>;
    /// One page of the conflict log of `page.grids` on `side`, newest first, with how many match
    /// in all.
    fn conflicts_page(&self, page: &ListPage, side: ConflictSide) -> StorageResult<(u64, Vec<ConflictRow>)>;
    fn rejections(&self, limit: u32) -> StorageResult<Vec<RejectionRow>>;
    fn check_health(&self) -> StorageResult<()>;

    // Signed evidence (issue 4). The defaults say the backend does not keep it.

    /// Issues the device a new block of receipt numbers; a retried request (same id) gets the
    /// same block.
    fn issue_receipt_block(
        &self,
        device: &DeviceAuth,
        request: &ReceiptBlockRequest,
        now_ms: i64,
    ) -> StorageResult<ReceiptBlock> {
        let _ = (device, request, now_ms);
        Err(evidence_unsupported())
    }
    fn receipt_blocks(&self, device_id: Option<&str>) -> StorageResult<Vec<evidence::ReceiptBlockRow>> {
        let _ = device_id;
        Err(evidence_unsupported())
    }
    /// The public check of a paper receipt: its number and the code printed on it.
    fn verify_receipt(&self, receipt_no: &str, code: &str) -> StorageResult<VerifyResponse> {
        let _ = (receipt_no, code);
        Err(evidence_unsupported())
    }
    /// One receipt with its signature, checked again against what is stored now.
    fn receipt_evidence(&self, receipt_no: &str) -> StorageResult<Option<evidence::ReceiptEvidence>> {
        let _ = receipt_no;
        Err(evidence_unsupported())
    }
    /// Voids requested by phones; `status` "pending", "approved" or "refused", or all.
    fn void_reviews(&self, status: Option<&str>, limit: u32) -> StorageResult<Vec<evidence::VoidReviewRow>> {
        let _ = (status, limit);
        Err(evidence_unsupported())
    }
    /// One page of the voids of receipts of `page.grids` (the receipt's grid as served) that
    /// `filter` names, newest request first, with how many match in all.
    fn void_reviews_page(
        &self,
        filter: &evidence::VoidFilter,
        page: &ListPage,
    ) -> StorageResult<(u64, Vec<evidence::VoidReviewRow>)> {
        let _ = (filter, page);
        Err(evidence_unsupported())
    }
    /// Approves or refuses a pending void, with an audit row. Approval gives the receipt's amount
    /// back to the arrears account.
    fn decide_void(
        &self,
        void_id: &str,
        decision: evidence::VoidDecision,
        by: &str,
        note: &str,
        now_ms: i64,
    ) -> StorageResult<evidence::VoidReviewRow> {
        let _ = (void_id, decision, by, note, now_ms);
        Err(evidence_unsupported())
    }
    fn audit_log(&self, subject: Option<&str>, limit: u32) -> StorageResult<Vec<evidence::AuditRow>> {
        let _ = (subject, limit);
        Err(evidence_unsupported())
    }
    /// One page of the audit trail, newest first, with how many rows match in all.
    fn audit_page(
        &self,
        filter: &evidence::AuditFilter,
        offset: u32,
        limit: u32,
    ) -> StorageResult<(u64, Vec<evidence::AuditRow>)> {
        let _ = (filter, offset, limit);
        Err(evidence_unsupported())
    }
    /// Hands a grid or a building over to another manager (domain/handover.rs): moves the scope, lists
    /// its records for removal from the old managers' devices, audits it. Bad input is a 4xx.
    fn hand_over(
        &self,
        request: &handover::HandoverRequest,
        by: &str,
        now_ms: i64,
    ) -> StorageResult<handover::HandoverRow> {
        let _ = (request, by, now_ms);
        Err(handovers_unsupported())
    }
    /// Handovers, newest first, each with its old devices: waiting for them, or done.
    fn handovers(&self, limit: u32) -> StorageResult<Vec<handover::HandoverRow>> {
        let _ = limit;
        Err(handovers_unsupported())
    }
    /// One page of the handovers from or to a grid of `page.grids`, newest first, with how many
    /// match in all.
    fn handovers_page(&self, page: &ListPage) -> StorageResult<(u64, Vec<handover::HandoverRow>)> {
        let _ = page;
        Err(handovers_unsupported())
    }
}

/// The latest back-office stamp as stored (`backoffice_clock`); the zero stamp when none.
pub(crate) fn parse_backoffice_stamp(text: Option<String>) -> StorageResult<gridbook_core::sync::hlc::Hlc> {
    use gridbook_core::sync::hlc::Hlc;
    match text {
        None => Ok(Hlc::new(0, 0, crate::domain::authoring::BACKOFFICE_DEVICE)),
        Some(t) => t.parse().map_err(|e| StorageError::internal(format!("the latest back-office stamp: {e}"))),
    }
}

fn evidence_unsupported() -> StorageError {
    StorageError::unsupported(ErrorCode::Unsupported, "this storage backend does not keep signed evidence")
}

fn snapshot_files_unsupported() -> StorageError {
    StorageError::unsupported(ErrorCode::NoSnapshotFile, "this storage backend builds no snapshot files")
}

fn handovers_unsupported() -> StorageError {
    StorageError::unsupported(ErrorCode::Unsupported, "this storage backend keeps no handovers")
}
