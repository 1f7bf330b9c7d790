//! The back office's remote wipes (docs/operations.md, "Remote wipe"): a supervisor or an admin
//! marks a device "retire" (a manager leaves: it uploads everything, then wipes itself) or "lost"
//! (one push, then the wipe), and may cancel before the phone is told; every device's wipe is
//! listed with its status and what its report says was uploaded and lost. Changes need the
//! session's CSRF token and are audited with who and when (storage).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::api::{blocking, no_store};
use super::session::check_staff_write;
use super::staff_session::StaffSession;
use crate::domain::now_ms;
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::storage::wipes::mode_of;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/api/wipes", get(list))
        .route("/admin/api/devices/{device}/wipe", post(order))
        .route("/admin/api/devices/{device}/wipe/cancel", post(cancel))
}

/// GET /admin/api/wipes: every device's wipe, newest order first.
async fn list(State(state): State<AppState>, StaffSession(_): StaffSession) -> AppResult<Response> {
    let storage = state.storage.clone();
    let rows = blocking(move || storage.wipes()).await?;
    Ok(no_store(json!({ "now_ms": now_ms(), "wipes": rows })))
}

#[derive(Debug, Deserialize)]
struct OrderBody {
    /// "retire" or "lost".
    mode: String,
}

/// A device id as a path names it: bounded before it reaches storage.
fn device_id(device: &str) -> AppResult<()> {
    if device.is_empty() || device.len() > 64 {
        return Err(AppError::invalid("device: 设备编号为 1 至 64 个字符 / 1 to 64 characters"));
    }
    Ok(())
}

/// POST /admin/api/devices/{device}/wipe {mode}: orders the device wiped (replaces an order not
/// yet told).
async fn order(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    Path(device): Path<String>,
    body: Result<Json<OrderBody>, JsonRejection>,
) -> AppResult<Response> {
    check_staff_write(&headers, &staff)?;
    device_id(&device)?;
    let Json(b) = body?;
    let mode = mode_of(&b.mode)?;
    let storage = state.storage.clone();
    let by = staff.id.clone();
    let row = blocking(move || storage.order_wipe(&device, mode, &by, now_ms())).await?;
    tracing::warn!(staff = %staff.id, device = %row.device_id, mode = mode.as_str(), "remote wipe ordered");
    let mut response = no_store(row);
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

/// POST /admin/api/devices/{device}/wipe/cancel: cancels an order the phone was not told yet.
async fn cancel(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    Path(device): Path<String>,
) -> AppResult<Response> {
    check_staff_write(&headers, &staff)?;
    device_id(&device)?;
    let storage = state.storage.clone();
    let (by, id) = (staff.id.clone(), device.clone());
    blocking(move || storage.cancel_wipe(&id, &by, now_ms())).await?;
    tracing::warn!(staff = %staff.id, device = %device, "remote wipe cancelled");
    Ok(no_store(json!({ "device_id": device, "cancelled": true })))
}
