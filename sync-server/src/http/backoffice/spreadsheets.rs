//! The back office's import and export endpoints and their page (issue 7), under the same session,
//! roles and CSRF rules as the rest of /admin:
//! - `POST /admin/api/import/{archives|arrears}?grid=G[&dry_run=true][&file=NAME]`: the sheet is
//!   the raw request body (CSV or XLSX, told apart by content), at most `MAX_SHEET_BYTES`; the
//!   `X-CSRF-Token` header carries the session's token. Admins only. Answers the import report.
//! - `GET /admin/api/export/{archives|visits|receipts|summary}?grid=G&format=csv|xlsx[&from=D&to=D][&full=true]`:
//!   supervisors and admins, ID and phone numbers masked; `full=true` is for admins and audited.
//! - `GET /admin/api/export/{visits|receipts}/photos?…` (the same query): that sheet and the photos
//!   its rows name, in one ZIP streamed as it is written (photo_export.rs).
//! - `GET /admin/api/import/{archives|arrears}/template?format=csv|xlsx`: an empty sheet with the
//!   template's header row.
//! - `GET /admin/api/transfer`: the grids and the templates' columns, for the page.
//! - `GET /admin/transfer`: the page.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use gridbook_core::sync::wire::ErrorCode;
use serde::Deserialize;
use serde_json::json;

use super::api::{blocking, no_store, query};
use super::session::check_admin_write;
use super::staff_session::StaffSession;
use super::workbench::visible_grids;
use crate::domain::auth::Role;
use crate::domain::now_ms;
use crate::domain::spreadsheets::export::{self, Dataset, ExportRequest};
use crate::domain::spreadsheets::sheet::{self, Format};
use crate::domain::spreadsheets::template::Column;
use crate::domain::spreadsheets::{archives, arrears, SheetKind, Upload};
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;

/// The largest sheet an import accepts: tens of thousands of rows of an archive fit.
pub const MAX_SHEET_BYTES: usize = 8 * 1024 * 1024;

const TRANSFER_HTML: &str = include_str!("../../../assets/transfer.html");
const TRANSFER_JS: &str = include_str!("../../../assets/transfer.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/transfer", get(page))
        .route("/admin/assets/transfer.js", get(script))
        .route("/admin/api/transfer", get(overview))
        .route("/admin/api/import/{sheet}", post(import).layer(DefaultBodyLimit::max(MAX_SHEET_BYTES)))
        .route("/admin/api/import/{sheet}/template", get(template))
        .route("/admin/api/export/{dataset}", get(export))
        .route("/admin/api/export/{dataset}/photos", get(super::photo_export::export_with_photos))
}

async fn page(StaffSession(staff): StaffSession) -> Response {
    super::pages::staff_page(TRANSFER_HTML, &staff)
}

async fn script() -> Response {
    super::pages::script(TRANSFER_JS)
}

fn columns(template: &[Column]) -> serde_json::Value {
    template.iter().map(|c| json!({ "zh": c.zh, "en": c.en, "required": c.required })).collect()
}

async fn overview(State(state): State<AppState>, StaffSession(staff): StaffSession) -> AppResult<Response> {
    let storage = state.storage.clone();
    let grids = blocking(move || storage.grid_names()).await?;
    Ok(no_store(json!({
        "role": staff.role.as_str(),
        "may_import": staff.role == Role::Admin,
        "may_export_full": staff.role == Role::Admin,
        "max_sheet_bytes": MAX_SHEET_BYTES,
        "grids": grids.into_iter().map(|(id, name)| json!({ "id": id, "name": name })).collect::<Vec<_>>(),
        "templates": { "archives": columns(archives::TEMPLATE), "arrears": columns(arrears::TEMPLATE) },
    })))
}

#[derive(Debug, Deserialize)]
pub struct ImportQuery {
    #[serde(default)]
    grid: String,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    file: String,
}

async fn import(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    Path(sheet): Path<String>,
    headers: HeaderMap,
    q: Result<Query<ImportQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    check_admin_write(&headers, &staff)?;
    let kind = SheetKind::parse(&sheet).ok_or_else(|| AppError::not_found("import archives or arrears"))?;
    let q = query(q)?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::new(
                ErrorCode::TooLarge,
                format!(
                    "the sheet is larger than {} MiB; split it / 文件过大，请拆分后导入",
                    MAX_SHEET_BYTES / 1024 / 1024
                ),
            )
        } else {
            AppError::new(ErrorCode::BadBody, e.body_text())
        }
    })?;
    let storage = state.storage.clone();
    let file: String = q.file.chars().filter(|c| !c.is_control()).take(200).collect();
    let report = blocking(move || {
        let upload = Upload { kind, grid: &q.grid, bytes: &body, dry_run: q.dry_run, actor: &staff.id, file: &file };
        crate::domain::spreadsheets::import(storage.as_ref(), &upload, now_ms())
    })
    .await?;
    tracing::info!(
        sheet = %sheet, grid = %report.grid_id, dry_run = report.dry_run, rows = report.rows,
        refused = report.refused_rows, ops = report.ops, "back-office import"
    );
    Ok(no_store(report))
}

