//! Snapshot files on the server (docs/sync-protocol.md, "Snapshot file"): a fresh phone's whole
//! scope as a prebuilt SQLite file in the device's schema, built with gridbook-core's own store
//! from the very pages a pull would serve, gzip'd, cached on disk beside the database per set of
//! grids, rebuilt in the background once the log has moved on. http/snapshot_files.rs streams
//! them to phones (`GET /v1/snapshot-file`).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use gridbook_core::store::files::remove_database;
use gridbook_core::sync::snapshot_file::SnapshotFileBuilder;
use gridbook_core::sync::wire::{ErrorCode, PullPage, SnapshotFileFacts};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::now_ms;
use crate::storage::SyncStorage;

/// When a cached file is rebuilt, and when one is worth offering at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotFilesConfig {
    /// A file whose scope has more changed records than this since its cursor is rebuilt (in the
    /// background; the old one is served meanwhile and phones pull the difference from the log).
    pub max_changes_behind: u64,
    /// A file older than this is rebuilt, however little changed.
    pub max_age_ms: i64,
    /// Scopes with fewer records get no file: their row pages are smaller on the wire and quick
    /// to apply, where a file carries its indexes, search index and page slack too.
    pub min_records: u64,
}

impl Default for SnapshotFilesConfig {
    fn default() -> Self {
        Self { max_changes_behind: 10_000, max_age_ms: 6 * 3_600_000, min_records: 2_000 }
    }
}

/// One built file, as `current.json` in its scope's directory describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedFile {
    pub facts: SnapshotFileFacts,
    /// The gzip'd file's name in the scope's directory.
    pub file: String,
    /// Its size: the response's Content-Length.
    pub gz_bytes: u64,
    pub built_at_ms: i64,
    /// How long the build took, gzip included.
    pub build_ms: u64,
    pub grids: Vec<String>,
    /// The server generation it was built in. A file of another generation is never served: its
    /// cursor may be past what a restored database holds (on PostgreSQL, past change numbers
    /// the restored database hands out again), so phones installing it would skip new rows.
    #[serde(default)]
    pub generation: String,
}

