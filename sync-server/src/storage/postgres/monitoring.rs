//! The back office's read-only queries on PostgreSQL: the conflict log, rejected ops, the health
//! check, staff accounts, and the dashboard's monitoring (`MonitoringStorage`) and field-workflow
//! (`WorkflowStorage`) queries — the SQLite backend's queries (sqlite/monitoring.rs,
//! sqlite/workflows.rs) in PostgreSQL's words, with the same answers: values are read out of the
//! stored JSON text as `jsonb`, text orders by byte (`COLLATE "C"`, SQLite's BINARY) and missing
//! values sort as SQLite sorts them (first when ascending).

use std::sync::Mutex;

use gridbook_core::model::{DaySummary, ReminderOutcome};
use gridbook_core::sync::wire::ErrorCode;

use super::pool::RowExt;
use super::PostgresStorage;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::monitoring::{
    ActivityBucket, FollowUpLine, GridDayTotal, ManagerTotal, MonitoringStorage, ReceiptLine, RejectionDetail,
    SyncTotals,
};
use crate::storage::staff::{Person, StaffAccount, StaffStorage};
use crate::storage::workflows::{
    appointment_category, reminder_outcome, AppointmentCounts, AppointmentLine, DaySummaryLine, TicketCounts,
    TicketLine, WorkflowStorage,
};
use crate::storage::{ConflictRow, ConflictSide, ListPage, RejectionRow};

fn rejection_detail(r: &tokio_postgres::Row) -> StorageResult<RejectionDetail> {
    Ok(RejectionDetail {
        at_ms: r.at(0)?,
        op_id: r.at(1)?,
        device_id: r.at(2)?,
        manager_id: r.at(3)?,
        manager_name: r.at(4)?,
        app_version: r.at(5)?,
        kind: r.at(6)?,
        entity_id: r.at(7)?,
        grid_id: r.at(8)?,
        code: r.at(9)?,
        reason: r.at(10)?,
    })
}

/// One page of the rows `from` (a `FROM … WHERE …` whose $1 is `page`'s grids, NULL for every
/// grid) selects: how many there are in all, and the page `select` reads in `order`, on one
/// snapshot; the scope part of the query so that a supervisor's page is a page of their rows.
pub(super) fn grid_page<T>(
    s: &PostgresStorage,
    page: &ListPage,
    select: &str,
    from: &str,
    order: &str,
    row: impl FnMut(&tokio_postgres::Row) -> StorageResult<T>,
) -> StorageResult<(u64, Vec<T>)> {
    let (limit, offset) = page.bounds();
    s.db.read(|tx| {
        let total: i64 = s.db.query_one(tx, &format!("SELECT count(*) {from}"), &[&page.grids])?.at(0)?;
        let rows = s.db.query(
            tx,
            &format!("SELECT {select} {from} ORDER BY {order} LIMIT $2 OFFSET $3"),
            &[&page.grids, &limit, &offset],
        )?;
        Ok((u64::try_from(total).unwrap_or(0), rows.iter().map(row).collect::<StorageResult<Vec<_>>>()?))
    })
}

pub(super) fn conflicts(s: &PostgresStorage, limit: u32) -> StorageResult<Vec<ConflictRow>> {
    let conn = s.db.conn()?;
    let rows = s.db.query(
        &conn,
        "SELECT at_ms, kind, entity_id, grid_id, field, old_value, new_value, old_hlc, new_hlc, old_device, new_device
         FROM conflicts ORDER BY id DESC LIMIT $1",
        &[&i64::from(limit)],
    )?;
    rows.iter().map(conflict_row).collect()
}

fn conflict_row(r: &tokio_postgres::Row) -> StorageResult<ConflictRow> {
    Ok(ConflictRow {
        at_ms: r.at(0)?,
        kind: r.at(1)?,
        entity_id: r.at(2)?,
        grid_id: r.at(3)?,
        field: r.at(4)?,
        old_value: r.at(5)?,
        new_value: r.at(6)?,
        old_hlc: r.at(7)?,
        new_hlc: r.at(8)?,
        old_device: r.at(9)?,
        new_device: r.at(10)?,
    })
}

