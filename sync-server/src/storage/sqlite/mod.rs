//! The embedded SQLite backend: one file, one writer connection (every write transaction is
//! `BEGIN IMMEDIATE` and fully synced before the answer leaves), a small pool of readers in WAL.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use gridbook_core::hlc::Hlc;
use gridbook_core::merge::Overwrite;
use gridbook_core::model::EntityKind;
use gridbook_core::wire::{
    EnrolRequest, EnrolResponse, EntityState, Op, OpOutcome, OpResult, PullPage, PushRequest, PushResponse,
    ReceiptBlock, ReceiptBlockRequest, RejectCode, StoredState, VerifyResponse, PROTOCOL_VERSION,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::evidence::{AuditRow, ReceiptBlockRow, ReceiptEvidence, VoidDecision, VoidReviewRow};
use super::{ConflictRow, DeviceRow, RejectionRow, SyncStorage};
use crate::domain::auth::{self, DeviceAuth, Role};
use crate::domain::handover::{HandoverRequest, HandoverRow};
use crate::domain::reconcile::{self, EntityTx, Rules};
use crate::http::error::{AppError, AppResult};

mod checkpoint;
mod group_commit;
mod handover;
mod receipts;

const SCHEMA_VERSION: i64 = 4;

const SCHEMA: &str = r#"
CREATE TABLE grids (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at_ms INTEGER NOT NULL);
CREATE TABLE managers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('field', 'supervisor', 'admin')),
    password_hash TEXT, created_at_ms INTEGER NOT NULL
);
CREATE TABLE manager_grids (
    manager_id TEXT NOT NULL REFERENCES managers (id), grid_id TEXT NOT NULL REFERENCES grids (id),
    PRIMARY KEY (manager_id, grid_id)
) WITHOUT ROWID;
CREATE TABLE enrol_codes (
    code_hash TEXT PRIMARY KEY, manager_id TEXT NOT NULL REFERENCES managers (id),
    created_at_ms INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL, used_at_ms INTEGER, used_by_device TEXT
);
CREATE TABLE devices (
    id TEXT PRIMARY KEY, manager_id TEXT NOT NULL REFERENCES managers (id),
    token_hash TEXT NOT NULL UNIQUE, public_key TEXT, app_version TEXT NOT NULL DEFAULT '',
    enrolled_at_ms INTEGER NOT NULL, revoked_at_ms INTEGER,
    last_seen_ms INTEGER, last_push_ms INTEGER, last_pull_ms INTEGER, pull_cursor INTEGER NOT NULL DEFAULT 0,
    pending_count INTEGER NOT NULL DEFAULT 0, oldest_pending_age_s INTEGER, rejected_count INTEGER NOT NULL DEFAULT 0,
    db_size_bytes INTEGER NOT NULL DEFAULT 0, clock_offset_ms INTEGER, zone_offset_min INTEGER,
    unsynced_receipts_fen INTEGER NOT NULL DEFAULT 0, unsynced_receipts_count INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
-- Current state of every entity; `seq` orders changes for pulls (a snapshot and a change feed at once).
CREATE TABLE entities (
    kind TEXT NOT NULL, id TEXT NOT NULL, grid_id TEXT NOT NULL,
    vals TEXT NOT NULL, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}',
    seq INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX entities_by_grid_seq ON entities (grid_id, seq);
CREATE INDEX entities_by_seq ON entities (seq);
-- Every op once, as received, with the stamp it was merged under and the server's receive time.
-- `body` holds the op's fields; it is '' for an insert-only record (visit, receipt …), whose
-- fields are stored once, as the entity's values, which never change.
CREATE TABLE ops (
    op_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, kind TEXT NOT NULL, entity_id TEXT NOT NULL,
    grid_id TEXT NOT NULL, hlc TEXT NOT NULL, merged_hlc TEXT NOT NULL, received_at_ms INTEGER NOT NULL,
    outcome TEXT NOT NULL, body TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE conflicts (
    id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, kind TEXT NOT NULL, entity_id TEXT NOT NULL,
    grid_id TEXT NOT NULL, field TEXT NOT NULL, old_value TEXT NOT NULL, new_value TEXT NOT NULL,
    old_hlc TEXT NOT NULL, new_hlc TEXT NOT NULL, old_device TEXT NOT NULL, new_device TEXT NOT NULL
);
CREATE INDEX conflicts_by_time ON conflicts (at_ms);
CREATE TABLE rejections (
    op_id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL, device_id TEXT NOT NULL, kind TEXT NOT NULL,
    entity_id TEXT NOT NULL, grid_id TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL, body TEXT NOT NULL
);
CREATE INDEX rejections_by_time ON rejections (at_ms);
CREATE TABLE receipt_numbers (receipt_no TEXT PRIMARY KEY, receipt_id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE sync_events (
    id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, device_id TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('push', 'pull')),
    ops INTEGER NOT NULL, rejected INTEGER NOT NULL, duration_ms INTEGER NOT NULL
);
CREATE INDEX sync_events_by_time ON sync_events (at_ms);
"#;

/// Version 2: signed evidence (issue 4). The keys each device registered (kept when it enrols
/// again, so that what an old key sealed stays checkable), the receipt books issued to devices,
/// voids waiting for the back office, and the audit trail of decisions.
const SCHEMA_V2: &str = r#"
CREATE TABLE device_keys (
    device_id TEXT NOT NULL REFERENCES devices (id), public_key TEXT NOT NULL, registered_at_ms INTEGER NOT NULL,
    PRIMARY KEY (device_id, public_key)
) WITHOUT ROWID;
INSERT INTO device_keys (device_id, public_key, registered_at_ms)
    SELECT id, lower(public_key), enrolled_at_ms FROM devices WHERE coalesce(public_key, '') <> '';
CREATE TABLE receipt_blocks (
    prefix TEXT PRIMARY KEY, book_no INTEGER NOT NULL UNIQUE, device_id TEXT NOT NULL REFERENCES devices (id),
    first INTEGER NOT NULL, last INTEGER NOT NULL, issued_at_ms INTEGER NOT NULL, request_id TEXT NOT NULL UNIQUE
);
CREATE INDEX receipt_blocks_by_device ON receipt_blocks (device_id, issued_at_ms);
CREATE TABLE void_reviews (
    void_id TEXT PRIMARY KEY, receipt_id TEXT NOT NULL, device_id TEXT NOT NULL, requested_at_ms INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'refused')),
    decided_by TEXT, decided_at_ms INTEGER, note TEXT
);
CREATE INDEX void_reviews_by_status ON void_reviews (status, requested_at_ms);
CREATE INDEX void_reviews_by_receipt ON void_reviews (receipt_id);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    subject TEXT NOT NULL, detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_by_subject ON audit_log (subject, at_ms);
"#;

