//! Encryption at rest: the store's 256-bit data key, the `KeyVault` that keeps it wrapped by a
//! platform key, the key record beside the store, and the errors that tell a wrong key from a
//! damaged file from a file that is not a Gridbook store.
//!
//! The store is a SQLCipher database keyed with a raw 32-byte key (no passphrase derivation: the
//! key is random, so the 256k PBKDF2 rounds of a passphrase would only slow every open). The key
//! never sits in a file in the clear: the vault (Android Keystore, iOS Keychain, or the software
//! vault for tests and desktops) wraps it, and the wrapped bytes sit in `<store>-key` with a check
//! value that says whether an unwrapped key is this store's.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use rand_core::{OsRng, RngCore};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Bytes of a data key: 256 bits.
pub const KEY_BYTES: usize = 32;

/// The store's data key, wiped from memory when dropped. Never printed.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; KEY_BYTES]>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

impl DataKey {
    /// A fresh key from the operating system's random source.
    pub fn random() -> Result<Self> {
        let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
        OsRng.try_fill_bytes(&mut bytes[..]).map_err(|e| Error::KeyUnavailable(format!("no randomness: {e}")))?;
        Ok(Self(bytes))
    }

    /// A key from its 32 bytes (a vault's unwrapped key); any other length is refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut key = Zeroizing::new([0u8; KEY_BYTES]);
        if bytes.len() != KEY_BYTES {
            return Err(Error::WrongKey(format!("a data key is {KEY_BYTES} bytes, the vault gave {}", bytes.len())));
        }
        key.copy_from_slice(bytes);
        Ok(Self(key))
    }

    pub fn as_bytes(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }

    /// What the key record keeps to recognise this key: a hash of it, which says nothing of it.
    fn check(&self) -> [u8; 16] {
        let digest = Sha256::new().chain_update(b"gridbook store key check v1").chain_update(&self.0[..]).finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        out
    }

    /// The key as SQLCipher takes a raw key, `x'…'` (no derivation), for `PRAGMA key` and
    /// `ATTACH … KEY`.
    fn literal(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::with_capacity(3 + 2 * KEY_BYTES));
        text.push_str("x'");
        for b in self.0.iter() {
            text.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            text.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        text.push('\'');
        text
    }
}

/// Where the store's data key is kept, wrapped by a key that never leaves the platform's key store
/// (the Android Keystore; the iOS Keychain, this device only), like `DeviceSigner` for the signing
/// key. `unwrap` is where the app puts its PIN or biometric prompt.
pub trait KeyVault: Send + Sync {
    /// Wraps a data key; the bytes returned are kept in the key record beside the store.
    fn wrap(&self, key: &DataKey) -> Result<Vec<u8>>;
    /// Unwraps what `wrap` returned. `WrongKey` when this vault did not wrap it; `KeyUnavailable`
    /// when the key store is locked or the user cancelled.
    fn unwrap(&self, wrapped: &[u8]) -> Result<DataKey>;
    /// Destroys the platform key: nothing it wrapped can be unwrapped again (the remote wipe).
    fn destroy(&self) -> Result<()>;
}

/// A vault whose wrapping key is 32 bytes in memory (ChaCha20-Poly1305): for tests, desktops and
/// the JVM/Python suites. Phones use the Keystore / Keychain vaults of the apps.
pub struct SoftwareVault {
    secret: Mutex<Option<Zeroizing<[u8; KEY_BYTES]>>>,
}

const WRAP_CONTEXT: &[u8] = b"gridbook data key v1";

impl SoftwareVault {
    pub fn new(secret: [u8; KEY_BYTES]) -> Self {
        Self { secret: Mutex::new(Some(Zeroizing::new(secret))) }
    }

    /// A vault with a fresh random wrapping key.
    pub fn generate() -> Result<Self> {
        Ok(Self::new(*DataKey::random()?.as_bytes()))
    }

    fn cipher(&self) -> Result<ChaCha20Poly1305> {
        let guard = self.secret.lock().unwrap_or_else(|p| p.into_inner());
        let secret = guard.as_ref().ok_or_else(|| Error::KeyUnavailable("the vault's key was destroyed".into()))?;
        ChaCha20Poly1305::new_from_slice(&secret[..]).map_err(|e| Error::KeyUnavailable(e.to_string()))
    }
}

