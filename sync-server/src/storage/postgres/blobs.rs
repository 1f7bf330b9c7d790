//! `BlobStore` on PostgreSQL (migration 9): the chunks of uploads under way in `photo_chunks`, whole
//! photos in `photo_blobs`, so every replica sees the same upload and a phone resumes wherever its
//! next chunk lands. A chunk is acknowledged after its statement committed (durable: PostgreSQL
//! commits synchronously); a chunk sent again, to this replica or another, is not written again.
//! The photo is put together under the chunks' row locks, so two replicas receiving the last two
//! chunks at once keep it once; it counts as arrived only when its bytes hash to its address.

use std::io;
use std::sync::Arc;

use deadpool_postgres::GenericClient;
use gridbook_core::photos::photo_sha256;
use gridbook_core::sync::wire::{photo_chunks, PhotoStatus};

use super::pool::{Db, RowExt};
use crate::storage::blobs::{chunk_len, complete_status, BlobStore, ChunkOutcome};
use crate::storage::error::{StorageError, StorageResult};

pub struct PgBlobStore {
    db: Arc<Db>,
}

impl PgBlobStore {
    pub(super) fn new(db: Arc<Db>) -> Self {
        Self { db }
    }

    fn whole<C: GenericClient + Sync>(&self, c: &C, sha256: &str) -> StorageResult<bool> {
        Ok(self.db.query_opt(c, "SELECT 1 FROM photo_blobs WHERE sha256 = $1", &[&sha256])?.is_some())
    }

    /// The chunk indices held at the right length for `size` (a chunk of another declared size is
    /// not counted, as in the directory store).
    fn have<C: GenericClient + Sync>(&self, c: &C, sha256: &str, size: u64) -> StorageResult<Vec<u32>> {
        let rows = self.db.query(
            c,
            "SELECT idx, octet_length(bytes) FROM photo_chunks WHERE sha256 = $1 ORDER BY idx",
            &[&sha256],
        )?;
        let mut have = Vec::with_capacity(rows.len());
        for r in rows {
            let (idx, len): (i32, i32) = (r.at(0)?, r.at(1)?);
            let Ok(idx) = u32::try_from(idx) else { continue };
            if chunk_len(size, idx) == usize::try_from(len).ok() {
                have.push(idx);
            }
        }
        Ok(have)
    }

    /// Every chunk seems here: put them together under their row locks, check the hash, keep the
    /// photo, drop the chunks. Another replica that did it first leaves no rows: the photo is whole.
    fn assemble(&self, sha256: &str, size: u64) -> StorageResult<ChunkOutcome> {
        let db = &*self.db;
        db.write(|tx| {
            let rows = db.query(
                tx,
                "SELECT idx, bytes FROM photo_chunks WHERE sha256 = $1 ORDER BY idx FOR UPDATE",
                &[&sha256],
            )?;
            let mut whole = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            let mut next = 0u32;
            for r in &rows {
                let (idx, bytes): (i32, Vec<u8>) = (r.at(0)?, r.at(1)?);
                if u32::try_from(idx).ok() == Some(next) && chunk_len(size, next) == Some(bytes.len()) {
                    whole.extend_from_slice(&bytes);
                    next += 1;
                }
            }
            if next != photo_chunks(size) {
                if self.whole(tx, sha256)? {
                    return Ok(ChunkOutcome::Stored(complete_status(sha256, size)));
                }
                let have = self.have(tx, sha256, size)?;
                return Ok(ChunkOutcome::Stored(PhotoStatus {
                    sha256: sha256.to_string(),
                    size,
                    chunks: photo_chunks(size),
                    have,
                    complete: false,
                }));
            }
            let outcome = if photo_sha256(&whole) == sha256 {
                db.execute(
                    tx,
                    "INSERT INTO photo_blobs (sha256, size, bytes, arrived_at_ms) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (sha256) DO NOTHING",
                    &[&sha256, &i64::try_from(size).unwrap_or(i64::MAX), &whole, &crate::now_ms()],
                )?;
                ChunkOutcome::Stored(complete_status(sha256, size))
            } else {
                ChunkOutcome::HashMismatch
            };
            db.execute(tx, "DELETE FROM photo_chunks WHERE sha256 = $1", &[&sha256])?;
            Ok(outcome)
        })
    }

