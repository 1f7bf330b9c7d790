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

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard};

use crate::http::error::AppError;

/// Failures allowed before any slowing down.
pub const FREE_FAILURES: u32 = 5;
/// The longest an address waits between attempts.
pub const MAX_DELAY_MS: i64 = 15 * 60_000;
/// The least time between attempts on an account past its free failures.
pub const ACCOUNT_SPACING_MS: i64 = 1_000;
/// Counts are forgotten this long after the last failure.
pub const WINDOW_MS: i64 = 15 * 60_000;
/// Entries kept before stale ones are dropped.
const PRUNE_ABOVE: usize = 10_000;

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

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last_ms: i64,
}

impl Failures {
    fn current(&self, now_ms: i64) -> u32 {
        if now_ms - self.last_ms > WINDOW_MS {
            0
        } else {
            self.count
        }
    }
}

#[derive(Default)]
struct Counts {
    by_account: HashMap<String, Failures>,
    by_address: HashMap<String, Failures>,
    failures_total: u64,
    refused_total: u64,
}

/// The failure counts of this process (a restart forgets them, as it logs everyone out).
pub struct LoginThrottle {
    /// An address's first wait past its free failures; each further failure doubles it.
    first_delay_ms: i64,
    account_spacing_ms: i64,
    counts: Mutex<Counts>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new(1_000, ACCOUNT_SPACING_MS)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl LoginThrottle {
    /// A throttle whose address delays start at `first_delay_ms` and whose accounts are spaced
    /// `account_spacing_ms` (the defaults: 1 s and `ACCOUNT_SPACING_MS`).
    pub fn new(first_delay_ms: i64, account_spacing_ms: i64) -> Self {
        Self { first_delay_ms: first_delay_ms.max(1), account_spacing_ms, counts: Mutex::default() }
    }

    /// The wait an address owes after its failures.
    fn address_wait(&self, f: &Failures, now_ms: i64) -> Option<u64> {
        let count = f.current(now_ms);
        if count < FREE_FAILURES {
            return None;
        }
        let doublings = (count - FREE_FAILURES).min(20);
        let delay = self.first_delay_ms.saturating_mul(1 << doublings).min(MAX_DELAY_MS);
        let wait = f.last_ms + delay - now_ms;
        (wait > 0).then_some(wait as u64)
    }

    fn account_wait(&self, f: &Failures, now_ms: i64) -> Option<u64> {
        if f.current(now_ms) < FREE_FAILURES {
            return None;
        }
        let wait = f.last_ms + self.account_spacing_ms - now_ms;
        (wait > 0).then_some(wait as u64)
    }

    /// Whether `account` may try a password from `address` now.
    pub fn check(&self, account: &str, address: &str, now_ms: i64) -> Result<(), Throttled> {
        let mut c = lock(&self.counts);
        let refused = if let Some(ms) = c.by_address.get(address).and_then(|f| self.address_wait(f, now_ms)) {
            Throttled::Address { retry_after_ms: ms }
        } else if let Some(ms) = c.by_account.get(account).and_then(|f| self.account_wait(f, now_ms)) {
            Throttled::Account { retry_after_ms: ms }
        } else {
            return Ok(());
        };
        c.refused_total += 1;
        Err(refused)
    }

    /// A wrong account or password from `address`.
    pub fn failed(&self, account: &str, address: &str, now_ms: i64) {
        let mut guard = lock(&self.counts);
        let c = &mut *guard;
        c.failures_total += 1;
        for (map, key, what) in [(&mut c.by_account, account, "account"), (&mut c.by_address, address, "address")] {
            if map.len() > PRUNE_ABOVE {
                map.retain(|_, f| now_ms - f.last_ms <= WINDOW_MS);
            }
            let f = map.entry(key.to_string()).or_insert(Failures { count: 0, last_ms: now_ms });
            let count = f.current(now_ms) + 1;
            *f = Failures { count, last_ms: now_ms.max(f.last_ms) };
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
    }

    /// A good login: the account's count is forgotten (the address's is not: one good account
    /// does not excuse guessing at others).
    pub fn succeeded(&self, account: &str) {
        lock(&self.counts).by_account.remove(account);
    }

    /// The throttle's part of /metrics.
    pub fn write_metrics(&self, out: &mut String, now_ms: i64) {
        let c = lock(&self.counts);
        let accounts = c.by_account.values().filter(|f| f.current(now_ms) >= FREE_FAILURES).count();
        let addresses = c.by_address.values().filter(|f| f.current(now_ms) >= FREE_FAILURES).count();
        let family = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
        };
        let (failures, refused) = ("gridbook_login_failures_total", "gridbook_login_refused_total");
        family(out, failures, "counter", "Back-office logins refused for a wrong account or password.");
        let _ = writeln!(out, "{failures} {}", c.failures_total);
        family(out, refused, "counter", "Back-office login attempts refused as too frequent (429).");
        let _ = writeln!(out, "{refused} {}", c.refused_total);
        let help = "Accounts and client addresses now slowed down after failed logins.";
        family(out, "gridbook_login_throttled", "gauge", help);
        let _ = writeln!(out, "gridbook_login_throttled{{by=\"account\"}} {accounts}");
        let _ = writeln!(out, "gridbook_login_throttled{{by=\"address\"}} {addresses}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_waits_longer_after_each_failure_past_the_free_ones() {
        let t = LoginThrottle::default();
        for i in 0..FREE_FAILURES {
            assert_eq!(t.check(&format!("acct{i}"), "10.0.0.1", 0), Ok(()));
            t.failed(&format!("acct{i}"), "10.0.0.1", 0);
        }
        // one address spraying accounts is held back, whichever account it names next
        assert_eq!(t.check("someone", "10.0.0.1", 0), Err(Throttled::Address { retry_after_ms: 1_000 }));
        assert_eq!(t.check("someone", "10.0.0.1", 1_000), Ok(()));
        t.failed("someone", "10.0.0.1", 1_000);
        assert_eq!(t.check("other", "10.0.0.1", 1_000), Err(Throttled::Address { retry_after_ms: 2_000 }));
        let mut now = 1_000;
        for _ in 0..30 {
            t.failed("x", "10.0.0.1", now);
            now += 1;
        }
        assert_eq!(t.check("x", "10.0.0.1", now).map_err(Throttled::retry_after_ms), Err(MAX_DELAY_MS as u64 - 1));
        // and forgotten a window after its last failure
        assert_eq!(t.check("y", "10.0.0.1", now + MAX_DELAY_MS + WINDOW_MS), Ok(()));
    }

    #[test]
    fn an_account_is_slowed_down_never_locked_and_a_good_login_clears_it() {
        let t = LoginThrottle::default();
        // failures on one account from many addresses count together
        for i in 0..FREE_FAILURES {
            t.failed("admin", &format!("10.0.0.{i}"), 100);
        }
        // the owner elsewhere waits at most the spacing, never the address's growing delay
        assert_eq!(t.check("admin", "192.168.1.9", 100), Err(Throttled::Account { retry_after_ms: 1_000 }));
        assert_eq!(t.check("admin", "192.168.1.9", 100 + ACCOUNT_SPACING_MS), Ok(()));
        assert_eq!(t.check("other", "192.168.1.9", 100), Ok(()), "other accounts are untouched");
        t.succeeded("admin");
        assert_eq!(t.check("admin", "192.168.1.9", 101), Ok(()));
    }

    #[test]
    fn metrics_count_failures_refusals_and_who_is_slowed() {
        let t = LoginThrottle::default();
        for _ in 0..FREE_FAILURES {
            t.failed("admin", "10.0.0.1", 0);
        }
        assert!(t.check("admin", "10.0.0.1", 0).is_err());
        let mut out = String::new();
        t.write_metrics(&mut out, 0);
        assert!(out.contains("gridbook_login_failures_total 5\n"), "{out}");
        assert!(out.contains("gridbook_login_refused_total 1\n"), "{out}");
        assert!(out.contains("gridbook_login_throttled{by=\"account\"} 1\n"), "{out}");
        assert!(out.contains("gridbook_login_throttled{by=\"address\"} 1\n"), "{out}");
    }
}
