//! What the storage keeps of handovers (issue 7): the request to hand a grid or a building over,
//! the handover as the back office lists it with each old device's state, and the handovers a
//! device is part of (what the rules of a push ask, domain/handover.rs).

use serde::{Deserialize, Serialize};

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
