//! Room in the write-ahead log written before it is needed: at start the log file is extended
//! with zeros, durably, to the size SQLite's own checkpoint starts it over at, so that a push's
//! commit overwrites blocks the file has instead of growing it. The fsync of a commit that grows
//! the file writes its new size and blocks too: six 8 KiB frames appended took 0.50 ms to sync on
//! this machine's disk, overwritten 0.23 ms (docs/benchmarks.md, "The log's room written ahead").
//! A server that has run a while is there already (the log is reused, never cut below
//! `WAL_SIZE_LIMIT`); this brings a server just started, or restarted under load, there at once.
//! PostgreSQL zero-fills its WAL segments for the same reason.
//!
//! Safe because zeros are not frames: recovery reads frames until one's salt and checksum fail,
//! which a zero frame does, and the writer writes its next frame where its own count says, over
//! the zeros. The write lock is held meanwhile, so no commit appends while the zeros go in.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::storage::error::{StorageError, StorageResult};

/// The log's header, and each frame's header before its page (SQLite's file format).
const WAL_HEADER_BYTES: u64 = 32;
const FRAME_HEADER_BYTES: u64 = 24;

/// Zeros written per call: the room goes in a few large writes.
const PIECE_BYTES: usize = 1024 * 1024;

/// The log file of the database at `db`.
pub(super) fn wal_path(db: &Path) -> PathBuf {
    PathBuf::from(format!("{}-wal", db.display()))
}

/// The bytes the log takes up to SQLite's automatic checkpoint (its frames of the database's
/// page size), where the log starts over: the room a commit needs between two checkpoints.
fn room(conn: &Connection) -> StorageResult<u64> {
    let page: u64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let frames: u64 = conn.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))?;
    Ok(WAL_HEADER_BYTES + frames.saturating_mul(page + FRAME_HEADER_BYTES))
}

/// Extends the log of `db` with zeros up to `room`, durably, under the write lock of `conn` (a
/// connection in WAL mode). Answers the bytes added (0 when the log had its room).
pub(super) fn write_ahead(conn: &Connection, db: &Path) -> StorageResult<u64> {
    let room = room(conn)?;
    // the write lock: no commit appends frames while the zeros go in past them
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let added = extend(&wal_path(db), room);
    conn.execute_batch("COMMIT")?;
    added.map_err(|e| StorageError::internal(format!("writing the log's room ahead: {e}")))
}

fn extend(wal: &Path, room: u64) -> io::Result<u64> {
    let file = match OpenOptions::new().write(true).open(wal) {
        Ok(f) => f,
        // no log file yet: SQLite makes it at the first write, and it grows as before
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    if len >= room {
        return Ok(0);
    }
    let zeros = vec![0u8; PIECE_BYTES];
    let mut at = len;
    while at < room {
        let n = (room - at).min(PIECE_BYTES as u64) as usize;
        file.write_all_at(&zeros[..n], at)?;
        at += n as u64;
    }
    file.sync_all()?;
    Ok(room - len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn the_room_is_written_once_and_the_log_stays_readable_and_recoverable() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        let conn = Connection::open(&db).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('before');").unwrap();
        let before = std::fs::metadata(wal_path(&db)).unwrap().len();
        let room = room(&conn).unwrap();
        assert!(before < room, "{before} bytes of log before, room {room}");
        assert_eq!(write_ahead(&conn, &db).unwrap(), room - before);
        assert_eq!(std::fs::metadata(wal_path(&db)).unwrap().len(), room);
        // written once: a second start finds its room there
        assert_eq!(write_ahead(&conn, &db).unwrap(), 0);
        // commits go on over the zeros, and another connection reads them all
        for i in 0..50 {
            conn.execute("INSERT INTO t VALUES (?1)", [format!("after {i}")]).unwrap();
        }
        assert_eq!(std::fs::metadata(wal_path(&db)).unwrap().len(), room, "the commits wrote into the room");
        let other = Connection::open(&db).unwrap();
        assert_eq!(count(&other), 51);
        drop(other);
        // a crash: the log as it is on disk (frames, then zeros) recovered by a new process's
        // connection: every committed row, nothing of the zeros
        let copy = dir.path().join("copy.db");
        std::fs::copy(&db, &copy).unwrap();
        std::fs::copy(wal_path(&db), wal_path(&copy)).unwrap();
        let recovered = Connection::open(&copy).unwrap();
        assert_eq!(count(&recovered), 51);
        assert_eq!(recovered.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0)).unwrap(), "ok");
    }

    #[test]
    fn a_database_without_its_log_yet_is_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        let conn = Connection::open(&db).unwrap();
        // not in WAL mode: no log file
        conn.execute_batch("CREATE TABLE t (v TEXT)").unwrap();
        assert_eq!(write_ahead(&conn, &db).unwrap(), 0);
        assert!(!wal_path(&db).exists());
    }
}
