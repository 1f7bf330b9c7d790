//! `GET /v1/changes`: the live-change long poll (docs/sync-protocol.md, "Live changes"). A phone
//! that is online asks with its pull cursor; the answer comes as soon as records of its grids after
//! that cursor can be pulled (`changed: true`), or after `wait_s` seconds with `changed: false`
//! ("maybe"), and the phone pulls either way. Any replica serves it: a push announces its grids
//! once committed (storage/changes.rs; between replicas PostgreSQL relays it), and every waiter of
//! those grids looks in the database again. What it answers always comes from the database; a
//! lost announcement only delays the answer until the timeout.

use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use gridbook_core::sync::wire::{
    AppUpdate, ChangesResponse, EntityState, ErrorBody, PullPage, StoredState, CHANGES_MAX_WAIT_S,
};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use crate::domain::auth::DeviceAuth;
use crate::domain::now_ms;
use crate::http::app_versions;
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::http::sync::{check_limit, check_protocol, current_protocol, dressed};
use crate::storage::error::StorageResult;

/// After an announcement that found nothing to pull yet (on PostgreSQL a transaction still
/// running holds the watermark below the new records, and may end without announcing anything),
/// when to look again, in milliseconds after each look: soon first — most such transactions are
/// another phone's push or pull that ends within milliseconds — then less often. After the last,
/// the waiter waits for the next announcement again. (One fixed look 50 ms later made that the
/// latency of every change met behind a running transaction.)
const LOOK_AGAIN_AFTER_MS: [u64; 5] = [2, 5, 10, 20, 50];

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The device's pull cursor (`next_cursor` of its last page).
    #[serde(default)]
    #[param(minimum = 0)]
    cursor: u64,
    /// Seconds to wait for a change, 0 to 25 (the default); outside that range the request is
    /// refused (400 `bad_query`). 0 answers at once.
    #[serde(default = "default_wait")]
    #[param(minimum = 0, maximum = 25)]
    wait_s: u32,
    /// The protocol version the device speaks (default: the server's newest).
    #[serde(default = "current_protocol")]
    #[param(minimum = 1, maximum = 1)]
    protocol: u32,
    /// Records per page, 1 to 10,000, as for `GET /v1/pull`: given, a `changed: true` answer
    /// carries the page a pull from `cursor` would answer (`page`), saving the woken phone its
    /// pull request. Without it the answer is the bare signal (phones before the page).
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<u32>,
}

fn default_wait() -> u32 {
    CHANGES_MAX_WAIT_S
}