/// One page of the conflict log of `page.grids`, and the count, on one snapshot.
pub(super) fn conflicts_page(
    s: &PostgresStorage,
    page: &ListPage,
    side: ConflictSide,
) -> StorageResult<(u64, Vec<ConflictRow>)> {
    const SELECT: &str =
        "at_ms, kind, entity_id, grid_id, field, old_value, new_value, old_hlc, new_hlc, old_device, new_device";
    let from = format!("FROM conflicts WHERE ($1::text[] IS NULL OR grid_id = ANY($1::text[])) AND {}", side.sql());
    grid_page(s, page, SELECT, &from, "id DESC", conflict_row)
}

pub(super) fn rejections(s: &PostgresStorage, limit: u32) -> StorageResult<Vec<RejectionRow>> {
    let conn = s.db.conn()?;
    let rows = s.db.query(
        &conn,
        "SELECT at_ms, op_id, device_id, kind, entity_id, grid_id, code, reason FROM rejections
         ORDER BY at_ms DESC, op_id COLLATE \"C\" DESC LIMIT $1",
        &[&i64::from(limit)],
    )?;
    rows.iter()
        .map(|r| {
            Ok(RejectionRow {
                at_ms: r.at(0)?,
                op_id: r.at(1)?,
                device_id: r.at(2)?,
                kind: r.at(3)?,
                entity_id: r.at(4)?,
                grid_id: r.at(5)?,
                code: r.at(6)?,
                reason: r.at(7)?,
            })
        })
        .collect()
}

pub(super) fn check_health(s: &PostgresStorage) -> StorageResult<()> {
    let conn = s.db.conn()?;
    s.db.query_one(&conn, "SELECT count(*) FROM grids", &[])?;
    // a failover or restore under this running server (a new timeline): it serves a generation
    // the database no longer has; unhealthy until restarted after `admin mark-restored`
    let here = super::restore::cluster_identity(&s.db, &conn)?;
    if here != s.cluster {
        return Err(super::restore::unmarked(&s.cluster, &here));
    }
    Ok(())
}

impl StaffStorage for PostgresStorage {
    fn staff_account(&self, id: &str) -> StorageResult<Option<StaffAccount>> {
        super::records::staff_account(self, id)
    }

    fn staff_grids(&self, id: &str) -> StorageResult<Vec<String>> {
        let conn = self.db.conn()?;
        super::devices::grids_of(self, &conn, id)
    }

    fn people(&self) -> StorageResult<Vec<Person>> {
        let conn = self.db.conn()?;
        let rows =
            self.db.query(&conn, "SELECT id, name, role, staff_no FROM managers ORDER BY id COLLATE \"C\"", &[])?;
        rows.iter().map(|r| Ok(Person { id: r.at(0)?, name: r.at(1)?, role: r.at(2)?, staff_no: r.at(3)? })).collect()
    }
}

/// A JSON number of `j` as a `numeric` (NULL when missing or not a number, as SQLite's
/// `json_extract` gives no integer then).
fn num(j: &str, key: &str) -> String {
    format!("(CASE WHEN jsonb_typeof({j} -> '{key}') = 'number' THEN ({j} ->> '{key}')::numeric END)")
}

/// A JSON integer of `j` as a `bigint` (NULL when missing, not a number, or beyond 64 bits).
pub(super) fn int(j: &str, key: &str) -> String {
    let n = num(j, key);
    format!("(CASE WHEN {n} BETWEEN -9223372036854775808 AND 9223372036854775807 THEN trunc({n})::bigint END)")
}

