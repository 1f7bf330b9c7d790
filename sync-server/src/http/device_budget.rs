//! Each device's request budget: a token bucket per device, so that one phone caught in a loop (a
//! bug, a background job that re-schedules itself at once, a retry storm after an outage) cannot
//! take the server's two cores from a city's other phones. Over budget a request is answered 429
//! `rate_limited` with `Retry-After` before its body is read, and the phone waits that long.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;

use crate::http::error::AppError;

/// How many requests a device may make: `burst` at once, then `per_second` on average.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetConfig {
    /// Requests a second a device earns back; 0 turns the budget off.
    pub per_second: u32,
    /// The most a device may send at once after a quiet spell.
    pub burst: u32,
}

impl Default for BudgetConfig {
    /// Far above a working phone: a sync cycle is a few requests, a first sync of 100k households
    /// some twenty pages, a backlog of 50k ops a hundred pushes; a loop sends thousands a second.
    fn default() -> Self {
        Self { per_second: 20, burst: 300 }
    }
}

/// A device's bucket, in thousandths of a request (integers: no drift, exact refill).
#[derive(Debug, Clone, Copy)]
struct Bucket {
    milli: u64,
    at_ms: i64,
}

/// Buckets kept before full ones (devices quiet long enough to have earned their burst back) are
/// dropped: a full bucket and no bucket mean the same.
const PRUNE_ABOVE: usize = 20_000;

/// How long a device's refusals are remembered for the back office; a refusal after a quiet spell
/// this long starts a new count (and a new warning in the log).
pub const REMEMBER_REFUSALS_MS: i64 = 3_600_000;

/// A device's requests refused over budget lately, for the back office ("限流").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Refusals {
    pub count: u64,
    pub first_ms: i64,
    pub last_ms: i64,
}

#[derive(Default)]
struct Buckets {
    by_device: HashMap<String, Bucket>,
    /// Only devices that went over budget: few, and dropped an hour after their last refusal.
    refused: HashMap<String, Refusals>,
    /// The size at which full buckets are next dropped: twice what a pruning kept, so that many
    /// devices all busy at once cost one scan per doubling, not one per request.
    prune_at: usize,
}

/// The buckets of every device that asked lately.
pub struct DeviceBudget {
    config: BudgetConfig,
    buckets: Mutex<Buckets>,
}

impl DeviceBudget {
    pub fn new(config: BudgetConfig) -> Self {
        Self { config, buckets: Mutex::new(Buckets { prune_at: PRUNE_ABOVE, ..Default::default() }) }
    }

    fn full(&self) -> u64 {
        u64::from(self.config.burst.max(1)) * 1000
    }

    /// The bucket's content at `now_ms` (a clock stepping back earns nothing, and takes nothing).
    fn refilled(&self, b: Bucket, now_ms: i64) -> u64 {
        let elapsed = u64::try_from(now_ms - b.at_ms).unwrap_or(0);
        b.milli.saturating_add(elapsed.saturating_mul(u64::from(self.config.per_second))).min(self.full())
    }

    /// Takes one request from the device's budget, or says how many milliseconds until it may ask
    /// again.
    pub fn take(&self, device_id: &str, now_ms: i64) -> Result<(), u64> {
        if self.config.per_second == 0 {
            return Ok(());
        }
        let full = self.full();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.by_device.len() > buckets.prune_at {
            buckets.by_device.retain(|_, b| self.refilled(*b, now_ms) < full);
            buckets.prune_at = (buckets.by_device.len() * 2).max(PRUNE_ABOVE);
        }
        let bucket = buckets.by_device.entry(device_id.to_string()).or_insert(Bucket { milli: full, at_ms: now_ms });
        let milli = self.refilled(*bucket, now_ms);
        // the refill is counted from now on, whatever the answer
        *bucket = Bucket { milli, at_ms: now_ms.max(bucket.at_ms) };
        if milli >= 1000 {
            bucket.milli = milli - 1000;
            return Ok(());
        }
        if buckets.refused.len() > 1_000 {
            buckets.refused.retain(|_, r| now_ms - r.last_ms <= REMEMBER_REFUSALS_MS);
        }
        let refused = buckets.refused.entry(device_id.to_string()).or_insert(Refusals {
            count: 0,
            first_ms: now_ms,
            last_ms: now_ms,
        });
        if refused.count == 0 || now_ms - refused.last_ms > REMEMBER_REFUSALS_MS {
            // once per episode, not once per request: a looping phone would flood the log
            tracing::warn!(
                device_id,
                per_second = self.config.per_second,
                burst = self.config.burst,
                "device over its request budget; answering 429"
            );
            *refused = Refusals { count: 0, first_ms: now_ms, last_ms: now_ms };
        }
        refused.count += 1;
        refused.last_ms = refused.last_ms.max(now_ms);
        Err((1000 - milli).div_ceil(u64::from(self.config.per_second)))
    }

