//! The conversion of a plaintext store to an encrypted one, killed: a phone process opening an
//! old store through its vault is SIGKILLed at random moments of the conversion, again and again;
//! each time the store opens afterwards with every record, encrypted.

use std::process::{Command, Stdio};
use std::time::Instant;

use gridbook_core::store::encryption::SoftwareVault;
use gridbook_core::testing::{household_n, visit};
use gridbook_core::*;
use gridbook_tests::*;
use rand::Rng;

const HOUSEHOLDS: u64 = 10_000;
const SECRET_HEX: &str = "07a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f";

fn is_plaintext(path: &std::path::Path) -> bool {
    std::fs::read(path).map(|b| b.starts_with(b"SQLite format 3\0")).unwrap_or(false)
}

#[test]
fn a_conversion_killed_at_any_moment_leaves_the_old_store_or_the_new_one_with_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template.db");
    let (ids, pending) = {
        let store = Store::open(&template).unwrap();
        let mut ids = Vec::new();
        for i in 0..HOUSEHOLDS {
            let h = store.create_household(household_n("g1", i)).unwrap();
            if i % 1_000 == 0 {
                store.record_visit(visit("g1", &h.id)).unwrap();
                ids.push(h.id);
            }
        }
        (ids, store.outbox_counts().unwrap().pending)
    };
    assert!(is_plaintext(&template));
    let vault = SoftwareVault::new(secret_from_hex(SECRET_HEX).unwrap());
    let convert = |path: &std::path::Path| {
        Command::new(phone_binary())
            .arg("convert")
            .arg(path)
            .arg(SECRET_HEX)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };

    // one conversion left alone: how long the whole thing takes here, to spread the kills over it
    let whole = dir.path().join("whole.db");
    std::fs::copy(&template, &whole).unwrap();
    let started = Instant::now();
    assert!(convert(&whole).wait().unwrap().success());
    let span = started.elapsed();
    assert!(!is_plaintext(&whole));

    let mut rng = rand::thread_rng();
    let (mut cut_off, mut stayed_plain) = (0, 0);
    for round in 0..16u32 {
        let path = dir.path().join(format!("round-{round}.db"));
        std::fs::copy(&template, &path).unwrap();
        let mut child = convert(&path);
        let at = span.mul_f64(rng.gen_range(0.0..1.1));
        std::thread::sleep(at);
        if child.try_wait().unwrap().is_none() {
            cut_off += 1;
        }
        let _ = child.kill();
        child.wait().unwrap();
        stayed_plain += usize::from(is_plaintext(&path));

        let store = Store::open_sealed(&path, &vault)
            .unwrap_or_else(|e| panic!("round {round} (killed after {at:?}): the store does not open: {e}"));
        assert!(store.is_encrypted() && !is_plaintext(&path), "round {round}");
        assert_eq!(store.all_states(EntityKind::Household).unwrap().len() as u64, HOUSEHOLDS, "round {round}");
        assert_eq!(store.outbox_counts().unwrap().pending, pending, "round {round}");
        for id in &ids {
            assert_eq!(store.household_history(id).unwrap().len(), 1, "round {round}: {id}");
        }
        drop(store);
        assert!(!dir.path().join(format!("round-{round}.db.encrypting")).exists(), "round {round}");
        let plain = rusqlite::Connection::open(&path).unwrap();
        assert!(plain.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0)).is_err());
        drop(plain);
        // each round's store goes once checked: 16 copies of a 10k-household store add up
        for suffix in ["", "-wal", "-shm", "-key"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    assert!(cut_off > 0, "no conversion was cut off (span {span:?})");
    eprintln!("16 rounds: {cut_off} cut off, {stayed_plain} still plaintext after the kill; conversion {span:?}");
}
