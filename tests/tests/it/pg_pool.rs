//! A replica's PostgreSQL pool size (`serve --pg-pool-size` / `GRIDBOOK_PG_POOL_SIZE`, issue 15):
//! the real server binary on a new database, phones pushing at once, and the replica's connections
//! counted in PostgreSQL's own `pg_stat_activity` by their `application_name`; and a size out of
//! bounds refused at start with a typed error in both languages. Always PostgreSQL.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gridbook_core::SystemClock;
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::storage::postgres::pool_application_name;
use gridbook_sync_server::storage::postgres::test_cluster::psql_at;
use gridbook_sync_server::{now_ms, PostgresStorage, SyncStorage};
use gridbook_tests::campaign::assert_outbox_settled;
use gridbook_tests::{postgres_database, server_binary, work_on, Phone, ServerProcess};
use rand::SeedableRng;

const GRID: &str = "g1";
const POOL: usize = 3;
const PHONES: usize = 12;

/// The connections of server process `pid`'s pool that PostgreSQL holds now.
fn pool_connections(url: &str, pid: u32) -> i64 {
    let sql =
        format!("SELECT count(*) FROM pg_stat_activity WHERE application_name = '{}'", pool_application_name(pid));
    psql_at(url, &sql).expect("pg_stat_activity").trim().parse().expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_never_holds_more_connections_than_its_pool_size_while_phones_push_at_once() {
    let url = postgres_database();
    let storage = PostgresStorage::open(&url).expect("storage");
    storage.create_grid(GRID, "幸福里网格", now_ms()).expect("grid");
    storage.create_manager("zhang", "张伟", Role::Field, None, now_ms()).expect("manager");
    storage.assign_grid("zhang", GRID).expect("assign");
    let dir = tempfile::tempdir().expect("dir");
    let pool = POOL.to_string();
    let server = ServerProcess::start_postgres_logged(
        &url,
        dir.path(),
        "127.0.0.1:0",
        &[("GRIDBOOK_PG_POOL_SIZE", &pool)],
        None,
    );
    let pid = server.child.id();

    let mut phones = Vec::new();
    for _ in 0..PHONES {
        let code = storage.create_enrol_code("zhang", now_ms(), 3_600_000).expect("code");
        phones.push(Phone::enrol(&server.url, &code, Box::new(SystemClock)).await);
    }
    // PostgreSQL's own count, sampled while the phones push: the most seen at any moment
    let (done, most) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicI64::new(0)));
    let sampler = {
        let (url, done, most) = (url.clone(), done.clone(), most.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                most.fetch_max(pool_connections(&url, pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(15);
    for _round in 0..3 {
        for phone in &phones {
            work_on(phone, GRID, 40, &mut rng);
        }
        let reports = futures_util::future::join_all(phones.iter().map(|p| p.engine.sync_once())).await;
        for report in reports {
            report.expect("every phone's cycle succeeds within the pool (none answered 503)");
        }
    }
    done.store(true, Ordering::Relaxed);
    sampler.join().expect("sampler");

    let most = most.load(Ordering::Relaxed);
    assert!(most <= POOL as i64, "the replica held {most} connections at once, its pool size is {POOL}");
    // idle connections stay in the pool: after 12 phones at once it filled up to its size, and
    // not past it (the default of 16 would show here as more than 3)
    assert_eq!(pool_connections(&url, pid), POOL as i64, "the pool after the pushes");
    for phone in &phones {
        assert!(assert_outbox_settled(&phone.store, "pool of 3").is_empty(), "nothing refused");
    }
}

#[test]
fn a_pool_size_out_of_bounds_stops_the_server_at_start_with_a_message_in_both_languages() {
    let url = postgres_database();
    for (flag, env) in [(Some("1"), None), (None, Some("257"))] {
        let mut command = std::process::Command::new(server_binary());
        command.args(["serve", "--listen", "127.0.0.1:0", "--database-url", &url]).env_remove("GRIDBOOK_PG_POOL_SIZE");
        if let Some(n) = flag {
            command.args(["--pg-pool-size", n]);
        }
        if let Some(n) = env {
            command.env("GRIDBOOK_PG_POOL_SIZE", n);
        }
        let out = command.output().expect("the server binary");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let n = flag.or(env).unwrap_or_default();
        assert_eq!(out.status.code(), Some(1), "refused at start: {stderr}");
        assert!(stderr.contains(&format!("--pg-pool-size {n}")), "names the option and the value: {stderr}");
        assert!(stderr.contains("连接池大小须在 2 到 256 之间"), "zh-CN: {stderr}");
        assert!(stderr.contains("the pool size must be 2 to 256"), "English: {stderr}");
    }
}
