//! The back office's billing figures (issue 7): one billing profile per household service —
//! contract and plan end, this period's spend against earlier months, suspension risk — loaded
//! as JSON (`POST /admin/api/billing`, `admin load-billing` from JSON lines), checked in full
//! before anything is written, and written as back-office ops so that the grid's phones pull
//! them and work out their reminders. After a load, the tiers of every grid it touched are
//! recomputed (tiers.rs).

use std::collections::{BTreeSet, HashMap};

use gridbook_core::model::BillingProfile;
use gridbook_core::sync::wire::{EntityState, ErrorCode, OpAction, OpOutcome};
use gridbook_core::validate;
use gridbook_core::EntityKind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::tiers::{self, TierReport};
use crate::storage::records::RecordStorage;

/// The most profiles one load may carry: a large grid's services several times over. A city's
/// figures are loaded in several calls.
pub const MAX_PROFILES_PER_LOAD: usize = 20_000;

/// The body of `POST /admin/api/billing`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingLoad {
    /// Each as `gridbook_core::model::BillingProfile` (its `id` is ignored: see `profile_id`).
    pub profiles: Vec<BillingProfile>,
}

/// What a load did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadReport {
    pub received: usize,
    /// Profiles created or changed (phones pull these).
    pub written: usize,
    /// Profiles already stored exactly so.
    pub unchanged: usize,
    /// The tiers recomputed, per grid touched.
    pub tiers: Vec<TierReport>,
}

