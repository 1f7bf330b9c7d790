//! The photo upload channel beside the op push (docs/sync-protocol.md, "Photos"): a phone sends a
//! photo in chunks under its SHA-256, each acknowledged after a durable write, asks which chunks
//! the server holds to resume after any cut, and the server keeps the photo only once the whole
//! hashes to its address. Another phone fetches a photo whole when it is opened. Storage is
//! `storage::blobs::BlobStore`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use gridbook_core::photos::is_photo_sha256;
use gridbook_core::sync::wire::{photo_chunks, ErrorCode, PhotoStatus, MAX_PHOTO_BYTES, PATH_PHOTOS};
use serde::Deserialize;

use super::error::{AppError, AppResult};
use super::state::AppState;
use crate::domain::auth::DeviceAuth;
use crate::storage::blobs::{chunk_len, BlobStore, ChunkOutcome};

/// The first bytes of every JPEG file (SOI and the next marker's start).
pub const JPEG_START: [u8; 3] = [0xFF, 0xD8, 0xFF];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&format!("{PATH_PHOTOS}/{{sha256}}/chunks/{{index}}"), put(put_chunk))
        .route(&format!("{PATH_PHOTOS}/{{sha256}}/status"), get(status))
        .route(&format!("{PATH_PHOTOS}/{{sha256}}"), get(photo))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PhotoSize {
    /// The whole photo's size in bytes, 1 to `MAX_PHOTO_BYTES` (8 MiB). Required.
    #[param(required = true, minimum = 1, maximum = 8388608)]
    size: Option<u64>,
}

fn blobs(state: &AppState) -> AppResult<Arc<dyn BlobStore>> {
    state.photos.clone().ok_or_else(|| AppError::new(ErrorCode::Unsupported, "this server keeps no photos"))
}

fn address(sha256: &str) -> AppResult<()> {
    if is_photo_sha256(sha256) {
        Ok(())
    } else {
        Err(AppError::not_found("a photo is addressed by its SHA-256, 64 lower-case hex digits"))
    }
}

fn size_of(query: Result<Query<PhotoSize>, QueryRejection>) -> AppResult<u64> {
    let Query(q) = query.map_err(|e| AppError::bad_query(e.body_text()))?;
    let size = q.size.ok_or_else(|| AppError::bad_query("size: the photo's size in bytes is required"))?;
    if size == 0 {
        return Err(AppError::bad_query("size: a photo has at least one byte"));
    }
    if size > MAX_PHOTO_BYTES {
        return Err(AppError::new(
            ErrorCode::TooLarge,
            format!("照片太大（{size} 字节，上限 {MAX_PHOTO_BYTES}） / the photo is {size} bytes, the limit is {MAX_PHOTO_BYTES}"),
        ));
    }
    Ok(size)
}

fn io(e: std::io::Error) -> AppError {
    tracing::error!(error = %e, "photo storage");
    AppError::unavailable("photo storage failed; retry")
}

