//! Snapshot files (docs/sync-protocol.md, "Snapshot file"): a fresh phone's first sync as one
//! prebuilt SQLite file in the device's own schema instead of rows inserted one by one. The server
//! builds it with `SnapshotFileBuilder` — a fresh `Store` fed the very pull pages a phone would
//! pull, through the phone's own apply path — and the phone checks it (`check_snapshot_file`) and
//! swaps it in for its open store (`Store::install_snapshot_file`), keeping every row of its own
//! (device id, token, keys, receipt books …).

use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::EntityKind;
#[cfg(feature = "sqlcipher")]
use crate::store::encryption::PAGE_BYTES;
use crate::store::encryption::SEALING_RESERVE_BYTES;
use crate::store::files::remove_database;
use crate::store::{meta_get, Store};
use crate::sync::hlc::Hlc;
use crate::sync::wire::{PullPage, SnapshotFileFacts};

/// The device schema version files are built in and checked against (`PRAGMA user_version`).
pub const DEVICE_SCHEMA_VERSION: i64 = crate::store::schema::LATEST_VERSION;

/// The search index and its FTS5 shadow tables: pages of the file, derived from the households.
const SEARCH_INDEX_PREFIX: &str = "household_search";

/// The tables that hold the device's own rows rather than synced records or the search index:
/// metadata (device id, token, keys, cursor, clock), the outbox, receipt books, the access log,
/// handover bookkeeping, and any table a later schema adds that is not a record kind. Worked out
/// from the schema itself, so a new local table is kept by an install without anyone listing it.
fn device_tables(conn: &Connection, schema: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("SELECT name FROM \"{schema}\".sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"))?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    let synced: Vec<&str> = EntityKind::ALL.iter().map(|k| k.table()).collect();
    Ok(names.into_iter().filter(|n| !synced.contains(&n.as_str()) && !n.starts_with(SEARCH_INDEX_PREFIX)).collect())
}

/// Synced records in every kind's table.
fn synced_rows(conn: &Connection) -> Result<u64> {
    let mut rows = 0u64;
    for kind in EntityKind::ALL {
        rows += conn.query_row(&format!("SELECT count(*) FROM {}", kind.table()), [], |r| r.get::<_, i64>(0))? as u64;
    }
    Ok(rows)
}

/// The schema as SQL text, every object in name order: a file is only installed into a store whose
/// schema is exactly its own.
fn schema_text(conn: &Connection, schema: &str) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT name, coalesce(sql, '') FROM \"{schema}\".sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name"
    ))?;
    let out = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(out)
}

