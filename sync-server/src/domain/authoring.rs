//! Changes the back office makes itself — arrears figures, imports, tiers, handovers, corrections —
//! written as ops so that they merge, log conflicts and reach the phones like a phone's edit.
//! They are stamped by this process's back-office clock, whose node is `backoffice_` and an id
//! drawn when the process starts (`node()`), and then, inside the write transaction, ordered after
//! the latest back-office stamp the database holds (`stamp_in_commit_order`, `stamp_after_in`).
//!
//! Why both (issue 15, several server replicas on one database): a node of its own per process
//! keeps two replicas' stamps apart — no two are ever equal, and no device may enrol under such a
//! node (`is_backoffice_node`) — and the database's latest stamp, locked by each back-office write,
//! absorbed by the writing process's clock and raised by it, puts every back-office stamp after
//! the ones committed before it, whichever replica made them and however far its wall clock lags:
//! a later admin edit never loses to an earlier one. The process clock is seeded from that row at
//! start too (storage `open`). A configured id per replica was not needed: a random one cannot be
//! set twice by mistake, and the row orders the stamps even if two ids ever met.

use std::borrow::Cow;
use std::sync::{LazyLock, Mutex, MutexGuard};

use gridbook_core::sync::hlc::{Hlc, HlcClock, SystemClock};
use gridbook_core::sync::wire::{Op, OpAction};
use gridbook_core::EntityKind;
use serde_json::{Map, Value};

use crate::storage::entity_tx::EntityTx;
use crate::storage::error::StorageResult;

/// The device id back-office ops are recorded under, and the node of servers before replicas
/// (which stamped every back-office change with it).
pub const BACKOFFICE_DEVICE: &str = "backoffice";

/// This process's back-office node: `backoffice_` and 16 hex digits drawn at its start (a valid
/// node id by the stamps' rule, 27 characters).
pub fn node() -> &'static str {
    static NODE: LazyLock<String> =
        LazyLock::new(|| format!("{BACKOFFICE_DEVICE}_{}", crate::domain::auth::new_secret(8)));
    &NODE
}

/// Whether a stamp's node is the back office's, of any process or of a server before replicas:
/// their edits of a record are one writer's, never a conflict, and no device enrols under one.
pub fn is_backoffice_node(node: &str) -> bool {
    node.strip_prefix(BACKOFFICE_DEVICE).is_some_and(|rest| rest.is_empty() || rest.starts_with('_'))
}

static CLOCK: LazyLock<Mutex<HlcClock>> = LazyLock::new(|| Mutex::new(HlcClock::new(node(), Box::new(SystemClock))));

fn clock() -> MutexGuard<'static, HlcClock> {
    // A poisoned lock only means another thread panicked mid-stamp; the clock state is still valid.
    CLOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A fresh back-office stamp, later than every one issued or absorbed before in this process.
pub fn stamp() -> Hlc {
    clock().now()
}

/// Absorbs a stamp the database holds, so that this process's next stamps order after it.
pub fn observe(latest: &Hlc) {
    clock().observe(latest);
}

/// Inside a back-office write transaction, a stamp later than `after` (every value the record
/// holds: a handover's rewrite must win over them whatever the clock of the phone that wrote them)
/// and than the database's latest back-office stamp, which it then becomes.
pub fn stamp_after_in(tx: &mut dyn EntityTx, after: Option<&Hlc>) -> StorageResult<Hlc> {
    let latest = tx.latest_backoffice_stamp()?;
    let stamp = {
        let mut clock = clock();
        clock.observe(&latest);
        if let Some(h) = after {
            clock.observe(h);
        }
        clock.now()
    };
    tx.raise_backoffice_stamp(&stamp)?;
    Ok(stamp)
}

