//! Live changes on the phone (docs/sync-protocol.md, "Live changes"): while the app is online and
//! in the foreground it waits on `GET /v1/changes` instead of polling. It asks with `limit`, so
//! the answer that wakes it carries the first page of what changed, applied at once: the phone
//! has another phone's write one round trip after the server knew of it, not two. The full cycle
//! still follows every wake-up, so a lost signal or a page left out only delays, never loses.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::sync::client::{same_generation, SyncEngine, SyncReport};
use crate::sync::wire::{ChangesResponse, PullPage, CHANGES_MAX_WAIT_S, PATH_CHANGES};

/// A wake-up's page of at most this many records is applied on the answer's own task, as the
/// cycle's small reads and writes are: the hop to a blocking thread and back took longer than
/// applying one record (0.18 ms against 0.16 ms, docs/benchmarks.md, issue 15). Larger pages (a
/// phone catching up) go to a blocking thread, as the pull's do.
const APPLY_HERE_MAX: usize = 16;

/// What one live-change wait brought.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveChanges {
    /// The server's signal: `true` changed, `false` maybe.
    pub changed: bool,
    /// Records the answer carried and the store took (0: none came, or the page was not
    /// applicable any more and the cycle that follows pulls it).
    pub pulled: u64,
    /// Records the page's removals took off this phone (a handover), as a pulled page counts them.
    pub removed: u64,
}

impl SyncEngine {
    /// Asks the server to answer once records of this device's grids after its cursor can be
    /// pulled, waiting up to `wait_s` seconds (at most `CHANGES_MAX_WAIT_S`; docs/sync-protocol.md,
    /// "Live changes"): `true` changed, `false` maybe (nothing seen in the wait). Either way the
    /// caller pulls: the answer says when, never what.
    pub async fn wait_for_changes(&self, wait_s: u32) -> Result<bool> {
        Ok(self.ask_changes(wait_s, None).await?.changed)
    }

    /// `wait_for_changes`, asking for the page too (`limit` = the pull's page size), and applying
    /// the page the answer carries: when this returns with `pulled` > 0, the store has them.
    pub async fn take_live_changes(&self, wait_s: u32) -> Result<LiveChanges> {
        let limit = self.config().pull_limit;
        let cursor = self.store().pull_cursor()?;
        let answer = self.ask_changes(wait_s, Some((cursor, limit))).await?;
        let (pulled, removed) = match answer.page {
            Some(page) => self.apply_live_page(cursor, page).await?,
            None => (0, 0),
        };
        Ok(LiveChanges { changed: answer.changed, pulled, removed })
    }

    async fn ask_changes(&self, wait_s: u32, page: Option<(u64, u32)>) -> Result<ChangesResponse> {
        let config = self.config();
        let cursor = match page {
            Some((cursor, _)) => cursor,
            None => self.store().pull_cursor()?,
        };
        let wait_s = wait_s.min(CHANGES_MAX_WAIT_S);
        let mut url = format!("{}{}?cursor={cursor}&wait_s={wait_s}", config.server_url, PATH_CHANGES);
        if let Some((_, limit)) = page {
            url.push_str(&format!("&limit={limit}"));
        }
        self.exchange(self.device_request(self.http().get(url), &config)).await
    }

    /// Applies a page the wake-up carried, as the pull applies its pages, unless a cycle moved
    /// the cursor meanwhile or the server is another generation than the one known: then it is
    /// left for the cycle's own pull (nothing is lost, the page is only not saved a request).
    /// Answers the records taken and the records removed.
    async fn apply_live_page(&self, asked_from: u64, page: PullPage) -> Result<(u64, u64)> {
        let _one_at_a_time = self.one_at_a_time().await;
        let store = self.store().clone();
        if store.pull_cursor()? != asked_from || !same_generation(store.server_generation()?.as_deref(), &page) {
            return Ok((0, 0));
        }
        self.meet_page(&self.config(), &page).await?;
        let pulled = page.changes.len() as u64;
        let applied = if page.changes.len() + page.removals.len() <= APPLY_HERE_MAX {
            store.apply_pull_page(&page)?
        } else {
            tokio::task::spawn_blocking(move || store.apply_pull_page(&page))
                .await
                .map_err(|e| Error::Interrupted(format!("applying a live-change page: {e}")))??
        };
        Ok((pulled, applied.removed))
    }

    /// One round of the loop an app runs while it is online and in the foreground: waits for the
    /// server's live-change signal with its page (`take_live_changes`), then syncs (pushes what
    /// is pending, pulls whatever the page did not hold). When the signal fails (a server without
    /// it, a proxy that cuts long requests, the budget spent), the round polls instead: it waits
    /// `wait_s` seconds (or the `Retry-After` asked, if longer) and syncs all the same. The sync's
    /// own error, if any, is the round's (the caller backs off as after `sync_once`).
    pub async fn sync_live_round(&self, wait_s: u32) -> Result<SyncReport> {
        let live = match self.take_live_changes(wait_s).await {
            Ok(live) => live,
            Err(e) => {
                let mut delay = Duration::from_secs(wait_s.min(CHANGES_MAX_WAIT_S).into());
                if let Error::Busy { retry_after_ms, .. } = e {
                    delay = delay.max(Duration::from_millis(retry_after_ms));
                }
                tokio::time::sleep(delay).await;
                LiveChanges::default()
            }
        };
        let mut report = self.sync_once().await?;
        // the round's pull began with the wake-up's page
        report.pulled += live.pulled;
        report.removed += live.removed;
        Ok(report)
    }
}
