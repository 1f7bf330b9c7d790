//! `GET /admin/api/reminder-outcomes`: the reminders (预警) managers closed on their phones and
//! how, newest first, for supervisors and admins. Notes are shown with digit runs masked (a
//! manager may have typed a phone number into one).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use gridbook_core::model::ReminderOutcome;
use gridbook_core::EntityKind;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::api::{blocking, no_store, query};
use super::staff_session::StaffSession;
use crate::domain::privacy::mask_digit_runs;
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;

#[derive(Debug, Deserialize)]
pub struct OutcomesQuery {
    limit: Option<u32>,
    grid: Option<String>,
}

pub async fn outcomes(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    q: Result<Query<OutcomesQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let limit = q.limit.unwrap_or(200).clamp(1, 1000) as usize;
    let storage = state.storage.clone();
    let mut rows: Vec<ReminderOutcome> = blocking(move || {
        let grids = match q.grid {
            Some(g) => vec![g],
            None => storage.grid_ids()?,
        };
        let mut rows = Vec::new();
        for grid in grids {
            for s in storage.grid_records(EntityKind::ReminderOutcome, &grid)? {
                let mut values: Map<String, Value> = s.values.clone();
                values.insert("id".into(), Value::String(s.id.clone()));
                // a record that does not read as an outcome is skipped, not a failure of the view
                if let Ok(o) = serde_json::from_value::<ReminderOutcome>(Value::Object(values)) {
                    rows.push(o);
                }
            }
        }
        Ok::<_, AppError>(rows)
    })
    .await?;
    rows.sort_by(|a, b| b.closed_at_ms.cmp(&a.closed_at_ms).then_with(|| b.id.cmp(&a.id)));
    rows.truncate(limit);
    for r in &mut rows {
        r.note = mask_digit_runs(&r.note);
    }
    tracing::info!(staff = %staff.id, view = "reminder_outcomes", rows = rows.len(), "back-office view");
    Ok(no_store(json!({ "outcomes": rows })))
}
