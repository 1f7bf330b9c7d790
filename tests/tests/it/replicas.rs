//! Two server replicas on one PostgreSQL (issue 15): the real server binary as two processes
//! (`serve --database-url`, 127.0.0.1 port 0), phones spread across them and one alternating,
//! the same push sent to both at the same moment, and replica A killed (SIGKILL) in the middle of
//! pushes while the phones carry on through B. Always PostgreSQL: it starts a throwaway cluster
//! when GRIDBOOK_TEST_PG_URL names none (scripts/test-postgres.sh shares one).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::wire::{
    DeviceFacts, EnrolRequest, Op, OpAction, OpOutcome, PushRequest, PushResponse, PATH_PUSH, PROTOCOL_VERSION,
};
use gridbook_core::testing::{self, household_n};
use gridbook_core::{EntityKind, SyncConfig, SyncEngine, SystemClock};
use gridbook_sync_server::cli::admin::{self, AdminCommand};
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::{now_ms, RecordStorage, SyncStorage};
use gridbook_tests::campaign::{assert_converged, assert_outbox_settled, server_op_ids_postgres, OpLedger};
use gridbook_tests::{work_on, Phone, Replicas, ServerProcess};
use rand::{Rng, SeedableRng};

const GRID: &str = "g1";
const OWED_FEN: i64 = 1_000_000;

/// Two replicas on a database with grid g1 and its field manager zhang.
fn start() -> Replicas {
    Replicas::start(|storage| {
        storage.create_grid(GRID, "幸福里网格", now_ms()).expect("grid");
        storage.create_manager("zhang", "张伟", Role::Field, None, now_ms()).expect("manager");
        storage.assign_grid("zhang", GRID).expect("assign");
    })
}

fn code(replicas: &Replicas) -> String {
    replicas.storage.create_enrol_code("zhang", now_ms(), 3_600_000).expect("enrol code")
}

/// A phone enrolled through `url`, with an engine for each replica.
async fn phone(replicas: &Replicas, url: &str) -> (Phone, [SyncEngine; 2]) {
    let phone = Phone::enrol(url, &code(replicas), Box::new(SystemClock)).await;
    let engines = [&replicas.a.url, &replicas.b.url].map(|replica| {
        let config = SyncConfig { server_url: replica.clone(), ..phone.config.clone() };
        SyncEngine::new(phone.store.clone(), config).expect("engine")
    });
    (phone, engines)
}

