//! The device store: one SQLite file, one writer connection, and the one write path every change
//! takes (merge it, log it in the outbox, in a single transaction). The record-specific API lives
//! in field/ (archive.rs, fieldwork.rs, reports.rs, workday.rs, tickets.rs …); the sync bookkeeping
//! in sync/replica.rs.
//!
//! This folder is how records sit in SQLite, whatever they mean: this file opens the store and
//! holds the write path; `schema` makes and upgrades the tables; `entity_table` reads and writes a
//! record's generic state to its typed table, and `record_row` binds a typed fact straight to its
//! row; `search_index` keeps the household search index beside the rows. Files here use the sync
//! types (`sync::wire`, `sync::hlc`, `sync::outbox`) but nothing of field/: the field files build
//! on the store, never the reverse.

#[cfg(feature = "sqlcipher")]
pub(crate) mod cipher_provider;
pub mod encryption;
pub(crate) mod entity_table;
pub mod files;
pub mod photos;
pub(crate) mod record_row;
pub(crate) mod schema;
#[cfg(feature = "sqlcipher")]
pub(crate) mod sealed_file;
pub(crate) mod search_index;
pub mod session;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{Error, Result, ValidationError};
use crate::model::{EntityKind, Record};
use crate::store::encryption::{DataKey, FileKind, KeyVault};
use crate::store::search_index::SearchBatch;
use crate::sync::hlc::{Hlc, HlcClock, SystemClock, WallClock};
use crate::sync::outbox;
use crate::sync::wire::{EntityState, Op, OpAction};

pub(crate) struct Inner {
    pub conn: Connection,
    pub clock: HlcClock,
    /// The SQLCipher data key while the store is unlocked, for the connections it reopens (a
    /// snapshot file's install, an unlock); `None` for a plaintext database, and while locked.
    pub key: Option<DataKey>,
    /// The app lock and the offline limit (session.rs).
    pub session: session::Session,
}

/// One write transaction on the store's connection. BEGIN and COMMIT are statements prepared
/// once: rusqlite's own `transaction()` parses both on every write (~2k instructions of the ~70k
/// that recording a visit takes, benchmark (a)). Dropped uncommitted (an error or a panic in the
/// writer), it rolls back.
pub(crate) struct Transaction<'c> {
    conn: &'c Connection,
    open: bool,
    /// Why local records are refused now (`OfflineTooLong`); sync bookkeeping still writes.
    refusal: Option<String>,
}

impl<'c> Transaction<'c> {
    fn begin(conn: &'c Connection, refusal: Option<String>) -> Result<Self> {
        conn.prepare_cached("BEGIN")?.execute([])?;
        Ok(Self { conn, open: true, refusal })
    }

    /// Whether a local change may be recorded: every record, edit and receipt asks here first.
    pub(crate) fn may_record(&self) -> Result<()> {
        match &self.refusal {
            None => Ok(()),
            Some(why) => Err(Error::OfflineTooLong(why.clone())),
        }
    }

    fn commit(mut self) -> Result<()> {
        self.conn.prepare_cached("COMMIT")?.execute([])?;
        self.open = false;
        Ok(())
    }
}

impl std::ops::Deref for Transaction<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        // A failed COMMIT (e.g. busy) leaves the transaction open too: end it either way.
        if self.open && !self.conn.is_autocommit() {
            let _ = self.conn.prepare_cached("ROLLBACK").and_then(|mut s| s.execute([]));
        }
    }
}

/// A device's local store. Safe to share between threads; writes are serialised.
pub struct Store {
    inner: Mutex<Inner>,
    path: PathBuf,
    device_id: String,
    /// Whether the store is SQLCipher (its key in `Inner` while unlocked).
    encrypted: bool,
}

