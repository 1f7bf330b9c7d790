//! The sync endpoints: enrol, push, pull, health. Each checks the protocol version and hands the
//! work to storage on a blocking thread (SQLite is synchronous).

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{header, HeaderMap};
use axum::Json;
use gridbook_core::sync::wire::{
    AppUpdate, EnrolRequest, EnrolResponse, EntityState, ErrorBody, ErrorCode, PullPage, PushRequest, PushResponse,
    StoredState, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::domain::auth::DeviceAuth;
use crate::domain::now_ms;
use crate::http::app_versions;
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

/// The answer of `GET /health`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok` (a server that cannot reach its storage answers 503).
    pub status: String,
    /// The newest protocol version this server speaks.
    pub protocol: u32,
    /// The server's build version.
    pub version: String,
}

/// GET /health: the server is up and its storage answers.
#[utoipa::path(
    get,
    path = "/health",
    tag = "sync",
    responses(
        (status = 200, description = "Up, storage answering", body = Health),
        (status = 503, description = "The server is busy or its storage unavailable; retry later", body = ErrorBody),
    )
)]
pub async fn health(State(state): State<AppState>) -> AppResult<Json<Health>> {
    let storage = state.storage.clone();
    tokio::task::spawn_blocking(move || storage.check_health()).await??;
    Ok(Json(Health { status: "ok".into(), protocol: PROTOCOL_VERSION, version: env!("CARGO_PKG_VERSION").into() }))
}

/// POST /v1/enrol: a phone enrols with a one-time code from the back office and gets its token.
#[utoipa::path(
    post,
    path = "/v1/enrol",
    tag = "sync",
    request_body = EnrolRequest,
    responses(
        (status = 200, description = "Enrolled: the token is shown once", body = EnrolResponse),
        (status = 400, description = "Malformed request or unsupported protocol version", body = ErrorBody),
        (status = 401, description = "Unknown or expired enrolment code", body = ErrorBody),
        (status = 403, description = "The device was revoked and cannot enrol again", body = ErrorBody),
        (status = 409, description = "`code_used`: the code was used; `device_taken`: the device id is enrolled", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The JSON does not fit the request type (the field is named)", body = ErrorBody),
        (status = 503, description = "The server is busy or its storage unavailable; retry later", body = ErrorBody),
    )
)]

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

/// POST /v1/push: the device's ops, answered per op after a durable commit.
#[utoipa::path(
    post,
    path = "/v1/push",
    tag = "sync",
    security(("device_token" = [])),
    request_body = PushRequest,
    responses(
        (status = 200, description = "One result per op, in the order sent; `wipe` when the back office ordered the device wiped", body = PushResponse),
        (status = 400, description = "Malformed request or unsupported protocol version", body = ErrorBody),
        (status = 401, description = "Missing, unknown or revoked device token (a device that reported its wipe too)", body = ErrorBody),
        (status = 413, description = "`too_many_ops`: more than 5,000 ops, or a body over 16 MiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The JSON does not fit the request type (the field is named)", body = ErrorBody),
        (status = 426, description = "`upgrade_required`: the app is below the server's minimum version (`min_app_version`; `update`: the build to install). A push is applied before it is refused", body = ErrorBody),
        (status = 429, description = "The device's request budget is spent; wait `Retry-After` seconds (`retry_after_ms` too)", body = ErrorBody),
        (status = 503, description = "The server is busy or its storage unavailable; retry later", body = ErrorBody),
    )
)]
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
    let versions = app_versions::policy(&state).await?;
    let app_version = req.facts.app_version.clone();
    let (storage, rules, pusher) = (state.storage.clone(), state.rules, device.clone());
    let mut grids: Vec<String> = req.ops.iter().map(|op| op.grid.clone()).collect();
    grids.sort_unstable();
    grids.dedup();
    let announcer = state.clone();
    let mut response = tokio::task::spawn_blocking(move || {
        let pushed = storage.push(&pusher, req, &rules, now_ms());
        // committed: the phones waiting on these grids look (an op refused wakes them for
        // nothing, which costs one look). Announced from the thread that committed, not after the
        // hop back to the request's task: the waiters wake that much sooner
        if pushed.is_ok() {
            crate::http::changes::announce(&announcer, grids);
        }
        pushed
    })
    .await??;
    // An app below the minimum is refused only now, its ops applied: what an old phone holds (its
    // receipts) reaches the server before the upgrade prompt; the push it sends again after the
    // upgrade is answered as a repeat. A device to be wiped is not asked to upgrade first.
    if device.wipe.is_none() {
        app_versions::refusal(&versions, &device, &app_version)?;
    }
    response.generation = Some(state.storage.generation());
    response.update = versions.offer(&device, &app_version);
    response.policy = Some(state.policy);
    response.receipt = Some(state.receipt_profile(&device.collector));
    response.wipe = device.wipe.map(|w| w.order);
    Ok(Json(response))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PullQuery {
    /// `next_cursor` of the previous page; 0 (the default) for a new device's first pull.
    #[serde(default)]
    #[param(minimum = 0)]
    cursor: u64,
    /// Records per page, 1 to 10,000 (default 1,000); outside that range the pull is refused
    /// (400 `bad_query`), not capped.
    #[serde(default = "default_limit")]
    #[param(minimum = 1, maximum = 10000)]
    limit: u32,
    /// The protocol version the device speaks (default: the server's newest).
    #[serde(default = "current_protocol")]
    #[param(minimum = 1, maximum = 1)]
    protocol: u32,
}
fn default_limit() -> u32 {
    1000
}
pub(crate) fn current_protocol() -> u32 {
    PROTOCOL_VERSION
}

