//! The back office (issue 6): supervisors and admins log in at /admin and watch the phones sync —
//! devices and their health, sync activity, rejected ops, the conflict log, money collected,
//! voids and overdue follow-ups. Plain HTML, CSS and JS compiled into the binary (assets/), JSON
//! APIs under /admin/api/, nothing loaded from elsewhere.

pub mod api;
pub mod billing;
pub mod health;
pub mod pages;
pub mod privacy;
pub mod reminders;
pub mod session;
pub mod transfer;
pub mod workflows;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

use crate::metrics::Metrics;
use crate::storage::monitoring::{MonitoringStorage, SqliteMonitoring};
use crate::storage::workflows::WorkflowMonitoring;
use crate::storage::SyncStorage;
use crate::{AppState, SqliteStorage};

/// The time zone the back office reports days in: China Standard Time (UTC+8).
pub const REPORT_ZONE_OFFSET_MIN: i64 = 480;

#[derive(Clone)]
pub struct Backoffice {
    /// The monitoring queries; `None` for a storage backend that has none (then the pages say so).
    pub monitoring: Option<Arc<dyn MonitoringStorage>>,
    /// The field-workflow queries (tickets, appointments, day summaries); `None` likewise.
    pub workflows: Option<Arc<dyn WorkflowMonitoring>>,
    pub sessions: Arc<session::SessionStore>,
    pub metrics: Arc<Metrics>,
    pub thresholds: health::Thresholds,
}

impl Backoffice {
    /// Attaches the monitoring queries that belong to the storage backend.
    pub fn for_storage(storage: &Arc<dyn SyncStorage>) -> Self {
        let sqlite = storage
            .clone()
            .into_any_arc()
            .downcast::<SqliteStorage>()
            .ok()
            .map(|s| Arc::new(SqliteMonitoring::new(s.path())));
        let mut backoffice = Self::with_monitoring(sqlite.clone().map(|s| s as Arc<dyn MonitoringStorage>));
        backoffice.workflows = sqlite.map(|s| s as Arc<dyn WorkflowMonitoring>);
        backoffice
    }

    pub fn with_monitoring(monitoring: Option<Arc<dyn MonitoringStorage>>) -> Self {
        Self {
            monitoring,
            workflows: None,
            sessions: Arc::new(session::SessionStore::default()),
            metrics: Arc::new(Metrics::default()),
            thresholds: health::Thresholds::default(),
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(pages::dashboard))
        .route("/admin/", get(pages::dashboard))
        .route("/admin/login", get(pages::login_form).post(pages::login))
        .route("/admin/logout", post(pages::logout))
        .route("/admin/assets/{file}", get(pages::asset))
        .route("/admin/api/me", get(api::me))
        .route("/admin/api/overview", get(api::overview))
        .route("/admin/api/devices", get(api::devices))
        .route("/admin/api/activity", get(api::activity))
        .route("/admin/api/rejections", get(api::rejections))
        .route("/admin/api/conflicts", get(api::conflicts))
        .route("/admin/api/money", get(api::money))
        .route("/admin/api/follow-ups", get(api::follow_ups))
        .route("/admin/api/billing", post(billing::load))
        .route("/admin/api/reminder-outcomes", get(reminders::outcomes))
        .merge(transfer::routes())
        .route("/admin/api/handovers", get(workflows::handovers).post(workflows::start_handover))
        .route("/admin/api/tickets", get(workflows::tickets))
        .route("/admin/api/appointments", get(workflows::appointments))
        .route("/admin/api/day-summaries", get(workflows::day_summaries))
}

/// Today's date (YYYY-MM-DD) in the report zone, `days_back` days ago.
pub fn report_day(now_ms: i64, days_back: i64) -> String {
    let local = now_ms + REPORT_ZONE_OFFSET_MIN * 60_000 - days_back * 86_400_000;
    chrono::DateTime::from_timestamp_millis(local).map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn report_days_are_in_china_time() {
        // 2026-03-01 17:00 UTC is already 2 March in Beijing
        let t = chrono::DateTime::parse_from_rfc3339("2026-03-01T17:00:00Z").unwrap().timestamp_millis();
        assert_eq!(super::report_day(t, 0), "2026-03-02");
        assert_eq!(super::report_day(t, 1), "2026-03-01");
    }
}
