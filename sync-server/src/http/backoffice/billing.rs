//! `POST /admin/api/billing`: an admin loads billing figures (`{"profiles": [...]}`, see
//! crate::domain::billing) and the tiers of the grids touched are recomputed. Same session and CSRF rules
//! as every back-office write; the answer says what was written, never personal data; the load
//! leaves an audit row with its counts (as the file loaded in the page does, directory.rs).

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;

use super::api::{blocking, no_store};
use super::session::check_admin_write;
use super::staff_session::StaffSession;
use gridbook_core::model::BillingProfile;

use crate::domain::billing::{self, BillingLoad, LoadReport};
use crate::domain::now_ms;
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::storage::SyncStorage;

pub async fn load(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    body: Result<Json<BillingLoad>, JsonRejection>,
) -> AppResult<Response> {
    check_admin_write(&headers, &staff)?;
    let Json(request) = body?;
    let storage = state.storage.clone();
    let by = staff.id.clone();
    let report = blocking(move || load_audited(storage.as_ref(), request.profiles, &by)).await?;
    tracing::info!(staff = %staff.id, received = report.received, written = report.written, "billing figures loaded");
    Ok(no_store(report))
}

/// Loads `profiles` and audits the load under `by` (`billing_loaded`: the counts and the grids).
pub(super) fn load_audited(
    storage: &dyn SyncStorage,
    profiles: Vec<BillingProfile>,
    by: &str,
) -> Result<LoadReport, AppError> {
    let now = now_ms();
    let report = billing::load(storage, profiles, now)?;
    let grids: Vec<&str> = report.tiers.iter().map(|t| t.grid_id.as_str()).collect();
    let detail = format!(
        "received {}, written {}, unchanged {}; grids {}",
        report.received,
        report.written,
        report.unchanged,
        grids.join(",")
    );
    storage.record_audit(by, "billing_loaded", "billing", &detail, now)?;
    Ok(report)
}
