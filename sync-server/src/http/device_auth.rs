//! Who a sync request comes from: the device token of `Authorization: Bearer`, checked against
//! the stored hashes (domain/auth.rs), then the device's request budget. Handlers take a
//! `DeviceAuth` argument and get only authenticated devices within their budget.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::AppError;
use super::state::AppState;
use crate::domain::auth::{hash_secret, DeviceAuth};
use crate::domain::now_ms;

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| AppError::unauthorized("missing Authorization: Bearer <device token>"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| AppError::unauthorized("the Authorization header must be 'Bearer <device token>'"))?
            .to_string();
        let storage = state.storage.clone();
        let device = tokio::task::spawn_blocking(move || storage.authenticate_device(&hash_secret(&token))).await??;
        // after authentication: a budget is a device's, and a stranger's requests spend nobody's
        state.device_budget.check(&device.device_id, now_ms())?;
        Ok(device)
    }
}
