//! Read-only queries of the back office for the field workflows (issue 7): first-ask tickets
//! (首问负责制) with the overdue ones first, appointments (today's, late, missed) and the day
//! summaries (日工作总结) the managers submitted. Personal data comes out as stored; the HTTP
//! layer masks it.

use serde::Serialize;

use gridbook_core::model::DaySummary;

use crate::storage::error::StorageResult;

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

pub trait WorkflowStorage: Send + Sync + 'static {
    /// Tickets not deleted: overdue first (oldest promise first), then the other open ones, then
    /// replied and closed. `today` is YYYY-MM-DD in the report zone.
    fn tickets(&self, today: &str, limit: u32) -> StorageResult<Vec<TicketLine>>;
    /// Appointments of the day [day_start_ms, day_end_ms) and the missed ones of the 30 days before.
    fn appointments(
        &self,
        now_ms: i64,
        day_start_ms: i64,
        day_end_ms: i64,
        limit: u32,
    ) -> StorageResult<Vec<AppointmentLine>>;
    /// Day summaries from `since_day` on, newest day first, by manager.
    fn day_summaries(&self, since_day: &str, limit: u32) -> StorageResult<Vec<DaySummaryLine>>;
}
