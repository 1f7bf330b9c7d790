//! Photos kept on the phone, inside the store's own database: a photo waiting to upload and a
//! photo fetched for viewing are rows of chunks in `photo_chunks`, so they are encrypted exactly as
//! the store is (SQLCipher, the store's data key) and a lost phone shows no door or signature.
//!
//! A photo is stored once per SHA-256 (taking the same picture twice keeps one copy), in chunks of
//! [`PHOTO_CHUNK_BYTES`], the unit the upload channel sends, so a chunk is read straight from its
//! row. `origin` says why it is here: `taken` on this phone (kept until uploaded, then for the
//! server's number of days) or `fetched` from the server for viewing (a cache, trimmed by size).

use rusqlite::{params, OptionalExtension};

use crate::error::{Error, Result};
use crate::photos::{is_photo_sha256, photo_sha256};
use crate::store::Store;

/// A photo's bytes per chunk, on the phone as on the upload channel: a chunk is sent straight
/// from its row.
pub use crate::sync::wire::PHOTO_CHUNK_BYTES;
/// The largest photo the store keeps (a prepared photo is well under 1 MB; a fetched one is
/// checked against the server's cap before it gets here).
pub const MAX_STORED_PHOTO_BYTES: usize = 8 * 1024 * 1024;

/// The bytes of photos fetched from the server for viewing that a phone keeps (the least recently
/// opened go first beyond it): about 150 prepared photos.
pub const PHOTO_CACHE_MAX_BYTES: u64 = 48 * 1024 * 1024;

/// Why a photo is on the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoOrigin {
    /// Taken here: waits for the upload, then is kept for the policy's days.
    Taken,
    /// Fetched from the server to be viewed: a cache.
    Fetched,
}

impl PhotoOrigin {
    fn as_str(self) -> &'static str {
        match self {
            PhotoOrigin::Taken => "taken",
            PhotoOrigin::Fetched => "fetched",
        }
    }
}

/// A photo taken here and not yet uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingPhoto {
    pub sha256: String,
    pub size: u64,
    pub chunks: u32,
    pub added_at_ms: i64,
    /// A chunk of it may have gone already (`mark_photo_started`): its upload asks the server what
    /// it holds first, where a photo never started sends chunk 0 straight away.
    pub started: bool,
}

/// What trimming removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PhotoTrim {
    pub removed: u32,
    pub bytes_freed: u64,
}

/// Number of chunks of a photo of `size` bytes (at least one: an empty blob is refused anyway).
pub fn chunk_count(size: usize) -> u32 {
    size.div_ceil(PHOTO_CHUNK_BYTES).max(1) as u32
}

fn bad_address(sha256: &str) -> Error {
    Error::Invalid(crate::error::ValidationError::new("sha256", format!("'{sha256}' is not a photo address")))
}

impl Store {
    /// Keeps `bytes` as a photo of `origin` and returns its address. The same bytes kept twice are
    /// one photo; a fetched copy of a photo taken here stays `taken`.
    pub fn keep_photo(&self, bytes: &[u8], origin: PhotoOrigin) -> Result<String> {
        if bytes.is_empty() || bytes.len() > MAX_STORED_PHOTO_BYTES {
            return Err(Error::Invalid(crate::error::ValidationError::new(
                "photo",
                format!("照片大小须在 1 到 {MAX_STORED_PHOTO_BYTES} 字节之间 / a photo must be 1 to {MAX_STORED_PHOTO_BYTES} bytes"),
            )));
        }
        let sha256 = photo_sha256(bytes);
        let now = self.wall_ms();
        self.write(|tx, _| {
            let added = tx
                .prepare_cached(
                    "INSERT INTO photo_blobs (sha256, size, chunks, origin, added_at_ms, opened_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (sha256) DO NOTHING",
                )?
                .execute(params![sha256, bytes.len() as i64, chunk_count(bytes.len()), origin.as_str(), now])?;
            if added == 1 {
                let mut put = tx.prepare_cached("INSERT INTO photo_chunks (sha256, idx, bytes) VALUES (?1, ?2, ?3)")?;
                for (i, chunk) in bytes.chunks(PHOTO_CHUNK_BYTES).enumerate() {
                    put.execute(params![sha256, i as i64, chunk])?;
                }
            } else if origin == PhotoOrigin::Taken {
                // taken here after all (a fetched copy first): it must be uploaded
                tx.prepare_cached("UPDATE photo_blobs SET origin = 'taken' WHERE sha256 = ?1 AND origin = 'fetched'")?
                    .execute([&sha256])?;
            }
            Ok(())
        })?;
        Ok(sha256)
    }