impl KeyVault for SoftwareVault {
    fn wrap(&self, key: &DataKey) -> Result<Vec<u8>> {
        let mut nonce = [0u8; 12];
        OsRng.try_fill_bytes(&mut nonce).map_err(|e| Error::KeyUnavailable(format!("no randomness: {e}")))?;
        let sealed = self
            .cipher()?
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: key.as_bytes(), aad: WRAP_CONTEXT })
            .map_err(|_| Error::KeyUnavailable("wrapping the data key failed".into()))?;
        Ok([nonce.as_slice(), sealed.as_slice()].concat())
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<DataKey> {
        let cipher = self.cipher()?;
        let (nonce, sealed) =
            wrapped.split_at_checked(12).ok_or_else(|| Error::WrongKey("wrapped key too short".into()))?;
        let plain = Zeroizing::new(
            cipher
                .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: WRAP_CONTEXT })
                .map_err(|_| Error::WrongKey("this vault did not wrap the store's key".into()))?,
        );
        DataKey::from_bytes(&plain)
    }

    fn destroy(&self) -> Result<()> {
        *self.secret.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }
}

/// The file beside the store holding its wrapped data key: `<store>-key`. Not secret (only the
/// platform key unwraps it) and useless on another phone, but excluded from backups all the same.
pub fn key_record_path(store: &Path) -> PathBuf {
    PathBuf::from(format!("{}-key", store.display()))
}

const RECORD_MAGIC: &[u8; 16] = b"GRIDBOOK-KEY-v1\0";
/// A record is the magic, the check, a length and the wrapped key: a few hundred bytes at most.
const RECORD_MAX_BYTES: u64 = 4096;

struct KeyRecord {
    check: [u8; 16],
    wrapped: Vec<u8>,
}

fn read_key_record(path: &Path) -> Result<Option<KeyRecord>> {
    let bad = |why: &str| Error::StoreCorrupted(format!("key record {}: {why}", path.display()));
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::KeyUnavailable(format!("{}: {e}", path.display()))),
    };
    let mut bytes = Vec::new();
    file.take(RECORD_MAX_BYTES + 1).read_to_end(&mut bytes).map_err(|e| bad(&e.to_string()))?;
    if bytes.len() as u64 > RECORD_MAX_BYTES {
        return Err(bad("too large"));
    }
    let rest = bytes.strip_prefix(RECORD_MAGIC.as_slice()).ok_or_else(|| bad("not a key record"))?;
    let (check, rest) = rest.split_at_checked(16).ok_or_else(|| bad("cut short"))?;
    let (len, wrapped) = rest.split_at_checked(2).ok_or_else(|| bad("cut short"))?;
    if usize::from(u16::from_le_bytes([len[0], len[1]])) != wrapped.len() {
        return Err(bad("cut short"));
    }
    let mut c = [0u8; 16];
    c.copy_from_slice(check);
    Ok(Some(KeyRecord { check: c, wrapped: wrapped.to_vec() }))
}

/// Writes the record whole or not at all: a temporary file, synced, renamed over, the directory
/// synced (a crash leaves the old record or the new one).
fn write_key_record(path: &Path, record: &KeyRecord) -> Result<()> {
    let len = u16::try_from(record.wrapped.len())
        .map_err(|_| Error::KeyUnavailable("the vault's wrapped key is too large".into()))?;
    let io = |e: std::io::Error| Error::KeyUnavailable(format!("writing {}: {e}", path.display()));
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    file.write_all(RECORD_MAGIC).map_err(io)?;
    file.write_all(&record.check).map_err(io)?;
    file.write_all(&len.to_le_bytes()).map_err(io)?;
    file.write_all(&record.wrapped).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    sync_dir(path).map_err(io)
}

/// Syncs the directory holding `path`, so a rename or a delete in it reaches the disk.
pub(crate) fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::File::open(dir)?.sync_all(),
        _ => Ok(()),
    }
}

/// What a file holds, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// No file, or an empty one: a store is made there.
    Missing,
    /// A plaintext SQLite database (its header says so).
    PlainSqlite,
    /// Anything else: an encrypted database (random from its first byte), or not a database.
    Opaque,
}

