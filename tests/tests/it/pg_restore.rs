//! A PostgreSQL restore that loses no field work (docs/postgres.md, "Backups and restore"), as
//! restore.rs beside it is for SQLite: a cluster archiving its WAL; phones push through the real
//! server on it while `scripts/pg-backup.sh base-backup` takes a base backup; they push more, a
//! restore point is noted; they push more again, receipts too (one from a book issued after that
//! point); the server and the cluster stop. A new cluster is restored from the base backup plus
//! the WAL archive up to the point (`pg-backup.sh restore --target-time`); the server refuses the
//! database until `admin mark-restored` has given it a new generation; then, after one sync each,
//! the server holds every op any phone saw acknowledged, each once, receipt numbers are unique,
//! each receipt is debited once, and every phone holds what the server holds. Always PostgreSQL:
//! its own throwaway clusters (scripts/pg-test-cluster.sh), the real server binary on 127.0.0.1.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::Path;

use gridbook_core::testing::{household_n, receipt, visit};
use gridbook_core::*;
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::storage::postgres::test_cluster::{give_to_cluster_owner, pg_backup, psql_at, TestCluster};
use gridbook_sync_server::{now_ms, PostgresStorage, RecordStorage, SyncStorage};
use gridbook_tests::campaign::{assert_converged, assert_outbox_settled, server_op_ids_postgres, OpLedger};
use gridbook_tests::*;

const GRID: &str = "g1";
const OWED_FEN: i64 = 90_000;

/// The records on the server, as (kind, id).
fn on_server(url: &str) -> BTreeSet<(String, String)> {
    let rows = psql_at(
        url,
        "SELECT kind || ' ' || id FROM entities WHERE kind IN ('household', 'visit', 'receipt', 'signature')",
    )
    .expect("records");
    rows.lines().filter_map(|l| l.split_once(' ')).map(|(k, i)| (k.to_string(), i.to_string())).collect()
}

fn on_phone(db: &Path) -> BTreeSet<(String, String)> {
    let conn = rusqlite::Connection::open(db).expect("phone db");
    let mut stmt = conn
        .prepare(
            "SELECT 'household', id FROM households UNION ALL SELECT 'visit', id FROM visits
             UNION ALL SELECT 'receipt', id FROM receipts UNION ALL SELECT 'signature', id FROM signatures",
        )
        .expect("query");
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).expect("rows");
    rows.map(|r| r.expect("row")).collect()
}

fn owed_on_server(url: &str, account: &str) -> i64 {
    let sql =
        format!("SELECT vals::jsonb ->> 'owed_fen' FROM entities WHERE kind = 'arrears_account' AND id = '{account}'");
    psql_at(url, &sql).expect("owed").parse().expect("a number")
}

/// A round of field work on one phone: households, each visited.
fn field_work(phone: &Phone, ledger: &mut OpLedger, first: u64, n: u64) {
    for i in first..first + n {
        let h = phone.store.create_household(household_n(GRID, i)).expect("household");
        phone.store.record_visit(visit(GRID, &h.id)).expect("visit");
    }
    ledger.note(&phone.store);
}

fn engine_for(phone: &Phone, url: &str) -> SyncEngine {
    SyncEngine::new(phone.store.clone(), SyncConfig::new(url, &phone.config.token, "test-1.0")).expect("engine")
}

/// The server binary's `admin --database-url URL ARGS…`: its output, or its error text.
fn admin_pg(url: &str, args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new(server_binary())
        .args(["admin", "--database-url", url])
        .args(args)
        .env_remove("GRIDBOOK_DATABASE_URL")
        .output()
        .expect("admin");
    let text = |b: &[u8]| String::from_utf8_lossy(b).trim().to_string();
    if out.status.success() {
        Ok(text(&out.stdout))
    } else {
        Err(text(&out.stderr))
    }
}

