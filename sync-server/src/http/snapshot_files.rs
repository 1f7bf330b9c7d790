//! `GET /v1/snapshot-file` (docs/sync-protocol.md, "Snapshot file"): a fresh phone's scope as a
//! prebuilt SQLite file, streamed from disk with its facts in the headers. Building and caching
//! the files is domain/snapshot_files.rs.

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::Response;
use gridbook_core::sync::snapshot_file::DEVICE_SCHEMA_VERSION;
use gridbook_core::sync::wire::{ErrorCode, SnapshotFileFacts};
use serde::Deserialize;

use super::error::{AppError, AppResult};
use super::state::AppState;
use super::sync::{check_protocol, current_protocol};
use crate::domain::auth::DeviceAuth;
use crate::domain::snapshot_files::{io_error, CachedFile};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SnapshotFileQuery {
    /// The device schema the phone's store is in (`PRAGMA user_version`); a file is only for
    /// exactly that schema. Required.
    #[param(required = true)]
    schema: Option<i64>,
    /// The protocol version the device speaks (default: the server's newest).
    #[serde(default = "current_protocol")]
    #[param(minimum = 1, maximum = 1)]
    protocol: u32,
}

/// GET /v1/snapshot-file: the device's scope as a file, streamed from disk.
#[utoipa::path(
    get,
    path = "/v1/snapshot-file",
    tag = "sync",
    security(("device_token" = [])),
    params(SnapshotFileQuery),
    responses(
        (status = 200, description = "The device's grids as one SQLite file in its schema, gzip'd on the wire \
            (Content-Encoding: gzip). The headers carry `SnapshotFileFacts`; the device checks each before installing.",
            content_type = "application/vnd.sqlite3", body = Vec<u8>,
            headers(
                ("gridbook-snapshot-cursor" = u64, description = "The change number the file reflects: pull from here"),
                ("gridbook-snapshot-schema" = i64, description = "The device schema the file was built in"),
                ("gridbook-snapshot-rows" = u64, description = "Synced records in the file"),
                ("gridbook-snapshot-sha256" = String, description = "SHA-256 of the uncompressed file, 64 lowercase hex digits"),
                ("gridbook-snapshot-bytes" = u64, description = "Size of the uncompressed file"),
                ("gridbook-snapshot-newest-stamp" = String, description = "The newest clock stamp in the file, when it has records"),
            )),
        (status = 400, description = "`bad_query`: `schema` missing or not a number; `unsupported_protocol`", body = gridbook_core::sync::wire::ErrorBody),
        (status = 401, description = "Missing, unknown or revoked device token", body = gridbook_core::sync::wire::ErrorBody),
        (status = 410, description = "`wipe_ordered`: the back office ordered the device wiped (`wipe`); it may only push and report its wipe", body = gridbook_core::sync::wire::ErrorBody),
        (status = 404, description = "`no_snapshot_file`: none offered (files off, no grids, scope too small): pull row pages", body = gridbook_core::sync::wire::ErrorBody),
        (status = 409, description = "`snapshot_schema_mismatch`: files are built in another device schema: pull row pages", body = gridbook_core::sync::wire::ErrorBody),
        (status = 426, description = "`upgrade_required`: the app (`x-gridbook-app-version`) is below the server's minimum", body = gridbook_core::sync::wire::ErrorBody),
        (status = 429, description = "The device's request budget is spent; wait `Retry-After`", body = gridbook_core::sync::wire::ErrorBody),
        (status = 503, description = "The file is being replaced or storage is busy; retry", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub async fn snapshot_file(
    State(state): State<AppState>,
    device: DeviceAuth,
    headers: axum::http::HeaderMap,
    query: Result<Query<SnapshotFileQuery>, QueryRejection>,
) -> AppResult<Response> {
    let Query(q) = query.map_err(|e| AppError::bad_query(e.body_text()))?;
    check_protocol(q.protocol)?;
    super::app_versions::check(&state, &device, super::app_versions::header_version(&headers)).await?;
    let schema = q.schema.ok_or_else(|| AppError::bad_query("schema: the device's schema version is required"))?;
    let Some(files) = state.snapshot_files.clone() else {
        return Err(AppError::new(ErrorCode::NoSnapshotFile, "this server builds no snapshot files"));
    };
    if schema != DEVICE_SCHEMA_VERSION {
        return Err(AppError::new(
            ErrorCode::SnapshotSchemaMismatch,
            format!(
                "this server builds files for device schema {DEVICE_SCHEMA_VERSION}, the device is at schema {schema}"
            ),
        ));
    }
    if device.grids.is_empty() {
        return Err(AppError::new(ErrorCode::NoSnapshotFile, "this device has no grids"));
    }
    // A rebuild may replace the file between reading its description and opening it: ask again.
    for _ in 0..3 {
        let cached = files.file_for(state.storage.clone(), device.grids.clone()).await?;
        let path = files.path_of(&cached);
        match tokio::fs::File::open(&path).await {
            Ok(file) => return Ok(file_response(file, &cached)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(&path, e).into()),
        }
    }
    Err(AppError::unavailable("the snapshot file is being replaced; retry"))
}

/// The gzip'd file as the body, read from disk as it is sent (never whole in memory), with its
/// facts in the headers. `Content-Encoding: gzip` keeps the compression layer off it.
fn file_response(file: tokio::fs::File, cached: &CachedFile) -> Response {
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SnapshotFileFacts::CONTENT_TYPE));
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(cached.gz_bytes));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for (name, value) in cached.facts.headers() {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    response
}
