//! "Something changed in these grids": the signal behind `GET /v1/changes` (docs/sync-protocol.md,
//! "Live changes"). A push that wrote records announces its grids here once it has committed; a
//! phone's long poll waits on it and then looks in the database. The signal only wakes: what a
//! phone is told always comes from the database, and a lost signal costs latency (the poll answers
//! "maybe" at its timeout and the phone pulls), never a change. On PostgreSQL the replicas relay
//! their announcements to one another with LISTEN/NOTIFY (postgres/live.rs); on SQLite the one
//! process is all there is.

use std::sync::Arc;

use tokio::sync::broadcast;

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
}
