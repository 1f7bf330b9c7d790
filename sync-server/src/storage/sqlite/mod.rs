//! The embedded SQLite backend: one file, one writer connection (every write transaction is
//! `BEGIN IMMEDIATE` and fully synced before the answer leaves), a small pool of readers in WAL.
//!
//! This file holds the connections and the transactions; each concern's SQL is a file of its own:
//! `schema` (and migrations/), `devices` (grids, managers, devices, enrolment), `push` (group
//! commit of pushes and back-office ops) with `entity_tx` (the rules' primitives on SQLite),
//! `pull` (pages, snapshot pages), `records` (the back office's reads of records), `monitoring`
//! and `workflows` (the back office's read-only queries), `receipts`, `handover`, `checkpoint`,
//! `releases` (published builds of the app, the minimum app version), `wipes` (remote wipes).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use gridbook_core::model::EntityKind;
use gridbook_core::sync::wire::{
    EnrolRequest, EnrolResponse, EntityState, Op, OpResult, PullPage, PushRequest, PushResponse, ReceiptBlock,
    ReceiptBlockRequest, ServerGeneration, StoredState, VerifyResponse, WipeMode, WipeOrder, WipeReport,
};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::evidence::{AuditFilter, AuditRow, ReceiptBlockRow, ReceiptEvidence, VoidDecision, VoidReviewRow};
use super::records::RecordStorage;
use super::wipes::WipeRow;
use super::{ConflictRow, DeviceRow, RejectionRow, SyncStorage};
use crate::domain::auth::{DeviceAuth, Role};
use crate::domain::reconcile::Rules;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::handover::{HandoverRequest, HandoverRow};

pub mod backup;
mod checkpoint;
mod devices;
mod entity_tx;
mod group_commit;
mod handover;
mod locations;
mod money;
mod monitoring;
mod pull;
mod push;
mod receipts;
mod records;
mod releases;
mod schema;
mod sessions;
mod wal_room;
mod wipes;
mod workflows;

use entity_tx::SqliteTx;
// the rules of ids and keys the PostgreSQL backend checks the same way
pub(crate) use devices::{checked_device_id, checked_grid_name, device_wipe, revoked_device, valid_id};
pub(crate) use receipts::checked_public_key;
pub(crate) use receipts::MAX_OPEN_NUMBERS;
pub(crate) use records::entity_from_row;

/// Whether a write transaction must reach the disk before its answer leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// Acknowledged data: ops, accounts, anything a device or a person was told is stored.
    Synced,
    /// Monitoring facts only.
    Bookkeeping,
}

pub struct SqliteStorage {
    writer: Mutex<Connection>,
    /// Nanoseconds the writer spent on push transactions, commit included: the one serial part
    /// of ingest, so how near it is to the wall clock says whether pushes wait for it.
    push_writing_ns: std::sync::atomic::AtomicU64,
    /// Checkpoints after large pushes, off the writer (None if its thread could not start).
    checkpoints: Option<checkpoint::Checkpointer>,
    pushes: group_commit::Queue<push::PushWork, StorageResult<PushResponse>>,
    /// How many pushes prepare their facts at once: one fewer than the cores, so that the writer,
    /// the serial part of ingest, is not kept off a core by a crowd of pushes being prepared.
    preparing: group_commit::Gate,
    readers: Mutex<Vec<Connection>>,
    /// The back office's read-only queries' own connections (monitoring.rs).
    monitor: monitoring::MonitorReaders,
    path: PathBuf,
    /// The database's generation, and the tag of the receipt books it issues (backup.rs).
    generation: ServerGeneration,
    book_tag: String,
    /// Wakes the phones waiting on the grids of the back office's writes (storage/changes.rs).
    own_writes: crate::storage::changes::OwnWrites,
}

