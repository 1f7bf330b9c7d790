//! Core store benchmarks (docs/benchmarks.md):
//! (a) recording one visit through the store API against a plain rusqlite insert of the same row
//!     in its own transaction (WAL, synchronous=NORMAL);
//! (b) applying 100k remote ops in batches of 1,000;
//! (c) applying one remote op to a store that holds 500k rows;
//! (d) the day's reminders (and the day plan) of a grid of 5,000 households with 5,000 billing
//!     profiles and 2,000 arrears accounts, beside another grid of 20,000 households;
//! (e) the encrypted store (SQLCipher): recording a visit (in (a), `store_api_encrypted`) and
//!     opening a store of 10,000 households through the software vault (key unwrap + first query).

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use gridbook_core::testing::{household_n, visit};
use gridbook_core::*;
use serde_json::{Map, Value};

fn fields_of<R: gridbook_core::model::Record>(record: &R) -> Map<String, Value> {
    gridbook_core::testing::fields_of(record).expect("a record's fields")
}

/// Remote ops as another phone would send them: households, and visits to them.
fn remote_ops(n: usize, node: &str, offset: usize) -> Vec<Op> {
    (0..n)
        .map(|i| {
            let seq = (offset + i) as u64;
            let (kind, fields) = if i % 2 == 0 {
                (EntityKind::Household, fields_of(&household_n("g1", seq)))
            } else {
                (EntityKind::Visit, fields_of(&visit("g1", &format!("h{seq}"))))
            };
            Op {
                id: uuid::Uuid::now_v7(),
                kind,
                entity: format!("{}-{seq}", kind.as_str()),
                grid: "g1".into(),
                action: OpAction::Create,
                fields,
                hlc: Hlc::new(1_700_000_000_000 + seq, 0, node),
            }
        })
        .collect()
}

fn record_visit(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("bench.db")).unwrap();
    let h = store.create_household(household_n("g1", 1)).unwrap();
    let template = visit("g1", &h.id);

    // the same row, straight into a table with the same columns and indexes, one transaction each
    let plain = gridbook_core::testing::plain_visits(&dir.path().join("plain.db")).unwrap();

    let sealed =
        Store::open_encrypted(dir.path().join("sealed.db"), store::encryption::DataKey::random().unwrap()).unwrap();
    let sealed_h = sealed.create_household(household_n("g1", 1)).unwrap();
    let sealed_template = visit("g1", &sealed_h.id);

    let mut group = c.benchmark_group("a_record_visit");
    group.bench_function("store_api", |b| b.iter(|| store.record_visit(template.clone()).unwrap()));
    group.bench_function("store_api_encrypted", |b| b.iter(|| sealed.record_visit(sealed_template.clone()).unwrap()));
    group.bench_function("plain_rusqlite_insert", |b| {
        b.iter(|| gridbook_core::testing::plain_insert_visit(&plain, &template).unwrap())
    });
    group.finish();
}

