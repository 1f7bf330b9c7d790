//! The crash campaign, bounded: three phones (each its own process, `gridbook-phone`, on its own
//! SQLite file) push visits and household edits while the server process is SIGKILLed again and
//! again — mostly in the middle of a push, once a phone's outbox has drained part-way — and some
//! phones are SIGKILLed mid-sync too. After every kill, every op a phone counts as acknowledged is
//! on the server's disk exactly once; at the end, after a sync to quiet, nothing acknowledged is
//! lost, nothing is applied twice, every database passes `PRAGMA integrity_check` and every record
//! is the same on the server and on every phone.
//!
//! The randomness is seeded from `GRIDBOOK_CRASH_SEED` when set (to replay a failure), else from
//! the clock; every failure message names the seed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gridbook_core::testing::{household_n, visit};
use gridbook_core::*;
use gridbook_sync_server::SqliteStorage;
use gridbook_tests::campaign::{self, OpLedger};
use gridbook_tests::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const GRID: &str = "g1";
const PHONES: usize = 3;
const HOUSEHOLDS: u64 = 12;
const SERVER_KILLS: usize = 15;
/// Rounds in which a phone is killed too, before the server.
const PHONE_KILL_ROUNDS: [usize; 5] = [1, 4, 7, 10, 13];
/// Ops per push request of the phone processes: a round's push is several acknowledged steps.
const PUSH_BATCH: &str = "20";

