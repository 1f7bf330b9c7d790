//! Sealing a plain SQLite file into an encrypted store's format page by page, without SQLite:
//! the snapshot file a fresh phone downloads becomes its store in one pass over the file, instead
//! of `sqlcipher_export` re-inserting every row and rebuilding every index.
//!
//! The format is SQLCipher 4's (what `cipher_provider` seals through SQLCipher itself, and what
//! SQLCipher with either provider opens): a random 16-byte salt in place of page 1's first 16
//! bytes; each page's content encrypted with AES-256-CBC under the raw data key and a fresh IV;
//! the IV and an HMAC-SHA256 of (ciphertext ‖ IV ‖ page number, little-endian) in the 48 bytes the
//! file keeps free at the end of every page; the HMAC key derived from the data key by two rounds
//! of PBKDF2-HMAC-SHA512 over the salt XOR 0x3a. The server builds snapshot files with those 48
//! bytes free (`snapshot_file::reserve_sealing_bytes`); a file without them is not sealed here.

use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::store::cipher_provider;
use crate::store::encryption::{DataKey, PAGE_BYTES, SEALING_RESERVE_BYTES as RESERVE_BYTES};

const SALT_BYTES: usize = 16;
const IV_BYTES: usize = 16;
/// SQLCipher's fixed mask between the key's salt and the HMAC key's salt.
const HMAC_SALT_MASK: u8 = 0x3a;
/// SQLCipher's PBKDF2 rounds for the HMAC key (`FAST_PBKDF2_ITER`).
const HMAC_KEY_ROUNDS: u32 = 2;
/// Pages read, sealed and written at a time by each thread (1 MiB): memory stays bounded whatever
/// the file.
const PAGES_PER_BATCH: usize = 256;
/// Threads sealing at once, at most.
const MAX_THREADS: usize = 4;

fn failed(what: &str) -> Error {
    Error::SnapshotFile(format!("sealing the file page by page failed: {what}"))
}

/// Writes the plain SQLite file at `plain` (pages of [`PAGE_BYTES`] with [`RESERVE_BYTES`] free)
/// as a new encrypted store file at `sealed` under `key`, and syncs it. The caller checks the
/// layout first; a file of another length is refused.
pub fn seal_file(plain: &Path, sealed: &Path, key: &DataKey) -> Result<()> {
    let io = |what: &'static str| move |e: std::io::Error| failed(&format!("{what}: {e}"));
    let input = std::fs::File::open(plain).map_err(io("opening the plain file"))?;
    let len = input.metadata().map_err(io("reading its size"))?.len();
    if len == 0 || len % PAGE_BYTES as u64 != 0 {
        return Err(failed(&format!("its size {len} is not a whole number of {PAGE_BYTES}-byte pages")));
    }
    let mut salt = [0u8; SALT_BYTES];
    cipher_provider::fill_random(&mut salt).ok_or_else(|| failed("no random salt"))?;
    let mut hmac_salt = salt;
    hmac_salt.iter_mut().for_each(|b| *b ^= HMAC_SALT_MASK);
    let mut hmac_key = Zeroizing::new([0u8; 32]);
    cipher_provider::pbkdf2_sha512(key.as_bytes(), &hmac_salt, HMAC_KEY_ROUNDS, &mut hmac_key[..])
        .ok_or_else(|| failed("deriving the HMAC key"))?;
    let output = std::fs::File::create(sealed).map_err(io("creating the sealed file"))?;
    output.set_len(len).map_err(io("sizing the sealed file"))?;
    // Pages are sealed independently: the file is cut into one run of pages per core (phones have
    // 4–8), each read, sealed and written at its own offset by its own thread.
    let pages = len / PAGE_BYTES as u64;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_THREADS) as u64;
    let per_thread = pages.div_ceil(threads.max(1));
    let (input, output, hmac_key, salt) = (&input, &output, &hmac_key[..], &salt[..]);
    let results: Vec<Result<()>> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..threads)
            .map(|t| (t * per_thread, ((t + 1) * per_thread).min(pages)))
            .filter(|(first, end)| first < end)
            .map(|(first, end)| scope.spawn(move || seal_run(input, output, first, end, key, hmac_key, salt)))
            .collect();
        runs.into_iter().map(|run| run.join().unwrap_or_else(|_| Err(failed("a sealing thread stopped")))).collect()
    });
    results.into_iter().collect::<Result<Vec<()>>>()?;
    output.sync_all().map_err(io("syncing the sealed file"))
}

/// Seals pages [first, end) (0-based) of `input` into the same places of `output`.
fn seal_run(
    input: &std::fs::File,
    output: &std::fs::File,
    first: u64,
    end: u64,
    key: &DataKey,
    hmac_key: &[u8],
    salt: &[u8],
) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let io = |what: &'static str| move |e: std::io::Error| failed(&format!("{what}: {e}"));
    let mut plain_pages = Zeroizing::new(vec![0u8; PAGE_BYTES * PAGES_PER_BATCH]);
    let mut sealed_pages = vec![0u8; PAGE_BYTES * PAGES_PER_BATCH];
    let mut at = first;
    while at < end {
        let count = (end - at).min(PAGES_PER_BATCH as u64);
        let n = usize::try_from(count).map_err(|_| failed("size"))? * PAGE_BYTES;
        let offset = at * PAGE_BYTES as u64;
        input.read_exact_at(&mut plain_pages[..n], offset).map_err(io("reading the plain file"))?;
        for (i, (page, out)) in
            plain_pages[..n].chunks_exact(PAGE_BYTES).zip(sealed_pages.chunks_exact_mut(PAGE_BYTES)).enumerate()
        {
            let pgno = u32::try_from(at + i as u64 + 1).map_err(|_| failed("too many pages"))?;
            seal_page(page, out, pgno, key, hmac_key, salt)?;
        }
        output.write_all_at(&sealed_pages[..n], offset).map_err(io("writing the sealed file"))?;
        at += count;
    }
    Ok(())
}

