//! Who a sync request comes from: the device token of `Authorization: Bearer`, checked against
//! the stored hashes (domain/auth.rs), then the device's request budget. Handlers take a
//! `DeviceAuth` argument and get only authenticated devices within their budget.
//!
//! A device the back office ordered wiped (docs/sync-protocol.md, "Remote wipe") is told here at
//! its first contact after the order (noted, so the order can no longer be cancelled), and from
//! then on may only push what it holds and report its wipe: every other request is refused
//! `410 wipe_ordered` with the order in the answer.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use gridbook_core::sync::wire::{PATH_PUSH, PATH_WIPE_REPORT};

use super::error::AppError;
use super::state::AppState;
use crate::domain::auth::{hash_secret, DeviceAuth, DeviceWipe};
use crate::domain::now_ms;

/// What a device with a wipe order may still ask: push (its answer carries the order), report.
const WHILE_WIPING: [&str; 2] = [PATH_PUSH, PATH_WIPE_REPORT];

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
        let token_hash = hash_secret(&token);
        let mut device = if state.storage.authenticates_inline() {
            state.storage.authenticate_device(&token_hash)?
        } else {
            let storage = state.storage.clone();
            tokio::task::spawn_blocking(move || storage.authenticate_device(&token_hash)).await??
        };
        // after authentication: a budget is a device's, and a stranger's requests spend nobody's
        state.device_budget.check(&device.device_id, now_ms())?;
        if let Some(wipe) = device.wipe {
            device.wipe = match wipe.told {
                true => Some(wipe),
                // the first contact since the order: noted as told in the same statement that
                // reads it back, so an order cancelled meanwhile is not told after all
                false => {
                    let (storage, id) = (state.storage.clone(), device.device_id.clone());
                    tokio::task::spawn_blocking(move || storage.wipe_told(&id, now_ms()))
                        .await??
                        .map(|order| DeviceWipe { order, told: true })
                }
            };
            if let Some(wipe) = device.wipe {
                if !WHILE_WIPING.contains(&parts.uri.path()) {
                    return Err(AppError::wipe_ordered(wipe.order));
                }
            }
        }
        Ok(device)
    }
}
