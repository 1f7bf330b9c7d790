//! The crypto under SQLCipher's page sealing, done in Rust: AES-256-CBC, HMAC-SHA256/512, PBKDF2
//! and the IV source, registered as SQLCipher's crypto provider before any store is keyed.
//!
//! Why: every commit seals each page it writes, so this is on the path of every visit recorded.
//! SQLCipher's OpenSSL 3 provider fetches the HMAC algorithm by name, builds a MAC and a cipher
//! context and takes a global lock for the IV on every page — ~15 µs of a 4 KiB page's sealing
//! here, when the AES and SHA-256 work itself is ~3 µs with AES-NI / SHA-NI (ARMv8's crypto
//! extensions on phones). The format is SQLCipher 4's own, byte for byte: a store written by
//! either provider opens with the other (tests below switch between them in one process).
//!
//! The provider table is SQLCipher 4.6's `sqlcipher_provider` (rusqlite and so libsqlite3-sys
//! are pinned in the workspace; a bump must re-check its layout). SQLCipher frees the registered
//! table with `sqlite3_free` when its last keyed connection closes and then falls back to its
//! default; so the table is allocated with `sqlite3_malloc`, and one keyed in-memory connection is
//! kept open for the life of the process, so that the count of keyed connections never drops to
//! zero and the registration stays.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_uchar, c_void};
use std::sync::OnceLock;

use aes::cipher::{block_padding::NoPadding, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rusqlite::Connection;
use sha2::{Sha256, Sha512};

/// The name `PRAGMA cipher_provider` reports for stores sealed through this module.
#[cfg(test)]
pub(crate) const PROVIDER_NAME: &str = "gridbook-rustcrypto";
const PROVIDER_NAME_C: &[u8] = b"gridbook-rustcrypto\0";
const PROVIDER_VERSION_C: &[u8] = b"aes 0.8, sha2 0.10, hmac 0.12\0";
const CIPHER_NAME_C: &[u8] = b"AES-256-CBC\0";

const SQLITE_OK: c_int = 0;
const SQLITE_ERROR: c_int = 1;
// SQLCipher's algorithm numbers, for both its page HMAC and its PBKDF2.
const SHA256: c_int = 1;
const SHA512: c_int = 2;
const KEY_BYTES: c_int = 32;
const BLOCK_BYTES: c_int = 16;

/// SQLCipher 4.6's `sqlcipher_provider`, field for field.
#[repr(C)]
struct Provider {
    activate: unsafe extern "C" fn(*mut c_void) -> c_int,
    deactivate: unsafe extern "C" fn(*mut c_void) -> c_int,
    get_provider_name: unsafe extern "C" fn(*mut c_void) -> *const c_char,
    add_random: unsafe extern "C" fn(*mut c_void, *mut c_void, c_int) -> c_int,
    random: unsafe extern "C" fn(*mut c_void, *mut c_void, c_int) -> c_int,
    hmac: unsafe extern "C" fn(
        *mut c_void,
        c_int,
        *mut c_uchar,
        c_int,
        *mut c_uchar,
        c_int,
        *mut c_uchar,
        c_int,
        *mut c_uchar,
    ) -> c_int,
    kdf: unsafe extern "C" fn(
        *mut c_void,
        c_int,
        *const c_uchar,
        c_int,
        *mut c_uchar,
        c_int,
        c_int,
        c_int,
        *mut c_uchar,
    ) -> c_int,
    cipher: unsafe extern "C" fn(
        *mut c_void,
        c_int,
        *mut c_uchar,
        c_int,
        *mut c_uchar,
        *mut c_uchar,
        c_int,
        *mut c_uchar,
    ) -> c_int,
    get_cipher: unsafe extern "C" fn(*mut c_void) -> *const c_char,
    get_key_sz: unsafe extern "C" fn(*mut c_void) -> c_int,
    get_iv_sz: unsafe extern "C" fn(*mut c_void) -> c_int,
    get_block_sz: unsafe extern "C" fn(*mut c_void) -> c_int,
    get_hmac_sz: unsafe extern "C" fn(*mut c_void, c_int) -> c_int,
    ctx_init: unsafe extern "C" fn(*mut *mut c_void) -> c_int,
    ctx_free: unsafe extern "C" fn(*mut *mut c_void) -> c_int,
    fips_status: unsafe extern "C" fn(*mut c_void) -> c_int,
    get_provider_version: unsafe extern "C" fn(*mut c_void) -> *const c_char,
}

extern "C" {
    fn sqlcipher_register_provider(p: *mut Provider) -> c_int;
    #[cfg(test)]
    fn sqlcipher_get_provider() -> *mut Provider;
    #[cfg(any(test, feature = "testing"))]
    fn sqlcipher_openssl_setup(p: *mut Provider) -> c_int;
}

/// Registers the provider once per process and keeps it registered (see the module's note).
/// Called before any connection of a store is keyed; cheap after the first call. When the
/// registration cannot be made (no memory) SQLCipher keeps its own provider: same format, slower.
pub(crate) fn install() {
    static PINNED: OnceLock<Option<PinnedConnection>> = OnceLock::new();
    PINNED.get_or_init(|| {
        // SAFETY: the table is written whole before SQLCipher sees it, allocated with SQLite's
        // allocator because SQLCipher frees a replaced or released table with `sqlite3_free`.
        unsafe {
            let table = rusqlite::ffi::sqlite3_malloc(std::mem::size_of::<Provider>() as c_int).cast::<Provider>();
            if table.is_null() {
                return None;
            }
            table.write(provider());
            sqlcipher_register_provider(table);
        }
        PinnedConnection::open()
    });
}

/// The keyed in-memory connection that keeps SQLCipher activated (never closed: leaked with the
/// process). `Connection` is `Send` but not `Sync`; it is never used after keying.
struct PinnedConnection(#[allow(dead_code)] std::sync::Mutex<Connection>);

impl PinnedConnection {
    fn open() -> Option<Self> {
        let conn = Connection::open_in_memory().ok()?;
        conn.pragma_update(None, "key", "x'0000000000000000000000000000000000000000000000000000000000000000'").ok()?;
        // keying is lazy: the first read attaches the codec (and so activates SQLCipher)
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0)).ok()?;
        Some(Self(std::sync::Mutex::new(conn)))
    }
}

