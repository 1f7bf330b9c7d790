//! JSON for the supervisor's workbench (issue 18) under /admin/api/: the home page's figures
//! (domain/workbench.rs) over the grids the staff member may see. Which grids those are is decided
//! here once (`visible_grids`): an admin sees every grid, a supervisor the grids assigned to them.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

use super::api::{blocking, no_store, query};
use super::session::{check_admin_write, Staff};
use super::staff_session::StaffSession;
use crate::domain::auth::Role;
use crate::domain::now_ms;
use crate::domain::workbench::{home as home_figures, periods, GridFacts, HandedIn};
use crate::domain::{drilldown, reveals};
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::storage::staff::{Person, StaffStorage};
use crate::storage::{ListPage, SyncStorage};

/// The grids (id, name) `staff` may see, by id: every grid for an admin, the assigned ones for a
/// supervisor. A supervisor with no grid assigned yet sees none (the pages say "尚未分配网格 / no
/// grid assigned yet") until an admin assigns them one (the administration page, `assign-grid`).
pub fn visible_grids(
    storage: &dyn SyncStorage,
    people: &dyn StaffStorage,
    staff: &Staff,
) -> Result<Vec<(String, String)>, AppError> {
    let all = storage.grid_names()?;
    if staff.role == Role::Admin {
        return Ok(all);
    }
    let mine = people.staff_grids(&staff.id)?;
    Ok(all.into_iter().filter(|(id, _)| mine.contains(id)).collect())
}

/// What a staff member may see in the lists: every grid for an admin (None), else the grids
/// assigned to them and the managers who work in them.
pub struct Visible {
    grids: Option<HashSet<String>>,
    managers: HashSet<String>,
}

impl Visible {
    /// Read once per request, beside the rows it filters.
    pub fn of(storage: &dyn SyncStorage, people: &dyn StaffStorage, staff: &Staff) -> Result<Visible, AppError> {
        if staff.role == Role::Admin {
            return Ok(Visible { grids: None, managers: HashSet::new() });
        }
        let grids: HashSet<String> = visible_grids(storage, people, staff)?.into_iter().map(|(id, _)| id).collect();
        let managers = field_grids(people, &people.people()?)?
            .into_iter()
            .filter(|(_, theirs)| theirs.iter().any(|g| grids.contains(g)))
            .map(|(id, _)| id)
            .collect();
        Ok(Visible { grids: Some(grids), managers })
    }

    /// Whether rows of grid `id` may be shown.
    pub fn grid(&self, id: &str) -> bool {
        self.grids.as_ref().is_none_or(|g| g.contains(id))
    }

    /// Whether a device or a manager working in any of `grids` may be shown.
    pub fn any(&self, grids: &[String]) -> bool {
        self.grids.as_ref().is_none_or(|g| grids.iter().any(|x| g.contains(x)))
    }

    /// The visible grids for a storage query's filter; None: every grid.
    pub fn grid_list(&self) -> Option<Vec<String>> {
        self.grids.as_ref().map(|g| {
            let mut list: Vec<String> = g.iter().cloned().collect();
            list.sort();
            list
        })
    }

    /// Whether the manager `id` works in a visible grid (rows about a manager, not a grid).
    pub fn manager(&self, id: &str) -> bool {
        self.grids.is_none() || self.managers.contains(id)
    }

    /// Whether a phone may be shown: it syncs a visible grid, or its manager works in one. One
    /// rule for the devices' list, the overview's counts and the money page's phones.
    pub fn device(&self, d: &crate::storage::DeviceRow) -> bool {
        self.any(&d.grids) || self.manager(&d.manager_id)
    }

    /// A page of a list storage reads under this scope (`ListPage`): the visible grids (None for
    /// every grid) and the managers who work in them.
    pub fn page(&self, offset: u32, limit: u32) -> ListPage {
        let sorted = |s: &HashSet<String>| {
            let mut v: Vec<String> = s.iter().cloned().collect();
            v.sort();
            v
        };
        ListPage { grids: self.grids.as_ref().map(sorted), managers: sorted(&self.managers), offset, limit }
    }
}

/// Each field manager among `everyone` with the grids assigned to them (one read per manager).
fn field_grids(people: &dyn StaffStorage, everyone: &[Person]) -> Result<Vec<(String, Vec<String>)>, AppError> {
    everyone
        .iter()
        .filter(|p| p.role == Role::Field.as_str())
        .map(|p| Ok((p.id.clone(), people.staff_grids(&p.id)?)))
        .collect()
}

