//! Administration in the browser (issue 18), a page of its own at /admin/administration
//! (assets/administration.html, administration.js): a one-time enrolment code for a manager's
//! phone, shown once with a QR code the phone scans, and a device's revocation — both an
//! admin's, from this site, with the session's CSRF token, and each leaves an audit row — and the
//! audit trail itself, filtered by subject, action, who acted and a range of days, one page at a
//! time, for any staff member. A manager's staff number (工号), which their phones' receipts
//! print (docs/sync-protocol.md, "Receipt profile"), is an admin's write too. Grids and who holds them, and billing files, are directory.rs.
//!
//! The QR code carries `gridbook://enrol?server=<this server>&code=<code>`: the server's address
//! as the admin's browser reached it, and the code.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::api::{blocking, no_store, page_bounds, query};
use super::pages::{script, staff_page};
use super::session::check_admin_write;
use super::staff_session::StaffSession;
use crate::domain::now_ms;
use crate::domain::privacy::mask_digit_runs;
use crate::domain::receipt_profile::staff_no_problem;
use crate::domain::report_day::REPORT_ZONE_OFFSET_MIN;
use crate::http::error::{AppError, AppResult};
use crate::http::qr;
use crate::http::state::AppState;
use crate::storage::evidence::AuditFilter;

const ADMIN_HTML: &str = include_str!("../../../assets/administration.html");
const ADMIN_JS: &str = include_str!("../../../assets/administration.js");

/// How long an enrolment code made in the page is good for, unless the admin says otherwise.
const DEFAULT_VALID_HOURS: i64 = 72;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/administration", get(admin_page))
        .route("/admin/assets/administration.js", get(|| async { script(ADMIN_JS) }))
        .route("/admin/api/admin/enrol-codes", post(enrol_code))
        .route("/admin/api/admin/devices/{device_id}/revoke", post(revoke_device))
        .route("/admin/api/admin/audit", get(audit))
        .route("/admin/api/admin/people/{manager_id}/staff-no", post(staff_no))
}

