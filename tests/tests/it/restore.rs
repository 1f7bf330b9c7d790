//! A restore that loses no field work (docs/operations.md, "Backups and restore"): phones push
//! while `admin backup` copies the live database, push more, collect money from a book issued
//! after the backup; the server is stopped and `admin restore` puts the backup back. After one
//! sync each, the server holds every record any phone saw acknowledged, each applied once (the
//! arrears account is debited once per receipt), no receipt book is issued twice, and every
//! phone holds what the server holds. Real server processes, real SQLite files, real HTTP.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gridbook_core::testing::{household_n, receipt, visit};
use gridbook_core::*;
use gridbook_tests::*;

const GRID: &str = "g1";
const OWED_FEN: i64 = 90_000;

/// The records of a database (server or phone) as (kind, id), from a query of such pairs.
fn records_of(db: &Path, sql: &str) -> BTreeSet<(String, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).unwrap();
    rows.map(Result::unwrap).collect()
}

fn on_server(db: &Path) -> BTreeSet<(String, String)> {
    records_of(db, "SELECT kind, id FROM entities WHERE kind IN ('household', 'visit', 'receipt', 'signature')")
}

fn on_phone(db: &Path) -> BTreeSet<(String, String)> {
    records_of(
        db,
        "SELECT 'household', id FROM households UNION ALL SELECT 'visit', id FROM visits
         UNION ALL SELECT 'receipt', id FROM receipts UNION ALL SELECT 'signature', id FROM signatures",
    )
}

fn owed_on_server(db: &Path, account: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT json_extract(vals, '$.owed_fen') FROM entities WHERE kind = 'arrears_account' AND id = ?1",
        [account],
        |r| r.get(0),
    )
    .unwrap()
}

/// A round of field work on one phone: households, each visited.
fn field_work(phone: &Phone, first: u64, n: u64) {
    for i in first..first + n {
        let h = phone.store.create_household(household_n(GRID, i)).unwrap();
        phone.store.record_visit(visit(GRID, &h.id)).unwrap();
    }
}

