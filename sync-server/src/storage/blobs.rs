//! Photos on the server, behind `BlobStore`: chunks as they arrive, then the whole photo once its
//! bytes hash to its address (the chunk that completes it is written only as part of the whole). `DirBlobStore`, the default (on SQLite), is a directory of
//! content-addressed files; every file is written to a temporary name, fsync'd and renamed, so a
//! SIGKILL at any moment leaves either the old state or the new one, never half a chunk. On
//! PostgreSQL the photos are rows every replica shares (`postgres::blobs`, migration 9).
//!
//! Layout under the root: `parts/<sha256>/<index>` for the chunks of an upload under way,
//! `photos/<sha256[..2]>/<sha256>` for whole photos, `thumbs/<sha256[..2]>/<sha256>` for the back
//! office's thumbnails, `tmp/` for files being written.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use gridbook_core::photos::{is_photo_sha256, photo_sha256};
use gridbook_core::sync::wire::{photo_chunks, PhotoStatus, PHOTO_CHUNK_BYTES};

/// What an arriving chunk did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkOutcome {
    /// Stored (or held already); the status after it.
    Stored(PhotoStatus),
    /// It was the last one missing and the whole does not hash to the address: every chunk of
    /// this upload was dropped.
    HashMismatch,
}

/// Where the server keeps photos. `sha256` is always a checked photo address; `size` the photo's
/// declared size, at most `MAX_PHOTO_BYTES`; `index < photo_chunks(size)` and the chunk's length
/// right for its index (the HTTP layer checks all three).
pub trait BlobStore: Send + Sync {
    /// Stores one chunk durably (an index held already is not written again) and, when it
    /// completes the photo, checks the whole and keeps it.
    fn put_chunk(&self, sha256: &str, size: u64, index: u32, bytes: &[u8]) -> io::Result<ChunkOutcome>;
    /// What the server holds of the photo.
    fn status(&self, sha256: &str, size: u64) -> io::Result<PhotoStatus>;
    /// The whole photo, when the server has it.
    fn photo(&self, sha256: &str) -> io::Result<Option<Vec<u8>>>;
    /// Whether the server holds the whole photo (without reading it).
    fn has_photo(&self, sha256: &str) -> io::Result<bool>;
    /// The whole photo's size in bytes, when the server has it (without reading it).
    fn photo_size(&self, sha256: &str) -> io::Result<Option<u64>>;
    /// The thumbnail kept for a whole photo, when one was made.
    fn thumbnail(&self, sha256: &str) -> io::Result<Option<Vec<u8>>>;
    /// Keeps the thumbnail made of a whole photo (made once: a second one replaces it, same bytes).
    fn put_thumbnail(&self, sha256: &str, bytes: &[u8]) -> io::Result<()>;
}

/// The status of a photo the server holds whole.
pub fn complete_status(sha256: &str, size: u64) -> PhotoStatus {
    let chunks = photo_chunks(size);
    PhotoStatus { sha256: sha256.to_string(), size, chunks, have: (0..chunks).collect(), complete: true }
}

/// The expected length of chunk `index` of a photo of `size` bytes.
pub fn chunk_len(size: u64, index: u32) -> Option<usize> {
    let start = u64::from(index).checked_mul(PHOTO_CHUNK_BYTES as u64)?;
    (index < photo_chunks(size) && start < size.max(1)).then(|| (size - start).min(PHOTO_CHUNK_BYTES as u64) as usize)
}

/// Photos in a directory (the default).
pub struct DirBlobStore {
    root: PathBuf,
}

