//! Back-office login throttling: wrong passwords slow the guesser down instead of locking the
//! account. Failures are counted per account across the login form and HTTP Basic together, and
//! per client address (`client_addr.rs`):
//!
//! - **by address**: after `FREE_FAILURES` failures from one address (any accounts) each further
//!   attempt from it waits a delay that doubles with every failure (1 s, 2 s, 4 s … up to
//!   `MAX_DELAY_MS`); a guesser, or one spraying many accounts, is held to a crawl;
//! - **by account**: after `FREE_FAILURES` failures on one account (from anywhere) attempts on it are
//!   spaced at least `ACCOUNT_SPACING_MS` after its last failure, which slows guessing spread over many addresses
//!   yet never keeps the real owner out for more than that: the attacker's own address is what
//!   waits minutes, so an attacker cannot lock an admin out from another address.
//!
//! A refusal is 429 with `Retry-After` (and `retry_after_ms` in a JSON body); counts are forgotten
//! `WINDOW_MS` after an address's or account's last failure, and an account's on a good login.
//! Each episode — an account or address crossing the threshold — leaves one warning in the log
//! (never a password), and /metrics counts failures and refusals.
//!
//! The counts are in the database (`storage/sessions.rs`), shared by every server replica: failures
//! on several replicas behind a load balancer add up to one slow-down, and a restart forgets
//! nothing. The calls here read and write it, so they run off the async workers (`spawn_blocking`).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::http::error::AppError;
use crate::storage::error::StorageResult;
use crate::storage::sessions::{Failures, SessionStorage};

/// Failures allowed before any slowing down.
pub const FREE_FAILURES: u32 = 5;
/// The longest an address waits between attempts.
pub const MAX_DELAY_MS: i64 = 15 * 60_000;
/// The least time between attempts on an account past its free failures.
pub const ACCOUNT_SPACING_MS: i64 = 1_000;
/// Counts are forgotten this long after the last failure (and their rows dropped).
pub const WINDOW_MS: i64 = 15 * 60_000;

/// Which of the two rules refused an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    Address { retry_after_ms: u64 },
    Account { retry_after_ms: u64 },
}

impl Throttled {
    pub fn retry_after_ms(self) -> u64 {
        match self {
            Throttled::Address { retry_after_ms } | Throttled::Account { retry_after_ms } => retry_after_ms,
        }
    }

    /// The 429 the caller gets (HTTP Basic; the login form shows its page with the same header).
    pub fn to_error(self) -> AppError {
        let ms = self.retry_after_ms();
        AppError::rate_limited(
            ms,
            format!(
                "登录失败次数过多，请 {} 秒后再试 too many failed logins; try again in {} s",
                ms.div_ceil(1000),
                ms.div_ceil(1000)
            ),
        )
    }
}

/// A count as of `now_ms`: none once its window has passed.
fn current(f: &Failures, now_ms: i64) -> u32 {
    if now_ms - f.last_ms > WINDOW_MS {
        0
    } else {
        f.count
    }
}

/// The rules over the shared counts, and this process's totals for /metrics (each replica exposes
/// its own; the monitoring sums them).
pub struct LoginThrottle {
    storage: Arc<dyn SessionStorage>,
    /// An address's first wait past its free failures; each further failure doubles it.
    first_delay_ms: i64,
    account_spacing_ms: i64,
    failures_total: AtomicU64,
    refused_total: AtomicU64,
}

impl LoginThrottle {
    /// A throttle over `storage`'s counts whose address delays start at 1 s and whose accounts are
    /// spaced `ACCOUNT_SPACING_MS`.
    pub fn new(storage: Arc<dyn SessionStorage>) -> Self {
        Self {
            storage,
            first_delay_ms: 1_000,
            account_spacing_ms: ACCOUNT_SPACING_MS,
            failures_total: AtomicU64::new(0),
            refused_total: AtomicU64::new(0),
        }
    }

    /// The same throttle with address delays starting at `first_delay_ms` and accounts spaced
    /// `account_spacing_ms`.
    pub fn with_delays(mut self, first_delay_ms: i64, account_spacing_ms: i64) -> Self {
        self.first_delay_ms = first_delay_ms.max(1);
        self.account_spacing_ms = account_spacing_ms;
        self
    }