/// Version 3: handovers (issue 7). A grid or a building handed over to another manager; the
/// records that left the old managers' scope, each with the change number under which it left
/// (what the old devices' pulls page their removals by); and each old device's state: waiting until
/// it reports the scope removed, then done.
const SCHEMA_V3: &str = r#"
CREATE TABLE handovers (
    id TEXT PRIMARY KEY, scope TEXT NOT NULL CHECK (scope IN ('grid', 'building')),
    from_grid TEXT NOT NULL, premises_id TEXT, to_grid TEXT NOT NULL,
    from_managers TEXT NOT NULL, to_manager TEXT NOT NULL, records INTEGER NOT NULL,
    by TEXT NOT NULL, created_at_ms INTEGER NOT NULL
);
CREATE INDEX handovers_by_time ON handovers (created_at_ms);
CREATE TABLE handover_records (
    handover_id TEXT NOT NULL REFERENCES handovers (id), kind TEXT NOT NULL, entity_id TEXT NOT NULL,
    seq INTEGER NOT NULL, PRIMARY KEY (handover_id, kind, entity_id)
) WITHOUT ROWID;
CREATE INDEX handover_records_by_seq ON handover_records (handover_id, seq);
CREATE INDEX handover_records_by_entity ON handover_records (entity_id);
CREATE TABLE handover_devices (
    device_id TEXT NOT NULL REFERENCES devices (id), handover_id TEXT NOT NULL REFERENCES handovers (id),
    removed_at_ms INTEGER, PRIMARY KEY (device_id, handover_id)
) WITHOUT ROWID;
"#;

/// Version 4: the change feed laid out for ingest. `entities` becomes a rowid table keyed by its
/// change number (`seq`): a new record is appended at the end of the table instead of placed by
/// its text key, and the separate `seq` index goes (what a pull pages by is the table's own
/// order; `(grid_id)` entries carry it). A new fact (visit, notice …) is recorded in its own row,
/// not twice: the op that carried it — its id, the device, the receive time (its stamp is the
/// record's `base_hlc`) — is kept in the fact's row instead of a second row in `ops`, and the
/// insert itself says whether the fact was there (no op-id look-up). `op_log` lists every op
/// either way. A device's waiting rejections are found by device, once per push.
const SCHEMA_V4: &str = r#"
CREATE TABLE entities_v4 (
    seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, id TEXT NOT NULL, grid_id TEXT NOT NULL,
    vals TEXT NOT NULL, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}', updated_at_ms INTEGER NOT NULL,
    op_id TEXT, device_id TEXT, received_at_ms INTEGER
);
INSERT INTO entities_v4 (seq, kind, id, grid_id, vals, base_hlc, clocks, updated_at_ms)
    SELECT seq, kind, id, grid_id, vals, base_hlc, clocks, updated_at_ms FROM entities;
DROP TABLE entities;
ALTER TABLE entities_v4 RENAME TO entities;
CREATE UNIQUE INDEX entities_by_kind_id ON entities (kind, id);
CREATE INDEX entities_by_grid ON entities (grid_id);
CREATE INDEX rejections_by_device ON rejections (device_id);
CREATE VIEW op_log (op_id, device_id, kind, entity_id, grid_id, hlc, merged_hlc, received_at_ms, outcome) AS
    SELECT op_id, device_id, kind, entity_id, grid_id, hlc, merged_hlc, received_at_ms, outcome FROM ops
    UNION ALL
    SELECT op_id, device_id, kind, id, grid_id, base_hlc, base_hlc, received_at_ms, 'applied' FROM entities
    WHERE op_id IS NOT NULL;
"#;

/// Whether a write transaction must reach the disk before its answer leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// Acknowledged data: ops, accounts, anything a device or a person was told is stored.
    Synced,
    /// Monitoring facts only.
    Bookkeeping,
}

/// A push waiting for the writer (group commit).
struct PushWork {
    device: DeviceAuth,
    request: PushRequest,
    /// Worked out by the pushing thread before it queued (`reconcile::prepare`); taken by the writer.
    /// Dropped by the pushing thread once answered, not by the writer.
    prepared: Vec<Option<reconcile::PreparedFact>>,
    rules: Rules,
    now_ms: i64,
}

/// Ops one group commit takes at most: a bound on how long the pushes in it wait for their answer.
const GROUP_COMMIT_OPS: usize = 10_000;

pub struct SqliteStorage {
    writer: Mutex<Connection>,
    /// Nanoseconds the writer spent on push transactions, commit included: the one serial part
    /// of ingest, so how near it is to the wall clock says whether pushes wait for it.
    push_writing_ns: std::sync::atomic::AtomicU64,
    /// Checkpoints after large pushes, off the writer (None if its thread could not start).
    checkpoints: Option<checkpoint::Checkpointer>,
    pushes: group_commit::Queue<PushWork, AppResult<PushResponse>>,
    /// How many pushes prepare their facts at once: one fewer than the cores, so that the writer,
    /// the serial part of ingest, is not kept off a core by a crowd of pushes being prepared.
    preparing: group_commit::Gate,
    readers: Mutex<Vec<Connection>>,
    path: PathBuf,
}