impl Store {
    /// Opens (or creates) a plaintext database at `path`: what the server builds snapshot files
    /// in, and tests of the plain format. A phone's store is encrypted: `open_sealed`. A file that
    /// fails to open is never deleted: the error says why, and the data stays for someone to
    /// rescue (docs/field.md, field work 7).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with_clock(path, Box::new(SystemClock))
    }

    /// `open` with a given wall clock (tests and simulations of phones whose clock is off).
    pub fn open_with_clock(path: impl AsRef<Path>, wall: Box<dyn WallClock>) -> Result<Self> {
        Self::open_keyed(path.as_ref(), None, false, wall)
    }

    /// Opens (or creates) the device's encrypted store at `path`, its data key unwrapped by
    /// `vault` from the key record beside it (`<path>-key`); a new store gets a fresh random key.
    /// A plaintext store from before encryption is converted in place first, crash-safe. Errors:
    /// `WrongKey` (another vault, another store's key), `StoreCorrupted`, `NotAStore`.
    pub fn open_sealed(path: impl AsRef<Path>, vault: &dyn KeyVault) -> Result<Self> {
        Self::open_sealed_with_clock(path, vault, Box::new(SystemClock))
    }

    /// `open_sealed` with a given wall clock.
    pub fn open_sealed_with_clock(
        path: impl AsRef<Path>,
        vault: &dyn KeyVault,
        wall: Box<dyn WallClock>,
    ) -> Result<Self> {
        let path = path.as_ref();
        let key = encryption::unseal(path, vault)?;
        if encryption::file_kind(path)? == FileKind::PlainSqlite {
            encryption::convert_plaintext(path, &key)?;
        }
        // A conversion cut off before its rename left its copy (the store is the old one, whole);
        // a snapshot file's download or encrypted copy cut off by a crash left plaintext records
        // or a half copy: none of them is ever read again.
        for leftover in [encryption::staged_path(path), files::snapshot_download_path(path)] {
            files::remove_database(&leftover);
            files::remove_database(&PathBuf::from(format!("{}.sealed", leftover.display())));
        }
        Self::open_keyed(path, Some(key), true, wall)
    }

    /// Opens (or creates) an encrypted store with a key the caller holds (benchmarks, tests); a
    /// refusal is `WrongKey`, as the key cannot be told from damage without the key record.
    pub fn open_encrypted(path: impl AsRef<Path>, key: DataKey) -> Result<Self> {
        Self::open_keyed(path.as_ref(), Some(key), false, Box::new(SystemClock))
    }

    fn open_keyed(path: &Path, key: Option<DataKey>, key_verified: bool, wall: Box<dyn WallClock>) -> Result<Self> {
        let path = path.to_path_buf();
        let mut conn = open_connection(&path, key.as_ref(), key_verified)?;
        schema::migrate(&mut conn)?;
        let device_id = match meta_get(&conn, "device_id")? {
            Some(id) => id,
            None => {
                let id = Uuid::new_v4().simple().to_string();
                meta_set(&conn, "device_id", &id)?;
                id
            }
        };
        let mut clock = HlcClock::new(device_id.clone(), wall);
        for stamp in [meta_get(&conn, "hlc")?, outbox::newest_stamp(&conn)?].into_iter().flatten() {
            if let Ok(h) = stamp.parse::<Hlc>() {
                clock.restore(&h);
            }
        }
        let encrypted = key.is_some();
        let session = session::Session::load(&conn, clock.wall_millis())?;
        Ok(Self { inner: Mutex::new(Inner { conn, clock, key, session }), path, device_id, encrypted })
    }

    /// Whether the store's file is encrypted (SQLCipher, keyed).
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    /// The crypto that seals this store's pages (`PRAGMA cipher_provider`): `gridbook-rustcrypto`
    /// (store/cipher_provider.rs) or SQLCipher's `openssl`; empty for a plain store.
    pub fn cipher_provider(&self) -> Result<String> {
        if !self.encrypted {
            return Ok(String::new());
        }
        self.read(|c| Ok(c.query_row("PRAGMA cipher_provider", [], |r| r.get::<_, String>(0))?))
    }

    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The store's state whether locked or not: for the lock itself and the clock.
    fn any_state(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock rolled its transaction back; the connection is fine.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The store's state for a call on its data: `Locked` while the store is locked.
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, Inner>> {
        let mut guard = self.any_state();
        guard.admit()?;
        Ok(guard)
    }

    /// Runs `f` in one write transaction: all of it is committed, or none of it.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction, &mut HlcClock) -> Result<T>) -> Result<T> {
        let mut guard = self.lock()?;
        let refusal = guard.recording_refusal();
        let Inner { conn, clock, .. } = &mut *guard;
        let tx = Transaction::begin(conn, refusal)?;
        let out = f(&tx, clock)?;
        tx.commit()?;
        Ok(out)
    }

    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let guard = self.lock()?;
        f(&guard.conn)
    }

    /// Wall-clock milliseconds as the device sees them (business time, never a merge key).
    pub(crate) fn wall_ms(&self) -> i64 {
        self.any_state().clock.wall_millis() as i64
    }

    /// The next stamp of this device's clock, without recording anything (for signatures).
    pub fn next_stamp(&self) -> Hlc {
        self.any_state().clock.now()
    }

    /// Size of the database files on disk, WAL included.
    pub fn db_size_bytes(&self) -> u64 {
        let wal = PathBuf::from(format!("{}-wal", self.path.display()));
        [&self.path, &wal].iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum()
    }
}