    /// The wait an address owes after its failures.
    fn address_wait(&self, f: &Failures, now_ms: i64) -> Option<u64> {
        let count = current(f, now_ms);
        if count < FREE_FAILURES {
            return None;
        }
        let doublings = (count - FREE_FAILURES).min(20);
        let delay = self.first_delay_ms.saturating_mul(1 << doublings).min(MAX_DELAY_MS);
        let wait = f.last_ms + delay - now_ms;
        (wait > 0).then_some(wait as u64)
    }

    fn account_wait(&self, f: &Failures, now_ms: i64) -> Option<u64> {
        if current(f, now_ms) < FREE_FAILURES {
            return None;
        }
        let wait = f.last_ms + self.account_spacing_ms - now_ms;
        (wait > 0).then_some(wait as u64)
    }

    /// Whether `account` may try a password from `address` now: `Ok(Err(_))` when it must wait.
    pub fn check(&self, account: &str, address: &str, now_ms: i64) -> StorageResult<Result<(), Throttled>> {
        let [by_account, by_address] = self.storage.login_failures(account, address)?;
        let refused = if let Some(ms) = by_address.and_then(|f| self.address_wait(&f, now_ms)) {
            Throttled::Address { retry_after_ms: ms }
        } else if let Some(ms) = by_account.and_then(|f| self.account_wait(&f, now_ms)) {
            Throttled::Account { retry_after_ms: ms }
        } else {
            return Ok(Ok(()));
        };
        self.refused_total.fetch_add(1, Ordering::Relaxed);
        Ok(Err(refused))
    }

    /// A wrong account or password from `address`.
    pub fn failed(&self, account: &str, address: &str, now_ms: i64) -> StorageResult<()> {
        self.failures_total.fetch_add(1, Ordering::Relaxed);
        let counts = self.storage.count_login_failure(account, address, now_ms, WINDOW_MS)?;
        for (count, what) in counts.into_iter().zip(["account", "address"]) {
            if count == FREE_FAILURES {
                // once per episode: the count passes the threshold once until it is forgotten
                tracing::warn!(
                    account,
                    address,
                    failures = count,
                    by = what,
                    "back-office login failures: slowing down further attempts"
                );
            }
        }
        Ok(())
    }

    /// A good login: the account's count is forgotten (the address's is not: one good account
    /// does not excuse guessing at others), and so are counts whose window has passed.
    pub fn succeeded(&self, account: &str, now_ms: i64) -> StorageResult<()> {
        self.storage.forget_login_failures(account, now_ms.saturating_sub(WINDOW_MS))
    }

    /// How many accounts and addresses are slowed down now (read from the database).
    pub fn slowed(&self, now_ms: i64) -> StorageResult<[i64; 2]> {
        self.storage.slowed_logins(FREE_FAILURES, now_ms.saturating_sub(WINDOW_MS))
    }