/// Which provider SQLCipher now seals with (`PRAGMA cipher_provider` on a keyed connection).
#[cfg(test)]
pub(crate) fn current_name() -> String {
    // SAFETY: the table registered is alive while SQLCipher is activated (pinned by `install`).
    unsafe {
        let p = sqlcipher_get_provider();
        if p.is_null() {
            return String::new();
        }
        std::ffi::CStr::from_ptr(((*p).get_provider_name)(std::ptr::null_mut())).to_string_lossy().into_owned()
    }
}

/// Registers SQLCipher's own OpenSSL provider in this module's place, for connections keyed from
/// now on (tests: a store written by one provider must open with the other; benchmarks: the two
/// compared in one run).
#[cfg(any(test, feature = "testing"))]
pub fn use_openssl_provider() {
    // SAFETY: SQLCipher's setup fills every field of the table.
    register_again(|table| unsafe {
        sqlcipher_openssl_setup(table);
    });
}

/// Registers this module's provider again after [`use_openssl_provider`].
#[cfg(any(test, feature = "testing"))]
pub fn use_rust_provider() {
    register_again(|_| ());
}

/// A fresh table holding this module's provider, changed by `setup`, registered in place of the
/// current one (after `install`, so the registration is pinned).
#[cfg(any(test, feature = "testing"))]
fn register_again(setup: impl FnOnce(*mut Provider)) {
    install();
    // SAFETY: as in `install`.
    unsafe {
        let table = rusqlite::ffi::sqlite3_malloc(std::mem::size_of::<Provider>() as c_int).cast::<Provider>();
        if table.is_null() {
            return;
        }
        table.write(provider());
        setup(table);
        sqlcipher_register_provider(table);
    }
}