async fn admin_page(StaffSession(staff): StaffSession) -> Response {
    staff_page(ADMIN_HTML, &staff)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EnrolCodeBody {
    /// The manager whose phone enrols.
    pub manager_id: String,
    /// Hours the code is good for, 1–720 (72).
    #[serde(default)]
    pub valid_hours: Option<i64>,
}

/// A one-time enrolment code, shown once, with its QR code.
#[utoipa::path(
    post,
    path = "/admin/api/admin/enrol-codes",
    tag = "backoffice",
    security(("staff_session" = [])),
    request_body = EnrolCodeBody,
    responses(
        (status = 201, description = "`{manager_id, code, expires_at_ms, qr_svg, qr_text}`: shown once; an audit row is written", body = serde_json::Value),
        (status = 401, description = "No back-office session", body = gridbook_core::sync::wire::ErrorBody),
        (status = 403, description = "Not an admin, another site, or a missing or stale `X-CSRF-Token`", body = gridbook_core::sync::wire::ErrorBody),
        (status = 404, description = "No such manager", body = gridbook_core::sync::wire::ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = gridbook_core::sync::wire::ErrorBody),
        (status = 422, description = "`invalid`: no manager, or hours out of range", body = gridbook_core::sync::wire::ErrorBody),
        (status = 503, description = "Storage busy; retry", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub(crate) async fn enrol_code(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    body: Result<Json<EnrolCodeBody>, JsonRejection>,
) -> AppResult<Response> {
    check_admin_write(&headers, &staff)?;
    let Json(body) = body?;
    let manager = body.manager_id.trim().to_string();
    if manager.is_empty() || manager.len() > 64 {
        return Err(AppError::invalid("manager_id: 请填写经理编号 the manager's id, at most 64 characters"));
    }
    let hours = body.valid_hours.unwrap_or(DEFAULT_VALID_HOURS);
    if !(1..=24 * 30).contains(&hours) {
        return Err(AppError::invalid("valid_hours: 1 至 720 小时 between 1 and 720"));
    }
    let storage = state.storage.clone();
    let (by, who) = (staff.id.clone(), manager.clone());
    let now = now_ms();
    let ttl = hours * 3_600_000;
    let code = blocking(move || {
        let code = storage.create_enrol_code(&who, now, ttl)?;
        // the code itself stays out of the trail: it is a secret until used
        storage.record_audit(&by, "enrol_code_issued", &who, &format!("valid {hours} h"), now)?;
        Ok::<_, AppError>(code)
    })
    .await?;
    let qr_text = qr::base_url(&headers).map(|server| {
        format!("gridbook://enrol?server={}&code={}", qr::query_escape(&server), qr::query_escape(&code))
    });
    let qr_svg = qr_text.as_deref().and_then(|t| qr::svg(t, 200));
    tracing::info!(staff = %staff.id, manager = %manager, "enrolment code issued in the back office");
    let mut response = no_store(json!({
        "manager_id": manager,
        "code": code,
        "expires_at_ms": now + ttl,
        "qr_text": qr_text,
        "qr_svg": qr_svg,
    }));
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

/// Revokes a device: its token no longer syncs.
#[utoipa::path(
    post,
    path = "/admin/api/admin/devices/{device_id}/revoke",
    tag = "backoffice",
    security(("staff_session" = [])),
    params(("device_id" = String, Path, description = "The device's id")),
    responses(
        (status = 200, description = "`{device_id, revoked_at_ms}`; an audit row is written", body = serde_json::Value),
        (status = 401, description = "No back-office session", body = gridbook_core::sync::wire::ErrorBody),
        (status = 403, description = "Not an admin, another site, or a missing or stale `X-CSRF-Token`", body = gridbook_core::sync::wire::ErrorBody),
        (status = 404, description = "No such device", body = gridbook_core::sync::wire::ErrorBody),
        (status = 503, description = "Storage busy; retry", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub(crate) async fn revoke_device(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    Path(device_id): Path<String>,
) -> AppResult<Response> {
    check_admin_write(&headers, &staff)?;
    if device_id.is_empty() || device_id.len() > 128 {
        return Err(AppError::not_found("no such device"));
    }
    let storage = state.storage.clone();
    let (by, id) = (staff.id.clone(), device_id.clone());
    let now = now_ms();
    blocking(move || {
        storage.revoke_device(&id, now)?;
        storage.record_audit(&by, "device_revoked", &id, "from the back office", now)?;
        Ok::<_, AppError>(())
    })
    .await?;
    tracing::info!(staff = %staff.id, device = %device_id, "device revoked in the back office");
    Ok(no_store(json!({ "device_id": device_id, "revoked_at_ms": now })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffNoBody {
    /// 工号: letters, digits, '-' or '_', at most 32; empty clears it.
    pub staff_no: String,
}

/// Sets a manager's staff number (工号): their phones print it on every receipt from the next
/// sync on.
#[utoipa::path(
    post,
    path = "/admin/api/admin/people/{manager_id}/staff-no",
    tag = "backoffice",
    security(("staff_session" = [])),
    params(("manager_id" = String, Path, description = "The manager's account")),
    request_body = StaffNoBody,
    responses(
        (status = 200, description = "`{manager_id, staff_no, changed}`; an audit row `staff_no_set` when it changed", body = serde_json::Value),
        (status = 401, description = "No back-office session", body = gridbook_core::sync::wire::ErrorBody),
        (status = 403, description = "Not an admin, another site, or a missing or stale `X-CSRF-Token`", body = gridbook_core::sync::wire::ErrorBody),
        (status = 404, description = "No such manager", body = gridbook_core::sync::wire::ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = gridbook_core::sync::wire::ErrorBody),
        (status = 422, description = "`invalid`: not a staff number", body = gridbook_core::sync::wire::ErrorBody),
        (status = 503, description = "Storage busy; retry", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub(crate) async fn staff_no(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    Path(manager_id): Path<String>,
    body: Result<Json<StaffNoBody>, JsonRejection>,
) -> AppResult<Response> {
    check_admin_write(&headers, &staff)?;
    if manager_id.is_empty() || manager_id.len() > 64 {
        return Err(AppError::not_found("no such manager / 没有这位经理"));
    }
    let Json(body) = body?;
    let staff_no = body.staff_no.trim().to_string();
    if let Some(why) = staff_no_problem(&staff_no) {
        return Err(AppError::invalid(format!("staff_no: {why}")));
    }
    let storage = state.storage.clone();
    let (by, id, number) = (staff.id.clone(), manager_id.clone(), staff_no.clone());
    let changed = blocking(move || storage.set_staff_no(&id, &number, &by, now_ms())).await?;
    tracing::info!(staff = %staff.id, manager = %manager_id, changed, "staff number set in the back office");
    Ok(no_store(json!({ "manager_id": manager_id, "staff_no": staff_no, "changed": changed })))
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    subject: Option<String>,
    action: Option<String>,
    actor: Option<String>,
    /// First day, YYYY-MM-DD in the report zone (Beijing time).
    from: Option<String>,
    /// Last day, YYYY-MM-DD, included.
    to: Option<String>,
    offset: Option<u32>,
    limit: Option<u32>,
}

/// The instant day `day` (YYYY-MM-DD, report zone) starts, or the one after it ends.
fn day_edge(name: &str, day: &str, end: bool) -> AppResult<i64> {
    let (start, stop) = gridbook_core::field::workday::day_bounds(day, REPORT_ZONE_OFFSET_MIN)
        .map_err(|_| AppError::bad_query(format!("{name}: 日期格式 YYYY-MM-DD / a date written YYYY-MM-DD")))?;
    Ok(if end { stop } else { start })
}

/// The audit trail, newest first, filtered, one page at a time with the total.
#[utoipa::path(
    get,
    path = "/admin/api/admin/audit",
    tag = "backoffice",
    security(("staff_session" = [])),
    params(
        ("subject" = Option<String>, Query, description = "Only rows about this record (a void, a receipt number, a manager …)"),
        ("action" = Option<String>, Query, description = "Only this action (void_approved, grid_assigned, reveal_receipt …)"),
        ("actor" = Option<String>, Query, description = "Only what this staff member or device did"),
        ("from" = Option<String>, Query, description = "From this day on, YYYY-MM-DD (Beijing time)"),
        ("to" = Option<String>, Query, description = "Up to and including this day, YYYY-MM-DD"),
        ("offset" = Option<u32>, Query, description = "Rows to skip (0)"),
        ("limit" = Option<u32>, Query, description = "At most this many, 1–500 (100)"),
    ),
    responses(
        (status = 200, description = "`{total, offset, limit, audit}`: rows newest first, digit runs in details masked", body = serde_json::Value),
        (status = 400, description = "A query parameter is malformed", body = gridbook_core::sync::wire::ErrorBody),
        (status = 401, description = "No back-office session", body = gridbook_core::sync::wire::ErrorBody),
        (status = 501, description = "This storage backend keeps no audit trail", body = gridbook_core::sync::wire::ErrorBody),
        (status = 503, description = "Storage busy; retry", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub(crate) async fn audit(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let nonempty = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let (subject, action, actor) = (nonempty(q.subject), nonempty(q.action), nonempty(q.actor));
    if [&subject, &action, &actor].iter().any(|v| v.as_deref().is_some_and(|s| s.len() > 128)) {
        return Err(AppError::bad_query("subject, action, actor: at most 128 characters"));
    }
    let since_ms = nonempty(q.from).map(|d| day_edge("from", &d, false)).transpose()?;
    let until_ms = nonempty(q.to).map(|d| day_edge("to", &d, true)).transpose()?;
    let filter = AuditFilter { subject, action, actor, since_ms, until_ms };
    let (offset, limit) = page_bounds(q.offset, q.limit, 100, 500);
    let storage = state.storage.clone();
    let (total, rows) = blocking(move || storage.audit_page(&filter, offset, limit)).await?;
    let rows: Vec<_> = rows
        .into_iter()
        .map(|mut r| {
            r.detail = mask_digit_runs(&r.detail);
            r
        })
        .collect();
    tracing::info!(staff = %staff.id, view = "audit", rows = rows.len(), "back-office view");
    Ok(no_store(json!({ "total": total, "offset": offset, "limit": limit, "audit": rows })))
}