    /// The throttle's part of /metrics: this process's totals, and `slowed` when the database
    /// answered.
    pub fn write_metrics(&self, out: &mut String, slowed: Option<[i64; 2]>) {
        let family = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
        };
        let (failures, refused) = ("gridbook_login_failures_total", "gridbook_login_refused_total");
        family(out, failures, "counter", "Back-office logins refused for a wrong account or password.");
        let _ = writeln!(out, "{failures} {}", self.failures_total.load(Ordering::Relaxed));
        family(out, refused, "counter", "Back-office login attempts refused as too frequent (429).");
        let _ = writeln!(out, "{refused} {}", self.refused_total.load(Ordering::Relaxed));
        if let Some([accounts, addresses]) = slowed {
            let help = "Accounts and client addresses now slowed down after failed logins (all replicas).";
            family(out, "gridbook_login_throttled", "gauge", help);
            let _ = writeln!(out, "gridbook_login_throttled{{by=\"account\"}} {accounts}");
            let _ = writeln!(out, "gridbook_login_throttled{{by=\"address\"}} {addresses}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> (tempfile::TempDir, LoginThrottle) {
        let dir = tempfile::tempdir().unwrap();
        let storage = Arc::new(crate::storage::sqlite::SqliteStorage::open(dir.path().join("s.db")).unwrap());
        (dir, LoginThrottle::new(storage))
    }

    fn check(t: &LoginThrottle, account: &str, address: &str, now_ms: i64) -> Result<(), Throttled> {
        t.check(account, address, now_ms).unwrap()
    }

    #[test]
    fn an_address_waits_longer_after_each_failure_past_the_free_ones() {
        let (_dir, t) = throttle();
        for i in 0..FREE_FAILURES {
            assert_eq!(check(&t, &format!("acct{i}"), "10.0.0.1", 0), Ok(()));
            t.failed(&format!("acct{i}"), "10.0.0.1", 0).unwrap();
        }
        // one address spraying accounts is held back, whichever account it names next
        assert_eq!(check(&t, "someone", "10.0.0.1", 0), Err(Throttled::Address { retry_after_ms: 1_000 }));
        assert_eq!(check(&t, "someone", "10.0.0.1", 1_000), Ok(()));
        t.failed("someone", "10.0.0.1", 1_000).unwrap();
        assert_eq!(check(&t, "other", "10.0.0.1", 1_000), Err(Throttled::Address { retry_after_ms: 2_000 }));
        let mut now = 1_000;
        for _ in 0..30 {
            t.failed("x", "10.0.0.1", now).unwrap();
            now += 1;
        }
        assert_eq!(check(&t, "x", "10.0.0.1", now).map_err(Throttled::retry_after_ms), Err(MAX_DELAY_MS as u64 - 1));
        // and forgotten a window after its last failure
        assert_eq!(check(&t, "y", "10.0.0.1", now + MAX_DELAY_MS + WINDOW_MS), Ok(()));
    }

    #[test]
    fn an_account_is_slowed_down_never_locked_and_a_good_login_clears_it() {
        let (_dir, t) = throttle();
        // failures on one account from many addresses count together
        for i in 0..FREE_FAILURES {
            t.failed("admin", &format!("10.0.0.{i}"), 100).unwrap();
        }
        // the owner elsewhere waits at most the spacing, never the address's growing delay
        assert_eq!(check(&t, "admin", "192.168.1.9", 100), Err(Throttled::Account { retry_after_ms: 1_000 }));
        assert_eq!(check(&t, "admin", "192.168.1.9", 100 + ACCOUNT_SPACING_MS), Ok(()));
        assert_eq!(check(&t, "other", "192.168.1.9", 100), Ok(()), "other accounts are untouched");
        t.succeeded("admin", 101).unwrap();
        assert_eq!(check(&t, "admin", "192.168.1.9", 101), Ok(()));
    }

    #[test]
    fn a_count_older_than_the_window_starts_over() {
        let (_dir, t) = throttle();
        for _ in 0..FREE_FAILURES - 1 {
            t.failed("admin", "10.0.0.1", 0).unwrap();
        }
        // one more after the window: the fifth failure overall, the first of a new count
        t.failed("admin", "10.0.0.1", WINDOW_MS + 1).unwrap();
        assert_eq!(check(&t, "admin", "10.0.0.1", WINDOW_MS + 1), Ok(()));
    }

    #[test]
    fn a_good_login_drops_the_counts_whose_window_has_passed() {
        let (_dir, t) = throttle();
        for _ in 0..FREE_FAILURES {
            t.failed("x", "10.0.0.9", 0).unwrap();
        }
        t.failed("y", "10.0.0.8", WINDOW_MS).unwrap();
        t.succeeded("admin", WINDOW_MS + 1).unwrap();
        assert_eq!(t.storage.login_failures("x", "10.0.0.9").unwrap(), [None, None]);
        assert!(t.storage.login_failures("y", "10.0.0.8").unwrap().iter().all(Option::is_some));
    }

    #[test]
    fn metrics_count_failures_refusals_and_who_is_slowed() {
        let (_dir, t) = throttle();
        let now = crate::domain::now_ms();
        for _ in 0..FREE_FAILURES {
            t.failed("admin", "10.0.0.1", now).unwrap();
        }
        assert!(check(&t, "admin", "10.0.0.1", now).is_err());
        let mut out = String::new();
        t.write_metrics(&mut out, Some(t.slowed(now).unwrap()));
        assert!(out.contains("gridbook_login_failures_total 5\n"), "{out}");
        assert!(out.contains("gridbook_login_refused_total 1\n"), "{out}");
        assert!(out.contains("gridbook_login_throttled{by=\"account\"} 1\n"), "{out}");
        assert!(out.contains("gridbook_login_throttled{by=\"address\"} 1\n"), "{out}");
    }
}
