//! The back office's proof of visit by place (issue 20): visits, appointment arrivals, receipts and
//! sign-ins flagged by where they were — far from the household's reference position, a mock
//! location, or no fix — listed per manager and day (China time) with their kind, the distance and
//! an AMap (高德) link to the fix (GCJ-02, as AMap takes it), a page at a time with the counts of
//! all, of the grids the staff member may see; and a household's reference position set by a
//! supervisor, audited. Listing checks the facts that arrived since the last look first
//! (`domain::visit_locations`).

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use gridbook_core::location::{amap_link, Point};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::api::{blocking, no_store, query};
use super::session::check_staff_write;
use super::staff_session::StaffSession;
use super::workbench::Visible;
use crate::domain::now_ms;
use crate::domain::privacy::mask_digit_runs;
use crate::domain::report_day::{report_day, REPORT_ZONE_OFFSET_MIN};
use crate::domain::visit_locations::catch_up;
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::storage::locations::{FlaggedVisit, LocatedKind, ReferenceRow};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/api/visit-locations", get(flagged))
        .route("/admin/api/households/{household}/reference-position", post(set_reference).get(reference))
        // a building's or a shop's: its households without their own are judged against it
        .route("/admin/api/premises/{household}/reference-position", post(set_reference))
}

#[derive(Debug, Deserialize)]
struct FlaggedQuery {
    /// Days back, today included (1..=92, default 7).
    days: Option<i64>,
    limit: Option<u32>,
    offset: Option<u32>,
}

/// One manager's flagged facts of one day (`visits`: every kind, each line says its own).
#[derive(Debug, Serialize)]
struct Group {
    manager_id: String,
    manager_name: Option<String>,
    /// YYYY-MM-DD, China time.
    day: String,
    visits: Vec<Line>,
}

#[derive(Debug, Serialize)]
struct Line {
    #[serde(flatten)]
    visit: FlaggedVisit,
    /// The fix on AMap, GCJ-02 (None without a fix).
    map_link: Option<String>,
}

/// The AMap marker's name for a fact of this kind.
fn marker_name(kind: LocatedKind) -> &'static str {
    match kind {
        LocatedKind::Visit => "走访 visit",
        LocatedKind::AppointmentArrival => "预约上门 appointment",
        LocatedKind::Receipt => "收款 receipt",
        LocatedKind::SignIn => "签到 sign-in",
    }
}

/// GET /admin/api/visit-locations?days=7: flagged visits, appointment arrivals, receipts and
/// sign-ins per manager and day.
async fn flagged(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    q: Result<Query<FlaggedQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let days = q.days.unwrap_or(7).clamp(1, 92);
    let (offset, limit) = super::api::page_bounds(q.offset, q.limit, 100, 1000);
    let now = now_ms();
    let since = report_day(now, days - 1);
    let (from, _) = gridbook_core::field::workday::day_bounds(&since, REPORT_ZONE_OFFSET_MIN)
        .map_err(|e| AppError::internal(format!("report day {since}: {e}")))?;
    let (locations, max_distance_m) = (state.backoffice.locations.clone(), state.backoffice.visit_max_distance_m);
    let (storage, people, who) = (state.storage.clone(), state.backoffice.staff.clone(), staff.clone());
    let (checked, (counts, rows)) = blocking(move || {
        let checked = catch_up(locations.as_ref(), max_distance_m, now)?;
        // a supervisor sees the facts of their grids only, as on every other list
        let seen = Visible::of(storage.as_ref(), people.as_ref(), &who)?;
        Ok::<_, AppError>((checked, locations.flagged_visits(from, now + 86_400_000, &seen.page(offset, limit))?))
    })
    .await?;
    tracing::info!(staff = %staff.id, view = "visit_locations", rows = rows.len(), checked, "back-office view");
    let mut groups: Vec<Group> = Vec::new();
    for mut visit in rows {
        visit.address = visit.address.as_deref().map(mask_digit_runs);
        let day = report_day(visit.check.arrived_at_ms, 0);
        let map_link = match (visit.check.lat_e6, visit.check.lon_e6) {
            (Some(lat_e6), Some(lon_e6)) => {
                Point::new(lat_e6, lon_e6).map(|p| amap_link(p, marker_name(visit.check.kind)))
            }
            _ => None,
        };
        match groups.last_mut() {
            Some(g) if g.manager_id == visit.check.manager_id && g.day == day => {
                g.visits.push(Line { visit, map_link })
            }
            _ => groups.push(Group {
                manager_id: visit.check.manager_id.clone(),
                manager_name: visit.manager_name.clone(),
                day,
                visits: vec![Line { visit, map_link }],
            }),
        }
    }
    let counts_json = json!({
        "far": counts.far,
        "mock": counts.mock,
        "no_fix": counts.no_fix,
        "visit": counts.visit,
        "appointment_arrival": counts.appointment_arrival,
        "receipt": counts.receipt,
        "sign_in": counts.sign_in,
    });
    Ok(no_store(json!({
        "since_day": since,
        "today": report_day(now, 0),
        "max_distance_m": max_distance_m,
        "checked_now": checked,
        "total": counts.total,
        "offset": offset,
        "limit": limit,
        "counts": counts_json,
        "groups": groups,
    })))
}

