//! `GET /admin/api/reminder-outcomes`: the reminders (预警) managers closed on their phones and
//! how, newest first, a page at a time with the total, for supervisors and admins. Notes are
//! shown with digit runs masked (a manager may have typed a phone number into one). A supervisor
//! sees the grids assigned to them; the scope is part of the storage query.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::api::{blocking, no_store, page_bounds, query};
use super::staff_session::StaffSession;
use super::workbench::Visible;
use crate::domain::privacy::mask_digit_runs;
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;

#[derive(Debug, Deserialize)]
pub struct OutcomesQuery {
    offset: Option<u32>,
    limit: Option<u32>,
    grid: Option<String>,
}

/// One page of the outcomes of the grids the staff member sees (or of the one asked for), newest
/// first, with the total.
pub async fn outcomes(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    q: Result<Query<OutcomesQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let (offset, limit) = page_bounds(q.offset, q.limit, 200, 1000);
    let (storage, people, w) =
        (state.storage.clone(), state.backoffice.staff.clone(), state.backoffice.workflows.clone());
    let who = staff.clone();
    let (total, mut rows) = blocking(move || {
        let seen = Visible::of(storage.as_ref(), people.as_ref(), &who)?;
        let mut page = seen.page(offset, limit);
        if let Some(g) = q.grid {
            // another's grid reads as no grid at all
            if !seen.grid(&g) || !storage.has_grid(&g)? {
                return Err(AppError::not_found("没有这个网格，或无权查看 / no such grid, or not yours to see"));
            }
            page.grids = Some(vec![g]);
        }
        Ok::<_, AppError>(w.reminder_outcomes(&page)?)
    })
    .await?;
    for r in &mut rows {
        r.note = mask_digit_runs(&r.note);
    }
    tracing::info!(staff = %staff.id, view = "reminder_outcomes", rows = rows.len(), "back-office view");
    Ok(no_store(json!({ "total": total, "offset": offset, "limit": limit, "outcomes": rows })))
}
