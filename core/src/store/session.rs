//! The app lock and the offline session of a phone's store (docs/at-rest.md, "App lock"): after
//! the server's idle minutes the store's key leaves memory and every call answers `Locked` until
//! the vault unlocks it again; past the server's maximum days without a successful sync the store
//! still syncs and shows what it holds, but records nothing new (`OfflineTooLong`) until it has
//! synced. Signing a receipt also needs an unlock no older than the policy allows.
//!
//! Both read the store's own wall clock (tests move a hand clock). The policy the server sent last
//! and the time of the last successful sync are kept in `meta`, and in memory for every call.
//!
//! The session's end, too: a store wiped on the back office's order (sync/wipe.rs) has its vault
//! key destroyed and its files deleted here (`Store::destroy`), and answers `Wiped` to every call.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::store::encryption::{self, KeyVault};
use crate::store::{meta_get, meta_set, open_connection, Inner, Store};
use crate::sync::wire::DevicePolicy;

const POLICY_KEY: &str = "device_policy";
/// When the last sync cycle ended well, device wall clock, UTC ms (also the sync status's).
pub(crate) const LAST_SYNC_OK_KEY: &str = "last_sync_ok_ms";

const MINUTE_MS: u64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// The lock and the offline limit of one open store.
pub(crate) struct Session {
    /// The key is out of memory and the file closed: only `unlock` and the status answer.
    locked: bool,
    /// The store's last call on its data (wall clock ms): the idle minutes count from here.
    last_used_ms: u64,
    /// When the vault last gave the key (the open, or an `unlock`): signing counts from here.
    last_unlock_ms: u64,
    policy: DevicePolicy,
    last_sync_ok_ms: Option<i64>,
    /// The store was wiped on the back office's order (sync/wipe.rs): its file is gone, and every
    /// call answers `Wiped`, unlock included.
    pub(crate) wiped: Option<Wiped>,
}

/// What a wiped store answers: the report of its wipe and whether the server got it.
#[derive(Debug, Clone)]
pub(crate) struct Wiped {
    pub(crate) report: Option<Box<crate::sync::wire::WipeReport>>,
    pub(crate) reported: bool,
}

impl Wiped {
    pub(crate) fn error(&self) -> Error {
        Error::Wiped { report: self.report.clone(), reported: self.reported }
    }
}

impl Session {
    /// The session of a store just opened (its key just unwrapped): unlocked now, with the policy
    /// and the last sync the store remembers.
    pub(crate) fn load(conn: &Connection, now_ms: u64) -> Result<Self> {
        // a policy that no longer reads (written by a later version) gives way to the defaults
        let policy = meta_get(conn, POLICY_KEY)?
            .and_then(|json| serde_json::from_str::<DevicePolicy>(&json).ok())
            .unwrap_or_default()
            .bounded();
        let last_sync_ok_ms = meta_get(conn, LAST_SYNC_OK_KEY)?.and_then(|v| v.parse().ok());
        Ok(Self { locked: false, last_used_ms: now_ms, last_unlock_ms: now_ms, policy, last_sync_ok_ms, wiped: None })
    }

    fn idle_due(&self, now_ms: u64) -> bool {
        let idle_ms = u64::from(self.policy.idle_lock_minutes) * MINUTE_MS;
        // a wall clock set back counts as idle: the lock errs on the side of the customer's data
        idle_ms > 0 && now_ms.checked_sub(self.last_used_ms).is_none_or(|ms| ms >= idle_ms)
    }

    /// `OfflineTooLong` when the last successful sync is older than the policy's days. A store that
    /// never synced (not enrolled) has nothing to catch up with and records as before.
    pub(crate) fn recording_refusal(&self, now_ms: u64) -> Option<String> {
        let (limit, last) = (self.policy.max_offline_days, self.last_sync_ok_ms?);
        let since = i64::try_from(now_ms).unwrap_or(i64::MAX).saturating_sub(last);
        (limit > 0 && since > i64::from(limit).saturating_mul(DAY_MS)).then(|| {
            let days = since / DAY_MS;
            format!(
                "last synced {days} days ago, the limit is {limit}: sync, then record / \
                 已 {days} 天未同步（上限 {limit} 天）：请先同步再记录"
            )
        })
    }
}

fn locked() -> Error {
    Error::Locked("unlock it through the vault (PIN or biometrics) / 请通过密码或生物识别解锁".into())
}

