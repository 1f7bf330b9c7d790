//! A bad network between phones and server: four phones (real SQLite stores) record visits, edit
//! the same households at the same time and collect an arrears receipt, and sync through a proxy
//! that cuts requests and answers, replays requests, delays and truncates (`fault_proxy`), until
//! quiet. Then every record is the same on every phone and on the server, every op each phone made
//! is on the server exactly once, and no outbox is wedged. Fixed seeds; a failure names its seed.

use std::path::Path;
use std::sync::Arc;

use gridbook_core::testing::{household_n, visit};
use gridbook_core::*;
use gridbook_sync_server::http::device_budget::BudgetConfig;
use gridbook_tests::campaign::{self, OpLedger};
use gridbook_tests::fault_proxy::{FaultMix, FaultProxy};
use gridbook_tests::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const GRID: &str = "g1";
const PHONES: usize = 4;
const HOUSEHOLDS: u64 = 6;
/// Rounds of changes, each followed by one sync of every phone at once through the faults.
const ROUNDS: usize = 6;
/// Sync attempts one phone may need to get one cycle through the faults before the test gives up
/// (at a third of connections failing and a few connections per cycle, a handful is typical).
const ATTEMPTS: usize = 200;

struct FieldPhone {
    phone: Phone,
    /// Its sync engine, pointed at the proxy instead of the server.
    engine: Arc<SyncEngine>,
}

impl FieldPhone {
    fn store(&self) -> &Store {
        &self.phone.store
    }

    fn household(&self, id: &str) -> Household {
        self.store().household(id, Reveal::Full { purpose: "test".into() }).expect("household")
    }
}

/// Syncs one phone until a cycle gets through the faults; its report.
async fn sync_through(phone: &FieldPhone, seed: u64) -> SyncReport {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        match phone.engine.sync_once().await {
            Ok(report) => return report,
            Err(e) => {
                assert!(sync::client::is_retryable(&e), "seed {seed}: a fault must only cause retryable errors: {e}");
                last = Some(e);
            }
        }
    }
    panic!("seed {seed}: {} never got a sync through in {ATTEMPTS} attempts: {last:?}", phone.store().device_id());
}

/// Every phone syncs, one after another, until a whole round sends and receives nothing and the
/// server's change head stays put (`campaign::server_head` says why the reports alone are not enough).
async fn sync_until_quiet(phones: &[FieldPhone], server_db: &Path, seed: u64) -> usize {
    for round in 1..=20 {
        let head = campaign::server_head(server_db);
        let mut quiet = true;
        for phone in phones {
            let report = sync_through(phone, seed).await;
            quiet &= report.pushed == 0 && report.pulled == 0;
        }
        if quiet && campaign::server_head(server_db) == head {
            return round;
        }
    }
    panic!("seed {seed}: the phones did not go quiet in 20 rounds");
}