/// The facts of the grids a staff member may see (or of the one asked for), with the managers
/// assigned to each grid and everyone's names.
pub struct Scope {
    pub facts: Vec<GridFacts>,
    pub assigned: BTreeMap<String, Vec<String>>,
    pub names: HashMap<String, String>,
}

impl Scope {
    pub fn load(
        storage: &dyn SyncStorage,
        people: &dyn StaffStorage,
        staff: &Staff,
        only: Option<&str>,
    ) -> Result<Scope, AppError> {
        let mut grids = visible_grids(storage, people, staff)?;
        if let Some(only) = only {
            if !grids.iter().any(|(id, _)| id == only) {
                return Err(AppError::not_found("没有这个网格，或无权查看 / no such grid, or not yours to see"));
            }
            grids.retain(|(id, _)| id == only);
        }
        let everyone = people.people()?;
        let names: HashMap<String, String> = everyone.iter().map(|p| (p.id.clone(), p.name.clone())).collect();
        let mut assigned: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (manager, grids) in field_grids(people, &everyone)? {
            for g in grids {
                assigned.entry(g).or_default().push(manager.clone());
            }
        }
        let mut facts = Vec::with_capacity(grids.len());
        for (id, name) in &grids {
            facts.push(GridFacts::load(storage, id, name)?);
        }
        Ok(Scope { facts, assigned, names })
    }
}

#[derive(Debug, Deserialize)]
pub struct HomeQuery {
    /// Households with no visit in this many days are counted (default 30).
    no_visit_days: Option<i64>,
    /// Only this grid (one the staff member may see).
    grid: Option<String>,
}

/// The home page: per grid and per manager, today, this week and this month.
pub async fn home(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    q: Result<Query<HomeQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let days = q.no_visit_days.unwrap_or(30).clamp(1, 366);
    let storage = state.storage.clone();
    let people = state.backoffice.staff.clone();
    let money = state.backoffice.money.clone();
    let who = staff.id.clone();
    // a supervisor with no grid assigned yet sees none, and the page says so
    let unassigned = staff.role == Role::Supervisor;
    let (answer, unassigned) = blocking(move || {
        let unassigned = unassigned && people.staff_grids(&staff.id)?.is_empty();
        let mut scope = Scope::load(storage.as_ref(), people.as_ref(), &staff, q.grid.as_deref())?;
        // "handed in": the recorded hand-ins of each grid's receipts, summed per collector and
        // period by storage
        let now = now_ms();
        let periods = periods(now)?;
        for facts in &mut scope.facts {
            let mut by_period = HandedIn::new();
            for p in &periods {
                let sums = money.handed_in_fen(&facts.grid_id, p.start_ms, p.end_ms)?;
                by_period.insert(p.key.to_string(), sums.into_iter().collect());
            }
            facts.handed_in = Some(by_period);
        }
        Ok::<_, AppError>((home_figures(&scope.facts, &scope.assigned, &scope.names, now, days)?, unassigned))
    })
    .await?;
    tracing::info!(staff = %who, view = "home", grids = answer.grids.len(), "back-office view");
    let mut answer = serde_json::to_value(answer)?;
    if let Some(fields) = answer.as_object_mut() {
        fields.insert("no_grids".into(), serde_json::Value::Bool(unassigned));
    }
    Ok(no_store(answer))
}

/// The names the pages show instead of ids: the grids the staff member may see and every
/// account (field managers, supervisors, admins), id → name.
pub async fn names(State(state): State<AppState>, StaffSession(staff): StaffSession) -> AppResult<Response> {
    let storage = state.storage.clone();
    let people = state.backoffice.staff.clone();
    let (grids, everyone) = blocking(move || {
        let grids = visible_grids(storage.as_ref(), people.as_ref(), &staff)?;
        Ok::<_, AppError>((grids, people.people()?))
    })
    .await?;
    let grids: BTreeMap<String, String> = grids.into_iter().collect();
    let people: BTreeMap<String, String> = everyone.into_iter().map(|p| (p.id, p.name)).collect();
    Ok(no_store(serde_json::json!({ "grids": grids, "people": people })))
}