/// The URL of database `name` on the cluster at `cluster_url`.
fn database_on(cluster_url: &str, name: &str) -> String {
    let base = cluster_url.rsplit_once('/').map_or(cluster_url, |(base, _)| base);
    format!("{base}/{name}")
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_point_in_time_restore_gets_every_acknowledged_op_back_once_and_the_phones_converge() {
    let work = tempfile::tempdir().expect("temp dir");
    give_to_cluster_owner(work.path()).expect("the clusters' owner writes here");
    let archive = work.path().join("wal-archive");
    let base = work.path().join("base");
    let restored_data = work.path().join("restored");
    std::fs::create_dir(&archive).expect("archive dir");
    give_to_cluster_owner(&archive).expect("archive owner");

    let old =
        TestCluster::start_with(&[os("--archive"), archive.as_os_str()]).expect("PostgreSQL 15 (.ci/install-tools)");
    let url = old.create_database().expect("database");
    let db_name = url.rsplit('/').next().expect("a database name").to_string();
    {
        let storage = PostgresStorage::open(&url).expect("the database");
        storage.create_grid(GRID, "一网格", now_ms()).expect("grid");
        storage.create_manager("zhang", "张伟", Role::Field, None, now_ms()).expect("manager");
        storage.assign_grid("zhang", GRID).expect("assign");
    }
    let code = || admin_pg(&url, &["enrol-code", "--manager", "zhang"]).expect("enrol code");
    let replica_dir = tempfile::tempdir().expect("replica dir");
    let mut server = ServerProcess::start_postgres(&url, replica_dir.path(), "127.0.0.1:0");
    let a = Phone::enrol(&server.url, &code(), Box::new(SystemClock)).await;
    let b = Phone::enrol(&server.url, &code(), Box::new(SystemClock)).await;
    // c syncs only after the restore point: its first receipt book is one the restore forgets
    let c = Phone::enrol(&server.url, &code(), Box::new(SystemClock)).await;
    let mut ledger = OpLedger::default();

    let payer = a.store.create_household(household_n(GRID, 9_999)).expect("payer");
    ledger.note(&a.store);
    a.sync().await;
    let owed = OWED_FEN.to_string();
    let account = admin_pg(
        &url,
        &["add-arrears", "--grid", GRID, "--household", &payer.id, "--account-no", "ACC-1", "--owed-fen", &owed],
    )
    .expect("arrears");
    a.sync().await; // the account, and a's receipt book

    // Before and during the base backup: both phones work and sync while it is taken.
    field_work(&a, &mut ledger, 0, 30);
    field_work(&b, &mut ledger, 1_000, 30);
    let taking = {
        let (cluster, to) = (old.url().to_string(), base.clone());
        tokio::task::spawn_blocking(move || {
            pg_backup(&[os("base-backup"), os("--url"), os(&cluster), os("--to"), to.as_os_str()])
        })
    };
    let (ra, rb) = tokio::join!(a.engine.sync_once(), b.engine.sync_once());
    ra.expect("a syncs during the backup");
    rb.expect("b syncs during the backup");
    taking.await.expect("backup task").expect("pg_basebackup and pg_verifybackup");
    assert!(base.join("backup_manifest").is_file(), "the backup carries its manifest");
    pg_backup(&[os("verify"), base.as_os_str()]).expect("the backup verifies");
    let old_generation = a.store.server_generation().expect("generation").expect("met one");

    // After the backup, up to the restore point: more work, all acknowledged; it comes back from
    // the WAL archive, not from the base backup.
    field_work(&a, &mut ledger, 100, 20);
    field_work(&b, &mut ledger, 1_100, 20);
    let before_last_writes_ms = now_ms();
    a.sync().await;
    b.sync().await;
    let at_point = on_server(&url);
    let point =
        psql_at(&url, "SELECT clock_timestamp() || '|' || (extract(epoch FROM clock_timestamp()) * 1000)::bigint")
            .expect("the restore point");
    let (point, point_ms) = point.split_once('|').expect("time|ms");
    let (point, point_ms) = (point.to_string(), point_ms.parse::<i64>().expect("ms"));

    // After the point: more work, a receipt from a's book (known at the point) and one from the
    // book c takes only now (forgotten by the restore); all acknowledged.
    let first = c.sync().await;
    assert!(first.receipt_numbers_left >= 50, "c took its first book after the point: {first:?}");
    let a_receipt = a.collect(receipt(GRID, &account, &payer.id, ""));
    let c_receipt = c.collect(receipt(GRID, &account, &payer.id, ""));
    ledger.note(&a.store);
    ledger.note(&c.store);
    field_work(&c, &mut ledger, 2_000, 10);
    field_work(&a, &mut ledger, 200, 10);
    for round in 0..8 {
        // many transactions after the point: the numbers the restored cluster will hand out again
        field_work(&b, &mut ledger, 1_200 + round, 1);
        b.sync().await;
    }
    for phone in [&a, &b, &c, &a, &b] {
        phone.sync().await; // twice round: every phone holds everything, as phones do by evening
        assert_eq!(phone.store.outbox_counts().expect("outbox").pending, 0, "acknowledged before the restore");
    }
    let acknowledged = on_server(&url);
    let a_cursor_before = a.store.pull_cursor().expect("a's cursor");
    let collected = a_receipt.receipt.amount_fen + c_receipt.receipt.amount_fen;
    assert_eq!(owed_on_server(&url, &account), OWED_FEN - collected);
    assert!(at_point.len() < acknowledged.len(), "work after the point");

    // The disaster: the last WAL is archived, the server and the cluster are gone.
    pg_backup(&[os("archive-now"), os("--url"), os(old.url())]).expect("the last WAL archived");
    server.kill();
    drop(old);

    // A new cluster from the base backup and the archive, up to the point.
    pg_backup(&[
        os("restore"),
        os("--from"),
        base.as_os_str(),
        os("--to"),
        restored_data.as_os_str(),
        os("--archive"),
        archive.as_os_str(),
        os("--target-time"),
        os(&point),
    ])
    .expect("restore prepared");
    let new = TestCluster::start_with(&[os("--data"), restored_data.as_os_str()]).expect("the restored cluster");
    pg_backup(&[os("wait-recovered"), os("--url"), os(new.url())]).expect("recovered and promoted");
    let url = database_on(new.url(), &db_name);
    assert_eq!(on_server(&url), at_point, "the base backup plus the WAL up to the point, nothing after");

    let last_change: u64 =
        psql_at(&url, "SELECT greatest((SELECT max(seq) FROM entities), (SELECT max(seq) FROM handover_records))")
            .expect("the last change number")
            .parse()
            .expect("a number");

    // Not served before it is marked: a new timeline, the generation of the old one.
    let refused = admin_pg(&url, &["receipt-blocks"]).expect_err("an unmarked restored database is refused");
    assert!(refused.contains("mark-restored"), "{refused}");
    let marked: serde_json::Value =
        serde_json::from_str(&admin_pg(&url, &["mark-restored"]).expect("marked")).expect("JSON");
    assert_eq!(marked["previous_generation"].as_str(), Some(old_generation.as_str()), "{marked}");
    assert_ne!(marked["generation"].as_str(), Some(old_generation.as_str()), "{marked}");
    // the restore point: after the last write the restored database holds, not after the point
    let from = marked["restored_from_ms"].as_i64().expect("restored_from_ms");
    assert!((before_last_writes_ms..=point_ms).contains(&from), "{before_last_writes_ms} ≤ {from} ≤ {point_ms}");
    assert_eq!(marked["restored_cursor"].as_u64(), Some(last_change), "{marked}");
    assert!(marked["cluster"].as_str().is_some_and(|c| c.ends_with("/2")), "promoted onto timeline 2: {marked}");

    // One sync each against the restored server. Before the phones come back, the back office
    // writes: its change number is one the old cluster had used, and a had paged past.
    let server = ServerProcess::start_postgres(&url, replica_dir.path(), "127.0.0.1:0");
    let second_account = admin_pg(
        &url,
        &["add-arrears", "--grid", GRID, "--household", &payer.id, "--account-no", "ACC-2", "--owed-fen", &owed],
    )
    .expect("arrears after the restore");
    let reused: u64 = psql_at(&url, &format!("SELECT seq FROM entities WHERE id = '{second_account}'"))
        .expect("its change number")
        .parse()
        .expect("a number");
    assert!(reused <= a_cursor_before, "a change number handed out again: {reused} ≤ a's cursor {a_cursor_before}");
    for phone in [&a, &b, &c] {
        engine_for(phone, &server.url).sync_once().await.expect("a sync after the restore");
        assert!(assert_outbox_settled(&phone.store, "after the restore").is_empty(), "nothing refused");
        let generation = phone.store.server_generation().expect("generation");
        assert_eq!(generation.as_deref(), marked["generation"].as_str(), "the new generation is known");
    }
    let held = on_server(&url);
    let missing: Vec<_> = acknowledged.difference(&held).collect();
    assert!(missing.is_empty(), "acknowledged before the restore, not on the restored server: {missing:?}");
    assert_eq!(held, acknowledged, "nothing more either");
    for phone in [&a, &b, &c] {
        ledger.assert_holds_exactly(
            &phone.store,
            server_op_ids_postgres(&url, phone.store.device_id()),
            "after the restore",
        );
        assert_eq!(on_phone(&phone.db_path()), held, "every phone holds the records the server holds");
    }
    assert_eq!(owed_on_server(&url, &account), OWED_FEN - collected, "each receipt debited once");
    // the account a pulled before c sent its receipt again is one debit behind until a's next
    // sync, as any phone is behind another's later push: one more round and all are equal
    for phone in [&a, &b, &c] {
        engine_for(phone, &server.url).sync_once().await.expect("the next sync");
    }
    let storage = PostgresStorage::open(&url).expect("the restored database");
    assert_converged(&storage, GRID, &[&a.store, &b.store, &c.store], "after the restore");
    let receipts = storage.grid_records(EntityKind::Receipt, GRID).expect("receipts");
    let numbers: BTreeSet<String> =
        receipts.iter().map(|r| r.value("receipt_no").as_str().unwrap_or_default().to_string()).collect();
    assert_eq!((receipts.len(), numbers.len()), (2, 2), "receipt numbers are unique: {numbers:?}");

    // c's forgotten book was re-claimed by its receipt; a book issued now carries the new tag
    let reclaimed = psql_at(&url, "SELECT count(*) FROM audit_log WHERE action = 'receipt_block_reclaimed'");
    assert_eq!(reclaimed.expect("audit"), "1");
    let c_book = c_receipt.receipt.receipt_no.rsplit_once('-').map(|(p, _)| format!("{p}-")).expect("a prefix");
    let owner = psql_at(&url, &format!("SELECT device_id FROM receipt_blocks WHERE prefix = '{c_book}'"));
    assert_eq!(owner.expect("owner"), c.store.device_id());
    let d = Phone::enrol(&server.url, &code_on(&url), Box::new(SystemClock)).await;
    d.sync().await;
    let new_receipt = d.collect(receipt(GRID, &account, &payer.id, ""));
    let new_book = new_receipt.receipt.receipt_no.rsplit_once('-').map(|(p, _)| p.to_string()).expect("a prefix");
    assert_eq!(new_book, format!("SJ{}{}", marked["book_tag"].as_str().unwrap_or("?"), &new_book[6..]));
    assert_eq!(new_book.len(), "SJ".len() + 4 + 6, "a book of the new generation carries its tag: {new_book}");
    d.sync().await;
    let numbers_now = storage.grid_records(EntityKind::Receipt, GRID).expect("receipts");
    assert_eq!(numbers_now.len(), 3, "d's receipt taken");
    drop(storage);
    drop(server);
}

fn code_on(url: &str) -> String {
    admin_pg(url, &["enrol-code", "--manager", "zhang"]).expect("enrol code")
}
