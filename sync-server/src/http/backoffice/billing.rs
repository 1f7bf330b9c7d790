//! `POST /admin/api/billing`: an admin loads billing figures (`{"profiles": [...]}`, see
//! crate::domain::billing) and the tiers of the grids touched are recomputed. Same session and CSRF rules
//! as every back-office write; the answer says what was written, never personal data.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;

use super::api::{blocking, no_store};
use super::session::check_admin_write;
use super::staff_session::StaffSession;
use crate::domain::billing::{self, BillingLoad};
use crate::domain::now_ms;
use crate::http::error::AppResult;
use crate::http::state::AppState;

pub async fn load(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    body: Result<Json<BillingLoad>, JsonRejection>,
) -> AppResult<Response> {
    check_admin_write(&headers, &staff)?;
    let Json(request) = body?;
    let storage = state.storage.clone();
    let report = blocking(move || billing::load(storage.as_ref(), request.profiles, now_ms())).await?;
    tracing::info!(staff = %staff.id, received = report.received, written = report.written, "billing figures loaded");
    Ok(no_store(report))
}