/// SHA-256 of a file, lowercase hex, read in 64 KiB pieces.
pub fn sha256_of(path: &Path) -> Result<String> {
    let unreadable = |e: std::io::Error| Error::SnapshotFile(format!("{} cannot be read: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(crate::evidence::to_hex(&hasher.finalize()))
}

/// Builds one snapshot file on the server: a fresh store at `work_path`, fed pull pages in order.
pub struct SnapshotFileBuilder {
    store: Store,
    work_path: PathBuf,
    cursor: u64,
    newest_stamp: Option<Hlc>,
}

impl SnapshotFileBuilder {
    /// A fresh store at `work_path` (a leftover of an interrupted build there is removed first).
    pub fn create(work_path: &Path) -> Result<Self> {
        remove_database(work_path);
        let store = Store::open(work_path)?;
        Ok(Self { store, work_path: work_path.to_path_buf(), cursor: 0, newest_stamp: None })
    }

    /// Applies one page exactly as a phone applies a pulled page. A change the phone would refuse
    /// is refused here too: the build fails rather than ship a file that differs from row pages.
    pub fn apply(&mut self, page: &PullPage) -> Result<()> {
        for change in &page.changes {
            if let Some(stamp) = change.max_clock() {
                if self.newest_stamp.as_ref().is_none_or(|n| stamp > n) {
                    self.newest_stamp = Some(stamp.clone());
                }
            }
        }
        let report = self.store.apply_pull_page(page)?;
        if let Some((id, e)) = report.invalid.first() {
            return Err(Error::Corrupt(format!("record {id} of the snapshot was refused by the device's checks: {e}")));
        }
        self.cursor = page.next_cursor;
        Ok(())
    }

    /// Empties the device tables (nothing of the builder's own — its device id, cursor, clock —
    /// goes out), writes a compact copy to `out` with `VACUUM INTO`, and describes it.
    pub fn finish(self, out: &Path) -> Result<SnapshotFileFacts> {
        remove_database(out);
        let rows = self.store.write(|tx, _| {
            for table in device_tables(tx, "main")? {
                tx.execute(&format!("DELETE FROM \"{table}\""), [])?;
            }
            synced_rows(tx)
        })?;
        let out_text =
            out.to_str().ok_or_else(|| Error::Corrupt(format!("snapshot file path {} is not UTF-8", out.display())))?;
        self.store.read(|c| {
            reserve_sealing_bytes(c)?;
            Ok(c.execute("VACUUM INTO ?1", [out_text])?)
        })?;
        drop(self.store);
        remove_database(&self.work_path);
        let bytes =
            std::fs::metadata(out).map_err(|e| Error::Corrupt(format!("snapshot file {}: {e}", out.display())))?.len();
        Ok(SnapshotFileFacts {
            cursor: self.cursor,
            schema_version: DEVICE_SCHEMA_VERSION,
            rows,
            sha256: sha256_of(out)?,
            bytes,
            newest_stamp: self.newest_stamp,
        })
    }
}

/// Checks a downloaded file against what the server announced, before anything of the store is
/// touched: size and SHA-256 (the download was whole and unaltered), the schema version and the
/// schema itself (built for this app's store), `PRAGMA quick_check` (a sound SQLite file: the hash
/// only proves it is the file the server built, not that the server built it right), and the
/// record count. `quick_check`, not `integrity_check`: both walk every page, but
/// `integrity_check` also cross-checks every index entry against its row, which cost ~3× as much
/// on 100k households (docs/benchmarks.md), and the hash already rules out damage in transit.
pub fn check_snapshot_file(store: &Store, path: &Path, facts: &SnapshotFileFacts) -> Result<()> {
    let bad = |what: String| Err(Error::SnapshotFile(what));
    if facts.schema_version != DEVICE_SCHEMA_VERSION {
        return bad(format!(
            "built for device schema {}, this app's store is schema {DEVICE_SCHEMA_VERSION}",
            facts.schema_version
        ));
    }
    let size = std::fs::metadata(path).map_err(|e| Error::SnapshotFile(format!("{}: {e}", path.display())))?.len();
    if size != facts.bytes {
        return bad(format!("{size} bytes where the server announced {}", facts.bytes));
    }
    let sha = sha256_of(path)?;
    if sha != facts.sha256 {
        return bad(format!("SHA-256 {sha} where the server announced {}", facts.sha256));
    }
    let file = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| Error::SnapshotFile(format!("does not open as SQLite: {e}")))?;
    let checked = (|| -> rusqlite::Result<(i64, String)> {
        let version = file.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let check = file.query_row("PRAGMA quick_check(1)", [], |r| r.get(0))?;
        Ok((version, check))
    })();
    let (version, check) = match checked {
        Ok(v) => v,
        Err(e) => return bad(format!("not a sound SQLite file: {e}")),
    };
    if version != DEVICE_SCHEMA_VERSION {
        return bad(format!("its schema version is {version}, this app's store is schema {DEVICE_SCHEMA_VERSION}"));
    }
    if check != "ok" {
        return bad(format!("quick_check: {check}"));
    }
    let own_schema = store.read(|c| schema_text(c, "main"))?;
    if schema_text(&file, "main")? != own_schema {
        return bad("its tables and indexes differ from this app's store".into());
    }
    let rows = synced_rows(&file)?;
    if rows != facts.rows {
        return bad(format!("{rows} records where the server announced {}", facts.rows));
    }
    Ok(())
}

impl Store {
    /// Whether this store may take a snapshot file: it never pulled, holds no synced record and
    /// nothing in its outbox (not even a rejected op). Anything else it holds would be lost or
    /// shadowed by the file; such a store pulls row pages.
    pub fn is_fresh(&self) -> Result<bool> {
        self.read(fresh)
    }

    /// Installs a file checked by `check_snapshot_file` into this open store, atomically, under
    /// the store's lock: the store's own rows are copied into the file, then the file is renamed
    /// over the store (cut off anywhere, the store is as it was or is the whole file). The pull
    /// continues from `facts.cursor`. Refused, with nothing changed, if the store is no longer
    /// fresh (a record was made while the file came). The file is consumed. `path` must be in
    /// the store's directory (one filesystem: the rename is atomic there).
    pub fn install_snapshot_file(&self, path: &Path, facts: &SnapshotFileFacts) -> Result<()> {
        let mut guard = self.lock()?;
        let inner = &mut *guard;
        if !fresh(&inner.conn)? {
            return Err(Error::SnapshotFile("the store is no longer fresh (a record was made meanwhile)".into()));
        }
        let path_text =
            path.to_str().ok_or_else(|| Error::SnapshotFile(format!("its path {} is not UTF-8", path.display())))?;
        // Every row of the device's own goes into the file first; the cursor and the clock with it.
        // The file arrives plaintext (over TLS): attached as such (`KEY ''`) to an encrypted store.
        let sealed = inner.key.as_ref().map(|_| PathBuf::from(format!("{}.sealed", path.display())));
        match &sealed {
            Some(_) => inner.conn.execute("ATTACH DATABASE ?1 AS incoming KEY ''", [path_text])?,
            None => inner.conn.execute("ATTACH DATABASE ?1 AS incoming", [path_text])?,
        };
        let copied = (|| -> Result<()> {
            let tx = inner.conn.transaction()?;
            let tables = device_tables(&tx, "main")?;
            if tables != device_tables(&tx, "incoming")? {
                return Err(Error::SnapshotFile("its device tables differ from this store's".into()));
            }
            for table in tables {
                tx.execute(&format!("DELETE FROM incoming.\"{table}\""), [])?;
                tx.execute(&format!("INSERT INTO incoming.\"{table}\" SELECT * FROM main.\"{table}\""), [])?;
            }
            let mut clock = inner.clock.last();
            if let Some(stamp) = &facts.newest_stamp {
                inner.clock.observe(stamp);
                clock = inner.clock.last();
            }
            for (key, value) in [("pull_cursor", facts.cursor.to_string()), ("hlc", clock.to_string())] {
                tx.execute(
                    "INSERT INTO incoming.meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [key, value.as_str()],
                )?;
            }
            tx.commit()?;
            Ok(())
        })();
        // An encrypted store takes an encrypted copy of the file (its rows and the device's, now
        // in it): the plaintext file is deleted as soon as the copy is made, and on any failure.
        let exported = match (&sealed, &copied) {
            (Some(sealed), Ok(())) => export_sealed(&inner.conn, inner.key.as_ref(), path, sealed),
            _ => Ok(()),
        };
        let detached = inner.conn.execute("DETACH DATABASE incoming", []);
        if sealed.is_some() {
            remove_database(path);
        }
        let fail = |e: Error| {
            if let Some(sealed) = &sealed {
                remove_database(sealed);
            }
            Err(e)
        };
        if let Err(e) = copied.and(exported).and(detached.map(|_| ()).map_err(Error::from)) {
            return fail(e);
        }
        let path = sealed.as_deref().unwrap_or(path);
        // The file takes the store's place. The store's WAL is checkpointed into its file and the
        // connection closed; the file, already holding the device's rows, is renamed over the
        // store (atomic within one directory) and the directory synced; the store reopens on it.
        // Cut off before the rename, the store is as it was; after it, it is the file. A rename,
        // not a page copy through the backup API: the copy wrote the 65 MB of a 100k-household
        // file twice (WAL, then checkpoint), 0.17–0.32 s of a 0.6 s first sync (docs/benchmarks.md).
        let (busy, log, checkpointed): (i64, i64, i64) =
            inner.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        if busy != 0 || log != checkpointed {
            remove_database(path);
            return Err(Error::SnapshotFile("the store's journal could not be emptied; the store is unchanged".into()));
        }
        let old = std::mem::replace(&mut inner.conn, Connection::open_in_memory()?);
        if let Err((old, e)) = old.close() {
            inner.conn = old;
            remove_database(path);
            return Err(e.into());
        }
        let swapped = std::fs::rename(path, self.path()).and_then(|_| match self.path().parent() {
            // the rename itself must reach the disk, not only the file's pages
            Some(dir) if !dir.as_os_str().is_empty() => std::fs::File::open(dir)?.sync_all(),
            _ => Ok(()),
        });
        // Reopened whatever happened: on the file, or on the untouched store. Statements prepared
        // against the old pages (and the search index's cached structure) went with the old one.
        let reopened = crate::store::open_connection(self.path(), inner.key.as_ref(), self.is_encrypted());
        if swapped.is_err() {
            remove_database(path);
        }
        inner.conn = reopened?;
        swapped
            .map_err(|e| Error::SnapshotFile(format!("moving it into place failed: {e}; the store is unchanged")))?;
        if let Some(stamp) = meta_get(&inner.conn, "hlc")?.and_then(|s| s.parse::<Hlc>().ok()) {
            inner.clock.restore(&stamp);
        }
        debug_assert_eq!(meta_get(&inner.conn, "device_id")?.as_deref(), Some(self.device_id()));
        drop(guard);
        remove_database(path);
        Ok(())
    }
}

/// Makes the next `VACUUM INTO` of `conn`'s main database leave [`SEALING_RESERVE_BYTES`] free
/// at the end of each page (`SQLITE_FCNTL_RESERVE_BYTES`), so that a phone can seal the file
/// page by page instead of rebuilding every B-tree (docs/sync-protocol.md, "Snapshot file").
pub(crate) fn reserve_sealing_bytes(conn: &Connection) -> Result<()> {
    let mut reserve = SEALING_RESERVE_BYTES as std::ffi::c_int;
    // SAFETY: the handle is this live connection's; the argument is the int this opcode takes.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            rusqlite::ffi::SQLITE_FCNTL_RESERVE_BYTES,
            (&mut reserve as *mut std::ffi::c_int).cast(),
        )
    };
    if rc != rusqlite::ffi::SQLITE_OK {
        return Err(Error::Corrupt(format!("reserving bytes per page in the snapshot file failed ({rc})")));
    }
    Ok(())
}