/// Records one local change: stamps it, merges it into the entity's row, appends it to the outbox.
pub(crate) fn record_change(
    tx: &Transaction,
    clock: &mut HlcClock,
    kind: EntityKind,
    id: &str,
    grid: &str,
    action: OpAction,
    fields: Map<String, Value>,
) -> Result<Op> {
    tx.may_record()?;
    let op = Op {
        id: Uuid::now_v7(),
        kind,
        entity: id.to_string(),
        grid: grid.to_string(),
        action,
        fields,
        hlc: clock.now(),
    };
    let mut state = match action {
        // a fact's insert refuses a taken id itself (checked below): no lookup first
        OpAction::Create if kind.insert_only() => EntityState::empty(kind, id),
        OpAction::Create => {
            if entity_table::id_taken(tx, kind, id)? {
                return Err(Error::Invalid(ValidationError::new(
                    "id",
                    format!("{} {id} already exists", kind.as_str()),
                )));
            }
            EntityState::empty(kind, id)
        }
        OpAction::Update => entity_table::load(tx, kind, id)?
            .ok_or_else(|| Error::NotFound { kind: kind.as_str(), id: id.to_string() })?,
    };
    state.apply(&op);
    let mut search = SearchBatch::default();
    entity_table::save(tx, &state, action == OpAction::Update, &mut search)?;
    if kind.insert_only() && tx.changes() == 0 {
        return Err(Error::Invalid(ValidationError::new("id", format!("{} {id} already exists", kind.as_str()))));
    }
    search.write(tx)?;
    outbox::append(tx, &op, chrono::Utc::now().timestamp_millis())?;
    Ok(op)
}

/// Records the creation of a fact (a visit, a receipt, a notice…): the same result as
/// `record_change` with a create, on a shorter path — a fact is never merged, so its row is bound
/// straight from the typed record and its op body written straight from it too.
pub(crate) fn record_fact_change<R: Record>(
    tx: &Transaction,
    clock: &mut HlcClock,
    record: &R,
    grid: &str,
) -> Result<Hlc> {
    tx.may_record()?;
    let kind = R::KIND;
    debug_assert!(kind.insert_only());
    let (id, row) = record_row::row_of(kind, record)?;
    let hlc = clock.now();
    let stamp = hlc.to_string();
    if !entity_table::insert_fact(tx, kind, &id, &stamp, row)? {
        return Err(Error::Invalid(ValidationError::new("id", format!("{} {id} already exists", kind.as_str()))));
    }
    outbox::append_fact(tx, (Uuid::now_v7(), kind, &id, grid), &stamp, chrono::Utc::now().timestamp_millis())?;
    Ok(hlc)
}

/// A configured connection to the database at `path`, keyed first when `key` is given; a file that
/// does not read gets its own error (`encryption::classify_open_failure`), as does a SQLite file
/// of something else.
pub(crate) fn open_connection(path: &Path, key: Option<&DataKey>, key_verified: bool) -> Result<Connection> {
    let count_tables = |conn: &Connection| {
        conn.query_row("SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'", [], |r| r.get::<_, i64>(0))
    };
    let mut conn = Connection::open(path)?;
    let tables = match key {
        None => count_tables(&conn),
        Some(key) => {
            encryption::apply_key(&conn, key, encryption::PAGE_HMAC)?;
            match count_tables(&conn) {
                Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
                    // a store sealed by the first encrypted release: its pages carry the older HMAC
                    conn = Connection::open(path)?;
                    encryption::apply_key(&conn, key, encryption::LEGACY_PAGE_HMAC)?;
                    count_tables(&conn)
                }
                counted => counted,
            }
        }
    };
    let tables = tables.map_err(|e| encryption::classify_open_failure(path, key.is_some(), key_verified, e))?;
    let version = schema::version(&conn)?;
    let ours =
        conn.query_row("SELECT count(*) FROM sqlite_schema WHERE name = 'meta'", [], |r| r.get::<_, i64>(0))? == 1;
    if (version == 0 && tables > 0) || (version > 0 && !ours) {
        return Err(Error::NotAStore(format!("{}: a database of something else", path.display())));
    }
    schema::configure(&conn)?;
    Ok(conn)
}

pub(crate) fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?.query_row([key], |r| r.get(0)).optional()?)
}

pub(crate) fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

/// A fresh id for a record made on this device (UUIDv7: time-ordered, so indexes stay compact).
pub fn new_id() -> String {
    Uuid::now_v7().hyphenated().encode_lower(&mut Uuid::encode_buffer()).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_that_fails_leaves_nothing_and_the_next_one_commits() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("d.db")).unwrap();
        let failed: Result<()> = store.write(|tx, _| {
            meta_set(tx, "probe", "half-written")?;
            Err(Error::Corrupt("the writer gave up".into()))
        });
        assert!(failed.is_err());
        assert_eq!(store.read(|c| meta_get(c, "probe")).unwrap(), None);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = store.write(|tx, _| -> Result<()> {
                meta_set(tx, "probe", "half-written")?;
                panic!("a bug in the writer");
            });
        }));
        assert!(panicked.is_err());
        assert_eq!(store.read(|c| meta_get(c, "probe")).unwrap(), None);
        store.write(|tx, _| meta_set(tx, "probe", "whole")).unwrap();
        assert_eq!(store.read(|c| meta_get(c, "probe")).unwrap().as_deref(), Some("whole"));
    }
}