    fn put(&self, sha256: &str, size: u64, index: u32, bytes: &[u8]) -> StorageResult<ChunkOutcome> {
        let db = &*self.db;
        let conn = db.conn()?;
        if self.whole(&conn, sha256)? {
            // deduplicated: the photo is here whole (another phone, or an earlier upload)
            return Ok(ChunkOutcome::Stored(complete_status(sha256, size)));
        }
        let idx = i32::try_from(index).map_err(|_| StorageError::invalid(format!("chunk index {index}")))?;
        // one statement, committed before the answer; a chunk held at this length is kept as it is
        db.execute(
            &conn,
            "INSERT INTO photo_chunks (sha256, idx, bytes) VALUES ($1, $2, $3)
             ON CONFLICT (sha256, idx) DO UPDATE SET bytes = excluded.bytes
             WHERE octet_length(photo_chunks.bytes) <> octet_length(excluded.bytes)",
            &[&sha256, &idx, &bytes],
        )?;
        let have = self.have(&conn, sha256, size)?;
        drop(conn);
        let chunks = photo_chunks(size);
        if have.len() as u32 == chunks {
            return self.assemble(sha256, size);
        }
        Ok(ChunkOutcome::Stored(PhotoStatus { sha256: sha256.to_string(), size, chunks, have, complete: false }))
    }

    fn get_status(&self, sha256: &str, size: u64) -> StorageResult<PhotoStatus> {
        let conn = self.db.conn()?;
        if self.whole(&conn, sha256)? {
            return Ok(complete_status(sha256, size));
        }
        let have = self.have(&conn, sha256, size)?;
        Ok(PhotoStatus { sha256: sha256.to_string(), size, chunks: photo_chunks(size), have, complete: false })
    }

    fn column(&self, sql: &str, sha256: &str) -> StorageResult<Option<Vec<u8>>> {
        let conn = self.db.conn()?;
        match self.db.query_opt(&conn, sql, &[&sha256])? {
            Some(r) => r.at::<Option<Vec<u8>>>(0),
            None => Ok(None),
        }
    }
}

fn io_error(e: StorageError) -> io::Error {
    io::Error::other(e.to_string())
}

impl BlobStore for PgBlobStore {
    fn put_chunk(&self, sha256: &str, size: u64, index: u32, bytes: &[u8]) -> io::Result<ChunkOutcome> {
        self.put(sha256, size, index, bytes).map_err(io_error)
    }

    fn status(&self, sha256: &str, size: u64) -> io::Result<PhotoStatus> {
        self.get_status(sha256, size).map_err(io_error)
    }

    fn photo(&self, sha256: &str) -> io::Result<Option<Vec<u8>>> {
        self.column("SELECT bytes FROM photo_blobs WHERE sha256 = $1", sha256).map_err(io_error)
    }

    fn has_photo(&self, sha256: &str) -> io::Result<bool> {
        let conn = self.db.conn().map_err(io_error)?;
        self.whole(&conn, sha256).map_err(io_error)
    }

    fn photo_size(&self, sha256: &str) -> io::Result<Option<u64>> {
        let conn = self.db.conn().map_err(io_error)?;
        let row =
            self.db.query_opt(&conn, "SELECT size FROM photo_blobs WHERE sha256 = $1", &[&sha256]).map_err(io_error)?;
        match row {
            Some(r) => Ok(u64::try_from(r.at::<i64>(0).map_err(io_error)?).ok()),
            None => Ok(None),
        }
    }

    fn thumbnail(&self, sha256: &str) -> io::Result<Option<Vec<u8>>> {
        self.column("SELECT thumbnail FROM photo_blobs WHERE sha256 = $1", sha256).map_err(io_error)
    }

    fn put_thumbnail(&self, sha256: &str, bytes: &[u8]) -> io::Result<()> {
        let conn = self.db.conn().map_err(io_error)?;
        self.db
            .execute(&conn, "UPDATE photo_blobs SET thumbnail = $2 WHERE sha256 = $1", &[&sha256, &bytes])
            .map_err(io_error)?;
        Ok(())
    }
}