/// GET /v1/changes: waits until the device's grids hold records after its cursor.
#[utoipa::path(
    get,
    path = "/v1/changes",
    tag = "sync",
    security(("device_token" = [])),
    params(ChangesQuery),
    responses(
        (status = 200, description = "`changed: true`: records after the cursor can be pulled now (with `limit`: `page` carries them); `changed: false` after `wait_s` seconds: maybe (pull anyway)", body = ChangesResponse<EntityState>),
        (status = 400, description = "`bad_query`: a query value out of range or not a number; `unsupported_protocol`", body = ErrorBody),
        (status = 401, description = "Missing, unknown or revoked device token", body = ErrorBody),
        (status = 410, description = "`wipe_ordered`: the back office ordered the device wiped (`wipe`); it may only push and report its wipe", body = ErrorBody),
        (status = 429, description = "The device's request budget is spent; wait `Retry-After` seconds (`retry_after_ms` too)", body = ErrorBody),
        (status = 503, description = "The server is busy or its storage unavailable; retry after `Retry-After` seconds", body = ErrorBody),
    )
)]
pub async fn changes(
    State(state): State<AppState>,
    device: DeviceAuth,
    headers: HeaderMap,
    query: Result<Query<ChangesQuery>, QueryRejection>,
) -> AppResult<Json<ChangesResponse<StoredState>>> {
    let Query(q) = query.map_err(|e| AppError::bad_query(e.body_text()))?;
    check_protocol(q.protocol)?;
    if q.wait_s > CHANGES_MAX_WAIT_S {
        return Err(AppError::bad_query(format!("wait_s must be between 0 and {CHANGES_MAX_WAIT_S}")));
    }
    if let Some(limit) = q.limit {
        check_limit(limit)?;
    }
    // the page's `update`, decided once: an app below the minimum gets the bare signal (its pull
    // answers 426, as without the page)
    let page = match q.limit {
        Some(limit) => {
            let version = app_versions::header_version(&headers);
            app_versions::check(&state, &device, version).await.ok().map(|update| (limit, update))
        }
        None => None,
    };
    let look = || look(&state, &device, q.cursor, page.clone());
    // the server may answer "maybe" sooner than asked (--changes-max-wait-s), never later
    let deadline = Instant::now() + Duration::from_secs(q.wait_s.min(state.changes_max_wait_s).into());
    // subscribed before the first look: an announcement made after the look is not missed
    let mut announcements = state.changes.subscribe();
    loop {
        if let Some(answer) = look().await? {
            return Ok(answer);
        }
        // wait for an announcement of one of the device's grids
        let woken = loop {
            match tokio::time::timeout_at(deadline, announcements.recv()).await {
                Err(_) | Ok(Err(RecvError::Closed)) => break false,
                Ok(Ok(changed)) if changed.touches(&device.grids) => break true,
                Ok(Ok(_)) => continue,
                // fell behind: something may have been for us
                Ok(Err(RecvError::Lagged(_))) => break true,
            }
        };
        if !woken {
            return Ok(look().await?.unwrap_or(Json(ChangesResponse { changed: false, page: None })));
        }
        if let Some(answer) = look().await? {
            return Ok(answer);
        }
        for after_ms in LOOK_AGAIN_AFTER_MS {
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep_until(deadline.min(Instant::now() + Duration::from_millis(after_ms))).await;
            if let Some(answer) = look().await? {
                return Ok(answer);
            }
        }
        // announcements made while looking are still queued in `announcements`: none is missed
    }
}

/// One look at the database, on one blocking thread: `None` when nothing after the cursor can be
/// pulled yet; else `changed: true`, carrying the page the device's pull gets now when it asked
/// with `page` (its limit and update offer). With `page` the look is the page's read itself (one
/// read, not `changed_since` then the pull): an empty page is nothing yet.
async fn look(
    state: &AppState,
    device: &DeviceAuth,
    cursor: u64,
    page: Option<(u32, Option<AppUpdate>)>,
) -> AppResult<Option<Json<ChangesResponse<StoredState>>>> {
    let (storage, waiter) = (state.storage.clone(), device.clone());
    let limit = page.as_ref().map(|(limit, _)| *limit);
    let found = tokio::task::spawn_blocking(move || -> StorageResult<Option<Option<PullPage<StoredState>>>> {
        match limit {
            Some(limit) => Ok(storage.live_page(&waiter, cursor, limit, now_ms())?.map(Some)),
            None => Ok(storage.changed_since(&waiter.device_id, &waiter.grids, cursor)?.then_some(None)),
        }
    })
    .await??;
    let Some(found) = found else { return Ok(None) };
    let update = page.and_then(|(_, update)| update);
    let page = found.map(|p| dressed(state, p, &device.collector, update));
    Ok(Some(Json(ChangesResponse { changed: true, page })))
}

/// After a committed push that wrote records in `grids`: wakes this process's waiters, and
/// (storage permitting) every other replica's. An announcement that fails is only logged: the
/// waiters' timeout covers it.
pub fn announce(state: &AppState, grids: Vec<String>) {
    if grids.is_empty() {
        return;
    }
    state.changes.send(crate::storage::changes::Changed::Grids(grids.clone().into()));
    let storage = state.storage.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = storage.announce_changes(&grids) {
            tracing::warn!("live changes: announcing to the other replicas failed: {e}");
        }
    });
}