/// GET /v1/pull: a page of current state after the cursor.
#[utoipa::path(
    get,
    path = "/v1/pull",
    tag = "sync",
    security(("device_token" = [])),
    params(PullQuery),
    responses(
        (status = 200, description = "A page; `next_cursor` resumes, `has_more` says whether to ask again", body = PullPage<EntityState>),
        (status = 400, description = "`bad_query`: a query value out of range or not a number; `unsupported_protocol`", body = ErrorBody),
        (status = 401, description = "Missing, unknown or revoked device token", body = ErrorBody),
        (status = 410, description = "`wipe_ordered`: the back office ordered the device wiped (`wipe`); it may only push and report its wipe", body = ErrorBody),
        (status = 426, description = "`upgrade_required`: the app is below the server's minimum version (`min_app_version`; `update`: the build to install). A push is applied before it is refused", body = ErrorBody),
        (status = 429, description = "The device's request budget is spent; wait `Retry-After` seconds (`retry_after_ms` too)", body = ErrorBody),
        (status = 503, description = "The server is busy or its storage unavailable; retry later", body = ErrorBody),
    )
)]
pub async fn pull(
    State(state): State<AppState>,
    device: DeviceAuth,
    headers: HeaderMap,
    query: Result<Query<PullQuery>, QueryRejection>,
) -> AppResult<Json<PullPage<StoredState>>> {
    let Query(q) = query.map_err(|e| AppError::bad_query(e.body_text()))?;
    check_protocol(q.protocol)?;
    check_limit(q.limit)?;
    let update = app_versions::check(&state, &device, app_versions::header_version(&headers)).await?;
    let (storage, collector) = (state.storage.clone(), device.collector.clone());
    let page = tokio::task::spawn_blocking(move || storage.pull(&device, q.cursor, q.limit, now_ms())).await??;
    Ok(Json(dressed(&state, page, &collector, update)))
}

/// A page's size as the device asked it: 1 to 10,000, refused (not capped) outside.
pub(crate) fn check_limit(limit: u32) -> AppResult<()> {
    if limit == 0 || limit > 10_000 {
        return Err(AppError::bad_query("limit must be between 1 and 10000"));
    }
    Ok(())
}

/// A device's page with what every page carries (generation, policy, receipt profile, the offered
/// `update`): the pull's answer, and the live-change answer's page.
pub(crate) fn dressed(
    state: &AppState,
    mut page: PullPage<StoredState>,
    collector: &gridbook_core::CollectorProfile,
    update: Option<AppUpdate>,
) -> PullPage<StoredState> {
    page.generation = Some(state.storage.generation());
    page.update = update;
    page.policy = Some(state.policy);
    page.receipt = Some(state.receipt_profile(collector));
    page
}
