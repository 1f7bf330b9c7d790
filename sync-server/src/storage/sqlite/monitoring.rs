//! The back office's read-only queries on SQLite (storage/monitoring.rs, staff.rs): staff logins,
//! sync activity, rejections with who sent them, money collected, voids, overdue follow-ups, the
//! running totals behind /metrics, the conflict log and the health check. They read the file
//! through their own read-only connections (`MonitorReaders`), so nothing here can take the
//! writer's lock.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use gridbook_core::sync::wire::ErrorCode;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::SqliteStorage;
use crate::domain::auth::Role;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::monitoring::{
    ActivityBucket, FollowUpLine, GridDayTotal, ManagerTotal, MonitoringStorage, ReceiptLine, RejectionDetail,
    SyncTotals,
};
use crate::storage::staff::{Person, StaffAccount, StaffStorage};
use crate::storage::{ConflictRow, ConflictSide, ListPage, RejectionRow};

/// The day of a receipt on the collecting phone's calendar (its own zone offset, China's when
/// missing).
const LOCAL_DAY: &str = "date(json_extract(vals, '$.collected_at_ms') / 1000
    + coalesce(json_extract(vals, '$.zone_offset_min'), 480) * 60, 'unixepoch')";

/// A receipt's amount when it is within core's `validate::MAX_FEN` (10^10 fen), else NULL: a
/// receipt stored before money was bounded is left out of the sums instead of overflowing them
/// (SQLite's sum fails with "integer overflow", which answered 500 to every page).
const BOUNDED_AMOUNT: &str = "CASE WHEN json_extract(e.vals, '$.amount_fen') BETWEEN -10000000000 AND 10000000000
     THEN json_extract(e.vals, '$.amount_fen') END";
/// The grid a receipt was collected in, as recorded: after a handover the receipt is served
/// under the household's new grid, but the money was collected where it was collected.
const RECORDED_GRID: &str = "coalesce(json_extract(e.vals, '$.grid_id'), e.grid_id)";

/// The monitoring queries' own read-only connections (`query_only`: nothing here can take the
/// writer's lock or write by mistake), and the running totals of /metrics.
pub(super) struct MonitorReaders {
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    /// (last sync_events id summed, sums so far); (last conflicts id, count so far)
    running: Mutex<RunningTotals>,
}

#[derive(Default)]
struct RunningTotals {
    events_upto: i64,
    conflicts_upto: i64,
    totals: SyncTotals,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MonitorReaders {
    pub(super) fn new(path: impl AsRef<Path>) -> Self {
        Self {
            path: path.as_ref().to_path_buf(),
            readers: Mutex::new(Vec::new()),
            running: Mutex::new(RunningTotals::default()),
        }
    }

    pub(super) fn read<T>(&self, f: impl FnOnce(&Connection) -> StorageResult<T>) -> StorageResult<T> {
        let conn = match lock(&self.readers).pop() {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
                )?;
                c.busy_timeout(std::time::Duration::from_secs(5))?;
                c.pragma_update(None, "query_only", "ON")?;
                c
            }
        };
        let out = f(&conn);
        let mut pool = lock(&self.readers);
        if pool.len() < 4 {
            pool.push(conn);
        }
        out
    }
}

/// One page of the rows `from` (a `FROM … WHERE …` whose ?1 is `page`'s grids as JSON, NULL for
/// every grid) selects: how many there are in all, and the page `select` reads in `order`, the
/// scope part of the query so that a supervisor's page is a page of their rows.
pub(super) fn grid_page<T>(
    c: &Connection,
    page: &ListPage,
    select: &str,
    from: &str,
    order: &str,
    row: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
) -> StorageResult<(u64, Vec<T>)> {
    let grids = page.grids_json();
    let total: i64 = c.prepare_cached(&format!("SELECT count(*) {from}"))?.query_row(params![grids], |r| r.get(0))?;
    let mut stmt = c.prepare_cached(&format!("SELECT {select} {from} ORDER BY {order} LIMIT ?2 OFFSET ?3"))?;
    let rows = stmt.query_map(params![grids, page.limit, page.offset], row)?;
    Ok((u64::try_from(total).unwrap_or(0), rows.collect::<Result<_, _>>()?))
}

