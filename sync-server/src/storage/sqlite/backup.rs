//! Backups and restore of the SQLite server database (docs/operations.md): a consistent copy
//! taken while the server serves (`VACUUM INTO` on a connection of its own: one read transaction,
//! so the copy is one moment of the database), its SHA-256 beside it, and a restore that checks a
//! copy (checksum, integrity, schema version) before it replaces anything, and gives the restored
//! database a new generation so that phones send again what the server forgot.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use gridbook_core::sync::wire::ServerGeneration;
use rusqlite::{params, Connection, OpenFlags};
use sha2::{Digest, Sha256};

use super::schema::SCHEMA_VERSION;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::generation::RestoredGeneration;

/// What `backup` wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BackupReport {
    pub file: PathBuf,
    pub bytes: u64,
    /// SHA-256 of the file, hex; also in `<file>.sha256`, as `sha256sum` writes it.
    pub sha256: String,
    /// Server clock when the copy was taken, UTC ms.
    pub taken_at_ms: i64,
    /// The last change number the copy holds.
    pub cursor: u64,
}

/// What `restore` did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RestoreReport {
    pub database: PathBuf,
    /// The restored database's new generation.
    pub generation: String,
    pub restored_from_ms: i64,
    pub restored_cursor: u64,
    pub schema_version: i64,
}

/// The generation of the database at `c`, and the tag of the receipt books it issues.
pub(super) fn read_generation(c: &Connection) -> StorageResult<(ServerGeneration, String)> {
    Ok(c.query_row(
        "SELECT id, restored_from_ms, restored_cursor, book_tag FROM server_generation WHERE single = 1",
        [],
        |r| {
            Ok((
                ServerGeneration {
                    id: r.get(0)?,
                    restored_from_ms: r.get(1)?,
                    restored_cursor: r.get::<_, i64>(2)?.max(0) as u64,
                    keep_acked_days: ServerGeneration::KEEP_ACKED_DAYS,
                },
                r.get(3)?,
            ))
        },
    )?)
}

fn io(what: &str, path: &Path, e: std::io::Error) -> StorageError {
    StorageError::Invalid {
        code: gridbook_core::sync::wire::ErrorCode::Io,
        message: format!("{what} {}: {e}", path.display()),
    }
}

fn sha256_of(path: &Path) -> StorageResult<String> {
    let mut file = File::open(path).map_err(|e| io("reading", path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| io("reading", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn sidecar(file: &Path) -> PathBuf {
    PathBuf::from(format!("{}.sha256", file.display()))
}

fn fsync(path: &Path) -> StorageResult<()> {
    File::open(path).and_then(|f| f.sync_all()).map_err(|e| io("syncing", path, e))
}

/// The directory holding `path`, synced so that a rename into it survives a power cut.
fn fsync_dir_of(path: &Path) -> StorageResult<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => fsync(dir),
        None => fsync(Path::new(".")),
    }
}

/// Copies the live database at `db` to `to` (which must not exist) while the server may serve,
/// and writes `<to>.sha256`. The copy is written under a temporary name and renamed when whole.
pub fn backup(db: &Path, to: &Path, now_ms: i64) -> StorageResult<BackupReport> {
    if to.exists() {
        return Err(StorageError::conflict(
            gridbook_core::sync::wire::ErrorCode::Exists,
            format!("备份文件已存在 the backup file {} exists already", to.display()),
        ));
    }
    let partial = PathBuf::from(format!("{}.partial", to.display()));
    let _ = std::fs::remove_file(&partial); // a copy an earlier, interrupted backup left
    let source = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    source.busy_timeout(std::time::Duration::from_secs(30))?;
    let target = partial.to_str().ok_or_else(|| StorageError::invalid("the backup path is not UTF-8"))?;
    source.execute("VACUUM INTO ?1", [target])?;
    drop(source);
    let cursor = {
        let copy = Connection::open(&partial)?;
        let cursor: i64 = copy.query_row("SELECT coalesce(max(seq), 0) FROM entities", [], |r| r.get(0))?;
        copy.execute(
            "UPDATE server_generation SET backup_taken_ms = ?1, backup_cursor = ?2 WHERE single = 1",
            params![now_ms, cursor],
        )?;
        copy.pragma_update(None, "journal_mode", "DELETE")?;
        cursor.max(0) as u64
    };
    fsync(&partial)?;
    std::fs::rename(&partial, to).map_err(|e| io("renaming the backup to", to, e))?;
    let sha256 = sha256_of(to)?;
    let name = to.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let side = sidecar(to);
    File::create(&side)
        .and_then(|mut f| f.write_all(format!("{sha256}  {name}\n").as_bytes()).and_then(|_| f.sync_all()))
        .map_err(|e| io("writing", &side, e))?;
    fsync_dir_of(to)?;
    let bytes = std::fs::metadata(to).map_err(|e| io("reading", to, e))?.len();
    tracing::info!(file = %to.display(), bytes, cursor, "backup taken");
    Ok(BackupReport { file: to.to_path_buf(), bytes, sha256, taken_at_ms: now_ms, cursor })
}

/// What a backup file says of itself once checked: (when taken, its cursor, schema version).
fn check_backup(from: &Path) -> StorageResult<(i64, u64, i64)> {
    let refuse = |why: String| {
        StorageError::invalid(format!("备份文件不可用 the backup {} cannot be used: {why}", from.display()))
    };
    let side = sidecar(from);
    let recorded =
        std::fs::read_to_string(&side).map_err(|e| refuse(format!("no checksum file {}: {e}", side.display())))?;
    let recorded = recorded.split_whitespace().next().unwrap_or_default().to_ascii_lowercase();
    let actual = sha256_of(from)?;
    if recorded != actual {
        return Err(refuse(format!("SHA-256 {actual} differs from the recorded {recorded} (damaged copy)")));
    }
    let conn = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| refuse(format!("not a database: {e}")))?;
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| refuse(format!("not a database: {e}")))?;
    if integrity != "ok" {
        return Err(refuse(format!("integrity check: {integrity}")));
    }
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if !(1..=SCHEMA_VERSION).contains(&version) {
        return Err(refuse(format!("schema version {version}; this server reads 1 to {SCHEMA_VERSION}")));
    }
    // a backup of a database before generations holds none: it was taken before this server
    let facts = conn
        .query_row("SELECT backup_taken_ms, backup_cursor FROM server_generation WHERE single = 1", [], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })
        .map_err(|e| refuse(format!("it was not taken by `admin backup`: {e}")))?;
    if facts.0 <= 0 {
        return Err(refuse("it was not taken by `admin backup` (no time of backup recorded)".into()));
    }
    Ok((facts.0, facts.1.max(0) as u64, version))
}

