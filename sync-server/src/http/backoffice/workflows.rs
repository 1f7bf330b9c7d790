//! JSON for the field-workflow pages of the back office (issue 7) under /admin/api/: handovers
//! (listed for staff, started by an admin with the session's CSRF token), tickets with the
//! overdue ones first and today's, late and missed appointments (a page at a time, with the
//! counts of all), and the managers' day summaries.
//! Names are cut to the surname, phone and ID numbers in free text masked (domain/privacy.rs).

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::api::{blocking, no_store, page_bounds, query};
use super::session::check_admin_write;
use super::staff_session::StaffSession;
use super::workbench::{Scope, Visible};
use crate::domain::now_ms;
use crate::domain::privacy::{mask_digit_runs, mask_name};
use crate::domain::report_day::{report_day, REPORT_ZONE_OFFSET_MIN};
use crate::domain::workbench::computed_days;
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::storage::handover::HandoverRequest;

#[derive(Debug, Deserialize)]
pub struct WorkflowQuery {
    limit: Option<u32>,
    offset: Option<u32>,
    days: Option<i64>,
    /// The day summaries tab's second list, the days the server computed, paged on its own.
    computed_offset: Option<u32>,
    computed_limit: Option<u32>,
}

/// One page of the handovers from or to the grids the staff member sees, newest first, with the
/// total.
pub async fn handovers(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    q: Result<Query<WorkflowQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let (offset, n) = page_bounds(q.offset, q.limit, 100, 1000);
    let (storage, people) = (state.storage.clone(), state.backoffice.staff.clone());
    let (total, rows) = blocking(move || {
        let seen = Visible::of(storage.as_ref(), people.as_ref(), &staff)?;
        Ok::<_, AppError>(storage.handovers_page(&seen.page(offset, n))?)
    })
    .await?;
    Ok(no_store(json!({ "now_ms": now_ms(), "total": total, "offset": offset, "limit": n, "handovers": rows })))
}

/// Starts a handover: admins only, same origin, the session's CSRF token in `x-csrf-token`.
pub async fn start_handover(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    body: Result<Json<HandoverRequest>, JsonRejection>,
) -> AppResult<Response> {
    check_admin_write(&headers, &staff)?;
    let Json(request) = body?;
    let storage = state.storage.clone();
    let by = staff.id.clone();
    let row = blocking(move || storage.hand_over(&request, &by, now_ms())).await?;
    tracing::info!(staff = %staff.id, handover = %row.id, "handover started from the back office");
    let mut response = no_store(row);
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

pub async fn tickets(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    q: Result<Query<WorkflowQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let (offset, n) = page_bounds(q.offset, q.limit, 100, 1000);
    let today = report_day(now_ms(), 0);
    let w = state.backoffice.workflows.clone();
    let day = today.clone();
    let (storage, people, who) = (state.storage.clone(), state.backoffice.staff.clone(), staff.clone());
    let (counts, mut rows) = blocking(move || {
        let seen = Visible::of(storage.as_ref(), people.as_ref(), &who)?;
        Ok::<_, AppError>(w.tickets(&day, &seen.page(offset, n))?)
    })
    .await?;
    tracing::info!(staff = %staff.id, view = "tickets", rows = rows.len(), "back-office view");
    for t in &mut rows {
        t.customer_name = t.customer_name.as_deref().map(mask_name);
        t.text = mask_digit_runs(&t.text);
    }
    Ok(no_store(json!({
        "today": today,
        "total": counts.total,
        "overdue": counts.overdue,
        "offset": offset,
        "limit": n,
        "tickets": rows,
    })))
}

pub async fn appointments(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    q: Result<Query<WorkflowQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let (offset, n) = page_bounds(q.offset, q.limit, 100, 1000);
    let now = now_ms();
    let today = report_day(now, 0);
    let (start, end) = gridbook_core::field::workday::day_bounds(&today, REPORT_ZONE_OFFSET_MIN)
        .map_err(|e| AppError::internal(format!("report day {today}: {e}")))?;
    let w = state.backoffice.workflows.clone();
    let (storage, people, who) = (state.storage.clone(), state.backoffice.staff.clone(), staff.clone());
    let (counts, mut rows) = blocking(move || {
        let seen = Visible::of(storage.as_ref(), people.as_ref(), &who)?;
        Ok::<_, AppError>(w.appointments(now, start, end, &seen.page(offset, n))?)
    })
    .await?;
    tracing::info!(staff = %staff.id, view = "appointments", rows = rows.len(), "back-office view");
    for a in &mut rows {
        a.customer_name = a.customer_name.as_deref().map(mask_name);
        a.note = mask_digit_runs(&a.note);
    }
    let counts_json = json!({ "today": counts.today, "late": counts.late, "missed": counts.missed });
    Ok(no_store(json!({
        "today": today,
        "now_ms": now,
        "total": counts.total,
        "offset": offset,
        "limit": n,
        "counts": counts_json,
        "appointments": rows,
    })))
}

/// The day summaries the managers submitted, and beside them each manager's days as the server
/// computes them from the synced facts (domain/workbench.rs) in the grids the staff member sees.
pub async fn day_summaries(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    q: Result<Query<WorkflowQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let days = q.days.unwrap_or(7).clamp(1, 366);
    let (offset, n) = page_bounds(q.offset, q.limit, 100, 1000);
    let (computed_offset, computed_n) = page_bounds(q.computed_offset, q.computed_limit, 100, 1000);
    let since = report_day(now_ms(), days - 1);
    let (storage, people) = (state.storage.clone(), state.backoffice.staff.clone());
    let w = state.backoffice.workflows.clone();
    let from = since.clone();
    let ((computed_total, computed), (total, mut rows)) = blocking(move || {
        // the computed days are figures of the visible grids' facts, not stored rows: the page
        // is cut from them here, after they are computed for the grids the staff member sees
        let scope = Scope::load(storage.as_ref(), people.as_ref(), &staff, None)?;
        let computed = computed_days(&scope.facts, &scope.names, now_ms(), days)?;
        let computed_total = computed.len();
        let computed: Vec<_> = computed.into_iter().skip(computed_offset as usize).take(computed_n as usize).collect();
        let seen = Visible::of(storage.as_ref(), people.as_ref(), &staff)?;
        let submitted = w.day_summaries(&from, &seen.page(offset, n))?;
        Ok::<_, AppError>(((computed_total, computed), submitted))
    })
    .await?;
    for s in &mut rows {
        s.summary.note = mask_digit_runs(&s.summary.note);
    }
    Ok(no_store(json!({
        "since_day": since,
        "today": report_day(now_ms(), 0),
        "summaries": rows,
        "summaries_page": { "total": total, "offset": offset, "limit": n },
        "computed": computed,
        "computed_page": { "total": computed_total, "offset": computed_offset, "limit": computed_n },
    })))
}
