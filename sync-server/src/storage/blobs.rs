//! Photos on the server, behind `BlobStore`: chunks as they arrive, then the whole photo once its
//! bytes hash to its address. `DirBlobStore`, the default (on SQLite), is a directory of
//! content-addressed files; on PostgreSQL the photos are rows every replica shares
//! (`postgres::blobs`, migration 9).
//!
//! Layout under the root: `parts/<sha256>.run` holds an upload's chunks from chunk 0 on, one after
//! another (the run); `parts/<sha256>/<index>` a chunk that came before the one the run needs
//! (out of order); `photos/<sha256[..2]>/<sha256>` the whole photos, `thumbs/<sha256[..2]>/<sha256>`
//! the back office's thumbnails, `tmp/` files being written.
//!
//! Why a run: a phone sends a photo's chunks in order, and each chunk is acknowledged only after
//! a durable write. Appended to one file (`fdatasync`), the chunks are the photo once the last one
//! lands: the run is hashed and renamed into `photos/`, so the photo's bytes are written once. A
//! file per chunk and the whole written again at the end cost a 2-chunk photo 4.8 ms of disk here
//! against 2.9 ms for the run (docs/benchmarks.md, "Photos"). A SIGKILL mid-append leaves a tail
//! shorter than a chunk, which is not counted and is overwritten by the chunk sent again; every
//! other file is written to a temporary name, fsync'd and renamed, so a chunk is there whole or not
//! at all.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

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

/// Uploads of one photo are put together one request at a time (a phone's retry racing its cut
/// request, two phones sending the same photo); different photos share a lock only by chance.
const UPLOAD_LOCKS: usize = 64;

/// Photos in a directory (the default).
pub struct DirBlobStore {
    root: PathBuf,
    locks: [Mutex<()>; UPLOAD_LOCKS],
}

/// What the server holds of an upload under way.
struct Held {
    /// Chunks 0..run are in the run file.
    run: u32,
    /// The run file's length: bytes past `run`'s chunks are a cut append's tail.
    run_len: u64,
    /// Chunks past the run, each in a file of its own, ascending.
    apart: Vec<u32>,
}

impl Held {
    fn have(&self) -> Vec<u32> {
        let mut have: Vec<u32> = (0..self.run).collect();
        have.extend(self.apart.iter().filter(|&&i| i >= self.run));
        have
    }

    fn holds(&self, index: u32) -> bool {
        index < self.run || self.apart.binary_search(&index).is_ok()
    }

    /// Every one of the photo's `chunks` is here.
    fn whole(&self, chunks: u32) -> bool {
        self.run + self.apart.iter().filter(|&&i| i >= self.run).count() as u32 == chunks
    }
}