#[derive(Debug, Deserialize)]
struct ReferenceBody {
    /// WGS-84 micro-degrees.
    lat_e6: i64,
    lon_e6: i64,
}

/// POST /admin/api/households/{household}/reference-position {lat_e6, lon_e6} (or
/// /admin/api/premises/{premises}/…): sets (or moves) where the household or the premises is,
/// audited; visits checked from then on are judged against it.
async fn set_reference(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    Path(household): Path<String>,
    body: Result<Json<ReferenceBody>, JsonRejection>,
) -> AppResult<Response> {
    check_staff_write(&headers, &staff)?;
    check_place_id(&household)?;
    let Json(b) = body?;
    if Point::new(b.lat_e6, b.lon_e6).is_none() {
        return Err(AppError::invalid("lat_e6: 纬度须在 ±90°、经度须在 ±180° 之间 / latitude ±90°, longitude ±180°"));
    }
    let row = ReferenceRow {
        place_id: household,
        lat_e6: b.lat_e6,
        lon_e6: b.lon_e6,
        source: "back_office".into(),
        visit_id: None,
        set_by: staff.id.clone(),
        set_at_ms: now_ms(),
    };
    let locations = state.backoffice.locations.clone();
    let stored = row.clone();
    let (storage, people) = (state.storage.clone(), state.backoffice.staff.clone());
    blocking(move || {
        place_in_sight(storage.as_ref(), people.as_ref(), &staff, locations.as_ref(), &stored.place_id)?;
        locations.set_reference(&stored).map_err(AppError::from)
    })
    .await?;
    tracing::warn!(staff = %row.set_by, place = %row.place_id, "reference position set");
    let mut response = no_store(row);
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

fn check_place_id(id: &str) -> Result<(), AppError> {
    if id.is_empty() || id.len() > 64 {
        return Err(AppError::invalid("id: 编号为 1 至 64 个字符 / 1 to 64 characters"));
    }
    Ok(())
}

/// The household or premises exists in a grid the staff member sees; else 404, as another
/// supervisor's grid looks everywhere else.
fn place_in_sight(
    storage: &dyn crate::storage::SyncStorage,
    people: &dyn crate::storage::staff::StaffStorage,
    staff: &super::session::Staff,
    locations: &dyn crate::storage::locations::LocationStorage,
    place_id: &str,
) -> Result<(), AppError> {
    let visible = Visible::of(storage, people, staff)?;
    match locations.place_grid(place_id)? {
        Some(grid) if visible.grid(&grid) => Ok(()),
        _ => Err(AppError::not_found("没有这户，或无权查看 / no such household, or not yours to see")),
    }
}

/// GET /admin/api/households/{household}/reference-position: where the household is judged from
/// — its own reference, or null while it has none — for the household page's form.
async fn reference(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    Path(household): Path<String>,
) -> AppResult<Response> {
    check_place_id(&household)?;
    let (locations, storage, people) =
        (state.backoffice.locations.clone(), state.storage.clone(), state.backoffice.staff.clone());
    let who = staff.id.clone();
    let row = blocking(move || {
        place_in_sight(storage.as_ref(), people.as_ref(), &staff, locations.as_ref(), &household)?;
        Ok::<_, AppError>(locations.references(std::slice::from_ref(&household))?.into_iter().next())
    })
    .await?;
    tracing::info!(staff = %who, view = "reference_position", "back-office view");
    let map_link =
        row.as_ref().and_then(|r| Point::new(r.lat_e6, r.lon_e6)).map(|p| amap_link(p, "参考位置 reference"));
    Ok(no_store(json!({ "reference": row, "map_link": map_link })))
}
