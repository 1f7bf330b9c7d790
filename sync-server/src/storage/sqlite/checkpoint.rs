//! WAL checkpoints after large pushes, off the writer's thread. SQLite checkpoints inside the
//! commit that takes the log past 1,000 pages, on the writer, while every push waits for that
//! writer; under a flood of pushes that was a checkpoint every commit or two. After a commit of
//! many ops this thread copies the log back into the database file instead (PASSIVE: it never
//! blocks the writer or a reader), and the next commit starts the log afresh, below SQLite's
//! threshold. Small commits (a phone's few records) leave it to SQLite as before: a checkpoint
//! after each of them cost write-to-visible latency a millisecond (its fsyncs).

use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};

use rusqlite::Connection;

/// Ops in one group commit from which the log is checkpointed off the writer.
pub(super) const AFTER_OPS: usize = 1_000;

pub(super) struct Checkpointer {
    wake: SyncSender<()>,
}

impl Checkpointer {
    /// Starts the thread on its own connection (`open`); None if it cannot start.
    pub(super) fn start(path: &Path, open: impl FnOnce(&Path) -> Option<Connection>) -> Option<Self> {
        let conn = open(path)?;
        // one waiting wake-up is enough: the checkpoint it triggers copies everything committed
        let (wake, woken) = sync_channel::<()>(1);
        std::thread::Builder::new()
            .name("wal-checkpoint".into())
            .spawn(move || {
                // ends when the storage, the only sender, is dropped
                for () in woken {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!(error = %e, "WAL checkpoint failed; SQLite's own checkpoints go on");
                    }
                }
            })
            .ok()?;
        Some(Self { wake })
    }

    /// After a large commit: the log has grown by many pages.
    pub(super) fn wake(&self) {
        match self.wake.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) => {}
            Err(TrySendError::Disconnected(())) => tracing::warn!("the WAL checkpoint thread has stopped"),
        }
    }
}
