//! Grids and who holds them, administered in the browser (issue 18, /admin/administration): the
//! directory the page's pickers are fed from (grids with their managers and supervisors, every
//! account with its grids), a grid created or renamed, a grid assigned to or taken from a field
//! manager or a supervisor, and a billing file loaded the way `admin load-billing` loads one
//! (JSON lines). Every write is an admin's, from this site with the session's CSRF token, and
//! leaves an audit row.

use std::collections::{BTreeMap, HashSet};

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::api::{blocking, no_store};
use super::session::check_admin_write;
use super::staff_session::StaffSession;
use super::workbench::visible_grids;
use crate::domain::auth::Role;
use crate::domain::billing;
use crate::domain::now_ms;
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/api/admin/directory", get(directory))
        .route("/admin/api/admin/grids", post(create_grid))
        .route("/admin/api/admin/grids/{grid_id}/rename", post(rename_grid))
        .route("/admin/api/admin/assignments", post(assignment))
        .route("/admin/api/admin/billing-file", post(billing_file))
}

/// Someone named in the directory.
#[derive(Debug, Serialize)]
pub struct Named {
    pub id: String,
    pub name: String,
}

/// A grid with the field managers who work it and the supervisors who watch it.
#[derive(Debug, Serialize)]
pub struct GridEntry {
    pub id: String,
    pub name: String,
    pub managers: Vec<Named>,
    pub supervisors: Vec<Named>,
}

/// An account with its grids (those the viewer may see).
#[derive(Debug, Serialize)]
pub struct PersonEntry {
    pub id: String,
    pub name: String,
    pub role: String,
    /// 工号, as the receipts print it (empty: none set).
    pub staff_no: String,
    pub grids: Vec<String>,
}

