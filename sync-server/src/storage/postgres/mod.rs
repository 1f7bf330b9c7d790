//! The PostgreSQL backend (issue 15): several identical server replicas on one PostgreSQL, chosen
//! with `serve --database-url postgres://…` (SQLite stays the default). It implements the same
//! traits as `sqlite/`, every method, and reuses the reconcile rules through its own `EntityTx`.
//!
//! One concern per file: `pool` (connections, and how the synchronous traits wait on the
//! asynchronous client), `schema` with migrations/ (under an advisory lock), `cursor` (gap-free
//! change numbers and the watermark), `devices`, `push` with `entity_tx`, `pull`, `blobs` (photos), `handover`, `receipts`, `voids`,
//! `records`, `monitoring`, `wipes` (remote wipes), `live` (the live-change relay between replicas), `error`, `from_sqlite` (`admin migrate-to-postgres`); `test_cluster` starts throwaway
//! clusters for the tests.

use std::path::{Path, PathBuf};

use gridbook_core::model::EntityKind;
use gridbook_core::sync::wire::{
    EnrolRequest, EnrolResponse, EntityState, ErrorCode, Op, OpResult, PullPage, PushRequest, PushResponse,
    ServerGeneration, StoredState, WipeMode, WipeOrder, WipeReport,
};

use super::records::RecordStorage;
use super::wipes::WipeRow;
use super::{ConflictRow, DeviceRow, RejectionRow, SyncStorage};
use crate::domain::auth::{DeviceAuth, Role};
use crate::domain::reconcile::Rules;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::sqlite::backup::BackupReport;
pub use pool::{pool_application_name, PoolSize};
use pool::{Db, RowExt};

pub mod blobs;
mod cursor;
#[cfg(test)]
mod cursor_property;
mod devices;
mod entity_tx;
mod error;
pub mod from_sqlite;
mod handover;
mod live;
mod locations;
mod money;
mod monitoring;
mod pool;
mod pull;
mod push;
mod receipts;
mod records;
mod releases;
pub mod restore;
mod schema;
mod sessions;
#[cfg(any(test, feature = "testing"))]
pub mod test_cluster;
mod voids;
mod wipes;

pub struct PostgresStorage {
    db: std::sync::Arc<Db>,
    generation: ServerGeneration,
    /// The tag of the receipt books this generation issues (storage/generation.rs says why).
    book_tag: String,
    /// `<system identifier>/<timeline>` of the cluster the generation was written on and this
    /// server started on (restore.rs): a failover or restore under a running server changes it.
    cluster: String,
    /// The running totals of /metrics (monitoring.rs).
    running: monitoring::Running,
    /// Where the snapshot files are: a directory every replica reads and writes (docs/postgres.md).
    snapshot_dir: Option<PathBuf>,
    /// The database's URL: the live-change relay opens a connection of its own (live.rs).
    url: String,
    /// Wakes the phones waiting on the grids of the back office's writes, here at once and on
    /// the other replicas by NOTIFY (live.rs).
    own_writes: crate::storage::changes::OwnWrites,
}

impl PostgresStorage {
    /// Connects to `url`, brings the schema up to date (replicas starting together migrate once),
    /// checks that the database was not restored without `admin mark-restored` (restore.rs) and
    /// reads the database's generation.
    pub fn open(url: &str) -> StorageResult<Self> {
        Self::open_with_pool(url, PoolSize::DEFAULT)
    }

    /// `open` with at most `pool` connections of this replica's own (`serve --pg-pool-size`).
    pub fn open_with_pool(url: &str, pool: PoolSize) -> StorageResult<Self> {
        let db = Db::open_sized(url, pool)?;
        schema::migrate(&db)?;
        let cluster = restore::check_cluster(&db)?;
        let conn = db.conn()?;
        let (generation, book_tag) = restore::read_generation(&db, &conn)?;
        // this replica's back-office clock starts after every back-office stamp stored (read
        // without the lock: each back-office write takes it and orders itself again)
        let latest = db.query_opt(&conn, "SELECT last_hlc FROM backoffice_clock WHERE single = 1", &[])?;
        crate::domain::authoring::observe(&super::parse_backoffice_stamp(latest.map(|r| r.at(0)).transpose()?)?);
        drop(conn);
        Ok(Self {
            db: std::sync::Arc::new(db),
            generation,
            book_tag,
            cluster,
            running: Default::default(),
            snapshot_dir: None,
            url: url.to_string(),
            own_writes: Default::default(),
        })
    }

