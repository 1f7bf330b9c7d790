//! Each visit's and receipt's photos in the back office (issue 20): a thumbnail the server makes
//! once of the whole photo (on first request, kept beside it by the blob store), the photo's full
//! view, and the photos missing per device. A photo is shown only to staff who may see a grid
//! whose visit or receipt names it (the `grid` the page asks with).
//!
//! Privacy (docs/photos.md): a photo may show a door plate, a signed paper form or an ID card,
//! so its full view is audited like a reveal of personal data (`photo_viewed`, who, which photo,
//! which fact); a thumbnail (240 px, too small to read a form's lines) is shown with the masked
//! household page, like its other masked lines, and not audited.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use gridbook_core::sync::wire::ErrorCode;
use serde::Deserialize;
use serde_json::json;

use super::api::{no_store, query};
use super::staff_session::StaffSession;
use super::workbench::{one_grid, with_grids};
use crate::domain::drilldown::HouseholdPage;
use crate::domain::now_ms;
use crate::domain::photos::{self, MissingPhoto};
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::storage::blobs::BlobStore;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/api/photos/missing", get(missing))
        .route("/admin/api/photos/{sha256}/thumbnail", get(thumbnail))
        .route("/admin/api/photos/{sha256}", get(full_view))
}

/// Says where each photo of a household page stands.
pub(super) fn settle_page(
    page: &mut HouseholdPage,
    blobs: Option<Arc<dyn BlobStore>>,
    missing_after_ms: i64,
) -> Result<(), AppError> {
    photos::settle(&mut page.history, blobs.as_deref(), now_ms(), missing_after_ms).map_err(fault)
}

fn fault(e: std::io::Error) -> AppError {
    tracing::error!(error = %e, "photo storage");
    AppError::unavailable("照片存储出错，请重试 / photo storage failed; retry")
}

#[derive(Debug, Deserialize)]
struct PhotoQuery {
    /// The grid whose visit or receipt names the photo.
    grid: Option<String>,
}

fn jpeg(bytes: Vec<u8>) -> Response {
    let mut r = bytes.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    // the bytes never change under an address, but whether this person may see them can
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    r
}

/// The photo, if a fact of a grid the staff member sees names it; with that fact.
async fn fetch(
    state: &AppState,
    staff: super::session::Staff,
    sha256: String,
    grid: Option<String>,
    thumbnail: bool,
) -> AppResult<(Vec<u8>, (&'static str, String, String), String)> {
    if !gridbook_core::photos::is_photo_sha256(&sha256) {
        return Err(AppError::not_found("照片地址须为 SHA-256 / a photo is addressed by its SHA-256"));
    }
    let blobs =
        state.photos.clone().ok_or_else(|| AppError::not_found("本服务器不保存照片 / this server keeps no photos"))?;
    with_grids(state, staff, move |storage, grids| {
        let grid = one_grid(&grids, grid.as_deref())?;
        let fact = photos::naming_fact(storage, &grid, &sha256)?.ok_or_else(|| {
            AppError::not_found("此网格没有这张照片 / no visit or receipt of this grid has this photo")
        })?;
        let bytes = if thumbnail { photos::thumbnail(blobs.as_ref(), &sha256) } else { blobs.photo(&sha256) };
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(AppError::new(ErrorCode::Invalid, "照片无法解码 / the photo cannot be decoded"))
            }
            Err(e) => return Err(fault(e)),
        };
        let bytes = bytes.ok_or_else(|| AppError::not_found("照片上传中 / the photo is on its way"))?;
        Ok((bytes, fact, grid))
    })
    .await
}

/// GET /admin/api/photos/{sha256}/thumbnail?grid=…: a small JPEG of the photo.
async fn thumbnail(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    Path(sha256): Path<String>,
    q: Result<Query<PhotoQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let (bytes, _, _) = fetch(&state, staff, sha256, q.grid, true).await?;
    Ok(jpeg(bytes))
}

/// GET /admin/api/photos/{sha256}?grid=…: the whole photo, audited (`photo_viewed`).
async fn full_view(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    Path(sha256): Path<String>,
    q: Result<Query<PhotoQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let who = staff.id.clone();
    let (bytes, (kind, fact_id, household), grid) = fetch(&state, staff, sha256.clone(), q.grid, false).await?;
    let storage = state.storage.clone();
    let detail = format!("{kind} {fact_id} household {household} grid {grid}");
    super::api::blocking(move || storage.record_audit(&who, "photo_viewed", &sha256, &detail, now_ms())).await?;
    Ok(jpeg(bytes))
}

/// GET /admin/api/photos/missing: photos not here long after their visit or receipt, by the
/// device that owes them, over the grids the staff member sees.
async fn missing(State(state): State<AppState>, StaffSession(staff): StaffSession) -> AppResult<Response> {
    let (blobs, after) = (state.photos.clone(), state.backoffice.photo_missing_after_ms);
    let who = staff.id.clone();
    let (rows, more): (Vec<MissingPhoto>, bool) = with_grids(&state, staff, move |storage, grids| {
        let ids: Vec<String> = grids.into_iter().map(|(g, _)| g).collect();
        Ok(photos::missing_photos(storage, blobs.as_deref(), &ids, now_ms(), after)?)
    })
    .await?;
    tracing::info!(staff = %who, view = "missing_photos", rows = rows.len(), "back-office view");
    let mut devices: Vec<serde_json::Value> = Vec::new();
    for chunk in rows.chunk_by(|a, b| a.owed_by == b.owed_by) {
        devices.push(json!({ "device_id": chunk[0].owed_by, "count": chunk.len(), "photos": chunk }));
    }
    Ok(no_store(json!({ "missing_after_h": after / 3_600_000, "more": more, "devices": devices })))
}
