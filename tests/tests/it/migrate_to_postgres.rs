//! The move from SQLite to PostgreSQL (issue 15, docs/postgres.md "Moving from SQLite"): phones
//! sync against the SQLite server binary, it stops, `admin migrate-to-postgres` copies its file,
//! the server starts on PostgreSQL at the same address, and the phones carry on with the cursors
//! they hold: each pulls exactly what it had not seen, nothing is sent twice, receipts, receipt
//! books and voids are intact, and everyone converges; the photo directory moves into PostgreSQL's
//! photo tables, each photo hashed first, and an upload cut by the move resumes from its next
//! chunk. Always PostgreSQL (a throwaway cluster when GRIDBOOK_TEST_PG_URL names none).

use std::process::Command;

use gridbook_core::photos::photo_sha256;
use gridbook_core::store::photos::PhotoOrigin;
use gridbook_core::sync::photo_upload::PhotoUploadReport;
use gridbook_core::sync::wire::PHOTO_CHUNK_BYTES;
use gridbook_core::testing::{self, household_n};
use gridbook_core::SystemClock;
use gridbook_sync_server::cli::admin::{self, AdminCommand};
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::storage::blobs::{BlobStore, DirBlobStore};
use gridbook_sync_server::storage::evidence::VoidDecision;
use gridbook_sync_server::storage::postgres::test_cluster::psql_at;
use gridbook_sync_server::{now_ms, PostgresStorage, SqliteStorage, SyncStorage};
use gridbook_tests::campaign::{assert_converged, assert_outbox_settled};
use gridbook_tests::{admin_cli, postgres_database, server_binary, Phone, ServerProcess};

const GRID: &str = "g1";

/// The rows of `sql` (one text column) on the SQLite file, one a line, sorted byte-wise (the two
/// engines' collations differ).
fn sqlite_rows(db: &std::path::Path, sql: &str) -> String {
    let conn = rusqlite::Connection::open(db).expect("server db");
    let mut statement = conn.prepare(sql).expect("statement");
    let rows: Vec<String> = statement.query_map([], |r| r.get(0)).expect("rows").map(|r| r.expect("row")).collect();
    sorted(&rows.join("\n"))
}

/// The same rows on PostgreSQL, sorted the same way.
fn pg_rows(url: &str, sql: &str) -> String {
    sorted(&psql_at(url, sql).expect("query"))
}