fn engine_for(phone: &Phone, url: &str) -> SyncEngine {
    SyncEngine::new(phone.store.clone(), SyncConfig::new(url, &phone.config.token, "test-1.0")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_server_gets_every_acknowledged_op_back_once_and_the_phones_converge() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    admin_cli(&db, &["create-grid", "--id", GRID, "--name", "一网格"]);
    admin_cli(&db, &["create-manager", "--id", "zhang", "--name", "张伟"]);
    admin_cli(&db, &["assign-grid", "--manager", "zhang", "--grid", GRID]);
    let codes: Vec<String> = (0..3).map(|_| admin_cli(&db, &["enrol-code", "--manager", "zhang"])).collect();
    let mut server = ServerProcess::start(&db);
    let a = Phone::enrol(&server.url, &codes[0], Box::new(SystemClock)).await;
    let b = Phone::enrol(&server.url, &codes[1], Box::new(SystemClock)).await;
    // c is enrolled now but syncs only after the backup: its first receipt book is one the
    // restored server will have forgotten
    let c = Phone::enrol(&server.url, &codes[2], Box::new(SystemClock)).await;

    let payer = a.store.create_household(household_n(GRID, 9_999)).unwrap();
    a.sync().await;
    let account = admin_cli(
        &db,
        &[
            "add-arrears",
            "--grid",
            GRID,
            "--household",
            &payer.id,
            "--account-no",
            "ACC-1",
            "--owed-fen",
            &OWED_FEN.to_string(),
        ],
    );
    a.sync().await; // the account, and a's receipt book

    // Before and during the backup: both phones work and sync while the copy is taken.
    field_work(&a, 0, 30);
    field_work(&b, 1_000, 30);
    let backup = dir.path().join("backup.db");
    let taking = {
        let (db, backup) = (db.clone(), backup.clone());
        tokio::task::spawn_blocking(move || admin_cli(&db, &["backup", "--to", backup.to_str().unwrap()]))
    };
    let (ra, rb) = tokio::join!(a.engine.sync_once(), b.engine.sync_once());
    ra.unwrap();
    rb.unwrap();
    let report: serde_json::Value = serde_json::from_str(&taking.await.unwrap()).unwrap();
    assert_eq!(report["sha256"].as_str().map(str::len), Some(64), "{report}");
    assert!(PathBuf::from(format!("{}.sha256", backup.display())).exists());
    let before_restore_generation = a.store.server_generation().unwrap();

    // After the backup: more work, a receipt from a's book (known to the backup) and one from a
    // book c takes only now (unknown to it); all acknowledged.
    field_work(&a, 100, 20);
    field_work(&b, 1_100, 20);
    let first = c.sync().await;
    assert!(first.receipt_numbers_left >= 50, "c took its first book after the backup: {first:?}");
    let a_receipt = a.collect(receipt(GRID, &account, &payer.id, ""));
    let c_receipt = c.collect(receipt(GRID, &account, &payer.id, ""));
    field_work(&c, 2_000, 10);
    for phone in [&a, &b, &c, &a, &b] {
        phone.sync().await; // twice round: every phone holds everything, as phones do by evening
        assert_eq!(phone.store.outbox_counts().unwrap().pending, 0, "everything acknowledged before the restore");
    }
    let acknowledged = on_server(&db);
    let collected = a_receipt.receipt.amount_fen + c_receipt.receipt.amount_fen;
    assert_eq!(owed_on_server(&db, &account), OWED_FEN - collected);
    assert!(acknowledged.len() > 2 * (30 + 20) * 2, "{} records", acknowledged.len());

    // The disaster: the server stops, the backup is restored.
    let refused = std::process::Command::new(server_binary())
        .args(["admin", "--db"])
        .arg(&db)
        .args(["restore", "--from"])
        .arg(&backup)
        .output()
        .unwrap();
    assert!(!refused.status.success(), "a restore under a running server is refused");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("stop it first"));
    server.kill();
    let restored: serde_json::Value =
        serde_json::from_str(&admin_cli(&db, &["restore", "--from", backup.to_str().unwrap()])).unwrap();
    assert!(restored["restored_from_ms"].as_i64().unwrap() > 0, "{restored}");
    assert!(on_server(&db).len() < acknowledged.len(), "the backup lacks what came after it");

    // One sync each against the restored server (a new process, a new port).
    let server = ServerProcess::start(&db);
    for phone in [&a, &b, &c] {
        engine_for(phone, &server.url).sync_once().await.unwrap();
        assert_eq!(phone.store.outbox_counts().unwrap().pending, 0);
        assert!(phone.store.rejected_ops().unwrap().is_empty(), "{:?}", phone.store.rejected_ops().unwrap());
        assert_ne!(phone.store.server_generation().unwrap(), before_restore_generation, "the new generation is known");
    }
    let held = on_server(&db);
    let missing: Vec<_> = acknowledged.difference(&held).collect();
    assert!(missing.is_empty(), "acknowledged before the restore, not on the restored server: {missing:?}");
    assert_eq!(held, acknowledged, "nothing more either");
    assert_eq!(owed_on_server(&db, &account), OWED_FEN - collected, "each receipt debited once");
    for phone in [&a, &b, &c] {
        assert_eq!(on_phone(&phone.db_path()), held, "every phone holds what the server holds");
    }

    // c's forgotten book was re-claimed by its receipt; a book issued now carries the new tag
    let conn = rusqlite::Connection::open(&db).unwrap();
    let reclaimed: i64 = conn
        .query_row("SELECT count(*) FROM audit_log WHERE action = 'receipt_block_reclaimed'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(reclaimed, 1);
    let c_book = c_receipt.receipt.receipt_no.rsplit_once('-').map(|(p, _)| format!("{p}-")).unwrap();
    let owner: String =
        conn.query_row("SELECT device_id FROM receipt_blocks WHERE prefix = ?1", [&c_book], |r| r.get(0)).unwrap();
    assert_eq!(owner, c.store.device_id());
    drop(conn);
    let d =
        Phone::enrol(&server.url, &admin_cli(&db, &["enrol-code", "--manager", "zhang"]), Box::new(SystemClock)).await;
    engine_for(&d, &server.url).sync_once().await.unwrap();
    let new_receipt = d.collect(receipt(GRID, &account, &payer.id, ""));
    let new_book = new_receipt.receipt.receipt_no.rsplit_once('-').map(|(p, _)| p.to_string()).unwrap();
    assert_eq!(new_book.len(), "SJ".len() + 4 + 6, "a book of the new generation carries its tag: {new_book}");
}