/// The page size and the reserved bytes per page of the SQLite file at `path`, from its header.
#[cfg(feature = "sqlcipher")]
fn page_layout(path: &Path) -> Result<(usize, usize)> {
    let mut header = [0u8; 21];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .map_err(|e| Error::SnapshotFile(format!("its header cannot be read: {e}")))?;
    let size = usize::from(u16::from_be_bytes([header[16], header[17]]));
    // 1 stands for 65,536 (the header's two bytes cannot hold it)
    Ok((if size == 1 { 65_536 } else { size }, usize::from(header[20])))
}

/// Copies the attached plaintext `incoming` (at `incoming_path`) into a new database at `sealed`,
/// encrypted with the store's key. A file built with room for SQLCipher's IV and HMAC on every
/// page is sealed page by page as it lies on disk (`store::sealed_file`: nothing rebuilt); an
/// older server's file, without that room, goes through `sqlcipher_export`, which re-inserts every
/// row and rebuilds every index (docs/benchmarks.md, "The encrypted store").
fn export_sealed(
    conn: &Connection,
    key: Option<&crate::store::encryption::DataKey>,
    // without SQLCipher (the server's build of the core) only the export below exists
    #[cfg_attr(not(feature = "sqlcipher"), allow(unused_variables))] incoming_path: &Path,
    sealed: &Path,
) -> Result<()> {
    let key = key.ok_or_else(|| Error::SnapshotFile("the store has no key".into()))?;
    remove_database(sealed);
    #[cfg(feature = "sqlcipher")]
    if page_layout(incoming_path)? == (PAGE_BYTES, SEALING_RESERVE_BYTES) {
        // the device's rows just copied in must be in the file itself, not in a WAL beside it
        let mode: String = conn.query_row("PRAGMA incoming.journal_mode", [], |r| r.get(0))?;
        if mode.eq_ignore_ascii_case("wal") {
            let (busy, log, done): (i64, i64, i64) =
                conn.query_row("PRAGMA incoming.wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
            if busy != 0 || log != done {
                return Err(Error::SnapshotFile("its journal could not be emptied".into()));
            }
        }
        crate::store::sealed_file::seal_file(incoming_path, sealed, key)?;
        return verify_sealed(sealed, key);
    }
    crate::store::encryption::attach_keyed(conn, sealed, "sealed", key)?;
    let exported = (|| -> Result<()> {
        conn.query_row("SELECT sqlcipher_export('sealed', 'incoming')", [], |_| Ok(()))?;
        let version: i64 = conn.query_row("PRAGMA incoming.user_version", [], |r| r.get(0))?;
        conn.execute_batch(&format!("PRAGMA sealed.user_version = {version}"))?;
        Ok(())
    })();
    conn.execute("DETACH DATABASE sealed", [])?;
    exported?;
    std::fs::File::open(sealed)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::SnapshotFile(format!("syncing the encrypted copy: {e}")))
}

