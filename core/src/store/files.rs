//! The store's files on disk besides the database itself: its WAL and journal companions, and the
//! temporary files that live next to it (a snapshot file's download), so that opening, converting
//! and wiping a store can find and remove them all.

use std::path::{Path, PathBuf};

/// Removes a database file and its WAL and journal companions, if there.
pub fn remove_database(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// Where a snapshot file is downloaded: beside the store (one filesystem, for the rename).
pub(crate) fn snapshot_download_path(store: &Path) -> PathBuf {
    PathBuf::from(format!("{}.snapshot-file", store.display()))
}