    /// The same storage keeping snapshot files in `dir` (none: phones pull row pages). Every
    /// replica of one database must name the same directory: a file is built by one replica and
    /// served by all, and its cursor is valid on all of them.
    pub fn with_snapshot_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.snapshot_dir = dir;
        self
    }

    /// After a back-office write committed: wakes this replica's waiters at once and every
    /// replica's by NOTIFY (an admin command's too, which has no waiters of its own). A failed
    /// NOTIFY is only logged: the write stands, and the phones see it at their next "maybe".
    fn announce_own(&self, changed: crate::storage::changes::Changed) {
        self.own_writes.wake(&changed);
        if let Err(e) = live::announce_changed(&self.db, &changed) {
            tracing::warn!("live changes: announcing a back-office write to the replicas failed: {e}");
        }
    }
}

impl SyncStorage for PostgresStorage {
    fn generation(&self) -> ServerGeneration {
        self.generation.clone()
    }

    fn backup_to(&self, _to: &Path, _now_ms: i64) -> StorageResult<BackupReport> {
        // PostgreSQL's own tools back it up (pg_basebackup, WAL archiving; docs/postgres.md)
        Err(StorageError::unsupported(
            ErrorCode::Unsupported,
            "PostgreSQL 数据库请用其自带的工具备份（scripts/pg-backup.sh）back up a PostgreSQL database with its own tools: scripts/pg-backup.sh (pg_basebackup, WAL archiving; docs/postgres.md)",
        ))
    }

    fn authenticate_device(&self, token_hash: &str) -> StorageResult<DeviceAuth> {
        devices::authenticate_device(self, token_hash)
    }

    fn authenticates_inline(&self) -> bool {
        false
    }

    fn enrol(&self, request: &EnrolRequest, now_ms: i64) -> StorageResult<EnrolResponse> {
        devices::enrol(self, request, now_ms)
    }

    fn push(
        &self,
        device: &DeviceAuth,
        request: PushRequest,
        rules: &Rules,
        now_ms: i64,
    ) -> StorageResult<PushResponse> {
        push::push(self, device, request, rules, now_ms)
    }

    fn pull(&self, device: &DeviceAuth, cursor: u64, limit: u32, now_ms: i64) -> StorageResult<PullPage<StoredState>> {
        pull::pull(self, device, cursor, limit, now_ms)
    }

    fn snapshot_page(
        &self,
        grids: &[String],
        cursor: u64,
        limit: u32,
        now_ms: i64,
    ) -> StorageResult<PullPage<StoredState>> {
        pull::page(self, grids, cursor, limit, now_ms)
    }

    fn changes_after(&self, grids: &[String], cursor: u64) -> StorageResult<u64> {
        pull::changes_after(self, grids, cursor)
    }

    fn changed_since(&self, device_id: &str, grids: &[String], cursor: u64) -> StorageResult<bool> {
        pull::changed_since(self, device_id, grids, cursor)
    }

    fn live_page(
        &self,
        device: &DeviceAuth,
        cursor: u64,
        limit: u32,
        now_ms: i64,
    ) -> StorageResult<Option<PullPage<StoredState>>> {
        pull::live_page(self, device, cursor, limit, now_ms)
    }

    fn announce_changes(&self, grids: &[String]) -> StorageResult<()> {
        live::announce(&self.db, grids)
    }

    fn follow_changes(&self, signal: crate::storage::changes::ChangeSignal) {
        self.own_writes.attach(signal.clone());
        live::follow(&self.db, &self.url, signal)
    }

    fn grid_sets(&self) -> StorageResult<Vec<Vec<String>>> {
        devices::grid_sets(self)
    }

    fn snapshot_dir(&self) -> Option<PathBuf> {
        self.snapshot_dir.clone()
    }