pub(crate) fn file_kind(path: &Path) -> Result<FileKind> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileKind::Missing),
        Err(e) => return Err(Error::NotAStore(format!("{}: {e}", path.display()))),
    };
    let mut head = Vec::with_capacity(16);
    (&mut file).take(16).read_to_end(&mut head).map_err(|e| Error::NotAStore(format!("{}: {e}", path.display())))?;
    Ok(match head.as_slice() {
        [] => FileKind::Missing,
        b"SQLite format 3\0" => FileKind::PlainSqlite,
        _ => FileKind::Opaque,
    })
}

/// Whether a plaintext SQLite file is a Gridbook store (its `meta` table holds a device id).
pub(crate) fn is_plain_gridbook_store(path: &Path) -> bool {
    let Ok(conn) =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
    else {
        return false;
    };
    conn.query_row("SELECT 1 FROM meta WHERE key = 'device_id'", [], |_| Ok(())).is_ok()
}

/// Refuses when this build's SQLite is not SQLCipher (core without its `sqlcipher` feature): plain
/// SQLite takes `PRAGMA key` as a no-op and would write the store in the clear.
fn require_sqlcipher() -> Result<()> {
    let conn = Connection::open_in_memory()?;
    let version: Option<String> = conn.query_row("PRAGMA cipher_version", [], |r| r.get(0)).optional()?;
    match version {
        Some(_) => Ok(()),
        None => Err(Error::KeyUnavailable(
            "this build has no SQLCipher (core's `sqlcipher` feature) / 此版本未含加密数据库".into(),
        )),
    }
}

/// How each page is sealed: SQLCipher 4's AES-256-CBC with an HMAC per page, the HMAC over
/// SHA-256 rather than SQLCipher 4's default SHA-512. Every commit seals each page it writes, so
/// this is on the path of every visit recorded: ARMv8 phones (and x86 with SHA-NI) hash SHA-256
/// in hardware, which few do for SHA-512 (docs/benchmarks.md, "The encrypted store").
/// A store made before this choice keeps [`LEGACY_PAGE_HMAC`] and is opened with it.
pub(crate) const PAGE_HMAC: &str = "HMAC_SHA256";
/// The page HMAC of stores made by the first encrypted release (SQLCipher 4's default).
pub(crate) const LEGACY_PAGE_HMAC: &str = "HMAC_SHA512";

/// Page size of stores (SQLite's and SQLCipher's default), and of snapshot files.
pub const PAGE_BYTES: usize = 4096;
/// Bytes SQLCipher keeps at the end of every page of a store sealed with [`PAGE_HMAC`]: the page's
/// IV (16) and HMAC-SHA256 (32). A plain file built with them free can be sealed page by page.
pub const SEALING_RESERVE_BYTES: usize = 48;

/// Keys a fresh connection, its pages sealed with `page_hmac`. Must be the first statement on it.
pub(crate) fn apply_key(conn: &Connection, key: &DataKey, page_hmac: &str) -> Result<()> {
    #[cfg(feature = "sqlcipher")]
    super::cipher_provider::install();
    conn.pragma_update(None, "key", &*key.literal())?;
    conn.pragma_update(None, "cipher_hmac_algorithm", page_hmac)?;
    Ok(())
}

/// Attaches the database at `path` as `schema`, encrypted with `key` (always a new file: a
/// conversion or a snapshot's copy, so sealed the current way).
pub(crate) fn attach_keyed(conn: &Connection, path: &Path, schema: &str, key: &DataKey) -> Result<()> {
    #[cfg(feature = "sqlcipher")]
    super::cipher_provider::install();
    conn.execute(
        &format!("ATTACH DATABASE ?1 AS {schema} KEY ?2"),
        rusqlite::params![path_text(path)?, &*key.literal()],
    )?;
    conn.pragma_update(Some(schema), "cipher_hmac_algorithm", PAGE_HMAC)?;
    Ok(())
}