async fn phones_converge_through_faults(seed: u64) {
    // no request budget: the phones retry at once after each fault, as many times as it takes,
    // where a real phone would back off (the budget has its own tests)
    let server = TestServer::start_with(|state| {
        *state = state.clone().with_device_budget(BudgetConfig { per_second: 0, burst: 0 });
    })
    .await;
    server.grid_with_manager(GRID, "zhang");
    server.grid_with_manager(GRID, "li");
    let proxy = FaultProxy::start(&server.url, seed, FaultMix::STORMY).await.expect("proxy");
    let server_db = server.dir.path().join("server.db");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut ledger = OpLedger::default();

    // enrolment goes straight to the server (a code is used once); every sync goes through the proxy
    let mut phones = Vec::new();
    for n in 0..PHONES {
        let phone = server.phone(if n % 2 == 0 { "zhang" } else { "li" }).await;
        // small batches and pages: more exchanges per cycle, so more of them meet a fault
        let config = SyncConfig { server_url: proxy.url.clone(), push_batch: 5, pull_limit: 7, ..phone.config.clone() };
        let engine = Arc::new(SyncEngine::new(phone.store.clone(), config).expect("engine"));
        phones.push(FieldPhone { phone, engine });
    }

    // the archive, from phone 0; an arrears account on the first household from billing
    let households: Vec<String> = (0..HOUSEHOLDS)
        .map(|i| phones[0].store().create_household(household_n(GRID, i)).expect("household").id)
        .collect();
    ledger.note(phones[0].store());
    sync_until_quiet(&phones, &server_db, seed).await;
    let account = server.arrears(GRID, &households[0], 25_600);
    sync_until_quiet(&phones, &server_db, seed).await;

    let mut visits = 0u64;
    let mut receipt_id = None;
    for round in 0..ROUNDS {
        for (n, phone) in phones.iter().enumerate() {
            for _ in 0..rng.gen_range(1..=3) {
                let mut v = visit(GRID, &households[rng.gen_range(0..households.len())]);
                v.arrived_at_ms += rng.gen_range(0..86_400_000);
                v.outcome = format!("第{round}轮 手机{n} 走访");
                phone.store().record_visit(v).expect("visit");
                visits += 1;
            }
            // phones 0 and 1 edit household 1 every round, the same field and each its own one;
            // the others edit a household drawn at random
            let target = if n < 2 { &households[1] } else { &households[rng.gen_range(0..households.len())] };
            let mut h = phone.household(target);
            h.customer_name = format!("王芳{round}-{n}");
            match n {
                0 => h.notes = format!("第{round}轮 晚上七点后在家"),
                1 => h.mobile = format!("1391111{round:02}{n:02}"),
                _ => h.floor = Some(rng.gen_range(1..=18)),
            }
            phone.store().update_household(h).expect("edit");
        }
        if round == 2 {
            // phone 2 collects the arrears on its own receipt number (issued by the server on a
            // sync through the faults), signed by the customer
            let collector = &phones[2];
            let mut refills = 0;
            while collector.store().next_receipt_no().expect("receipt numbers").is_none() {
                // the cycles' own refills may all have met a fault; ask again, as the app would
                refills += 1;
                assert!(refills <= ATTEMPTS, "seed {seed}: no receipt block came through");
                let _ = collector.engine.refill_receipt_numbers().await;
            }
            let number = collector.store().next_receipt_no().expect("receipt numbers").expect("a receipt block");
            let signed = collector.phone.collect(testing::receipt(GRID, &account, &households[0], &number));
            receipt_id = Some(signed.receipt.id);
        }
        for phone in &phones {
            ledger.note(phone.store());
        }
        // every phone syncs at once, once; some cycles fail part-way, as they would in the field
        let mut cycles = tokio::task::JoinSet::new();
        for phone in &phones {
            let engine = phone.engine.clone();
            cycles.spawn(async move { engine.sync_once().await });
        }
        while let Some(outcome) = cycles.join_next().await {
            if let Err(e) = outcome.expect("sync task") {
                assert!(sync::client::is_retryable(&e), "seed {seed}: {e}");
            }
        }
        // what the server acknowledged is on its disk, once
        for phone in &phones {
            ledger.assert_acknowledged_on_server(phone.store(), &server_db, &format!("seed {seed}, round {round}"));
        }
    }
    let quiet_after = sync_until_quiet(&phones, &server_db, seed).await;

    let context = format!("seed {seed}");
    let stores: Vec<&Store> = phones.iter().map(FieldPhone::store).collect();
    for store in &stores {
        let rejected = campaign::assert_outbox_settled(store, &context);
        // every change here is valid: a retry or a replay must never turn into a rejection
        assert!(rejected.is_empty(), "{context}: rejected after faults: {rejected:?}");
        ledger.assert_server_holds_exactly(store, &server_db, &context);
        // a receipt book whose answer was lost is the one the retry gets, not a second one
        let issued = campaign::server_count(
            &server_db,
            &format!("SELECT count(*) FROM receipt_blocks WHERE device_id = '{}'", store.device_id()),
        );
        assert_eq!(issued as usize, store.receipt_blocks().expect("blocks").len(), "{context}: books issued vs held");
    }
    campaign::assert_converged(server.storage.as_ref(), GRID, &stores, &context);
    let count = |sql: &str| campaign::server_count(&server_db, sql);
    assert_eq!(count("SELECT count(*) FROM entities WHERE kind = 'visit'") as u64, visits, "{context}");
    assert_eq!(count("SELECT count(*) FROM entities WHERE kind = 'receipt'"), 1, "{context}");
    let receipt_id = receipt_id.expect("a receipt was collected");
    for store in &stores {
        assert!(store.entity_state(EntityKind::Receipt, &receipt_id).expect("receipt").is_some(), "{context}");
    }
    // the concurrent edits of household 1: one name won everywhere, both phones' own fields stayed
    let h1 = phones[3].household(&households[1]);
    assert!(h1.notes.starts_with(&format!("第{}轮", ROUNDS - 1)), "{context}: {}", h1.notes);
    assert!(h1.mobile.starts_with(&format!("1391111{:02}", ROUNDS - 1)), "{context}: {}", h1.mobile);

    // the faults did happen, every kind of them, and requests reached the server more than once
    let faults = proxy.counts();
    eprintln!("{context}: {} ops, {visits} visits; {faults:?}; quiet after {quiet_after} rounds", ledger.total());
    for (name, n) in [
        ("cut requests", faults.cut_request),
        ("cut answers", faults.cut_response),
        ("replays", faults.replay),
        ("delays", faults.delay),
        ("truncations", faults.truncate),
    ] {
        assert!(n > 0, "{context}: no {name} in {faults:?}");
    }
    assert!(faults.upstream_requests > faults.pass, "{context}: {faults:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phones_converge_through_cuts_replays_delays_and_truncation_seed_7() {
    phones_converge_through_faults(7).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phones_converge_through_cuts_replays_delays_and_truncation_seed_2026() {
    phones_converge_through_faults(2026).await;
}
