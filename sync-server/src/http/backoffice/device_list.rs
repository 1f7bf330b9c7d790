//! The back office's device list (issue 18): every device the staff member may see is classified
//! (`Thresholds::classify`), filtered by health state, grid or wipe, put in the sync-health order
//! (`DeviceHealth::attention_order`) and only then cut to a page, with the total of the filtered
//! list and the counts the versions tab shows over all of them, not over one page.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::api::{blocking, device_views, no_store, page_bounds, query, DeviceView};
use super::staff_session::StaffSession;
use super::workbench::Visible;
use crate::domain::device_health::{DeviceHealth, DeviceState};
use crate::domain::now_ms;
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::storage::wipes::WipeStatus;

#[derive(Debug, Deserialize)]
pub struct DeviceQuery {
    offset: Option<u32>,
    limit: Option<u32>,
    /// One health state: `ok`, `stuck`, `stale`, `never_synced`, `revoked`.
    state: Option<String>,
    /// Devices of this grid only.
    grid: Option<String>,
    /// `any`: devices with a wipe on record, newest order first; `open`: a wipe ordered or told,
    /// not yet reported; `orderable`: not revoked and with no wipe under way that the phone heard.
    wipe: Option<String>,
}

/// Which devices of the wipe tab a query asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WipeFilter {
    Any,
    Open,
    Orderable,
}

impl WipeFilter {
    fn parse(name: &str) -> AppResult<WipeFilter> {
        match name {
            "any" => Ok(WipeFilter::Any),
            "open" => Ok(WipeFilter::Open),
            "orderable" => Ok(WipeFilter::Orderable),
            _ => Err(AppError::bad_query(format!(
                "wipe 只能是 any、open 或 orderable / wipe must be any, open or orderable: {}",
                name.chars().take(40).collect::<String>()
            ))),
        }
    }

    fn keeps(self, d: &DeviceView) -> bool {
        let status = d.wipe.as_ref().map(|w| w.status);
        match self {
            WipeFilter::Any => status.is_some(),
            WipeFilter::Open => matches!(status, Some(WipeStatus::Ordered | WipeStatus::Told)),
            // an order the phone has not heard yet is replaced by a new one
            WipeFilter::Orderable => {
                d.health.state != DeviceState::Revoked && matches!(status, None | Some(WipeStatus::Ordered))
            }
        }
    }
}

/// What the versions tab and the overview count, over every device the staff member may see:
/// each state, and among the devices not revoked those flagged.
#[derive(Debug, Default, Serialize)]
pub struct DeviceCounts {
    pub states: HashMap<&'static str, u64>,
    pub skewed: u64,
    pub low_storage: u64,
    pub slow_sync: u64,
    pub battery_saver: u64,
    /// Apps too old to say which phone they run on.
    pub unknown_model: u64,
}

impl DeviceCounts {
    fn of(devices: &[DeviceView]) -> DeviceCounts {
        let mut c =
            DeviceCounts { states: DeviceState::ALL.iter().map(|s| (s.as_str(), 0)).collect(), ..Default::default() };
        for d in devices {
            *c.states.entry(d.health.state.as_str()).or_default() += 1;
            if d.health.state == DeviceState::Revoked {
                continue;
            }
            c.skewed += u64::from(d.health.skewed);
            c.low_storage += u64::from(d.health.low_storage);
            c.slow_sync += u64::from(d.health.slow_sync);
            c.battery_saver += u64::from(d.device.battery_saver == Some(true));
            c.unknown_model += u64::from(d.device.device_model.is_none());
        }
        c
    }
}

/// The devices the staff member may see, one page (`offset`, `limit` 1–1000, 50) of those the
/// filters keep, in the sync-health order (or, for `wipe`, newest order first), with their total
/// and `counts` over every visible device.
#[utoipa::path(
    get,
    path = "/admin/api/devices",
    tag = "backoffice",
    security(("staff_session" = [])),
    params(
        ("state" = Option<String>, Query, description = "Only this health state: ok, stuck, stale, never_synced, revoked"),
        ("grid" = Option<String>, Query, description = "Only the devices of this grid"),
        ("wipe" = Option<String>, Query, description = "any: devices with a wipe on record, newest order first; open: a wipe ordered or told, not yet reported; orderable: not revoked, no wipe the phone has heard"),
        ("offset" = Option<u32>, Query, description = "Devices to skip"),
        ("limit" = Option<u32>, Query, description = "At most this many, 1–1000 (50)"),
    ),
    responses(
        (status = 200, description = "`{now_ms, thresholds, total, offset, limit, counts, devices}`: the total of all the filters keep; `counts` (per state, skewed, low_storage, slow_sync, battery_saver, unknown_model) over every device the staff member may see; this page, stuck first, then never synced, stale, ok, revoked (skewed first, then by manager's name and device id)", body = serde_json::Value),
        (status = 400, description = "An unknown state or wipe filter, or a malformed query", body = gridbook_core::sync::wire::ErrorBody),
        (status = 401, description = "No back-office session", body = gridbook_core::sync::wire::ErrorBody),
        (status = 503, description = "Storage busy; retry", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub async fn devices(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    q: Result<Query<DeviceQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let (offset, limit) = page_bounds(q.offset, q.limit, 50, 1000);
    let wanted = match q.state.as_deref() {
        Some(name) => Some(DeviceState::parse(name).ok_or_else(|| {
            AppError::bad_query(format!("state 不认识 / unknown state: {}", name.chars().take(40).collect::<String>()))
        })?),
        None => None,
    };
    let wipe = q.wipe.as_deref().map(WipeFilter::parse).transpose()?;
    let storage = state.storage.clone();
    let people = state.backoffice.staff.clone();
    let (devices, wipes) = blocking(move || {
        let seen = Visible::of(storage.as_ref(), people.as_ref(), &staff)?;
        let mut devices = storage.devices()?;
        devices.retain(|d| seen.device(d));
        Ok::<_, AppError>((devices, storage.wipes()?))
    })
    .await?;
    let now = now_ms();
    let mut all = device_views(&state, devices, wipes, now);
    let counts = DeviceCounts::of(&all);
    all.retain(|d| {
        wanted.is_none_or(|s| d.health.state == s)
            && q.grid.as_ref().is_none_or(|g| d.device.grids.contains(g))
            && wipe.is_none_or(|w| w.keeps(d))
    });
    match wipe {
        Some(WipeFilter::Any | WipeFilter::Open) => all.sort_by(|a, b| {
            let at = |d: &DeviceView| d.wipe.as_ref().map_or(0, |w| w.ordered_at_ms);
            at(b).cmp(&at(a)).then_with(|| a.device.device_id.cmp(&b.device.device_id))
        }),
        _ => all.sort_by(|a, b| DeviceHealth::attention_order((&a.health, &a.device), (&b.health, &b.device))),
    }
    let total = all.len();
    let page: Vec<DeviceView> = all.into_iter().skip(offset as usize).take(limit as usize).collect();
    Ok(no_store(json!({
        "now_ms": now,
        "thresholds": state.backoffice.thresholds,
        "total": total,
        "offset": offset,
        "limit": limit,
        "counts": counts,
        "devices": page,
    })))
}