/// Replaces the database at `db` with the checked backup `from`, under a new generation. The
/// server must be stopped (`ServeLock`). The old database, its WAL and its snapshot files are
/// removed only once the new copy is whole on disk; the copy is renamed over the old file.
pub fn restore(from: &Path, db: &Path) -> StorageResult<RestoreReport> {
    let (taken_at_ms, cursor, version) = check_backup(from)?;
    let staging = PathBuf::from(format!("{}.restoring", db.display()));
    let _ = std::fs::remove_file(&staging);
    std::fs::copy(from, &staging).map_err(|e| io("copying the backup to", &staging, e))?;
    let generation = {
        let mut copy = Connection::open(&staging)?;
        // the copy may be an older schema: the server's own migration brings it up to date
        super::schema::migrate(&mut copy, &staging)?;
        let (previous, previous_tag) = read_generation(&copy)?;
        let new = RestoredGeneration::after_restore(&previous, &previous_tag, taken_at_ms, cursor);
        copy.execute(
            "UPDATE server_generation SET id = ?1, restored_from_ms = ?2, restored_cursor = ?3,
             backup_taken_ms = 0, backup_cursor = 0, book_tag = ?4 WHERE single = 1",
            params![new.id, new.restored_from_ms, new.restored_cursor as i64, new.book_tag],
        )?;
        copy.pragma_update(None, "journal_mode", "DELETE")?;
        new
    };
    fsync(&staging)?;
    for leftover in ["-wal", "-shm", "-journal"] {
        let path = PathBuf::from(format!("{}{leftover}", db.display()));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("removing", &path, e)),
        }
    }
    std::fs::rename(&staging, db).map_err(|e| io("replacing", db, e))?;
    fsync_dir_of(db)?;
    // snapshot files of the forgotten generation carry cursors it alone knew
    let snapshots = PathBuf::from(format!("{}.snapshot-files", db.display()));
    if snapshots.exists() {
        std::fs::remove_dir_all(&snapshots).map_err(|e| io("removing", &snapshots, e))?;
    }
    tracing::info!(db = %db.display(), from = %from.display(), generation = %generation.id, "database restored");
    Ok(RestoreReport {
        database: db.to_path_buf(),
        generation: generation.id,
        restored_from_ms: generation.restored_from_ms,
        restored_cursor: generation.restored_cursor,
        schema_version: version,
    })
}

/// Held by a serving process for its database: a restore takes it too, so it refuses to replace
/// the file under a running server. Released when dropped (or when the process dies).
pub struct ServeLock {
    _file: File,
}

impl ServeLock {
    pub fn take(db: &Path) -> StorageResult<Self> {
        let path = PathBuf::from(format!("{}.serve-lock", db.display()));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| io("opening", &path, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            // SAFETY: flock on a descriptor this function owns; it only sets an advisory lock.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
                return Err(StorageError::conflict(
                    gridbook_core::sync::wire::ErrorCode::Exists,
                    format!("服务器正在使用此数据库，请先停止 a server is running on {}: stop it first", db.display()),
                ));
            }
        }
        Ok(Self { _file: file })
    }
}

/// Backups in `dir` named by `backup_name`, newest first.
pub fn backups_in(dir: &Path) -> StorageResult<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io("reading", dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("gridbook-") && n.ends_with(".db"))
        })
        .collect();
    found.sort();
    found.reverse();
    Ok(found)
}

/// The file name of a scheduled backup taken at `now_ms`: UTC, so that names sort by time.
pub fn backup_name(now_ms: i64) -> String {
    let at = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
    at.format("gridbook-%Y%m%dT%H%M%SZ.db").to_string()
}

/// Keeps the newest `keep` scheduled backups in `dir` (and their checksums); removes the rest.
pub fn prune(dir: &Path, keep: usize) -> StorageResult<usize> {
    let mut removed = 0;
    for old in backups_in(dir)?.into_iter().skip(keep) {
        std::fs::remove_file(&old).map_err(|e| io("removing", &old, e))?;
        let _ = std::fs::remove_file(sidecar(&old));
        removed += 1;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_names_sort_by_time_and_read_as_utc() {
        assert_eq!(backup_name(0), "gridbook-19700101T000000Z.db");
        assert_eq!(backup_name(1_796_558_400_000), "gridbook-20261206T120000Z.db");
        assert!(backup_name(1_796_558_400_000) < backup_name(1_796_558_401_000));
    }
}
