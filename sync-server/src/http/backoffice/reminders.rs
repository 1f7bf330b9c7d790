//! `GET /admin/api/reminder-outcomes`: the reminders (预警) managers closed on their phones and
//! how, newest first, for supervisors and admins. Notes are shown with digit runs masked (a
//! manager may have typed a phone number into one). A supervisor sees the grids assigned to them.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use gridbook_core::model::ReminderOutcome;
use gridbook_core::EntityKind;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::api::{blocking, no_store, query};
use super::staff_session::StaffSession;
use super::workbench::visible_grids;
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
    let people = state.backoffice.staff.clone();
    let who = staff.clone();
    let mut rows: Vec<ReminderOutcome> = blocking(move || {
        // the grids the staff member may see; another's grid reads as no grid at all
        let mut grids: Vec<String> =
            visible_grids(storage.as_ref(), people.as_ref(), &who)?.into_iter().map(|(id, _)| id).collect();
        if let Some(g) = q.grid {
            if !grids.contains(&g) {
                return Err(AppError::not_found("没有这个网格，或无权查看 / no such grid, or not yours to see"));
            }
            grids = vec![g];
        }
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
