//! The encrypted store on real files: nothing readable without the key (byte search, `strings`,
//! the sqlite3 CLI), the same data with it, and a wrong key, a damaged file and a file that is not
//! a store each refused with their own error, the file left as it was.

use std::path::Path;
use std::process::Command;

use gridbook_core::store::encryption::{key_record_path, KeyVault, SoftwareVault};
use gridbook_core::testing::{self, household_n};
use gridbook_core::*;

const NAME: &str = "欧阳秀英";

/// A store holding a household whose name and ID number are searched for on disk afterwards.
fn seeded(store: &Store) -> (Household, String) {
    let mut h = household_n("g1", 4242);
    h.customer_name = NAME.into();
    let h = store.create_household(h).unwrap();
    for i in 0..50 {
        store.create_household(household_n("g1", i)).unwrap();
    }
    store.record_visit(testing::visit("g1", &h.id)).unwrap();
    let id_number = testing::resident_id(4242);
    (h, id_number)
}

fn holds(path: &Path, needle: &str) -> bool {
    let bytes = std::fs::read(path).unwrap_or_default();
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// What `strings` finds in the file, UTF-8 (8-bit) runs included.
fn strings_of(path: &Path) -> String {
    let out = Command::new("strings").args(["-n", "6", "-e", "S"]).arg(path).output().expect("strings (binutils)");
    assert!(out.status.success(), "strings failed on {}", path.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_new_store_is_unreadable_on_disk_and_reads_the_same_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let vault = SoftwareVault::generate().unwrap();
    let store = Store::open_sealed(&path, &vault).unwrap();
    assert!(store.is_encrypted());
    let (h, id_number) = seeded(&store);
    // searched while the store is open: the WAL holds the recent pages
    let wal = dir.path().join("device.db-wal");
    assert!(wal.exists() && std::fs::metadata(&wal).unwrap().len() > 0);
    for file in [&path, &wal, &key_record_path(&path)] {
        for needle in [NAME, id_number.as_str(), &h.mobile, "households", "SQLite format 3"] {
            assert!(!holds(file, needle), "{} holds {needle}", file.display());
            assert!(!strings_of(file).contains(needle), "strings finds {needle} in {}", file.display());
        }
    }
    drop(store);
    // the sqlite3 CLI (plain SQLite) reads nothing
    let cli =
        Command::new("sqlite3").arg(&path).arg("SELECT customer_name FROM households;").output().expect("sqlite3");
    assert!(!cli.status.success(), "sqlite3 read the store: {}", String::from_utf8_lossy(&cli.stdout));
    assert!(
        String::from_utf8_lossy(&cli.stderr).contains("not a database"),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    // opened without a key (this build's SQLCipher with no key is plain SQLite): not a store
    assert!(matches!(Store::open(&path), Err(Error::NotAStore(_))));
    // with the key: the same data
    let again = Store::open_sealed(&path, &vault).unwrap();
    let back = again.household(&h.id, Reveal::Full { purpose: "核对".into() }).unwrap();
    assert_eq!((back.customer_name.as_str(), back.id_number.as_str()), (NAME, id_number.as_str()));
    assert_eq!(again.search_households("g1", NAME, 5).unwrap().len(), 1);
    assert_eq!(again.household_history(&h.id).unwrap().len(), 1);
}

#[test]
fn a_wrong_vault_a_damaged_file_and_a_file_that_is_not_a_store_each_get_their_own_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let vault = SoftwareVault::generate().unwrap();
    seeded(&Store::open_sealed(&path, &vault).unwrap());
    let before = std::fs::read(&path).unwrap();

    let other = SoftwareVault::generate().unwrap();
    assert!(matches!(Store::open_sealed(&path, &other), Err(Error::WrongKey(_))));
    assert_eq!(std::fs::read(&path).unwrap(), before, "a refused key changes nothing");
    let destroyed = SoftwareVault::generate().unwrap();
    destroyed.destroy().unwrap();
    assert!(matches!(Store::open_sealed(dir.path().join("new.db"), &destroyed), Err(Error::KeyUnavailable(_))));

    // damage inside the first page (past SQLCipher's salt): the right key no longer reads it
    let mut damaged = before.clone();
    for b in &mut damaged[100..140] {
        *b ^= 0x5a;
    }
    std::fs::write(&path, &damaged).unwrap();
    assert!(matches!(Store::open_sealed(&path, &vault), Err(Error::StoreCorrupted(_))));
    assert_eq!(std::fs::read(&path).unwrap(), damaged, "a damaged file is left for rescue");

    // not a store: random bytes, and another app's SQLite database; neither gets a key record
    let random = dir.path().join("random.db");
    std::fs::write(&random, (0..8192u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect::<Vec<_>>())
        .unwrap();
    assert!(matches!(Store::open_sealed(&random, &vault), Err(Error::NotAStore(_))));
    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign).unwrap().execute_batch("CREATE TABLE songs (title TEXT);").unwrap();
    let foreign_bytes = std::fs::read(&foreign).unwrap();
    assert!(matches!(Store::open_sealed(&foreign, &vault), Err(Error::NotAStore(_))));
    assert!(matches!(Store::open(&foreign), Err(Error::NotAStore(_))));
    assert_eq!(std::fs::read(&foreign).unwrap(), foreign_bytes);
    for f in [&random, &foreign] {
        assert!(!key_record_path(f).exists(), "no key is made for {}", f.display());
    }
}

#[test]
fn a_plaintext_store_is_converted_in_place_with_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let plain = Store::open(&path).unwrap();
    let (h, id_number) = seeded(&plain);
    let device_id = plain.device_id().to_string();
    let pending = plain.outbox_counts().unwrap();
    drop(plain);
    assert!(holds(&path, NAME) || holds(&dir.path().join("device.db-wal"), NAME), "plaintext before");

    let vault = SoftwareVault::generate().unwrap();
    let store = Store::open_sealed(&path, &vault).unwrap();
    assert!(store.is_encrypted());
    assert_eq!(store.device_id(), device_id);
    assert_eq!(store.outbox_counts().unwrap(), pending);
    assert_eq!(store.household(&h.id, Reveal::Full { purpose: "核对".into() }).unwrap().id_number, id_number);
    assert_eq!(store.search_households("g1", NAME, 5).unwrap().len(), 1);
    store.create_household(household_n("g1", 9000)).unwrap();
    drop(store);
    for name in std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()) {
        assert!(!holds(&name, NAME) && !holds(&name, &id_number), "{} holds plaintext", name.display());
    }
    assert!(!dir.path().join("device.db.encrypting").exists());
    // the converted copy is sealed the current way (its HMAC set on the attached file)
    // (a key record is 16 bytes of magic, a 16-byte check, a 2-byte length, the wrapped key)
    let key = vault.unwrap(&std::fs::read(key_record_path(&path)).unwrap()[34..]).unwrap();
    assert!(raw_opens(&path, &key, "HMAC_SHA256"));
    let again = Store::open_sealed(&path, &vault).unwrap();
    assert_eq!(again.outbox_counts().unwrap().pending, pending.pending + 1);
}