fn sorted(lines: &str) -> String {
    let mut lines: Vec<&str> = lines.lines().collect();
    lines.sort();
    lines.join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phones_synced_on_sqlite_carry_on_with_their_cursors_after_the_move_to_postgres() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("server.db");
    let codes: Vec<String> = {
        let s = SqliteStorage::open(&db).expect("sqlite");
        s.create_grid(GRID, "幸福里网格", now_ms()).expect("grid");
        s.create_manager("zhang", "张伟", Role::Field, None, now_ms()).expect("manager");
        s.assign_grid("zhang", GRID).expect("assign");
        s.create_manager("sup1", "主管", Role::Supervisor, None, now_ms()).expect("supervisor");
        (0..2).map(|_| s.create_enrol_code("zhang", now_ms(), 3_600_000).expect("code")).collect()
    };
    let mut server = ServerProcess::start(&db);
    let a = Phone::enrol(&server.url, &codes[0], Box::new(SystemClock)).await;
    let b = Phone::enrol(&server.url, &codes[1], Box::new(SystemClock)).await;

    // on SQLite: households and visits from both, an arrears account, receipts, one void
    // approved and one left pending
    let h = a.store.create_household(household_n(GRID, 1)).expect("household");
    a.store.record_visit(testing::visit(GRID, &h.id)).expect("visit");
    for n in 2..6 {
        b.store.create_household(household_n(GRID, n)).expect("household");
    }
    a.sync().await;
    b.sync().await;
    let account = {
        let s = SqliteStorage::open(&db).expect("sqlite");
        let command = AdminCommand::AddArrears {
            grid: GRID.into(),
            household: h.id.clone(),
            account_no: "ACC-1".into(),
            owed_fen: 30_000,
            months: 2,
            service_number: String::new(),
            payment_type: "postpaid".into(),
        };
        admin::run(&s, command, now_ms()).expect("arrears")
    };
    let report = a.sync().await;
    assert_eq!(report.receipt_numbers_left, 100, "a receipt book from SQLite");
    let first = a.collect(testing::receipt(GRID, &account, &h.id, "")).receipt;
    let second = a.collect(testing::receipt(GRID, &account, &h.id, "")).receipt;
    a.sync().await;
    let approved = a.store.void_receipt(&first.id, "金额录错，重开收据", "zhang").expect("void");
    let pending = a.store.void_receipt(&second.id, "客户要求作废", "zhang").expect("void");
    a.sync().await;
    {
        let s = SqliteStorage::open(&db).expect("sqlite");
        s.decide_void(&approved.id, VoidDecision::Approve, "sup1", "核实无误", now_ms()).expect("approve");
    }
    a.sync().await;
    b.sync().await;
    // A writes more that B has not pulled when the server stops
    for n in 10..13 {
        a.store.create_household(household_n(GRID, n)).expect("household");
    }
    a.sync().await;
    let b_cursor = b.store.pull_cursor().expect("cursor");
    assert!(b_cursor > 0);

    // photos: two of A's arrive whole (one given a thumbnail by the back office); one of B's,
    // three chunks long, has only its first chunk on the server when it stops
    let jpeg = |len: usize, seed: u8| -> Vec<u8> {
        let mut bytes: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
        bytes[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
        bytes
    };
    let whole: Vec<Vec<u8>> = vec![jpeg(1_000, 1), jpeg(PHOTO_CHUNK_BYTES + 17, 2)];
    for bytes in &whole {
        a.store.keep_photo(bytes, PhotoOrigin::Taken).expect("photo");
    }
    let mut sent = PhotoUploadReport::default();
    a.engine.upload_photos_into(&mut sent).await.expect("upload");
    assert_eq!(sent.bytes_sent, whole.iter().map(|b| b.len() as u64).sum::<u64>());
    let cut = jpeg(PHOTO_CHUNK_BYTES * 2 + 5, 3);
    let cut_sha = b.store.keep_photo(&cut, PhotoOrigin::Taken).expect("photo");
    let photo_dir = SqliteStorage::photo_dir_of(&db);
    let blobs = DirBlobStore::open(&photo_dir).expect("photo directory");
    blobs.put_chunk(&cut_sha, cut.len() as u64, 0, &cut[..PHOTO_CHUNK_BYTES]).expect("first chunk");
    // B noted the start before its first chunk went, as its upload does: it resumes by asking
    b.store.mark_photo_started(&cut_sha).expect("started");
    let shas: Vec<String> = whole.iter().map(|b| photo_sha256(b)).collect();
    blobs.put_thumbnail(&shas[0], b"a thumbnail").expect("thumbnail");
    // a file that does not hash to its name (a disk's bit rot) is left behind, and said so
    let rotten = photo_sha256(b"another photo");
    std::fs::create_dir_all(photo_dir.join("photos").join(&rotten[..2])).expect("dir");
    std::fs::write(photo_dir.join("photos").join(&rotten[..2]).join(&rotten), jpeg(900, 4)).expect("rotten");

    let entities = "SELECT seq || ' ' || kind || ' ' || id FROM entities ORDER BY seq";
    let books = "SELECT prefix || ' ' || book_no || ' ' || device_id || ' ' || first || '-' || last FROM receipt_blocks ORDER BY prefix";
    let voids = "SELECT void_id || ' ' || receipt_id || ' ' || status FROM void_reviews ORDER BY void_id";
    let receipts = "SELECT receipt_no || ' ' || receipt_id FROM receipt_numbers ORDER BY receipt_no";
    let ops = "SELECT op_id || ' ' || outcome FROM op_log ORDER BY op_id";
    let before: Vec<String> = [entities, books, voids, receipts, ops].iter().map(|q| sqlite_rows(&db, q)).collect();
    let generation = sqlite_rows(&db, "SELECT id FROM server_generation");
    let audit_rows = sqlite_rows(&db, "SELECT count(*) || '' FROM audit_log");
    server.kill();

    // the move
    let url = postgres_database();
    let out = admin_cli(&db, &["--database-url", &url, "migrate-to-postgres"]);
    let moved: serde_json::Value = serde_json::from_str(&out).expect("report JSON");
    assert_eq!(moved["generation"], generation.as_str());
    assert_eq!(moved["tables"]["devices"], 2, "{out}");
    let photos = &moved["photos"];
    assert_eq!(
        (photos["copied"].as_u64(), photos["thumbnails"].as_u64(), photos["chunks"].as_u64()),
        (Some(2), Some(1), Some(1)),
        "{out}"
    );
    assert_eq!(photos["bytes"].as_u64(), Some(whole.iter().map(|b| b.len() as u64).sum::<u64>()));
    assert_eq!(photos["refused"], serde_json::json!([rotten]));
    // each row holds the bytes of its address, the thumbnail with its photo
    let held = pg_rows(&url, "SELECT sha256 || ' ' || encode(sha256(bytes), 'hex') || ' ' || size || ' ' || (thumbnail IS NOT NULL) FROM photo_blobs");
    let expected_rows: Vec<String> = whole
        .iter()
        .zip(&shas)
        .enumerate()
        .map(|(i, (b, sha))| format!("{sha} {sha} {} {}", b.len(), i == 0))
        .collect();
    assert_eq!(held, sorted(&expected_rows.join("\n")));
    assert_eq!(
        pg_rows(&url, "SELECT sha256 || ' ' || idx || ' ' || octet_length(bytes) FROM photo_chunks"),
        format!("{cut_sha} 0 {PHOTO_CHUNK_BYTES}")
    );
    let after: Vec<String> = [entities, books, voids, receipts, ops].iter().map(|q| pg_rows(&url, q)).collect();
    for (what, (b, a)) in ["records and their change numbers", "receipt books", "voids", "receipt numbers", "ops"]
        .iter()
        .zip(before.iter().zip(&after))
    {
        assert!(!b.is_empty(), "{what}: nothing on SQLite");
        assert_eq!(b, a, "{what} carried as they were");
    }
    // a database that is no longer empty is refused, and nothing is written to it
    let again = Command::new(server_binary())
        .args(["admin", "--db"])
        .arg(&db)
        .args(["--database-url", &url, "migrate-to-postgres"])
        .output()
        .expect("admin");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(pg_rows(&url, "SELECT count(*) FROM entities"), before[0].lines().count().to_string());

    // the server on PostgreSQL, where phones were enrolled
    let listen = server.url.trim_start_matches("http://").to_string();
    let _pg_server = ServerProcess::start_postgres(&url, dir.path(), &listen);
    let storage = PostgresStorage::open(&url).expect("postgres");
    assert_eq!(storage.generation().id, generation, "the same server to the phones");

    // B's cursor from SQLite still means the same place: it pulls exactly A's last households
    let report = b.sync().await;
    assert_eq!((report.pushed, report.pulled), (0, 3), "B after the move: {report:?}");
    // in the same cycle B's upload cut by the move resumes from its second chunk, and the photo
    // arrives whole
    assert_eq!(report.photos_uploaded, 1, "{report:?}");
    assert_eq!(report.photo_bytes_sent, (cut.len() - PHOTO_CHUNK_BYTES) as u64, "not restarted from zero");
    assert_eq!(
        pg_rows(&url, &format!("SELECT encode(sha256(bytes), 'hex') FROM photo_blobs WHERE sha256 = '{cut_sha}'")),
        cut_sha
    );
    // A sends nothing again (same generation) and has nothing to pull
    let report = a.sync().await;
    assert_eq!((report.pushed, report.pulled), (0, 0), "A after the move: {report:?}");

    // more work on PostgreSQL: a receipt from the book issued on SQLite, the pending void decided
    let third = a.collect(testing::receipt(GRID, &account, &h.id, "")).receipt;
    for n in 20..24 {
        b.store.create_household(household_n(GRID, n)).expect("household");
    }
    storage.decide_void(&pending.id, VoidDecision::Approve, "sup1", "同意", now_ms()).expect("approve on PG");
    for _ in 0..2 {
        a.sync().await;
        b.sync().await;
    }
    assert_converged(&storage, GRID, &[&a.store, &b.store], "after the move");
    for phone in [&a, &b] {
        assert!(assert_outbox_settled(&phone.store, "after the move").is_empty(), "nothing rejected");
    }
    let receipt_nos = pg_rows(&url, "SELECT receipt_no FROM receipt_numbers");
    let expected = sorted(&[&first.receipt_no, &second.receipt_no, &third.receipt_no].map(|n| n.as_str()).join("\n"));
    assert_eq!(receipt_nos, expected, "each receipt once, numbered from the book of SQLite");
    // both voids approved, each credited once: the account owes what the third receipt left
    let owed = a.store.arrears_account(&account).expect("account").expect("on the phone").owed_fen;
    assert_eq!(owed, 30_000 - third.amount_fen);
    assert_eq!(
        pg_rows(&url, "SELECT status FROM void_reviews"),
        "approved\napproved",
        "the void carried and the one decided after"
    );
    // the audit log goes on after the copied rows: no id used twice
    let audit: i64 = audit_rows.parse().expect("count");
    assert!(audit > 0);
    assert_eq!(
        pg_rows(
            &url,
            "SELECT (count(*) > $n) AND count(*) = count(DISTINCT id) FROM audit_log"
                .replace("$n", &audit.to_string())
                .as_str()
        ),
        "t"
    );
}

#[test]
fn a_column_postgresql_has_no_place_for_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("server.db");
    SqliteStorage::open(&db).expect("sqlite").create_grid(GRID, "幸福里网格", now_ms()).expect("grid");
    rusqlite::Connection::open(&db)
        .expect("file")
        .execute_batch("ALTER TABLE grids ADD COLUMN colour TEXT")
        .expect("alter");
    let url = postgres_database();
    let e = gridbook_sync_server::storage::postgres::from_sqlite::migrate(&db, &url, None, None).expect_err("refused");
    assert!(e.message().contains("column grids.colour"), "{e}");
    assert_eq!(pg_rows(&url, "SELECT count(*) FROM grids"), "0", "nothing written");
}