    /// Photos in the database's own tables (blobs.rs), shared by every replica.
    fn blob_store(&self) -> Option<std::sync::Arc<dyn crate::storage::blobs::BlobStore>> {
        Some(std::sync::Arc::new(blobs::PgBlobStore::new(self.db.clone())))
    }

    fn create_grid(&self, id: &str, name: &str, now_ms: i64) -> StorageResult<()> {
        devices::create_grid(self, id, name, now_ms)
    }

    fn create_manager(
        &self,
        id: &str,
        name: &str,
        role: Role,
        password_hash: Option<&str>,
        now_ms: i64,
    ) -> StorageResult<()> {
        devices::create_manager(self, id, name, role, password_hash, now_ms)
    }

    fn assign_grid(&self, manager_id: &str, grid_id: &str) -> StorageResult<()> {
        devices::assign_grid(self, manager_id, grid_id)
    }

    fn rename_grid(&self, id: &str, name: &str, by: &str, now_ms: i64) -> StorageResult<()> {
        devices::rename_grid(self, id, name, by, now_ms)
    }

    fn set_staff_no(&self, id: &str, staff_no: &str, by: &str, now_ms: i64) -> StorageResult<bool> {
        devices::set_staff_no(self, id, staff_no, by, now_ms)
    }

    fn set_grid_assignment(
        &self,
        manager_id: &str,
        grid_id: &str,
        assigned: bool,
        by: &str,
        now_ms: i64,
    ) -> StorageResult<bool> {
        devices::set_grid_assignment(self, manager_id, grid_id, assigned, by, now_ms)
    }

    fn create_enrol_code(&self, manager_id: &str, now_ms: i64, ttl_ms: i64) -> StorageResult<String> {
        devices::create_enrol_code(self, manager_id, now_ms, ttl_ms)
    }

    fn revoke_device(&self, device_id: &str, now_ms: i64) -> StorageResult<()> {
        devices::revoke_device(self, device_id, now_ms)
    }

    fn devices(&self) -> StorageResult<Vec<DeviceRow>> {
        devices::devices(self)
    }

    fn order_wipe(&self, device_id: &str, mode: WipeMode, by: &str, now_ms: i64) -> StorageResult<WipeRow> {
        wipes::order_wipe(self, device_id, mode, by, now_ms)
    }

    fn cancel_wipe(&self, device_id: &str, by: &str, now_ms: i64) -> StorageResult<()> {
        wipes::cancel_wipe(self, device_id, by, now_ms)
    }

    fn wipe_told(&self, device_id: &str, now_ms: i64) -> StorageResult<Option<WipeOrder>> {
        wipes::wipe_told(self, device_id, now_ms)
    }

    fn record_wipe_report(&self, device_id: &str, report: &WipeReport, now_ms: i64) -> StorageResult<WipeRow> {
        wipes::record_wipe_report(self, device_id, report, now_ms)
    }

    fn wipes(&self) -> StorageResult<Vec<WipeRow>> {
        wipes::wipes(self)
    }

    fn registered_keys(&self, device_id: &str) -> StorageResult<Vec<String>> {
        let conn = self.db.conn()?;
        receipts::device_public_keys(&self.db, &conn, device_id)
    }

    fn conflicts(&self, limit: u32) -> StorageResult<Vec<ConflictRow>> {
        monitoring::conflicts(self, limit)
    }

    fn conflicts_page(
        &self,
        page: &super::ListPage,
        side: super::ConflictSide,
    ) -> StorageResult<(u64, Vec<ConflictRow>)> {
        monitoring::conflicts_page(self, page, side)
    }

    fn rejections(&self, limit: u32) -> StorageResult<Vec<RejectionRow>> {
        monitoring::rejections(self, limit)
    }

    fn check_health(&self) -> StorageResult<()> {
        monitoring::check_health(self)
    }

    fn issue_receipt_block(
        &self,
        device: &DeviceAuth,
        request: &gridbook_core::sync::wire::ReceiptBlockRequest,
        now_ms: i64,
    ) -> StorageResult<gridbook_core::sync::wire::ReceiptBlock> {
        receipts::issue_block(self, device, request, now_ms)
    }