/// What a failed first read of a store means, as its own error: `key_verified` says the key is
/// known to be the store's (it matched the key record), so a refusal is damage, not a wrong key.
pub(crate) fn classify_open_failure(path: &Path, keyed: bool, key_verified: bool, e: rusqlite::Error) -> Error {
    let code = e.sqlite_error_code();
    if code == Some(ErrorCode::DatabaseCorrupt) {
        return Error::StoreCorrupted(format!("{}: {e}", path.display()));
    }
    if code != Some(ErrorCode::NotADatabase) {
        return Error::Sqlite(e);
    }
    match file_kind(path) {
        Ok(FileKind::PlainSqlite) if is_plain_gridbook_store(path) => Error::NotAStore(format!(
            "{}: an unencrypted store; open it through the vault to convert it",
            path.display()
        )),
        Ok(FileKind::PlainSqlite) => {
            Error::NotAStore(format!("{}: a SQLite database of something else", path.display()))
        }
        Ok(_) if key_verified => {
            Error::StoreCorrupted(format!("{}: the store's own key does not read it", path.display()))
        }
        Ok(_) if keyed => Error::WrongKey(format!("{}: the key does not open this store", path.display())),
        Ok(_) => Error::NotAStore(format!(
            "{}: not a database (or an encrypted store opened without its key)",
            path.display()
        )),
        Err(e) => e,
    }
}

/// The data key of the store at `path`, through `vault`: unwrapped from the store's key record and
/// checked against it. A new store (no file), or a plaintext store from before encryption, gets a
/// fresh key, wrapped and recorded before the store is made or converted (a crash after the
/// record only leaves a key for a store yet to be made or converted).
pub(crate) fn unseal(store: &Path, vault: &dyn KeyVault) -> Result<DataKey> {
    require_sqlcipher()?;
    let record_path = key_record_path(store);
    if let Some(record) = read_key_record(&record_path)? {
        let key = vault.unwrap(&record.wrapped)?;
        if key.check() != record.check {
            return Err(Error::WrongKey("the vault unwrapped a key that is not this store's".into()));
        }
        return Ok(key);
    }
    match file_kind(store)? {
        FileKind::Missing => {
            // SQLite says first whether a store can be made there at all (a missing directory)
            drop(Connection::open(store)?);
            record_new_key(&record_path, vault)
        }
        FileKind::PlainSqlite if is_plain_gridbook_store(store) => record_new_key(&record_path, vault),
        FileKind::PlainSqlite => {
            Err(Error::NotAStore(format!("{}: a SQLite database of something else", store.display())))
        }
        FileKind::Opaque => Err(Error::NotAStore(format!(
            "{}: not a Gridbook store, or an encrypted one whose key record is gone",
            store.display()
        ))),
    }
}

fn record_new_key(record_path: &Path, vault: &dyn KeyVault) -> Result<DataKey> {
    let key = DataKey::random()?;
    write_key_record(record_path, &KeyRecord { check: key.check(), wrapped: vault.wrap(&key)? })?;
    Ok(key)
}

/// Where a conversion builds the encrypted copy before it takes the store's place.
pub(crate) fn staged_path(store: &Path) -> PathBuf {
    PathBuf::from(format!("{}.encrypting", store.display()))
}

/// Converts a plaintext store to an encrypted one in place, crash-safe: the plaintext store's WAL
/// is folded into it and switched off (no plaintext WAL is left to be played over the new file),
/// an encrypted copy is exported beside it and synced, and renamed over the store, the directory
/// synced. Killed anywhere, the path holds the old store or the new one, whole: a plaintext store
/// found again is converted again with the same recorded key.
pub(crate) fn convert_plaintext(store: &Path, key: &DataKey) -> Result<()> {
    let staged = staged_path(store);
    super::files::remove_database(&staged);
    {
        let conn = Connection::open(store)?;
        conn.pragma_update(None, "journal_mode", "DELETE")?;
        attach_keyed(&conn, &staged, "sealed", key)?;
        conn.query_row("SELECT sqlcipher_export('sealed')", [], |_| Ok(()))?;
        let version: i64 = conn.query_row("PRAGMA main.user_version", [], |r| r.get(0))?;
        conn.execute_batch(&format!("PRAGMA sealed.user_version = {version}; DETACH DATABASE sealed;"))?;
        conn.close().map_err(|(_, e)| e)?;
    }
    let io = |e: std::io::Error| Error::StoreCorrupted(format!("converting {}: {e}", store.display()));
    std::fs::File::open(&staged).and_then(|f| f.sync_all()).map_err(io)?;
    std::fs::rename(&staged, store).map_err(io)?;
    sync_dir(store).map_err(io)?;
    Ok(())
}

pub(crate) fn path_text(path: &Path) -> Result<&str> {
    path.to_str().ok_or_else(|| Error::NotAStore(format!("its path {} is not UTF-8", path.display())))
}