/// The day of a receipt on the collecting phone's calendar (its own zone offset, China's when
/// missing), as sqlite/monitoring.rs's `LOCAL_DAY`: seconds truncated toward zero, then the day.
fn local_day(j: &str) -> String {
    let (at, zone) = (int(j, "collected_at_ms"), int(j, "zone_offset_min"));
    format!("to_char(to_timestamp(div({at}, 1000) + coalesce({zone}, 480) * 60) AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
}

/// A receipt's amount when within core's `validate::MAX_FEN` (10^10 fen), else NULL (left out of
/// the sums, as on SQLite).
pub(super) fn bounded_amount(j: &str) -> String {
    let n = num(j, "amount_fen");
    format!("(CASE WHEN {n} BETWEEN -10000000000 AND 10000000000 THEN {n}::bigint END)")
}

/// The running totals of /metrics: how far the sums have got (a transaction id: every row written
/// below it is summed) and the sums.
#[derive(Default)]
pub(super) struct RunningTotals {
    upto_xact: i64,
    totals: SyncTotals,
}

pub(super) type Running = Mutex<RunningTotals>;

impl MonitoringStorage for PostgresStorage {
    fn activity(&self, since_ms: i64, bucket_ms: i64) -> StorageResult<Vec<ActivityBucket>> {
        if bucket_ms <= 0 {
            return Err(StorageError::Invalid { code: ErrorCode::BadQuery, message: "bucket must be positive".into() });
        }
        let conn = self.db.conn()?;
        let rows = self.db.query(
            &conn,
            "SELECT (at_ms - $1) / $2 AS b,
                    count(*) FILTER (WHERE direction = 'push'), count(*) FILTER (WHERE direction = 'pull'),
                    coalesce(sum(ops) FILTER (WHERE direction = 'push'), 0)::bigint,
                    coalesce(sum(ops) FILTER (WHERE direction = 'pull'), 0)::bigint,
                    sum(rejected)::bigint, count(DISTINCT device_id), max(duration_ms)
             FROM sync_events WHERE at_ms >= $1 GROUP BY b ORDER BY b",
            &[&since_ms, &bucket_ms],
        )?;
        rows.iter()
            .map(|r| {
                Ok(ActivityBucket {
                    start_ms: since_ms + r.at::<i64>(0)? * bucket_ms,
                    pushes: r.at(1)?,
                    pulls: r.at(2)?,
                    ops_pushed: r.at(3)?,
                    ops_pulled: r.at(4)?,
                    rejected: r.at(5)?,
                    devices: r.at(6)?,
                    max_duration_ms: r.at(7)?,
                })
            })
            .collect()
    }

    fn rejection_details(&self, limit: u32) -> StorageResult<Vec<RejectionDetail>> {
        let conn = self.db.conn()?;
        let rows = self.db.query(
            &conn,
            "SELECT r.at_ms, r.op_id, r.device_id, d.manager_id, m.name, d.app_version, r.kind, r.entity_id,
                    r.grid_id, r.code, r.reason
             FROM rejections r LEFT JOIN devices d ON d.id = r.device_id LEFT JOIN managers m ON m.id = d.manager_id
             ORDER BY r.at_ms DESC, r.op_id COLLATE \"C\" LIMIT $1",
            &[&i64::from(limit)],
        )?;
        rows.iter().map(rejection_detail).collect()
    }

    fn rejections_page(&self, page: &ListPage) -> StorageResult<(u64, Vec<RejectionDetail>)> {
        const FROM: &str =
            "FROM rejections r LEFT JOIN devices d ON d.id = r.device_id LEFT JOIN managers m ON m.id = d.manager_id
             WHERE $1::text[] IS NULL OR r.grid_id = ANY($1::text[]) OR d.manager_id = ANY($2::text[])";
        self.db.read(|tx| {
            let total: i64 =
                self.db.query_one(tx, &format!("SELECT count(*) {FROM}"), &[&page.grids, &page.managers])?.at(0)?;
            let rows = self.db.query(
                tx,
                &format!(
                    "SELECT r.at_ms, r.op_id, r.device_id, d.manager_id, m.name, d.app_version, r.kind, r.entity_id,
                            r.grid_id, r.code, r.reason {FROM}
                     ORDER BY r.at_ms DESC, r.op_id COLLATE \"C\" LIMIT $3 OFFSET $4"
                ),
                &[&page.grids, &page.managers, &i64::from(page.limit), &i64::from(page.offset)],
            )?;
            Ok((
                u64::try_from(total).unwrap_or(0),
                rows.iter().map(rejection_detail).collect::<StorageResult<Vec<_>>>()?,
            ))
        })
    }

    fn receipts_by_grid_day(&self, since_day: &str) -> StorageResult<Vec<GridDayTotal>> {
        // the grid a receipt was collected in, as recorded (after a handover it is served under
        // the household's new grid)
        let sql = format!(
            "SELECT e.grid, g.name, e.day, count(*), coalesce(sum(e.amount), 0)::bigint
             FROM (SELECT coalesce(j ->> 'grid_id', grid_id) AS grid, {day} AS day, {amount} AS amount
                   FROM (SELECT grid_id, vals::jsonb AS j FROM entities WHERE kind = 'receipt') r) e
             LEFT JOIN grids g ON g.id = e.grid
             WHERE e.day >= $1
             GROUP BY e.grid, g.name, e.day ORDER BY e.day COLLATE \"C\" DESC, e.grid COLLATE \"C\"",
            day = local_day("j"),
            amount = bounded_amount("j"),
        );
        let conn = self.db.conn()?;
        let rows = self.db.query(&conn, &sql, &[&since_day])?;
        rows.iter()
            .map(|r| {
                Ok(GridDayTotal {
                    grid_id: r.at(0)?,
                    grid_name: r.at(1)?,
                    day: r.at(2)?,
                    count: r.at(3)?,
                    amount_fen: r.at(4)?,
                })
            })
            .collect()
    }

    fn receipts_by_manager(&self, since_day: &str) -> StorageResult<Vec<ManagerTotal>> {
        let sql = format!(
            "SELECT e.who, m.name, count(*), coalesce(sum(e.amount), 0)::bigint AS total
             FROM (SELECT coalesce(j ->> 'collector_id', '') AS who, j ->> 'collector_id' AS collector, {day} AS day,
                          {amount} AS amount
                   FROM (SELECT vals::jsonb AS j FROM entities WHERE kind = 'receipt') r) e
             LEFT JOIN managers m ON m.id = e.collector
             WHERE e.day >= $1
             GROUP BY e.who, m.name ORDER BY total DESC, e.who COLLATE \"C\"",
            day = local_day("j"),
            amount = bounded_amount("j"),
        );
        let conn = self.db.conn()?;
        let rows = self.db.query(&conn, &sql, &[&since_day])?;
        rows.iter()
            .map(|r| {
                Ok(ManagerTotal {
                    collector_id: r.at(0)?,
                    manager_name: r.at(1)?,
                    count: r.at(2)?,
                    amount_fen: r.at(3)?,
                })
            })
            .collect()
    }

    fn receipts_page(&self, page: &ListPage) -> StorageResult<(u64, Vec<ReceiptLine>)> {
        let select = format!(
            "e.id, coalesce(e.j ->> 'receipt_no', ''), e.grid_id, coalesce({amount}, 0),
             coalesce(e.j ->> 'method', ''), coalesce({collected}, 0) AS collected, coalesce({zone}, 480),
             coalesce(e.j ->> 'collector_id', ''), (SELECT m.name FROM managers m WHERE m.id = e.j ->> 'collector_id'),
             coalesce(e.j ->> 'device_id', ''), e.j ->> 'signature_id',
             EXISTS (SELECT 1 FROM entities v WHERE v.kind = 'receipt_void' AND v.vals::jsonb ->> 'receipt_id' = e.id)",
            amount = int("e.j", "amount_fen"),
            collected = int("e.j", "collected_at_ms"),
            zone = int("e.j", "zone_offset_min"),
        );
        const FROM: &str = "FROM (SELECT id, grid_id, vals::jsonb AS j FROM entities WHERE kind = 'receipt'
                    AND ($1::text[] IS NULL OR grid_id = ANY($1::text[]))) e";
        let order = format!("{} DESC NULLS LAST, e.id COLLATE \"C\"", int("e.j", "collected_at_ms"));
        grid_page(self, page, &select, FROM, &order, |r| {
            let signature: Option<String> = r.at(10)?;
            let signed = signature.as_deref().is_some_and(|s| !s.is_empty());
            Ok(ReceiptLine {
                id: r.at(0)?,
                receipt_no: r.at(1)?,
                grid_id: r.at(2)?,
                amount_fen: r.at(3)?,
                method: r.at(4)?,
                collected_at_ms: r.at(5)?,
                zone_offset_min: r.at(6)?,
                collector_id: r.at(7)?,
                collector_name: r.at(8)?,
                device_id: r.at(9)?,
                signed,
                // before the signature is checked (`receipt_evidence`): as on SQLite
                verification: if signed { "unverified" } else { "unsigned" }.to_string(),
                verification_detail: None,
                void_requested: r.at(11)?,
                void_status: None,
            })
        })
    }

    fn overdue_follow_ups(&self, today: &str, page: &ListPage) -> StorageResult<(u64, Vec<FollowUpLine>)> {
        // $1 today, $2 the grids (NULL: every grid)
        const OVERDUE: &str = "FROM (SELECT id, grid_id, vals::jsonb AS j FROM entities WHERE kind = 'visit') v
             WHERE coalesce(v.j ->> 'follow_up_due', '') <> '' AND v.j ->> 'follow_up_due' < $1 COLLATE \"C\"
               AND ($2::text[] IS NULL OR v.grid_id = ANY($2::text[]))";
        let sql = format!(
            "SELECT v.id, v.grid_id, coalesce(v.j ->> 'household_id', ''),
                    (SELECT h.vals::jsonb ->> 'customer_name' FROM entities h
                      WHERE h.kind = 'household' AND h.id = v.j ->> 'household_id'),
                    coalesce(v.j ->> 'purpose', ''), coalesce(v.j ->> 'open_question', ''),
                    coalesce(v.j ->> 'follow_up', ''), v.j ->> 'follow_up_due' AS due,
                    coalesce({arrived}, 0) AS arrived, coalesce(v.j ->> 'manager_id', ''),
                    (SELECT m.name FROM managers m WHERE m.id = v.j ->> 'manager_id'),
                    (SELECT max({later}) FROM entities l
                      WHERE l.kind = 'visit' AND l.grid_id = v.grid_id
                        AND l.vals::jsonb ->> 'household_id' = v.j ->> 'household_id'
                        AND {later} > {arrived})
             {OVERDUE}
             ORDER BY (v.j ->> 'follow_up_due') COLLATE \"C\", coalesce({arrived}, 0), v.id COLLATE \"C\"
             LIMIT $3 OFFSET $4",
            arrived = int("v.j", "arrived_at_ms"),
            later = int("l.vals::jsonb", "arrived_at_ms"),
        );
        self.db.read(|tx| {
            let total: i64 =
                self.db.query_one(tx, &format!("SELECT count(*) {OVERDUE}"), &[&today, &page.grids])?.at(0)?;
            let rows =
                self.db.query(tx, &sql, &[&today, &page.grids, &i64::from(page.limit), &i64::from(page.offset)])?;
            let rows = rows
                .iter()
                .map(|r| {
                    Ok(FollowUpLine {
                        visit_id: r.at(0)?,
                        grid_id: r.at(1)?,
                        household_id: r.at(2)?,
                        customer_name: r.at(3)?,
                        purpose: r.at(4)?,
                        open_question: r.at(5)?,
                        follow_up: r.at(6)?,
                        follow_up_due: r.at(7)?,
                        arrived_at_ms: r.at(8)?,
                        manager_id: r.at(9)?,
                        manager_name: r.at(10)?,
                        later_visit_ms: r.at(11)?,
                    })
                })
                .collect::<StorageResult<Vec<_>>>()?;
            Ok((u64::try_from(total).unwrap_or(0), rows))
        })
    }

    fn totals(&self) -> StorageResult<SyncTotals> {
        // Sums only the transactions since the last scrape, and only those below the snapshot's
        // watermark (all ended): an event or conflict committed later by a transaction that
        // started earlier is summed by a later scrape, never skipped (migration 0002).
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let from = running.upto_xact;
        let (below, events, conflicts, rejections) = self.db.read(|tx| {
            let below: i64 =
                self.db.query_one(tx, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint", &[])?.at(0)?;
            let e = self.db.query_one(
                tx,
                "SELECT count(*) FILTER (WHERE direction = 'push'), count(*) FILTER (WHERE direction = 'pull'),
                        coalesce(sum(ops) FILTER (WHERE direction = 'push'), 0)::bigint,
                        coalesce(sum(ops) FILTER (WHERE direction = 'pull'), 0)::bigint,
                        coalesce(sum(rejected), 0)::bigint
                 FROM sync_events WHERE xact >= $1 AND xact < $2",
                &[&from, &below],
            )?;
            let events = [e.at::<i64>(0)?, e.at(1)?, e.at(2)?, e.at(3)?, e.at(4)?];
            let conflicts: i64 = self
                .db
                .query_one(tx, "SELECT count(*) FROM conflicts WHERE xact >= $1 AND xact < $2", &[&from, &below])?
                .at(0)?;
            let rejections: i64 = self.db.query_one(tx, "SELECT count(*) FROM rejections", &[])?.at(0)?;
            Ok((below, events, conflicts, rejections))
        })?;
        running.upto_xact = below.max(from);
        running.totals.pushes += events[0];
        running.totals.pulls += events[1];
        running.totals.ops_pushed += events[2];
        running.totals.ops_pulled += events[3];
        running.totals.ops_rejected += events[4];
        running.totals.conflicts += conflicts;
        running.totals.rejections_stored = rejections;
        Ok(running.totals)
    }
}

impl WorkflowStorage for PostgresStorage {
    fn tickets(&self, today: &str, page: &ListPage) -> StorageResult<(TicketCounts, Vec<TicketLine>)> {
        // $1 today, $2 the grids (NULL: every grid)
        let tickets = format!(
            "SELECT t.id, t.grid_id, t.j ->> 'household_id' AS household_id,
                    h.vals::jsonb ->> 'customer_name' AS customer_name,
                    coalesce(t.j ->> 'owner_manager_id', '') AS owner, m.name AS owner_name,
                    coalesce({taken}, 0) AS taken, coalesce(t.j ->> 'channel', '') AS channel,
                    coalesce(t.j ->> 'kind', '') AS kind, coalesce(t.j ->> 'text', '') AS text,
                    coalesce(t.j ->> 'promised_reply_by', '') AS promised,
                    coalesce(t.j ->> 'status', '') AS status, coalesce(t.j ->> 'escalated_to', '') AS escalated_to,
                    {closed} AS closed,
                    coalesce(t.j ->> 'status' IN ('open', 'escalated')
                             AND t.j ->> 'promised_reply_by' < $1 COLLATE \"C\", false) AS overdue
             FROM (SELECT id, grid_id, vals::jsonb AS j FROM entities WHERE kind = 'ticket') t
             LEFT JOIN entities h ON h.kind = 'household' AND h.id = t.j ->> 'household_id'
             LEFT JOIN managers m ON m.id = t.j ->> 'owner_manager_id'
             WHERE coalesce({deleted}, 0) = 0 AND ($2::text[] IS NULL OR t.grid_id = ANY($2::text[]))",
            taken = int("t.j", "taken_at_ms"),
            closed = int("t.j", "closed_at_ms"),
            deleted = deleted("t.j"),
        );
        self.db.read(|tx| {
            let counted = self.db.query_one(
                tx,
                &format!("SELECT count(*), count(*) FILTER (WHERE overdue) FROM ({tickets}) x"),
                &[&today, &page.grids],
            )?;
            let (total, overdue): (i64, i64) = (counted.at(0)?, counted.at(1)?);
            let counts =
                TicketCounts { total: u64::try_from(total).unwrap_or(0), overdue: u64::try_from(overdue).unwrap_or(0) };
            let rows = self.db.query(
                tx,
                &format!(
                    "SELECT id, grid_id, household_id, customer_name, owner, owner_name, taken, channel, kind, text,
                            promised, status, escalated_to, closed, overdue
                     FROM ({tickets}) x
                     ORDER BY overdue DESC, status IN ('open', 'escalated') DESC, status = 'replied' DESC,
                              promised COLLATE \"C\", taken, id COLLATE \"C\"
                     LIMIT $3 OFFSET $4"
                ),
                &[&today, &page.grids, &i64::from(page.limit), &i64::from(page.offset)],
            )?;
            let rows = rows
                .iter()
                .map(|r| {
                    Ok(TicketLine {
                        id: r.at(0)?,
                        grid_id: r.at(1)?,
                        household_id: r.at::<Option<String>>(2)?.filter(|h| !h.is_empty()),
                        customer_name: r.at(3)?,
                        owner_manager_id: r.at(4)?,
                        owner_name: r.at(5)?,
                        taken_at_ms: r.at(6)?,
                        channel: r.at(7)?,
                        kind: r.at(8)?,
                        text: r.at(9)?,
                        promised_reply_by: r.at(10)?,
                        status: r.at(11)?,
                        escalated_to: r.at(12)?,
                        closed_at_ms: r.at(13)?,
                        overdue: r.at(14)?,
                    })
                })
                .collect::<StorageResult<Vec<_>>>()?;
            Ok((counts, rows))
        })
    }

    fn appointments(
        &self,
        now_ms: i64,
        day_start_ms: i64,
        day_end_ms: i64,
        page: &ListPage,
    ) -> StorageResult<(AppointmentCounts, Vec<AppointmentLine>)> {
        // $1 the day's start, $2 its end, $3 the grids (NULL: every grid)
        let appointments = format!(
            "SELECT id, grid_id, household_id, customer_name, manager_id, manager_name, agreed, zone, purpose, status,
                    note, visit_id, live
             FROM (SELECT a.id, a.grid_id, coalesce(a.j ->> 'household_id', '') AS household_id,
                          h.vals::jsonb ->> 'customer_name' AS customer_name,
                          coalesce(a.j ->> 'manager_id', '') AS manager_id, m.name AS manager_name,
                          coalesce({agreed}, 0) AS agreed, coalesce({zone}, 480) AS zone,
                          coalesce(a.j ->> 'purpose', '') AS purpose, coalesce(a.j ->> 'status', '') AS status,
                          coalesce(a.j ->> 'note', '') AS note, a.j ->> 'visit_id' AS visit_id,
                          coalesce(a.j ->> 'status' NOT IN ('cancelled', 'done')
                                   AND coalesce(jsonb_typeof(a.j -> 'visit_id'), 'null') = 'null', false) AS live
                   FROM (SELECT id, grid_id, vals::jsonb AS j FROM entities WHERE kind = 'appointment') a
                   LEFT JOIN entities h ON h.kind = 'household' AND h.id = a.j ->> 'household_id'
                   LEFT JOIN managers m ON m.id = a.j ->> 'manager_id'
                   WHERE coalesce({deleted}, 0) = 0 AND ($3::text[] IS NULL OR a.grid_id = ANY($3::text[]))) x
             WHERE (agreed >= $1 AND agreed < $2) OR (live AND agreed < $1 AND agreed >= $1 - 30 * 86400000::bigint)",
            agreed = int("a.j", "agreed_at_ms"),
            zone = int("a.j", "zone_offset_min"),
            deleted = deleted("a.j"),
        );
        self.db.read(|tx| {
            // the categories are counted by the one rule (`appointment_category`) over two columns
            let mut counts = AppointmentCounts::default();
            let all = self.db.query(
                tx,
                &format!("SELECT live, agreed FROM ({appointments}) y"),
                &[&day_start_ms, &day_end_ms, &page.grids],
            )?;
            for r in &all {
                counts.count(r.at(0)?, r.at(1)?, day_start_ms, now_ms);
            }
            let rows = self.db.query(
                tx,
                &format!("{appointments} ORDER BY agreed < $1 DESC, agreed, id COLLATE \"C\" LIMIT $4 OFFSET $5"),
                &[&day_start_ms, &day_end_ms, &page.grids, &i64::from(page.limit), &i64::from(page.offset)],
            )?;
            let rows = rows
                .iter()
                .map(|r| {
                    let agreed: i64 = r.at(6)?;
                    let live: bool = r.at(12)?;
                    let category = appointment_category(live, agreed, day_start_ms, now_ms);
                    Ok(AppointmentLine {
                        id: r.at(0)?,
                        grid_id: r.at(1)?,
                        household_id: r.at(2)?,
                        customer_name: r.at(3)?,
                        manager_id: r.at(4)?,
                        manager_name: r.at(5)?,
                        agreed_at_ms: agreed,
                        zone_offset_min: r.at(7)?,
                        purpose: r.at(8)?,
                        status: r.at(9)?,
                        note: r.at(10)?,
                        visit_id: r.at(11)?,
                        category: category.into(),
                    })
                })
                .collect::<StorageResult<Vec<_>>>()?;
            Ok((counts, rows))
        })
    }

    fn day_summaries(&self, since_day: &str, page: &ListPage) -> StorageResult<(u64, Vec<DaySummaryLine>)> {
        // $1 the first day, $2 the grids (NULL: every grid)
        const SCOPED: &str = "(SELECT id, vals, vals::jsonb AS j FROM entities WHERE kind = 'day_summary'
                    AND ($2::text[] IS NULL OR grid_id = ANY($2::text[]))) s";
        const SINCE: &str = "WHERE s.j ->> 'date' >= $1 COLLATE \"C\"";
        let sql = format!(
            "SELECT s.id, s.vals, m.name FROM {SCOPED} LEFT JOIN managers m ON m.id = s.j ->> 'manager_id' {SINCE}
             ORDER BY s.j ->> 'date' COLLATE \"C\" DESC, m.name COLLATE \"C\" NULLS FIRST,
                      s.j ->> 'manager_id' COLLATE \"C\" NULLS FIRST, {made} DESC NULLS LAST, s.id COLLATE \"C\"
             LIMIT $3 OFFSET $4",
            made = num("s.j", "made_at_ms"),
        );
        let (limit, offset) = page.bounds();
        self.db.read(|tx| {
            let total: i64 = self
                .db
                .query_one(tx, &format!("SELECT count(*) FROM {SCOPED} {SINCE}"), &[&since_day, &page.grids])?
                .at(0)?;
            let rows = self.db.query(tx, &sql, &[&since_day, &page.grids, &limit, &offset])?;
            let lines = rows
                .iter()
                .map(|r| {
                    let mut summary: DaySummary = serde_json::from_str(&r.at::<String>(1)?)?;
                    summary.id = r.at(0)?;
                    Ok(DaySummaryLine { summary, manager_name: r.at(2)? })
                })
                .collect::<StorageResult<Vec<_>>>()?;
            Ok((u64::try_from(total).unwrap_or(0), lines))
        })
    }

    fn reminder_outcomes(&self, page: &ListPage) -> StorageResult<(u64, Vec<ReminderOutcome>)> {
        const FROM: &str = "FROM entities o WHERE o.kind = 'reminder_outcome'
               AND ($1::text[] IS NULL OR o.grid_id = ANY($1::text[]))";
        let order = format!("{} DESC NULLS LAST, o.id COLLATE \"C\" DESC", num("o.vals::jsonb", "closed_at_ms"));
        let (total, rows) =
            grid_page(self, page, "o.id, o.vals", FROM, &order, |r| Ok((r.at::<String>(0)?, r.at::<String>(1)?)))?;
        Ok((total, rows.into_iter().filter_map(|(id, vals)| reminder_outcome(id, &vals)).collect()))
    }
}

/// A record's `deleted` flag as SQLite's `json_extract` reads it (true is 1, false is 0).
fn deleted(j: &str) -> String {
    format!(
        "(CASE jsonb_typeof({j} -> 'deleted') WHEN 'boolean' THEN ({j} ->> 'deleted')::boolean::int
              WHEN 'number' THEN sign(({j} ->> 'deleted')::numeric)::int END)"
    )
}