fn provider() -> Provider {
    Provider {
        activate: nothing,
        deactivate: nothing,
        get_provider_name: name,
        add_random,
        random,
        hmac,
        kdf,
        cipher,
        get_cipher,
        get_key_sz,
        get_iv_sz: get_block_sz,
        get_block_sz,
        get_hmac_sz,
        ctx_init,
        ctx_free,
        fips_status: nothing,
        get_provider_version,
    }
}

/// Runs `f`, answering SQLITE_ERROR instead of unwinding into C.
fn guarded(f: impl FnOnce() -> Option<()>) -> c_int {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Some(())) => SQLITE_OK,
        _ => SQLITE_ERROR,
    }
}

/// A byte slice from SQLCipher's pointer and length; `None` for a null pointer or a negative length.
///
/// SAFETY: the caller passes SQLCipher's own buffer of at least `len` bytes.
unsafe fn bytes<'a>(ptr: *const c_uchar, len: c_int) -> Option<&'a [u8]> {
    let len = usize::try_from(len).ok()?;
    if len == 0 {
        return Some(&[]);
    }
    (!ptr.is_null()).then(|| std::slice::from_raw_parts(ptr, len))
}

/// SAFETY: as [`bytes`], for a buffer SQLCipher hands over to be written.
unsafe fn bytes_mut<'a>(ptr: *mut c_uchar, len: c_int) -> Option<&'a mut [u8]> {
    let len = usize::try_from(len).ok()?;
    (!ptr.is_null()).then(|| std::slice::from_raw_parts_mut(ptr, len))
}

unsafe extern "C" fn nothing(_: *mut c_void) -> c_int {
    SQLITE_OK
}

unsafe extern "C" fn name(_: *mut c_void) -> *const c_char {
    PROVIDER_NAME_C.as_ptr().cast()
}

unsafe extern "C" fn get_provider_version(_: *mut c_void) -> *const c_char {
    PROVIDER_VERSION_C.as_ptr().cast()
}

unsafe extern "C" fn get_cipher(_: *mut c_void) -> *const c_char {
    CIPHER_NAME_C.as_ptr().cast()
}

unsafe extern "C" fn get_key_sz(_: *mut c_void) -> c_int {
    KEY_BYTES
}

unsafe extern "C" fn get_block_sz(_: *mut c_void) -> c_int {
    BLOCK_BYTES
}

unsafe extern "C" fn get_hmac_sz(_: *mut c_void, algorithm: c_int) -> c_int {
    match algorithm {
        SHA256 => 32,
        SHA512 => 64,
        // SHA-1 (SQLCipher 3's stores) is not offered: no Gridbook store was ever sealed with it
        _ => 0,
    }
}

unsafe extern "C" fn ctx_init(ctx: *mut *mut c_void) -> c_int {
    if !ctx.is_null() {
        *ctx = std::ptr::null_mut();
    }
    SQLITE_OK
}

unsafe extern "C" fn ctx_free(_: *mut *mut c_void) -> c_int {
    SQLITE_OK
}

/// SQLCipher offers entropy from `PRAGMA cipher_add_random`; the generator below is seeded from
/// the operating system and needs none.
unsafe extern "C" fn add_random(_: *mut c_void, _: *mut c_void, _: c_int) -> c_int {
    SQLITE_OK
}

thread_local! {
    /// Each thread's IV source: ChaCha20 seeded from the operating system (unpredictable IVs are
    /// what CBC needs), without the global lock OpenSSL's generator takes per page.
    static IVS: RefCell<Option<ChaCha20Rng>> = const { RefCell::new(None) };
}

