//! What the storage keeps of handovers (issue 7): the request to hand a grid or a building over,
//! the handover as the back office lists it with each old device's state, and the handovers a
//! device is part of (what the rules of a push ask, domain/handover.rs); and what every backend
//! does the same way with them: the request's checks, which records belong to a building, how a
//! pull page takes changes and removals in number order, when a handover is done.

use std::collections::{HashMap, HashSet};

use gridbook_core::model::EntityKind;
use gridbook_core::sync::wire::{EntityState, Removal};
use serde::{Deserialize, Serialize};

use super::error::{StorageError, StorageResult};

/// What a handover moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoverScope {
    /// The whole grid: it is reassigned to the new manager.
    Grid,
    /// One building (premises) and everything that belongs to it, into a grid of the new manager.
    Building,
}

impl HandoverScope {
    pub fn as_str(self) -> &'static str {
        match self {
            HandoverScope::Grid => "grid",
            HandoverScope::Building => "building",
        }
    }
}

/// A handover a device is part of: its manager lost the scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceHandover {
    pub id: String,
    pub scope: HandoverScope,
    pub from_grid: String,
    pub to_grid: String,
    /// The device reported the scope removed: its writes there are refused from then on.
    pub removed: bool,
}

/// A handover as the back office lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandoverRow {
    pub id: String,
    pub scope: HandoverScope,
    pub from_grid: String,
    pub premises_id: Option<String>,
    /// The building's name, for a building handover.
    pub premises_name: Option<String>,
    pub to_grid: String,
    /// The managers who lost the scope.
    pub from_managers: Vec<String>,
    pub to_manager: String,
    pub to_manager_name: Option<String>,
    /// Records moved (more join while old devices push what they wrote offline).
    pub records: i64,
    pub by: String,
    pub created_at_ms: i64,
    /// "waiting" while a device (not revoked) has not reported the scope removed, then "done".
    pub state: String,
    pub devices: Vec<HandoverDeviceRow>,
}

/// One old device of a handover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandoverDeviceRow {
    pub device_id: String,
    pub manager_id: String,
    pub manager_name: String,
    /// When the device reported its copy of the scope removed; None while waiting for it.
    pub removed_at_ms: Option<i64>,
    pub last_seen_ms: Option<i64>,
    pub pending_count: i64,
    /// Revoked since: it will never report, and no longer counts as waited for.
    pub revoked: bool,
}

/// A handover asked for by the back office or the command line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case", deny_unknown_fields)]
pub enum HandoverRequest {
    /// Grid `grid` from manager `from` to manager `to`.
    Grid { grid: String, from: String, to: String },
    /// Building `premises` into grid `to_grid`, which manager `to` must hold.
    Building { premises: String, to: String, to_grid: String },
}

/// Of the records served under a building's grid, the building and everything that belongs to it
/// (core's scope.rs), parents before children.
pub(crate) fn building_members(states: Vec<EntityState>, premises: &str) -> Vec<EntityState> {
    let mut by_kind: HashMap<EntityKind, Vec<EntityState>> = HashMap::new();
    for state in states {
        by_kind.entry(state.kind).or_default().push(state);
    }
    let mut inside: HashSet<(EntityKind, String)> = HashSet::new();
    let mut out = Vec::new();
    for kind in EntityKind::ALL {
        for state in by_kind.remove(&kind).unwrap_or_default() {
            let belongs = (kind == EntityKind::Premises && state.id == premises)
                || kind.parents().iter().any(|p| {
                    state
                        .value(p.field)
                        .as_str()
                        .is_some_and(|v| p.kinds.iter().any(|k| inside.contains(&(*k, v.to_string()))))
                });
            if belongs {
                inside.insert((kind, state.id.clone()));
                out.push(state);
            }
        }
    }
    out
}

/// "done" once every old device (not revoked) reported the scope removed, else "waiting".
pub(crate) fn state_of(devices: &[HandoverDeviceRow]) -> &'static str {
    if devices.iter().all(|d| d.removed_at_ms.is_some() || d.revoked) {
        "done"
    } else {
        "waiting"
    }
}

/// A page of removals by change number, with the ids of the handovers they belong to.
pub(crate) type RemovalPage = (Vec<(i64, Removal)>, Vec<String>);

/// Cuts the changes and the removals to one page of at most `limit` by change number; returns the
/// last number in the page (`cursor` for an empty one).
pub(crate) fn cut_page<T>(
    rows: &mut Vec<(i64, T)>,
    removals: &mut Vec<(i64, Removal)>,
    limit: usize,
    cursor: u64,
) -> i64 {
    if removals.is_empty() {
        rows.truncate(limit);
    } else {
        let mut seqs: Vec<i64> = rows.iter().map(|(s, _)| *s).chain(removals.iter().map(|(s, _)| *s)).collect();
        seqs.sort_unstable();
        if let Some(&cut) = seqs.get(limit.saturating_sub(1)) {
            rows.retain(|(s, _)| *s <= cut);
            removals.retain(|(s, _)| *s <= cut);
        }
    }
    let last_change = rows.last().map(|(s, _)| *s);
    let last_removal = removals.last().map(|(s, _)| *s);
    last_change.max(last_removal).unwrap_or(cursor as i64)
}

/// The fields of a request, checked before anything is touched: ids the server could hold.
pub(crate) fn check_request(request: &HandoverRequest) -> StorageResult<()> {
    let ids: Vec<(&str, &str)> = match request {
        HandoverRequest::Grid { grid, from, to } => vec![("grid", grid), ("from", from), ("to", to)],
        HandoverRequest::Building { premises, to, to_grid } => {
            vec![("premises", premises), ("to", to), ("to_grid", to_grid)]
        }
    }
    .into_iter()
    .map(|(k, v)| (k, v.as_str()))
    .collect();
    for (field, id) in ids {
        if id.trim().is_empty() || id.len() > 64 {
            return Err(StorageError::invalid(format!("{field}: 1 to 64 characters")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_takes_changes_and_removals_in_change_order_up_to_the_limit() {
        let removal = |id: &str| Removal { kind: EntityKind::Household, id: id.into() };
        let mut rows = vec![(3, "c3"), (5, "c5"), (9, "c9")];
        let mut removals = vec![(4, removal("r4")), (6, removal("r6"))];
        assert_eq!(cut_page(&mut rows, &mut removals, 3, 2), 5);
        assert_eq!(rows, vec![(3, "c3"), (5, "c5")]);
        assert_eq!(removals, vec![(4, removal("r4"))]);
        let mut none: Vec<(i64, &str)> = vec![];
        let mut no_removals: Vec<(i64, Removal)> = vec![];
        assert_eq!(cut_page(&mut none, &mut no_removals, 10, 42), 42, "an empty page stays at the cursor");
        let mut only = vec![(7, removal("r7"))];
        assert_eq!(cut_page(&mut none, &mut only, 10, 1), 7);
    }
}
