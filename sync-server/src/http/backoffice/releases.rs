//! The back office's app versions (issue 17): which version each device runs, the builds of the
//! Android app an admin publishes (uploaded here: phones in China have no Google Play), who each
//! build is rolled out to, and the minimum version the server syncs with. Reads need a staff
//! session; changes an admin, with the CSRF token, each audited.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use gridbook_core::sync::wire::ErrorCode;
use serde::Deserialize;
use serde_json::json;

use super::api::{blocking, no_store};
use super::session::check_admin_write;
use super::staff_session::StaffSession;
use crate::domain::app_versions::{check_version, checked_rollout, id_list, IncomingBuild, MAX_APK_BYTES};
use crate::domain::now_ms;
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        // the upload is read as a stream and bounded by `receive` itself (a raw body is not
        // under the body limit); the limit here is for the extractors of the other methods
        .route("/admin/api/releases", get(list).post(publish).layer(DefaultBodyLimit::max(MAX_APK_BYTES as usize)))
        .route("/admin/api/releases/{sha256}/rollout", post(rollout))
        .route("/admin/api/releases/{sha256}/withdraw", post(withdraw))
        .route("/admin/api/min-app-version", post(set_minimum))
}

/// GET /admin/api/releases: the minimum, every build, and how many devices run each version.
async fn list(State(state): State<AppState>, StaffSession(_): StaffSession) -> AppResult<Response> {
    let (releases, storage) = (state.app_versions.storage().clone(), state.storage.clone());
    let (min, builds, devices) =
        blocking(move || Ok::<_, AppError>((releases.min_app_version()?, releases.releases()?, storage.devices()?)))
            .await?;
    let mut running: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for d in devices.iter().filter(|d| d.revoked_at_ms.is_none()) {
        let entry = running.entry(d.app_version.clone()).or_default();
        entry.0 += 1;
        if !gridbook_core::sync::app_version::meets_minimum(&d.app_version, min.as_deref()) {
            entry.1 += 1;
        }
    }
    let mut versions: Vec<_> = running.into_iter().collect();
    versions.sort_by(|a, b| gridbook_core::sync::app_version::compare(&b.0, &a.0));
    let versions: Vec<_> = versions
        .into_iter()
        .map(
            |(version, (devices, below))| json!({ "version": version, "devices": devices, "below_minimum": below > 0 }),
        )
        .collect();
    Ok(no_store(json!({ "min_app_version": min, "releases": builds, "versions": versions })))
}

#[derive(Debug, Deserialize)]
struct PublishQuery {
    version: String,
    #[serde(default)]
    notes: String,
    /// 0–100 (default 0: published, offered to nobody yet).
    #[serde(default)]
    rollout: u8,
    /// Comma-separated grid ids (empty: every grid).
    #[serde(default)]
    grids: String,
    /// Comma-separated manager ids (empty: every manager).
    #[serde(default)]
    managers: String,
}

/// POST /admin/api/releases?version=…&notes=…&rollout=…&grids=…&managers=…, the APK as the
/// body: written to disk as it arrives (never whole in memory) and hashed on the way.
async fn publish(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    q: Result<Query<PublishQuery>, QueryRejection>,
    body: Body,
) -> AppResult<Response> {
    check_admin_write(&headers, &staff)?;
    let Query(q) = q.map_err(|e| AppError::bad_query(e.body_text()))?;
    check_version(&q.version).map_err(AppError::invalid)?;
    let rollout = checked_rollout(q.rollout, id_list(&q.grids), id_list(&q.managers))?;
    let releases = state.app_versions.storage().clone();
    let Some(dir) = releases.releases_dir() else {
        return Err(AppError::new(ErrorCode::Unsupported, "这个存储后端不保存安装包 / this backend keeps no builds"));
    };
    let mut build = IncomingBuild::start(&dir)?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| AppError::new(ErrorCode::BadBody, format!("上传中断 / the upload broke off: {e}")))?;
        build.write(&chunk)?;
    }
    let by = staff.id.clone();
    let row = blocking(move || build.publish(releases.as_ref(), &q.version, &q.notes, &rollout, &by, now_ms())).await?;
    state.app_versions.forget();
    tracing::info!(staff = %staff.id, version = %row.version, bytes = row.bytes, rollout = row.rollout_percent, "app build published");
    Ok(no_store(row))
}

#[derive(Debug, Deserialize)]
struct RolloutBody {
    percent: u8,
    #[serde(default)]
    grids: Vec<String>,
    #[serde(default)]
    managers: Vec<String>,
}

/// POST /admin/api/releases/{sha256}/rollout {percent, grids, managers}.
async fn rollout(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    Path(sha256): Path<String>,
    body: Result<Json<RolloutBody>, JsonRejection>,
) -> AppResult<Response> {
    check_admin_write(&headers, &staff)?;
    let Json(b) = body?;
    let rollout = checked_rollout(b.percent, b.grids, b.managers)?;
    let releases = state.app_versions.storage().clone();
    let row = blocking(move || releases.set_rollout(&sha256, &rollout, &staff.id, now_ms())).await?;
    state.app_versions.forget();
    Ok(no_store(row))
}

/// POST /admin/api/releases/{sha256}/withdraw: offered to nobody from now on.
async fn withdraw(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    Path(sha256): Path<String>,
) -> AppResult<Response> {
    check_admin_write(&headers, &staff)?;
    let releases = state.app_versions.storage().clone();
    let row = blocking(move || releases.withdraw_release(&sha256, &staff.id, now_ms())).await?;
    state.app_versions.forget();
    Ok(no_store(row))
}

#[derive(Debug, Deserialize)]
struct MinimumBody {
    /// The lowest version that may sync; null or empty: every version.
    version: Option<String>,
}

/// POST /admin/api/min-app-version {version}.
async fn set_minimum(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    body: Result<Json<MinimumBody>, JsonRejection>,
) -> AppResult<Response> {
    check_admin_write(&headers, &staff)?;
    let Json(b) = body?;
    let version = match b.version.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => Some(check_version(v).map_err(AppError::invalid)?),
        None => None,
    };
    let releases = state.app_versions.storage().clone();
    let set = version.clone();
    blocking(move || releases.set_min_app_version(set.as_deref(), &staff.id, now_ms())).await?;
    state.app_versions.forget();
    tracing::info!(minimum = ?version, "minimum app version set");
    Ok(no_store(json!({ "min_app_version": version })))
}
