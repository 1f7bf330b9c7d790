//! Read-only queries of the back office for the field workflows (issue 7): first-ask tickets
//! (首问负责制) with the overdue ones first and appointments (today's, late, missed), a page at a
//! time with their counts (issue 18), the day summaries (日工作总结) the managers submitted and
//! the reminders (预警) they closed, paged too.
//! Personal data comes out as stored; the HTTP layer masks it.

use serde::Serialize;

use gridbook_core::model::{DaySummary, ReminderOutcome};

use crate::storage::error::StorageResult;
use crate::storage::ListPage;

/// A ticket as the back office lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketLine {
    pub id: String,
    pub grid_id: String,
    pub household_id: Option<String>,
    pub customer_name: Option<String>,
    pub owner_manager_id: String,
    pub owner_name: Option<String>,
    pub taken_at_ms: i64,
    pub channel: String,
    pub kind: String,
    pub text: String,
    /// YYYY-MM-DD the owner promised a reply by.
    pub promised_reply_by: String,
    pub status: String,
    pub escalated_to: String,
    pub closed_at_ms: Option<i64>,
    /// Still open or escalated after the promised date: the promise was broken.
    pub overdue: bool,
}

/// An appointment as the back office lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppointmentLine {
    pub id: String,
    pub grid_id: String,
    pub household_id: String,
    pub customer_name: Option<String>,
    pub manager_id: String,
    pub manager_name: Option<String>,
    pub agreed_at_ms: i64,
    pub zone_offset_min: i64,
    pub purpose: String,
    pub status: String,
    pub note: String,
    pub visit_id: Option<String>,
    /// "today" (agreed today, on time so far or kept), "late" (today, past the ±10 minute window
    /// with no visit) or "missed" (an earlier day, never kept nor cancelled).
    pub category: String,
}

/// The appointment's on-time window, as on the phone (core's workday.rs).
const ON_TIME_MS: i64 = gridbook_core::field::workday::ON_TIME_MINUTES * 60_000;

/// An appointment's `category`: "missed" (live, agreed before the day), "late" (live, past the
/// on-time window now) or "today". Live: neither kept nor cancelled, no visit yet.
pub(crate) fn appointment_category(live: bool, agreed_at_ms: i64, day_start_ms: i64, now_ms: i64) -> &'static str {
    if live && agreed_at_ms < day_start_ms {
        "missed"
    } else if live && agreed_at_ms < now_ms - ON_TIME_MS {
        "late"
    } else {
        "today"
    }
}

/// A submitted day summary (core's `DaySummary`, as the phone computed it) with its manager's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaySummaryLine {
    #[serde(flatten)]
    pub summary: DaySummary,
    pub manager_name: Option<String>,
}

/// The counts beside a page of tickets: all that match, and the overdue among them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TicketCounts {
    pub total: u64,
    pub overdue: u64,
}

/// The counts beside a page of appointments: all that match, and each `category`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AppointmentCounts {
    pub total: u64,
    pub today: u64,
    pub late: u64,
    pub missed: u64,
}

impl AppointmentCounts {
    /// Counts an appointment (live: neither kept nor cancelled, no visit) by its category.
    pub(crate) fn count(&mut self, live: bool, agreed_at_ms: i64, day_start_ms: i64, now_ms: i64) {
        self.total += 1;
        match appointment_category(live, agreed_at_ms, day_start_ms, now_ms) {
            "missed" => self.missed += 1,
            "late" => self.late += 1,
            _ => self.today += 1,
        }
    }
}

pub trait WorkflowStorage: Send + Sync + 'static {
    /// One page of the tickets of `page.grids` not deleted: overdue first (oldest promise first),
    /// then the other open ones, then replied and closed; with the counts of all that match.
    /// `today` is YYYY-MM-DD in the report zone.
    fn tickets(&self, today: &str, page: &ListPage) -> StorageResult<(TicketCounts, Vec<TicketLine>)>;
    /// One page of the appointments of `page.grids` of the day [day_start_ms, day_end_ms) and the
    /// missed ones of the 30 days before, with the counts of all that match.
    fn appointments(
        &self,
        now_ms: i64,
        day_start_ms: i64,
        day_end_ms: i64,
        page: &ListPage,
    ) -> StorageResult<(AppointmentCounts, Vec<AppointmentLine>)>;
    /// One page of the day summaries of `page.grids` from `since_day` on, newest day first, by
    /// manager, with how many match in all.
    fn day_summaries(&self, since_day: &str, page: &ListPage) -> StorageResult<(u64, Vec<DaySummaryLine>)>;
    /// One page of the reminder outcomes (预警 closed on the phones) of `page.grids`, newest
    /// closing first, with how many match in all. A stored record that does not read as an
    /// outcome is left out of the page (it is still counted).
    fn reminder_outcomes(&self, page: &ListPage) -> StorageResult<(u64, Vec<ReminderOutcome>)>;
}

/// A stored reminder outcome's values (JSON) read as one, with its id; None when they do not
/// read as an outcome (the page leaves it out rather than failing the view).
pub(crate) fn reminder_outcome(id: String, vals: &str) -> Option<ReminderOutcome> {
    let mut values: serde_json::Map<String, serde_json::Value> = serde_json::from_str(vals).ok()?;
    values.insert("id".into(), serde_json::Value::String(id));
    serde_json::from_value(serde_json::Value::Object(values)).ok()
}