fn open_connection(path: &Path) -> AppResult<Connection> {
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

/// What the WAL file is cut back to when it starts over (bytes).
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SqliteStorage {
    pub fn open(path: impl AsRef<Path>) -> AppResult<Self> {
        let path = path.as_ref().to_path_buf();
        let mut writer = open_connection(&path)?;
        // 64 MiB of pages for the writer (SQLite's default is 2 MiB): the indexes a push writes
        // into stay in memory instead of being read back from the file (pread per op 0.37 → 0.2)
        writer.pragma_update(None, "cache_size", -65_536)?;
        let version: i64 = writer.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(AppError::internal(format!(
                "the database {} is schema version {version}, newer than this server ({SCHEMA_VERSION})",
                path.display()
            )));
        }
        if version < SCHEMA_VERSION {
            let tx = writer.transaction()?;
            if version == 0 {
                tx.execute_batch(SCHEMA)?;
            }
            if version < 2 {
                tx.execute_batch(SCHEMA_V2)?;
            }
            if version < 3 {
                tx.execute_batch(SCHEMA_V3)?;
            }
            if version < 4 {
                tx.execute_batch(SCHEMA_V4)?;
            }
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()?;
        }
        let checkpoints = checkpoint::Checkpointer::start(&path, |p| open_connection(p).ok());
        Ok(Self {
            writer: Mutex::new(writer),
            push_writing_ns: Default::default(),
            checkpoints,
            preparing: group_commit::Gate::for_all_cores_but_one(),
            pushes: Default::default(),
            readers: Mutex::new(Vec::new()),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Seconds the single writer has spent on push transactions since the server started.
    pub fn push_writing_s(&self) -> f64 {
        self.push_writing_ns.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e9
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> AppResult<T>) -> AppResult<T> {
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

    fn write<T>(&self, f: impl FnOnce(&Transaction) -> AppResult<T>) -> AppResult<T> {
        self.write_with(Durability::Synced, f)
    }

    /// A write transaction. `Bookkeeping` commits without waiting for the disk: for facts that
    /// nobody was promised (when a device last pulled, what it reported about itself). The next
    /// synced commit flushes them anyway; a power cut may lose only those.
    fn write_with<T>(&self, durability: Durability, f: impl FnOnce(&Transaction) -> AppResult<T>) -> AppResult<T> {
        Self::write_on(&mut lock(&self.writer), durability, f)
    }

    fn write_on<T>(
        conn: &mut Connection,
        durability: Durability,
        f: impl FnOnce(&Transaction) -> AppResult<T>,
    ) -> AppResult<T> {
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

    /// Writes the waiting pushes in one transaction, each in its own savepoint (a push that fails
    /// leaves the others standing), and answers each after the commit.
    fn write_pushes(conn: &mut Connection, jobs: &[Arc<group_commit::Job<PushWork, AppResult<PushResponse>>>]) {
        // pushes without ops carry only the device's facts: nothing acknowledged hangs on them
        let durability = if jobs
            .iter()
            .all(|j| j.work.request.ops.is_empty() && j.work.request.facts.removed_handovers.is_empty())
        {
            Durability::Bookkeeping
        } else {
            Durability::Synced
        };
        let written = Self::write_on(conn, durability, |tx| {
            let mut answers = Vec::with_capacity(jobs.len());
            for job in jobs {
                tx.execute_batch("SAVEPOINT push")?;
                let answer = Self::apply_push(tx, &job.work);
                tx.execute_batch(if answer.is_ok() { "RELEASE push" } else { "ROLLBACK TO push; RELEASE push" })?;
                answers.push(answer);
            }
            Ok(answers)
        });
        match written {
            Ok(answers) => jobs.iter().zip(answers).for_each(|(job, answer)| job.answer(answer)),
            Err(e) => jobs.iter().for_each(|job| job.answer(Err(e.clone()))),
        }
    }

    /// One push inside the shared transaction: its ops, then what the device reported.
    fn apply_push(tx: &Transaction, work: &PushWork) -> AppResult<PushResponse> {
        let started = std::time::Instant::now();
        let PushWork { device, request: req, prepared, rules, now_ms } = work;
        let now_ms = *now_ms;
        // before the ops: an op sent with the report is a later write, refused in the scope
        handover::report_removed(tx, device, &req.facts.removed_handovers, now_ms)?;
        let results = Self::apply_batch(tx, device, &req.ops, prepared, rules, now_ms)?;
        let rejected = results.iter().filter(|r| matches!(r.outcome, OpOutcome::Rejected { .. })).count() as i64;
        // receipts that reached the server are no longer "on the phone"
        let (mut arrived_fen, mut arrived_n) = (0i64, 0i64);
        for (op, r) in req.ops.iter().zip(&results) {
            if op.kind == EntityKind::Receipt && !matches!(r.outcome, OpOutcome::Rejected { .. }) {
                arrived_fen += op.fields.get("amount_fen").and_then(Value::as_i64).unwrap_or(0);
                arrived_n += 1;
            }
        }
        let acked = req.ops.len() as i64 - rejected;
        let f = &req.facts;
        tx.prepare_cached(
            "UPDATE devices SET app_version = ?2, last_seen_ms = ?3, last_push_ms = ?3, pending_count = ?4,
               oldest_pending_age_s = ?5, rejected_count = ?6, db_size_bytes = ?7, clock_offset_ms = ?8,
               zone_offset_min = ?9, unsynced_receipts_fen = ?10, unsynced_receipts_count = ?11, last_error = ?12
             WHERE id = ?1",
        )?
        .execute(params![
            device.device_id,
            f.app_version,
            now_ms,
            (f.pending_count as i64 - acked).max(0),
            if (f.pending_count as i64) <= acked { None } else { f.oldest_pending_age_s.map(|v| v as i64) },
            f.rejected_count as i64 + rejected,
            f.db_size_bytes as i64,
            f.wall_clock_ms - now_ms,
            f.zone_offset_min,
            (f.unsynced_receipts_fen - arrived_fen).max(0),
            (f.unsynced_receipts_count as i64 - arrived_n).max(0),
            f.last_error
        ])?;
        tx.prepare_cached(
            "INSERT INTO sync_events (at_ms, device_id, direction, ops, rejected, duration_ms) VALUES (?1, ?2, 'push', ?3, ?4, ?5)",
        )?
        .execute(params![now_ms, device.device_id, req.ops.len() as i64, rejected, started.elapsed().as_millis() as i64])?;
        Ok(PushResponse {
            protocol: PROTOCOL_VERSION,
            results,
            server_time_ms: now_ms,
            clock_offset_ms: req.facts.wall_clock_ms - now_ms,
        })
    }

    fn grids_of(conn: &Connection, manager_id: &str) -> AppResult<Vec<String>> {
        let mut stmt =
            conn.prepare_cached("SELECT grid_id FROM manager_grids WHERE manager_id = ?1 ORDER BY grid_id")?;
        let rows = stmt.query_map([manager_id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One page of a pull: the changes of `grids` after `cursor` and the device's removals, cut
    /// at `limit` (what `pull` serves and what a snapshot file is built from).
    #[allow(clippy::type_complexity)]
    fn read_page(
        c: &Connection,
        device_id: &str,
        grids: &[String],
        cursor: u64,
        limit: u32,
    ) -> AppResult<(Vec<(i64, StoredState)>, Vec<(i64, gridbook_core::wire::Removal)>, i64, i64, Vec<String>)> {
        let limit = limit.clamp(1, 10_000) as usize;
        // One index range per grid, merged by sequence: each range is an ordered index walk.
        // values and clocks go out as the JSON text they are stored as (no parse, no encode)
        let mut rows: Vec<(i64, StoredState)> = Vec::new();
        let mut stmt = c.prepare_cached(
            "SELECT seq, kind, id, vals, base_hlc, clocks FROM entities WHERE grid_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        for grid in grids {
            let mut q = stmt.query(params![grid, cursor as i64, limit as i64])?;
            while let Some(r) = q.next()? {
                let kind: String = r.get(1)?;
                let kind = EntityKind::parse(&kind).ok_or_else(|| AppError::internal(format!("stored kind {kind}")))?;
                let raw = |i: usize| -> AppResult<Box<RawValue>> { Ok(RawValue::from_string(r.get::<_, String>(i)?)?) };
                rows.push((
                    r.get(0)?,
                    StoredState { kind, id: r.get(2)?, values: raw(3)?, base: r.get(4)?, clocks: raw(5)? },
                ));
            }
        }
        rows.sort_by_key(|(seq, _)| *seq);
        // Records that left the device's scope (handovers), paged with the changes by number.
        let (mut removals, handovers) = handover::removals_after(c, device_id, cursor, limit)?;
        let last = handover::cut_page(&mut rows, &mut removals, limit, cursor);
        let remaining = Self::count_after(c, grids, last)? as i64;
        let (removals_left, complete) = handover::removals_left(c, &handovers, last)?;
        Ok((rows, removals, remaining + removals_left, last, complete))
    }

    /// Records of `grids` changed after change number `after`.
    fn count_after(c: &Connection, grids: &[String], after: i64) -> AppResult<u64> {
        let mut remaining = 0i64;
        let mut count = c.prepare_cached("SELECT count(*) FROM entities WHERE grid_id = ?1 AND seq > ?2")?;
        for grid in grids {
            remaining += count.query_row(params![grid, after], |r| r.get::<_, i64>(0))?;
        }
        Ok(remaining as u64)
    }

    fn page_of(
        changes: Vec<(i64, StoredState)>,
        removals: Vec<(i64, gridbook_core::wire::Removal)>,
        handovers_complete: Vec<String>,
        remaining: i64,
        next_cursor: u64,
        now_ms: i64,
    ) -> PullPage<StoredState> {
        PullPage {
            protocol: PROTOCOL_VERSION,
            changes: changes.into_iter().map(|(_, s)| s).collect(),
            removals: removals.into_iter().map(|(_, r)| r).collect(),
            handovers_complete,
            next_cursor,
            has_more: remaining > 0,
            remaining: remaining as u64,
            server_time_ms: now_ms,
        }
    }

    fn all_grids(conn: &Connection) -> AppResult<Vec<String>> {
        let mut stmt = conn.prepare_cached("SELECT id FROM grids ORDER BY id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn apply_batch(
        tx: &Transaction,
        device: &DeviceAuth,
        ops: &[Op],
        prepared: &[Option<reconcile::PreparedFact>],
        rules: &Rules,
        now_ms: i64,
    ) -> AppResult<Vec<OpResult>> {
        let mut etx = SqliteTx::begin(tx, &device.device_id, ops)?;
        let mut results = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            let fact = prepared.get(i).and_then(Option::as_ref);
            results.push(reconcile::apply_prepared_op(&mut etx, device, op, fact, rules, now_ms, (i % 65_536) as u16)?);
        }
        Ok(results)
    }
}

/// `EntityTx` over one SQLite write transaction.
struct SqliteTx<'a> {
    tx: &'a Transaction<'a>,
    /// `insert_fact`'s statement, held for the batch (taking it from the cache per fact and putting
    /// it back cost a tenth of the writer's work on a fact).
    insert_fact: Option<rusqlite::CachedStatement<'a>>,
    next_seq: i64,
    batch: BatchIds,
    /// The pushing device's handovers, read once per push: every op asks (handover.rs), and
    /// applying ops never changes them (a removal report is written apart from the ops).
    device_handovers: Option<(String, Vec<crate::domain::handover::DeviceHandover>)>,
}

/// What the batch being applied needs looked up, in one query each instead of one per op: which
/// of its (mutable records') op ids were recorded before, and which ops of the pushing device
/// wait as rejections. Kept current as the batch is applied. A fact's op id is not looked up: a
/// new fact's insert says whether it was there (`insert_fact`), and only a fact found there is
/// asked about (`op_seen`).
#[derive(Default)]
struct BatchIds {
    looked_up: HashSet<String>,
    recorded: HashSet<String>,
    device_rejections: HashSet<String>,
}

impl<'a> SqliteTx<'a> {
    fn begin(tx: &'a Transaction<'a>, device_id: &str, batch_ops: &[Op]) -> AppResult<Self> {
        let next_seq: i64 = tx.query_row("SELECT coalesce(max(seq), 0) + 1 FROM entities", [], |r| r.get(0))?;
        let mut batch = BatchIds::default();
        let ids: Vec<String> =
            batch_ops.iter().filter(|op| !op.kind.insert_only()).map(|op| op.id.to_string()).collect();
        if !ids.is_empty() {
            let list = serde_json::to_string(&ids)?;
            let mut stmt =
                tx.prepare_cached("SELECT op_id FROM ops WHERE op_id IN (SELECT value FROM json_each(?1))")?;
            for id in stmt.query_map([&list], |r| r.get::<_, String>(0))? {
                batch.recorded.insert(id?);
            }
            batch.looked_up = ids.into_iter().collect();
        }
        if !batch_ops.is_empty() {
            // a device's rejections are few: the ones that wait for someone to deal with them
            let mut stmt = tx.prepare_cached("SELECT op_id FROM rejections WHERE device_id = ?1")?;
            for id in stmt.query_map([device_id], |r| r.get::<_, String>(0))? {
                batch.device_rejections.insert(id?);
            }
        }
        Ok(Self { tx, insert_fact: None, next_seq, batch, device_handovers: None })
    }

    /// A retried op that now passes is no longer a rejection waiting for someone.
    fn settle_rejection(&mut self, op_id: &str) -> AppResult<()> {
        if self.batch.device_rejections.remove(op_id) {
            self.tx.prepare_cached("DELETE FROM rejections WHERE op_id = ?1")?.execute([op_id])?;
        }
        Ok(())
    }
}

fn parse_hlc(s: &str) -> AppResult<Hlc> {
    s.parse().map_err(|e: gridbook_core::hlc::ParseHlcError| AppError::internal(e.to_string()))
}

fn entity_from_row(
    kind: EntityKind,
    id: String,
    vals: &str,
    base: Option<String>,
    clocks: &str,
) -> AppResult<EntityState> {
    let values: Map<String, Value> = serde_json::from_str(vals)?;
    let base = base.as_deref().map(parse_hlc).transpose()?;
    let clocks: BTreeMap<String, Hlc> = serde_json::from_str(clocks)?;
    Ok(EntityState { kind, id, values, base, clocks })
}

impl EntityTx for SqliteTx<'_> {
    fn op_seen(&mut self, op: &Op) -> AppResult<bool> {
        // Only recorded ops count: a rejected op comes back when its cause was dealt with (say, the
        // grid was assigned) and must then be judged again, not waved through as "already had".
        let op_id = op.id.to_string();
        if self.batch.recorded.contains(&op_id) {
            return Ok(true);
        }
        if self.batch.looked_up.contains(&op_id) {
            return Ok(false);
        }
        if op.kind.insert_only()
            && self.tx.prepare_cached("SELECT 1 FROM entities WHERE kind = ?1 AND id = ?2 AND op_id = ?3")?.exists([
                op.kind.as_str(),
                &op.entity,
                &op_id,
            ])?
        {
            return Ok(true);
        }
        Ok(self.tx.prepare_cached("SELECT 1 FROM ops WHERE op_id = ?1")?.exists([&op_id])?)
    }

    fn insert_fact(
        &mut self,
        fact: &reconcile::PreparedFact,
        _op: &Op,
        grid: &str,
        device_id: &str,
        now_ms: i64,
    ) -> AppResult<bool> {
        let tx = self.tx;
        let stmt = match &mut self.insert_fact {
            Some(stmt) => stmt,
            empty => empty.insert(tx.prepare_cached(
                "INSERT INTO entities (seq, kind, id, grid_id, vals, base_hlc, clocks, updated_at_ms, op_id, device_id, received_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, '{}', ?7, ?8, ?9, ?7)
                 ON CONFLICT (kind, id) DO NOTHING",
            )?),
        };
        let inserted = stmt.execute(params![
            self.next_seq,
            fact.state.kind.as_str(),
            fact.state.id,
            grid,
            fact.values_json,
            fact.stamp,
            now_ms,
            fact.op_id,
            device_id
        ])?;
        if inserted == 0 {
            return Ok(false);
        }
        self.next_seq += 1;
        self.settle_rejection(&fact.op_id)?;
        Ok(true)
    }

    fn load(&mut self, kind: EntityKind, id: &str) -> AppResult<Option<(EntityState, String)>> {
        let row = self
            .tx
            .prepare_cached("SELECT vals, base_hlc, clocks, grid_id FROM entities WHERE kind = ?1 AND id = ?2")?
            .query_row([kind.as_str(), id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .optional()?;
        match row {
            None => Ok(None),
            Some((vals, base, clocks, grid)) => {
                Ok(Some((entity_from_row(kind, id.to_string(), &vals, base, &clocks)?, grid)))
            }
        }
    }

    fn save(&mut self, state: &EntityState, grid: &str, now_ms: i64) -> AppResult<()> {
        self.save_encoded(state, &serde_json::to_string(&state.values)?, grid, now_ms)
    }

    fn save_encoded(&mut self, state: &EntityState, values_json: &str, grid: &str, now_ms: i64) -> AppResult<()> {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.tx
            .prepare_cached(
                "INSERT INTO entities (kind, id, grid_id, vals, base_hlc, clocks, seq, updated_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (kind, id) DO UPDATE SET grid_id = excluded.grid_id, vals = excluded.vals,
                   base_hlc = excluded.base_hlc, clocks = excluded.clocks, seq = excluded.seq,
                   updated_at_ms = excluded.updated_at_ms",
            )?
            .execute(params![
                state.kind.as_str(),
                state.id,
                grid,
                values_json,
                state.base.as_ref().map(|h| h.to_string()),
                if state.clocks.is_empty() { "{}".to_string() } else { serde_json::to_string(&state.clocks)? },
                seq,
                now_ms
            ])?;
        Ok(())
    }

    fn record_op(&mut self, device_id: &str, op: &Op, merged_as: &Hlc, outcome: &str, now_ms: i64) -> AppResult<()> {
        let op_id = op.id.to_string();
        let hlc = op.hlc.to_string();
        // An insert-only record is stored as received, once: its fields are the entity's values.
        let body = if op.kind.insert_only() { String::new() } else { serde_json::to_string(&op.fields)? };
        self.tx
            .prepare_cached(
                "INSERT INTO ops (op_id, device_id, kind, entity_id, grid_id, hlc, merged_hlc, received_at_ms, outcome, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                op_id,
                device_id,
                op.kind.as_str(),
                op.entity,
                op.grid,
                hlc,
                if *merged_as == op.hlc { hlc.clone() } else { merged_as.to_string() },
                now_ms,
                outcome,
                body
            ])?;
        self.settle_rejection(&op_id)?;
        self.batch.recorded.insert(op_id);
        Ok(())
    }

    fn record_conflict(&mut self, op: &Op, grid: &str, o: &Overwrite, now_ms: i64) -> AppResult<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO conflicts (at_ms, kind, entity_id, grid_id, field, old_value, new_value, old_hlc, new_hlc, old_device, new_device)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                now_ms,
                op.kind.as_str(),
                op.entity,
                grid,
                o.field,
                o.old_value.to_string(),
                o.new_value.to_string(),
                o.old_hlc.to_string(),
                o.new_hlc.to_string(),
                o.old_hlc.node,
                o.new_hlc.node
            ])?;
        Ok(())
    }

    fn record_rejection(
        &mut self,
        device_id: &str,
        op: &Op,
        code: RejectCode,
        reason: &str,
        now_ms: i64,
    ) -> AppResult<()> {
        let op_id = op.id.to_string();
        self.batch.device_rejections.insert(op_id.clone());
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO rejections (op_id, at_ms, device_id, kind, entity_id, grid_id, code, reason, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                op_id,
                now_ms,
                device_id,
                op.kind.as_str(),
                op.entity,
                op.grid,
                code.as_str(),
                reason,
                serde_json::to_string(op)?
            ])?;
        Ok(())
    }

    fn claim_receipt_no(&mut self, receipt_no: &str, receipt_id: &str) -> AppResult<bool> {
        let n = self
            .tx
            .prepare_cached("INSERT OR IGNORE INTO receipt_numbers (receipt_no, receipt_id) VALUES (?1, ?2)")?
            .execute([receipt_no, receipt_id])?;
        if n == 1 {
            return Ok(true);
        }
        let holder: String =
            self.tx.query_row("SELECT receipt_id FROM receipt_numbers WHERE receipt_no = ?1", [receipt_no], |r| {
                r.get(0)
            })?;
        Ok(holder == receipt_id)
    }

    fn receipt_no_holder(&mut self, receipt_no: &str) -> AppResult<Option<String>> {
        receipts::receipt_no_holder(self.tx, receipt_no)
    }

    fn receipt_no_issued_to(&mut self, receipt_no: &str, device_id: &str) -> AppResult<bool> {
        receipts::receipt_no_issued_to(self.tx, receipt_no, device_id)
    }

    fn device_public_keys(&mut self, device_id: &str) -> AppResult<Vec<String>> {
        receipts::device_public_keys(self.tx, device_id)
    }

    fn record_void_request(&mut self, void_id: &str, receipt_id: &str, device_id: &str, now_ms: i64) -> AppResult<()> {
        self.tx
            .prepare_cached(
                "INSERT OR IGNORE INTO void_reviews (void_id, receipt_id, device_id, requested_at_ms) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![void_id, receipt_id, device_id, now_ms])?;
        Ok(())
    }

    fn audit(&mut self, actor: &str, action: &str, subject: &str, detail: &str, now_ms: i64) -> AppResult<()> {
        receipts::audit(self.tx, actor, action, subject, detail, now_ms)
    }

    fn device_handovers(&mut self, device_id: &str) -> AppResult<Vec<crate::domain::handover::DeviceHandover>> {
        match &self.device_handovers {
            Some((device, handovers)) if device == device_id => Ok(handovers.clone()),
            _ => {
                let handovers = handover::device_handovers(self.tx, device_id)?;
                self.device_handovers = Some((device_id.to_string(), handovers.clone()));
                Ok(handovers)
            }
        }
    }

    fn handovers_holding(&mut self, kind: EntityKind, id: &str) -> AppResult<Vec<String>> {
        handover::handovers_holding(self.tx, kind, id)
    }

    fn rescope(&mut self, kind: EntityKind, id: &str, grid: &str, now_ms: i64) -> AppResult<()> {
        handover::rescope(self, kind, id, grid, now_ms)
    }

    fn join_handover(&mut self, handover_id: &str, kind: EntityKind, id: &str) -> AppResult<()> {
        handover::join(self.tx, handover_id, kind, id)
    }
}

fn valid_id(field: &'static str, id: &str) -> AppResult<()> {
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(AppError::unprocessable("invalid", format!("{field}: 1 to 64 letters, digits, '-' or '_'")));
    }
    Ok(())
}

impl SyncStorage for SqliteStorage {
    fn authenticate_device(&self, token_hash: &str) -> AppResult<DeviceAuth> {
        self.read(|c| {
            let row = c
                .prepare_cached(
                    "SELECT d.id, d.manager_id, m.role, d.revoked_at_ms FROM devices d JOIN managers m ON m.id = d.manager_id
                     WHERE d.token_hash = ?1",
                )?
                .query_row([token_hash], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<i64>>(3)?))
                })
                .optional()?;
            let Some((device_id, manager_id, role, revoked)) = row else {
                return Err(AppError::unauthorized("unknown device token; enrol this device again"));
            };
            if revoked.is_some() {
                return Err(AppError::new(axum::http::StatusCode::UNAUTHORIZED, "revoked", "this device was revoked by the back office"));
            }
            let role = Role::parse(&role).ok_or_else(|| AppError::internal(format!("unknown role {role}")))?;
            let grids = if role == Role::Field { Self::grids_of(c, &manager_id)? } else { Self::all_grids(c)? };
            Ok(DeviceAuth { device_id, manager_id, role, grids })
        })
    }

    fn enrol(&self, req: &EnrolRequest, now_ms: i64) -> AppResult<EnrolResponse> {
        valid_id("device_id", &req.device_id)?;
        let public_key = receipts::checked_public_key(req.public_key.as_deref())?;
        let code_hash = auth::hash_secret(&auth::normalise_code(&req.code));
        let token = auth::new_secret(32);
        let (manager_id, manager_name) = self.write(|tx| {
            let code = tx
                .query_row(
                    "SELECT c.manager_id, m.name, c.expires_at_ms, c.used_at_ms FROM enrol_codes c JOIN managers m ON m.id = c.manager_id
                     WHERE c.code_hash = ?1",
                    [&code_hash],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<i64>>(3)?)),
                )
                .optional()?;
            let Some((manager_id, manager_name, expires, used)) = code else {
                return Err(AppError::unauthorized("unknown enrolment code"));
            };
            if used.is_some() {
                return Err(AppError::conflict("code_used", "this enrolment code was already used; ask the back office for a new one"));
            }
            if expires < now_ms {
                return Err(AppError::unauthorized("this enrolment code has expired; ask the back office for a new one"));
            }
            let existing = tx
                .query_row("SELECT manager_id, revoked_at_ms FROM devices WHERE id = ?1", [&req.device_id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
                })
                .optional()?;
            match existing {
                Some((_, Some(_))) => return Err(AppError::forbidden("this device was revoked and cannot enrol again")),
                Some((owner, None)) if owner != manager_id => {
                    return Err(AppError::conflict("device_taken", "this device is enrolled for another manager"))
                }
                Some(_) => {
                    tx.execute(
                        "UPDATE devices SET token_hash = ?2, public_key = coalesce(?3, public_key), app_version = ?4 WHERE id = ?1",
                        params![req.device_id, auth::hash_secret(&token), public_key, req.app_version],
                    )?;
                }
                None => {
                    tx.execute(
                        "INSERT INTO devices (id, manager_id, token_hash, public_key, app_version, enrolled_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![req.device_id, manager_id, auth::hash_secret(&token), public_key, req.app_version, now_ms],
                    )?;
                }
            }
            if let Some(key) = &public_key {
                tx.execute(
                    "INSERT OR IGNORE INTO device_keys (device_id, public_key, registered_at_ms) VALUES (?1, ?2, ?3)",
                    params![req.device_id, key, now_ms],
                )?;
            }
            tx.execute(
                "UPDATE enrol_codes SET used_at_ms = ?2, used_by_device = ?3 WHERE code_hash = ?1",
                params![code_hash, now_ms, req.device_id],
            )?;
            Ok((manager_id, manager_name))
        })?;
        let grids = self.read(|c| Self::grids_of(c, &manager_id))?;
        tracing::info!(device = %req.device_id, manager = %manager_id, "device enrolled");
        Ok(EnrolResponse {
            protocol: PROTOCOL_VERSION,
            device_id: req.device_id.clone(),
            token,
            manager_id,
            manager_name,
            grids,
        })
    }

    fn push(
        &self,
        device: &DeviceAuth,
        mut request: PushRequest,
        rules: &Rules,
        now_ms: i64,
    ) -> AppResult<PushResponse> {
        // facts are built and checked here, in this thread, while other pushes are written
        let prepared = {
            let _turn = self.preparing.enter();
            request.ops.iter_mut().map(reconcile::prepare).collect()
        };
        let work = PushWork { device: device.clone(), request, prepared, rules: *rules, now_ms };
        self.pushes
            .run(
                work,
                &self.writer,
                |w| w.request.ops.len(),
                GROUP_COMMIT_OPS,
                |conn, jobs| {
                    let started = std::time::Instant::now();
                    Self::write_pushes(conn, jobs);
                    if jobs.iter().map(|j| j.work.request.ops.len()).sum::<usize>() >= checkpoint::AFTER_OPS {
                        if let Some(c) = &self.checkpoints {
                            c.wake();
                        }
                    }
                    self.push_writing_ns
                        .fetch_add(started.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
                },
            )
            .unwrap_or_else(|| Err(AppError::internal("the push was not written")))
    }

    fn pull(&self, device: &DeviceAuth, cursor: u64, limit: u32, now_ms: i64) -> AppResult<PullPage<StoredState>> {
        let started = std::time::Instant::now();
        let found = self.read(|c| Self::read_page(c, &device.device_id, &device.grids, cursor, limit))?;
        let (changes, removals, remaining, last, handovers_complete) = found;
        let next_cursor = last as u64;
        let n = (changes.len() + removals.len()) as i64;
        self.write_with(Durability::Bookkeeping, |tx| {
            tx.prepare_cached("UPDATE devices SET last_seen_ms = ?2, last_pull_ms = ?2, pull_cursor = ?3 WHERE id = ?1")?
                .execute(params![device.device_id, now_ms, next_cursor as i64])?;
            tx.prepare_cached(
                "INSERT INTO sync_events (at_ms, device_id, direction, ops, rejected, duration_ms) VALUES (?1, ?2, 'pull', ?3, 0, ?4)",
            )?
            .execute(params![now_ms, device.device_id, n, started.elapsed().as_millis() as i64])?;
            Ok(())
        })?;
        Ok(Self::page_of(changes, removals, handovers_complete, remaining, next_cursor, now_ms))
    }

    fn snapshot_page(
        &self,
        grids: &[String],
        cursor: u64,
        limit: u32,
        now_ms: i64,
    ) -> AppResult<PullPage<StoredState>> {
        // no device: no handover removals, and no device's pull bookkeeping
        let (changes, removals, remaining, last, complete) =
            self.read(|c| Self::read_page(c, "", grids, cursor, limit))?;
        Ok(Self::page_of(changes, removals, complete, remaining, last as u64, now_ms))
    }

    fn changes_after(&self, grids: &[String], cursor: u64) -> AppResult<u64> {
        self.read(|c| Self::count_after(c, grids, cursor as i64))
    }

    fn snapshot_dir(&self) -> Option<PathBuf> {
        Some(PathBuf::from(format!("{}.snapshot-files", self.path.display())))
    }

    fn grid_sets(&self) -> AppResult<Vec<Vec<String>>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT m.id FROM managers m WHERE m.role = 'field' AND EXISTS (SELECT 1 FROM manager_grids g WHERE g.manager_id = m.id) ORDER BY m.id",
            )?;
            let managers = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            let mut sets = Vec::new();
            for manager in managers {
                let mut grids = Self::grids_of(c, &manager)?;
                grids.sort();
                if !sets.contains(&grids) {
                    sets.push(grids);
                }
            }
            Ok(sets)
        })
    }

    fn create_grid(&self, id: &str, name: &str, now_ms: i64) -> AppResult<()> {
        valid_id("grid id", id)?;
        if name.trim().is_empty() {
            return Err(AppError::unprocessable("invalid", "grid name: must not be empty"));
        }
        self.write(|tx| {
            let n = tx.execute(
                "INSERT OR IGNORE INTO grids (id, name, created_at_ms) VALUES (?1, ?2, ?3)",
                params![id, name.trim(), now_ms],
            )?;
            if n == 0 {
                return Err(AppError::conflict("exists", format!("grid {id} already exists")));
            }
            Ok(())
        })
    }

    fn create_manager(
        &self,
        id: &str,
        name: &str,
        role: Role,
        password_hash: Option<&str>,
        now_ms: i64,
    ) -> AppResult<()> {
        valid_id("manager id", id)?;
        if name.trim().is_empty() {
            return Err(AppError::unprocessable("invalid", "manager name: must not be empty"));
        }
        self.write(|tx| {
            let n = tx.execute(
                "INSERT OR IGNORE INTO managers (id, name, role, password_hash, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, name.trim(), role.as_str(), password_hash, now_ms],
            )?;
            if n == 0 {
                return Err(AppError::conflict("exists", format!("manager {id} already exists")));
            }
            Ok(())
        })
    }

    fn assign_grid(&self, manager_id: &str, grid_id: &str) -> AppResult<()> {
        self.write(|tx| {
            for (table, id) in [("managers", manager_id), ("grids", grid_id)] {
                if !tx.prepare(&format!("SELECT 1 FROM {table} WHERE id = ?1"))?.exists([id])? {
                    return Err(AppError::not_found(format!("no {} {id}", &table[..table.len() - 1])));
                }
            }
            tx.execute(
                "INSERT OR IGNORE INTO manager_grids (manager_id, grid_id) VALUES (?1, ?2)",
                [manager_id, grid_id],
            )?;
            Ok(())
        })
    }

    fn create_enrol_code(&self, manager_id: &str, now_ms: i64, ttl_ms: i64) -> AppResult<String> {
        let code = auth::new_enrol_code();
        self.write(|tx| {
            if !tx.prepare_cached("SELECT 1 FROM managers WHERE id = ?1")?.exists([manager_id])? {
                return Err(AppError::not_found(format!("no manager {manager_id}")));
            }
            tx.execute(
                "INSERT INTO enrol_codes (code_hash, manager_id, created_at_ms, expires_at_ms) VALUES (?1, ?2, ?3, ?4)",
                params![auth::hash_secret(&code), manager_id, now_ms, now_ms + ttl_ms],
            )?;
            Ok(())
        })?;
        Ok(code)
    }

    fn revoke_device(&self, device_id: &str, now_ms: i64) -> AppResult<()> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE devices SET revoked_at_ms = ?2 WHERE id = ?1 AND revoked_at_ms IS NULL",
                params![device_id, now_ms],
            )?;
            if n == 0 && !tx.prepare("SELECT 1 FROM devices WHERE id = ?1")?.exists([device_id])? {
                return Err(AppError::not_found(format!("no device {device_id}")));
            }
            Ok(())
        })
    }

    fn apply_backoffice_ops(&self, ops: &[Op], now_ms: i64) -> AppResult<Vec<OpResult>> {
        self.write(|tx| {
            let mut known = tx.prepare_cached("SELECT 1 FROM grids WHERE id = ?1")?;
            for op in ops {
                if !known.exists([&op.grid])? {
                    return Err(AppError::not_found(format!("no grid {}", op.grid)));
                }
            }
            drop(known);
            Self::apply_batch(tx, &crate::domain::authoring::device(), ops, &[], &Rules::default(), now_ms)
        })
    }

    fn has_grid(&self, grid_id: &str) -> AppResult<bool> {
        self.read(|c| Ok(c.prepare_cached("SELECT 1 FROM grids WHERE id = ?1")?.exists([grid_id])?))
    }

    fn grid_ids(&self) -> AppResult<Vec<String>> {
        self.read(Self::all_grids)
    }

    fn grid_records(&self, kind: EntityKind, grid_id: &str) -> AppResult<Vec<EntityState>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, vals, base_hlc, clocks FROM entities WHERE grid_id = ?1 AND kind = ?2 ORDER BY seq",
            )?;
            let rows = stmt.query_map([grid_id, kind.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, vals, base, clocks) = row?;
                out.push(entity_from_row(kind, id, &vals, base, &clocks)?);
            }
            Ok(out)
        })
    }

    fn record_audit(&self, actor: &str, action: &str, subject: &str, detail: &str, now_ms: i64) -> AppResult<()> {
        self.write(|tx| receipts::audit(tx, actor, action, subject, detail, now_ms))
    }

    fn devices(&self) -> AppResult<Vec<DeviceRow>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT d.id, d.manager_id, m.name, d.app_version, d.enrolled_at_ms, d.revoked_at_ms, d.last_seen_ms,
                        d.last_push_ms, d.last_pull_ms, d.pending_count, d.oldest_pending_age_s, d.rejected_count,
                        d.db_size_bytes, d.clock_offset_ms, d.unsynced_receipts_fen, d.unsynced_receipts_count, d.last_error
                 FROM devices d JOIN managers m ON m.id = d.manager_id ORDER BY m.name, d.id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(DeviceRow {
                    device_id: r.get(0)?,
                    manager_id: r.get(1)?,
                    manager_name: r.get(2)?,
                    grids: vec![],
                    app_version: r.get(3)?,
                    enrolled_at_ms: r.get(4)?,
                    revoked_at_ms: r.get(5)?,
                    last_seen_ms: r.get(6)?,
                    last_push_ms: r.get(7)?,
                    last_pull_ms: r.get(8)?,
                    pending_count: r.get(9)?,
                    oldest_pending_age_s: r.get(10)?,
                    rejected_count: r.get(11)?,
                    db_size_bytes: r.get(12)?,
                    clock_offset_ms: r.get(13)?,
                    unsynced_receipts_fen: r.get(14)?,
                    unsynced_receipts_count: r.get(15)?,
                    last_error: r.get(16)?,
                })
            })?;
            let mut out: Vec<DeviceRow> = rows.collect::<Result<_, _>>()?;
            for d in &mut out {
                d.grids = Self::grids_of(c, &d.manager_id)?;
            }
            Ok(out)
        })
    }

    fn conflicts(&self, limit: u32) -> AppResult<Vec<ConflictRow>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT at_ms, kind, entity_id, grid_id, field, old_value, new_value, old_hlc, new_hlc, old_device, new_device
                 FROM conflicts ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |r| {
                Ok(ConflictRow {
                    at_ms: r.get(0)?,
                    kind: r.get(1)?,
                    entity_id: r.get(2)?,
                    grid_id: r.get(3)?,
                    field: r.get(4)?,
                    old_value: r.get(5)?,
                    new_value: r.get(6)?,
                    old_hlc: r.get(7)?,
                    new_hlc: r.get(8)?,
                    old_device: r.get(9)?,
                    new_device: r.get(10)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn rejections(&self, limit: u32) -> AppResult<Vec<RejectionRow>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT at_ms, op_id, device_id, kind, entity_id, grid_id, code, reason FROM rejections ORDER BY at_ms DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |r| {
                Ok(RejectionRow {
                    at_ms: r.get(0)?,
                    op_id: r.get(1)?,
                    device_id: r.get(2)?,
                    kind: r.get(3)?,
                    entity_id: r.get(4)?,
                    grid_id: r.get(5)?,
                    code: r.get(6)?,
                    reason: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn check_health(&self) -> AppResult<()> {
        self.read(|c| {
            c.query_row("SELECT count(*) FROM grids", [], |r| r.get::<_, i64>(0))?;
            Ok(())
        })
    }

    fn issue_receipt_block(
        &self,
        device: &DeviceAuth,
        request: &ReceiptBlockRequest,
        now_ms: i64,
    ) -> AppResult<ReceiptBlock> {
        self.write(|tx| receipts::issue_block(tx, device, request, now_ms))
    }

    fn receipt_blocks(&self, device_id: Option<&str>) -> AppResult<Vec<ReceiptBlockRow>> {
        self.read(|c| receipts::blocks(c, device_id))
    }

    fn verify_receipt(&self, receipt_no: &str, code: &str) -> AppResult<VerifyResponse> {
        self.read(|c| receipts::verify(c, receipt_no, code))
    }

    fn receipt_evidence(&self, receipt_no: &str) -> AppResult<Option<ReceiptEvidence>> {
        self.read(|c| receipts::evidence(c, receipt_no))
    }

    fn void_reviews(&self, status: Option<&str>, limit: u32) -> AppResult<Vec<VoidReviewRow>> {
        self.read(|c| receipts::void_reviews(c, status, limit))
    }

    fn decide_void(
        &self,
        void_id: &str,
        decision: VoidDecision,
        by: &str,
        note: &str,
        now_ms: i64,
    ) -> AppResult<VoidReviewRow> {
        let row = self.write(|tx| {
            let mut etx = SqliteTx::begin(tx, by, &[])?;
            receipts::decide_void(&mut etx, void_id, decision, by, note, now_ms)
        })?;
        tracing::info!(void = %void_id, by, decision = ?decision, "void decided");
        Ok(row)
    }

    fn audit_log(&self, subject: Option<&str>, limit: u32) -> AppResult<Vec<AuditRow>> {
        self.read(|c| receipts::audit_log(c, subject, limit))
    }

    fn staff_credentials(&self, manager_id: &str) -> AppResult<Option<(Role, String)>> {
        self.read(|c| receipts::staff_credentials(c, manager_id))
    }

    fn hand_over(&self, request: &HandoverRequest, by: &str, now_ms: i64) -> AppResult<HandoverRow> {
        handover::check_request(request)?;
        let id = self.write(|tx| handover::hand_over(tx, request, by, now_ms))?;
        self.read(|c| handover::list(c, Some(&id), 1))?.pop().ok_or_else(|| AppError::internal("the handover vanished"))
    }

    fn handovers(&self, limit: u32) -> AppResult<Vec<HandoverRow>> {
        self.read(|c| handover::list(c, None, limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridbook_core::testing;
    use gridbook_core::wire::DeviceFacts;

    #[test]
    fn a_log_that_grew_while_a_reader_held_it_is_cut_back_when_it_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let writer = open_connection(&path).unwrap();
        writer.execute_batch("CREATE TABLE load (blob BLOB); INSERT INTO load VALUES (zeroblob(10));").unwrap();
        let wal = || std::fs::metadata(path.with_extension("db-wal")).map(|m| m.len()).unwrap_or(0);
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

    fn schema_of(path: &Path) -> Vec<(String, String, Option<String>)> {
        let conn = Connection::open(path).unwrap();
        let mut stmt = conn.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn a_version_3_database_with_a_fact_in_ops_migrates_to_the_fresh_schema_and_still_knows_the_op() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("v3.db");
        let visit = testing::visit("g1", "h1");
        let op = testing::visit_op(testing::fields_of(&visit).unwrap(), Hlc::new(1_700_000_000_000, 0, "dev1"));
        {
            // a server of version 3 stored a pushed visit as an entity row and an ops row
            let conn = Connection::open(&old).unwrap();
            conn.execute_batch(&format!("{SCHEMA}{SCHEMA_V2}{SCHEMA_V3} PRAGMA user_version = 3;")).unwrap();
            conn.execute_batch(
                "INSERT INTO grids VALUES ('g1', 'g1', 1);
                 INSERT INTO managers VALUES ('zhang', '张伟', 'field', NULL, 1);
                 INSERT INTO manager_grids VALUES ('zhang', 'g1');
                 INSERT INTO devices (id, manager_id, token_hash, enrolled_at_ms) VALUES ('dev1', 'zhang', 'x', 1);",
            )
            .unwrap();
            conn.execute(
                "INSERT INTO entities (kind, id, grid_id, vals, base_hlc, seq, updated_at_ms) VALUES ('visit', ?1, 'g1', ?2, ?3, 1, 5)",
                params![op.entity, serde_json::to_string(&op.fields).unwrap(), op.hlc.to_string()],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO ops VALUES (?1, 'dev1', 'visit', ?2, 'g1', ?3, ?3, 5, 'applied', '')",
                params![op.id.to_string(), op.entity, op.hlc.to_string()],
            )
            .unwrap();
        }
        let storage = SqliteStorage::open(&old).unwrap();
        SqliteStorage::open(dir.path().join("fresh.db")).unwrap();
        assert_eq!(
            schema_of(&old),
            schema_of(&dir.path().join("fresh.db")),
            "a migrated database has the fresh schema"
        );

        let device = DeviceAuth {
            device_id: "dev1".into(),
            manager_id: "zhang".into(),
            role: Role::Field,
            grids: vec!["g1".into()],
        };
        let mut another =
            testing::visit_op(testing::fields_of(&visit).unwrap(), Hlc::new(1_700_000_000_001, 0, "dev1"));
        another.entity = "visit-2".into();
        let request = PushRequest {
            protocol: PROTOCOL_VERSION,
            facts: DeviceFacts::default(),
            ops: vec![op.clone(), another.clone()],
        };
        let answer = storage.push(&device, request, &Rules::default(), 1_700_000_100_000).unwrap();
        let outcomes: Vec<_> = answer.results.iter().map(|r| r.outcome.clone()).collect();
        assert_eq!(outcomes, [OpOutcome::AlreadyHad, OpOutcome::Applied], "the old op is known; a new fact is stored");
        let conn = Connection::open(&old).unwrap();
        let logged: Vec<(String, String, i64)> = conn
            .prepare("SELECT op_id, entity_id, received_at_ms FROM op_log ORDER BY entity_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut expected = vec![
            (op.id.to_string(), op.entity.clone(), 5),
            (another.id.to_string(), "visit-2".to_string(), 1_700_000_100_000),
        ];
        expected.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(logged, expected, "the op log lists the old op from ops and the new one from its fact's row");
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
        };
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