/// The profile's id: the same household and service number always name the same profile, so a
/// load repeated, or next month's, updates it instead of adding another.
pub fn profile_id(household_id: &str, service_number: &str) -> String {
    let digest = Sha256::digest(format!("{household_id}\u{1f}{}", service_number.trim()).as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("bp-{hex}")
}

fn bad(row: usize, message: impl std::fmt::Display) -> DomainError {
    DomainError::invalid(format!("row {row}: {message}"))
}

/// The profile a row describes, checked by the core's rules.
fn profile(row: usize, f: BillingProfile, now_ms: i64) -> DomainResult<BillingProfile> {
    let p = BillingProfile {
        id: profile_id(&f.household_id, &f.service_number),
        grid_id: f.grid_id.trim().to_string(),
        household_id: f.household_id.trim().to_string(),
        service_number: f.service_number.trim().to_string(),
        product: f.product.trim().to_string(),
        contract_end: f.contract_end.trim().to_string(),
        plan_end: f.plan_end.trim().to_string(),
        period: f.period.trim().to_string(),
        spend_fen: f.spend_fen,
        baseline_fen: f.baseline_fen,
        suspension_risk: f.suspension_risk,
        suspended: f.suspended,
        as_of_ms: if f.as_of_ms == 0 { now_ms } else { f.as_of_ms },
    };
    validate::billing_profile(&p).map_err(|e| bad(row, e))?;
    Ok(p)
}

/// What the grid holds now: its live households and its billing profiles by id.
struct GridNow {
    households: BTreeSet<String>,
    profiles: HashMap<String, EntityState>,
}

fn grid_now(storage: &(impl RecordStorage + ?Sized), grid: &str) -> DomainResult<Option<GridNow>> {
    if !storage.has_grid(grid)? {
        return Ok(None);
    }
    let households = storage
        .grid_records(EntityKind::Household, grid)?
        .into_iter()
        .filter(|s| !s.deleted() && s.base.is_some())
        .map(|s| s.id)
        .collect();
    let profiles =
        storage.grid_records(EntityKind::BillingProfile, grid)?.into_iter().map(|s| (s.id.clone(), s)).collect();
    Ok(Some(GridNow { households, profiles }))
}

/// Checks every row (rows are numbered from 1), then writes what changed in one transaction and
/// recomputes the tiers of the grids touched. Nothing is written when any row is wrong.
pub fn load(
    storage: &(impl RecordStorage + ?Sized),
    rows: Vec<BillingProfile>,
    now_ms: i64,
) -> DomainResult<LoadReport> {
    if rows.is_empty() {
        return Err(DomainError::invalid("profiles: nothing to load"));
    }
    if rows.len() > MAX_PROFILES_PER_LOAD {
        return Err(DomainError::refused(
            ErrorCode::TooMany,
            format!("profiles: at most {MAX_PROFILES_PER_LOAD} per load, {} sent; load them in parts", rows.len()),
        ));
    }
    let received = rows.len();
    let mut grids: HashMap<String, Option<GridNow>> = HashMap::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut ops = Vec::new();
    let mut unchanged = 0;
    for (n, figures) in rows.into_iter().enumerate() {
        let row = n + 1;
        let p = profile(row, figures, now_ms)?;
        if let Some(first) = seen.insert(p.id.clone(), row) {
            return Err(bad(
                row,
                format!("household {} service {} is also on row {first}", p.household_id, p.service_number),
            ));
        }
        if !grids.contains_key(&p.grid_id) {
            grids.insert(p.grid_id.clone(), grid_now(storage, &p.grid_id)?);
        }
        let Some(Some(grid)) = grids.get(&p.grid_id) else {
            return Err(bad(row, format!("grid_id: no grid {}", p.grid_id)));
        };
        if !grid.households.contains(&p.household_id) {
            return Err(bad(row, format!("household_id: no household {} in grid {}", p.household_id, p.grid_id)));
        }
        let mut fields: Map<String, Value> = serde_json::to_value(&p)?.as_object().cloned().unwrap_or_default();
        fields.remove("id");
        match grid.profiles.get(&p.id) {
            Some(stored) if stored.base.is_some() => {
                fields.insert("deleted".into(), false.into());
                fields.retain(|k, v| stored.value(k) != &*v && !(k == "deleted" && stored.value(k).is_null()));
                // the time of the figures alone is no change worth sending to every phone
                if fields.keys().all(|k| k == "as_of_ms") {
                    unchanged += 1;
                    continue;
                }
                ops.push(crate::domain::authoring::op(
                    EntityKind::BillingProfile,
                    &p.id,
                    &p.grid_id,
                    OpAction::Update,
                    fields,
                ));
            }
            _ => ops.push(crate::domain::authoring::op(
                EntityKind::BillingProfile,
                &p.id,
                &p.grid_id,
                OpAction::Create,
                fields,
            )),
        }
    }
    if !ops.is_empty() {
        for (op, result) in ops.iter().zip(storage.apply_backoffice_ops(&ops, now_ms)?) {
            if let OpOutcome::Rejected { reason, .. } = result.outcome {
                return Err(DomainError::invalid(format!("billing profile {}: {reason}", op.entity)));
            }
        }
    }
    let mut touched: Vec<&String> = grids.keys().collect();
    touched.sort();
    let tiers = touched.into_iter().map(|g| tiers::recompute(storage, g, now_ms)).collect::<DomainResult<Vec<_>>>()?;
    tracing::info!(received, written = ops.len(), unchanged, "billing figures loaded");
    Ok(LoadReport { received, written: ops.len(), unchanged, tiers })
}

/// Reads JSON lines (one profile a line; blank lines skipped), naming the line of any error.
pub fn parse_json_lines(text: &str) -> DomainResult<Vec<BillingProfile>> {
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let figures = serde_json::from_str(line).map_err(|e| DomainError::invalid(format!("line {}: {e}", n + 1)))?;
        rows.push(figures);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_keeps_its_id_across_loads() {
        assert_eq!(profile_id("h1", "13912345678"), profile_id("h1", " 13912345678 "));
        assert_ne!(profile_id("h1", "13912345678"), profile_id("h2", "13912345678"));
        assert_eq!(profile_id("h1", "x").len(), 35);
    }

    #[test]
    fn json_lines_errors_name_the_line() {
        let ok = r#"{"grid_id":"g1","household_id":"h1","service_number":"1","period":"2026-11","spend_fen":1,"baseline_fen":2}"#;
        assert_eq!(parse_json_lines(&format!("{ok}\n\n{ok}\n")).unwrap().len(), 2);
        let err = parse_json_lines(&format!("{ok}\n{{\"grid_id\": 3}}\n")).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Invalid);
        assert!(err.message().starts_with("line 2: "), "{}", err.message());
        let typo = ok.replace("spend_fen", "spend");
        assert!(parse_json_lines(&typo).unwrap_err().message().contains("unknown field `spend`"));
    }
}