/// PUT /v1/photos/{sha256}/chunks/{index}: one chunk, stored durably before the answer.
#[utoipa::path(
    put,
    path = "/v1/photos/{sha256}/chunks/{index}",
    tag = "photos",
    security(("device_token" = [])),
    params(
        ("sha256" = String, Path, description = "The photo's SHA-256, 64 lower-case hex digits"),
        ("index" = u32, Path, description = "The chunk's index from 0; every chunk is `PHOTO_CHUNK_BYTES` (262144) bytes but the last"),
        PhotoSize,
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The chunk's bytes"),
    responses(
        (status = 200, description = "Stored (or held already). `complete` once the whole photo is here and its hash checked.", body = PhotoStatus),
        (status = 400, description = "`bad_query`: `size` missing, zero, or the index past the last chunk; `bad_body`: the chunk's length is wrong for its index", body = gridbook_core::sync::wire::ErrorBody),
        (status = 401, description = "Missing, unknown or revoked device token", body = gridbook_core::sync::wire::ErrorBody),
        (status = 404, description = "The address is not a SHA-256", body = gridbook_core::sync::wire::ErrorBody),
        (status = 413, description = "`too_large`: the photo is larger than the server takes", body = gridbook_core::sync::wire::ErrorBody),
        (status = 415, description = "`unsupported_media_type`: chunk 0 does not start as a JPEG does (FF D8 FF): not a photo", body = gridbook_core::sync::wire::ErrorBody),
        (status = 422, description = "`hash_mismatch`: the chunks put together do not hash to the address; they were dropped: send the photo again", body = gridbook_core::sync::wire::ErrorBody),
        (status = 501, description = "`unsupported`: this server keeps no photos", body = gridbook_core::sync::wire::ErrorBody),
        (status = 503, description = "Storage failed or is busy; the chunk was not acknowledged: send it again", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub async fn put_chunk(
    State(state): State<AppState>,
    _device: DeviceAuth,
    Path((sha256, index)): Path<(String, u32)>,
    query: Result<Query<PhotoSize>, QueryRejection>,
    body: Bytes,
) -> AppResult<Json<PhotoStatus>> {
    address(&sha256)?;
    let size = size_of(query)?;
    let Some(expected) = chunk_len(size, index) else {
        return Err(AppError::bad_query(format!(
            "index {index}: a photo of {size} bytes has chunks 0 to {}",
            photo_chunks(size) - 1
        )));
    };
    if body.len() != expected {
        return Err(AppError::new(
            ErrorCode::BadBody,
            format!("chunk {index} of a {size}-byte photo is {expected} bytes, not {}", body.len()),
        ));
    }
    // a prepared photo is a JPEG: anything else is refused at its first chunk, before the rest
    // of it crosses the network
    if index == 0 && !body.starts_with(&JPEG_START) {
        return Err(AppError::new(
            ErrorCode::UnsupportedMediaType,
            "不是照片：照片须为 JPEG 格式 / not a photo: a photo is a JPEG (its first bytes are FF D8 FF)",
        ));
    }
    let store = blobs(&state)?;
    let outcome =
        tokio::task::spawn_blocking(move || store.put_chunk(&sha256, size, index, &body)).await?.map_err(io)?;
    match outcome {
        ChunkOutcome::Stored(status) => Ok(Json(status)),
        ChunkOutcome::HashMismatch => Err(AppError::new(
            ErrorCode::HashMismatch,
            "照片内容与其哈希不符，已丢弃，请重新上传 / the photo's bytes do not hash to its address; its chunks were dropped: send it again",
        )),
    }
}

/// GET /v1/photos/{sha256}/status: which chunks the server holds (resume from the first missing).
#[utoipa::path(
    get,
    path = "/v1/photos/{sha256}/status",
    tag = "photos",
    security(("device_token" = [])),
    params(("sha256" = String, Path, description = "The photo's SHA-256"), PhotoSize),
    responses(
        (status = 200, description = "What the server holds of the photo", body = PhotoStatus),
        (status = 400, description = "`bad_query`: `size` missing or zero", body = gridbook_core::sync::wire::ErrorBody),
        (status = 401, description = "Missing, unknown or revoked device token", body = gridbook_core::sync::wire::ErrorBody),
        (status = 404, description = "The address is not a SHA-256", body = gridbook_core::sync::wire::ErrorBody),
        (status = 413, description = "`too_large`: the photo is larger than the server takes", body = gridbook_core::sync::wire::ErrorBody),
        (status = 501, description = "`unsupported`: this server keeps no photos", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub async fn status(
    State(state): State<AppState>,
    _device: DeviceAuth,
    Path(sha256): Path<String>,
    query: Result<Query<PhotoSize>, QueryRejection>,
) -> AppResult<Json<PhotoStatus>> {
    address(&sha256)?;
    let size = size_of(query)?;
    let store = blobs(&state)?;
    Ok(Json(tokio::task::spawn_blocking(move || store.status(&sha256, size)).await?.map_err(io)?))
}

/// GET /v1/photos/{sha256}: the whole photo, for a phone that opens it.
#[utoipa::path(
    get,
    path = "/v1/photos/{sha256}",
    tag = "photos",
    security(("device_token" = [])),
    params(("sha256" = String, Path, description = "The photo's SHA-256")),
    responses(
        (status = 200, description = "The photo (JPEG); its SHA-256 is the address", content_type = "image/jpeg", body = Vec<u8>),
        (status = 401, description = "Missing, unknown or revoked device token", body = gridbook_core::sync::wire::ErrorBody),
        (status = 404, description = "`not_found`: not (yet) on the server, or the address is not a SHA-256", body = gridbook_core::sync::wire::ErrorBody),
        (status = 501, description = "`unsupported`: this server keeps no photos", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub async fn photo(
    State(state): State<AppState>,
    _device: DeviceAuth,
    Path(sha256): Path<String>,
) -> AppResult<Response> {
    address(&sha256)?;
    let store = blobs(&state)?;
    let bytes = tokio::task::spawn_blocking(move || store.photo(&sha256))
        .await?
        .map_err(io)?
        .ok_or_else(|| AppError::not_found("照片尚未到达 / the photo is not on the server (yet)"))?;
    let mut response = bytes.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    // content-addressed: the same address is always the same bytes
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable"));
    Ok(response)
}