#[derive(Debug, Deserialize)]
pub(super) struct FileQuery {
    #[serde(default)]
    pub(super) grid: String,
    format: Option<String>,
    from: Option<String>,
    to: Option<String>,
    #[serde(default)]
    full: bool,
}

fn format_of(q: &Option<String>) -> AppResult<Format> {
    match q.as_deref() {
        None | Some("") => Ok(Format::Xlsx),
        Some(f) => Format::parse(f).ok_or_else(|| AppError::bad_query("format: csv or xlsx")),
    }
}

fn attachment(bytes: Vec<u8>, filename: &str, content_type: &'static str) -> Response {
    let mut r = bytes.into_response();
    download_headers(&mut r, filename, content_type);
    r
}

/// A download's headers: its type, never cached or sniffed, saved under `filename` (ASCII kept).
pub(super) fn download_headers(r: &mut Response, filename: &str, content_type: &'static str) {
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let disposition = format!(
        "attachment; filename=\"{}\"",
        filename.replace(|c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '-' && c != '_', "_")
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
}

async fn template(
    StaffSession(_): StaffSession,
    Path(sheet): Path<String>,
    q: Result<Query<FileQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let format = format_of(&q.format)?;
    let template = match SheetKind::parse(&sheet) {
        Some(SheetKind::Archives) => archives::TEMPLATE,
        Some(SheetKind::Arrears) => arrears::TEMPLATE,
        None => return Err(AppError::not_found("templates: archives or arrears")),
    };
    let headers: Vec<&str> = template.iter().map(|c| c.zh).collect();
    let bytes = sheet::write(format, "模板", &headers, &[])?;
    Ok(attachment(bytes, &format!("{sheet}-template.{}", format.extension()), format.content_type()))
}

async fn export(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    Path(dataset): Path<String>,
    q: Result<Query<FileQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let dataset = Dataset::parse(&dataset)
        .ok_or_else(|| AppError::not_found("exports: archives, visits, receipts or summary"))?;
    let full = q.full;
    let out = scoped_export(&state, &staff, dataset, q, |_, out| Ok(out)).await?;
    tracing::info!(staff = %staff.id, export = dataset.as_str(), rows = out.rows, full, "back-office export");
    Ok(attachment(out.bytes, &out.filename, out.content_type))
}

/// Runs `dataset`'s export as `staff` may ask for it — the full one for admins only, a grid they
/// may not see as no grid at all, masked and audited by `export::export` — then `then` with the
/// storage and the sheet, in the same blocking task (an export with photos plans them there).
pub(super) async fn scoped_export<T: Send + 'static>(
    state: &AppState,
    staff: &super::session::Staff,
    dataset: Dataset,
    q: FileQuery,
    then: impl FnOnce(std::sync::Arc<dyn crate::storage::SyncStorage>, export::Exported) -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    if q.full && staff.role != Role::Admin {
        return Err(AppError::forbidden(
            "only an admin may export ID and phone numbers in full / 仅管理员可导出完整证件号和电话",
        ));
    }
    if q.grid.trim().is_empty() {
        return Err(AppError::bad_query("grid: the grid to export"));
    }
    let req = ExportRequest {
        dataset,
        grid: q.grid.trim().to_string(),
        format: format_of(&q.format)?,
        from: q.from,
        to: q.to,
        full: q.full,
    };
    let storage = state.storage.clone();
    let people = state.backoffice.staff.clone();
    let actor = staff.id.clone();
    let who = staff.clone();
    blocking(move || {
        // a grid the staff member may not see exports as no grid at all
        if !visible_grids(storage.as_ref(), people.as_ref(), &who)?.iter().any(|(id, _)| *id == req.grid) {
            return Err(AppError::not_found("没有这个网格，或无权查看 / no such grid, or not yours to see"));
        }
        let out = export::export(storage.as_ref(), &req, &actor, now_ms())?;
        then(storage, out)
    })
    .await
}
