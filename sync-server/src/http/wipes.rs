//! `POST /v1/device/wipe-report`: a device's last request, once it carried out the back office's
//! order to wipe it (docs/sync-protocol.md, "Remote wipe"). The report is checked (its own
//! device, figures within bounds, signed with a key the device registered: domain/wipes.rs) and
//! recorded against the standing order; from then on the device's token is refused as revoked.

use axum::extract::State;
use axum::Json;
use gridbook_core::sync::wire::{ErrorBody, WipeReportRequest, WipeReportResponse, PROTOCOL_VERSION};

use super::error::{AppError, AppResult};
use super::state::AppState;
use super::sync::{check_protocol, JsonBody};
use crate::domain::auth::DeviceAuth;
use crate::domain::now_ms;
use crate::domain::wipes::check_report;

/// POST /v1/device/wipe-report: what the device uploaded before its wipe and what was lost, signed.
#[utoipa::path(
    post,
    path = "/v1/device/wipe-report",
    tag = "sync",
    security(("device_token" = [])),
    request_body = WipeReportRequest,
    responses(
        (status = 200, description = "Recorded: the device's token is refused from now on (`401 revoked`)", body = WipeReportResponse),
        (status = 400, description = "Malformed request or unsupported protocol version", body = ErrorBody),
        (status = 401, description = "Missing, unknown or revoked device token (also: the report was recorded already)", body = ErrorBody),
        (status = 404, description = "`not_found`: the device has no wipe order", body = ErrorBody),
        (status = 409, description = "`wipe_under_way`: the device's wipe was reported already", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "`invalid`: another device's report, a figure out of bounds, another order, or a signature that does not verify under the device's registered key", body = ErrorBody),
        (status = 429, description = "The device's request budget is spent; wait `Retry-After` seconds (`retry_after_ms` too)", body = ErrorBody),
        (status = 503, description = "The server is busy or its storage unavailable; retry later", body = ErrorBody),
    )
)]
pub async fn report(
    State(state): State<AppState>,
    device: DeviceAuth,
    body: JsonBody<WipeReportRequest>,
) -> AppResult<Json<WipeReportResponse>> {
    let JsonBody(request) = body;
    check_protocol(request.protocol)?;
    let storage = state.storage.clone();
    let now = now_ms();
    let row = tokio::task::spawn_blocking(move || {
        let keys = storage.registered_keys(&device.device_id)?;
        check_report(&device, &request, &keys)?;
        Ok::<_, AppError>(storage.record_wipe_report(&device.device_id, &request.report, now)?)
    })
    .await??;
    tracing::warn!(
        device = %row.device_id,
        mode = row.mode.as_str(),
        lost_ops = row.report.as_ref().map_or(0, |r| r.ops_lost),
        lost_receipts = row.report.as_ref().map_or(0, |r| r.receipts_lost),
        "device reported its wipe; its token is refused from now on"
    );
    Ok(Json(WipeReportResponse { protocol: PROTOCOL_VERSION, recorded_at_ms: now }))
}
