//! Changes the back office makes itself — arrears figures, imports, tiers, handovers, corrections —
//! written as ordinary ops so that they merge, log conflicts and reach the phones exactly like a
//! phone's edit. They are stamped by one process-wide hybrid logical clock with node "backoffice".

use std::sync::{LazyLock, Mutex};

use gridbook_core::sync::hlc::{Hlc, HlcClock, SystemClock};
use gridbook_core::sync::wire::{Op, OpAction};
use gridbook_core::EntityKind;
use serde_json::{Map, Value};

/// The node name of every back-office stamp (and the device id its ops are recorded under).
pub const BACKOFFICE_NODE: &str = "backoffice";

static CLOCK: LazyLock<Mutex<HlcClock>> =
    LazyLock::new(|| Mutex::new(HlcClock::new(BACKOFFICE_NODE, Box::new(SystemClock))));

/// A fresh back-office stamp, later than every one issued before in this process.
pub fn stamp() -> Hlc {
    // A poisoned lock only means another thread panicked mid-stamp; the clock state is still valid.
    let mut clock = CLOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    clock.now()
}

/// A back-office stamp later than `after` too: a rewrite of a record (a handover moving it) must
/// win over every value the record holds, whatever the clock of the phone that wrote them.
pub fn stamp_after(after: Option<&Hlc>) -> Hlc {
    let mut clock = CLOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(h) = after {
        clock.observe(h);
    }
    clock.now()
}

/// Who back-office ops are applied as: an admin of every grid.
pub fn device() -> crate::domain::auth::DeviceAuth {
    crate::domain::auth::DeviceAuth {
        device_id: BACKOFFICE_NODE.into(),
        manager_id: BACKOFFICE_NODE.into(),
        role: crate::domain::auth::Role::Admin,
        grids: vec![],
        wipe: None,
    }
}

/// One back-office change to `entity` of `kind` in `grid`: the given fields only (field-level, as
/// on the phone).
pub fn op(kind: EntityKind, entity: &str, grid: &str, action: OpAction, fields: Map<String, Value>) -> Op {
    Op {
        id: uuid::Uuid::now_v7(),
        kind,
        entity: entity.to_string(),
        grid: grid.to_string(),
        action,
        fields,
        hlc: stamp(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_after_a_phone_stamp_is_later_than_it() {
        let ahead = Hlc::new(stamp().millis + 120_000, 7, "phone-ahead");
        let s = stamp_after(Some(&ahead));
        assert!(s > ahead && s.node == BACKOFFICE_NODE);
    }

    #[test]
    fn stamps_only_go_forward() {
        let stamps: Vec<Hlc> = (0..1000).map(|_| stamp()).collect();
        assert!(stamps.windows(2).all(|w| w[0] < w[1]));
        assert!(stamps.iter().all(|s| s.node == BACKOFFICE_NODE));
    }
}