    /// Whether the photo is on this phone.
    pub fn has_photo(&self, sha256: &str) -> Result<bool> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT 1 FROM photo_blobs WHERE sha256 = ?1")?
                .query_row([sha256], |_| Ok(()))
                .optional()?
                .is_some())
        })
    }

    /// The photo's bytes, checked against its address, or `None` when it is not on this phone.
    /// Notes the opening (the cache keeps what was looked at last).
    pub fn photo(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        if !is_photo_sha256(sha256) {
            return Err(bad_address(sha256));
        }
        let now = self.wall_ms();
        let bytes = self.write(|tx, _| {
            let n = tx
                .prepare_cached("UPDATE photo_blobs SET opened_at_ms = ?2 WHERE sha256 = ?1")?
                .execute(params![sha256, now])?;
            if n == 0 {
                return Ok(None);
            }
            let mut stmt = tx.prepare_cached("SELECT bytes FROM photo_chunks WHERE sha256 = ?1 ORDER BY idx")?;
            let mut out = Vec::new();
            for chunk in stmt.query_map([sha256], |r| r.get::<_, Vec<u8>>(0))? {
                out.extend(chunk?);
            }
            Ok(Some(out))
        })?;
        match bytes {
            Some(b) if photo_sha256(&b) != sha256 => {
                Err(Error::Corrupt(format!("the photo {sha256} on this phone does not match its hash")))
            }
            other => Ok(other),
        }
    }

    /// Chunk `index` of a photo (what the upload sends), or `None`.
    pub fn photo_chunk(&self, sha256: &str, index: u32) -> Result<Option<Vec<u8>>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT bytes FROM photo_chunks WHERE sha256 = ?1 AND idx = ?2")?
                .query_row(params![sha256, index], |r| r.get(0))
                .optional()?)
        })
    }

    /// Photos taken here that the server has not confirmed whole, oldest first.
    pub fn photos_waiting(&self) -> Result<Vec<WaitingPhoto>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT sha256, size, chunks, added_at_ms, upload_started_at_ms IS NOT NULL FROM photo_blobs
                 WHERE origin = 'taken' AND uploaded_at_ms IS NULL ORDER BY added_at_ms, sha256",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(WaitingPhoto {
                    sha256: r.get(0)?,
                    size: r.get(1)?,
                    chunks: r.get(2)?,
                    added_at_ms: r.get(3)?,
                    started: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// How many photos wait to upload, and their bytes (the device facts report both).
    pub fn photos_waiting_count(&self) -> Result<(u64, u64)> {
        // kept prepared: every push reports it
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT count(*), coalesce(sum(size), 0) FROM photo_blobs
                 WHERE origin = 'taken' AND uploaded_at_ms IS NULL",
                )?
                .query_row([], |r| Ok((r.get::<_, i64>(0)?.max(0) as u64, r.get::<_, i64>(1)?.max(0) as u64)))?)
        })
    }

    /// Notes, before its first chunk goes, that the upload of a photo began: after any cut its
    /// upload asks the server what it holds instead of sending from chunk 0 again.
    pub fn mark_photo_started(&self, sha256: &str) -> Result<()> {
        self.note_photo_time(
            sha256,
            "UPDATE photo_blobs SET upload_started_at_ms = ?2 WHERE sha256 = ?1 AND upload_started_at_ms IS NULL",
        )
    }

    /// Notes that the server has the photo whole (its hash checked there).
    pub fn mark_photo_uploaded(&self, sha256: &str) -> Result<()> {
        self.note_photo_time(
            sha256,
            "UPDATE photo_blobs SET uploaded_at_ms = ?2 WHERE sha256 = ?1 AND uploaded_at_ms IS NULL",
        )
    }

    /// Runs `sql`, which sets one of a photo's times (?1 its address, ?2 now) where not set yet.
    fn note_photo_time(&self, sha256: &str, sql: &str) -> Result<()> {
        let now = self.wall_ms();
        self.write(|tx, _| {
            tx.prepare_cached(sql)?.execute(params![sha256, now])?;
            Ok(())
        })
    }

    /// `trim_photos` with the days of the server's photo policy (`DevicePolicy::photos`).
    pub fn trim_photos_by_policy(&self, cache_max_bytes: u64) -> Result<PhotoTrim> {
        self.trim_photos(self.policy().photos().keep_days, cache_max_bytes)
    }

    /// Removes uploaded photos older than `keep_days` and, of the fetched cache, the least recently
    /// opened beyond `cache_max_bytes`. A photo still waiting to upload is never removed.
    pub fn trim_photos(&self, keep_days: u32, cache_max_bytes: u64) -> Result<PhotoTrim> {
        let cutoff = self.wall_ms().saturating_sub(i64::from(keep_days) * 86_400_000);
        self.write(|tx, _| {
            let mut gone: Vec<(String, u64)> = Vec::new();
            {
                let mut old = tx.prepare_cached(
                    "SELECT sha256, size FROM photo_blobs WHERE origin = 'taken' AND uploaded_at_ms IS NOT NULL
                     AND uploaded_at_ms < ?1",
                )?;
                for row in old.query_map([cutoff], |r| Ok((r.get(0)?, r.get(1)?)))? {
                    gone.push(row?);
                }
                let mut cache = tx.prepare_cached(
                    "SELECT sha256, size FROM photo_blobs WHERE origin = 'fetched' ORDER BY opened_at_ms DESC, sha256",
                )?;
                let mut kept = 0u64;
                for row in cache.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))? {
                    let (sha, size) = row?;
                    if kept.saturating_add(size) > cache_max_bytes {
                        gone.push((sha, size));
                    } else {
                        kept += size;
                    }
                }
            }
            let mut trim = PhotoTrim::default();
            let mut del_chunks = tx.prepare_cached("DELETE FROM photo_chunks WHERE sha256 = ?1")?;
            let mut del = tx.prepare_cached("DELETE FROM photo_blobs WHERE sha256 = ?1")?;
            for (sha, size) in gone {
                del_chunks.execute([&sha])?;
                del.execute([&sha])?;
                trim.removed += 1;
                trim.bytes_freed += size;
            }
            Ok(trim)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::hlc::WallClock;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    /// A wall clock the test moves.
    #[derive(Clone)]
    struct Manual(Arc<AtomicU64>);
    impl WallClock for Manual {
        fn now_millis(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
    }
    impl Manual {
        fn advance_ms(&self, ms: u64) {
            self.0.fetch_add(ms, Ordering::SeqCst);
        }
    }

    fn bytes(seed: u8, len: usize) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
    }

    #[test]
    fn keeps_photos_in_chunks_once_per_hash() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.db")).unwrap();
        let big = bytes(1, PHOTO_CHUNK_BYTES * 2 + 17);
        let sha = store.keep_photo(&big, PhotoOrigin::Taken).unwrap();
        assert_eq!(sha, photo_sha256(&big));
        assert_eq!(store.keep_photo(&big, PhotoOrigin::Taken).unwrap(), sha, "kept once");
        assert_eq!(store.photo(&sha).unwrap().as_deref(), Some(&big[..]));
        assert_eq!(store.photo_chunk(&sha, 2).unwrap().map(|c| c.len()), Some(17));
        assert_eq!(store.photo_chunk(&sha, 3).unwrap(), None);
        let waiting = store.photos_waiting().unwrap();
        assert_eq!(waiting.len(), 1);
        assert_eq!((waiting[0].size, waiting[0].chunks, waiting[0].started), (big.len() as u64, 3, false));
        // started once, it stays started: its upload asks the server first from then on
        store.mark_photo_started(&sha).unwrap();
        store.mark_photo_started(&sha).unwrap();
        assert!(store.photos_waiting().unwrap()[0].started);
        let rows: i64 =
            store.read(|c| Ok(c.query_row("SELECT count(*) FROM photo_chunks", [], |r| r.get(0))?)).unwrap();
        assert_eq!(rows, 3, "no chunk stored twice");

        // A fetched photo is a cache, never waiting; a missing one is None; a bad address refused.
        let other = store.keep_photo(&bytes(2, 1000), PhotoOrigin::Fetched).unwrap();
        assert_eq!(store.photos_waiting().unwrap().len(), 1);
        assert!(store.has_photo(&other).unwrap());
        assert_eq!(store.photo(&photo_sha256(b"absent")).unwrap(), None);
        assert!(matches!(store.photo("../x"), Err(Error::Invalid(_))));
        assert!(matches!(store.keep_photo(&[], PhotoOrigin::Taken), Err(Error::Invalid(_))));

        store.mark_photo_uploaded(&sha).unwrap();
        assert!(store.photos_waiting().unwrap().is_empty());
    }

    #[test]
    fn a_damaged_chunk_is_caught_by_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.db")).unwrap();
        let sha = store.keep_photo(&bytes(3, 5000), PhotoOrigin::Taken).unwrap();
        store
            .write(|tx, _| {
                tx.execute("UPDATE photo_chunks SET bytes = x'00' WHERE sha256 = ?1", [&sha])?;
                Ok(())
            })
            .unwrap();
        assert!(matches!(store.photo(&sha), Err(Error::Corrupt(_))));
    }

    #[test]
    fn trimming_keeps_what_waits_and_what_was_opened_last() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Manual(Arc::new(AtomicU64::new(1_800_000_000_000)));
        let store = Store::open_with_clock(dir.path().join("s.db"), Box::new(clock.clone())).unwrap();
        let waiting = store.keep_photo(&bytes(4, 3000), PhotoOrigin::Taken).unwrap();
        let uploaded = store.keep_photo(&bytes(5, 3000), PhotoOrigin::Taken).unwrap();
        store.mark_photo_uploaded(&uploaded).unwrap();
        let cached: Vec<String> =
            (0..3).map(|i| store.keep_photo(&bytes(10 + i, 1000), PhotoOrigin::Fetched).unwrap()).collect();
        clock.advance_ms(1_000);
        store.photo(&cached[0]).unwrap();
        // Within the days kept: only the cache over 2000 bytes goes (the least recently opened).
        let trim = store.trim_photos(7, 2_000).unwrap();
        assert_eq!(trim, PhotoTrim { removed: 1, bytes_freed: 1000 });
        assert!(store.has_photo(&cached[0]).unwrap(), "opened last, kept");
        assert!(store.has_photo(&uploaded).unwrap());
        // Eight days on: the uploaded photo goes too, the waiting one never.
        clock.advance_ms(8 * 86_400_000);
        let trim = store.trim_photos(7, 2_000).unwrap();
        assert_eq!(trim.removed, 1);
        assert!(!store.has_photo(&uploaded).unwrap());
        assert!(store.has_photo(&waiting).unwrap());
        assert_eq!(store.photos_waiting().unwrap().len(), 1);
    }

    #[test]
    fn the_servers_policy_sets_the_days_an_uploaded_photo_stays() {
        use crate::sync::wire::{DevicePolicy, PhotoPolicy};
        let dir = tempfile::tempdir().unwrap();
        let clock = Manual(Arc::new(AtomicU64::new(1_800_000_000_000)));
        let store = Store::open_with_clock(dir.path().join("s.db"), Box::new(clock.clone())).unwrap();
        let uploaded = store.keep_photo(&bytes(6, 2000), PhotoOrigin::Taken).unwrap();
        store.mark_photo_uploaded(&uploaded).unwrap();
        let photos = PhotoPolicy { keep_days: 2, ..PhotoPolicy::default() };
        store.meet_policy(Some(&DevicePolicy { photos: Some(photos), ..DevicePolicy::default() })).unwrap();
        // three days on: past the server's two, though within the default seven
        clock.advance_ms(3 * 86_400_000);
        assert_eq!(store.trim_photos_by_policy(u64::MAX).unwrap().removed, 1);
        assert!(!store.has_photo(&uploaded).unwrap());
        // a server sending more than a year of days is read as a year
        let long = PhotoPolicy { keep_days: u32::MAX, ..photos };
        store.meet_policy(Some(&DevicePolicy { photos: Some(long), ..DevicePolicy::default() })).unwrap();
        assert_eq!(store.policy().photos().keep_days, DevicePolicy::MAX_DAYS);
    }

    #[test]
    fn waiting_photos_are_counted_with_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.db")).unwrap();
        assert_eq!(store.photos_waiting_count().unwrap(), (0, 0));
        let a = store.keep_photo(&bytes(7, 3000), PhotoOrigin::Taken).unwrap();
        store.keep_photo(&bytes(8, 1500), PhotoOrigin::Taken).unwrap();
        store.keep_photo(&bytes(9, 999), PhotoOrigin::Fetched).unwrap();
        assert_eq!(store.photos_waiting_count().unwrap(), (2, 4500));
        store.mark_photo_uploaded(&a).unwrap();
        assert_eq!(store.photos_waiting_count().unwrap(), (1, 1500));
    }
}