/// Before a file sealed page by page takes the store's place, it must open as a store under the
/// key — else the store stays as it was: page 1 (the salt, the key, the HMAC key's derivation),
/// the schema's pages and the device's own rows read back through SQLCipher. Every other page is
/// sealed by the same code (store/sealed_file.rs, whose tests check every page of a file through
/// SQLCipher with both providers); a full `cipher_integrity_check` here would re-read and re-hash
/// the whole file on every first sync (~0.06 s of 0.6 s at 100k households).
#[cfg(feature = "sqlcipher")]
fn verify_sealed(sealed: &Path, key: &crate::store::encryption::DataKey) -> Result<()> {
    let conn = Connection::open(sealed)?;
    crate::store::encryption::apply_key(&conn, key, crate::store::encryption::PAGE_HMAC)?;
    let readable = (|| -> rusqlite::Result<()> {
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0))?;
        conn.query_row("SELECT count(*) FROM meta", [], |r| r.get::<_, i64>(0))?;
        Ok(())
    })();
    readable.map_err(|e| Error::SnapshotFile(format!("the sealed copy does not open as a store: {e}")))
}

fn fresh(conn: &Connection) -> Result<bool> {
    if meta_get(conn, "pull_cursor")?.is_some() {
        return Ok(false);
    }
    let outbox: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM outbox)", [], |r| r.get(0))?;
    Ok(!outbox && no_synced_rows(conn)?)
}

