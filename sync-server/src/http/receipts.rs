//! HTTP for signed evidence (issue 4):
//!
//! - `POST /v1/receipt-blocks` (device token): a new block of receipt numbers for the device.
//! - `GET /v1/verify/{receipt_no}?code=XXXX-XXXX-XX` (public): is this paper receipt genuine?
//!   Always the same answer shape; only a genuine receipt reveals its amount, date and grid.
//!   Rate-limited per client address (`client_addr.rs`), so one client's burst refuses no one else.
//! - `/v1/backoffice/…` (HTTP Basic, a supervisor's or admin's id and password): voids waiting
//!   for approval and the decision on one, one receipt with its evidence checked again, receipt
//!   books, the audit trail.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use gridbook_core::sync::wire::{
    ErrorCode, ReceiptBlockRequest, ReceiptBlockResponse, VerifyResponse, MIN_PROTOCOL_VERSION, PATH_RECEIPT_BLOCKS,
    PATH_VERIFY, PROTOCOL_VERSION,
};
use serde::Deserialize;

use crate::domain::auth::{DeviceAuth, Role};
use crate::domain::now_ms;
use crate::domain::password::verify_password;
use crate::http::client_addr::ClientAddr;
use crate::http::device_budget::BudgetConfig;
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::storage::evidence::{AuditRow, ReceiptBlockRow, ReceiptEvidence, VoidDecision, VoidReviewRow};

pub const PATH_BACKOFFICE_VOIDS: &str = "/v1/backoffice/voids";
pub const PATH_BACKOFFICE_RECEIPTS: &str = "/v1/backoffice/receipts";
pub const PATH_BACKOFFICE_RECEIPT_BLOCKS: &str = "/v1/backoffice/receipt-blocks";
pub const PATH_BACKOFFICE_AUDIT: &str = "/v1/backoffice/audit";

/// Public verifications one client address may make: `burst` at once, `per_second` on average.
/// A clerk checks a receipt now and then; a script guessing codes is held to a crawl.
pub const VERIFY_BUDGET: BudgetConfig = BudgetConfig { per_second: 5, burst: 20 };

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PATH_RECEIPT_BLOCKS, post(receipt_block))
        .route(&format!("{PATH_VERIFY}/{{receipt_no}}"), get(verify))
        .route(PATH_BACKOFFICE_VOIDS, get(voids))
        .route(&format!("{PATH_BACKOFFICE_VOIDS}/{{void_id}}/decision"), post(decide_void))
        .route(&format!("{PATH_BACKOFFICE_RECEIPTS}/{{receipt_no}}"), get(receipt_evidence))
        .route(PATH_BACKOFFICE_RECEIPT_BLOCKS, get(receipt_blocks))
        .route(PATH_BACKOFFICE_AUDIT, get(audit))
}

fn check_protocol(version: u32) -> AppResult<()> {
    if !(MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&version) {
        return Err(AppError::new(
            ErrorCode::UnsupportedProtocol,
            format!("protocol version {version} is not supported"),
        ));
    }
    Ok(())
}