async fn sync_ok(engine: &SyncEngine, context: &str) {
    if let Err(e) = engine.sync_once().await {
        panic!("{context}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn phones_on_two_replicas_converge_and_each_op_counts_once_while_one_replica_is_killed() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(15);
    let mut replicas = start();
    let (a_url, b_url) = (replicas.a.url.clone(), replicas.b.url.clone());
    let mut phones = Vec::new();
    for url in [&a_url, &a_url, &b_url, &a_url] {
        phones.push(phone(&replicas, url).await);
    }
    let mut ledger = OpLedger::default();
    let household = phones[0].0.store.create_household(household_n(GRID, 1)).expect("household");
    ledger.note(&phones[0].0.store);
    sync_ok(&phones[0].1[0], "the first household").await;
    let account = admin::run(
        &replicas.storage,
        AdminCommand::AddArrears {
            grid: GRID.into(),
            household: household.id.clone(),
            account_no: "ACC-1".into(),
            owed_fen: OWED_FEN,
            months: 2,
            service_number: String::new(),
            payment_type: "postpaid".into(),
        },
        now_ms(),
    )
    .expect("arrears");

    // rounds of work, every phone syncing at once through its replica
    for round in 0..3 {
        for (n, (phone, _)) in phones.iter().enumerate() {
            work_on(phone, GRID, 5 + n as u64, &mut rng);
            ledger.note(&phone.store);
        }
        // phones 0 and 1 through A, 2 through B, 3 alternating
        let alternating = &phones[3].1[round % 2];
        tokio::join!(
            sync_ok(&phones[0].1[0], "a round"),
            sync_ok(&phones[1].1[0], "a round"),
            sync_ok(&phones[2].1[1], "a round"),
            sync_ok(alternating, "a round"),
        );
    }
    // every phone collects money on the one account, on both replicas at once: numbers from its
    // own book (the first syncs brought one), every receipt debited
    let mut collected = 0;
    for (phone, engines) in &phones {
        sync_ok(&engines[1], "a receipt book").await;
        phone.collect(testing::receipt(GRID, &account, &household.id, ""));
        collected += 1;
        ledger.note(&phone.store);
    }
    tokio::join!(
        sync_ok(&phones[0].1[0], "receipts"),
        sync_ok(&phones[1].1[1], "receipts"),
        sync_ok(&phones[2].1[0], "receipts"),
        sync_ok(&phones[3].1[1], "receipts"),
    );

    // replica A killed in the middle of pushes, a few times; its phones carry on through B
    let a_listen = a_url.trim_start_matches("http://").to_string();
    for kill in 0..3 {
        for (phone, _) in &phones[..2] {
            work_on(phone, GRID, 120, &mut rng);
            ledger.note(&phone.store);
        }
        let delay = Duration::from_millis(rng.gen_range(0..60));
        let killer = async {
            tokio::time::sleep(delay).await;
            replicas.a.kill();
        };
        let (first, second, ()) = tokio::join!(phones[0].1[0].sync_once(), phones[1].1[0].sync_once(), killer);
        let context = format!("kill {kill} after {delay:?} (A answered: {}, {})", first.is_ok(), second.is_ok());
        for (phone, engines) in &phones[..2] {
            sync_ok(&engines[1], &context).await;
            ledger.assert_acknowledged_in(
                &phone.store,
                &server_op_ids_postgres(&replicas.database_url, phone.store.device_id()),
                &context,
            );
        }
        // A again, on its address, for the phones enrolled there
        replicas.a = ServerProcess::start_postgres(&replicas.database_url, replicas.dir.path(), &a_listen);
    }

    // everyone syncs until nothing is left; then every phone holds what the server holds
    for _ in 0..2 {
        for (n, (_, engines)) in phones.iter().enumerate() {
            sync_ok(&engines[n % 2], "the last syncs").await;
        }
    }
    let stores: Vec<_> = phones.iter().map(|(p, _)| p.store.as_ref()).collect();
    assert_converged(&replicas.storage, GRID, &stores, "two replicas");
    for (phone, _) in &phones {
        assert!(assert_outbox_settled(&phone.store, "two replicas").is_empty(), "nothing refused");
        let on_server = server_op_ids_postgres(&replicas.database_url, phone.store.device_id());
        ledger.assert_holds_exactly(&phone.store, on_server, "two replicas");
    }
    assert_eq!(
        replicas.count("SELECT count(*) FROM (SELECT op_id FROM op_log GROUP BY op_id HAVING count(*) > 1) d"),
        0
    );
    // receipt numbers unique, every receipt debited once
    let receipts = replicas.storage.grid_records(EntityKind::Receipt, GRID).expect("receipts");
    assert_eq!(receipts.len(), collected);
    let numbers: std::collections::BTreeSet<_> =
        receipts.iter().map(|r| r.value("receipt_no").as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(numbers.len(), collected, "receipt numbers are unique: {numbers:?}");
    let accounts = replicas.storage.grid_records(EntityKind::ArrearsAccount, GRID).expect("accounts");
    let owed = accounts.iter().find(|a| a.id == account).and_then(|a| a.value("owed_fen").as_i64());
    assert_eq!(owed, Some(OWED_FEN - 12_800 * collected as i64), "each receipt lowered the account once");
    drop(replicas.b);
}

/// The same push sent to both replicas at the same moment (a phone that timed out on one and
/// retried on the other): applied once, both answers agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_push_on_both_replicas_at_once_is_applied_once_and_both_answers_agree() {
    let replicas = start();
    let device = "twice_phone";
    let token = replicas
        .storage
        .enrol(
            &EnrolRequest {
                protocol: PROTOCOL_VERSION,
                code: code(&replicas),
                device_id: device.into(),
                app_version: "test-1.0".into(),
                public_key: None,
            },
            now_ms(),
        )
        .expect("enrol")
        .token;
    let http = reqwest::Client::new();
    for attempt in 0..5u64 {
        let h = household_n(GRID, 100 + attempt);
        let id = format!("hh-twice-{attempt}");
        let at = now_ms() as u64;
        let create = Op {
            id: uuid::Uuid::now_v7(),
            kind: EntityKind::Household,
            entity: id.clone(),
            grid: GRID.into(),
            action: OpAction::Create,
            fields: testing::fields_of(&h).expect("fields"),
            hlc: Hlc::new(at, 0, device),
        };
        let mut fields = serde_json::Map::new();
        fields.insert("mobile".into(), serde_json::json!("13800138000"));
        let update = Op {
            id: uuid::Uuid::now_v7(),
            action: OpAction::Update,
            fields,
            hlc: Hlc::new(at, 1, device),
            ..create.clone()
        };
        let request = Arc::new(PushRequest {
            protocol: PROTOCOL_VERSION,
            facts: DeviceFacts { app_version: "test-1.0".into(), wall_clock_ms: now_ms(), ..Default::default() },
            ops: vec![create, update],
        });
        let send = |url: String| {
            let (http, token, request) = (http.clone(), token.clone(), request.clone());
            async move {
                let resp = http
                    .post(format!("{url}{PATH_PUSH}"))
                    .bearer_auth(&token)
                    .json(request.as_ref())
                    .send()
                    .await
                    .expect("push");
                assert!(resp.status().is_success(), "push: {}", resp.status());
                resp.json::<PushResponse>().await.expect("push answer")
            }
        };
        let (on_a, on_b) = tokio::join!(send(replicas.a.url.clone()), send(replicas.b.url.clone()));
        let ids = |r: &PushResponse| r.results.iter().map(|x| x.op_id).collect::<Vec<_>>();
        assert_eq!(ids(&on_a), ids(&on_b), "attempt {attempt}: both answer the same ops");
        for (a, b) in on_a.results.iter().zip(&on_b.results) {
            let taken = |o: &OpOutcome| matches!(o, OpOutcome::Applied | OpOutcome::AlreadyHad);
            assert!(taken(&a.outcome) && taken(&b.outcome), "attempt {attempt}: {a:?} / {b:?}");
            assert!(
                !(a.outcome == OpOutcome::Applied && b.outcome == OpOutcome::Applied),
                "attempt {attempt}: applied on both replicas: {a:?} / {b:?}"
            );
        }
        let stored = replicas.storage.grid_records(EntityKind::Household, GRID).expect("households");
        let record = stored.iter().find(|s| s.id == id).expect("stored once");
        assert_eq!(record.value("mobile"), &serde_json::json!("13800138000"), "attempt {attempt}");
        let op_rows: BTreeMap<String, i64> = server_op_ids_postgres(&replicas.database_url, device);
        assert!(op_rows.values().all(|n| *n == 1), "attempt {attempt}: an op recorded twice: {op_rows:?}");
        assert_eq!(op_rows.len() as u64, 2 * (attempt + 1), "attempt {attempt}: every op recorded");
    }
    assert_eq!(replicas.count("SELECT count(*) FROM conflicts"), 0, "no op merged against itself");
}

/// How many times `needle` occurs in the log at `path` (empty while nothing was written).
fn occurrences(path: &std::path::Path, needle: &str) -> usize {
    std::fs::read_to_string(path).unwrap_or_default().matches(needle).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_rebuilding_one_scope_in_one_snapshot_directory_both_succeed_and_phones_always_get_a_whole_file() {
    let database_url = gridbook_tests::postgres_database();
    let storage = gridbook_sync_server::PostgresStorage::open(&database_url).expect("the database");
    storage.create_grid(GRID, "幸福里网格", now_ms()).expect("grid");
    storage.create_manager("zhang", "张伟", Role::Field, None, now_ms()).expect("manager");
    storage.assign_grid("zhang", GRID).expect("assign");
    // a file whose build takes a while, so that the two replicas' builds overlap
    let households = testing::workload_households(GRID).expect("households");
    storage.apply_backoffice_ops(&households, now_ms()).expect("households stored");
    let dir = tempfile::tempdir().expect("temp dir");
    // every second each replica finds the scope's file stale (any age is too old) and rebuilds
    // it: two builds of one scope in one directory, over and over
    let env = [
        ("GRIDBOOK_SNAPSHOT_REFRESH_S", "1"),
        ("GRIDBOOK_SNAPSHOT_MAX_AGE_S", "0"),
        ("GRIDBOOK_SNAPSHOT_MIN_RECORDS", "1"),
        ("GRIDBOOK_LOG", "info"),
    ];
    let logs = [dir.path().join("a.log"), dir.path().join("b.log")];
    let replicas = [
        ServerProcess::start_postgres_logged(&database_url, dir.path(), "127.0.0.1:0", &env, Some(&logs[0])),
        ServerProcess::start_postgres_logged(&database_url, dir.path(), "127.0.0.1:0", &env, Some(&logs[1])),
    ];
    // fresh phones take the file from either replica while both keep replacing it
    let mut phones = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while logs.iter().any(|log| occurrences(log, "snapshot file built") < 8) {
        assert!(std::time::Instant::now() < deadline, "the replicas did not rebuild the file 8 times each");
        let url = &replicas[phones % 2].url;
        let code = storage.create_enrol_code("zhang", now_ms(), 3_600_000).expect("enrol code");
        let phone = Phone::enrol(url, &code, Box::new(SystemClock)).await;
        let report = phone.engine.sync_once().await.expect("a fresh phone's first sync");
        assert_eq!(report.snapshot_file_error, None, "phone {phones} on {url}");
        assert_eq!(report.snapshot_file_rows, households.len() as u64, "phone {phones} took the whole file");
        phones += 1;
    }
    for log in &logs {
        let text = std::fs::read_to_string(log).expect("log");
        assert!(!text.contains("refresh failed") && !text.contains("rebuild failed"), "{}:\n{text}", log.display());
    }
    drop(replicas);
    // what the description names is there, whichever replica wrote it last
    let scope = dir
        .path()
        .join("snapshots")
        .join(gridbook_sync_server::domain::snapshot_files::SnapshotFiles::scope_key(&[GRID.to_string()]));
    let current: serde_json::Value =
        serde_json::from_slice(&std::fs::read(scope.join("current.json")).expect("description")).expect("json");
    assert!(scope.join(current["file"].as_str().expect("file")).exists(), "the described file is there");
    assert!(phones >= 2, "phones took the file from both replicas");
}
