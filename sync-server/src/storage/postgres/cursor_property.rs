//! The change cursor's property on a real PostgreSQL (cursor.rs): writers on separate connections
//! commit (or roll back) in an order of their own, with random delays inside their transactions,
//! while pagers page at random limits; once the writers are done and the pagers caught up, every
//! pager was served every record's last committed version — no commit was skipped by a cursor
//! that had already passed its number.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::cursor::Numbers;
use super::pool::RowExt;
use super::test_cluster::TestCluster;
use super::{pull, PostgresStorage};
use crate::storage::SyncStorage;

const WRITERS: usize = 4;
const TRANSACTIONS: usize = 12;
const RECORDS: u32 = 40;

/// One writer: transactions of 1 to 4 writes (new records and new versions of old ones), each
/// with pauses before and after its writes, a fifth of them rolled back. Answers what it
/// committed: record id → version.
fn writer(s: &PostgresStorage, seed: u64, who: usize) -> HashMap<String, i64> {
    let mut rng = StdRng::seed_from_u64(seed ^ (who as u64 * 7919));
    let mut committed = HashMap::new();
    for t in 0..TRANSACTIONS {
        let version = (who * 1_000 + t) as i64;
        // in one order in every transaction: writers wait for each other's rows, never deadlock
        let mut ids: Vec<String> =
            (0..rng.gen_range(1..=4)).map(|_| format!("r{:02}", rng.gen_range(0..RECORDS))).collect();
        ids.sort();
        ids.dedup();
        let pause = |rng: &mut StdRng| std::thread::sleep(Duration::from_millis(rng.gen_range(0..25)));
        let rollback = rng.gen_bool(0.2);
        let mut conn = s.db.conn().expect("connection");
        let tx = s.db.wait(conn.transaction()).expect("begin");
        let mut numbers = Numbers::begin(&s.db, &tx).expect("xid");
        pause(&mut rng);
        for id in &ids {
            // the same upsert the push path makes: a new version gets a new number
            s.db.execute(
                &tx,
                "INSERT INTO entities (kind, id, grid_id, vals, clocks, seq, updated_at_ms) VALUES ('household', $1, 'g1', $2, '{}', $3, 0)
                 ON CONFLICT (kind, id) DO UPDATE SET vals = excluded.vals, seq = excluded.seq",
                &[id, &format!("{{\"v\":{version}}}"), &numbers.next().expect("number")],
            )
            .expect("write");
        }
        pause(&mut rng);
        if rollback {
            s.db.wait(tx.rollback()).expect("rollback");
        } else {
            s.db.wait(tx.commit()).expect("commit");
            for id in ids {
                committed.insert(id, version);
            }
        }
    }
    committed
}

/// One pager: pages from 0 at random limits until told to stop and caught up; answers the last
/// version it was served of each record.
fn pager(s: &PostgresStorage, seed: u64, done: &AtomicBool) -> HashMap<String, i64> {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(31));
    let grids = vec!["g1".to_string()];
    let (mut cursor, mut served) = (0u64, HashMap::new());
    loop {
        let finished = done.load(Ordering::SeqCst);
        let page = pull::page(s, &grids, cursor, rng.gen_range(1..=7), 0).expect("page");
        assert!(page.next_cursor >= cursor);
        cursor = page.next_cursor;
        for change in &page.changes {
            let v: serde_json::Value = serde_json::from_str(change.values.get()).expect("values");
            served.insert(change.id.clone(), v["v"].as_i64().expect("version"));
        }
        if finished && !page.has_more {
            return served;
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..5)));
    }
}

#[test]
fn every_committed_change_reaches_every_pager_whatever_the_commit_order() {
    let cluster = TestCluster::shared().expect("PostgreSQL 15 for the tests (.ci/install-tools)");
    for seed in [1u64, 2, 3] {
        let url = cluster.create_database().expect("database");
        let s = PostgresStorage::open(&url).expect("storage");
        s.create_grid("g1", "一网格", 0).expect("grid");
        let done = AtomicBool::new(false);
        let committed = Mutex::new(HashMap::new());
        let served: Vec<HashMap<String, i64>> = std::thread::scope(|scope| {
            let pagers: Vec<_> = (0..3)
                .map(|p| {
                    scope.spawn({
                        let (s, done) = (&s, &done);
                        move || pager(s, seed * 10 + p, done)
                    })
                })
                .collect();
            let writers: Vec<_> = (0..WRITERS)
                .map(|w| {
                    scope.spawn({
                        let s = &s;
                        move || writer(s, seed, w)
                    })
                })
                .collect();
            for w in writers {
                // a record's last version is the one written by the transaction that committed last
                for (id, version) in w.join().expect("writer") {
                    committed.lock().expect("lock").entry(id).or_insert_with(Vec::new).push(version);
                }
            }
            done.store(true, Ordering::SeqCst);
            pagers.into_iter().map(|p| p.join().expect("pager")).collect()
        });
        // what the database holds is what was committed last; every pager must have been served it
        let conn = s.db.conn().expect("connection");
        let stored: HashMap<String, i64> =
            s.db.query(&conn, "SELECT id, vals FROM entities WHERE grid_id = 'g1'", &[])
                .expect("rows")
                .iter()
                .map(|r| {
                    let vals: String = r.at(1).expect("vals");
                    let v: serde_json::Value = serde_json::from_str(&vals).expect("json");
                    (r.at::<String>(0).expect("id"), v["v"].as_i64().expect("version"))
                })
                .collect();
        let committed = committed.into_inner().expect("lock");
        assert!(!stored.is_empty(), "seed {seed}: something was committed");
        for (id, version) in &stored {
            assert!(committed[id].contains(version), "seed {seed}: {id} holds a committed version");
        }
        for (p, seen) in served.iter().enumerate() {
            assert_eq!(seen, &stored, "seed {seed}: pager {p} was served every record's last version");
        }
    }
}