impl DirBlobStore {
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        for sub in ["parts", "photos", "thumbs", "tmp"] {
            fs::create_dir_all(root.join(sub))?;
        }
        Ok(Self { root, locks: std::array::from_fn(|_| Mutex::new(())) })
    }

    fn lock(&self, sha256: &str) -> io::Result<MutexGuard<'_, ()>> {
        let stripe = usize::from_str_radix(&sha256[..2], 16).unwrap_or(0) % UPLOAD_LOCKS;
        self.locks[stripe].lock().map_err(|_| io::Error::other("a photo upload's lock was poisoned"))
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

    fn run_path(&self, sha256: &str) -> PathBuf {
        self.root.join("parts").join(format!("{sha256}.run"))
    }

    /// Writes `bytes` to `dest` through a temporary file: written, fsync'd, renamed, the directory
    /// fsync'd, so the rename itself survives a power cut.
    fn write_durably(&self, dest: &Path, bytes: &[u8]) -> io::Result<()> {
        let tmp = self.root.join("tmp").join(uuid::Uuid::new_v4().to_string());
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        if let Err(e) = self.rename_durably(&tmp, dest) {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(())
    }

    /// Renames a file whose bytes are durable already to `dest`, and makes the name durable.
    fn rename_durably(&self, from: &Path, dest: &Path) -> io::Result<()> {
        let dir = dest.parent().ok_or_else(|| io::Error::other("a blob path has a directory"))?;
        fs::create_dir_all(dir)?;
        fs::rename(from, dest)?;
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

    /// Every chunk of the uploads under way, (address, index, length), by address then index: the
    /// run's whole chunks (its size not being known here, a run's last bytes short of a chunk are
    /// its last chunk or a cut append's tail: both are listed) and the chunks apart.
    pub fn chunks_under_way(&self) -> io::Result<Vec<(String, u32, u64)>> {
        let mut out = Vec::new();
        for upload in fs::read_dir(self.root.join("parts"))? {
            let upload = upload?;
            let name = upload.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(sha) = name.strip_suffix(".run").filter(|n| is_photo_sha256(n)) {
                let len = upload.metadata()?.len();
                let chunk = PHOTO_CHUNK_BYTES as u64;
                for index in 0..len.div_ceil(chunk) {
                    let Ok(i) = u32::try_from(index) else { break };
                    out.push((sha.to_string(), i, (len - index * chunk).min(chunk)));
                }
                continue;
            }
            if !is_photo_sha256(name) || !upload.file_type()?.is_dir() {
                continue;
            }
            for entry in fs::read_dir(upload.path())? {
                let entry = entry?;
                let Some(index) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
                out.push((name.to_string(), index, entry.metadata()?.len()));
            }
        }
        out.sort();
        out.dedup_by(|b, a| a.0 == b.0 && a.1 == b.1);
        Ok(out)
    }

    /// One chunk of an upload under way, when it is there (from the run first).
    pub fn chunk(&self, sha256: &str, index: u32) -> io::Result<Option<Vec<u8>>> {
        let run_len = self.run_len(sha256)?;
        if u64::from(index) * (PHOTO_CHUNK_BYTES as u64) < run_len {
            return self.run_chunk(sha256, index, run_len).map(Some);
        }
        read_if_there(&self.parts_dir(sha256).join(index.to_string()))
    }

    /// The run file's length: 0 when the upload has none.
    fn run_len(&self, sha256: &str) -> io::Result<u64> {
        match fs::metadata(self.run_path(sha256)) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Chunk `index` of the run whose length is `run_len` (the rest of it, when shorter).
    fn run_chunk(&self, sha256: &str, index: u32, run_len: u64) -> io::Result<Vec<u8>> {
        let chunk = PHOTO_CHUNK_BYTES as u64;
        let start = u64::from(index) * chunk;
        let mut bytes = vec![0; run_len.saturating_sub(start).min(chunk) as usize];
        File::open(self.run_path(sha256))?.read_exact_at(&mut bytes, start)?;
        Ok(bytes)
    }

    fn held(&self, sha256: &str, size: u64) -> io::Result<Held> {
        let run_len = self.run_len(sha256)?;
        // the whole photo once the run reaches its size; else its whole chunks
        let run = if run_len >= size { photo_chunks(size) } else { (run_len / PHOTO_CHUNK_BYTES as u64) as u32 };
        let mut apart = Vec::new();
        match fs::read_dir(self.parts_dir(sha256)) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry?;
                    let Some(index) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                        continue;
                    };
                    // a chunk file of the wrong length (another declared size) is not counted
                    if chunk_len(size, index) == Some(entry.metadata()?.len() as usize) {
                        apart.push(index);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        apart.sort_unstable();
        Ok(Held { run, run_len, apart })
    }

    /// Appends chunk `held.run` (and the chunks apart that follow it) to the run, durably.
    fn extend_run(&self, sha256: &str, size: u64, held: &mut Held, bytes: &[u8]) -> io::Result<()> {
        let path = self.run_path(sha256);
        let first = held.run == 0;
        let f = OpenOptions::new().create(true).write(true).truncate(false).open(&path)?;
        let mut at = u64::from(held.run) * PHOTO_CHUNK_BYTES as u64;
        // a cut append's tail goes: the chunk is written again over it
        if held.run_len != at {
            f.set_len(at)?;
        }
        f.write_all_at(bytes, at)?;
        at += bytes.len() as u64;
        held.run += 1;
        // chunks that came early join the run, so the photo's bytes end in one file
        let mut joined = Vec::new();
        while held.apart.binary_search(&held.run).is_ok() && held.run < photo_chunks(size) {
            let early = fs::read(self.parts_dir(sha256).join(held.run.to_string()))?;
            f.write_all_at(&early, at)?;
            at += early.len() as u64;
            joined.push(held.run);
            held.run += 1;
        }
        f.sync_data()?;
        held.run_len = at;
        if first {
            // the run's name, as durable as its first chunk
            File::open(self.root.join("parts"))?.sync_all()?;
        }
        for index in joined {
            let _ = fs::remove_file(self.parts_dir(sha256).join(index.to_string()));
        }
        Ok(())
    }

    /// Every chunk is here: check the whole's hash, keep the photo, drop what is left of the upload.
    /// A run holding it all is renamed into `photos/` (its bytes durable already); otherwise (chunks
    /// apart, an upload from before the run) the whole is put together and written once.
    fn complete(&self, sha256: &str, size: u64, held: &Held, last: Option<(u32, &[u8])>) -> io::Result<ChunkOutcome> {
        let run_path = self.run_path(sha256);
        let outcome = if held.run == photo_chunks(size) && last.is_none() {
            let mut whole = Vec::with_capacity(size as usize);
            File::open(&run_path)?.take(size).read_to_end(&mut whole)?;
            if photo_sha256(&whole) == sha256 {
                if held.run_len > size {
                    // bytes past the size (an upload that declared another size): not the photo's
                    let f = OpenOptions::new().write(true).open(&run_path)?;
                    f.set_len(size)?;
                    f.sync_all()?;
                }
                self.rename_durably(&run_path, &self.photo_path(sha256))?;
                ChunkOutcome::Stored(complete_status(sha256, size))
            } else {
                ChunkOutcome::HashMismatch
            }
        } else {
            let mut whole = Vec::with_capacity(size as usize);
            for index in 0..photo_chunks(size) {
                match last {
                    Some((i, bytes)) if i == index => whole.extend_from_slice(bytes),
                    _ => whole.extend(self.held_chunk(sha256, index, held)?.unwrap_or_default()),
                }
            }
            whole.truncate(size as usize);
            if photo_sha256(&whole) == sha256 {
                self.write_durably(&self.photo_path(sha256), &whole)?;
                ChunkOutcome::Stored(complete_status(sha256, size))
            } else {
                ChunkOutcome::HashMismatch
            }
        };
        self.drop_upload(sha256)?;
        Ok(outcome)
    }

    /// Chunk `index` where `held` says it is: the run's own, or the one apart.
    fn held_chunk(&self, sha256: &str, index: u32, held: &Held) -> io::Result<Option<Vec<u8>>> {
        if index >= held.run {
            return read_if_there(&self.parts_dir(sha256).join(index.to_string()));
        }
        self.run_chunk(sha256, index, held.run_len).map(Some)
    }

    fn drop_upload(&self, sha256: &str) -> io::Result<()> {
        for result in [fs::remove_file(self.run_path(sha256)), fs::remove_dir_all(self.parts_dir(sha256))] {
            match result {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    fn status_of(&self, sha256: &str, size: u64, held: &Held) -> PhotoStatus {
        PhotoStatus { sha256: sha256.to_string(), size, chunks: photo_chunks(size), have: held.have(), complete: false }
    }
}

impl BlobStore for DirBlobStore {
    fn put_chunk(&self, sha256: &str, size: u64, index: u32, bytes: &[u8]) -> io::Result<ChunkOutcome> {
        debug_assert!(is_photo_sha256(sha256));
        let _upload = self.lock(sha256)?;
        if self.photo_path(sha256).exists() {
            // deduplicated: the photo is here whole (another phone, or an earlier upload)
            return Ok(ChunkOutcome::Stored(complete_status(sha256, size)));
        }
        let chunks = photo_chunks(size);
        let mut held = self.held(sha256, size)?;
        if held.holds(index) {
            // sent again (its answer was cut): nothing to write; finish an upload cut after its end
            if held.whole(chunks) {
                return self.complete(sha256, size, &held, None);
            }
            return Ok(ChunkOutcome::Stored(self.status_of(sha256, size, &held)));
        }
        if chunks == 1 || (held.run == 0 && held.apart.len() as u32 + 1 == chunks) {
            // the only chunk missing and no run to extend: written once, inside the whole photo
            return self.complete(sha256, size, &held, Some((index, bytes)));
        }
        if index == held.run {
            self.extend_run(sha256, size, &mut held, bytes)?;
        } else {
            self.write_durably(&self.parts_dir(sha256).join(index.to_string()), bytes)?;
            held.apart.push(index);
            held.apart.sort_unstable();
        }
        if held.whole(chunks) {
            return self.complete(sha256, size, &held, None);
        }
        Ok(ChunkOutcome::Stored(self.status_of(sha256, size, &held)))
    }

    fn status(&self, sha256: &str, size: u64) -> io::Result<PhotoStatus> {
        if self.photo_path(sha256).exists() {
            return Ok(complete_status(sha256, size));
        }
        let held = self.held(sha256, size)?;
        if !held.whole(photo_chunks(size)) {
            return Ok(self.status_of(sha256, size, &held));
        }
        // every chunk is here and the upload was cut before the photo was kept: keep it now
        let _upload = self.lock(sha256)?;
        if self.photo_path(sha256).exists() {
            return Ok(complete_status(sha256, size));
        }
        let held = self.held(sha256, size)?;
        if held.whole(photo_chunks(size)) {
            if let ChunkOutcome::Stored(status) = self.complete(sha256, size, &held, None)? {
                return Ok(status);
            }
        }
        // another request dropped or changed the upload meanwhile: what is held now
        Ok(self.status_of(sha256, size, &self.held(sha256, size)?))
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
    fn chunks_in_order_are_one_run_renamed_into_the_photo() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirBlobStore::open(dir.path()).unwrap();
        let photo = bytes(PHOTO_CHUNK_BYTES * 2 + 77);
        let (sha, size) = (photo_sha256(&photo), photo.len() as u64);
        let chunk = |i: usize| &photo[i * PHOTO_CHUNK_BYTES..((i + 1) * PHOTO_CHUNK_BYTES).min(photo.len())];
        let run = dir.path().join("parts").join(format!("{sha}.run"));
        stored(store.put_chunk(&sha, size, 0, chunk(0)).unwrap());
        stored(store.put_chunk(&sha, size, 1, chunk(1)).unwrap());
        assert_eq!(fs::metadata(&run).unwrap().len(), 2 * PHOTO_CHUNK_BYTES as u64, "two chunks, one file");
        assert!(!dir.path().join("parts").join(&sha).exists(), "no chunk file of its own");
        assert_eq!(store.chunks_under_way().unwrap().iter().map(|c| c.1).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(store.chunk(&sha, 1).unwrap().as_deref(), Some(chunk(1)));
        let s = stored(store.put_chunk(&sha, size, 2, chunk(2)).unwrap());
        assert!(s.complete);
        assert_eq!(store.photo(&sha).unwrap(), Some(photo));
        assert!(!run.exists(), "the run became the photo");
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0, "the photo was not written again");
        assert_eq!(fs::read_dir(dir.path().join("parts")).unwrap().count(), 0);
    }

    #[test]
    fn a_cut_append_is_not_counted_and_is_written_over() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirBlobStore::open(dir.path()).unwrap();
        let photo = bytes(PHOTO_CHUNK_BYTES * 2 + 5);
        let (sha, size) = (photo_sha256(&photo), photo.len() as u64);
        stored(store.put_chunk(&sha, size, 0, &photo[..PHOTO_CHUNK_BYTES]).unwrap());
        // the server was killed while appending chunk 1: half of it, with wrong bytes, on disk
        let run = dir.path().join("parts").join(format!("{sha}.run"));
        let mut f = OpenOptions::new().append(true).open(&run).unwrap();
        f.write_all(&vec![0xEE; PHOTO_CHUNK_BYTES / 2]).unwrap();
        drop(f);
        assert_eq!(store.status(&sha, size).unwrap().missing(), vec![1, 2]);
        let s = stored(store.put_chunk(&sha, size, 1, &photo[PHOTO_CHUNK_BYTES..2 * PHOTO_CHUNK_BYTES]).unwrap());
        assert_eq!(s.missing(), vec![2]);
        assert_eq!(fs::metadata(&run).unwrap().len(), 2 * PHOTO_CHUNK_BYTES as u64, "the tail went");
        assert!(stored(store.put_chunk(&sha, size, 2, &photo[2 * PHOTO_CHUNK_BYTES..]).unwrap()).complete);
        assert_eq!(store.photo(&sha).unwrap(), Some(photo));
    }

    #[test]
    fn an_upload_cut_after_its_last_chunk_is_kept_when_asked_about() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirBlobStore::open(dir.path()).unwrap();
        let photo = bytes(PHOTO_CHUNK_BYTES + 9);
        let (sha, size) = (photo_sha256(&photo), photo.len() as u64);
        // killed between the last append and the rename: the run holds the whole photo
        fs::write(dir.path().join("parts").join(format!("{sha}.run")), &photo).unwrap();
        let s = store.status(&sha, size).unwrap();
        assert!(s.complete, "{s:?}");
        assert_eq!(store.photo(&sha).unwrap(), Some(photo.clone()));
        // and a run whose bytes are not the photo's is dropped, the phone asked for every chunk
        let wrong = bytes(PHOTO_CHUNK_BYTES + 10);
        let other = photo_sha256(b"not these bytes");
        fs::write(dir.path().join("parts").join(format!("{other}.run")), &wrong).unwrap();
        assert_eq!(store.status(&other, wrong.len() as u64).unwrap().missing(), vec![0, 1]);
        assert_eq!(fs::read_dir(dir.path().join("parts")).unwrap().count(), 0);
    }

    #[test]
    fn chunks_stored_one_file_each_before_the_run_still_make_the_photo() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirBlobStore::open(dir.path()).unwrap();
        let photo = bytes(PHOTO_CHUNK_BYTES * 2 + 3);
        let (sha, size) = (photo_sha256(&photo), photo.len() as u64);
        // an upload under way when the server was upgraded: chunks 0 and 1 in files of their own
        let parts = dir.path().join("parts").join(&sha);
        fs::create_dir_all(&parts).unwrap();
        fs::write(parts.join("0"), &photo[..PHOTO_CHUNK_BYTES]).unwrap();
        fs::write(parts.join("1"), &photo[PHOTO_CHUNK_BYTES..2 * PHOTO_CHUNK_BYTES]).unwrap();
        assert_eq!(store.status(&sha, size).unwrap().missing(), vec![2]);
        assert!(stored(store.put_chunk(&sha, size, 2, &photo[2 * PHOTO_CHUNK_BYTES..]).unwrap()).complete);
        assert_eq!(store.photo(&sha).unwrap(), Some(photo));
        assert_eq!(fs::read_dir(dir.path().join("parts")).unwrap().count(), 0);
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