/// Whether SQLCipher reads the file at `path` with `key` when its pages are checked with `hmac`.
fn raw_opens(path: &Path, key: &store::encryption::DataKey, hmac: &str) -> bool {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "key", literal(key)).unwrap();
    conn.pragma_update(None, "cipher_hmac_algorithm", hmac).unwrap();
    conn.query_row("SELECT count(*) FROM households", [], |r| r.get::<_, i64>(0)).is_ok()
}

fn literal(key: &store::encryption::DataKey) -> String {
    format!("x'{}'", key.as_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[test]
fn pages_are_sealed_with_hmac_sha256_and_a_store_of_the_first_release_still_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let key = store::encryption::DataKey::random().unwrap();
    let store = Store::open_encrypted(&path, key.clone()).unwrap();
    // sealed by Gridbook's Rust provider (store/cipher_provider.rs), in SQLCipher's own format
    assert_eq!(store.cipher_provider().unwrap(), "gridbook-rustcrypto");
    let (h, _) = seeded(&store);
    drop(store);
    assert!(raw_opens(&path, &key, "HMAC_SHA256"));
    assert!(!raw_opens(&path, &key, "HMAC_SHA512"));

    // a store as the first encrypted release sealed it: HMAC-SHA512 pages
    let legacy = dir.path().join("legacy.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "key", literal(&key)).unwrap();
        conn.pragma_update(None, "cipher_hmac_algorithm", "HMAC_SHA256").unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        conn.execute("ATTACH DATABASE ?1 AS legacy KEY ?2", rusqlite::params![legacy.to_str().unwrap(), literal(&key)])
            .unwrap();
        conn.pragma_update(Some("legacy"), "cipher_hmac_algorithm", "HMAC_SHA512").unwrap();
        conn.query_row("SELECT sqlcipher_export('legacy')", [], |_| Ok(())).unwrap();
        conn.execute_batch(&format!("PRAGMA legacy.user_version = {version}; DETACH DATABASE legacy;")).unwrap();
    }
    assert!(raw_opens(&legacy, &key, "HMAC_SHA512") && !raw_opens(&legacy, &key, "HMAC_SHA256"));
    let old = Store::open_encrypted(&legacy, key.clone()).unwrap();
    // HMAC-SHA512 pages through the Rust provider too
    assert_eq!(old.cipher_provider().unwrap(), "gridbook-rustcrypto");
    assert_eq!(old.household(&h.id, Reveal::Full { purpose: "核对".into() }).unwrap().customer_name, NAME);
    old.create_household(household_n("g1", 9001)).unwrap();
    drop(old);
    // it stays as it was made, and a wrong key is still told apart
    assert!(raw_opens(&legacy, &key, "HMAC_SHA512"));
    let other = store::encryption::DataKey::random().unwrap();
    assert!(matches!(Store::open_encrypted(&legacy, other), Err(Error::WrongKey(_))));
}
