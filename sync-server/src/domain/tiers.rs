//! Customer tiers (客户等级, issue 7): households ranked by spend within their area, the top 20 %
//! high (高端), the next 20 % middle (中端), the bottom 60 % low (低端), computed from the back
//! office's billing figures and written to each household's `tier` as back-office ops (only where
//! it changes), so the phones pull them.
//!
//! The area is the grid. The grid is the smallest area the back office manages and a manager
//! serves; the household's own `area` field says urban or rural (城市/农村), a kind of place, and
//! ranking each kind apart inside a grid would leave groups of a handful of households where
//! "the top 20 %" means little.
//!
//! A household's spend is the sum of this period's spend over its services (`spend_fen` of its
//! billing profiles). Households without billing figures (prospects, other operators' customers)
//! are not ranked and their tier is left as it is; a household with figures but no spend is low.
//! Order: spend, then the earlier months' spend (`baseline_fen`), both highest first, then the
//! household id, so that the same figures always give the same tiers. A household is high when
//! fewer than 20 % of the ranked households come before it, middle when fewer than 40 % do.

use std::collections::BTreeMap;

use gridbook_core::model::Tier;
use gridbook_core::sync::wire::{EntityState, OpAction, OpOutcome};
use gridbook_core::EntityKind;
use serde::Serialize;

use crate::domain::error::{DomainError, DomainResult};
use crate::storage::records::RecordStorage;

/// One household's spend, as ranked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spend {
    pub household_id: String,
    pub spend_fen: i64,
    pub baseline_fen: i64,
}

/// What a recomputation of one grid did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierReport {
    pub grid_id: String,
    /// Households with billing figures, ranked.
    pub ranked: usize,
    pub high: usize,
    pub middle: usize,
    pub low: usize,
    /// Households whose tier changed (one back-office op each).
    pub changed: usize,
    /// Live households without billing figures, left as they were.
    pub unranked: usize,
}

/// The tier of each household, in rank order.
pub fn rank(mut spends: Vec<Spend>) -> Vec<(String, Tier)> {
    spends.sort_by(|a, b| {
        b.spend_fen
            .cmp(&a.spend_fen)
            .then_with(|| b.baseline_fen.cmp(&a.baseline_fen))
            .then_with(|| a.household_id.cmp(&b.household_id))
    });
    let n = spends.len();
    spends
        .into_iter()
        .enumerate()
        .map(|(before, s)| {
            // `before` households rank above this one: high while that is under 20 % of n
            let tier = if s.spend_fen <= 0 {
                Tier::Low
            } else if before * 5 < n {
                Tier::High
            } else if before * 5 < 2 * n {
                Tier::Middle
            } else {
                Tier::Low
            };
            (s.household_id, tier)
        })
        .collect()
}

fn live(states: Vec<EntityState>) -> impl Iterator<Item = EntityState> {
    states.into_iter().filter(|s| !s.deleted() && s.base.is_some())
}

