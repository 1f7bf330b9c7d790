//! `GET /v1/receipt-seal`: the company's seal image the phones print on every receipt's copy
//! (docs/sync-protocol.md, "Receipt profile"). The answers name it by SHA-256; a phone asks for
//! it only when that changes.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use gridbook_core::sync::wire::PATH_RECEIPT_SEAL;

use super::error::{AppError, AppResult};
use super::state::AppState;
use crate::domain::auth::DeviceAuth;

pub fn routes() -> Router<AppState> {
    Router::new().route(PATH_RECEIPT_SEAL, get(receipt_seal))
}

/// GET /v1/receipt-seal: the seal image (PNG) named by the receipt profile's `seal_sha256`.
#[utoipa::path(
    get,
    path = "/v1/receipt-seal",
    tag = "sync",
    security(("device_token" = [])),
    responses(
        (status = 200, description = "The seal (PNG, at most 512 KB and 1024 px a side); its SHA-256 is the profile's `seal_sha256`", content_type = "image/png", body = Vec<u8>),
        (status = 401, description = "Missing, unknown or revoked device token", body = gridbook_core::sync::wire::ErrorBody),
        (status = 404, description = "`not_found`: this server prints no seal", body = gridbook_core::sync::wire::ErrorBody),
        (status = 410, description = "`wipe_ordered`: the back office ordered the device wiped", body = gridbook_core::sync::wire::ErrorBody),
        (status = 429, description = "The device's request budget is spent; wait `Retry-After` seconds", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub async fn receipt_seal(State(state): State<AppState>, _device: DeviceAuth) -> AppResult<Response> {
    let seal = state
        .receipts
        .seal
        .clone()
        .ok_or_else(|| AppError::not_found("本服务器未配置印章 / this server prints no seal"))?;
    let mut response = seal.png.clone().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    Ok(response)
}
