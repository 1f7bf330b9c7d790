//! The field-workflow queries of the back office on SQLite (storage/workflows.rs): first-ask
//! tickets with the overdue ones first, the day's, late and missed appointments (a page at a time
//! with the counts of all that match), and the submitted day summaries, read through the
//! monitoring connections (monitoring.rs).

use gridbook_core::model::{DaySummary, ReminderOutcome};
use rusqlite::params;

use super::monitoring::grid_page;
use super::SqliteStorage;
use crate::storage::error::StorageResult;
use crate::storage::workflows::reminder_outcome;
use crate::storage::workflows::{
    appointment_category, AppointmentCounts, AppointmentLine, DaySummaryLine, TicketCounts, TicketLine, WorkflowStorage,
};
use crate::storage::ListPage;

impl WorkflowStorage for SqliteStorage {
    fn tickets(&self, today: &str, page: &ListPage) -> StorageResult<(TicketCounts, Vec<TicketLine>)> {
        // ?1 today, ?2 the grids (NULL: every grid)
        const TICKETS: &str = "SELECT t.id, t.grid_id, json_extract(t.vals, '$.household_id'), json_extract(h.vals, '$.customer_name'),
                    coalesce(json_extract(t.vals, '$.owner_manager_id'), ''), m.name,
                    coalesce(json_extract(t.vals, '$.taken_at_ms'), 0) AS taken, coalesce(json_extract(t.vals, '$.channel'), ''),
                    coalesce(json_extract(t.vals, '$.kind'), ''), coalesce(json_extract(t.vals, '$.text'), ''),
                    coalesce(json_extract(t.vals, '$.promised_reply_by'), '') AS promised,
                    coalesce(json_extract(t.vals, '$.status'), '') AS status,
                    coalesce(json_extract(t.vals, '$.escalated_to'), ''), json_extract(t.vals, '$.closed_at_ms'),
                    coalesce(json_extract(t.vals, '$.status') IN ('open', 'escalated') AND json_extract(t.vals, '$.promised_reply_by') < ?1, 0) AS overdue
             FROM entities t
             LEFT JOIN entities h ON h.kind = 'household' AND h.id = json_extract(t.vals, '$.household_id')
             LEFT JOIN managers m ON m.id = json_extract(t.vals, '$.owner_manager_id')
             WHERE t.kind = 'ticket' AND coalesce(json_extract(t.vals, '$.deleted'), 0) = 0
               AND (?2 IS NULL OR t.grid_id IN (SELECT value FROM json_each(?2)))";
        let grids = page.grids_json();
        self.monitor.read(|c| {
            let (total, overdue): (i64, i64) = c
                .prepare_cached(&format!("SELECT count(*), coalesce(sum(overdue), 0) FROM ({TICKETS})"))?
                .query_row(params![today, grids], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let counts = TicketCounts { total: u64::try_from(total).unwrap_or(0), overdue: u64::try_from(overdue).unwrap_or(0) };
            let mut stmt = c.prepare_cached(&format!(
                "{TICKETS} ORDER BY overdue DESC, status IN ('open', 'escalated') DESC, status = 'replied' DESC, promised, taken, t.id
                 LIMIT ?3 OFFSET ?4"
            ))?;
            let rows = stmt.query_map(params![today, grids, page.limit, page.offset], |r| {
                Ok(TicketLine {
                    id: r.get(0)?,
                    grid_id: r.get(1)?,
                    household_id: r.get::<_, Option<String>>(2)?.filter(|h| !h.is_empty()),
                    customer_name: r.get(3)?,
                    owner_manager_id: r.get(4)?,
                    owner_name: r.get(5)?,
                    taken_at_ms: r.get(6)?,
                    channel: r.get(7)?,
                    kind: r.get(8)?,
                    text: r.get(9)?,
                    promised_reply_by: r.get(10)?,
                    status: r.get(11)?,
                    escalated_to: r.get(12)?,
                    closed_at_ms: r.get(13)?,
                    overdue: r.get(14)?,
                })
            })?;
            Ok((counts, rows.collect::<Result<_, _>>()?))
        })
    }

    fn appointments(
        &self,
        now_ms: i64,
        day_start_ms: i64,
        day_end_ms: i64,
        page: &ListPage,
    ) -> StorageResult<(AppointmentCounts, Vec<AppointmentLine>)> {
        // ?1 the day's start, ?2 its end, ?3 the grids (NULL: every grid)
        const APPOINTMENTS: &str = "SELECT a.id, a.grid_id, coalesce(json_extract(a.vals, '$.household_id'), ''), json_extract(h.vals, '$.customer_name'),
                    coalesce(json_extract(a.vals, '$.manager_id'), ''), m.name,
                    coalesce(json_extract(a.vals, '$.agreed_at_ms'), 0) AS agreed, coalesce(json_extract(a.vals, '$.zone_offset_min'), 480),
                    coalesce(json_extract(a.vals, '$.purpose'), ''), coalesce(json_extract(a.vals, '$.status'), ''),
                    coalesce(json_extract(a.vals, '$.note'), ''), json_extract(a.vals, '$.visit_id'),
                    coalesce(json_extract(a.vals, '$.status') NOT IN ('cancelled', 'done') AND json_extract(a.vals, '$.visit_id') IS NULL, 0) AS live
             FROM entities a
             LEFT JOIN entities h ON h.kind = 'household' AND h.id = json_extract(a.vals, '$.household_id')
             LEFT JOIN managers m ON m.id = json_extract(a.vals, '$.manager_id')
             WHERE a.kind = 'appointment' AND coalesce(json_extract(a.vals, '$.deleted'), 0) = 0
               AND ((agreed >= ?1 AND agreed < ?2) OR (live AND agreed < ?1 AND agreed >= ?1 - 30 * 86400000))
               AND (?3 IS NULL OR a.grid_id IN (SELECT value FROM json_each(?3)))";
        let grids = page.grids_json();
        self.monitor.read(|c| {
            // the categories are counted by the one rule (`appointment_category`) over two columns
            let mut counts = AppointmentCounts::default();
            let mut all = c.prepare_cached(&format!("SELECT live, agreed FROM ({APPOINTMENTS})"))?;
            let mut found = all.query(params![day_start_ms, day_end_ms, grids])?;
            while let Some(r) = found.next()? {
                counts.count(r.get(0)?, r.get(1)?, day_start_ms, now_ms);
            }
            let mut stmt = c.prepare_cached(&format!(
                "{APPOINTMENTS} ORDER BY agreed < ?1 DESC, agreed, a.id LIMIT ?4 OFFSET ?5"
            ))?;
            let rows = stmt.query_map(params![day_start_ms, day_end_ms, grids, page.limit, page.offset], |r| {
                let agreed: i64 = r.get(6)?;
                let live: bool = r.get(12)?;
                let category = appointment_category(live, agreed, day_start_ms, now_ms);
                Ok(AppointmentLine {
                    id: r.get(0)?,
                    grid_id: r.get(1)?,
                    household_id: r.get(2)?,
                    customer_name: r.get(3)?,
                    manager_id: r.get(4)?,
                    manager_name: r.get(5)?,
                    agreed_at_ms: agreed,
                    zone_offset_min: r.get(7)?,
                    purpose: r.get(8)?,
                    status: r.get(9)?,
                    note: r.get(10)?,
                    visit_id: r.get(11)?,
                    category: category.into(),
                })
            })?;
            Ok((counts, rows.collect::<Result<_, _>>()?))
        })
    }

    fn day_summaries(&self, since_day: &str, page: &ListPage) -> StorageResult<(u64, Vec<DaySummaryLine>)> {
        // ?1 the first day, ?2 the grids (NULL: every grid)
        const FROM: &str = "FROM entities s WHERE s.kind = 'day_summary' AND json_extract(s.vals, '$.date') >= ?1
               AND (?2 IS NULL OR s.grid_id IN (SELECT value FROM json_each(?2)))";
        let grids = page.grids_json();
        self.monitor.read(|c| {
            let total: i64 = c
                .prepare_cached(&format!("SELECT count(*) {FROM}"))?
                .query_row(params![since_day, grids], |r| r.get(0))?;
            let mut stmt = c.prepare_cached(&format!(
                "SELECT s.id, s.vals, (SELECT m.name FROM managers m WHERE m.id = json_extract(s.vals, '$.manager_id')) AS who
                 {FROM}
                 ORDER BY json_extract(s.vals, '$.date') DESC, who, json_extract(s.vals, '$.manager_id'),
                          json_extract(s.vals, '$.made_at_ms') DESC, s.id
                 LIMIT ?3 OFFSET ?4"
            ))?;
            let rows = stmt.query_map(params![since_day, grids, page.limit, page.offset], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, vals, manager_name): (String, String, Option<String>) = row?;
                let mut summary: DaySummary = serde_json::from_str(&vals)?;
                summary.id = id;
                out.push(DaySummaryLine { summary, manager_name });
            }
            Ok((u64::try_from(total).unwrap_or(0), out))
        })
    }

    fn reminder_outcomes(&self, page: &ListPage) -> StorageResult<(u64, Vec<ReminderOutcome>)> {
        const FROM: &str = "FROM entities o WHERE o.kind = 'reminder_outcome'
               AND (?1 IS NULL OR o.grid_id IN (SELECT value FROM json_each(?1)))";
        const ORDER: &str = "json_extract(o.vals, '$.closed_at_ms') DESC, o.id DESC";
        let (total, rows) = self.monitor.read(|c| {
            grid_page(c, page, "o.id, o.vals", FROM, ORDER, |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        })?;
        Ok((total, rows.into_iter().filter_map(|(id, vals)| reminder_outcome(id, &vals)).collect()))
    }
}
