//! JSON for the dashboard under /admin/api/. Every answer needs a staff session, is never cached,
//! and carries personal data only masked (domain/privacy.rs). Views that show anything about
//! households are written to the log by who looked (no values).

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gridbook_core::sync::wire::ErrorCode;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::staff_session::StaffSession;
use super::workbench::Visible;
use crate::domain::device_health::{DeviceHealth, DeviceState};
use crate::domain::now_ms;
use crate::domain::privacy::{mask_digit_runs, mask_field_value, mask_name};
use crate::domain::report_day::{report_day, REPORT_ZONE_OFFSET_MIN};
use crate::http::device_budget::Refusals;
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::storage::error::StorageError;
use crate::storage::evidence::VoidFilter;
use crate::storage::monitoring::{ActivityBucket, ReceiptLine, VoidLine};
use crate::storage::wipes::WipeRow;
use crate::storage::{ConflictRow, ConflictSide, DeviceRow, ListPage, SyncStorage};

pub(super) fn no_store<T: Serialize>(value: T) -> Response {
    let mut r = Json(value).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Runs storage or a rule on a blocking thread; its error becomes the answer's.
pub(super) async fn blocking<T, E>(f: impl FnOnce() -> Result<T, E> + Send + 'static) -> AppResult<T>
where
    T: Send + 'static,
    E: Into<AppError> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await?.map_err(Into::into)
}

/// The backend keeps no signed evidence (issue 4).
fn unsupported(e: &StorageError) -> bool {
    e.code() == ErrorCode::Unsupported
}

/// Checks each receipt's signature and seal again (issue 4's `receipt_evidence`) and reads the
/// review of its void; a backend that keeps no evidence leaves the receipts "unverified".
fn check_receipts(storage: &dyn SyncStorage, receipts: &mut [ReceiptLine]) -> AppResult<()> {
    for r in receipts.iter_mut() {
        match storage.receipt_evidence(&r.receipt_no) {
            Ok(Some(evidence)) => {
                let (status, detail) = match evidence.verification.split_once(": ") {
                    Some((status, why)) => (status.to_string(), Some(mask_digit_runs(why))),
                    None => (evidence.verification.clone(), None),
                };
                r.verification = status;
                r.verification_detail = detail;
                r.void_status = evidence.void_status;
                r.void_requested |= r.void_status.is_some();
            }
            Ok(None) => {}
            Err(e) if unsupported(&e) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// One page of the voids of `page.grids`' receipts and their review (issue 4's `void_reviews`),
/// with how many there are in all, each named by the manager of the device that asked.
fn void_lines(storage: &dyn SyncStorage, devices: &[DeviceRow], page: &ListPage) -> AppResult<(u64, Vec<VoidLine>)> {
    let (total, reviews) = storage.void_reviews_page(&VoidFilter::default(), page)?;
    let owner: HashMap<&str, (&str, &str)> =
        devices.iter().map(|d| (d.device_id.as_str(), (d.manager_id.as_str(), d.manager_name.as_str()))).collect();
    let lines = reviews
        .into_iter()
        .map(|v| {
            let (by, name) =
                owner.get(v.requested_by_device.as_str()).copied().unwrap_or((v.requested_by_device.as_str(), ""));
            VoidLine {
                voided_by: by.to_string(),
                voided_by_name: (!name.is_empty()).then(|| name.to_string()),
                id: v.void_id,
                grid_id: v.grid_id.unwrap_or_default(),
                receipt_id: v.receipt_id,
                receipt_no: v.receipt_no,
                amount_fen: v.amount_fen,
                reason: mask_digit_runs(&v.reason),
                voided_at_ms: v.requested_at_ms,
                status: v.status,
                decided_by: v.decided_by,
                decided_at_ms: v.decided_at_ms,
                note: v.note.as_deref().map(mask_digit_runs),
            }
        })
        .collect();
    Ok((total, lines))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    limit: Option<u32>,
    offset: Option<u32>,
    range: Option<String>,
    days: Option<i64>,
    /// The money tab's second list, the voids, paged on its own.
    voids_offset: Option<u32>,
    voids_limit: Option<u32>,
    /// The conflicts tab's two lists: "people" (conflicts between people) or "recomputed" (the
    /// server's tier recomputations); both when not asked.
    side: Option<String>,
}

/// A query string, or a 400 that says what was wrong with it.
pub(super) fn query<T>(q: Result<Query<T>, QueryRejection>) -> AppResult<T> {
    q.map(|Query(q)| q).map_err(|e| AppError::bad_query(e.body_text()))
}

/// A page's offset and limit as asked, the limit bounded to 1..=`max` (`default` when not asked).
pub(super) fn page_bounds(offset: Option<u32>, limit: Option<u32>, default: u32, max: u32) -> (u32, u32) {
    (offset.unwrap_or(0), limit.unwrap_or(default).clamp(1, max))
}

pub async fn me(State(state): State<AppState>, StaffSession(staff): StaffSession) -> Response {
    no_store(json!({
        "id": staff.id,
        "name": staff.name,
        "role": staff.role.as_str(),
        "csrf": staff.csrf,
        "thresholds": state.backoffice.thresholds,
        "zone_offset_min": REPORT_ZONE_OFFSET_MIN,
        "server_time_ms": now_ms(),
        "version": env!("CARGO_PKG_VERSION"),
        "monitoring": true,
    }))
}

/// A device as the dashboard shows it.
#[derive(Debug, Serialize)]
pub struct DeviceView {
    #[serde(flatten)]
    pub device: DeviceRow,
    pub health: DeviceHealth,
    /// Requests refused over its budget within the last hour (this server process's count).
    pub rate_limited: Option<Refusals>,
    /// Its remote wipe, when one was ordered: status, who asked, what the report says.
    pub wipe: Option<WipeRow>,
}

pub(super) fn device_views(
    state: &AppState,
    devices: Vec<DeviceRow>,
    wipes: Vec<WipeRow>,
    now: i64,
) -> Vec<DeviceView> {
    let t = state.backoffice.thresholds;
    let mut refused = state.device_budget.refused_lately(now);
    let mut wipes: HashMap<String, WipeRow> = wipes.into_iter().map(|w| (w.device_id.clone(), w)).collect();
    devices
        .into_iter()
        .map(|mut d| {
            d.last_error = d.last_error.as_deref().map(mask_digit_runs);
            let health = t.classify(&d, now);
            let rate_limited = refused.remove(&d.device_id);
            let wipe = wipes.remove(&d.device_id);
            DeviceView { device: d, health, rate_limited, wipe }
        })
        .collect()
}

pub async fn overview(State(state): State<AppState>, StaffSession(staff): StaffSession) -> AppResult<Response> {
    let storage = state.storage.clone();
    let people = state.backoffice.staff.clone();
    let m = state.backoffice.monitoring.clone();
    let now = now_ms();
    let today = report_day(now, 0);
    let (devices, totals, by_day, follow_ups, voids) = blocking(move || {
        // a supervisor's cards count their grids' phones only, as the devices' list shows them
        let seen = Visible::of(storage.as_ref(), people.as_ref(), &staff)?;
        let mut devices = storage.devices()?;
        devices.retain(|d| seen.device(d));
        // the card is a count: storage counts the pending voids of the visible grids
        let pending = VoidFilter { status: Some("pending".into()), ..Default::default() };
        let (voids, _) = storage.void_reviews_page(&pending, &seen.page(0, 1))?;
        let mut by_day = m.receipts_by_grid_day(&today)?;
        by_day.retain(|g| seen.grid(&g.grid_id));
        // the card is a count: storage counts them, one row read
        let (follow_ups, _) = m.overdue_follow_ups(&today, &seen.page(0, 1))?;
        Ok::<_, AppError>((devices, m.totals()?, by_day, follow_ups, voids))
    })
    .await?;
    let mut states: HashMap<&'static str, u64> = DeviceState::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    let (mut skewed, mut pending, mut on_phones_fen, mut on_phones_count) = (0, 0, 0, 0);
    // the home page's one card for IT: devices stuck, stale, never synced, skewed or short of space
    let mut attention = 0u64;
    for d in device_views(&state, devices, vec![], now) {
        *states.entry(d.health.state.as_str()).or_default() += 1;
        skewed += u64::from(d.health.skewed);
        let bad_state = matches!(d.health.state, DeviceState::Stuck | DeviceState::Stale | DeviceState::NeverSynced);
        if d.device.revoked_at_ms.is_none() && (bad_state || d.health.skewed || d.health.low_storage) {
            attention += 1;
        }
        if d.device.revoked_at_ms.is_none() {
            // phones' own figures: a sum over many saturates, never overflows
            pending = d.device.pending_count.saturating_add(pending);
            on_phones_fen = d.device.unsynced_receipts_fen.saturating_add(on_phones_fen);
            on_phones_count = d.device.unsynced_receipts_count.saturating_add(on_phones_count);
        }
    }
    Ok(no_store(json!({
        "now_ms": now,
        "today": report_day(now, 0),
        "devices": states,
        "skewed": skewed,
        "attention": attention,
        "pending_ops": pending,
        "rejections": totals.rejections_stored,
        "conflicts": totals.conflicts,
        "receipts_today": {
            "count": by_day.iter().map(|g| g.count).sum::<i64>(),
            "amount_fen": by_day.iter().map(|g| g.amount_fen).sum::<i64>(),
        },
        "on_phones": { "count": on_phones_count, "amount_fen": on_phones_fen },
        "voids_pending": voids,
        "follow_ups_overdue": follow_ups,
    })))
}

/// The buckets of a range, oldest first, aligned to the report zone's hours or days, with empty
/// buckets filled in so that the chart's time axis is whole.
pub fn activity_window(range: &str, now: i64) -> AppResult<(i64, i64, usize)> {
    const HOUR: i64 = 3_600_000;
    let (bucket, n) = match range {
        "24h" => (HOUR, 24),
        "7d" => (6 * HOUR, 28),
        "30d" => (24 * HOUR, 30),
        _ => return Err(AppError::bad_query("range: one of 24h, 7d, 30d")),
    };
    let zone = REPORT_ZONE_OFFSET_MIN * 60_000;
    let current = (now + zone).div_euclid(bucket) * bucket - zone;
    Ok((current - (n as i64 - 1) * bucket, bucket, n))
}

pub fn fill_buckets(since: i64, bucket: i64, n: usize, found: Vec<ActivityBucket>) -> Vec<ActivityBucket> {
    let mut by_start: HashMap<i64, ActivityBucket> = found.into_iter().map(|b| (b.start_ms, b)).collect();
    (0..n as i64)
        .map(|i| {
            let start = since + i * bucket;
            by_start.remove(&start).unwrap_or(ActivityBucket {
                start_ms: start,
                pushes: 0,
                pulls: 0,
                ops_pushed: 0,
                ops_pulled: 0,
                rejected: 0,
                devices: 0,
                max_duration_ms: 0,
            })
        })
        .collect()
}

pub async fn activity(
    State(state): State<AppState>,
    StaffSession(_): StaffSession,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let range = q.range.unwrap_or_else(|| "24h".into());
    let (since, bucket, n) = activity_window(&range, now_ms())?;
    let m = state.backoffice.monitoring.clone();
    let found = blocking(move || m.activity(since, bucket)).await?;
    Ok(no_store(json!({
        "range": range,
        "since_ms": since,
        "bucket_ms": bucket,
        "zone_offset_min": REPORT_ZONE_OFFSET_MIN,
        "buckets": fill_buckets(since, bucket, n, found),
    })))
}

pub async fn rejections(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let (offset, n) = page_bounds(q.offset, q.limit, 200, 1000);
    let m = state.backoffice.monitoring.clone();
    let (storage, people) = (state.storage.clone(), state.backoffice.staff.clone());
    let (total, mut rows) = blocking(move || {
        let seen = Visible::of(storage.as_ref(), people.as_ref(), &staff)?;
        // a rejected op is the grid's, and its manager's when they work in a visible grid
        Ok::<_, AppError>(m.rejections_page(&seen.page(offset, n))?)
    })
    .await?;
    for r in &mut rows {
        r.reason = mask_digit_runs(&r.reason);
    }
    Ok(no_store(json!({ "total": total, "offset": offset, "limit": n, "rejections": rows })))
}

#[derive(Debug, Serialize)]
pub struct ConflictView {
    /// The logged row, its values masked.
    #[serde(flatten)]
    pub row: ConflictRow,
    pub old_manager: Option<String>,
    pub new_manager: Option<String>,
}

pub async fn conflicts(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let (offset, n) = page_bounds(q.offset, q.limit, 200, 1000);
    let side = match q.side.as_deref() {
        None => ConflictSide::All,
        Some("people") => ConflictSide::People,
        Some("recomputed") => ConflictSide::Recomputed,
        Some(_) => return Err(AppError::bad_query("side: people or recomputed")),
    };
    let storage = state.storage.clone();
    let people = state.backoffice.staff.clone();
    let who = staff.clone();
    let ((total, rows), devices) = blocking(move || {
        let seen = Visible::of(storage.as_ref(), people.as_ref(), &who)?;
        Ok::<_, AppError>((storage.conflicts_page(&seen.page(offset, n), side)?, storage.devices()?))
    })
    .await?;
    tracing::info!(staff = %staff.id, view = "conflicts", rows = rows.len(), "back-office view");
    let names: HashMap<String, String> = devices.into_iter().map(|d| (d.device_id, d.manager_name)).collect();
    let views: Vec<ConflictView> = rows
        .into_iter()
        .map(|mut row| {
            row.old_value = mask_field_value(&row.field, &row.old_value);
            row.new_value = mask_field_value(&row.field, &row.new_value);
            ConflictView {
                old_manager: names.get(&row.old_device).cloned(),
                new_manager: names.get(&row.new_device).cloned(),
                row,
            }
        })
        .collect();
    Ok(no_store(json!({ "total": total, "offset": offset, "limit": n, "conflicts": views })))
}

pub async fn money(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let days = q.days.unwrap_or(14).clamp(1, 366);
    let (offset, n) = page_bounds(q.offset, q.limit, 50, 1000);
    let (voids_offset, voids_n) = page_bounds(q.voids_offset, q.voids_limit, 50, 1000);
    let now = now_ms();
    let since_day = report_day(now, days - 1);
    let m = state.backoffice.monitoring.clone();
    let storage = state.storage.clone();
    let since = since_day.clone();
    let people = state.backoffice.staff.clone();
    let who = staff.clone();
    let (by_grid_day, by_manager, (receipts_total, receipts), (voids_total, voids), devices) = blocking(move || {
        let seen = Visible::of(storage.as_ref(), people.as_ref(), &who)?;
        let mut devices = storage.devices()?;
        // the scope is in the queries: a supervisor's page is a page of their grids' rows
        let (receipts_total, mut receipts) = m.receipts_page(&seen.page(offset, n))?;
        check_receipts(storage.as_ref(), &mut receipts)?;
        let voids = void_lines(storage.as_ref(), &devices, &seen.page(voids_offset, voids_n))?;
        devices.retain(|d| seen.device(d));
        let mut by_grid_day = m.receipts_by_grid_day(&since)?;
        by_grid_day.retain(|g| seen.grid(&g.grid_id));
        let mut by_manager = m.receipts_by_manager(&since)?;
        by_manager.retain(|x| seen.manager(&x.collector_id));
        Ok::<_, AppError>((by_grid_day, by_manager, (receipts_total, receipts), voids, devices))
    })
    .await?;
    tracing::info!(staff = %staff.id, view = "money", "back-office view");
    let on_phones: Vec<_> = devices
        .into_iter()
        .filter(|d| d.revoked_at_ms.is_none() && (d.unsynced_receipts_count > 0 || d.unsynced_receipts_fen > 0))
        .map(|d| {
            json!({
                "device_id": d.device_id,
                "manager_id": d.manager_id,
                "manager_name": d.manager_name,
                "grids": d.grids,
                "count": d.unsynced_receipts_count,
                "amount_fen": d.unsynced_receipts_fen,
                "last_seen_ms": d.last_seen_ms,
            })
        })
        .collect();
    Ok(no_store(json!({
        "since_day": since_day,
        "today": report_day(now, 0),
        "by_grid_day": by_grid_day,
        "by_manager": by_manager,
        "receipts": receipts,
        "receipts_page": { "total": receipts_total, "offset": offset, "limit": n },
        "on_phones": on_phones,
        "voids": voids,
        "voids_page": { "total": voids_total, "offset": voids_offset, "limit": voids_n },
    })))
}

pub async fn follow_ups(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let (offset, n) = page_bounds(q.offset, q.limit, 100, 1000);
    let today = report_day(now_ms(), 0);
    let m = state.backoffice.monitoring.clone();
    let day = today.clone();
    let (storage, people, who) = (state.storage.clone(), state.backoffice.staff.clone(), staff.clone());
    let (total, mut rows) = blocking(move || {
        let seen = Visible::of(storage.as_ref(), people.as_ref(), &who)?;
        Ok::<_, AppError>(m.overdue_follow_ups(&day, &seen.page(offset, n))?)
    })
    .await?;
    tracing::info!(staff = %staff.id, view = "follow_ups", rows = rows.len(), "back-office view");
    for r in &mut rows {
        r.customer_name = r.customer_name.as_deref().map(mask_name);
        r.open_question = mask_digit_runs(&r.open_question);
        r.follow_up = mask_digit_runs(&r.follow_up);
    }
    Ok(no_store(json!({ "today": today, "total": total, "offset": offset, "limit": n, "follow_ups": rows })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_windows_cover_the_range_and_end_at_the_current_bucket() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-03-01T17:30:00Z").unwrap().timestamp_millis();
        let (since, bucket, n) = activity_window("24h", now).unwrap();
        assert_eq!((bucket, n), (3_600_000, 24));
        let last = since + (n as i64 - 1) * bucket;
        assert!(last <= now && now < last + bucket);
        // days start at midnight in Beijing (16:00 UTC)
        let (since, bucket, _) = activity_window("30d", now).unwrap();
        assert_eq!(bucket, 86_400_000);
        assert_eq!((since + 8 * 3_600_000) % 86_400_000, 0);
        assert!(activity_window("1y", now).is_err());
        let filled = fill_buckets(since, bucket, 30, vec![]);
        assert_eq!(filled.len(), 30);
        assert_eq!(filled[29].start_ms - filled[0].start_ms, 29 * bucket);
    }
}