/// Before the signature is checked (`SyncStorage::receipt_evidence`, issue 4): a receipt without
/// one is unsigned, one with one is not verified yet.
fn verification_of(signature_id: Option<&str>) -> &'static str {
    if signature_id.is_some_and(|s| !s.is_empty()) {
        "unverified"
    } else {
        "unsigned"
    }
}

impl MonitoringStorage for SqliteStorage {
    fn activity(&self, since_ms: i64, bucket_ms: i64) -> StorageResult<Vec<ActivityBucket>> {
        if bucket_ms <= 0 {
            return Err(StorageError::Invalid { code: ErrorCode::BadQuery, message: "bucket must be positive".into() });
        }
        self.monitor.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT (at_ms - ?1) / ?2 AS b,
                        sum(direction = 'push'), sum(direction = 'pull'),
                        sum(CASE WHEN direction = 'push' THEN ops ELSE 0 END),
                        sum(CASE WHEN direction = 'pull' THEN ops ELSE 0 END),
                        sum(rejected), count(DISTINCT device_id), max(duration_ms)
                 FROM sync_events WHERE at_ms >= ?1 GROUP BY b ORDER BY b",
            )?;
            let rows = stmt.query_map(params![since_ms, bucket_ms], |r| {
                Ok(ActivityBucket {
                    start_ms: since_ms + r.get::<_, i64>(0)? * bucket_ms,
                    pushes: r.get(1)?,
                    pulls: r.get(2)?,
                    ops_pushed: r.get(3)?,
                    ops_pulled: r.get(4)?,
                    rejected: r.get(5)?,
                    devices: r.get(6)?,
                    max_duration_ms: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn rejection_details(&self, limit: u32) -> StorageResult<Vec<RejectionDetail>> {
        self.monitor.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT r.at_ms, r.op_id, r.device_id, d.manager_id, m.name, d.app_version, r.kind, r.entity_id,
                        r.grid_id, r.code, r.reason
                 FROM rejections r LEFT JOIN devices d ON d.id = r.device_id LEFT JOIN managers m ON m.id = d.manager_id
                 ORDER BY r.at_ms DESC, r.op_id LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], rejection_detail)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn rejections_page(&self, page: &ListPage) -> StorageResult<(u64, Vec<RejectionDetail>)> {
        const FROM: &str =
            "FROM rejections r LEFT JOIN devices d ON d.id = r.device_id LEFT JOIN managers m ON m.id = d.manager_id
             WHERE ?1 IS NULL OR r.grid_id IN (SELECT value FROM json_each(?1))
                OR d.manager_id IN (SELECT value FROM json_each(?2))";
        let (grids, managers) = (page.grids_json(), page.managers_json());
        self.monitor.read(|c| {
            let total: i64 = c
                .prepare_cached(&format!("SELECT count(*) {FROM}"))?
                .query_row(params![grids, managers], |r| r.get(0))?;
            let mut stmt = c.prepare_cached(&format!(
                "SELECT r.at_ms, r.op_id, r.device_id, d.manager_id, m.name, d.app_version, r.kind, r.entity_id,
                        r.grid_id, r.code, r.reason {FROM}
                 ORDER BY r.at_ms DESC, r.op_id LIMIT ?3 OFFSET ?4"
            ))?;
            let rows = stmt.query_map(params![grids, managers, page.limit, page.offset], rejection_detail)?;
            Ok((u64::try_from(total).unwrap_or(0), rows.collect::<Result<_, _>>()?))
        })
    }

    fn receipts_by_grid_day(&self, since_day: &str) -> StorageResult<Vec<GridDayTotal>> {
        self.monitor.read(|c| {
            let sql = format!(
                "SELECT {RECORDED_GRID} AS grid, g.name, {LOCAL_DAY} AS day, count(*), coalesce(sum({BOUNDED_AMOUNT}), 0)
                 FROM entities e LEFT JOIN grids g ON g.id = {RECORDED_GRID}
                 WHERE e.kind = 'receipt' AND {LOCAL_DAY} >= ?1
                 GROUP BY grid, day ORDER BY day DESC, grid"
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map([since_day], |r| {
                Ok(GridDayTotal { grid_id: r.get(0)?, grid_name: r.get(1)?, day: r.get(2)?, count: r.get(3)?, amount_fen: r.get(4)? })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn receipts_by_manager(&self, since_day: &str) -> StorageResult<Vec<ManagerTotal>> {
        self.monitor.read(|c| {
            let sql = format!(
                "SELECT coalesce(json_extract(e.vals, '$.collector_id'), '') AS who, m.name, count(*),
                        coalesce(sum({BOUNDED_AMOUNT}), 0) AS total
                 FROM entities e LEFT JOIN managers m ON m.id = json_extract(e.vals, '$.collector_id')
                 WHERE e.kind = 'receipt' AND {LOCAL_DAY} >= ?1
                 GROUP BY who ORDER BY total DESC, who"
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map([since_day], |r| {
                Ok(ManagerTotal {
                    collector_id: r.get(0)?,
                    manager_name: r.get(1)?,
                    count: r.get(2)?,
                    amount_fen: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn receipts_page(&self, page: &ListPage) -> StorageResult<(u64, Vec<ReceiptLine>)> {
        const SELECT: &str = "e.id, coalesce(json_extract(e.vals, '$.receipt_no'), ''), e.grid_id,
                coalesce(json_extract(e.vals, '$.amount_fen'), 0), coalesce(json_extract(e.vals, '$.method'), ''),
                coalesce(json_extract(e.vals, '$.collected_at_ms'), 0), coalesce(json_extract(e.vals, '$.zone_offset_min'), 480),
                coalesce(json_extract(e.vals, '$.collector_id'), ''),
                (SELECT m.name FROM managers m WHERE m.id = json_extract(e.vals, '$.collector_id')),
                coalesce(json_extract(e.vals, '$.device_id'), ''), json_extract(e.vals, '$.signature_id'),
                EXISTS (SELECT 1 FROM entities v WHERE v.kind = 'receipt_void' AND json_extract(v.vals, '$.receipt_id') = e.id)";
        const FROM: &str = "FROM entities e WHERE e.kind = 'receipt'
               AND (?1 IS NULL OR e.grid_id IN (SELECT value FROM json_each(?1)))";
        const ORDER: &str = "json_extract(e.vals, '$.collected_at_ms') DESC, e.id";
        self.monitor.read(|c| {
            grid_page(c, page, SELECT, FROM, ORDER, |r| {
                let signature: Option<String> = r.get(10)?;
                Ok(ReceiptLine {
                    id: r.get(0)?,
                    receipt_no: r.get(1)?,
                    grid_id: r.get(2)?,
                    amount_fen: r.get(3)?,
                    method: r.get(4)?,
                    collected_at_ms: r.get(5)?,
                    zone_offset_min: r.get(6)?,
                    collector_id: r.get(7)?,
                    collector_name: r.get(8)?,
                    device_id: r.get(9)?,
                    signed: signature.as_deref().is_some_and(|s| !s.is_empty()),
                    verification: verification_of(signature.as_deref()).to_string(),
                    verification_detail: None,
                    void_requested: r.get(11)?,
                    void_status: None,
                })
            })
        })
    }

    fn overdue_follow_ups(&self, today: &str, page: &ListPage) -> StorageResult<(u64, Vec<FollowUpLine>)> {
        // ?1 today, ?2 the grids (NULL: every grid)
        const OVERDUE: &str = "FROM entities v
             WHERE v.kind = 'visit' AND coalesce(json_extract(v.vals, '$.follow_up_due'), '') <> ''
               AND json_extract(v.vals, '$.follow_up_due') < ?1
               AND (?2 IS NULL OR v.grid_id IN (SELECT value FROM json_each(?2)))";
        let grids = page.grids_json();
        self.monitor.read(|c| {
            let total: i64 = c
                .prepare_cached(&format!("SELECT count(*) {OVERDUE}"))?
                .query_row(params![today, grids], |r| r.get(0))?;
            let mut stmt = c.prepare_cached(&format!(
                "SELECT v.id, v.grid_id, coalesce(json_extract(v.vals, '$.household_id'), '') AS hh,
                        (SELECT json_extract(h.vals, '$.customer_name') FROM entities h
                          WHERE h.kind = 'household' AND h.id = json_extract(v.vals, '$.household_id')),
                        coalesce(json_extract(v.vals, '$.purpose'), ''),
                        coalesce(json_extract(v.vals, '$.open_question'), ''), coalesce(json_extract(v.vals, '$.follow_up'), ''),
                        json_extract(v.vals, '$.follow_up_due') AS due, coalesce(json_extract(v.vals, '$.arrived_at_ms'), 0) AS arrived,
                        coalesce(json_extract(v.vals, '$.manager_id'), ''),
                        (SELECT m.name FROM managers m WHERE m.id = json_extract(v.vals, '$.manager_id')),
                        (SELECT max(json_extract(l.vals, '$.arrived_at_ms')) FROM entities l
                          WHERE l.kind = 'visit' AND l.grid_id = v.grid_id
                            AND json_extract(l.vals, '$.household_id') = json_extract(v.vals, '$.household_id')
                            AND json_extract(l.vals, '$.arrived_at_ms') > json_extract(v.vals, '$.arrived_at_ms'))
                 {OVERDUE}
                 ORDER BY due, arrived, v.id LIMIT ?3 OFFSET ?4"
            ))?;
            let rows = stmt.query_map(params![today, grids, page.limit, page.offset], |r| {
                Ok(FollowUpLine {
                    visit_id: r.get(0)?,
                    grid_id: r.get(1)?,
                    household_id: r.get(2)?,
                    customer_name: r.get(3)?,
                    purpose: r.get(4)?,
                    open_question: r.get(5)?,
                    follow_up: r.get(6)?,
                    follow_up_due: r.get(7)?,
                    arrived_at_ms: r.get(8)?,
                    manager_id: r.get(9)?,
                    manager_name: r.get(10)?,
                    later_visit_ms: r.get(11)?,
                })
            })?;
            Ok((u64::try_from(total).unwrap_or(0), rows.collect::<Result<_, _>>()?))
        })
    }

    fn totals(&self) -> StorageResult<SyncTotals> {
        // Sums only the rows added since the last scrape: both tables are append-only with an
        // integer key, so each scrape is an index range, however long the history.
        let mut running = lock(&self.monitor.running);
        let (events_upto, conflicts_upto) = (running.events_upto, running.conflicts_upto);
        let (events, conflicts, rejections) = self.monitor.read(|c| {
            let events = c
                .prepare_cached(
                    "SELECT coalesce(max(id), ?1), coalesce(sum(direction = 'push'), 0), coalesce(sum(direction = 'pull'), 0),
                            coalesce(sum(CASE WHEN direction = 'push' THEN ops ELSE 0 END), 0),
                            coalesce(sum(CASE WHEN direction = 'pull' THEN ops ELSE 0 END), 0), coalesce(sum(rejected), 0)
                     FROM sync_events WHERE id > ?1",
                )?
                .query_row([events_upto], |r| {
                    Ok([r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?])
                })?;
            let conflicts = c
                .prepare_cached("SELECT coalesce(max(id), ?1), count(*) FROM conflicts WHERE id > ?1")?
                .query_row([conflicts_upto], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
            let rejections: i64 = c.prepare_cached("SELECT count(*) FROM rejections")?.query_row([], |r| r.get(0))?;
            Ok((events, conflicts, rejections))
        })?;
        running.events_upto = events[0];
        running.totals.pushes += events[1];
        running.totals.pulls += events[2];
        running.totals.ops_pushed += events[3];
        running.totals.ops_pulled += events[4];
        running.totals.ops_rejected += events[5];
        running.conflicts_upto = conflicts.0;
        running.totals.conflicts += conflicts.1;
        running.totals.rejections_stored = rejections;
        Ok(running.totals)
    }
}

impl StaffStorage for SqliteStorage {
    fn staff_account(&self, id: &str) -> StorageResult<Option<StaffAccount>> {
        self.monitor.read(|c| {
            let row = c
                .prepare_cached("SELECT id, name, role, password_hash FROM managers WHERE id = ?1")?
                .query_row([id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get(3)?))
                })
                .optional()?;
            match row {
                None => Ok(None),
                Some((id, name, role, password_hash)) => {
                    let role =
                        Role::parse(&role).ok_or_else(|| StorageError::internal(format!("unknown role {role}")))?;
                    Ok(Some(StaffAccount { id, name, role, password_hash }))
                }
            }
        })
    }

    fn staff_grids(&self, id: &str) -> StorageResult<Vec<String>> {
        self.monitor.read(|c| super::devices::grids_of(c, id))
    }

    fn people(&self) -> StorageResult<Vec<Person>> {
        self.monitor.read(|c| {
            let mut stmt = c.prepare_cached("SELECT id, name, role, staff_no FROM managers ORDER BY id")?;
            let rows = stmt.query_map([], |r| {
                Ok(Person { id: r.get(0)?, name: r.get(1)?, role: r.get(2)?, staff_no: r.get(3)? })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }
}

fn rejection_detail(r: &rusqlite::Row) -> rusqlite::Result<RejectionDetail> {
    Ok(RejectionDetail {
        at_ms: r.get(0)?,
        op_id: r.get(1)?,
        device_id: r.get(2)?,
        manager_id: r.get(3)?,
        manager_name: r.get(4)?,
        app_version: r.get(5)?,
        kind: r.get(6)?,
        entity_id: r.get(7)?,
        grid_id: r.get(8)?,
        code: r.get(9)?,
        reason: r.get(10)?,
    })
}

pub(super) fn conflicts(storage: &SqliteStorage, limit: u32) -> StorageResult<Vec<ConflictRow>> {
    storage.read(|c| {
        let mut stmt = c.prepare_cached(
            "SELECT at_ms, kind, entity_id, grid_id, field, old_value, new_value, old_hlc, new_hlc, old_device, new_device
             FROM conflicts ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], conflict_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    })
}

fn conflict_row(r: &rusqlite::Row) -> rusqlite::Result<ConflictRow> {
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
}

pub(super) fn conflicts_page(
    storage: &SqliteStorage,
    page: &ListPage,
    side: ConflictSide,
) -> StorageResult<(u64, Vec<ConflictRow>)> {
    const SELECT: &str =
        "at_ms, kind, entity_id, grid_id, field, old_value, new_value, old_hlc, new_hlc, old_device, new_device";
    let from =
        format!("FROM conflicts WHERE (?1 IS NULL OR grid_id IN (SELECT value FROM json_each(?1))) AND {}", side.sql());
    storage.read(|c| grid_page(c, page, SELECT, &from, "id DESC", conflict_row))
}

pub(super) fn rejections(storage: &SqliteStorage, limit: u32) -> StorageResult<Vec<RejectionRow>> {
    storage.read(|c| {
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

pub(super) fn check_health(storage: &SqliteStorage) -> StorageResult<()> {
    storage.read(|c| {
        c.query_row("SELECT count(*) FROM grids", [], |r| r.get::<_, i64>(0))?;
        Ok(())
    })
}
