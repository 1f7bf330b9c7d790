//! The sync endpoints: enrol, push, pull, health. Each checks the protocol version and hands the
//! work to storage on a blocking thread (SQLite is synchronous).

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::header;
use axum::Json;
use gridbook_core::sync::wire::{
    EnrolRequest, EnrolResponse, ErrorCode, PullPage, PushRequest, PushResponse, StoredState, MIN_PROTOCOL_VERSION,
    PROTOCOL_VERSION,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::domain::auth::DeviceAuth;
use crate::domain::now_ms;
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;

/// The most ops one push may carry.
pub const MAX_OPS_PER_PUSH: usize = 5_000;

pub(crate) fn check_protocol(version: u32) -> AppResult<()> {
    if !(MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&version) {
        return Err(AppError::new(ErrorCode::UnsupportedProtocol, format!("protocol version {version} is not supported; this server speaks {MIN_PROTOCOL_VERSION} to {PROTOCOL_VERSION}"),
        ));
    }
    Ok(())
}

pub async fn health(State(state): State<AppState>) -> AppResult<Json<serde_json::Value>> {
    let storage = state.storage.clone();
    tokio::task::spawn_blocking(move || storage.check_health()).await??;
    Ok(Json(serde_json::json!({ "status": "ok", "protocol": PROTOCOL_VERSION, "version": env!("CARGO_PKG_VERSION") })))
}

pub async fn enrol(
    State(state): State<AppState>,
    body: Result<Json<EnrolRequest>, JsonRejection>,
) -> AppResult<Json<EnrolResponse>> {
    let Json(req) = body?;
    check_protocol(req.protocol)?;
    let storage = state.storage.clone();
    Ok(Json(tokio::task::spawn_blocking(move || storage.enrol(&req, now_ms())).await??))
}

/// A JSON body parsed straight from its bytes. Only a body that fails is parsed again by axum's
/// `Json`, whose path tracking names the failing field in the error (and costs a third of the
/// parse of a push, so the push route does not pay it for good bodies).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            let Json(value) = Json::<T>::from_request(req, state).await?;
            return Ok(Self(value));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(JsonRejection::from)?;
        match serde_json::from_slice(&bytes) {
            Ok(value) => Ok(Self(value)),
            Err(_) => Json::<T>::from_bytes(&bytes).map(|Json(value)| Self(value)).map_err(AppError::from),
        }
    }
}

pub async fn push(
    State(state): State<AppState>,
    device: DeviceAuth,
    body: JsonBody<PushRequest>,
) -> AppResult<Json<PushResponse>> {
    let JsonBody(req) = body;
    check_protocol(req.protocol)?;
    if req.ops.len() > MAX_OPS_PER_PUSH {
        return Err(AppError::new(
            ErrorCode::TooManyOps,
            format!("{} ops in one push; send at most {MAX_OPS_PER_PUSH}", req.ops.len()),
        ));
    }
    let (storage, rules) = (state.storage.clone(), state.rules);
    let response = tokio::task::spawn_blocking(move || storage.push(&device, req, &rules, now_ms())).await??;
    Ok(Json(response))
}

#[derive(Debug, Deserialize)]
pub struct PullQuery {
    #[serde(default)]
    cursor: u64,
    #[serde(default = "default_limit")]
    limit: u32,
    #[serde(default = "current_protocol")]
    protocol: u32,
}
fn default_limit() -> u32 {
    1000
}
pub(crate) fn current_protocol() -> u32 {
    PROTOCOL_VERSION
}

pub async fn pull(
    State(state): State<AppState>,
    device: DeviceAuth,
    query: Result<Query<PullQuery>, QueryRejection>,
) -> AppResult<Json<PullPage<StoredState>>> {
    let Query(q) = query.map_err(|e| AppError::bad_query(e.body_text()))?;
    check_protocol(q.protocol)?;
    if q.limit == 0 || q.limit > 10_000 {
        return Err(AppError::bad_query("limit must be between 1 and 10000"));
    }
    let storage = state.storage.clone();
    Ok(Json(tokio::task::spawn_blocking(move || storage.pull(&device, q.cursor, q.limit, now_ms())).await??))
}
