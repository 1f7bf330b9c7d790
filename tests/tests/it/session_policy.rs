//! The server's device policy end to end, against the real server on loopback: the policy the
//! operator set arrives with the first sync, the phone's encrypted store locks after the idle
//! minutes and unlocks only through its vault, and a phone past the maximum days offline records
//! nothing new until a sync lifts it, losing nothing it held.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use gridbook_core::store::encryption::SoftwareVault;
use gridbook_core::sync::hlc::WallClock;
use gridbook_core::sync::wire::{DevicePolicy, PhotoPolicy};
use gridbook_core::testing::{self, household_n};
use gridbook_core::Error;
use gridbook_tests::{Phone, TestServer};

#[derive(Clone)]
struct HandClock(Arc<AtomicU64>);

impl WallClock for HandClock {
    fn now_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl HandClock {
    fn advance_minutes(&self, minutes: u64) {
        self.0.fetch_add(minutes * 60_000, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn the_servers_policy_locks_an_idle_phone_and_holds_back_a_phone_offline_too_long() {
    let policy = DevicePolicy {
        idle_lock_minutes: 7,
        max_offline_days: 3,
        fresh_unlock_minutes: 20,
        block_screenshots: false,
        photos: Some(PhotoPolicy { over_mobile: false, mobile_bytes_per_day: 1 << 20, keep_days: 2 }),
    };
    let server = TestServer::start_with(|state| state.policy = policy).await;
    server.grid_with_manager("g1", "m1");
    // the phone's clock starts ten days back, so that the days it spends offline stay in the past
    let start = gridbook_sync_server::now_ms() as u64 - 10 * 86_400_000;
    let clock = HandClock(Arc::new(AtomicU64::new(start)));
    let vault = SoftwareVault::generate().unwrap();
    let phone = Phone::enrol_sealed_with(&server.url, &server.enrol_code("m1"), &vault, Box::new(clock.clone())).await;
    assert_eq!(phone.store.policy(), DevicePolicy::default(), "the defaults until the server says otherwise");

    let h = phone.store.create_household(household_n("g1", 1)).unwrap();
    phone.sync().await;
    assert_eq!(phone.store.policy(), policy, "the operator's policy came with the sync");
    assert_eq!(phone.store.last_sync_ok_ms(), Some(start as i64));

    // idle past the server's seven minutes (not the default five): locked, even to the sync
    clock.advance_minutes(6);
    assert!(!phone.store.is_locked());
    clock.advance_minutes(7);
    assert!(phone.store.is_locked());
    assert!(matches!(phone.engine.sync_once().await, Err(Error::Locked(_))));
    assert!(matches!(phone.store.unlock(&SoftwareVault::generate().unwrap()), Err(Error::WrongKey(_))));
    phone.store.unlock(&vault).unwrap();

    // a visit recorded offline, then three days and a minute without a sync
    let kept = phone.store.record_visit(testing::visit("g1", &h.id)).unwrap();
    clock.advance_minutes(3 * 24 * 60 + 1);
    phone.store.unlock(&vault).unwrap(); // idle meanwhile: the lock screen first
    assert!(phone.store.session_status().must_sync);
    match phone.store.record_visit(testing::visit("g1", &h.id)) {
        Err(Error::OfflineTooLong(why)) => assert!(why.contains("3") && why.contains("请先同步"), "{why}"),
        other => panic!("recorded past the days offline: {other:?}"),
    }
    assert!(matches!(phone.store.create_household(household_n("g1", 2)), Err(Error::OfflineTooLong(_))));
    assert_eq!(phone.store.outbox_counts().unwrap().pending, 1, "the visit made before is still to send");

    // it still syncs: the visit goes up, and the sync lifts the limit
    let report = phone.sync().await;
    assert_eq!(report.acknowledged, 1);
    assert!(!phone.store.session_status().must_sync);
    let after = phone.store.record_visit(testing::visit("g1", &h.id)).unwrap();
    phone.sync().await;

    // another phone of the manager receives both visits: nothing was lost
    let other = server.phone("m1").await;
    other.sync().await;
    assert!(other.store.visit(&kept.id).unwrap().is_some());
    assert!(other.store.visit(&after.id).unwrap().is_some());
    assert_eq!(other.store.policy(), policy);
}
