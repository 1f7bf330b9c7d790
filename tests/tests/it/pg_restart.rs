//! PostgreSQL restarted under load (issue 15): two replica processes on a cluster of the test's
//! own, phones pushing through both; the cluster stops (a fast shutdown cuts every session) while
//! they push. Meanwhile each replica answers `503 unavailable` with `Retry-After` (a pull, the
//! health check), never a 500; once the cluster is back the replicas connect again by themselves,
//! the live-change relay between them too, the phones carry on, and at the end every phone equals
//! the server, every acknowledged op is on it exactly once, and nothing was applied twice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use gridbook_core::testing::household_n;
use gridbook_core::{SyncEngine, SystemClock};
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::storage::postgres::test_cluster::TestCluster;
use gridbook_sync_server::{now_ms, SyncStorage};
use gridbook_tests::campaign::{assert_converged, assert_outbox_settled, server_op_ids_postgres, OpLedger};
use gridbook_tests::{caught_up, until_changes_waiting, work_on, Phone, Replicas};
use rand::SeedableRng;

const GRID: &str = "g1";

/// Syncs until a cycle succeeds (the cluster may still be coming back): the phone's own wait
/// after a 503 (`Retry-After`) or a lost connection, a bounded number of times.
async fn sync_eventually(engine: &SyncEngine, context: &str) {
    let mut last = String::new();
    for _ in 0..60 {
        match engine.sync_once().await {
            Ok(_) => return,
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{context}: the phone never synced again: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_answer_503_while_postgresql_restarts_then_carry_on_and_nothing_acknowledged_is_lost() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    // a cluster of this test's own: the others' (shared) cluster is never stopped
    let cluster = TestCluster::start().expect("PostgreSQL 15 for the tests (.ci/install-tools)");
    let url = cluster.create_database().expect("database");
    let replicas = Replicas::start_on(url.clone(), |storage| {
        storage.create_grid(GRID, "幸福里网格", now_ms()).expect("grid");
        storage.create_manager("zhang", "张伟", Role::Field, None, now_ms()).expect("manager");
        storage.assign_grid("zhang", GRID).expect("assign");
    });
    let mut phones = Vec::new();
    for url in [&replicas.a.url, &replicas.b.url, &replicas.a.url, &replicas.b.url] {
        let code = replicas.storage.create_enrol_code("zhang", now_ms(), 3_600_000).expect("code");
        phones.push(Phone::enrol(url, &code, Box::new(SystemClock)).await);
    }
    let mut ledger = OpLedger::default();
    for phone in &phones {
        work_on(phone, GRID, 3, &mut rng);
        ledger.note(&phone.store);
        sync_eventually(&phone.engine, "before the restart").await;
    }

    // the phones push in rounds while the cluster stops, stays down, and starts again
    let stopping = AtomicBool::new(false);
    let ledger = std::sync::Mutex::new(ledger);
    let rngs: Vec<_> = (0..phones.len() as u64).map(|n| rand::rngs::StdRng::seed_from_u64(100 + n)).collect();
    let load = async {
        let mut rngs = rngs;
        let mut rounds = 0;
        while !stopping.load(Ordering::SeqCst) || rounds < 3 {
            for (phone, rng) in phones.iter().zip(rngs.iter_mut()) {
                work_on(phone, GRID, 20, rng);
                ledger.lock().expect("ledger").note(&phone.store);
            }
            // failures are expected while the cluster is down: the phones keep their ops
            let _ = tokio::join!(
                phones[0].engine.sync_once(),
                phones[1].engine.sync_once(),
                phones[2].engine.sync_once(),
                phones[3].engine.sync_once(),
            );
            rounds += 1;
        }
    };
    // the probes' own device: the loaded phones' request budgets are theirs
    let prober = Phone::enrol(
        &replicas.a.url,
        &replicas.storage.create_enrol_code("zhang", now_ms(), 3_600_000).expect("code"),
        Box::new(SystemClock),
    )
    .await;
    let token = prober.config.token.clone();
    let outage = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        tokio::task::block_in_place(|| cluster.pause()).expect("pause");
        // while it is down, each replica answers 503 with a wait, not a 500
        let http = reqwest::Client::new();
        for replica in [&replicas.a.url, &replicas.b.url] {
            let pull = http.get(format!("{replica}/v1/pull")).bearer_auth(&token).send().await.expect("pull");
            assert_eq!(pull.status().as_u16(), 503, "{replica}: a pull while PostgreSQL is down");
            assert!(pull.headers().get("retry-after").is_some(), "{replica}: 503 says when to ask again");
            let body: serde_json::Value = pull.json().await.expect("error body");
            assert_eq!(body["code"], "unavailable");
            let health = http.get(format!("{replica}/health")).send().await.expect("health");
            assert_eq!(health.status().as_u16(), 503, "{replica}: health while PostgreSQL is down");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        tokio::task::block_in_place(|| cluster.resume()).expect("resume");
        stopping.store(true, Ordering::SeqCst);
    };
    tokio::join!(load, outage);
    let ledger = ledger.into_inner().expect("ledger");

    // the replicas reconnected: a phone waiting on B is woken by a push on A (the relay is back)
    for phone in &phones {
        sync_eventually(&phone.engine, "after the restart").await;
    }
    let mut ledger = ledger;
    phones[0].store.create_household(household_n(GRID, 7)).expect("household");
    ledger.note(&phones[0].store);
    // B's phone has every change so far: its wait can only end by a new one, or time out
    caught_up(&phones[1]).await;
    let waiting = phones[1].engine.wait_for_changes(25);
    let push = async {
        until_changes_waiting(&replicas.b.url, 1).await;
        sync_eventually(&phones[0].engine, "the push after the restart").await;
    };
    let (changed, ()) = tokio::join!(waiting, push);
    assert!(changed.expect("wait on B"), "the live-change relay reconnected after the restart");

    // everyone syncs until nothing is left: every phone holds what the server holds, every op once
    for _ in 0..2 {
        for phone in &phones {
            sync_eventually(&phone.engine, "the last syncs").await;
        }
    }
    let stores: Vec<_> = phones.iter().map(|p| p.store.as_ref()).collect();
    assert_converged(&replicas.storage, GRID, &stores, "after the restart");
    for phone in &phones {
        assert!(assert_outbox_settled(&phone.store, "after the restart").is_empty(), "nothing refused");
        let on_server = server_op_ids_postgres(&replicas.database_url, phone.store.device_id());
        ledger.assert_holds_exactly(&phone.store, on_server, "after the restart");
    }
    assert!(ledger.total() > 4 * 3 + 4 * 20 * 3, "the phones made ops through the restart: {}", ledger.total());
}