unsafe extern "C" fn random(_: *mut c_void, buffer: *mut c_void, length: c_int) -> c_int {
    let Some(out) = bytes_mut(buffer.cast(), length) else { return SQLITE_ERROR };
    guarded(|| {
        IVS.with(|ivs| {
            let mut ivs = ivs.try_borrow_mut().ok()?;
            if ivs.is_none() {
                let mut seed = [0u8; 32];
                rand_core::OsRng.try_fill_bytes(&mut seed).ok()?;
                *ivs = Some(ChaCha20Rng::from_seed(seed));
            }
            ivs.as_mut()?.fill_bytes(out);
            Some(())
        })
    })
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn hmac(
    _: *mut c_void,
    algorithm: c_int,
    key: *mut c_uchar,
    key_sz: c_int,
    input: *mut c_uchar,
    in_sz: c_int,
    input2: *mut c_uchar,
    in2_sz: c_int,
    out: *mut c_uchar,
) -> c_int {
    let (Some(key), Some(input)) = (bytes(key, key_sz), bytes(input, in_sz)) else { return SQLITE_ERROR };
    let input2 = if input2.is_null() { Some(&[][..]) } else { bytes(input2, in2_sz) };
    let Some(input2) = input2 else { return SQLITE_ERROR };
    let Some(out) = bytes_mut(out, get_hmac_sz(std::ptr::null_mut(), algorithm)) else { return SQLITE_ERROR };
    guarded(|| match algorithm {
        SHA256 => mac_into::<Hmac<Sha256>>(key, &[input, input2], out),
        SHA512 => mac_into::<Hmac<Sha512>>(key, &[input, input2], out),
        _ => None,
    })
}

/// The MAC of `parts` in order under `key`, written into `out` (its length is the MAC's): no
/// allocation, as this runs for every page a commit writes.
fn mac_into<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]], out: &mut [u8]) -> Option<()> {
    let mut m = <M as hmac::digest::KeyInit>::new_from_slice(key).ok()?;
    for part in parts {
        m.update(part);
    }
    let tag = m.finalize().into_bytes();
    (tag.len() == out.len()).then(|| out.copy_from_slice(&tag))
}

/// PBKDF2 (RFC 8018) over the HMAC `algorithm`: SQLCipher derives a store's HMAC key with it (two
/// rounds from the raw data key) and a passphrase's key (not used by Gridbook: its keys are raw).
#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn kdf(
    _: *mut c_void,
    algorithm: c_int,
    pass: *const c_uchar,
    pass_sz: c_int,
    salt: *mut c_uchar,
    salt_sz: c_int,
    workfactor: c_int,
    key_sz: c_int,
    key: *mut c_uchar,
) -> c_int {
    let (Some(pass), Some(salt), Some(out)) = (bytes(pass, pass_sz), bytes(salt, salt_sz), bytes_mut(key, key_sz))
    else {
        return SQLITE_ERROR;
    };
    let Ok(rounds) = u32::try_from(workfactor) else { return SQLITE_ERROR };
    guarded(|| match algorithm {
        SHA256 => pbkdf2::<Hmac<Sha256>>(pass, salt, rounds, out),
        SHA512 => pbkdf2::<Hmac<Sha512>>(pass, salt, rounds, out),
        _ => None,
    })
}

fn pbkdf2<M: Mac + hmac::digest::KeyInit + Clone>(pass: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]) -> Option<()> {
    if rounds == 0 {
        return None;
    }
    let keyed = <M as hmac::digest::KeyInit>::new_from_slice(pass).ok()?;
    let block_len = <M as hmac::digest::OutputSizeUser>::output_size();
    for (i, chunk) in out.chunks_mut(block_len).enumerate() {
        let index = u32::try_from(i + 1).ok()?;
        let mut m = keyed.clone();
        m.update(salt);
        m.update(&index.to_be_bytes());
        let mut u = m.finalize().into_bytes();
        let mut t = u.clone();
        for _ in 1..rounds {
            let mut m = keyed.clone();
            m.update(&u);
            u = m.finalize().into_bytes();
            t.iter_mut().zip(u.iter()).for_each(|(t, u)| *t ^= u);
        }
        chunk.copy_from_slice(&t[..chunk.len()]);
    }
    Some(())
}