fn seed() -> u64 {
    std::env::var("GRIDBOOK_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    })
}

fn pending_of(db: &Path) -> Option<i64> {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    conn.query_row("SELECT count(*) FROM outbox WHERE status = 'pending'", [], |r| r.get(0)).ok()
}

fn spawn_phone(db: &Path) -> Child {
    Command::new(phone_binary())
        .arg("sync")
        .arg(db)
        .arg(PUSH_BATCH)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn phone")
}

/// Waits until the phone process has sent `share` of what was pending when it started (or has
/// ended), at most `limit`: the moment to kill it or the server mid-push.
fn until_drained(child: &mut Child, db: &Path, start: i64, share: f64, limit: Duration) {
    let target = start - (start as f64 * share) as i64;
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) || pending_of(db).is_some_and(|p| p <= target) {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// One sync of a phone process to its end: `(pushed, pulled)` when it succeeded.
fn sync_phone(db: &Path) -> Option<(u64, u64)> {
    let out = spawn_phone(db).wait_with_output().expect("phone");
    if !out.status.success() {
        return None;
    }
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    Some((report["pushed"].as_u64()?, report["pulled"].as_u64()?))
}

/// Every phone syncs, one after another, until a whole round sends and receives nothing and the
/// server's change head stays put (`campaign::server_head` says why the reports alone are not enough).
fn sync_until_quiet(dbs: &[PathBuf], server_db: &Path, seed: u64) {
    for _ in 0..20 {
        let head = campaign::server_head(server_db);
        let mut quiet = true;
        for db in dbs {
            let (pushed, pulled) = (0..5)
                .find_map(|_| sync_phone(db))
                .unwrap_or_else(|| panic!("seed {seed}: {} does not sync with the server up", db.display()));
            quiet &= pushed == 0 && pulled == 0;
        }
        if quiet && campaign::server_head(server_db) == head {
            return;
        }
    }
    panic!("seed {seed}: the phones did not go quiet");
}

#[test]
fn servers_and_phones_killed_again_and_again_lose_nothing_acknowledged_and_apply_nothing_twice() {
    let seed = seed();
    eprintln!("crash campaign seed {seed} (GRIDBOOK_CRASH_SEED={seed} replays its draws)");
    let mut rng = StdRng::seed_from_u64(seed);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let server_db = dir.path().join("server.db");
    admin_cli(&server_db, &["create-grid", "--id", GRID, "--name", "一网格"]);
    admin_cli(&server_db, &["create-manager", "--id", "zhang", "--name", "张伟"]);
    admin_cli(&server_db, &["assign-grid", "--manager", "zhang", "--grid", GRID]);
    let mut server = ServerProcess::start(&server_db);
    let listen = server.url.trim_start_matches("http://").to_string();

    // the phones, enrolled; phone 0 writes the archive
    let dbs: Vec<PathBuf> = (0..PHONES).map(|n| dir.path().join(format!("phone{n}.db"))).collect();
    let mut ledger = OpLedger::default();
    let mut households = Vec::new();
    for (n, db) in dbs.iter().enumerate() {
        let code = admin_cli(&server_db, &["enrol-code", "--manager", "zhang"]);
        let store = Store::open(db).expect("phone store");
        runtime.block_on(sync::client::enrol(&store, &server.url, &code, "t", None)).expect("enrol");
        if n == 0 {
            for i in 0..HOUSEHOLDS {
                households.push(store.create_household(household_n(GRID, i)).expect("household").id);
            }
            ledger.note(&store);
        }
    }
    sync_until_quiet(&dbs, &server_db, seed);

    let mut visits = 0u64;
    let mut phone_kills = 0;
    let mut interrupted = 0;
    for round in 0..SERVER_KILLS {
        let context = format!("seed {seed}, round {round}");
        // offline work on every phone: visits, and edits of households the others edit too
        let mut pending = Vec::new();
        for (n, db) in dbs.iter().enumerate() {
            let store = Store::open(db).expect("phone store");
            for _ in 0..rng.gen_range(40..160) {
                let mut v = visit(GRID, &households[rng.gen_range(0..households.len())]);
                v.arrived_at_ms += rng.gen_range(0..86_400_000);
                v.outcome = format!("第{round}轮 手机{n}");
                store.record_visit(v).expect("visit");
                visits += 1;
            }
            for _ in 0..rng.gen_range(1..4) {
                let id = &households[rng.gen_range(0..3)];
                let mut h = store.household(id, Reveal::Full { purpose: "test".into() }).expect("household");
                h.customer_name = format!("王芳{round}-{n}");
                h.floor = Some(rng.gen_range(1..=18));
                store.update_household(h).expect("edit");
            }
            ledger.note(&store);
            pending.push(store.outbox_counts().expect("counts").pending as i64);
        }

        // every phone syncs as its own process; a phone, then the server, is killed mid-way
        let mut children: Vec<Child> = dbs.iter().map(|db| spawn_phone(db)).collect();
        if PHONE_KILL_ROUNDS.contains(&round) {
            let victim = rng.gen_range(0..PHONES);
            until_drained(&mut children[victim], &dbs[victim], pending[victim], rng.gen_range(0.1..0.7), limit());
            let _ = children[victim].kill();
            phone_kills += 1;
        }
        if rng.gen_bool(0.25) {
            // at any moment: starting up, mid-push or mid-pull
            std::thread::sleep(Duration::from_millis(rng.gen_range(0..40)));
        } else {
            let watched = rng.gen_range(0..PHONES);
            until_drained(&mut children[watched], &dbs[watched], pending[watched], rng.gen_range(0.1..0.9), limit());
        }
        server.kill();
        for child in &mut children {
            // a phone killed, or one whose server died under it, ends without success
            interrupted += child.wait().map_or(1, |status| usize::from(!status.success()));
        }

        // whatever any phone counts as acknowledged is on the dead server's disk, once
        for db in &dbs {
            assert_eq!(campaign::integrity_check(db), "ok", "{context}: {}", db.display());
            let store = Store::open(db).expect("phone store");
            ledger.assert_acknowledged_on_server(&store, &server_db, &context);
        }
        server = ServerProcess::start_at(&server_db, &listen);
    }

    sync_until_quiet(&dbs, &server_db, seed);
    server.kill();
    let context = format!("seed {seed}");
    assert_eq!(campaign::integrity_check(&server_db), "ok", "{context}: server");
    let stores: Vec<Store> = dbs.iter().map(|db| Store::open(db).expect("phone store")).collect();
    for (store, db) in stores.iter().zip(&dbs) {
        assert_eq!(campaign::integrity_check(db), "ok", "{context}: {}", db.display());
        let rejected = campaign::assert_outbox_settled(store, &context);
        assert!(rejected.is_empty(), "{context}: rejected after crashes: {rejected:?}");
        ledger.assert_server_holds_exactly(store, &server_db, &context);
    }
    let visits_on_server = campaign::server_count(&server_db, "SELECT count(*) FROM entities WHERE kind = 'visit'");
    assert_eq!(visits_on_server as u64, visits, "{context}: visits on the server");
    let storage = SqliteStorage::open(&server_db).expect("server storage");
    campaign::assert_converged(&storage, GRID, &stores.iter().collect::<Vec<_>>(), &context);
    eprintln!(
        "{context}: {SERVER_KILLS} server kills, {phone_kills} phone kills, {interrupted} syncs interrupted, {} ops \
         ({visits} visits) converged",
        ledger.total()
    );
    // the campaign is not empty: kills wait for a push to be part-way, so syncs were cut short
    assert!(interrupted > 0, "{context}: no kill landed in a sync");
}

/// The longest wait for a phone process to reach its kill point; a quicker phone is killed (or
/// the server under it) when it has ended, which the checks allow.
fn limit() -> Duration {
    Duration::from_secs(10)
}