/// Runs `f` off the async workers with the storage and the grids (id, name) `staff` may see.
pub(super) async fn with_grids<T: Send + 'static>(
    state: &AppState,
    staff: Staff,
    f: impl FnOnce(&dyn SyncStorage, Vec<(String, String)>) -> Result<T, AppError> + Send + 'static,
) -> AppResult<T> {
    let storage = state.storage.clone();
    let people = state.backoffice.staff.clone();
    blocking(move || {
        let grids = visible_grids(storage.as_ref(), people.as_ref(), &staff)?;
        f(storage.as_ref(), grids)
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct ArchiveQuery {
    grid: Option<String>,
    premises: Option<String>,
    unit: Option<String>,
    q: Option<String>,
    id: Option<String>,
    offset: Option<u32>,
    limit: Option<u32>,
}

/// The grid asked for, if the staff member may see it; else 404 (another supervisor's grid looks
/// like no grid at all).
pub(super) fn one_grid(grids: &[(String, String)], asked: Option<&str>) -> Result<String, AppError> {
    let id = asked.ok_or_else(|| AppError::bad_query("grid: which grid"))?;
    if grids.iter().any(|(g, _)| g == id) {
        Ok(id.to_string())
    } else {
        Err(AppError::not_found("没有这个网格，或无权查看 / no such grid, or not yours to see"))
    }
}

/// A grid's buildings in number order with their units and figures.
pub async fn buildings(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    q: Result<Query<ArchiveQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let answer = with_grids(&state, staff, move |storage, grids| {
        let grid = one_grid(&grids, q.grid.as_deref())?;
        let (premises, households) = drilldown::grid_archive(storage, &grid)?;
        Ok(drilldown::buildings(&grid, &premises, &households))
    })
    .await?;
    Ok(no_store(answer))
}

/// Households of a grid (a building, a unit) or found by a search over the visible grids, one page
/// at a time with the total; masked.
pub async fn households(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    q: Result<Query<ArchiveQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let who = staff.id.clone();
    let page = with_grids(&state, staff, move |storage, grids| {
        let within: Vec<String> = match q.grid.as_deref() {
            Some(g) => vec![one_grid(&grids, Some(g))?],
            None => grids.iter().map(|(g, _)| g.clone()).collect(),
        };
        let filter = drilldown::HouseholdFilter { premises: q.premises, unit: q.unit, query: q.q };
        let (mut premises, mut homes) = (Vec::new(), Vec::new());
        for g in &within {
            let (p, h) = drilldown::grid_archive(storage, g)?;
            premises.extend(p);
            homes.extend(h);
        }
        Ok(drilldown::households(&premises, homes, &filter, q.offset.unwrap_or(0), q.limit.unwrap_or(50)))
    })
    .await?;
    tracing::info!(staff = %who, view = "households", rows = page.rows.len(), "back-office view");
    Ok(no_store(page))
}

/// One household's page: archive, tier, billing figures, arrears and history; masked.
pub async fn household(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    q: Result<Query<ArchiveQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let who = staff.id.clone();
    let (blobs, after) = (state.photos.clone(), state.backoffice.photo_missing_after_ms);
    let page = with_grids(&state, staff, move |storage, grids| {
        let grid = one_grid(&grids, q.grid.as_deref())?;
        let id = q.id.ok_or_else(|| AppError::bad_query("id: which household"))?;
        let mut page = drilldown::household_page(storage, &grid, &id, false)?
            .ok_or_else(|| AppError::not_found("没有这户 / no such household"))?;
        super::photos::settle_page(&mut page, blobs, after)?;
        Ok(page)
    })
    .await?;
    tracing::info!(staff = %who, view = "household", "back-office view");
    Ok(no_store(page))
}

#[derive(Debug, Deserialize)]
pub struct RevealRequest {
    grid: String,
    id: String,
    purpose: String,
}

/// A household's page in full: admins only (the role that may export in full), from this site
/// with the session's CSRF token, with a purpose; audited (reveals.rs).
pub async fn reveal_household(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    body: Result<Json<RevealRequest>, JsonRejection>,
) -> AppResult<Response> {
    check_admin_write(&headers, &staff)?;
    let Json(req) = body?;
    let who = staff.id.clone();
    let actor = staff.id.clone();
    let (blobs, after) = (state.photos.clone(), state.backoffice.photo_missing_after_ms);
    let page = with_grids(&state, staff, move |storage, grids| {
        let grid = one_grid(&grids, Some(&req.grid))?;
        let mut page = reveals::household(storage, &actor, &grid, &req.id, &req.purpose, now_ms())?
            .ok_or_else(|| AppError::not_found("没有这户 / no such household"))?;
        super::photos::settle_page(&mut page, blobs, after)?;
        Ok(page)
    })
    .await?;
    tracing::info!(staff = %who, view = "household_reveal", "back-office reveal");
    Ok(no_store(page))
}