/// A connection to the server database at `path` with the server's settings (page size, WAL,
/// `synchronous = FULL`, the log's size limit). Public for the benches' floor
/// (gridbook-tests `floor`), which measures a commit exactly as the server makes one.
pub fn open_connection(path: &Path) -> StorageResult<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // 8 KiB pages for a new database (an existing one keeps its own): a large push's commit
    // writes half as many WAL frames, each one syscall, while a small push's commit (a phone's
    // few records) writes its handful of pages at twice the size, not four times: 16 KiB pages
    // gained ingest a further ~10 % but cost write-to-visible latency ~0.6 ms (sync-bench, A/B)
    conn.pragma_update(None, "page_size", 8_192)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: an acknowledged push survives a power cut, not only a killed process.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The log is reused, not shrunk, once checkpointed: a log that grew while readers held it
    // (a city's load, a flood of pulls) would keep its size on disk for good. Back to this size
    // at the next reset.
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    Ok(conn)
}

/// Bytes SQLite holds on its heap now, and the most it has held since the process started: the
/// page caches of every connection, prepared statements and schemas. The rest of the process's
/// memory is the allocator's, the runtime's and the binary's (docs/benchmarks.md "Soak").
pub fn heap_bytes() -> (i64, i64) {
    // SAFETY: both read SQLite's own counters (memory statistics are on in the bundled build).
    unsafe { (rusqlite::ffi::sqlite3_memory_used(), rusqlite::ffi::sqlite3_memory_highwater(0)) }
}

/// The writer's page cache (KiB): the largest single share of the server's memory once full.
const WRITER_CACHE_KIB: i64 = 32 * 1024;