/// AES-256-CBC without padding over `in_sz` bytes (a page less its reserve: whole blocks). `mode`
/// 1 encrypts, 0 decrypts. `input` and `out` are distinct buffers in SQLCipher's calls.
#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn cipher(
    _: *mut c_void,
    mode: c_int,
    key: *mut c_uchar,
    key_sz: c_int,
    iv: *mut c_uchar,
    input: *mut c_uchar,
    in_sz: c_int,
    out: *mut c_uchar,
) -> c_int {
    let (Some(key), Some(iv)) = (bytes(key, key_sz), bytes(iv, BLOCK_BYTES)) else { return SQLITE_ERROR };
    let (Some(input), Some(out)) = (bytes(input, in_sz), bytes_mut(out, in_sz)) else { return SQLITE_ERROR };
    if key.len() != KEY_BYTES as usize || input.len() % BLOCK_BYTES as usize != 0 {
        return SQLITE_ERROR;
    }
    guarded(|| match mode {
        1 => cbc_encrypt(key, iv, input, out),
        0 => {
            cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
                .ok()?
                .decrypt_padded_b2b_mut::<NoPadding>(input, out)
                .ok()?;
            Some(())
        }
        _ => None,
    })
}

/// AES-256-CBC without padding of whole blocks, `input` to `out` (same length).
pub(crate) fn cbc_encrypt(key: &[u8], iv: &[u8], input: &[u8], out: &mut [u8]) -> Option<()> {
    cbc::Encryptor::<aes::Aes256>::new_from_slices(key, iv)
        .ok()?
        .encrypt_padded_b2b_mut::<NoPadding>(input, out)
        .ok()?;
    Some(())
}

/// HMAC-SHA256 of `parts` in order, under `key`, into `out` (32 bytes).
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]], out: &mut [u8]) -> Option<()> {
    mac_into::<Hmac<Sha256>>(key, parts, out)
}

/// PBKDF2-HMAC-SHA512 into `out`.
pub(crate) fn pbkdf2_sha512(pass: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]) -> Option<()> {
    pbkdf2::<Hmac<Sha512>>(pass, salt, rounds, out)
}