impl Inner {
    /// Lets a call on the store's data through, or answers `Locked` (locking first when the store
    /// sat idle past the policy's minutes). A plaintext store has no key to drop and never locks.
    pub(crate) fn admit(&mut self) -> Result<()> {
        if let Some(wiped) = &self.session.wiped {
            return Err(wiped.error());
        }
        if self.session.locked {
            return Err(locked());
        }
        let now = self.clock.wall_millis();
        if self.key.is_some() && self.session.idle_due(now) {
            self.seal()?;
            return Err(locked());
        }
        self.session.last_used_ms = now;
        Ok(())
    }

    /// Drops the key from memory and closes the store's file (SQLCipher keeps its key schedule in
    /// the connection). A plaintext store has nothing to lock.
    fn seal(&mut self) -> Result<()> {
        if self.key.is_none() {
            return Ok(());
        }
        drop(std::mem::replace(&mut self.conn, Connection::open_in_memory()?));
        self.key = None;
        self.session.locked = true;
        Ok(())
    }

    /// Why local records are refused (past the policy's days without a sync), if they are.
    pub(crate) fn recording_refusal(&self) -> Option<String> {
        self.session.recording_refusal(self.clock.wall_millis())
    }
}

/// The lock's state, for the lock screen and the app's banner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SessionStatus {
    /// The store's key is out of memory: show the lock screen.
    pub locked: bool,
    /// The policy the server sent last (the defaults before the first sync).
    pub policy: DevicePolicy,
    /// When the last sync cycle ended well, UTC ms (None: never).
    pub last_sync_ok_ms: Option<i64>,
    /// The store records nothing new until it has synced (past the policy's days offline).
    pub must_sync: bool,
}

impl Store {
    /// Locks the store now (the app going to the background, the manager's lock button): the key
    /// leaves memory and the file closes; every call answers `Locked` until `unlock`.
    pub fn lock_now(&self) -> Result<()> {
        self.any_state().seal()
    }

    /// Unlocks the store through `vault` (where the app puts its PIN or biometric prompt): the key
    /// is unwrapped from the key record and checked against it. Another vault leaves the store as
    /// it was (`WrongKey`). On an unlocked store it renews the unlock, as signing a receipt needs
    /// a fresh one.
    pub fn unlock(&self, vault: &dyn KeyVault) -> Result<()> {
        let mut guard = self.any_state();
        let inner = &mut *guard;
        if let Some(wiped) = &inner.session.wiped {
            // never through the vault: that would make a new, empty store where the old one was
            return Err(wiped.error());
        }
        if inner.key.is_none() && !inner.session.locked {
            return Ok(()); // a plaintext store: no key, nothing to unlock
        }
        let key = encryption::unseal(&self.path, vault)?;
        if inner.session.locked {
            inner.conn = open_connection(&self.path, Some(&key), true)?;
            inner.key = Some(key);
            inner.session.locked = false;
        }
        let now = inner.clock.wall_millis();
        (inner.session.last_used_ms, inner.session.last_unlock_ms) = (now, now);
        Ok(())
    }

    /// `Locked` while the store is locked; counts as a call (the idle minutes start again).
    pub fn ensure_unlocked(&self) -> Result<()> {
        self.lock().map(drop)
    }

    /// Whether the store is locked now; an idle store past its minutes locks on this call, which
    /// does not count as use (the apps ask on a timer, so the key leaves memory on time).
    pub fn is_locked(&self) -> bool {
        let mut guard = self.any_state();
        let now = guard.clock.wall_millis();
        if !guard.session.locked && guard.key.is_some() && guard.session.idle_due(now) {
            // closing an in-memory replacement cannot fail in practice; if it does, it stays open
            let _ = guard.seal();
        }
        guard.session.locked
    }

    /// The lock, the policy and the offline limit as they stand (never `Locked`).
    pub fn session_status(&self) -> SessionStatus {
        let locked = self.is_locked();
        let guard = self.any_state();
        SessionStatus {
            locked,
            policy: guard.session.policy,
            last_sync_ok_ms: guard.session.last_sync_ok_ms,
            must_sync: guard.recording_refusal().is_some(),
        }
    }

    /// The policy the server sent last (the defaults before the first sync).
    pub fn policy(&self) -> DevicePolicy {
        self.any_state().session.policy
    }

    /// Takes the policy a sync answer carried: kept for the next open, applied at once (the idle
    /// minutes, the days offline). Answers of servers before policies carry none and change
    /// nothing; the same policy again only reads memory.
    pub fn meet_policy(&self, policy: Option<&DevicePolicy>) -> Result<()> {
        let Some(policy) = policy.map(|p| p.bounded()) else { return Ok(()) };
        if self.any_state().session.policy == policy {
            return Ok(());
        }
        let json = serde_json::to_string(&policy)?;
        let mut guard = self.lock()?;
        meta_set(&guard.conn, POLICY_KEY, &json)?;
        guard.session.policy = policy;
        Ok(())
    }