/// POST /v1/receipt-blocks: a new block of receipt numbers for this device.
#[utoipa::path(
    post,
    path = "/v1/receipt-blocks",
    tag = "receipts",
    security(("device_token" = [])),
    request_body = ReceiptBlockRequest,
    responses(
        (status = 200, description = "The block (the same one again for a retried `request_id`)", body = ReceiptBlockResponse),
        (status = 400, description = "Malformed request or unsupported protocol version", body = gridbook_core::sync::wire::ErrorBody),
        (status = 401, description = "Missing, unknown or revoked device token", body = gridbook_core::sync::wire::ErrorBody),
        (status = 409, description = "`too_many_open_numbers`: the device already holds as many unused numbers as it may; use them, or the back office voids the book", body = gridbook_core::sync::wire::ErrorBody),
        (status = 410, description = "`wipe_ordered`: the back office ordered the device wiped (`wipe`); it may only push and report its wipe", body = gridbook_core::sync::wire::ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = gridbook_core::sync::wire::ErrorBody),
        (status = 422, description = "The JSON does not fit the request type", body = gridbook_core::sync::wire::ErrorBody),
        (status = 426, description = "`upgrade_required`: the app (`x-gridbook-app-version`) is below the server's minimum", body = gridbook_core::sync::wire::ErrorBody),
        (status = 429, description = "The device's request budget is spent; wait `Retry-After`", body = gridbook_core::sync::wire::ErrorBody),
        (status = 503, description = "Storage busy; retry", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub(crate) async fn receipt_block(
    State(state): State<AppState>,
    device: DeviceAuth,
    headers: axum::http::HeaderMap,
    body: Result<Json<ReceiptBlockRequest>, JsonRejection>,
) -> AppResult<Json<ReceiptBlockResponse>> {
    let Json(req) = body?;
    check_protocol(req.protocol)?;
    super::app_versions::check(&state, &device, super::app_versions::header_version(&headers)).await?;
    let storage = state.storage.clone();
    let block = tokio::task::spawn_blocking(move || storage.issue_receipt_block(&device, &req, now_ms())).await??;
    Ok(Json(ReceiptBlockResponse { protocol: PROTOCOL_VERSION, block }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct VerifyQuery {
    /// The verification code printed on the receipt, `XXXX-XXXX-XX`.
    #[serde(default)]
    code: String,
}

/// GET /v1/verify/{receipt_no}: is this paper receipt genuine? Public.
#[utoipa::path(
    get,
    path = "/v1/verify/{receipt_no}",
    tag = "receipts",
    params(("receipt_no" = String, Path, description = "The number printed on the receipt"), VerifyQuery),
    responses(
        (status = 200, description = "Always this shape; only a genuine receipt shows amount, date and grid", body = VerifyResponse),
        (status = 429, description = "Too many checks; wait `Retry-After`", body = gridbook_core::sync::wire::ErrorBody),
        (status = 503, description = "Storage busy; retry", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub(crate) async fn verify(
    State(state): State<AppState>,
    client: ClientAddr,
    Path(receipt_no): Path<String>,
    query: Result<Query<VerifyQuery>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Json<VerifyResponse>> {
    state.verify_budget.take(&client.key(), now_ms()).map_err(|wait_ms| {
        AppError::rate_limited(
            wait_ms,
            format!(
                "此地址核验过于频繁，请 {wait_ms} 毫秒后再试 too many checks from this address \
                 (more than {} a second, bursts of {}); try again in {wait_ms} ms",
                VERIFY_BUDGET.per_second, VERIFY_BUDGET.burst
            ),
        )
    })?;
    let code = query.map(|Query(q)| q.code).unwrap_or_default();
    if receipt_no.len() > 64 || code.len() > 64 {
        // the same answer as for any receipt that is not genuine
        let answer = VerifyResponse::invalid(&receipt_no);
        return Ok(Json(answer));
    }
    let storage = state.storage.clone();
    Ok(Json(tokio::task::spawn_blocking(move || storage.verify_receipt(&receipt_no, &code)).await??))
}

/// A supervisor or admin, by HTTP Basic credentials checked against the manager's password.
pub struct Staff {
    pub id: String,
    pub role: Role,
}

/// Standard base64 (RFC 4648, with padding), as HTTP Basic uses it.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let s = s.trim().trim_end_matches('=').as_bytes();
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

fn basic_credentials(parts: &Parts) -> Option<(String, String)> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(base64_decode(encoded)?).ok()?;
    let (id, password) = decoded.split_once(':')?;
    Some((id.to_string(), password.to_string()))
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let unauthorized = || AppError::unauthorized("back office: HTTP Basic credentials of a supervisor or admin");
        let (id, password) = basic_credentials(parts).ok_or_else(unauthorized)?;
        if id.is_empty() || id.len() > 64 || password.is_empty() || password.len() > 1024 {
            return Err(unauthorized());
        }
        let now = now_ms();
        // counted with the login form's failures: one account, one count, on every replica
        // (login_throttle.rs; the counts are in the database, read off the async workers)
        let address = ClientAddr::of(parts, &state.client_addr).key();
        let (throttle, staff) = (state.login_throttle.clone(), state.backoffice.staff.clone());
        let lookup = id.clone();
        let found = tokio::task::spawn_blocking(move || {
            if let Err(throttled) = throttle.check(&lookup, &address, now)? {
                return Err(throttled.to_error());
            }
            let account = staff.staff_account(&lookup)?;
            let role = account
                .filter(|a| a.password_hash.as_deref().is_some_and(|hash| verify_password(&password, hash)))
                .map(|a| a.role);
            match role {
                Some(Role::Supervisor | Role::Admin) => throttle.succeeded(&lookup, now)?,
                Some(Role::Field) => {}
                // counted from when the password was found wrong (checking it takes a while)
                None => throttle.failed(&lookup, &address, now_ms())?,
            }
            Ok::<_, AppError>(role)
        })
        .await??;
        match found {
            Some(role @ (Role::Supervisor | Role::Admin)) => Ok(Staff { id, role }),
            Some(Role::Field) => Err(AppError::forbidden("the back office is for supervisors and admins")),
            None => {
                tracing::warn!(account = %id, "back-office credentials refused");
                Err(unauthorized())
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct VoidsQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default = "default_limit")]
    limit: u32,
}
fn default_limit() -> u32 {
    200
}

async fn voids(
    State(state): State<AppState>,
    _staff: Staff,
    query: Result<Query<VoidsQuery>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Json<Vec<VoidReviewRow>>> {
    let Query(q) = query.map_err(|e| AppError::bad_query(e.body_text()))?;
    if let Some(s) = &q.status {
        if !["pending", "approved", "refused"].contains(&s.as_str()) {
            return Err(AppError::bad_query("status: pending, approved or refused"));
        }
    }
    let storage = state.storage.clone();
    let limit = q.limit.clamp(1, 1000);
    Ok(Json(tokio::task::spawn_blocking(move || storage.void_reviews(q.status.as_deref(), limit)).await??))
}

#[derive(Debug, Deserialize)]
pub struct DecisionBody {
    /// "approve" or "refuse".
    pub decision: String,
    #[serde(default)]
    pub note: String,
}

async fn decide_void(
    State(state): State<AppState>,
    staff: Staff,
    Path(void_id): Path<String>,
    body: Result<Json<DecisionBody>, JsonRejection>,
) -> AppResult<Json<VoidReviewRow>> {
    let Json(body) = body?;
    let decision =
        VoidDecision::parse(&body.decision).ok_or_else(|| AppError::invalid("decision: \"approve\" or \"refuse\""))?;
    let storage = state.storage.clone();
    let by = staff.id.clone();
    tracing::info!(staff = %staff.id, role = staff.role.as_str(), void = %void_id, "void decision");
    Ok(Json(
        tokio::task::spawn_blocking(move || storage.decide_void(&void_id, decision, &by, &body.note, now_ms()))
            .await??,
    ))
}

async fn receipt_evidence(
    State(state): State<AppState>,
    staff: Staff,
    Path(receipt_no): Path<String>,
) -> AppResult<Json<ReceiptEvidence>> {
    let storage = state.storage.clone();
    let no = receipt_no.clone();
    // the name, signature and code in full: audited (domain/reveals.rs)
    tokio::task::spawn_blocking(move || {
        crate::domain::reveals::receipt_evidence(storage.as_ref(), &staff.id, &no, now_ms())
    })
    .await??
    .map(Json)
    .ok_or_else(|| AppError::not_found(format!("no accepted receipt {receipt_no}")))
}

#[derive(Debug, Deserialize)]
struct BlocksQuery {
    #[serde(default)]
    device: Option<String>,
}

async fn receipt_blocks(
    State(state): State<AppState>,
    _staff: Staff,
    Query(q): Query<BlocksQuery>,
) -> AppResult<Json<Vec<ReceiptBlockRow>>> {
    let storage = state.storage.clone();
    Ok(Json(tokio::task::spawn_blocking(move || storage.receipt_blocks(q.device.as_deref())).await??))
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    #[serde(default)]
    subject: Option<String>,
    #[serde(default = "default_limit")]
    limit: u32,
}

async fn audit(
    State(state): State<AppState>,
    _staff: Staff,
    Query(q): Query<AuditQuery>,
) -> AppResult<Json<Vec<AuditRow>>> {
    let storage = state.storage.clone();
    let limit = q.limit.clamp(1, 1000);
    Ok(Json(tokio::task::spawn_blocking(move || storage.audit_log(q.subject.as_deref(), limit)).await??))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_basic_auth_sends_it() {
        assert_eq!(base64_decode("c3VwOnNlY3JldA==").as_deref(), Some(&b"sup:secret"[..]));
        assert_eq!(base64_decode("YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64_decode("YWI=").as_deref(), Some(&b"ab"[..]));
        assert_eq!(base64_decode("YWJj").as_deref(), Some(&b"abc"[..]));
        assert_eq!(base64_decode("5byg5LiJOuWvhueggQ==").map(String::from_utf8), Some(Ok("张三:密码".to_string())));
        assert_eq!(base64_decode("a"), None);
        assert_eq!(base64_decode("ab$c"), None);
    }
}
