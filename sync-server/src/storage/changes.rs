//! "Something changed in these grids": the signal behind `GET /v1/changes` (docs/sync-protocol.md,
//! "Live changes"). A push that wrote records announces its grids here once it has committed; a
//! phone's long poll waits on it and then looks in the database. The signal only wakes: what a
//! phone is told always comes from the database, and a lost signal costs latency (the poll answers
//! "maybe" at its timeout and the phone pulls), never a change. On PostgreSQL the replicas relay
//! their announcements to one another with LISTEN/NOTIFY (postgres/live.rs); on SQLite the one
//! process is all there is. Back-office writes (their ops, handovers, void decisions) announce
//! from the storage backend itself once committed (`OwnWrites`), so every way in — a page, the
//! JSON API, an admin command on PostgreSQL — wakes the phones alike.

use std::sync::{Arc, OnceLock};

use gridbook_core::sync::wire::Op;
use tokio::sync::broadcast;

use super::evidence::VoidReviewRow;
use super::handover::HandoverRow;

/// Announcements kept for a waiter that fell behind; past that it is told it lagged and looks.
const BACKLOG: usize = 1024;

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// Records in these grids.
    Grids(Arc<[String]>),
    /// Anything: what was missed while the relay between replicas was down, or a write whose grids
    /// were not counted.
    All,
}

impl Changed {
    /// The grids that ops wrote in.
    pub fn of_ops(ops: &[Op]) -> Self {
        Changed::Grids(grids_of(ops.iter().map(|op| op.grid.as_str())).into())
    }

    /// A handover: the grid it moved from (its old phones pull the removals) and the one it
    /// moved to (its phones pull the records).
    pub fn of_handover(row: &HandoverRow) -> Self {
        Changed::Grids(grids_of([row.from_grid.as_str(), row.to_grid.as_str()]).into())
    }

    /// A void decided: the receipt's grid, where an approval gives the amount back to the account
    /// (everyone looks when the receipt is not on the server).
    pub fn of_void(row: &VoidReviewRow) -> Self {
        match &row.grid_id {
            Some(grid) => Changed::Grids(vec![grid.clone()].into()),
            None => Changed::All,
        }
    }

    /// Whether a device of `grids` should look.
    pub fn touches(&self, grids: &[String]) -> bool {
        match self {
            Changed::All => true,
            Changed::Grids(changed) => changed.iter().any(|g| grids.contains(g)),
        }
    }
}

/// The signal of one server process: every announcement reaches every waiter.
#[derive(Debug, Clone)]
pub struct ChangeSignal {
    tx: broadcast::Sender<Changed>,
}

impl Default for ChangeSignal {
    fn default() -> Self {
        Self { tx: broadcast::channel(BACKLOG).0 }
    }
}

impl ChangeSignal {
    /// Wakes the waiters (none waiting is fine).
    pub fn send(&self, changed: Changed) {
        let _ = self.tx.send(changed);
    }

    /// A waiter: it sees every announcement sent after this call.
    pub fn subscribe(&self) -> broadcast::Receiver<Changed> {
        self.tx.subscribe()
    }

    /// Waiters now (a gauge of /metrics).
    pub fn waiting(&self) -> usize {
        self.tx.receiver_count()
    }
}

/// The server process's signal as a storage backend holds it, for the writes it makes on its own
/// (not pushes: the HTTP layer announces those): empty until the process hands it over with
/// `follow_changes`, and then for good. An admin command has no waiters, so no signal.
#[derive(Debug, Default)]
pub struct OwnWrites {
    signal: OnceLock<ChangeSignal>,
}

impl OwnWrites {
    /// The process's signal, from now on (a second one is ignored: one process, one signal).
    pub fn attach(&self, signal: ChangeSignal) {
        let _ = self.signal.set(signal);
    }

    /// Wakes this process's waiters of `grids` (an empty list: nothing written, nobody woken).
    pub fn wake(&self, changed: &Changed) {
        if let (Some(signal), false) = (self.signal.get(), matches!(changed, Changed::Grids(g) if g.is_empty())) {
            signal.send(changed.clone());
        }
    }
}

/// The distinct grids of what was written, sorted (one announcement names each once).
pub fn grids_of<'a>(grids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut grids: Vec<String> = grids.into_iter().map(str::to_string).collect();
    grids.sort_unstable();
    grids.dedup();
    grids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_waiter_sees_what_was_announced_after_it_subscribed_and_only_its_grids_touch_it() {
        let signal = ChangeSignal::default();
        signal.send(Changed::All); // before anyone waits: nobody to wake, no error
        let mut rx = signal.subscribe();
        assert_eq!(signal.waiting(), 1);
        let grids: Arc<[String]> = vec!["g2".to_string()].into();
        signal.send(Changed::Grids(grids.clone()));
        let got = rx.recv().await.expect("announcement");
        assert_eq!(got, Changed::Grids(grids));
        assert!(got.touches(&["g1".into(), "g2".into()]));
        assert!(!got.touches(&["g1".into()]));
        assert!(Changed::All.touches(&[]));
        drop(rx);
        assert_eq!(signal.waiting(), 0);
    }

    #[tokio::test]
    async fn a_backend_wakes_the_waiters_only_once_it_holds_the_signal_and_only_for_a_write() {
        let own = OwnWrites::default();
        own.wake(&Changed::All); // no signal yet (an admin command): nothing to do, no error
        let signal = ChangeSignal::default();
        let mut rx = signal.subscribe();
        own.attach(signal.clone());
        own.wake(&Changed::Grids(Vec::new().into()));
        own.wake(&Changed::Grids(grids_of(["g2", "g1", "g2"]).into()));
        let got = rx.recv().await.expect("announcement");
        assert_eq!(got, Changed::Grids(vec!["g1".to_string(), "g2".to_string()].into()), "nothing for no grid");
    }
}