/// What the WAL file is cut back to when it starts over (bytes).
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SqliteStorage {
    /// The photo directory of the server database at `db`: beside it, `<db>.photos`.
    pub fn photo_dir_of(db: &Path) -> PathBuf {
        PathBuf::from(format!("{}.photos", db.display()))
    }

    pub fn open(path: impl AsRef<Path>) -> StorageResult<Self> {
        let path = path.as_ref().to_path_buf();
        let mut writer = open_connection(&path)?;
        // The writer's own pages (SQLite's default is 2 MiB): the indexes a push writes into stay
        // in memory instead of being read back from the file (pread per op 0.37 → 0.2 at 64 MiB).
        // A push appends, so its pages are few and hot; what else fills the cache is the archive
        // pages that edits touch all over the file, which the OS's file cache serves as well. 32
        // MiB: the same preads per ingested op as 64, and a full cache 32 MiB smaller, the
        // largest share of the server's memory (docs/benchmarks.md "Soak").
        writer.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        schema::migrate(&mut writer, &path)?;
        // this process's back-office clock starts after every back-office stamp stored
        crate::domain::authoring::observe(&entity_tx::latest_backoffice_stamp(&writer)?);
        let (generation, book_tag) = backup::read_generation(&writer)?;
        let checkpoints = checkpoint::Checkpointer::start(&path, |p| open_connection(p).ok());
        Ok(Self {
            writer: Mutex::new(writer),
            push_writing_ns: Default::default(),
            checkpoints,
            preparing: group_commit::Gate::for_all_cores_but_one(),
            pushes: Default::default(),
            readers: Mutex::new(Vec::new()),
            monitor: monitoring::MonitorReaders::new(&path),
            path,
            generation,
            book_tag,
            own_writes: Default::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// For a server about to serve: writes the log's room ahead (wal_room.rs), so that its
    /// commits overwrite the log's blocks instead of growing the file (a faster fsync). Not done
    /// by `open`: a short-lived `admin` command would write the room only for SQLite to remove
    /// the log when it closes. Without the room commits grow the log as before, so a failure is
    /// only logged.
    pub fn write_log_room_ahead(&self) {
        match wal_room::write_ahead(&lock(&self.writer), &self.path) {
            Ok(bytes) => tracing::debug!(bytes, "the log's room written ahead"),
            Err(e) => tracing::warn!(error = %e, "写前日志未能预留空间 / the log's room was not written ahead"),
        }
    }

    /// Seconds the single writer has spent on push transactions since the server started.
    pub fn push_writing_s(&self) -> f64 {
        self.push_writing_ns.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e9
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> StorageResult<T>) -> StorageResult<T> {
        let conn = match lock(&self.readers).pop() {
            Some(c) => c,
            None => open_connection(&self.path)?,
        };
        let out = f(&conn);
        let mut pool = lock(&self.readers);
        if pool.len() < 8 {
            pool.push(conn);
        }
        out
    }

    fn write<T>(&self, f: impl FnOnce(&Transaction) -> StorageResult<T>) -> StorageResult<T> {
        self.write_with(Durability::Synced, f)
    }

    /// A write transaction. `Bookkeeping` commits without waiting for the disk: for facts that
    /// nobody was promised (when a device last pulled, what it reported about itself). The next
    /// synced commit flushes them anyway; a power cut may lose only those.
    fn write_with<T>(
        &self,
        durability: Durability,
        f: impl FnOnce(&Transaction) -> StorageResult<T>,
    ) -> StorageResult<T> {
        Self::write_on(&mut lock(&self.writer), durability, f)
    }

    fn write_on<T>(
        conn: &mut Connection,
        durability: Durability,
        f: impl FnOnce(&Transaction) -> StorageResult<T>,
    ) -> StorageResult<T> {
        let relaxed = durability == Durability::Bookkeeping;
        if relaxed {
            conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        let result = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })();
        if relaxed {
            conn.pragma_update(None, "synchronous", "FULL")?;
        }
        result
    }
}

impl SyncStorage for SqliteStorage {
    fn generation(&self) -> ServerGeneration {
        self.generation.clone()
    }

    fn backup_to(&self, to: &Path, now_ms: i64) -> StorageResult<backup::BackupReport> {
        backup::backup(&self.path, to, now_ms)
    }

    fn authenticate_device(&self, token_hash: &str) -> StorageResult<DeviceAuth> {
        devices::authenticate_device(self, token_hash)
    }

    fn authenticates_inline(&self) -> bool {
        true
    }

    fn enrol(&self, req: &EnrolRequest, now_ms: i64) -> StorageResult<EnrolResponse> {
        devices::enrol(self, req, now_ms)
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
        pull::snapshot_page(self, grids, cursor, limit, now_ms)
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

    fn announce_changes(&self, _grids: &[String]) -> StorageResult<()> {
        // one process: its HTTP layer has woken its own waiters already
        Ok(())
    }

    fn follow_changes(&self, signal: crate::storage::changes::ChangeSignal) {
        // one process writes the file: nobody else announces; its own back-office writes do
        self.own_writes.attach(signal);
    }

    fn snapshot_dir(&self) -> Option<PathBuf> {
        pull::snapshot_dir(self)
    }

    fn photo_dir(&self) -> Option<PathBuf> {
        Some(Self::photo_dir_of(&self.path))
    }

    fn grid_sets(&self) -> StorageResult<Vec<Vec<String>>> {
        devices::grid_sets(self)
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
        self.read(|c| receipts::device_public_keys(c, device_id))
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
        request: &ReceiptBlockRequest,
        now_ms: i64,
    ) -> StorageResult<ReceiptBlock> {
        self.write(|tx| receipts::issue_block(tx, device, request, &self.book_tag, now_ms))
    }

    fn receipt_blocks(&self, device_id: Option<&str>) -> StorageResult<Vec<ReceiptBlockRow>> {
        self.read(|c| receipts::blocks(c, device_id))
    }

    fn verify_receipt(&self, receipt_no: &str, code: &str) -> StorageResult<VerifyResponse> {
        self.read(|c| receipts::verify(c, receipt_no, code))
    }

    fn receipt_evidence(&self, receipt_no: &str) -> StorageResult<Option<ReceiptEvidence>> {
        self.read(|c| receipts::evidence(c, receipt_no))
    }

    fn void_reviews(&self, status: Option<&str>, limit: u32) -> StorageResult<Vec<VoidReviewRow>> {
        self.read(|c| receipts::void_reviews(c, status, limit))
    }

    fn void_reviews_page(
        &self,
        filter: &super::evidence::VoidFilter,
        page: &super::ListPage,
    ) -> StorageResult<(u64, Vec<VoidReviewRow>)> {
        self.read(|c| receipts::void_reviews_page(c, filter, page))
    }

    fn decide_void(
        &self,
        void_id: &str,
        decision: VoidDecision,
        by: &str,
        note: &str,
        now_ms: i64,
    ) -> StorageResult<VoidReviewRow> {
        let row = self.write(|tx| {
            let mut etx = SqliteTx::begin(tx, by, &[])?;
            receipts::decide_void(&mut etx, void_id, decision, by, note, now_ms)
        })?;
        tracing::info!(void = %void_id, by, decision = ?decision, "void decided");
        self.own_writes.wake(&crate::storage::changes::Changed::of_void(&row));
        Ok(row)
    }

    fn audit_log(&self, subject: Option<&str>, limit: u32) -> StorageResult<Vec<AuditRow>> {
        self.read(|c| receipts::audit_log(c, subject, limit))
    }

    fn audit_page(&self, filter: &AuditFilter, offset: u32, limit: u32) -> StorageResult<(u64, Vec<AuditRow>)> {
        self.read(|c| receipts::audit_page(c, filter, offset, limit))
    }

    fn hand_over(&self, request: &HandoverRequest, by: &str, now_ms: i64) -> StorageResult<HandoverRow> {
        handover::check_request(request)?;
        let id = self.write(|tx| handover::hand_over(tx, request, by, now_ms))?;
        let row = self
            .read(|c| handover::list(c, Some(&id), &super::ListPage { limit: 1, ..Default::default() }))?
            .1
            .pop()
            .ok_or_else(|| StorageError::internal("the handover vanished"))?;
        self.own_writes.wake(&crate::storage::changes::Changed::of_handover(&row));
        Ok(row)
    }

    fn handovers(&self, limit: u32) -> StorageResult<Vec<HandoverRow>> {
        let every = super::ListPage { limit, ..Default::default() };
        Ok(self.read(|c| handover::list(c, None, &every))?.1)
    }

    fn handovers_page(&self, page: &super::ListPage) -> StorageResult<(u64, Vec<HandoverRow>)> {
        self.read(|c| handover::list(c, None, page))
    }
}

impl RecordStorage for SqliteStorage {
    fn apply_backoffice_ops(&self, ops: &[Op], now_ms: i64) -> StorageResult<Vec<OpResult>> {
        let results = push::apply_backoffice_ops(self, ops, now_ms)?;
        self.own_writes.wake(&crate::storage::changes::Changed::of_ops(ops));
        Ok(results)
    }

    fn has_grid(&self, grid_id: &str) -> StorageResult<bool> {
        records::has_grid(self, grid_id)
    }

    fn grid_ids(&self) -> StorageResult<Vec<String>> {
        records::grid_ids(self)
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
        records::record_audit(self, actor, action, subject, detail, now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridbook_core::sync::hlc::Hlc;
    use gridbook_core::sync::wire::{DeviceFacts, OpOutcome, PROTOCOL_VERSION};
    use gridbook_core::testing;

    #[test]
    fn a_log_that_grew_while_a_reader_held_it_is_cut_back_when_it_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let writer = open_connection(&path).unwrap();
        writer.execute_batch("CREATE TABLE load (blob BLOB); INSERT INTO load VALUES (zeroblob(10));").unwrap();
        let wal = || std::fs::metadata(wal_room::wal_path(&path)).map(|m| m.len()).unwrap_or(0);
        // a reader on an old snapshot keeps every frame written after it in the log
        let reader = Connection::open(&path).unwrap();
        reader.execute_batch("BEGIN; SELECT count(*) FROM load;").unwrap();
        let chunk = vec![7u8; 1024 * 1024];
        for _ in 0..(WAL_SIZE_LIMIT / (1024 * 1024) + 16) {
            writer.execute("INSERT INTO load VALUES (?1)", [&chunk]).unwrap();
        }
        let grown = wal();
        assert!(grown > WAL_SIZE_LIMIT as u64, "the log grew to {grown} bytes");
        reader.execute_batch("COMMIT").unwrap();
        writer.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).unwrap();
        // the next write starts the log over, and cuts the file back
        writer.execute("INSERT INTO load VALUES (zeroblob(10))", []).unwrap();
        assert!(wal() <= WAL_SIZE_LIMIT as u64, "{} bytes after the reset, {grown} before", wal());
    }

    #[test]
    fn the_push_and_pull_queries_on_entities_read_through_an_index() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path().join("s.db")).unwrap();
        let conn = lock(&storage.writer);
        for sql in [
            "SELECT seq, kind, id, vals, base_hlc, clocks FROM entities WHERE grid_id = 'g1' AND seq > 5 ORDER BY seq LIMIT 10",
            "SELECT count(*) FROM entities WHERE grid_id = 'g1' AND seq > 5",
            "SELECT vals, base_hlc, clocks, grid_id FROM entities WHERE kind = 'visit' AND id = 'v1'",
            "SELECT 1 FROM entities WHERE kind = 'visit' AND id = 'v1' AND op_id = 'o1'",
            "SELECT coalesce(max(seq), 0) + 1 FROM entities",
            "SELECT min(seq) FROM entities WHERE grid_id = 'g1'",
            "SELECT op_id FROM rejections WHERE device_id = 'd1'",
        ] {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map([], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let plan = plan.join("; ");
            assert!(plan.starts_with("SEARCH") && !plan.contains("SCAN"), "{sql}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{sql}: sorts ({plan})");
        }
    }

    #[test]
    fn a_serving_server_writes_its_logs_room_ahead_and_its_pushes_go_into_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let storage = SqliteStorage::open(&path).unwrap();
        storage.create_grid("g1", "g1", 1).unwrap();
        storage.write_log_room_ahead();
        let wal = || std::fs::metadata(wal_room::wal_path(&path)).unwrap().len();
        let room = wal();
        // SQLite's checkpoint starts the log over after 1,000 frames of 8 KiB
        assert!(room > 1_000 * 8_192, "{room} bytes of room");
        storage.create_manager("zhang", "张伟", Role::Field, None, 1).unwrap();
        storage.assign_grid("zhang", "g1").unwrap();
        storage.apply_backoffice_ops(&[testing::household_op("g1", "h1").unwrap()], 1).unwrap();
        assert_eq!(wal(), room, "the commits went into the room, the file did not grow");
        let reopened = SqliteStorage::open(&path).unwrap();
        assert_eq!(reopened.grid_records(EntityKind::Household, "g1").unwrap().len(), 1);
    }

    #[test]
    fn after_a_large_push_the_log_is_copied_into_the_database_off_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let storage = SqliteStorage::open(&path).unwrap();
        storage.create_grid("g1", "g1", 1).unwrap();
        storage.create_manager("zhang", "张伟", Role::Field, None, 1).unwrap();
        storage.assign_grid("zhang", "g1").unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        let device = DeviceAuth {
            device_id: "dev1".into(),
            manager_id: "zhang".into(),
            role: Role::Field,
            grids: vec!["g1".into()],
            wipe: None,
            collector: Default::default(),
        };
        storage.apply_backoffice_ops(&[testing::household_op("g1", "h1").unwrap()], 1).unwrap();
        let visit = testing::fields_of(&testing::visit("g1", "h1")).unwrap();
        let ops: Vec<_> = (0..3_000u64)
            .map(|i| testing::visit_op(visit.clone(), Hlc::new(1_700_000_000_000 + i, 0, "dev1")))
            .collect();
        let request = PushRequest { protocol: PROTOCOL_VERSION, facts: DeviceFacts::default(), ops };
        let answer = storage.push(&device, request, &Rules::default(), 1_700_000_100_000).unwrap();
        assert!(answer.results.iter().all(|r| r.outcome == OpOutcome::Applied));
        // ~2 MB of visits: below SQLite's own threshold (1,000 pages of 8 KiB), so only the
        // checkpoint thread moves them from the log into the database file
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let grown = loop {
            let grown = std::fs::metadata(&path).unwrap().len().saturating_sub(before);
            if grown > 1_000_000 || std::time::Instant::now() > deadline {
                break grown;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert!(grown > 1_000_000, "the database file grew by {grown} bytes only");
    }
}