impl DirBlobStore {
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        for sub in ["parts", "photos", "thumbs", "tmp"] {
            fs::create_dir_all(root.join(sub))?;
        }
        Ok(Self { root })
    }

    fn photo_path(&self, sha256: &str) -> PathBuf {
        self.root.join("photos").join(&sha256[..2]).join(sha256)
    }

    fn thumb_path(&self, sha256: &str) -> PathBuf {
        self.root.join("thumbs").join(&sha256[..2]).join(sha256)
    }

    fn parts_dir(&self, sha256: &str) -> PathBuf {
        self.root.join("parts").join(sha256)
    }

    /// Writes `bytes` to `dest` through a temporary file: written, fsync'd, renamed, the directory
    /// fsync'd, so the rename itself survives a power cut.
    fn write_durably(&self, dest: &Path, bytes: &[u8]) -> io::Result<()> {
        let tmp = self.root.join("tmp").join(uuid::Uuid::new_v4().to_string());
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        let dir = dest.parent().ok_or_else(|| io::Error::other("a blob path has a directory"))?;
        fs::create_dir_all(dir)?;
        if let Err(e) = fs::rename(&tmp, dest) {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        File::open(dir)?.sync_all()
    }

    /// Every whole photo held, with its file's length, by address: what `admin migrate-to-postgres`
    /// moves. A file whose name is not a photo address under its own two-digit folder is not one.
    pub fn whole_photos(&self) -> io::Result<Vec<(String, u64)>> {
        let mut out = Vec::new();
        for folder in fs::read_dir(self.root.join("photos"))? {
            let folder = folder?;
            if !folder.file_type()?.is_dir() {
                continue;
            }
            let prefix = folder.file_name();
            for entry in fs::read_dir(folder.path())? {
                let entry = entry?;
                let name = entry.file_name();
                let Some(sha) = name.to_str().filter(|n| is_photo_sha256(n)) else { continue };
                if prefix.to_str() == Some(&sha[..2]) && entry.file_type()?.is_file() {
                    out.push((sha.to_string(), entry.metadata()?.len()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Every chunk of the uploads under way, (address, index, length), by address then index.
    pub fn chunks_under_way(&self) -> io::Result<Vec<(String, u32, u64)>> {
        let mut out = Vec::new();
        for upload in fs::read_dir(self.root.join("parts"))? {
            let upload = upload?;
            let name = upload.file_name();
            let Some(sha) = name.to_str().filter(|n| is_photo_sha256(n)) else { continue };
            if !upload.file_type()?.is_dir() {
                continue;
            }
            for entry in fs::read_dir(upload.path())? {
                let entry = entry?;
                let Some(index) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
                out.push((sha.to_string(), index, entry.metadata()?.len()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// One chunk of an upload under way, when it is there.
    pub fn chunk(&self, sha256: &str, index: u32) -> io::Result<Option<Vec<u8>>> {
        read_if_there(&self.parts_dir(sha256).join(index.to_string()))
    }

    fn have(&self, sha256: &str, size: u64) -> io::Result<Vec<u32>> {
        let mut have = Vec::new();
        match fs::read_dir(self.parts_dir(sha256)) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry?;
                    let Some(index) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                        continue;
                    };
                    // a chunk file of the wrong length (another declared size) is not counted
                    if chunk_len(size, index) == Some(entry.metadata()?.len() as usize) {
                        have.push(index);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        have.sort_unstable();
        Ok(have)
    }

    /// All chunks are here (`last`, when given, only in memory: the one that completed the photo):
    /// put them together, check the hash, keep the photo, drop the parts. The completing chunk is
    /// never written on its own: the whole photo is its durable write, so an upload costs one
    /// durable write per chunk request, not one more for the whole (docs/benchmarks.md).
    fn assemble(&self, sha256: &str, size: u64, last: Option<(u32, &[u8])>) -> io::Result<ChunkOutcome> {
        let dir = self.parts_dir(sha256);
        let mut whole = Vec::with_capacity(size as usize);
        for index in 0..photo_chunks(size) {
            match last {
                Some((i, bytes)) if i == index => whole.extend_from_slice(bytes),
                _ => whole.extend(fs::read(dir.join(index.to_string()))?),
            }
        }
        let outcome = if photo_sha256(&whole) == sha256 {
            self.write_durably(&self.photo_path(sha256), &whole)?;
            ChunkOutcome::Stored(complete_status(sha256, size))
        } else {
            ChunkOutcome::HashMismatch
        };
        match fs::remove_dir_all(&dir) {
            // a single-chunk photo never had a parts directory
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        Ok(outcome)
    }
}

impl BlobStore for DirBlobStore {
    fn put_chunk(&self, sha256: &str, size: u64, index: u32, bytes: &[u8]) -> io::Result<ChunkOutcome> {
        debug_assert!(is_photo_sha256(sha256));
        if self.photo_path(sha256).exists() {
            // deduplicated: the photo is here whole (another phone, or an earlier upload)
            return Ok(ChunkOutcome::Stored(complete_status(sha256, size)));
        }
        let chunks = photo_chunks(size);
        let others = self.have(sha256, size)?.into_iter().filter(|&i| i != index).count() as u32;
        if others + 1 == chunks {
            // the last one missing: written once, inside the whole photo
            return self.assemble(sha256, size, Some((index, bytes)));
        }
        let part = self.parts_dir(sha256).join(index.to_string());
        if fs::metadata(&part).map(|m| m.len() as usize).ok() != Some(bytes.len()) {
            self.write_durably(&part, bytes)?;
        }
        // read again: another request may have brought the other missing chunk meanwhile
        let have = self.have(sha256, size)?;
        if have.len() as u32 == chunks {
            return self.assemble(sha256, size, None);
        }
        Ok(ChunkOutcome::Stored(PhotoStatus { sha256: sha256.to_string(), size, chunks, have, complete: false }))
    }

    fn status(&self, sha256: &str, size: u64) -> io::Result<PhotoStatus> {
        if self.photo_path(sha256).exists() {
            return Ok(complete_status(sha256, size));
        }
        let have = self.have(sha256, size)?;
        Ok(PhotoStatus { sha256: sha256.to_string(), size, chunks: photo_chunks(size), have, complete: false })
    }

    fn photo(&self, sha256: &str) -> io::Result<Option<Vec<u8>>> {
        read_if_there(&self.photo_path(sha256))
    }

    fn has_photo(&self, sha256: &str) -> io::Result<bool> {
        self.photo_path(sha256).try_exists()
    }

    fn photo_size(&self, sha256: &str) -> io::Result<Option<u64>> {
        match fs::metadata(self.photo_path(sha256)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn thumbnail(&self, sha256: &str) -> io::Result<Option<Vec<u8>>> {
        read_if_there(&self.thumb_path(sha256))
    }

    fn put_thumbnail(&self, sha256: &str, bytes: &[u8]) -> io::Result<()> {
        debug_assert!(is_photo_sha256(sha256));
        self.write_durably(&self.thumb_path(sha256), bytes)
    }
}

fn read_if_there(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    fn stored(o: ChunkOutcome) -> PhotoStatus {
        match o {
            ChunkOutcome::Stored(s) => s,
            ChunkOutcome::HashMismatch => panic!("hash mismatch"),
        }
    }

    #[test]
    fn chunks_in_any_order_make_the_photo_once_its_hash_checks() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirBlobStore::open(dir.path()).unwrap();
        let photo = bytes(PHOTO_CHUNK_BYTES * 2 + 100);
        let (sha, size) = (photo_sha256(&photo), photo.len() as u64);
        let chunk = |i: usize| &photo[i * PHOTO_CHUNK_BYTES..((i + 1) * PHOTO_CHUNK_BYTES).min(photo.len())];
        assert_eq!(store.status(&sha, size).unwrap().missing(), vec![0, 1, 2]);
        let s = stored(store.put_chunk(&sha, size, 2, chunk(2)).unwrap());
        assert_eq!((s.have.clone(), s.complete), (vec![2], false));
        // a chunk sent twice is held once
        stored(store.put_chunk(&sha, size, 2, chunk(2)).unwrap());
        stored(store.put_chunk(&sha, size, 0, chunk(0)).unwrap());
        assert_eq!(store.status(&sha, size).unwrap().missing(), vec![1]);
        assert_eq!(store.photo(&sha).unwrap(), None, "not whole yet");
        let s = stored(store.put_chunk(&sha, size, 1, chunk(1)).unwrap());
        assert!(s.complete && s.missing().is_empty());
        assert_eq!(store.photo(&sha).unwrap(), Some(photo.clone()));
        assert!(!dir.path().join("parts").join(&sha).exists(), "parts dropped");
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0, "no temporary left");
        // deduplicated: sending it again stores nothing
        assert!(stored(store.put_chunk(&sha, size, 0, chunk(0)).unwrap()).complete);
    }

    #[test]
    fn the_completing_chunk_is_written_once_inside_the_whole_photo() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirBlobStore::open(dir.path()).unwrap();
        // one chunk: the photo is its only write, no parts directory is ever made
        let photo = bytes(1000);
        let sha = photo_sha256(&photo);
        assert!(stored(store.put_chunk(&sha, 1000, 0, &photo).unwrap()).complete);
        assert_eq!(store.photo(&sha).unwrap(), Some(photo));
        assert!(!dir.path().join("parts").join(&sha).exists());
        // two chunks, the second first: it is a part; the first completes the photo from memory
        let photo = bytes(PHOTO_CHUNK_BYTES + 10);
        let (sha, size) = (photo_sha256(&photo), photo.len() as u64);
        stored(store.put_chunk(&sha, size, 1, &photo[PHOTO_CHUNK_BYTES..]).unwrap());
        let part = |i: u32| dir.path().join("parts").join(&sha).join(i.to_string());
        assert!(part(1).exists() && !part(0).exists());
        assert!(stored(store.put_chunk(&sha, size, 0, &photo[..PHOTO_CHUNK_BYTES]).unwrap()).complete);
        assert_eq!(store.photo(&sha).unwrap(), Some(photo));
        assert!(!dir.path().join("parts").join(&sha).exists(), "parts dropped");
    }

    #[test]
    fn bytes_that_do_not_match_the_address_are_refused_and_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirBlobStore::open(dir.path()).unwrap();
        let photo = bytes(1000);
        let sha = photo_sha256(b"something else");
        assert_eq!(store.put_chunk(&sha, 1000, 0, &photo).unwrap(), ChunkOutcome::HashMismatch);
        assert_eq!(store.photo(&sha).unwrap(), None);
        assert_eq!(store.status(&sha, 1000).unwrap().have, Vec::<u32>::new());
    }

    #[test]
    fn chunk_lengths_follow_the_declared_size() {
        let c = PHOTO_CHUNK_BYTES as u64;
        assert_eq!(chunk_len(c * 2 + 5, 0), Some(PHOTO_CHUNK_BYTES));
        assert_eq!(chunk_len(c * 2 + 5, 2), Some(5));
        assert_eq!(chunk_len(c * 2 + 5, 3), None);
        assert_eq!(chunk_len(c, 0), Some(PHOTO_CHUNK_BYTES));
        assert_eq!(chunk_len(c, 1), None);
        assert_eq!(chunk_len(0, 0), Some(0));
        assert_eq!(chunk_len(10, u32::MAX), None);
    }
}