    fn receipt_blocks(&self, device_id: Option<&str>) -> StorageResult<Vec<super::evidence::ReceiptBlockRow>> {
        receipts::blocks(self, device_id)
    }

    fn void_reviews(&self, status: Option<&str>, limit: u32) -> StorageResult<Vec<super::evidence::VoidReviewRow>> {
        voids::void_reviews(self, status, limit)
    }

    fn void_reviews_page(
        &self,
        filter: &super::evidence::VoidFilter,
        page: &super::ListPage,
    ) -> StorageResult<(u64, Vec<super::evidence::VoidReviewRow>)> {
        voids::void_reviews_page(self, filter, page)
    }

    fn decide_void(
        &self,
        void_id: &str,
        decision: super::evidence::VoidDecision,
        by: &str,
        note: &str,
        now_ms: i64,
    ) -> StorageResult<super::evidence::VoidReviewRow> {
        let row = voids::decide_void(self, void_id, decision, by, note, now_ms)?;
        self.announce_own(crate::storage::changes::Changed::of_void(&row));
        Ok(row)
    }

    fn audit_log(&self, subject: Option<&str>, limit: u32) -> StorageResult<Vec<super::evidence::AuditRow>> {
        receipts::audit_log(self, subject, limit)
    }

    fn audit_page(
        &self,
        filter: &super::evidence::AuditFilter,
        offset: u32,
        limit: u32,
    ) -> StorageResult<(u64, Vec<super::evidence::AuditRow>)> {
        receipts::audit_page(self, filter, offset, limit)
    }

    fn verify_receipt(&self, receipt_no: &str, code: &str) -> StorageResult<gridbook_core::sync::wire::VerifyResponse> {
        receipts::verify(self, receipt_no, code)
    }

    fn receipt_evidence(&self, receipt_no: &str) -> StorageResult<Option<super::evidence::ReceiptEvidence>> {
        receipts::evidence(self, receipt_no)
    }

    fn hand_over(
        &self,
        request: &super::handover::HandoverRequest,
        by: &str,
        now_ms: i64,
    ) -> StorageResult<super::handover::HandoverRow> {
        let row = handover::hand_over(self, request, by, now_ms)?;
        self.announce_own(crate::storage::changes::Changed::of_handover(&row));
        Ok(row)
    }

    fn handovers(&self, limit: u32) -> StorageResult<Vec<super::handover::HandoverRow>> {
        Ok(handover::list(self, None, &super::ListPage { limit, ..Default::default() })?.1)
    }

    fn handovers_page(&self, page: &super::ListPage) -> StorageResult<(u64, Vec<super::handover::HandoverRow>)> {
        handover::list(self, None, page)
    }
}

impl RecordStorage for PostgresStorage {
    fn apply_backoffice_ops(&self, ops: &[Op], now_ms: i64) -> StorageResult<Vec<OpResult>> {
        let results = records::apply_backoffice_ops(self, ops, now_ms)?;
        self.announce_own(crate::storage::changes::Changed::of_ops(ops));
        Ok(results)
    }

    fn has_grid(&self, grid_id: &str) -> StorageResult<bool> {
        records::has_grid(self, grid_id)
    }

    fn grid_ids(&self) -> StorageResult<Vec<String>> {
        let conn = self.db.conn()?;
        devices::all_grids(self, &conn)
    }

    fn grid_names(&self) -> StorageResult<Vec<(String, String)>> {
        records::grid_names(self)
    }

    fn grid_records(&self, kind: EntityKind, grid_id: &str) -> StorageResult<Vec<EntityState>> {
        records::grid_records(self, kind, grid_id)
    }

    fn household_records(
        &self,
        kind: EntityKind,
        grid_id: &str,
        household_id: &str,
    ) -> StorageResult<Vec<EntityState>> {
        records::records_where(self, kind, grid_id, Some(household_id))
    }

    fn record_audit(&self, actor: &str, action: &str, subject: &str, detail: &str, now_ms: i64) -> StorageResult<()> {
        self.db.write(|tx| records::audit(&self.db, tx, actor, action, subject, detail, now_ms))
    }
}