fn apply_100k(c: &mut Criterion) {
    let ops = remote_ops(100_000, "other", 0);
    let mut group = c.benchmark_group("b_apply_remote");
    group.sample_size(10).measurement_time(Duration::from_secs(30)).throughput(Throughput::Elements(ops.len() as u64));
    group.bench_function("100k_ops_in_batches_of_1000", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let store = Store::open(dir.path().join("b.db")).unwrap();
                (dir, store)
            },
            |(dir, store)| {
                for chunk in ops.chunks(1000) {
                    store.apply_remote_ops(chunk).unwrap();
                }
                (dir, store)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn apply_one_into_500k(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("big.db")).unwrap();
    let started = Instant::now();
    for n in 0..50 {
        store.apply_remote_ops(&remote_ops(10_000, "filler", n * 10_000)).unwrap();
    }
    eprintln!("filled 500k rows in {:.1} s", started.elapsed().as_secs_f64());
    let mut next = 1_000_000usize;
    let mut group = c.benchmark_group("c_apply_one");
    group.bench_function("one_op_into_500k_rows", |b| {
        b.iter_batched(
            || {
                next += 1;
                remote_ops(1, "late", next)
            },
            |op| store.apply_remote_ops(&op).unwrap(),
            BatchSize::SmallInput,
        )
    });
    // an edit of an existing archive (read, merge, write back), not only an insert
    let mut edit_n = 0u64;
    group.bench_function("one_field_edit_among_500k_rows", |b| {
        b.iter_batched(
            || {
                edit_n += 1;
                let mut fields = Map::new();
                fields.insert("notes".into(), Value::String(format!("复访{edit_n}")));
                vec![Op {
                    id: uuid::Uuid::now_v7(),
                    kind: EntityKind::Household,
                    entity: format!("household-{}", (edit_n * 7919 % 250_000) * 2),
                    grid: "g1".into(),
                    action: OpAction::Update,
                    fields,
                    hlc: Hlc::new(1_800_000_000_000 + edit_n, 0, "late"),
                }]
            },
            |op| {
                let r = store.apply_remote_ops(&op).unwrap();
                assert_eq!(r.applied, 1);
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// A back-office op creating `record` in `grid`.
fn backoffice<R: gridbook_core::model::Record>(record: &R, grid: &str, seq: u64) -> Op {
    gridbook_core::testing::backoffice_create(record, grid, 1_700_000_000_000 + seq).expect("an op")
}

fn reminders_of_a_grid(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("grid.db")).unwrap();
    let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let mut ops = Vec::new();
    for (grid, n) in [("g1", 5_000u64), ("g2", 20_000)] {
        for seq in 0..n {
            let mut h = household_n(grid, seq);
            h.id = format!("{grid}-h{seq}");
            h.birthday = format!("1970-{}", (start + chrono::Duration::days((seq * 37 % 365) as i64)).format("%m-%d"));
            ops.push(backoffice(&h, grid, seq));
            if grid == "g1" {
                let mut p = gridbook_core::testing::billing_profile(grid, &h.id, "2026-11");
                p.id = format!("bp-{seq}");
                p.contract_end =
                    (start + chrono::Duration::days((seq * 13 % 730) as i64)).format("%Y-%m-%d").to_string();
                p.spend_fen = if seq % 3 == 0 { 5_000 } else { 12_900 };
                p.suspension_risk = seq % 50 == 0;
                ops.push(backoffice(&p, grid, seq));
                if seq % 5 < 2 {
                    let mut a = gridbook_core::testing::account(grid, &h.id, if seq % 2 == 0 { 0 } else { 8_800 });
                    a.id = format!("acc-{seq}");
                    if seq % 2 == 0 {
                        a.payment_type = PaymentType::Prepaid;
                        a.balance_fen = Some((seq % 3000) as i64);
                    }
                    ops.push(backoffice(&a, grid, seq));
                }
            }
        }
    }
    for chunk in ops.chunks(5_000) {
        store.apply_remote_ops(chunk).unwrap();
    }
    let open = store.reminders("g1", "2026-11-22").unwrap().len();
    eprintln!("grid g1: {open} open reminders on 2026-11-22");
    let mut group = c.benchmark_group("d_reminders");
    group.bench_function("reminders_5k_households", |b| b.iter(|| store.reminders("g1", "2026-11-22").unwrap()));
    group.bench_function("day_plan_5k_households", |b| b.iter(|| store.day_plan("g1", "2026-11-22", 480).unwrap()));
    group.finish();
}

fn open_encrypted(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let vault = store::encryption::SoftwareVault::generate().unwrap();
    let path = dir.path().join("sealed.db");
    let plain_path = dir.path().join("plain.db");
    // 10,000 households and 10,000 visits, as pulled
    for store in [Store::open_sealed(&path, &vault).unwrap(), Store::open(&plain_path).unwrap()] {
        for chunk in remote_ops(20_000, "other", 0).chunks(1000) {
            store.apply_remote_ops(chunk).unwrap();
        }
    }
    let mut group = c.benchmark_group("e_open_store_10k_households");
    group.bench_function("encrypted_unwrap_and_first_query", |b| {
        b.iter(|| {
            let store = Store::open_sealed(&path, &vault).unwrap();
            store.outbox_counts().unwrap()
        })
    });
    group.bench_function("plaintext_first_query", |b| {
        b.iter(|| {
            let store = Store::open(&plain_path).unwrap();
            store.outbox_counts().unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, record_visit, apply_100k, apply_one_into_500k, reminders_of_a_grid, open_encrypted);
criterion_main!(benches);