/// Ranks the grid's households from the billing figures stored now and writes the tiers that
/// changed, in one transaction.
pub fn recompute(storage: &(impl RecordStorage + ?Sized), grid: &str, now_ms: i64) -> DomainResult<TierReport> {
    if !storage.has_grid(grid)? {
        return Err(DomainError::not_found(format!("no grid {grid}")));
    }
    let households: BTreeMap<String, EntityState> =
        live(storage.grid_records(EntityKind::Household, grid)?).map(|s| (s.id.clone(), s)).collect();
    let mut spend: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for p in live(storage.grid_records(EntityKind::BillingProfile, grid)?) {
        let household = p.value("household_id").as_str().unwrap_or_default();
        if !households.contains_key(household) {
            continue;
        }
        let entry = spend.entry(household.to_string()).or_default();
        entry.0 = entry.0.saturating_add(p.value("spend_fen").as_i64().unwrap_or(0));
        entry.1 = entry.1.saturating_add(p.value("baseline_fen").as_i64().unwrap_or(0));
    }
    let ranked = rank(
        spend
            .into_iter()
            .map(|(household_id, (spend_fen, baseline_fen))| Spend { household_id, spend_fen, baseline_fen })
            .collect(),
    );
    let mut report = TierReport {
        grid_id: grid.to_string(),
        ranked: ranked.len(),
        high: 0,
        middle: 0,
        low: 0,
        changed: 0,
        unranked: households.len() - ranked.len(),
    };
    let mut ops = Vec::new();
    for (household_id, tier) in &ranked {
        match tier {
            Tier::High => report.high += 1,
            Tier::Middle => report.middle += 1,
            Tier::Low => report.low += 1,
        }
        let current = households.get(household_id).and_then(|h| h.value("tier").as_str());
        if current != Some(tier.as_str()) {
            let mut fields = serde_json::Map::new();
            fields.insert("tier".into(), tier.as_str().into());
            ops.push(crate::domain::authoring::op(EntityKind::Household, household_id, grid, OpAction::Update, fields));
        }
    }
    report.changed = ops.len();
    if !ops.is_empty() {
        for result in storage.apply_backoffice_ops(&ops, now_ms)? {
            if let OpOutcome::Rejected { reason, .. } = result.outcome {
                return Err(DomainError::internal(format!("a tier update was refused: {reason}")));
            }
        }
    }
    tracing::info!(grid, ranked = report.ranked, changed = report.changed, "tiers recomputed");
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spends(figures: &[(&str, i64, i64)]) -> Vec<Spend> {
        figures
            .iter()
            .map(|(id, s, b)| Spend { household_id: id.to_string(), spend_fen: *s, baseline_fen: *b })
            .collect()
    }

    fn tiers(figures: &[(&str, i64, i64)]) -> Vec<(String, &'static str)> {
        rank(spends(figures)).into_iter().map(|(id, t)| (id, t.as_str())).collect()
    }

    #[test]
    fn ten_households_split_two_two_six() {
        let figures: Vec<(String, i64, i64)> = (0..10).map(|n| (format!("h{n}"), 1_000 * (n + 1), 0)).collect();
        let figures: Vec<(&str, i64, i64)> = figures.iter().map(|(id, s, b)| (id.as_str(), *s, *b)).collect();
        let got = tiers(&figures);
        let names: Vec<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(names, ["h9", "h8", "h7", "h6", "h5", "h4", "h3", "h2", "h1", "h0"], "highest spend first");
        let counts = |t: &str| got.iter().filter(|(_, x)| *x == t).count();
        assert_eq!((counts("high"), counts("middle"), counts("low")), (2, 2, 6));
        assert_eq!(got[1].1, "high");
        assert_eq!(got[2].1, "middle", "the 20 % boundary");
        assert_eq!(got[3].1, "middle");
        assert_eq!(got[4].1, "low", "the 40 % boundary");
    }

    #[test]
    fn fewer_than_five_households_still_get_a_top() {
        assert_eq!(tiers(&[("a", 500, 0)]), [("a".to_string(), "high")]);
        assert_eq!(tiers(&[("a", 500, 0), ("b", 400, 0)]), [("a".to_string(), "high"), ("b".to_string(), "low")]);
        assert_eq!(
            tiers(&[("c", 100, 0), ("a", 500, 0), ("b", 400, 0)]),
            [("a".to_string(), "high"), ("b".to_string(), "middle"), ("c".to_string(), "low")]
        );
        assert!(tiers(&[]).is_empty());
    }

    #[test]
    fn ties_break_by_earlier_spend_then_by_id_whatever_the_input_order() {
        let one = tiers(&[("b", 900, 100), ("a", 900, 100), ("c", 900, 500), ("d", 1, 0), ("e", 1, 0)]);
        let two = tiers(&[("e", 1, 0), ("d", 1, 0), ("c", 900, 500), ("a", 900, 100), ("b", 900, 100)]);
        assert_eq!(one, two, "deterministic");
        let names: Vec<&str> = one.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(names, ["c", "a", "b", "d", "e"]);
        assert_eq!(one[0].1, "high");
        assert_eq!(one[1].1, "middle");
        assert_eq!(one[2].1, "low");
    }

    #[test]
    fn no_spend_is_low_even_at_the_top() {
        assert_eq!(tiers(&[("a", 0, 0), ("b", 0, 5_000)]), [("b".to_string(), "low"), ("a".to_string(), "low")]);
        let got = tiers(&[("a", 0, 0), ("b", 0, 0), ("c", 0, 0), ("d", 0, 0), ("e", 10, 0)]);
        assert_eq!(got[0], ("e".to_string(), "high"));
        assert!(got[1..].iter().all(|(_, t)| *t == "low"));
    }
}