/// The snapshot files of one server: a directory per scope (sorted set of grids).
pub struct SnapshotFiles {
    dir: PathBuf,
    pub config: SnapshotFilesConfig,
    /// The generation of the database the files are built from (`CachedFile::generation`).
    generation: String,
    /// One build per scope at a time: phones asking together wait for the same build.
    builds: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Entities per page read for a build (the pull's largest page).
const BUILD_PAGE: u32 = 10_000;
const CURRENT: &str = "current.json";
/// Seconds a placed file is left alone by other builds' clean-up even when no description names
/// it yet (a replica renames its file into place, then its description: milliseconds apart, or
/// more on a loaded share; and the replicas' clocks may differ a little).
const UNDESCRIBED_GRACE_S: u64 = 600;

fn core_error(what: &str, e: impl std::fmt::Display) -> DomainError {
    DomainError::internal(format!("snapshot file: {what}: {e}"))
}

pub(crate) fn io_error(path: &Path, e: std::io::Error) -> DomainError {
    DomainError::internal(format!("snapshot file {}: {e}", path.display()))
}

impl SnapshotFiles {
    pub fn new(dir: impl Into<PathBuf>, config: SnapshotFilesConfig, generation: String) -> Self {
        Self { dir: dir.into(), config, generation, builds: Mutex::new(HashMap::new()) }
    }

    /// The files of a storage backend that keeps them (beside its database); `None` otherwise.
    pub fn for_storage(storage: &dyn SyncStorage, config: SnapshotFilesConfig) -> Option<Self> {
        storage.snapshot_dir().map(|dir| Self::new(dir, config, storage.generation().id))
    }

    /// The directory name of a scope: the same grids in any order are the same scope. Hashed, so
    /// that any grid id makes a safe, short name.
    pub fn scope_key(grids: &[String]) -> String {
        let mut sorted: Vec<&str> = grids.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let digest = Sha256::digest(sorted.join("\n").as_bytes());
        gridbook_core::evidence::to_hex(&digest[..12])
    }

    fn scope_dir(&self, grids: &[String]) -> PathBuf {
        self.dir.join(Self::scope_key(grids))
    }

    /// The gzip'd file of a cached entry.
    pub fn path_of(&self, cached: &CachedFile) -> PathBuf {
        self.scope_dir(&cached.grids).join(&cached.file)
    }

    /// The file now served for these grids, if one was built.
    pub fn current(&self, grids: &[String]) -> DomainResult<Option<CachedFile>> {
        let path = self.scope_dir(grids).join(CURRENT);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path, e)),
        };
        match serde_json::from_slice::<CachedFile>(&text) {
            Ok(c) if c.generation != self.generation => Ok(None), // built before a restore: rebuilt
            Ok(c) if self.path_of(&c).exists() => Ok(Some(c)),
            Ok(_) => Ok(None),
            Err(e) => {
                // a damaged description is rebuilt, not served
                tracing::warn!(path = %path.display(), error = %e, "snapshot file description unreadable; rebuilding");
                Ok(None)
            }
        }
    }

    /// Whether the log moved on too far since the file, or the file is too old.
    pub fn is_stale(&self, storage: &dyn SyncStorage, cached: &CachedFile, now_ms: i64) -> DomainResult<bool> {
        if now_ms - cached.built_at_ms > self.config.max_age_ms {
            return Ok(true);
        }
        Ok(storage.changes_after(&cached.grids, cached.facts.cursor)? > self.config.max_changes_behind)
    }

    /// Builds the file of these grids now (blocking: run it on a blocking thread) and makes it
    /// the one served; older files of the scope are removed (a phone still downloading one keeps
    /// reading it: an open file outlives its name).
    pub fn build(&self, storage: &dyn SyncStorage, grids: &[String]) -> DomainResult<CachedFile> {
        let started = std::time::Instant::now();
        let mut grids = grids.to_vec();
        grids.sort();
        grids.dedup();
        let dir = self.scope_dir(&grids);
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        remove_abandoned_builds(&dir);
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let work = dir.join(format!("building-{nonce}.db"));
        let plain = dir.join(format!("built-{nonce}.db"));
        let result = (|| -> DomainResult<(SnapshotFileFacts, String, u64)> {
            let mut builder =
                SnapshotFileBuilder::create(&work).map_err(|e| core_error("opening the build store", e))?;
            let mut cursor = 0;
            loop {
                // the page a phone would pull, through the phone's own decoding and apply path
                let page = storage.snapshot_page(&grids, cursor, BUILD_PAGE, now_ms())?;
                let page: PullPage = serde_json::from_slice(&serde_json::to_vec(&page)?)?;
                builder.apply(&page).map_err(|e| core_error("applying a page", e))?;
                cursor = page.next_cursor;
                if !page.has_more {
                    break;
                }
            }
            let facts = builder.finish(&plain).map_err(|e| core_error("writing the file", e))?;
            // gzip'd under a name no clean-up of another build touches (it removes `.db.gz`
            // files), then renamed into place whole
            let part = dir.join(format!("built-{nonce}.gz.part"));
            let gz_bytes = gzip_file(&plain, &part);
            let file = format!("{}-{nonce}.db.gz", facts.cursor);
            let placed = gz_bytes.and_then(|n| {
                std::fs::rename(&part, dir.join(&file)).map_err(|e| io_error(&part, e))?;
                Ok(n)
            });
            if placed.is_err() {
                let _ = std::fs::remove_file(&part);
            }
            Ok((facts, file, placed?))
        })();
        remove_database(&work);
        remove_database(&plain);
        let (facts, file, gz_bytes) = result?;
        let cached = CachedFile {
            facts,
            file,
            gz_bytes,
            built_at_ms: now_ms(),
            build_ms: started.elapsed().as_millis() as u64,
            grids,
            generation: self.generation.clone(),
        };
        let cached = self.publish(&dir, cached, &nonce)?;
        tracing::info!(
            scope = %Self::scope_key(&cached.grids),
            rows = cached.facts.rows,
            cursor = cached.facts.cursor,
            bytes = cached.facts.bytes,
            gz_bytes = cached.gz_bytes,
            build_ms = cached.build_ms,
            "snapshot file built"
        );
        Ok(cached)
    }

    /// Makes a built file the one served, unless another process (a replica sharing the
    /// directory) published a newer one meanwhile: then that one stays, and is the answer. Then
    /// removes the scope's files nobody serves any more. No lock between processes (the directory
    /// may be a network share): every step is a rename or a removal that tolerates the other
    /// replica's, and only files no description names and no build just placed are removed.
    fn publish(&self, dir: &Path, cached: CachedFile, nonce: &str) -> DomainResult<CachedFile> {
        let before = self.current(&cached.grids)?;
        let newer = before.clone().filter(|c| c.facts.cursor > cached.facts.cursor);
        let served = match newer {
            Some(newer) => {
                let _ = std::fs::remove_file(dir.join(&cached.file));
                newer
            }
            None => {
                let tmp = dir.join(format!("{CURRENT}.{nonce}"));
                std::fs::write(&tmp, serde_json::to_vec_pretty(&cached)?)
                    .and_then(|_| std::fs::rename(&tmp, dir.join(CURRENT)))
                    .map_err(|e| io_error(&tmp, e))?;
                cached
            }
        };
        // what is served now, whichever replica renamed last: its file stays
        let current = self.current(&served.grids)?.map(|c| c.file);
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                let age = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
                // the file described before is replaced: it goes at once (a phone downloading it
                // keeps reading: an open file outlives its name); any other file younger than
                // that may be another replica's, placed and about to be described: the next
                // build removes it if it never was
                let replaced = before.as_ref().is_some_and(|b| b.file == name);
                let settled = replaced || age.is_some_and(|a| a.as_secs() >= UNDESCRIBED_GRACE_S);
                if name.ends_with(".db.gz") && name != served.file && Some(&name) != current.as_ref() && settled {
                    // gone already (the other replica's clean-up): as well
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(served)
    }

    fn build_lock(&self, grids: &[String]) -> Arc<tokio::sync::Mutex<()>> {
        let mut builds = self.builds.lock().unwrap_or_else(|p| p.into_inner());
        builds.entry(Self::scope_key(grids)).or_default().clone()
    }

    /// Waits until no build of these grids is running (tests, and the bench's warm figure).
    pub async fn settled(&self, grids: &[String]) {
        let lock = self.build_lock(grids);
        let _done = lock.lock().await;
    }

    /// The file to serve these grids: the cached one (a rebuild starts in the background when it
    /// is stale), or one built now when there is none — by one request, the others waiting.
    pub async fn file_for(
        self: &Arc<Self>,
        storage: Arc<dyn SyncStorage>,
        grids: Vec<String>,
    ) -> DomainResult<CachedFile> {
        let (files, st, g) = (self.clone(), storage.clone(), grids.clone());
        let (current, stale) = tokio::task::spawn_blocking(move || -> DomainResult<_> {
            let current = files.current(&g)?;
            let stale = match &current {
                Some(c) => files.is_stale(st.as_ref(), c, now_ms())?,
                None => false,
            };
            Ok((current, stale))
        })
        .await??;
        if let Some(cached) = current {
            if stale {
                self.rebuild_in_background(storage, grids);
            }
            return Ok(cached);
        }
        let lock = self.build_lock(&grids);
        let _one_build = lock.lock().await;
        let (files, g) = (self.clone(), grids.clone());
        if let Some(cached) = tokio::task::spawn_blocking(move || files.current(&g)).await?? {
            return Ok(cached); // built while this request waited
        }
        let (files, min) = (self.clone(), self.config.min_records);
        tokio::task::spawn_blocking(move || {
            let records = storage.changes_after(&grids, 0)?;
            if records < min {
                return Err(DomainError::refused(
                    ErrorCode::NoSnapshotFile,
                    format!(
                        "this device's grids hold {records} records; below {min} row pages are smaller than a file"
                    ),
                ));
            }
            files.build(storage.as_ref(), &grids)
        })
        .await?
    }

    /// Starts a rebuild unless one of these grids is already running; the old file is served
    /// meanwhile.
    fn rebuild_in_background(self: &Arc<Self>, storage: Arc<dyn SyncStorage>, grids: Vec<String>) {
        let Ok(running) = self.build_lock(&grids).try_lock_owned() else { return };
        let files = self.clone();
        tokio::spawn(async move {
            let built = tokio::task::spawn_blocking(move || files.build(storage.as_ref(), &grids)).await;
            drop(running);
            match built {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "snapshot file rebuild failed; the old file is still served"),
                Err(e) => tracing::warn!(error = %e, "snapshot file rebuild stopped"),
            }
        });
    }

    /// Builds, one scope at a time, every field manager's file that is missing or stale and big
    /// enough to be offered, so that a fresh phone rarely waits for a build (the server's
    /// background job, `--snapshot-refresh-s`; the first phone of a scope otherwise waits ~3.5 s
    /// at 100k households). A scope a phone is building already is waited for, not built twice.
    /// Returns the files built.
    pub async fn refresh(self: &Arc<Self>, storage: Arc<dyn SyncStorage>) -> DomainResult<Vec<CachedFile>> {
        let st = storage.clone();
        let scopes = tokio::task::spawn_blocking(move || st.grid_sets()).await??;
        let mut built = Vec::new();
        for grids in scopes {
            let lock = self.build_lock(&grids);
            let _one_build = lock.lock().await;
            let (files, st) = (self.clone(), storage.clone());
            let done = tokio::task::spawn_blocking(move || -> DomainResult<Option<CachedFile>> {
                let wanted = match files.current(&grids)? {
                    Some(cached) => files.is_stale(st.as_ref(), &cached, now_ms())?,
                    None => st.changes_after(&grids, 0)? >= files.config.min_records,
                };
                if !wanted {
                    return Ok(None);
                }
                files.build(st.as_ref(), &grids).map(Some)
            })
            .await??;
            built.extend(done);
        }
        Ok(built)
    }

    /// Builds the file of every field manager's set of grids now (`admin build-snapshot-files`),
    /// however small; returns what was built.
    pub fn prebuild(&self, storage: &dyn SyncStorage) -> DomainResult<Vec<CachedFile>> {
        storage.grid_sets()?.iter().map(|grids| self.build(storage, grids)).collect()
    }
}