/// Fills `out` from this thread's IV source (what SQLCipher asks of `random`).
pub(crate) fn fill_random(out: &mut [u8]) -> Option<()> {
    // SAFETY: `out` is a live buffer of the length passed.
    let rc = unsafe { random(std::ptr::null_mut(), out.as_mut_ptr().cast(), c_int::try_from(out.len()).ok()?) };
    (rc == SQLITE_OK).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7914 §11's PBKDF2-HMAC-SHA256 vector ("passwd", "salt", 1 round, 64 bytes).
    #[test]
    fn pbkdf2_gives_the_rfc_vector() {
        let mut out = [0u8; 64];
        pbkdf2::<Hmac<Sha256>>(b"passwd", b"salt", 1, &mut out).unwrap();
        assert_eq!(
            crate::evidence::to_hex(&out),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        );
        assert!(pbkdf2::<Hmac<Sha256>>(b"passwd", b"salt", 0, &mut out).is_none());
    }

    #[test]
    fn cbc_round_trips_and_refuses_a_partial_block() {
        let key = [7u8; 32];
        let mut iv = [9u8; 16];
        let mut page = [0u8; 64];
        page.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
        let mut sealed = [0u8; 64];
        let mut opened = [0u8; 64];
        let k = key.as_ptr().cast_mut();
        // SAFETY: buffers of the lengths passed.
        unsafe {
            assert_eq!(
                cipher(std::ptr::null_mut(), 1, k, 32, iv.as_mut_ptr(), page.as_mut_ptr(), 64, sealed.as_mut_ptr()),
                SQLITE_OK
            );
            assert_ne!(sealed, page);
            assert_eq!(
                cipher(std::ptr::null_mut(), 0, k, 32, iv.as_mut_ptr(), sealed.as_mut_ptr(), 64, opened.as_mut_ptr()),
                SQLITE_OK
            );
            assert_eq!(
                cipher(std::ptr::null_mut(), 1, k, 32, iv.as_mut_ptr(), page.as_mut_ptr(), 60, sealed.as_mut_ptr()),
                SQLITE_ERROR
            );
            assert_eq!(
                cipher(std::ptr::null_mut(), 1, k, 31, iv.as_mut_ptr(), page.as_mut_ptr(), 64, sealed.as_mut_ptr()),
                SQLITE_ERROR
            );
        }
        assert_eq!(opened, page);
    }

    fn keyed(path: &std::path::Path) -> Connection {
        let conn = Connection::open(path).unwrap();
        conn.pragma_update(None, "key", "x'1111111111111111111111111111111111111111111111111111111111111111'").unwrap();
        conn.pragma_update(None, "cipher_hmac_algorithm", "HMAC_SHA256").unwrap();
        conn
    }

    fn provider_of(conn: &Connection) -> String {
        conn.query_row("PRAGMA cipher_provider", [], |r| r.get(0)).unwrap()
    }

    /// The format is SQLCipher's own: what one provider seals, the other opens, rows, search
    /// index and all; a wrong key still fails with both.
    #[test]
    fn a_store_sealed_by_either_provider_opens_with_the_other() {
        let dir = tempfile::tempdir().unwrap();
        install();
        assert_eq!(current_name(), PROVIDER_NAME);
        let ours = dir.path().join("ours.db");
        let theirs = dir.path().join("theirs.db");
        let write = |path: &std::path::Path| {
            let conn = keyed(path);
            conn.execute_batch(
                "CREATE TABLE household (id INTEGER PRIMARY KEY, name TEXT);
                 CREATE VIRTUAL TABLE search USING fts5(name, tokenize = 'trigram');",
            )
            .unwrap();
            conn.execute_batch("BEGIN").unwrap();
            for i in 0..2_000 {
                let name = format!("欧阳秀英 {i} {}", "x".repeat(i % 300));
                conn.execute("INSERT INTO household (name) VALUES (?1)", [&name]).unwrap();
                conn.execute("INSERT INTO search (name) VALUES (?1)", [&name]).unwrap();
            }
            conn.execute_batch("COMMIT").unwrap();
            provider_of(&conn)
        };
        let read = |path: &std::path::Path| {
            let conn = keyed(path);
            let rows: i64 = conn.query_row("SELECT count(*) FROM household", [], |r| r.get(0)).unwrap();
            let found: i64 =
                conn.query_row("SELECT count(*) FROM search WHERE name MATCH '秀英 1999'", [], |r| r.get(0)).unwrap();
            let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
            // one row per page whose HMAC does not verify
            let failures =
                conn.prepare("PRAGMA cipher_integrity_check").unwrap().query_map([], |_| Ok(())).unwrap().count();
            (rows, found, check, failures, provider_of(&conn))
        };
        assert_eq!(write(&ours), PROVIDER_NAME);
        use_openssl_provider();
        assert_eq!(write(&theirs), "openssl");
        assert_eq!(read(&ours), (2_000, 1, "ok".to_string(), 0usize, "openssl".to_string()));
        use_rust_provider();
        assert_eq!(read(&theirs), (2_000, 1, "ok".to_string(), 0, PROVIDER_NAME.to_string()));
        for path in [&ours, &theirs] {
            let wrong = Connection::open(path).unwrap();
            wrong
                .pragma_update(None, "key", "x'2222222222222222222222222222222222222222222222222222222222222222'")
                .unwrap();
            wrong.pragma_update(None, "cipher_hmac_algorithm", "HMAC_SHA256").unwrap();
            assert!(wrong.query_row("SELECT count(*) FROM household", [], |r| r.get::<_, i64>(0)).is_err());
        }
    }
}
