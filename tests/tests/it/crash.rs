//! Crashes: the server SIGKILLed in the middle of a push, a phone SIGKILLed in the middle of its
//! sync or of taking the snapshot file. Real processes, real SQLite files, real HTTP on 127.0.0.1.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gridbook_core::testing::{household_n, visit};
use gridbook_core::*;
use gridbook_tests::*;

fn server_count(db: &std::path::Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn setup_server(dir: &std::path::Path) -> (ServerProcess, String) {
    let db = dir.join("server.db");
    admin_cli(&db, &["create-grid", "--id", "g1", "--name", "一网格"]);
    admin_cli(&db, &["create-manager", "--id", "zhang", "--name", "张伟"]);
    admin_cli(&db, &["assign-grid", "--manager", "zhang", "--grid", "g1"]);
    let code = admin_cli(&db, &["enrol-code", "--manager", "zhang"]);
    (ServerProcess::start(&db), code)
}

/// Another phone fills grid g1 with `n` households and syncs them.
async fn fill_grid(server: &ServerProcess, code: &str, n: u64) {
    let filler = Phone::enrol(&server.url, code, Box::new(SystemClock)).await;
    for i in 0..n {
        filler.store.create_household(household_n("g1", i)).unwrap();
    }
    filler.sync().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_push_loses_no_acknowledged_op_and_applies_none_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, code) = setup_server(dir.path());
    let phone = Phone::enrol(&server.url, &code, Box::new(SystemClock)).await;
    let h = phone.store.create_household(household_n("g1", 1)).unwrap();
    const VISITS: u64 = 6_000;
    for n in 0..VISITS {
        let mut v = visit("g1", &h.id);
        v.arrived_at_ms += n as i64;
        phone.store.record_visit(v).unwrap();
    }
    let total = VISITS + 1;
    // small batches, so the kill lands between acknowledged batches and in the middle of one
    let engine =
        Arc::new(SyncEngine::new(phone.store.clone(), SyncConfig { push_batch: 200, ..phone.config.clone() }).unwrap());
    let running = tokio::spawn({
        let engine = engine.clone();
        async move { engine.sync_once().await }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pending = phone.store.outbox_counts().unwrap().pending;
        if pending < total - 1_000 {
            break;
        }
        assert!(Instant::now() < deadline, "the push did not progress");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill();
    let outcome = running.await.unwrap();
    assert!(outcome.is_err(), "the sync cannot have finished: the server was killed");
    let acknowledged = total - phone.store.outbox_counts().unwrap().pending;
    assert!(acknowledged > 0 && acknowledged < total, "killed mid-way: {acknowledged} of {total} acknowledged");

    // every acknowledged op is on disk on the server
    let on_server = server_count(&server.db, "SELECT count(*) FROM op_log") as u64;
    assert!(on_server >= acknowledged, "{on_server} ops on the server, {acknowledged} acknowledged");

    // restart on the same file; the phone finishes its sync against the new port
    let server = ServerProcess::start(&server.db);
    let engine =
        SyncEngine::new(phone.store.clone(), SyncConfig::new(&server.url, &phone.config.token, "test")).unwrap();
    let report = engine.sync_with_retry(3).await.unwrap();
    assert_eq!(phone.store.outbox_counts().unwrap().pending, 0);
    assert!(report.pushed >= total - acknowledged);
    assert_eq!(server_count(&server.db, "SELECT count(*) FROM op_log") as u64, total, "each op recorded exactly once");
    assert_eq!(server_count(&server.db, "SELECT count(*) FROM entities WHERE kind = 'visit'") as u64, VISITS);
    let seqs = server_count(&server.db, "SELECT count(DISTINCT seq) FROM entities");
    assert_eq!(seqs as u64, total, "no entity written twice under two sequence numbers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_killed_mid_sync_completes_on_the_next_sync() {
    let dir = tempfile::tempdir().unwrap();
    let (server, code) = setup_server(dir.path());
    fill_grid(&server, &code, 4_000).await;

    let db = server.db.clone();
    let code2 = admin_cli(&db, &["enrol-code", "--manager", "zhang"]);
    let phone_db = dir.path().join("phone.db");
    {
        let store = Store::open(&phone_db).unwrap();
        gridbook_core::sync::client::enrol(&store, &server.url, &code2, "t", None).await.unwrap();
        store.create_household(household_n("g1", 9_999)).unwrap();
    }
    // the phone app, as its own process (pages of 500), killed once the pull is under way
    let mut child = Command::new(phone_binary()).arg("sync").arg(&phone_db).stdout(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let cursor: Option<String> = rusqlite::Connection::open(&phone_db)
            .ok()
            .and_then(|c| c.query_row("SELECT value FROM meta WHERE key = 'pull_cursor'", [], |r| r.get(0)).ok());
        if cursor.is_some_and(|c| c != "0") {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the phone finished before it could be killed: {status}");
        }
        assert!(Instant::now() < deadline, "the phone's pull did not start");
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let store = Arc::new(Store::open(&phone_db).unwrap());
    let partial = store.all_states(EntityKind::Household).unwrap().len();
    assert!(partial > 1 && partial < 4_001, "killed mid-pull, yet {partial} households arrived");
    let config = sync::client::saved_config(&store, "t").unwrap().unwrap();
    SyncEngine::new(store.clone(), config).unwrap().sync_once().await.unwrap();
    assert_eq!(store.all_states(EntityKind::Household).unwrap().len(), 4_001);
    assert_eq!(store.outbox_counts().unwrap().pending, 0);
    assert_eq!(server_count(&db, "SELECT count(*) FROM entities WHERE kind = 'household'"), 4_001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_killed_while_it_takes_the_snapshot_file_keeps_its_own_rows_and_completes_on_the_next_sync() {
    let dir = tempfile::tempdir().unwrap();
    let (server, code) = setup_server(dir.path());
    fill_grid(&server, &code, 4_000).await;
    let db = server.db.clone();
    admin_cli(&db, &["build-snapshot-files"]);

    for round in 0..3 {
        let phone_db = dir.path().join(format!("fresh-{round}.db"));
        let download = std::path::PathBuf::from(format!("{}.snapshot-file", phone_db.display()));
        let code = admin_cli(&db, &["enrol-code", "--manager", "zhang"]);
        let (device_id, token) = {
            let store = Store::open(&phone_db).unwrap();
            let enrolled = gridbook_core::sync::client::enrol(&store, &server.url, &code, "t", None).await.unwrap();
            (store.device_id().to_string(), enrolled.token)
        };
        // the phone app as its own process, killed (unless it is quicker than the watch, then not
        // at all) as soon as the file starts to arrive, as its own rows go into the file (the
        // install), or once the file is in place (the log pull after it)
        let journal = std::path::PathBuf::from(format!("{}-journal", download.display()));
        let mut seen_download = false;
        let mut child = Command::new(phone_binary())
            .arg("sync")
            .arg(&phone_db)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            seen_download |= download.exists();
            let moment = match round {
                0 => download.exists(),
                1 => journal.exists(),
                _ => seen_download && !download.exists(),
            };
            if moment || child.try_wait().unwrap().is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "the phone did not start");
            std::thread::yield_now();
        }
        let _ = child.kill();
        child.wait().unwrap();

        // the store opens, is the phone's own, and is either untouched or the whole file
        let store = Arc::new(Store::open(&phone_db).unwrap());
        assert_eq!(store.device_id(), device_id, "round {round}");
        let config = sync::client::saved_config(&store, "t").unwrap().expect("still enrolled");
        assert_eq!(config.token, token);
        let households = store.all_states(EntityKind::Household).unwrap().len();
        assert!(
            (households == 0 && store.pull_cursor().unwrap() == 0)
                || (households == 4_000 && store.pull_cursor().unwrap() > 0),
            "round {round}: {households} households, cursor {}",
            store.pull_cursor().unwrap()
        );
        SyncEngine::new(store.clone(), config).unwrap().sync_once().await.unwrap();
        assert_eq!(store.all_states(EntityKind::Household).unwrap().len(), 4_000, "round {round}");
        assert_eq!(store.search_households("g1", "0731-00000042", 5).unwrap().len(), 1);
        assert!(!download.exists(), "round {round}: the download is gone");
    }
}