/// One page: `out` is the sealed form of `page`, number `pgno` (1-based).
fn seal_page(page: &[u8], out: &mut [u8], pgno: u32, key: &DataKey, hmac_key: &[u8], salt: &[u8]) -> Result<()> {
    // page 1's first 16 bytes ("SQLite format 3\0") are not sealed: the salt takes their place
    let start = if pgno == 1 { SALT_BYTES } else { 0 };
    let content_end = PAGE_BYTES - RESERVE_BYTES;
    // the reserve: the IV, then the HMAC of (ciphertext ‖ IV ‖ page number)
    let hmac_at = content_end + IV_BYTES;
    let mut iv = [0u8; IV_BYTES];
    cipher_provider::fill_random(&mut iv).ok_or_else(|| failed("no random IV"))?;
    out[content_end..hmac_at].copy_from_slice(&iv);
    cipher_provider::cbc_encrypt(key.as_bytes(), &iv, &page[start..content_end], &mut out[start..content_end])
        .ok_or_else(|| failed("AES"))?;
    let (sealed, mac) = out.split_at_mut(hmac_at);
    cipher_provider::hmac_sha256(hmac_key, &[&sealed[start..], &pgno.to_le_bytes()], mac)
        .ok_or_else(|| failed("HMAC"))?;
    if pgno == 1 {
        out[..SALT_BYTES].copy_from_slice(salt);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// A plain file with the room, sealed here, opens with SQLCipher under the key — whichever
    /// provider SQLCipher runs — and every page's HMAC verifies; a wrong key reads nothing, and
    /// nothing of the content is left in the clear.
    #[test]
    fn a_file_sealed_page_by_page_is_a_sqlcipher_store_under_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.db");
        let sealed = dir.path().join("sealed.db");
        {
            let conn = Connection::open(&plain).unwrap();
            crate::sync::snapshot_file::reserve_sealing_bytes(&conn).unwrap();
            conn.execute("VACUUM", []).unwrap();
            conn.execute_batch(
                "BEGIN; CREATE TABLE household (id INTEGER PRIMARY KEY, name TEXT);
                 CREATE INDEX household_name ON household (name);
                 CREATE VIRTUAL TABLE search USING fts5(name, tokenize = 'trigram');",
            )
            .unwrap();
            for i in 0..3_000 {
                let name = format!("欧阳秀英 {i} {}", "x".repeat(i % 200));
                conn.execute("INSERT INTO household (name) VALUES (?1)", [&name]).unwrap();
                conn.execute("INSERT INTO search (name) VALUES (?1)", [&name]).unwrap();
            }
            conn.execute_batch("COMMIT; PRAGMA user_version = 7;").unwrap();
        }
        let header = std::fs::read(&plain).unwrap();
        assert_eq!(usize::from(header[20]), RESERVE_BYTES, "the plain file keeps the room");
        let key = DataKey::random().unwrap();
        seal_file(&plain, &sealed, &key).unwrap();
        let bytes = std::fs::read(&sealed).unwrap();
        assert_eq!(bytes.len(), header.len());
        assert!(!bytes.windows("欧阳秀英".len()).any(|w| w == "欧阳秀英".as_bytes()));
        assert!(!bytes.starts_with(b"SQLite format 3"));
        let open = |key: &DataKey| {
            let conn = Connection::open(&sealed).unwrap();
            crate::store::encryption::apply_key(&conn, key, crate::store::encryption::PAGE_HMAC).unwrap();
            conn
        };
        let check = |conn: &Connection| {
            let rows: i64 = conn.query_row("SELECT count(*) FROM household", [], |r| r.get(0)).unwrap();
            let found: i64 =
                conn.query_row("SELECT count(*) FROM search WHERE name MATCH '秀英 2999'", [], |r| r.get(0)).unwrap();
            let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
            let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
            let bad_pages =
                conn.prepare("PRAGMA cipher_integrity_check").unwrap().query_map([], |_| Ok(())).unwrap().count();
            (rows, found, version, integrity, bad_pages)
        };
        let expected = (3_000, 1, 7, "ok".to_string(), 0);
        assert_eq!(check(&open(&key)), expected);
        cipher_provider::use_openssl_provider();
        assert_eq!(check(&open(&key)), expected, "SQLCipher's own provider reads it too");
        cipher_provider::use_rust_provider();
        // and it takes writes as any store does
        let conn = open(&key);
        conn.execute("INSERT INTO household (name) VALUES ('张三')", []).unwrap();
        drop(conn);
        assert_eq!(check(&open(&key)).0, 3_001);
        let wrong = open(&DataKey::random().unwrap());
        assert!(wrong.query_row("SELECT count(*) FROM household", [], |r| r.get::<_, i64>(0)).is_err());
    }

    #[test]
    fn a_file_that_is_not_whole_pages_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("short.db");
        std::fs::write(&plain, vec![0u8; PAGE_BYTES + 10]).unwrap();
        let err = seal_file(&plain, &dir.path().join("out.db"), &DataKey::random().unwrap()).unwrap_err();
        assert!(err.to_string().contains("whole number"), "{err}");
    }
}
