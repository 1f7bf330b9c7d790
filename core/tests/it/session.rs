//! The app lock and the offline session of an encrypted store, on a hand clock: idle minutes lock
//! it, only its own vault unlocks it, the server's policy sets the minutes and the days offline,
//! past those days nothing new is recorded (and nothing is lost) until a sync, and signing a
//! receipt asks for a fresh unlock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use gridbook_core::store::encryption::SoftwareVault;
use gridbook_core::sync::wire::DevicePolicy;
use gridbook_core::testing::{self, household_n};
use gridbook_core::*;

/// A wall clock the test moves by hand (the lock and the offline limit read the store's clock).
#[derive(Clone)]
struct HandClock(Arc<AtomicU64>);

impl gridbook_core::sync::hlc::WallClock for HandClock {
    fn now_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl HandClock {
    fn new() -> Self {
        Self(Arc::new(AtomicU64::new(1_795_000_000_000)))
    }
    fn advance_minutes(&self, minutes: u64) {
        self.0.fetch_add(minutes * 60_000, Ordering::SeqCst);
    }
    fn advance_days(&self, days: u64) {
        self.advance_minutes(days * 24 * 60);
    }
}

fn sealed(clock: &HandClock) -> (tempfile::TempDir, Store, SoftwareVault) {
    let dir = tempfile::tempdir().unwrap();
    let vault = SoftwareVault::generate().unwrap();
    let store = Store::open_sealed_with_clock(dir.path().join("device.db"), &vault, Box::new(clock.clone())).unwrap();
    (dir, store, vault)
}

fn policy(idle_lock_minutes: u32, max_offline_days: u32, fresh_unlock_minutes: u32) -> DevicePolicy {
    DevicePolicy { idle_lock_minutes, max_offline_days, fresh_unlock_minutes, block_screenshots: true, photos: None }
}

#[test]
fn an_idle_store_locks_itself_and_only_its_own_vault_unlocks_it() {
    let clock = HandClock::new();
    let (_dir, store, vault) = sealed(&clock);
    let h = store.create_household(household_n("g1", 4242)).unwrap();
    let id_number = testing::resident_id(4242);
    let full = || Reveal::Full { purpose: "核对".into() };
    assert_eq!(store.policy().idle_lock_minutes, 5, "five minutes until the server says otherwise");

    // every call restarts the idle minutes; asking whether it is locked does not
    clock.advance_minutes(4);
    assert_eq!(store.household(&h.id, full()).unwrap().id_number, id_number);
    clock.advance_minutes(4);
    assert!(!store.is_locked());
    assert_eq!(store.search_households("g1", &h.customer_name, 5).unwrap().len(), 1);

    // five idle minutes: locked, and every read and write refused with nothing changed
    clock.advance_minutes(5);
    assert!(store.is_locked(), "the lock screen's timer locks it on time");
    assert!(matches!(store.household(&h.id, full()), Err(Error::Locked(_))));
    assert!(matches!(store.create_household(household_n("g1", 777)), Err(Error::Locked(_))));
    assert!(matches!(store.record_visit(testing::visit("g1", &h.id)), Err(Error::Locked(_))));
    assert!(matches!(store.outbox_counts(), Err(Error::Locked(_))));

    // another vault leaves it locked; its own vault unlocks it with the same data
    let other = SoftwareVault::generate().unwrap();
    assert!(matches!(store.unlock(&other), Err(Error::WrongKey(_))));
    assert!(store.is_locked());
    store.unlock(&vault).unwrap();
    assert!(!store.is_locked());
    assert_eq!(store.household(&h.id, full()).unwrap().id_number, id_number);
    assert_eq!(store.all_states(EntityKind::Household).unwrap().len(), 1, "the refused write left nothing");
    assert_eq!(store.outbox_counts().unwrap().pending, 1);

    // locked by the app at once; a wall clock set back counts as idle too
    store.lock_now().unwrap();
    assert!(matches!(store.outbox_counts(), Err(Error::Locked(_))));
    store.unlock(&vault).unwrap();
    clock.0.fetch_sub(60_000, Ordering::SeqCst);
    assert!(matches!(store.outbox_counts(), Err(Error::Locked(_))));
    store.unlock(&vault).unwrap();

    // the server's policy: 0 never locks; 30 minutes, kept across a reopen
    store.meet_policy(Some(&policy(0, 14, 30))).unwrap();
    clock.advance_days(1);
    assert!(store.outbox_counts().is_ok());
    store.meet_policy(Some(&policy(30, 14, 30))).unwrap();
    clock.advance_minutes(29);
    assert!(store.outbox_counts().is_ok());
    clock.advance_minutes(30);
    assert!(store.is_locked());
    let path = store.path().to_path_buf();
    drop(store);
    let store = Store::open_sealed_with_clock(&path, &vault, Box::new(clock.clone())).unwrap();
    assert_eq!(store.policy(), policy(30, 14, 30));
    // an answer without a policy (an older server) changes nothing; limits beyond bounds are capped
    store.meet_policy(None).unwrap();
    assert_eq!(store.policy().idle_lock_minutes, 30);
    store.meet_policy(Some(&policy(u32::MAX, u32::MAX, u32::MAX))).unwrap();
    assert_eq!(store.policy(), policy(DevicePolicy::MAX_MINUTES, DevicePolicy::MAX_DAYS, DevicePolicy::MAX_MINUTES));
}

#[test]
fn past_the_days_offline_the_phone_reads_but_records_nothing_until_it_syncs() {
    let clock = HandClock::new();
    let (_dir, store, vault) = sealed(&clock);
    store.meet_policy(Some(&policy(0, 14, 30))).unwrap();
    let h = store.create_household(household_n("g1", 1)).unwrap();
    // never synced (not enrolled): nothing to catch up with
    clock.advance_days(100);
    let first = store.record_visit(testing::visit("g1", &h.id)).unwrap();
    store.note_sync_success().unwrap();

    clock.advance_days(14);
    let kept = store.record_visit(testing::visit("g1", &h.id)).unwrap();
    assert!(!store.session_status().must_sync, "fourteen days is still within the limit");
    clock.advance_minutes(1);
    assert!(store.session_status().must_sync);
    let before = store.outbox_counts().unwrap();
    let mut edited = store.household(&h.id, Reveal::Masked).unwrap();
    edited.notes = "换了新号码".into();
    for refused in [
        store.record_visit(testing::visit("g1", &h.id)).map(drop),
        store.create_household(household_n("g1", 2)).map(drop),
        store.update_household(edited.clone()).map(drop),
        store.delete_household(&h.id),
    ] {
        match refused {
            Err(Error::OfflineTooLong(why)) => assert!(why.contains("14") && why.contains("请先同步"), "{why}"),
            other => panic!("recorded while offline too long: {other:?}"),
        }
    }
    // what it holds still shows, and is still to send; nothing was added or lost
    assert_eq!(store.outbox_counts().unwrap().pending, before.pending);
    assert!(store.visit(&first.id).unwrap().is_some() && store.visit(&kept.id).unwrap().is_some());
    assert_eq!(store.household(&h.id, Reveal::Full { purpose: "核对".into() }).unwrap().id, h.id);

    // a reopen does not lift it; a sync does
    let path = store.path().to_path_buf();
    drop(store);
    let store = Store::open_sealed_with_clock(&path, &vault, Box::new(clock.clone())).unwrap();
    assert!(matches!(store.record_visit(testing::visit("g1", &h.id)), Err(Error::OfflineTooLong(_))));
    store.note_sync_success().unwrap();
    store.update_household(edited).unwrap();
    store.record_visit(testing::visit("g1", &h.id)).unwrap();
    assert_eq!(store.outbox_counts().unwrap().pending, before.pending + 2);

    // the server may lift the limit (0) or change it
    clock.advance_days(20);
    assert!(store.session_status().must_sync);
    store.meet_policy(Some(&policy(0, 0, 30))).unwrap();
    assert!(!store.session_status().must_sync);
    store.record_visit(testing::visit("g1", &h.id)).unwrap();
    store.meet_policy(Some(&policy(0, 30, 30))).unwrap();
    assert!(store.record_visit(testing::visit("g1", &h.id)).is_ok());
    clock.advance_days(11);
    assert!(matches!(store.record_visit(testing::visit("g1", &h.id)), Err(Error::OfflineTooLong(_))));
}

#[test]
fn signing_a_receipt_needs_an_unlock_no_older_than_the_policy_allows() {
    let clock = HandClock::new();
    let (_dir, store, vault) = sealed(&clock);
    store.meet_policy(Some(&policy(10, 14, 30))).unwrap();
    let h = store.create_household(household_n("g1", 1)).unwrap();
    let acc = testing::seed_account(&store, "g1", &h.id, 30_000).unwrap();
    store.add_receipt_block(&testing::receipt_block("SJ000001-")).unwrap();
    let key = store.device_key().unwrap();
    let sign = || store.record_signed_receipt(testing::receipt("g1", &acc, &h.id, ""), testing::capture("王芳"), &key);

    // opened (the vault gave the key) 29 minutes ago, used all along: fresh enough
    for _ in 0..29 {
        clock.advance_minutes(1);
        store.outbox_counts().unwrap();
    }
    let first = sign().unwrap();
    // 31 minutes after the unlock: still unlocked, but not fresh enough to take money
    clock.advance_minutes(2);
    let left = store.receipt_numbers_left().unwrap();
    match sign() {
        Err(Error::Locked(why)) => assert!(why.contains("重新解锁"), "{why}"),
        other => panic!("signed on a stale unlock: {other:?}"),
    }
    assert!(!store.is_locked(), "the store itself stays unlocked");
    assert_eq!(store.receipt_numbers_left().unwrap(), left, "the refused receipt took no number");
    // another vault does not renew it; its own does
    assert!(matches!(store.unlock(&SoftwareVault::generate().unwrap()), Err(Error::WrongKey(_))));
    assert!(matches!(sign(), Err(Error::Locked(_))));
    store.unlock(&vault).unwrap();
    let second = sign().unwrap();
    assert_ne!(first.receipt.receipt_no, second.receipt.receipt_no);

    // a locked store signs nothing
    store.lock_now().unwrap();
    assert!(matches!(sign(), Err(Error::Locked(_))));
}
