//! The money controls of the back office (issue 18, docs/money.md), a page of its own at
//! /admin/money (assets/money.html, money.js) over JSON under /admin/api/money/:
//!
//! - `GET receipts`: receipts paged, newest first, with the count and sum of all that match and
//!   each one's flags (over-collection, an `owed_before` other than the account's);
//! - `GET receipts/{no}`: one receipt — its flags, its signature checked again, its void, its
//!   hand-in, the visit it was collected on — shown in full, so audited (domain/reveals.rs);
//!   `/admin/money/receipts/{no}/print` is the customer's copy as printed;
//! - `GET voids`, `POST voids/{id}/decision`: voids and their approval or refusal (a refusal
//!   says why), audited by the storage;
//! - `GET hand-ins`, `POST hand-ins`: cash handed in to the business hall (交款) and each
//!   manager's cash per day, collected and not handed in.
//!
//! Writes are a supervisor's or an admin's, from this site, with the session's CSRF token.
//!
//! Scope: an admin sees every grid's money; a supervisor only the receipts, voids and cash of the
//! grids assigned to them (`workbench::Visible`), and hand-ins of the managers working there. A
//! receipt or void outside them answers 404, as one that does not exist.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use gridbook_core::evidence::printable;
use gridbook_core::field::receipts::receipt_document;
use gridbook_core::model::{EntityKind, Visit};
use gridbook_core::sync::wire::ReceiptProfile;
use gridbook_core::CollectorProfile;
use serde::Deserialize;
use serde_json::json;

use super::api::{blocking, no_store, page_bounds, query};
use super::pages::{page_with_csp, script, staff_page};
use super::session::check_staff_write;
use super::staff_session::StaffSession;
use crate::domain::drilldown;
use crate::domain::now_ms;
use crate::domain::privacy::mask_digit_runs;
use crate::domain::report_day::report_day;
use crate::domain::signed::typed;
use crate::http::error::{AppError, AppResult};
use crate::http::qr;
use crate::http::state::AppState;
use crate::storage::evidence::{VoidDecision, VoidFilter, VoidReviewRow};
use crate::storage::money::{cash_days, HandInRequest, MoneyQuery, MoneyReceipt};
use crate::storage::ListPage;

use super::workbench::Visible;

/// What `staff` may see, read once per request.
fn visible(state: &AppState, staff: &super::session::Staff) -> Result<Visible, AppError> {
    Visible::of(state.storage.as_ref(), state.backoffice.staff.as_ref(), staff)
}

const MONEY_HTML: &str = include_str!("../../../assets/money.html");
const MONEY_JS: &str = include_str!("../../../assets/money.js");
/// What money.js and administration.js share.
const PAGEKIT_JS: &str = include_str!("../../../assets/pagekit.js");

/// The customer's copy carries its own inline style and the signature as inline SVG; nothing else.
const PRINT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; \
                         base-uri 'none'; form-action 'none'";

/// How far back a visit may be the one a receipt was collected on.
const VISIT_BEFORE_MS: i64 = 12 * 3_600_000;
/// … and after (the visit recorded once the money was taken).
const VISIT_AFTER_MS: i64 = 3_600_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/money", get(money_page))
        .route("/admin/assets/money.js", get(|| async { script(MONEY_JS) }))
        .route("/admin/assets/pagekit.js", get(|| async { script(PAGEKIT_JS) }))
        .route("/admin/money/receipts/{receipt_no}/print", get(print))
        .route("/admin/api/money/receipts", get(receipts))
        .route("/admin/api/money/receipts/{receipt_no}", get(receipt))
        .route("/admin/api/money/voids", get(voids))
        .route("/admin/api/money/voids/{void_id}/decision", post(decide_void))
        .route("/admin/api/money/hand-ins", get(hand_ins).post(record_hand_in))
}

async fn money_page(StaffSession(staff): StaffSession) -> Response {
    staff_page(MONEY_HTML, &staff)
}