/// Work files of builds cut off by a crash (a build of the largest scope takes seconds, so one
/// untouched for an hour is nobody's). Builds running now, in this process or an admin command's,
/// are left alone.
fn remove_abandoned_builds(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let idle = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        if (name.starts_with("building-") || name.starts_with("built-")) && idle.is_some_and(|d| d.as_secs() > 3_600) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Gzips `from` into `to` (level 6: the file crosses mobile links, once per phone, and is built
/// once per scope); returns the gzip'd size.
fn gzip_file(from: &Path, to: &Path) -> DomainResult<u64> {
    let mut input = std::fs::File::open(from).map_err(|e| io_error(from, e))?;
    let output = std::fs::File::create(to).map_err(|e| io_error(to, e))?;
    let mut enc = flate2::write::GzEncoder::new(
        std::io::BufWriter::with_capacity(256 * 1024, output),
        flate2::Compression::new(6),
    );
    std::io::copy(&mut input, &mut enc).map_err(|e| io_error(to, e))?;
    let mut out = enc.finish().map_err(|e| io_error(to, e))?;
    out.flush().map_err(|e| io_error(to, e))?;
    out.get_ref().sync_all().map_err(|e| io_error(to, e))?;
    Ok(std::fs::metadata(to).map_err(|e| io_error(to, e))?.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sqlite::SqliteStorage;

    #[test]
    fn a_file_built_in_another_generation_is_not_served() {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = SqliteStorage::open(dir.path().join("server.db")).expect("server db");
        storage.create_grid("g1", "一网格", 0).expect("grid");
        let grids = vec!["g1".to_string()];
        let files = SnapshotFiles::for_storage(&storage, SnapshotFilesConfig::default()).expect("kept beside the db");
        let built = files.build(&storage, &grids).expect("built");
        assert_eq!(built.generation, storage.generation().id);
        assert_eq!(files.current(&grids).expect("read"), Some(built), "served in its own generation");

        // the same directory after a restore: the file's cursor belongs to the forgotten generation
        let dir_of = storage.snapshot_dir().expect("kept beside the db");
        let restored = SnapshotFiles::new(dir_of, SnapshotFilesConfig::default(), "0123456789abcdef".into());
        assert_eq!(restored.current(&grids).expect("read"), None, "never served, rebuilt instead");
    }
}