    /// Devices refused within the last hour before `now_ms`, by device id.
    pub fn refused_lately(&self, now_ms: i64) -> HashMap<String, Refusals> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        buckets.refused.retain(|_, r| now_ms - r.last_ms <= REMEMBER_REFUSALS_MS);
        buckets.refused.clone()
    }

    /// `take`, as the error the device gets when over budget.
    pub fn check(&self, device_id: &str, now_ms: i64) -> Result<(), AppError> {
        self.take(device_id, now_ms).map_err(|wait_ms| {
            AppError::rate_limited(
                wait_ms,
                format!(
                    "this device sent more than {} requests a second (bursts of {}); wait {wait_ms} ms before the next",
                    self.config.per_second, self.config.burst
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(per_second: u32, burst: u32) -> DeviceBudget {
        DeviceBudget::new(BudgetConfig { per_second, burst })
    }

    #[test]
    fn a_burst_is_allowed_then_the_device_waits_for_its_refill() {
        let b = budget(10, 3);
        for _ in 0..3 {
            assert_eq!(b.take("phone-1", 1_000), Ok(()));
        }
        // one request earns back in 100 ms at 10 a second
        assert_eq!(b.take("phone-1", 1_000), Err(100));
        assert_eq!(b.take("phone-1", 1_040), Err(60));
        assert_eq!(b.take("phone-1", 1_100), Ok(()));
        assert_eq!(b.take("phone-1", 1_100), Err(100));
        // a quiet spell earns the burst back, never more
        for _ in 0..3 {
            assert_eq!(b.take("phone-1", 60_000), Ok(()));
        }
        assert!(b.take("phone-1", 60_000).is_err());
    }

    #[test]
    fn refusals_are_remembered_for_an_hour_and_counted_per_episode() {
        let b = budget(1, 1);
        assert_eq!(b.take("phone-1", 0), Ok(()));
        assert!(b.take("phone-1", 10).is_err());
        assert!(b.take("phone-1", 20).is_err());
        assert_eq!(b.refused_lately(30).get("phone-1"), Some(&Refusals { count: 2, first_ms: 10, last_ms: 20 }));
        assert!(!b.refused_lately(30).contains_key("phone-2"));
        assert!(b.refused_lately(20 + REMEMBER_REFUSALS_MS + 1).is_empty(), "forgotten after an hour");
        // a new episode counts afresh
        assert_eq!(b.take("phone-1", 2 * REMEMBER_REFUSALS_MS), Ok(()));
        assert!(b.take("phone-1", 2 * REMEMBER_REFUSALS_MS).is_err());
        assert_eq!(b.refused_lately(2 * REMEMBER_REFUSALS_MS).get("phone-1").map(|r| r.count), Some(1));
    }

    #[test]
    fn devices_have_budgets_of_their_own() {
        let b = budget(1, 1);
        assert_eq!(b.take("phone-1", 0), Ok(()));
        assert_eq!(b.take("phone-1", 0), Err(1000));
        assert_eq!(b.take("phone-2", 0), Ok(()));
    }

    #[test]
    fn a_clock_stepping_back_earns_nothing() {
        let b = budget(10, 1);
        assert_eq!(b.take("phone-1", 5_000), Ok(()));
        assert_eq!(b.take("phone-1", 1_000), Err(100));
        assert_eq!(b.take("phone-1", 5_100), Ok(()));
    }

    #[test]
    fn no_budget_when_turned_off() {
        let b = budget(0, 0);
        for _ in 0..10_000 {
            assert_eq!(b.take("phone-1", 0), Ok(()));
        }
    }

    #[test]
    fn full_buckets_are_dropped_when_many_devices_asked() {
        let b = budget(1, 2);
        let kept = || b.buckets.lock().unwrap().by_device.len();
        assert_eq!((b.take("busy", 0), b.take("busy", 0)), (Ok(()), Ok(())));
        for i in 0..PRUNE_ABOVE {
            assert_eq!(b.take(&format!("phone-{i}"), 0), Ok(()));
        }
        assert_eq!(kept(), PRUNE_ABOVE + 1);
        // a second on, the many have their burst back and go; the one still owed is remembered
        assert_eq!(b.take("late", 1_000), Ok(()));
        assert_eq!(kept(), 2);
        assert_eq!(b.take("busy", 1_000), Ok(()));
        assert_eq!(b.take("busy", 1_000), Err(1000));
    }
}