/// A page of receipts.
#[utoipa::path(
    get,
    path = "/admin/api/money/receipts",
    tag = "backoffice",
    security(("staff_session" = [])),
    params(
        ("flagged" = Option<bool>, Query, description = "Only receipts with a flag"),
        ("collector" = Option<String>, Query, description = "Only this manager's"),
        ("not_handed_in" = Option<bool>, Query, description = "Only cash not handed in and not voided"),
        ("receipt_no" = Option<String>, Query, description = "Only this number"),
        ("offset" = Option<u32>, Query, description = "Receipts to skip"),
        ("limit" = Option<u32>, Query, description = "At most this many, 1–500 (50)"),
    ),
    responses(
        (status = 200, description = "`{total, total_fen, offset, receipts}`: the count and sum (voids approved left out) of all that match, and this page", body = serde_json::Value),
        (status = 400, description = "A query parameter is malformed", body = gridbook_core::sync::wire::ErrorBody),
        (status = 401, description = "No back-office session", body = gridbook_core::sync::wire::ErrorBody),
        (status = 503, description = "Storage busy; retry", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub(crate) async fn receipts(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    q: Result<Query<MoneyQuery>, QueryRejection>,
) -> AppResult<Response> {
    let mut q = query(q)?;
    if q.limit == 0 {
        q.limit = 50;
    }
    if q.collector.as_deref().is_some_and(|c| c.len() > 64) || q.receipt_no.as_deref().is_some_and(|n| n.len() > 64) {
        return Err(AppError::bad_query("collector, receipt_no: at most 64 characters"));
    }
    let (money, st, who) = (state.backoffice.money.clone(), state.clone(), staff.clone());
    let page = blocking(move || {
        q.grids = visible(&st, &who)?.grid_list();
        Ok::<_, AppError>(money.money_receipts(&q)?)
    })
    .await?;
    tracing::info!(staff = %staff.id, view = "money_receipts", rows = page.receipts.len(), "back-office view");
    Ok(no_store(page))
}

/// The visit the receipt was collected on: the collector's visit to the household nearest the
/// time the money was taken, within half a day before and an hour after.
fn visit_of(visits: Vec<gridbook_core::sync::wire::EntityState>, r: &MoneyReceipt) -> Option<Visit> {
    visits
        .iter()
        .filter(|s| !s.deleted())
        .filter_map(|s| typed::<Visit>(s).ok())
        .filter(|v| v.household_id == r.household_id && v.manager_id == r.collector_id)
        .filter(|v| {
            (r.collected_at_ms - VISIT_BEFORE_MS..=r.collected_at_ms + VISIT_AFTER_MS).contains(&v.arrived_at_ms)
        })
        .min_by_key(|v| (v.arrived_at_ms - r.collected_at_ms).abs())
}

/// One receipt as the back office shows it.
#[utoipa::path(
    get,
    path = "/admin/api/money/receipts/{receipt_no}",
    tag = "backoffice",
    security(("staff_session" = [])),
    params(("receipt_no" = String, Path, description = "The receipt's number")),
    responses(
        (status = 200, description = "`{receipt, evidence, visit, voids}`: the receipt with its flags, its signature checked again (the signer's name and the code in full: audited), the visit it was collected on, its voids", body = serde_json::Value),
        (status = 401, description = "No back-office session", body = gridbook_core::sync::wire::ErrorBody),
        (status = 404, description = "No such receipt on the server", body = gridbook_core::sync::wire::ErrorBody),
        (status = 503, description = "Storage busy; retry", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub(crate) async fn receipt(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    Path(receipt_no): Path<String>,
) -> AppResult<Response> {
    if receipt_no.len() > 64 {
        return Err(AppError::not_found("no such receipt"));
    }
    let (money, storage) = (state.backoffice.money.clone(), state.storage.clone());
    let by = staff.id.clone();
    let (st, who) = (state.clone(), staff.clone());
    let (line, evidence, visit, voids) = blocking(move || {
        let grids = visible(&st, &who)?.grid_list();
        let q = MoneyQuery { receipt_no: Some(receipt_no.clone()), limit: 1, grids, ..Default::default() };
        let line = money
            .money_receipts(&q)?
            .receipts
            .pop()
            .ok_or_else(|| AppError::not_found(format!("没有此收据 no receipt {receipt_no}")))?;
        let evidence = match crate::domain::reveals::receipt_evidence(storage.as_ref(), &by, &receipt_no, now_ms()) {
            Ok(found) => found,
            Err(e) if e.code == gridbook_core::sync::wire::ErrorCode::Unsupported => None,
            Err(e) => return Err(e),
        };
        let visit = visit_of(storage.household_records(EntityKind::Visit, &line.grid_id, &line.household_id)?, &line);
        // the receipt is the staff member's (read above under their scope): all its voids
        let theirs = VoidFilter { receipt_id: Some(line.id.clone()), ..Default::default() };
        let voids: Vec<VoidReviewRow> =
            match storage.void_reviews_page(&theirs, &ListPage { limit: 1000, ..Default::default() }) {
                Ok((_, rows)) => rows,
                Err(e) if e.code() == gridbook_core::sync::wire::ErrorCode::Unsupported => vec![],
                Err(e) => return Err(e.into()),
            };
        Ok::<_, AppError>((line, evidence, visit, voids))
    })
    .await?;
    tracing::info!(staff = %staff.id, view = "money_receipt", "back-office view");
    let voids: Vec<_> = voids
        .into_iter()
        .map(|mut v| {
            v.reason = mask_digit_runs(&v.reason);
            v.note = v.note.as_deref().map(mask_digit_runs);
            v
        })
        .collect();
    Ok(no_store(json!({
        "receipt": line,
        "evidence": evidence.map(|e| json!({
            "verification": e.verification,
            "verification_code": e.verification_code,
            "signer_name": e.signer_name,
            "signer_relation": e.signer_relation,
            "signature_flags": e.flags,
            "signature_duration_ms": e.signature_duration_ms,
            "signature_svg": e.signature_svg,
            "void_status": e.void_status,
        })),
        "visit": visit.map(|v| json!({
            "id": v.id,
            "arrived_at_ms": v.arrived_at_ms,
            "zone_offset_min": v.zone_offset_min,
            "purpose": v.purpose.as_str(),
            "outcome": mask_digit_runs(&v.outcome),
            "signed": v.signature_id.is_some_and(|s| !s.is_empty()),
        })),
        "voids": voids,
    })))
}

/// The customer's copy of a receipt, as core prints it on the phone (evidence/printable.rs), with
/// the receipt profile the collector's phone is sent (`AppState::receipt_profile`): the company's
/// name and seal, the public check's address for the QR code (the address the browser reached the
/// server at when none is configured, as a phone falls back to its server's), and the collector's
/// name and staff number (工号), printed when the signed document names no collector.
async fn print(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    Path(receipt_no): Path<String>,
) -> AppResult<Response> {
    if receipt_no.len() > 64 {
        return Err(AppError::not_found("no such receipt"));
    }
    let storage = state.storage.clone();
    let no = receipt_no.clone();
    let by = staff.clone();
    let st = state.clone();
    let found = blocking(move || {
        // outside the staff member's grids it is not there for them (and no reveal is audited)
        let grids = visible(&st, &by)?.grid_list();
        let q = MoneyQuery { receipt_no: Some(no.clone()), limit: 1, grids, ..Default::default() };
        let Some(line) = st.backoffice.money.money_receipts(&q)?.receipts.pop() else {
            return Ok(None);
        };
        let Some(evidence) = crate::domain::reveals::receipt_evidence(storage.as_ref(), &by.id, &no, now_ms())? else {
            return Ok(None);
        };
        let payer = drilldown::payer(storage.as_ref(), &line.grid_id, &line.household_id, &line.account_id)?;
        let collector_id = &evidence.receipt.collector_id;
        let collector = st
            .backoffice
            .staff
            .people()?
            .into_iter()
            .find(|p| &p.id == collector_id)
            .map(|p| CollectorProfile { name: p.name, staff_no: p.staff_no })
            .unwrap_or_default();
        Ok::<_, AppError>(Some((evidence, st.receipt_profile(&collector), payer)))
    })
    .await?;
    let (evidence, profile, payer) =
        found.ok_or_else(|| AppError::not_found(format!("没有此收据 no receipt {receipt_no}")))?;
    let Some(sig) = &evidence.signature else {
        return Err(AppError::invalid("此收据没有客户签字，无法打印 this receipt has no customer signature to print"));
    };
    let record = sig.seal_record().map_err(|e| AppError::invalid(format!("签字记录有误 the signature record: {e}")))?;
    let copy = customer_copy(&state, profile, payer, qr::base_url(&headers));
    let html = printable::receipt_copy_html(&receipt_document(&evidence.receipt), &sig.strokes, &record, &copy)
        .map_err(|e| AppError::invalid(format!("无法打印 cannot print: {e}")))?;
    Ok(page_with_csp(StatusCode::OK, html, PRINT_CSP))
}

/// What the back office's copy prints beyond the signed document, as the phone's copy does: the
/// receipt `profile` (the seal's image is the configured one it names), the check's address
/// falling back to `own_base`, and the `payer`, whom core prints masked (王芳 → 王*, the account's
/// last four, 138****5678).
fn customer_copy(
    state: &AppState,
    profile: ReceiptProfile,
    payer: drilldown::Payer,
    own_base: Option<String>,
) -> printable::CustomerCopy {
    let seal = state.receipts.seal.as_ref().filter(|s| profile.seal_sha256.as_deref() == Some(s.sha256.as_str()));
    printable::CustomerCopy {
        company_name: profile.company_name,
        seal_png: seal.map(|s| s.png.clone()),
        verify_base_url: profile.verify_base_url.or(own_base),
        payer_name: payer.name,
        account_no: payer.account_no,
        service_number: payer.service_number,
        collector_name: profile.collector_name,
        collector_staff_no: profile.collector_staff_no,
    }
}

#[derive(Debug, Deserialize)]
pub struct VoidsQuery {
    status: Option<String>,
    offset: Option<u32>,
    limit: Option<u32>,
}

/// Voids requested by phones and their decisions.
#[utoipa::path(
    get,
    path = "/admin/api/money/voids",
    tag = "backoffice",
    security(("staff_session" = [])),
    params(
        ("status" = Option<String>, Query, description = "pending, approved or refused; all when missing"),
        ("offset" = Option<u32>, Query, description = "Skip this many (0)"),
        ("limit" = Option<u32>, Query, description = "At most this many, 1–1000 (200)"),
    ),
    responses(
        (status = 200, description = "`{total, offset, limit, voids}`: one page, newest first, of the voids of the grids the staff member sees, and how many there are in all; reasons with digit runs masked", body = serde_json::Value),
        (status = 400, description = "A query parameter is malformed", body = gridbook_core::sync::wire::ErrorBody),
        (status = 401, description = "No back-office session", body = gridbook_core::sync::wire::ErrorBody),
        (status = 501, description = "This storage backend keeps no signed evidence", body = gridbook_core::sync::wire::ErrorBody),
        (status = 503, description = "Storage busy; retry", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub(crate) async fn voids(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    q: Result<Query<VoidsQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    if let Some(s) = &q.status {
        if !["pending", "approved", "refused"].contains(&s.as_str()) {
            return Err(AppError::bad_query("status: pending, approved or refused"));
        }
    }
    let storage = state.storage.clone();
    let (offset, limit) = page_bounds(q.offset, q.limit, 200, 1000);
    let st = state.clone();
    let (total, mut rows) = blocking(move || {
        // the scope is in the query: a supervisor's page is a page of their grids' voids
        let seen = visible(&st, &staff)?;
        let filter = VoidFilter { status: q.status, ..Default::default() };
        Ok::<_, AppError>(storage.void_reviews_page(&filter, &seen.page(offset, limit))?)
    })
    .await?;
    for v in &mut rows {
        v.reason = mask_digit_runs(&v.reason);
        v.note = v.note.as_deref().map(mask_digit_runs);
    }
    Ok(no_store(json!({ "total": total, "offset": offset, "limit": limit, "voids": rows })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DecisionBody {
    /// "approve" or "refuse".
    pub decision: String,
    /// Why; required to refuse (the phone's manager reads it).
    #[serde(default)]
    pub note: String,
}

/// Approves or refuses a pending void.
#[utoipa::path(
    post,
    path = "/admin/api/money/voids/{void_id}/decision",
    tag = "backoffice",
    security(("staff_session" = [])),
    params(("void_id" = String, Path, description = "The void's id")),
    request_body = DecisionBody,
    responses(
        (status = 200, description = "The void as decided (an audit row is written; an approval owes the receipt's amount again)", body = serde_json::Value),
        (status = 401, description = "No back-office session", body = gridbook_core::sync::wire::ErrorBody),
        (status = 403, description = "Not a supervisor or admin, another site, or a missing or stale `X-CSRF-Token`", body = gridbook_core::sync::wire::ErrorBody),
        (status = 404, description = "No such void", body = gridbook_core::sync::wire::ErrorBody),
        (status = 409, description = "`already_decided` or `already_voided`", body = gridbook_core::sync::wire::ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = gridbook_core::sync::wire::ErrorBody),
        (status = 422, description = "`invalid`: not approve/refuse, a refusal without a reason, a note over 500 characters", body = gridbook_core::sync::wire::ErrorBody),
        (status = 501, description = "This storage backend keeps no signed evidence", body = gridbook_core::sync::wire::ErrorBody),
        (status = 503, description = "Storage busy; retry", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub(crate) async fn decide_void(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    Path(void_id): Path<String>,
    body: Result<Json<DecisionBody>, JsonRejection>,
) -> AppResult<Response> {
    check_staff_write(&headers, &staff)?;
    let Json(body) = body?;
    let decision = VoidDecision::parse(&body.decision)
        .ok_or_else(|| AppError::invalid("decision: \"approve\" 批准 or \"refuse\" 驳回"))?;
    if decision == VoidDecision::Refuse && body.note.trim().is_empty() {
        return Err(AppError::invalid("note: 驳回须写明理由 a refusal says why"));
    }
    let storage = state.storage.clone();
    let (st, who) = (state.clone(), staff.clone());
    let id = void_id.clone();
    let row = blocking(move || {
        // a void of a grid not the staff member's is not there for them
        let seen = visible(&st, &who)?;
        // looked up under the staff member's scope, however many voids there are
        let this = VoidFilter { void_id: Some(id.clone()), ..Default::default() };
        if storage.void_reviews_page(&this, &seen.page(0, 1))?.0 == 0 {
            return Err(AppError::not_found("没有此作废申请 no such void"));
        }
        Ok::<_, AppError>(storage.decide_void(&id, decision, &who.id, &body.note, now_ms())?)
    })
    .await?;
    tracing::info!(staff = %staff.id, void = %void_id, decision = ?decision, "void decided in the back office");
    Ok(no_store(row))
}

#[derive(Debug, Deserialize)]
pub struct HandInsQuery {
    days: Option<i64>,
    limit: Option<u32>,
    offset: Option<u32>,
}

/// Hand-ins, and each manager's cash per day.
#[utoipa::path(
    get,
    path = "/admin/api/money/hand-ins",
    tag = "backoffice",
    security(("staff_session" = [])),
    params(
        ("days" = Option<i64>, Query, description = "Days of cash per manager, 1–366 (14)"),
        ("limit" = Option<u32>, Query, description = "A page of at most this many hand-ins, 1–1000 (50)"),
        ("offset" = Option<u32>, Query, description = "Hand-ins skipped before the page (0)"),
    ),
    responses(
        (status = 200, description = "`{since_day, total, offset, limit, hand_ins, cash_days}`: a page of the hand-ins, newest first, with the count of all the staff member may see; each manager's cash per day (phone's calendar), collected, handed in and outstanding", body = serde_json::Value),
        (status = 400, description = "A query parameter is malformed", body = gridbook_core::sync::wire::ErrorBody),
        (status = 401, description = "No back-office session", body = gridbook_core::sync::wire::ErrorBody),
        (status = 503, description = "Storage busy; retry", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub(crate) async fn hand_ins(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    q: Result<Query<HandInsQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let days = q.days.unwrap_or(14).clamp(1, 366);
    let (offset, limit) = super::api::page_bounds(q.offset, q.limit, 50, 1000);
    let now = now_ms();
    let since_day = report_day(now, days - 1);
    // a day east of UTC+14 starts no earlier than this
    let since_ms = now - (days + 1) * 86_400_000;
    let money = state.backoffice.money.clone();
    let day = since_day.clone();
    let st = state.clone();
    let ((total, rows), days) = blocking(move || {
        let seen = visible(&st, &staff)?;
        let page = money.hand_ins(&seen.page(offset, limit))?;
        let mut lines = money.cash_lines(since_ms)?;
        lines.retain(|l| seen.grid(&l.grid_id));
        let days = cash_days(&lines, &day)?;
        Ok::<_, AppError>((page, days))
    })
    .await?;
    Ok(no_store(json!({
        "since_day": since_day,
        "total": total,
        "offset": offset,
        "limit": limit,
        "hand_ins": rows,
        "cash_days": days,
    })))
}

/// Records cash handed in to the business hall against the receipts it pays.
#[utoipa::path(
    post,
    path = "/admin/api/money/hand-ins",
    tag = "backoffice",
    security(("staff_session" = [])),
    request_body(content = serde_json::Value, description = "`{manager_id, receipt_ids, amount_fen, note}`: the cash counted must be the receipts' sum"),
    responses(
        (status = 201, description = "The hand-in (an audit row is written)", body = serde_json::Value),
        (status = 401, description = "No back-office session", body = gridbook_core::sync::wire::ErrorBody),
        (status = 403, description = "Not a supervisor or admin, another site, or a missing or stale `X-CSRF-Token`", body = gridbook_core::sync::wire::ErrorBody),
        (status = 404, description = "A receipt is not on the server", body = gridbook_core::sync::wire::ErrorBody),
        (status = 409, description = "`already_handed_in` or `already_voided`", body = gridbook_core::sync::wire::ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = gridbook_core::sync::wire::ErrorBody),
        (status = 422, description = "`invalid`: the sum differs, a receipt is not cash or another manager's, too many receipts", body = gridbook_core::sync::wire::ErrorBody),
        (status = 503, description = "Storage busy; retry", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub(crate) async fn record_hand_in(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    body: Result<Json<HandInRequest>, JsonRejection>,
) -> AppResult<Response> {
    check_staff_write(&headers, &staff)?;
    let Json(request) = body?;
    let money = state.backoffice.money.clone();
    let (st, who) = (state.clone(), staff.clone());
    let id = uuid::Uuid::now_v7().to_string();
    let row = blocking(move || {
        // only the cash of the staff member's grids: a receipt the manager could hand in that is
        // outside them is not there for this staff member (the storage judges the rest)
        let seen = visible(&st, &who)?;
        if let Some(grids) = seen.grid_list() {
            if !seen.manager(&request.manager_id) {
                return Err(AppError::not_found("没有此经理，或无权查看 / no such manager, or not yours to see"));
            }
            let outstanding = |grids: Option<Vec<String>>| {
                let q = MoneyQuery {
                    collector: Some(request.manager_id.clone()),
                    not_handed_in: true,
                    limit: crate::storage::money::MAX_HAND_IN_RECEIPTS as u32,
                    grids,
                    ..Default::default()
                };
                money.money_receipts(&q).map(|p| p.receipts.into_iter().map(|r| r.id).collect::<Vec<_>>())
            };
            let (all, theirs) = (outstanding(None)?, outstanding(Some(grids))?);
            if let Some(other) = request.receipt_ids.iter().find(|id| all.contains(id) && !theirs.contains(id)) {
                return Err(AppError::not_found(format!("没有此收据 no receipt {other}")));
            }
        }
        Ok::<_, AppError>(money.record_hand_in(&id, &request, &who.id, now_ms())?)
    })
    .await?;
    tracing::info!(staff = %staff.id, hand_in = %row.id, amount_fen = row.amount_fen, "cash handed in");
    let mut response = no_store(row);
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}