    /// Notes a sync cycle that ended well, now by the store's clock (which lifts `OfflineTooLong`);
    /// returns the time noted.
    pub fn note_sync_success(&self) -> Result<i64> {
        let mut guard = self.lock()?;
        let now = i64::try_from(guard.clock.wall_millis()).unwrap_or(i64::MAX);
        meta_set(&guard.conn, LAST_SYNC_OK_KEY, &now.to_string())?;
        guard.session.last_sync_ok_ms = Some(now);
        Ok(now)
    }

    /// When the last sync cycle ended well (None: never).
    pub fn last_sync_ok_ms(&self) -> Option<i64> {
        self.any_state().session.last_sync_ok_ms
    }

    /// `Locked` unless the store was unlocked within the policy's fresh-unlock minutes: what
    /// signing a receipt asks of an encrypted store (a plaintext one has no unlock to renew).
    pub(crate) fn ensure_fresh_unlock(&self) -> Result<()> {
        let mut guard = self.lock()?;
        let now = guard.clock.wall_millis();
        let fresh_ms = u64::from(guard.session.policy.fresh_unlock_minutes) * MINUTE_MS;
        let age = now.checked_sub(guard.session.last_unlock_ms);
        if guard.key.is_some() && fresh_ms > 0 && age.is_none_or(|ms| ms > fresh_ms) {
            guard.session.last_used_ms = now;
            return Err(Error::Locked(
                "signing a receipt needs a fresh unlock: unlock again with the PIN or biometrics / \
                 签收收据前请重新解锁（密码或生物识别）"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// Every file a store at `path` may have on disk: the database with its WAL, shared memory and
/// journal, the key record (and its temporary copy), and what a cut-off conversion or snapshot-file
/// install may have left beside it (each a database of its own, with its own WAL).
pub(crate) fn store_files(path: &Path) -> Vec<PathBuf> {
    let record = encryption::key_record_path(path);
    let mut files = vec![PathBuf::from(format!("{}.tmp", record.display())), record];
    let staged = encryption::staged_path(path);
    let download = super::files::snapshot_download_path(path);
    let sealed = |p: &Path| PathBuf::from(format!("{}.sealed", p.display()));
    for db in [path.to_path_buf(), sealed(&staged), staged, sealed(&download), download] {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            files.push(PathBuf::from(format!("{}{suffix}", db.display())));
        }
    }
    files
}

impl Store {
    /// Ends this store for good (the remote wipe, sync/wipe.rs): `vault` destroys its platform key
    /// first, so that nothing it wrapped opens again; then the key leaves memory, the file closes,
    /// and every file of the store is deleted (`store_files`). From then on every call answers
    /// `Wiped`. A file that will not go is logged and the rest still go: without the key record
    /// and the vault's key, what is left does not open.
    pub(crate) fn destroy(&self, vault: Option<&dyn KeyVault>) {
        if let Some(vault) = vault {
            if let Err(e) = vault.destroy() {
                tracing::warn!(error = %e, "the vault's key was not destroyed; the store's files go all the same");
            }
        }
        let mut guard = self.any_state();
        match Connection::open_in_memory() {
            Ok(memory) => drop(std::mem::replace(&mut guard.conn, memory)),
            // deleting a file still open works on the phones' file systems; the rest goes on
            Err(e) => tracing::warn!(error = %e, "the store's connection stays open while its files are deleted"),
        }
        guard.key = None;
        guard.session.wiped = Some(Wiped { report: None, reported: false });
        for file in store_files(&self.path) {
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(error = %e, "a file of the wiped store could not be deleted"),
            }
        }
        if let Err(e) = encryption::sync_dir(&self.path) {
            tracing::warn!(error = %e, "the store's directory was not synced after the wipe");
        }
    }

    /// What a wiped store answers from now on: the report of its wipe and whether the server got it.
    pub(crate) fn note_wiped(&self, report: Option<Box<crate::sync::wire::WipeReport>>, reported: bool) {
        self.any_state().session.wiped = Some(Wiped { report, reported });
    }

    /// Whether the store was wiped on the back office's order (its files are gone).
    pub fn is_wiped(&self) -> bool {
        self.any_state().session.wiped.is_some()
    }
}
