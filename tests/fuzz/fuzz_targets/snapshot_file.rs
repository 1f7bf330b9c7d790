//! A snapshot file given to the phone's installer: whatever the bytes, `check_snapshot_file`
//! refuses them or `install_snapshot_file` takes them without a panic, and an installed file keeps
//! the phone's own rows (its device id) and continues the pull from the announced cursor. The
//! announced facts are made to match the file (size, SHA-256, schema, rows), as a server whose
//! builder went wrong would send them, so the fuzzer reaches the checks past the hash.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use gridbook_core::model::EntityKind;
use gridbook_core::store::files::remove_database;
use gridbook_core::sync::snapshot_file::{check_snapshot_file, sha256_of, DEVICE_SCHEMA_VERSION};
use gridbook_core::sync::wire::SnapshotFileFacts;
use gridbook_core::{Hlc, Store};
use gridbook_fuzz::scratch_dir;
use libfuzzer_sys::fuzz_target;
use rusqlite::{Connection, OpenFlags};

/// A fresh store made once and kept as bytes, written out for each input (opening one runs every
/// schema step). Written with `fs::write`, not `fs::copy`: libFuzzer's per-input alarm is a signal
/// without `SA_RESTART`, and `fs::copy`'s `copy_file_range` hands its EINTR back where `write_all`
/// retries it (CI failed once on exactly that, "Interrupted system call").
fn template() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let path = scratch_dir().join("template.db");
        // closed at once: the last connection folds the WAL into the file
        match Store::open(&path) {
            Ok(store) => drop(store),
            Err(e) => panic!("no template store: {e}"),
        }
        match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => panic!("the template store does not read back: {e}"),
        }
    })
}

/// The synced records the file holds, counted as the installer counts them; 0 when unreadable.
fn rows_of(path: &Path) -> u64 {
    let Ok(conn) = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY) else { return 0 };
    EntityKind::ALL
        .iter()
        .map(|k| conn.query_row(&format!("SELECT count(*) FROM {}", k.table()), [], |r| r.get::<_, i64>(0)))
        .try_fold(0u64, |sum, n| Some(sum + u64::try_from(n.ok()?).ok()?))
        .unwrap_or(0)
}

fuzz_target!(|data: &[u8]| {
    let dir = scratch_dir();
    let (store_path, file) = (dir.join("store.db"), dir.join("incoming.db"));
    remove_database(&store_path);
    remove_database(&file);
    if let Err(e) = std::fs::write(&store_path, template()).and_then(|()| std::fs::write(&file, data)) {
        panic!("scratch files: {e}");
    }
    let store = match Store::open(&store_path) {
        Ok(store) => store,
        Err(e) => panic!("a copy of a fresh store does not open: {e}"),
    };
    let sha256 = match sha256_of(&file) {
        Ok(sha) => sha,
        Err(e) => panic!("hashing a file: {e}"),
    };
    let facts = SnapshotFileFacts {
        cursor: 42,
        schema_version: DEVICE_SCHEMA_VERSION,
        rows: rows_of(&file),
        sha256,
        bytes: data.len() as u64,
        newest_stamp: Some(Hlc::new(0x0190_0000_0000, 3, "server")),
    };
    if check_snapshot_file(&store, &file, &facts).is_err() {
        return;
    }
    let device_id = store.device_id().to_string();
    if store.install_snapshot_file(&file, &facts).is_err() {
        return;
    }
    assert_eq!(store.pull_cursor().ok(), Some(42), "the pull does not continue from the file's cursor");
    drop(store);
    let reopened = match Store::open(&store_path) {
        Ok(store) => store,
        Err(e) => panic!("the store does not open after an install: {e}"),
    };
    assert_eq!(reopened.device_id(), device_id, "the installed file lost the phone's device id");
    for kind in EntityKind::ALL {
        let _ = reopened.all_states(kind); // an error is the file's fault; a panic would be ours
    }
});