/// The grids the staff member may see, each with its people, and every account with its grids:
/// what the administration page's lists and pickers show (no ids typed by hand).
#[utoipa::path(
    get,
    path = "/admin/api/admin/directory",
    tag = "backoffice",
    security(("staff_session" = [])),
    responses(
        (status = 200, description = "`{grids: [{id, name, managers, supervisors}], people: [{id, name, role, staff_no, grids}]}`", body = serde_json::Value),
        (status = 401, description = "No back-office session", body = gridbook_core::sync::wire::ErrorBody),
        (status = 503, description = "Storage busy; retry", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub async fn directory(State(state): State<AppState>, StaffSession(staff): StaffSession) -> AppResult<Response> {
    let storage = state.storage.clone();
    let people = state.backoffice.staff.clone();
    let (grids, persons) = blocking(move || {
        let grids = visible_grids(storage.as_ref(), people.as_ref(), &staff)?;
        let seen: HashSet<&str> = grids.iter().map(|(id, _)| id.as_str()).collect();
        let mut persons = Vec::new();
        for p in people.people()? {
            let mut theirs = people.staff_grids(&p.id)?;
            theirs.retain(|g| seen.contains(g.as_str()));
            persons.push(PersonEntry { id: p.id, name: p.name, role: p.role, staff_no: p.staff_no, grids: theirs });
        }
        Ok::<_, AppError>((grids, persons))
    })
    .await?;
    let mut by_grid: BTreeMap<&str, (Vec<Named>, Vec<Named>)> = BTreeMap::new();
    for p in &persons {
        for g in &p.grids {
            let (managers, supervisors) = by_grid.entry(g.as_str()).or_default();
            let named = Named { id: p.id.clone(), name: p.name.clone() };
            if p.role == Role::Field.as_str() {
                managers.push(named);
            } else if p.role == Role::Supervisor.as_str() {
                supervisors.push(named);
            }
        }
    }
    let entries: Vec<GridEntry> = grids
        .iter()
        .map(|(id, name)| {
            let (managers, supervisors) = by_grid.remove(id.as_str()).unwrap_or_default();
            GridEntry { id: id.clone(), name: name.clone(), managers, supervisors }
        })
        .collect();
    Ok(no_store(json!({ "grids": entries, "people": persons })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewGrid {
    pub id: String,
    pub name: String,
}

/// A new grid: an admin's, audited (`grid_created`).
#[utoipa::path(
    post,
    path = "/admin/api/admin/grids",
    tag = "backoffice",
    security(("staff_session" = [])),
    request_body(content = serde_json::Value, description = "`{id, name}`"),
    responses(
        (status = 201, description = "`{id, name}`; an audit row `grid_created` is written", body = serde_json::Value),
        (status = 401, description = "No back-office session", body = gridbook_core::sync::wire::ErrorBody),
        (status = 403, description = "Not an admin, another site, or a missing or stale `X-CSRF-Token`", body = gridbook_core::sync::wire::ErrorBody),
        (status = 409, description = "`exists`: a grid with this id", body = gridbook_core::sync::wire::ErrorBody),
        (status = 422, description = "`invalid`: a bad id, or a name not of 1–64 characters", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub async fn create_grid(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    body: Result<Json<NewGrid>, JsonRejection>,
) -> AppResult<Response> {
    check_admin_write(&headers, &staff)?;
    let Json(grid) = body?;
    let (id, name) = (grid.id.trim().to_string(), grid.name.trim().to_string());
    crate::storage::sqlite::checked_grid_name(&name)?;
    let storage = state.storage.clone();
    let by = staff.id.clone();
    let (gid, gname) = (id.clone(), name.clone());
    blocking(move || {
        let now = now_ms();
        storage.create_grid(&gid, &gname, now)?;
        storage.record_audit(&by, "grid_created", &gid, &gname, now)?;
        Ok::<_, AppError>(())
    })
    .await?;
    tracing::info!(staff = %staff.id, grid = %id, "grid created in the back office");
    let mut response = no_store(json!({ "id": id, "name": name }));
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewName {
    pub name: String,
}

/// A grid renamed: an admin's, audited (`grid_renamed`, old → new).
#[utoipa::path(
    post,
    path = "/admin/api/admin/grids/{grid_id}/rename",
    tag = "backoffice",
    security(("staff_session" = [])),
    params(("grid_id" = String, Path, description = "The grid's id")),
    request_body(content = serde_json::Value, description = "`{name}`"),
    responses(
        (status = 200, description = "`{id, name}`; an audit row `grid_renamed` (old → new) is written", body = serde_json::Value),
        (status = 401, description = "No back-office session", body = gridbook_core::sync::wire::ErrorBody),
        (status = 403, description = "Not an admin, another site, or a missing or stale `X-CSRF-Token`", body = gridbook_core::sync::wire::ErrorBody),
        (status = 404, description = "No such grid", body = gridbook_core::sync::wire::ErrorBody),
        (status = 422, description = "`invalid`: a name not of 1–64 characters", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub async fn rename_grid(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    Path(grid_id): Path<String>,
    body: Result<Json<NewName>, JsonRejection>,
) -> AppResult<Response> {
    check_admin_write(&headers, &staff)?;
    let Json(body) = body?;
    if grid_id.is_empty() || grid_id.len() > 128 {
        return Err(AppError::not_found("没有这个网格 / no such grid"));
    }
    let storage = state.storage.clone();
    let (by, id, name) = (staff.id.clone(), grid_id.clone(), body.name.clone());
    blocking(move || storage.rename_grid(&id, &name, &by, now_ms())).await?;
    tracing::info!(staff = %staff.id, grid = %grid_id, "grid renamed in the back office");
    Ok(no_store(json!({ "id": grid_id, "name": body.name.trim() })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    pub manager_id: String,
    pub grid_id: String,
    /// true assigns the grid, false takes it away.
    pub assigned: bool,
}

/// A grid assigned to a field manager or a supervisor, or taken away: an admin's, audited
/// (`grid_assigned`, `grid_unassigned`). An admin's own account holds no grids: it sees them all.
#[utoipa::path(
    post,
    path = "/admin/api/admin/assignments",
    tag = "backoffice",
    security(("staff_session" = [])),
    request_body(content = serde_json::Value, description = "`{manager_id, grid_id, assigned}`"),
    responses(
        (status = 200, description = "`{manager_id, grid_id, assigned, changed}`; when changed, an audit row `grid_assigned` or `grid_unassigned` is written", body = serde_json::Value),
        (status = 401, description = "No back-office session", body = gridbook_core::sync::wire::ErrorBody),
        (status = 403, description = "Not an admin, another site, or a missing or stale `X-CSRF-Token`", body = gridbook_core::sync::wire::ErrorBody),
        (status = 404, description = "No such account or grid", body = gridbook_core::sync::wire::ErrorBody),
        (status = 422, description = "`invalid`: an admin's account (admins see every grid)", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub async fn assignment(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    body: Result<Json<Assignment>, JsonRejection>,
) -> AppResult<Response> {
    check_admin_write(&headers, &staff)?;
    let Json(a) = body?;
    let storage = state.storage.clone();
    let people = state.backoffice.staff.clone();
    let (by, manager, grid, assigned) = (staff.id.clone(), a.manager_id.clone(), a.grid_id.clone(), a.assigned);
    let changed = blocking(move || {
        let role = people.staff_account(&manager)?.map(|p| p.role);
        match role {
            None => return Err(AppError::not_found("没有这个账号 / no such account")),
            Some(Role::Admin) => {
                return Err(AppError::invalid("管理员可见全部网格，无需分配 / an admin sees every grid; assign none"))
            }
            Some(_) => {}
        }
        Ok(storage.set_grid_assignment(&manager, &grid, assigned, &by, now_ms())?)
    })
    .await?;
    tracing::info!(staff = %staff.id, manager = %a.manager_id, grid = %a.grid_id, assigned, changed, "grid assignment");
    Ok(no_store(json!({ "manager_id": a.manager_id, "grid_id": a.grid_id, "assigned": assigned, "changed": changed })))
}

/// A billing file (JSON lines, one `BillingProfile` a line, as `admin load-billing --file`)
/// loaded: checked in full before anything is written; the answer has the counts, a refusal
/// names the line. An admin's, audited (`billing_loaded`, the counts).
#[utoipa::path(
    post,
    path = "/admin/api/admin/billing-file",
    tag = "backoffice",
    security(("staff_session" = [])),
    request_body(content = String, content_type = "text/plain", description = "JSON lines (UTF-8 text), one billing profile a line"),
    responses(
        (status = 200, description = "`{received, written, unchanged, tiers}`; an audit row `billing_loaded` is written", body = serde_json::Value),
        (status = 401, description = "No back-office session", body = gridbook_core::sync::wire::ErrorBody),
        (status = 403, description = "Not an admin, another site, or a missing or stale `X-CSRF-Token`", body = gridbook_core::sync::wire::ErrorBody),
        (status = 422, description = "`invalid`: the line that is wrong, and why; nothing written", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub async fn billing_file(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    check_admin_write(&headers, &staff)?;
    let body = body.map_err(|e| AppError::invalid(format!("计费文件 / billing file: {}", e.body_text())))?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| AppError::invalid("计费文件须为 UTF-8 文本 / the billing file must be UTF-8 text (JSON lines)"))?;
    let profiles = billing::parse_json_lines(text)?;
    if profiles.is_empty() {
        return Err(AppError::invalid("计费文件没有数据行 / the billing file has no rows"));
    }
    let storage = state.storage.clone();
    let by = staff.id.clone();
    let report = blocking(move || super::billing::load_audited(storage.as_ref(), profiles, &by)).await?;
    tracing::info!(staff = %staff.id, received = report.received, written = report.written, "billing file loaded");
    Ok(no_store(report))
}