/// A batch of back-office ops as it is to be applied, inside its write transaction: when any op of
/// this process (stamped by `op`) is not later than the database's latest back-office stamp
/// (`latest`, read under a lock that the transaction holds), another replica committed a later
/// stamp since: this process's ops are stamped again, in their order, after it. The latest stamp
/// is then raised to the batch's (`raise`). Ops of other nodes — data stamped elsewhere, test
/// fixtures — are applied as stamped and leave the latest stamp alone.
pub fn stamp_in_commit_order<'o>(
    ops: &'o [Op],
    latest: impl FnOnce() -> StorageResult<Hlc>,
    raise: impl FnOnce(&Hlc) -> StorageResult<()>,
) -> StorageResult<Cow<'o, [Op]>> {
    let own = |op: &Op| op.hlc.node == node();
    if !ops.iter().any(own) {
        return Ok(Cow::Borrowed(ops));
    }
    let latest = latest()?;
    let mut clock = clock();
    clock.observe(&latest);
    let behind =
        ops.iter().filter(|op| own(op)).any(|op| (op.hlc.millis, op.hlc.counter) <= (latest.millis, latest.counter));
    let ops: Cow<'o, [Op]> = if behind {
        Cow::Owned(
            ops.iter().map(|op| if own(op) { Op { hlc: clock.now(), ..op.clone() } } else { op.clone() }).collect(),
        )
    } else {
        Cow::Borrowed(ops)
    };
    if let Some(top) = ops.iter().filter(|op| own(op)).map(|op| &op.hlc).max() {
        clock.observe(top);
        raise(top)?;
    }
    Ok(ops)
}

/// Who back-office ops are applied as: an admin of every grid.
pub fn device() -> crate::domain::auth::DeviceAuth {
    crate::domain::auth::DeviceAuth {
        device_id: BACKOFFICE_DEVICE.into(),
        manager_id: BACKOFFICE_DEVICE.into(),
        role: crate::domain::auth::Role::Admin,
        grids: vec![],
        wipe: None,
        collector: Default::default(),
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
    use gridbook_core::sync::hlc::is_valid_node_id;

    fn household_op(hlc: Hlc) -> Op {
        Op { hlc, ..op(EntityKind::Household, "h1", "g1", OpAction::Update, Map::new()) }
    }

    #[test]
    fn the_node_is_a_valid_node_id_of_the_back_office_and_names_no_device() {
        assert!(is_valid_node_id(node()) && is_backoffice_node(node()), "{}", node());
        assert!(is_backoffice_node("backoffice") && is_backoffice_node("backoffice_a1"));
        assert!(!is_backoffice_node("backofficer") && !is_backoffice_node("dev1") && !is_backoffice_node("back"));
    }

    #[test]
    fn stamps_only_go_forward() {
        let stamps: Vec<Hlc> = (0..1000).map(|_| stamp()).collect();
        assert!(stamps.windows(2).all(|w| w[0] < w[1]));
        assert!(stamps.iter().all(|s| s.node == node()));
    }

    #[test]
    fn a_batch_behind_the_latest_stamp_is_stamped_again_after_it_in_its_order() {
        // another replica committed a stamp two minutes ahead of this process's clock
        let ahead = Hlc::new(stamp().millis + 120_000, 7, "backoffice_otherreplica");
        let ops = [household_op(stamp()), household_op(Hlc::new(5, 0, "dev1")), household_op(stamp())];
        let mut raised = None;
        let out = stamp_in_commit_order(
            &ops,
            || Ok(ahead.clone()),
            |top| {
                raised = Some(top.clone());
                Ok(())
            },
        )
        .unwrap();
        assert!(out[0].hlc > ahead && out[2].hlc > out[0].hlc, "{:?}", out);
        assert_eq!(out[1].hlc, Hlc::new(5, 0, "dev1"), "another node's op is applied as stamped");
        assert_eq!(raised.as_ref(), Some(&out[2].hlc));
        assert!(stamp() > out[2].hlc, "the process clock moved past the batch");
    }

    #[test]
    fn a_batch_already_later_is_kept_and_one_without_own_ops_reads_nothing() {
        let ops = [household_op(stamp())];
        let out = stamp_in_commit_order(&ops, || Ok(Hlc::new(1, 0, "backoffice")), |_| Ok(())).unwrap();
        assert!(matches!(out, Cow::Borrowed(_)) && out[0] == ops[0]);
        let foreign = [household_op(Hlc::new(1, 0, "backoffice"))];
        let out = stamp_in_commit_order(&foreign, || panic!("no lock taken"), |_| panic!("nothing raised")).unwrap();
        assert_eq!(out[0], foreign[0]);
    }
}