fn no_synced_rows(conn: &Connection) -> Result<bool> {
    for kind in EntityKind::ALL {
        if conn.query_row(&format!("SELECT EXISTS (SELECT 1 FROM {})", kind.table()), [], |r| r.get::<_, bool>(0))? {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::meta_set;
    use crate::sync::wire::{EntityState, ReceiptBlock, PROTOCOL_VERSION};
    use crate::testing::household_n;

    /// A store of the back office's making: `n` households, one named 欧阳秀英, as pulled state.
    fn pages_of(dir: &Path, n: u64) -> Vec<PullPage> {
        let source = Store::open(dir.join("source.db")).unwrap();
        for i in 0..n {
            let mut h = household_n("g1", i);
            if i == 1 {
                h.customer_name = "欧阳秀英".into();
                h.mobile = "13812345678".into();
            }
            source.create_household(h).unwrap();
        }
        let states: Vec<EntityState> = source.all_states(EntityKind::Household).unwrap();
        states
            .chunks(3)
            .enumerate()
            .map(|(i, c)| PullPage {
                protocol: PROTOCOL_VERSION,
                changes: c.to_vec(),
                removals: vec![],
                handovers_complete: vec![],
                next_cursor: (i as u64 + 1) * 3,
                has_more: (i + 1) * 3 < states.len(),
                remaining: 0,
                server_time_ms: 0,
                generation: None,
                update: None,
                policy: None,
                receipt: None,
            })
            .collect()
    }

    fn built(dir: &Path, n: u64) -> (PathBuf, SnapshotFileFacts) {
        let mut builder = SnapshotFileBuilder::create(&dir.join("work.db")).unwrap();
        for page in pages_of(dir, n) {
            builder.apply(&page).unwrap();
        }
        let out = dir.join("snapshot.db");
        let facts = builder.finish(&out).unwrap();
        (out, facts)
    }

    /// A freshly enrolled phone: its own id, token, signing key and a receipt book, nothing pulled.
    fn enrolled_phone(dir: &Path) -> Store {
        enrolled(Store::open(dir.join("phone.db")).unwrap())
    }

    fn enrolled(phone: Store) -> Store {
        phone
            .write(|tx, _| {
                meta_set(tx, "device_token", "secret-token")?;
                meta_set(tx, "server_url", "http://127.0.0.1:1")
            })
            .unwrap();
        phone.device_key().unwrap();
        phone
            .add_receipt_block(&ReceiptBlock { prefix: "SJ000001-".into(), first: 1, last: 100, issued_at_ms: 1 })
            .unwrap();
        phone
    }

    fn meta_of(store: &Store) -> Vec<(String, String)> {
        store
            .read(|c| {
                let mut stmt =
                    c.prepare("SELECT key, value FROM meta WHERE key NOT IN ('pull_cursor', 'hlc') ORDER BY key")?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(rows)
            })
            .unwrap()
    }

    #[test]
    fn the_device_tables_are_the_ones_the_schema_keeps_for_the_device() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.db")).unwrap();
        let tables = store.read(|c| device_tables(c, "main")).unwrap();
        assert_eq!(
            tables,
            [
                "access_log",
                "acked_ops",
                "deferred_removals",
                "meta",
                "outbox",
                "photo_blobs",
                "photo_chunks",
                "receipt_blocks",
                "receipt_branding",
                "removed_handovers"
            ]
        );
    }

    #[test]
    fn a_built_file_holds_the_records_and_nothing_of_the_builder() {
        let dir = tempfile::tempdir().unwrap();
        let (out, facts) = built(dir.path(), 7);
        assert_eq!((facts.rows, facts.cursor, facts.schema_version), (7, 9, DEVICE_SCHEMA_VERSION));
        assert_eq!(facts.sha256, sha256_of(&out).unwrap());
        assert!(facts.newest_stamp.is_some());
        let file = Connection::open(&out).unwrap();
        for table in device_tables(&file, "main").unwrap() {
            let n: i64 = file.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| r.get(0)).unwrap();
            assert_eq!(n, 0, "{table} must be empty in a snapshot file");
        }
        assert!(!dir.path().join("work.db").exists(), "the builder's work file is gone");
    }

    #[test]
    fn a_fresh_phone_installs_the_file_and_keeps_everything_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let (out, facts) = built(dir.path(), 7);
        let phone = enrolled_phone(dir.path());
        let before = meta_of(&phone);
        let left = phone.receipt_numbers_left().unwrap();
        assert!(phone.is_fresh().unwrap());
        check_snapshot_file(&phone, &out, &facts).unwrap();
        phone.install_snapshot_file(&out, &facts).unwrap();
        assert!(!out.exists(), "the installed file is consumed");
        assert_eq!(phone.pull_cursor().unwrap(), 9);
        assert_eq!(meta_of(&phone), before, "device id, token, key and server stay");
        assert_eq!(phone.receipt_numbers_left().unwrap(), left);
        assert_eq!(phone.all_states(EntityKind::Household).unwrap().len(), 7);
        let found = phone.search_households("g1", "欧阳秀英", 10).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(phone.search_households("g1", "5678", 10).unwrap().len(), 1);
        assert!(!phone.is_fresh().unwrap());
        // the clock absorbed the file's stamps: a new edit orders after them
        let newest = facts.newest_stamp.unwrap();
        assert!(phone.next_stamp() > newest);
        // and the store writes as before
        phone.create_household(household_n("g1", 99)).unwrap();
    }

    /// Whether `needle` is anywhere in the file's bytes (what `strings` would find).
    fn file_holds(path: &Path, needle: &str) -> bool {
        let bytes = std::fs::read(path).unwrap_or_default();
        bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    #[test]
    fn an_encrypted_phone_installs_the_file_encrypted_and_no_plaintext_stays_on_disk() {
        use crate::store::encryption::SoftwareVault;
        let dir = tempfile::tempdir().unwrap();
        let (out, facts) = built(dir.path(), 7);
        assert!(file_holds(&out, "欧阳秀英"), "the file arrives plaintext");
        // built with room for each page's IV and HMAC: sealed page by page, nothing rebuilt
        assert_eq!(page_layout(&out).unwrap(), (PAGE_BYTES, SEALING_RESERVE_BYTES));
        let vault = SoftwareVault::generate().unwrap();
        let phone = enrolled(Store::open_sealed(dir.path().join("phone.db"), &vault).unwrap());
        let before = meta_of(&phone);
        check_snapshot_file(&phone, &out, &facts).unwrap();
        phone.install_snapshot_file(&out, &facts).unwrap();
        assert_eq!(phone.search_households("g1", "欧阳秀英", 10).unwrap().len(), 1);
        assert_eq!(meta_of(&phone), before);
        phone.create_household(household_n("g1", 99)).unwrap();
        drop(phone);
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("phone") || n.starts_with("snapshot"))
            .collect();
        for name in &left {
            let path = dir.path().join(name);
            for secret in ["欧阳秀英", "13812345678", "secret-token"] {
                assert!(!file_holds(&path, secret), "{name} holds {secret} in the clear");
            }
        }
        assert!(!out.exists() && !dir.path().join("snapshot.db.sealed").exists(), "{left:?}");
        // the store is SQLCipher: without the key it is not a database; with it, the same data
        let plain = Connection::open(dir.path().join("phone.db")).unwrap();
        assert!(plain.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0)).is_err());
        let again = Store::open_sealed(dir.path().join("phone.db"), &vault).unwrap();
        assert_eq!(again.all_states(EntityKind::Household).unwrap().len(), 8);
        assert_eq!(again.pull_cursor().unwrap(), 9);
    }

    /// A file from a server of the release before: no bytes reserved on its pages, so it is
    /// rebuilt by `sqlcipher_export` instead, and installs just the same.
    #[test]
    fn an_older_servers_file_without_room_for_sealing_installs_encrypted_too() {
        use crate::store::encryption::SoftwareVault;
        let dir = tempfile::tempdir().unwrap();
        let (built_file, facts) = built(dir.path(), 7);
        let old = dir.path().join("older.db");
        {
            let conn = Connection::open(&old).unwrap();
            conn.execute("ATTACH DATABASE ?1 AS src KEY ''", [built_file.to_str().unwrap()]).unwrap();
            conn.query_row("SELECT sqlcipher_export('main', 'src')", [], |_| Ok(())).unwrap();
            conn.execute_batch(&format!("PRAGMA main.user_version = {DEVICE_SCHEMA_VERSION}")).unwrap();
        }
        assert_eq!(page_layout(&old).unwrap(), (PAGE_BYTES, 0));
        let vault = SoftwareVault::generate().unwrap();
        let phone = enrolled(Store::open_sealed(dir.path().join("phone.db"), &vault).unwrap());
        let before = meta_of(&phone);
        phone.install_snapshot_file(&old, &facts).unwrap();
        assert_eq!(phone.search_households("g1", "欧阳秀英", 10).unwrap().len(), 1);
        assert_eq!(meta_of(&phone), before);
        drop(phone);
        assert!(!old.exists() && !file_holds(&dir.path().join("phone.db"), "欧阳秀英"));
        let again = Store::open_sealed(dir.path().join("phone.db"), &vault).unwrap();
        assert_eq!(again.all_states(EntityKind::Household).unwrap().len(), 7);
    }

    #[test]
    fn a_refused_file_is_deleted_from_an_encrypted_phone_too() {
        use crate::store::encryption::SoftwareVault;
        let dir = tempfile::tempdir().unwrap();
        let (out, facts) = built(dir.path(), 7);
        let vault = SoftwareVault::generate().unwrap();
        let phone = enrolled(Store::open_sealed(dir.path().join("phone.db"), &vault).unwrap());
        phone.create_household(household_n("g1", 99)).unwrap();
        assert!(phone.install_snapshot_file(&out, &facts).is_err(), "a store that is not fresh refuses");
        assert_eq!(phone.all_states(EntityKind::Household).unwrap().len(), 1);
        assert!(!dir.path().join("snapshot.db.sealed").exists());
    }

    #[test]
    fn a_damaged_or_wrong_file_is_refused_and_the_store_is_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let (out, facts) = built(dir.path(), 7);
        let phone = enrolled_phone(dir.path());
        let refused =
            |facts: &SnapshotFileFacts, path: &Path| check_snapshot_file(&phone, path, facts).unwrap_err().to_string();
        assert!(refused(&SnapshotFileFacts { sha256: "0".repeat(64), ..facts.clone() }, &out).contains("SHA-256"));
        assert!(refused(&SnapshotFileFacts { bytes: facts.bytes + 1, ..facts.clone() }, &out).contains("bytes"));
        assert!(refused(&SnapshotFileFacts { schema_version: 3, ..facts.clone() }, &out).contains("schema 3"));
        assert!(refused(&SnapshotFileFacts { rows: 8, ..facts.clone() }, &out).contains("7 records"));
        // a file that is not SQLite, with a matching hash: refused by SQLite's own check
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, vec![7u8; 8192]).unwrap();
        let junk_facts = SnapshotFileFacts { sha256: sha256_of(&junk).unwrap(), bytes: 8192, ..facts.clone() };
        assert!(refused(&junk_facts, &junk).contains("snapshot file not installed"));
        // a whole page overwritten (a compact file has no free page: every one is in a b-tree),
        // hash recomputed, as if the server had built it wrong: quick_check says so
        let mut bytes = std::fs::read(&out).unwrap();
        let page = 4096 * 2;
        for b in &mut bytes[page..page + 4096] {
            *b = 0x5a;
        }
        let broken = dir.path().join("broken.db");
        std::fs::write(&broken, &bytes).unwrap();
        let broken_facts = SnapshotFileFacts { sha256: sha256_of(&broken).unwrap(), ..facts.clone() };
        assert!(refused(&broken_facts, &broken).contains("snapshot file not installed"));
        assert!(phone.is_fresh().unwrap());
        assert_eq!(phone.pull_cursor().unwrap(), 0);
    }

    #[test]
    fn a_store_that_is_not_fresh_never_takes_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let (out, facts) = built(dir.path(), 4);
        let phone = enrolled_phone(dir.path());
        let mine = phone.create_household(household_n("g1", 50)).unwrap();
        assert!(!phone.is_fresh().unwrap());
        let err = phone.install_snapshot_file(&out, &facts).unwrap_err().to_string();
        assert!(err.contains("no longer fresh"), "{err}");
        assert_eq!(phone.all_states(EntityKind::Household).unwrap().len(), 1);
        assert_eq!(phone.pending_ops(10).unwrap().len(), 1);
        assert!(phone.entity_state(EntityKind::Household, &mine.id).unwrap().is_some());
        // a store that pulled before is not fresh either, even with nothing in it
        let other = Store::open(dir.path().join("other.db")).unwrap();
        other.write(|tx, _| meta_set(tx, "pull_cursor", "0")).unwrap();
        assert!(!other.is_fresh().unwrap());
    }
}
