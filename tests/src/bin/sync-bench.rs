//! Sync benchmarks over loopback, printed as `metric value unit` lines (docs/benchmarks.md):
//! initial sync of N households into a fresh phone against the physical limit (the same rows and
//! indexes, search index included, inserted straight into SQLite in one transaction, measured in
//! the same run); push ingest from 100 concurrent devices; write on A → visible on B; gzip'd bytes
//! per visit op. With `--pouchdb DIR` (a PouchDB peer directory passed with --pouchdb: its `run.sh`
//! and `workload.js`) it also runs that PouchDB peer on the same visits.
//! The initial sync is measured twice: row pages, and a fresh phone installing the server's
//! snapshot file (prebuilt, and built on request). Beside the latency (and alone with `--only
//! floor`), the machine's floor under it: a push waking a long poll with no storage, and one
//! durable SQLite commit on this disk (tests/src/floor.rs).
//!
//! With `--backend postgres` the same run also measures the server on PostgreSQL (a throwaway
//! cluster, as the PostgreSQL tests start it): push ingest by server processes, SQLite beside
//! PostgreSQL with one replica and with two (and each replica's peak RSS); write on A → visible
//! on B with B waiting on the live-change signal (`/v1/changes`) — the bare signal (`signal_`)
//! and the page in the wake-up alternated, each step timed — beside B polling, on both backends; a
//! fresh phone's first sync through a snapshot file served from PostgreSQL. Metrics of PostgreSQL
//! runs start `pg_`. `--alternations N` runs the PostgreSQL ingest one replica then two, N times,
//! with each run's CPU by replicas, PostgreSQL and the bench's clients, and PostgreSQL's commits.
//!
//!   cargo run --release -p gridbook-tests --bin sync-bench -- [--households 100000] [--devices 100]
//!       [--ops-per-device 2000] [--reps 50] [--pouchdb DIR --pouchdb-n 10000] [--backend postgres]
//!       [--alternations N] [--pg-pool-size 16,8,4] [--pg-split-pool] [--pg-split-cores] [--pg-only]
//!
//! `--pg-pool-size` sets each replica's PostgreSQL pool (the server's `--pg-pool-size`), several
//! sizes alternating in one run; with `--pg-split-pool` the size is the replicas' together (two
//! replicas half each, as an operator splits PostgreSQL's connections); `--pg-only` leaves out
//! the SQLite ingest before them. Each PostgreSQL ingest samples `pg_stat_activity` every 100 ms:
//! what the replicas' busy backends wait on (state, wait event), on average over the run.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gridbook_core::sync::wire::{DeviceFacts, Op, OpAction, PushRequest, PROTOCOL_VERSION};
use gridbook_core::testing::household_n;
use gridbook_core::*;
use gridbook_sync_server::http::device_budget::BudgetConfig;
use gridbook_tests::TestServer;
use serde_json::{json, Map, Value};

#[global_allocator]
static ALLOCATOR: gridbook_sync_server::Allocator = gridbook_sync_server::Allocator {};

struct Args {
    households: usize,
    devices: usize,
    ops_per_device: usize,
    reps: usize,
    pouchdb: Option<String>,
    pouchdb_n: usize,
    /// Runs one part only: wire, floor, latency, ingest or initial.
    only: Option<String>,
    /// Also on PostgreSQL (`--backend postgres`).
    postgres: bool,
    /// PostgreSQL ingest: one replica then two, this many times over (`--alternations N`), so
    /// that a load that changes during the run falls on both alike.
    alternations: usize,
    /// PostgreSQL ingest: each replica's pool size, one or several (`--pg-pool-size 16,8,4`);
    /// each alternation runs every size with one replica and with two. None: the server's default.
    pg_pool_sizes: Vec<usize>,
    /// The ingest on PostgreSQL only, without the SQLite runs before it (`--pg-only`).
    pg_only: bool,
    /// PostgreSQL ingest: the pool size is what all replicas hold together (`--pg-split-pool`),
    /// two replicas half each: PostgreSQL sees as many connections either way.
    pg_split_pool: bool,
    /// PostgreSQL ingest: the machine's cores are the replicas' together (`--pg-split-cores`):
    /// each of two replicas runs half the worker threads, as processes sized to a shared host.
    pg_split_cores: bool,
}

fn args() -> Args {
    let mut a = Args {
        households: 100_000,
        devices: 100,
        ops_per_device: 2_000,
        reps: 50,
        pouchdb: None,
        pouchdb_n: 10_000,
        only: None,
        postgres: false,
        alternations: 1,
        pg_pool_sizes: Vec::new(),
        pg_only: false,
        pg_split_pool: false,
        pg_split_cores: false,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let v = argv.get(i + 1).cloned().unwrap_or_default();
        let n = || v.parse::<usize>().unwrap_or_else(|_| usage(&format!("{} needs a number, not {v:?}", argv[i])));
        match argv[i].as_str() {
            "--households" => a.households = n(),
            "--devices" => a.devices = n(),
            "--ops-per-device" => a.ops_per_device = n(),
            "--reps" => a.reps = n(),
            "--pouchdb" => a.pouchdb = Some(v.clone()),
            "--pouchdb-n" => a.pouchdb_n = n(),
            "--only" => a.only = Some(v.clone()),
            "--alternations" => a.alternations = n().max(1),
            "--pg-pool-size" => {
                a.pg_pool_sizes = v
                    .split(',')
                    .map(|n| {
                        n.trim().parse().unwrap_or_else(|_| usage(&format!("--pg-pool-size needs numbers, not {v:?}")))
                    })
                    .collect()
            }
            "--pg-only" => {
                a.pg_only = true;
                i += 1;
                continue;
            }
            "--pg-split-pool" => {
                a.pg_split_pool = true;
                i += 1;
                continue;
            }
            "--pg-split-cores" => {
                a.pg_split_cores = true;
                i += 1;
                continue;
            }
            "--backend" => match v.as_str() {
                "postgres" => a.postgres = true,
                "sqlite" => a.postgres = false,
                other => usage(&format!("--backend is sqlite or postgres, not {other:?}")),
            },
            other => usage(&format!("unknown argument {other}")),
        }
        i += 2;
    }
    a
}

/// Says what was wrong with the command line, and how to call the bench, then exits.
fn usage(problem: &str) -> ! {
    eprintln!("sync-bench: {problem}");
    eprintln!(
        "usage: sync-bench [--only wire|floor|latency|ingest|initial|pouchdb] [--households N] [--devices N] \
         [--ops-per-device N] [--reps N] [--pouchdb DIR] [--pouchdb-n N] [--backend sqlite|postgres] [--alternations N] \
         [--pg-pool-size N[,N…]] [--pg-split-pool] [--pg-split-cores] [--pg-only]"
    );
    std::process::exit(2)
}

fn metric(name: &str, value: f64, unit: &str) {
    println!("{name} {value:.2} {unit}");
    let _ = std::io::stdout().flush();
}

fn fields_of<R: gridbook_core::model::Record>(record: &R) -> Map<String, Value> {
    gridbook_core::testing::fields_of(record).expect("a record's fields")
}

/// The PouchDB workload's visits (node workload.js --jsonl N), as Gridbook visits; or our own.
fn workload_visits(pouchdb: Option<&str>, n: usize) -> Vec<Map<String, Value>> {
    if let Some(dir) = pouchdb {
        let out = std::process::Command::new("node")
            .arg(format!("{dir}/workload.js"))
            .args(["--jsonl", &n.to_string()])
            .output()
            .expect("node workload.js");
        return String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|d| {
                let at = chrono::DateTime::parse_from_rfc3339(d["visited_at"].as_str().unwrap_or_default())
                    .map(|t| t.timestamp_millis())
                    .unwrap_or(0);
                let e6 = |v: &Value| (v.as_f64().unwrap_or(0.0) * 1e6).round() as i64;
                json!({
                    "grid_id": "g1", "household_id": d["household_id"], "arrived_at_ms": at, "zone_offset_min": 480,
                    "lat_e6": e6(&d["gps"]["lat"]), "lon_e6": e6(&d["gps"]["lon"]), "purpose": "survey",
                    "outcome": d["outcome"], "needs": d["notes"], "manager_id": d["manager_id"],
                })
                .as_object()
                .cloned()
                .unwrap_or_default()
            })
            .collect();
    }
    (0..n).map(|i| fields_of(&testing::visit("g1", &testing::workload_household_id(i)))).collect()
}

fn visit_ops(fields: &[Map<String, Value>], node: &str) -> Vec<Op> {
    let mut clock = HlcClock::new(node, Box::new(SystemClock));
    fields.iter().map(|f| testing::visit_op(f.clone(), clock.now())).collect()
}

/// CPU seconds this process has used (user + system, all threads), from /proc/self/stat: on a
/// machine shared with other work, rows per CPU second moves far less than rows per wall second.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // the fields after the command name, which is in parentheses and may hold spaces
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<f64> = rest.split_whitespace().map(|v| v.parse().unwrap_or(0.0)).collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name, in ticks of 1/100 s
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

/// The phone's own push encoding (what the wire figure is about).
fn gzip(bytes: &[u8]) -> Vec<u8> {
    gridbook_core::sync::client::gzip(bytes).expect("gzip")
}

/// `n` households in grid g1 on the server, pushed by a phone of zhang's in pushes of 5,000.
async fn fill(server: &TestServer, n: usize) {
    eprintln!("[bench] filling the server with {n} households ...");
    let filler = server.phone("zhang").await;
    for chunk in (0..n as u64).collect::<Vec<_>>().chunks(10_000) {
        let ops: Vec<Op> = chunk
            .iter()
            .map(|&i| Op {
                id: uuid::Uuid::now_v7(),
                kind: EntityKind::Household,
                entity: new_id(),
                grid: "g1".into(),
                action: OpAction::Create,
                fields: fields_of(&household_n("g1", i)),
                hlc: Hlc::new(1_700_000_000_000 + i, 0, filler.store.device_id()),
            })
            .collect();
        filler.store.apply_remote_ops(&ops).expect("fill");
        // the filler's store holds them; push them as its own ops
        let req = PushRequest { protocol: PROTOCOL_VERSION, facts: DeviceFacts::default(), ops };
        for part in req.ops.chunks(5_000) {
            let body = gzip(
                &serde_json::to_vec(&PushRequest { protocol: 1, facts: DeviceFacts::default(), ops: part.to_vec() })
                    .expect("json"),
            );
            let resp = reqwest::Client::new()
                .post(format!("{}/v1/push", server.url))
                .bearer_auth(&filler.config.token)
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .body(body)
                .send()
                .await
                .expect("push");
            assert!(resp.status().is_success(), "fill push: {}", resp.status());
        }
    }
}

/// The initial sync by row pages and by snapshot file, against the physical limit; the limit's
/// seconds.
async fn initial_sync(server: &TestServer, n: usize) -> f64 {
    fill(server, n).await;
    eprintln!("[bench] initial sync of a fresh phone ...");
    let phone = server.phone("zhang").await;
    // row pages only: the snapshot file is measured below
    let engine = SyncEngine::new(
        phone.store.clone(),
        SyncConfig { pull_limit: 5_000, snapshot_file: false, ..phone.config.clone() },
    )
    .expect("engine");
    let (t, cpu) = (Instant::now(), cpu_seconds());
    let report = engine.sync_once().await.expect("initial sync");
    let (secs, sync_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    assert_eq!(report.pulled as usize, n);
    metric("initial_sync_rows", n as f64, "rows");
    metric("initial_sync_wall_s", secs, "s");
    metric("initial_sync_rows_per_s", n as f64 / secs, "rows/s");
    metric("initial_sync_pages", report.pages as f64, "pages");
    metric("initial_sync_cpu_s", sync_cpu, "s");
    metric("initial_sync_rows_per_cpu_s", n as f64 / sync_cpu, "rows/s");

    // the physical limit: the same rows, same indexes (search index included), one transaction
    let states = phone.store.all_states(EntityKind::Household).expect("states");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("limit.db");
    drop(Store::open(&path).expect("schema"));
    let mut conn = rusqlite::Connection::open(&path).expect("open");
    // the store's own settings (WAL, synchronous=NORMAL, its page cache)
    gridbook_core::testing::configure_like_store(&conn).expect("settings");
    let fields = EntityKind::Household.fields();
    let cols: Vec<&str> = fields.iter().map(|f| f.name).collect();
    let sql = format!(
        "INSERT INTO households (id, base_hlc, clocks, {}) VALUES ({})",
        cols.join(", "),
        (1..=cols.len() + 3).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
    );
    let (t, cpu) = (Instant::now(), cpu_seconds());
    let tx = conn.transaction().expect("tx");
    {
        let mut ins = tx.prepare(&sql).expect("prepare");
        let mut fts = tx
            .prepare("INSERT INTO household_search (rowid, customer_name, mobile, landline, address, service_numbers) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .expect("prepare");
        let mut rows = Vec::with_capacity(states.len());
        for s in &states {
            let mut params: Vec<rusqlite::types::Value> =
                vec![s.id.clone().into(), s.base.as_ref().map(|h| h.to_string()).into(), "{}".to_string().into()];
            for f in fields {
                params.push(match s.value(f.name) {
                    Value::Null => rusqlite::types::Value::Null,
                    Value::String(t) => t.clone().into(),
                    Value::Number(n) => n.as_i64().unwrap_or(0).into(),
                    Value::Bool(b) => (*b as i64).into(),
                    other => other.to_string().into(),
                });
            }
            ins.execute(rusqlite::params_from_iter(params)).expect("insert");
            rows.push(tx.last_insert_rowid());
        }
        for (s, rowid) in states.iter().zip(rows) {
            let text = |f: &str| s.value(f).as_str().unwrap_or_default().to_string();
            let services = s
                .value("services")
                .as_array()
                .map(|l| l.iter().filter_map(|x| x["service_number"].as_str()).collect::<Vec<_>>().join(" "))
                .unwrap_or_default();
            fts.execute(rusqlite::params![
                rowid,
                text("customer_name"),
                text("mobile"),
                text("landline"),
                text("address"),
                services
            ])
            .expect("fts");
        }
    }
    tx.commit().expect("commit");
    let (limit, limit_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    metric("physical_limit_rows_per_s", n as f64 / limit, "rows/s");
    metric("physical_limit_cpu_s", limit_cpu, "s");
    metric("physical_limit_rows_per_cpu_s", n as f64 / limit_cpu, "rows/s");
    metric("initial_sync_ratio_to_limit", secs / limit, "x");
    metric("initial_sync_wire_bytes", row_page_wire_bytes(server, 5_000).await as f64, "bytes");
    snapshot_file_sync(server, n, limit, "").await;
    limit
}

/// Bytes of the row pages on the wire (gzip'd bodies, as a phone receives them), pulled again by
/// a fresh enrolled device.
async fn row_page_wire_bytes(server: &TestServer, limit: u32) -> u64 {
    let phone = server.phone("zhang").await;
    // no automatic gzip: the body stays as it crossed the wire, and is counted so
    let client = reqwest::Client::builder().no_gzip().build().expect("client");
    let (mut cursor, mut bytes, mut json) = (0u64, 0u64, 0u64);
    loop {
        let resp = client
            .get(format!("{}/v1/pull?cursor={cursor}&limit={limit}", server.url))
            .bearer_auth(&phone.config.token)
            .header("accept-encoding", "gzip")
            .send()
            .await
            .expect("pull");
        let body = resp.bytes().await.expect("page");
        bytes += body.len() as u64;
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut plain).expect("gunzip");
        json += plain.len() as u64;
        let page: serde_json::Value = serde_json::from_slice(&plain).expect("page json");
        cursor = page["next_cursor"].as_u64().expect("cursor");
        if !page["has_more"].as_bool().unwrap_or(false) {
            metric("initial_sync_json_bytes", json as f64, "bytes");
            return bytes;
        }
    }
}

/// A fresh phone's first sync through the snapshot file: prebuilt (warm), and built on request
/// (cold, the server's build time reported apart), each against the physical limit of this run.
async fn snapshot_file_sync(server: &TestServer, n: usize, limit_s: f64, prefix: &str) {
    use gridbook_sync_server::domain::snapshot_files::{SnapshotFiles, SnapshotFilesConfig};
    let files =
        SnapshotFiles::for_storage(server.storage.as_ref(), SnapshotFilesConfig::default()).expect("snapshot files");
    let grids = vec!["g1".to_string()];
    eprintln!("[bench] snapshot file: prebuilding ...");
    let t = Instant::now();
    let built = files.build(server.storage.as_ref(), &grids).expect("prebuild");
    metric(&format!("{prefix}snapshot_file_prebuild_s"), t.elapsed().as_secs_f64(), "s");
    metric(&format!("{prefix}snapshot_file_bytes"), built.facts.bytes as f64, "bytes");
    metric(&format!("{prefix}snapshot_file_wire_bytes"), built.gz_bytes as f64, "bytes");
    assert_eq!(built.facts.rows as usize, n);
    if prefix.is_empty() {
        // the file's checks are the phone's, whichever server built it
        check_costs(&files, &built);
    }

    for (label, cold) in [("warm", false), ("warm_encrypted", false), ("cold", true)] {
        if cold {
            let dir = files.path_of(&built).parent().expect("scope dir").to_path_buf();
            std::fs::remove_dir_all(&dir).expect("drop the cached file");
        }
        eprintln!("[bench] snapshot file: a fresh phone, {label} ...");
        let phone = match label {
            "warm_encrypted" => server.sealed_phone("zhang").await,
            _ => server.phone("zhang").await,
        };
        let (t, cpu) = (Instant::now(), cpu_seconds());
        // the cycle's steps from its phases: the facts push, the file (download and install),
        // the pull after it, the rest (receipt numbers, photos, bookkeeping) until idle
        let phases = Arc::new(std::sync::Mutex::new(Vec::<(f64, String)>::new()));
        let seen = phases.clone();
        phone.engine.set_observer(move |status| {
            let kind = format!("{:?}", status.phase).split([' ', '{']).next().unwrap_or("").to_string();
            let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
            if seen.last().is_none_or(|(_, k)| *k != kind) {
                seen.push((t.elapsed().as_secs_f64() * 1000.0, kind));
            }
        });
        let report = phone.engine.sync_once().await.expect("initial sync by file");
        let (secs, sync_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - cpu);
        let steps = phases.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let steps: Vec<String> = steps.iter().map(|(ms, kind)| format!("{kind}@{ms:.0}ms")).collect();
        eprintln!("[bench] {prefix}snapshot file {label}: phases {}", steps.join(" "));
        assert_eq!(report.snapshot_file_error, None);
        assert_eq!(report.snapshot_file_rows as usize + report.pulled as usize, n);
        metric(&format!("{prefix}snapshot_file_{label}_wall_s"), secs, "s");
        metric(&format!("{prefix}snapshot_file_{label}_rows_per_s"), n as f64 / secs, "rows/s");
        metric(&format!("{prefix}snapshot_file_{label}_cpu_s"), sync_cpu, "s");
        metric(&format!("{prefix}snapshot_file_{label}_ratio_to_limit"), secs / limit_s, "x");
        if cold {
            let rebuilt = files.current(&grids).expect("current").expect("built on request");
            metric(&format!("{prefix}snapshot_file_cold_server_build_s"), rebuilt.build_ms as f64 / 1000.0, "s");
        }
        let found = phone.store.search_households("g1", "0731-00000042", 5).expect("search");
        assert_eq!(found.len(), 1, "the installed search index finds a service number");
    }
}

/// What each check of a downloaded file costs on this file: SHA-256, quick_check, integrity_check.
fn check_costs(
    files: &gridbook_sync_server::domain::snapshot_files::SnapshotFiles,
    built: &gridbook_sync_server::domain::snapshot_files::CachedFile,
) {
    let gz = std::fs::read(files.path_of(built)).expect("file");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("check.db");
    let t = Instant::now();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut plain).expect("gunzip");
    metric("snapshot_file_gunzip_s", t.elapsed().as_secs_f64(), "s");
    std::fs::write(&path, plain).expect("write");
    let t = Instant::now();
    gridbook_core::sync::snapshot_file::sha256_of(&path).expect("sha");
    metric("snapshot_file_sha256_s", t.elapsed().as_secs_f64(), "s");
    for check in ["quick_check", "integrity_check"] {
        let conn = rusqlite::Connection::open(&path).expect("open");
        let t = Instant::now();
        let ok: String = conn.query_row(&format!("PRAGMA {check}(1)"), [], |r| r.get(0)).expect("check");
        assert_eq!(ok, "ok");
        metric(&format!("snapshot_file_{check}_s"), t.elapsed().as_secs_f64(), "s");
    }
    // the phone's two steps on the file alone: every check, then the install into an open store
    let store = Store::open(dir.path().join("phone.db")).expect("store");
    let t = Instant::now();
    gridbook_core::sync::snapshot_file::check_snapshot_file(&store, &path, &built.facts).expect("checks");
    metric("snapshot_file_phone_checks_s", t.elapsed().as_secs_f64(), "s");
    let t = Instant::now();
    store.install_snapshot_file(&path, &built.facts).expect("install");
    metric("snapshot_file_phone_install_s", t.elapsed().as_secs_f64(), "s");
}

/// Every device's gzip'd pushes to its push URL, the devices at once, each one's in order.
async fn push_all(client: &reqwest::Client, devices: Vec<(String, String, Vec<Vec<u8>>)>) {
    let tasks: Vec<_> = devices
        .into_iter()
        .map(|(url, token, batches)| {
            let client = client.clone();
            tokio::spawn(async move {
                for body in batches {
                    let resp = client
                        .post(&url)
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .header("content-encoding", "gzip")
                        .body(body)
                        .send()
                        .await
                        .expect("push");
                    assert!(resp.status().is_success(), "push: {}", resp.status());
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("device task");
    }
}

/// Bench device `d` enrolled on `url` with `code`: its token, and its visits as gzip'd pushes of
/// 1,000 ops.
async fn bench_device(url: &str, code: &str, d: usize, fields: &[Map<String, Value>]) -> (String, Vec<Vec<u8>>) {
    let resp = reqwest::Client::new()
        .post(format!("{url}/v1/enrol"))
        .json(&json!({"protocol": 1, "code": code, "device_id": format!("bench{d}"), "app_version": "bench"}))
        .send()
        .await
        .expect("enrol")
        .json::<Value>()
        .await
        .expect("enrol json");
    let token = resp["token"].as_str().expect("token").to_string();
    let batches = visit_ops(fields, &format!("bench{d}"))
        .chunks(1_000)
        .map(|c| {
            gzip(
                &serde_json::to_vec(&PushRequest { protocol: 1, facts: DeviceFacts::default(), ops: c.to_vec() })
                    .expect("json"),
            )
        })
        .collect();
    (token, batches)
}

async fn push_ingest(server: &TestServer, devices: usize, per_device: usize) {
    eprintln!("[bench] push ingest: {devices} devices × {per_device} visit ops ...");
    let fields = workload_visits(None, per_device);
    // the households the visits name, as the back office would have them
    let seed = testing::workload_households("g1").expect("households");
    server.storage.apply_backoffice_ops(&seed, gridbook_sync_server::now_ms()).expect("seed");
    let mut bodies = Vec::new();
    for d in 0..devices {
        bodies.push(bench_device(&server.url, &server.enrol_code("zhang"), d, &fields).await);
    }
    let client = reqwest::Client::new();
    let url = format!("{}/v1/push", server.url);
    let cpu_before = cpu_seconds();
    let t = Instant::now();
    push_all(&client, bodies.into_iter().map(|(token, batches)| (url.clone(), token, batches)).collect()).await;
    let secs = t.elapsed().as_secs_f64();
    let cpu_after = cpu_seconds();
    let total = devices * per_device;
    let stored = server.storage.devices().map(|d| d.len()).unwrap_or(0);
    assert!(stored >= devices);
    // a push is answered 200 with per-op verdicts: count what was stored, not what was answered
    let sqlite = server.sqlite.as_ref().expect("the bench's server is SQLite");
    let db = rusqlite::Connection::open(sqlite.path()).expect("server db");
    let visits: i64 =
        db.query_row("SELECT count(*) FROM entities WHERE kind = 'visit'", [], |r| r.get(0)).expect("count");
    let logged: i64 =
        db.query_row("SELECT count(*) FROM op_log WHERE device_id LIKE 'bench%'", [], |r| r.get(0)).expect("count");
    assert_eq!((visits as usize, logged as usize), (total, total), "every pushed visit stored, every op logged once");
    metric("push_ingest_devices", devices as f64, "devices");
    metric("push_ingest_ops", total as f64, "ops");
    metric("push_ingest_wall_s", secs, "s");
    metric("push_ingest_ops_per_s", total as f64 / secs, "ops/s");
    // the whole process, server and the bench's own clients: how many of the cores were kept busy
    metric("push_ingest_cores_busy", (cpu_after - cpu_before) / secs, "cores");
    // the single writer's share of the wall clock: near 1, pushes wait for it
    metric("push_ingest_writer_busy", sqlite.push_writing_s() / secs, "of the wall clock");
}

async fn latency(server: &TestServer, reps: usize) {
    latency_prefixed(server, reps, "").await
}

async fn latency_prefixed(server: &TestServer, reps: usize, prefix: &str) {
    eprintln!("[bench] {prefix}write on A → visible on B, {reps} reps ...");
    let a = server.phone("zhang").await;
    let b = server.phone("zhang").await;
    let h = a.store.create_household(household_n("g1", 1)).expect("household");
    a.sync().await;
    b.sync().await;
    // whole round, and its parts: A records, A's cycle, B's cycle
    let mut samples: [Vec<f64>; 4] = Default::default();
    for i in 0..reps + 3 {
        let t = Instant::now();
        let v = a.store.record_visit(testing::visit("g1", &h.id)).expect("visit");
        let recorded = t.elapsed();
        a.engine.sync_once().await.expect("a sync");
        let a_done = t.elapsed();
        b.engine.sync_once().await.expect("b sync");
        let seen = b.store.visit(&v.id).expect("read").is_some();
        let total = t.elapsed();
        assert!(seen, "B must see A's visit");
        if i >= 3 {
            for (s, d) in samples.iter_mut().zip([total, recorded, a_done - recorded, total - a_done]) {
                s.push(d.as_secs_f64() * 1000.0);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for s in &mut samples {
        s.sort_by(|x, y| x.total_cmp(y));
    }
    let [total, recorded, a_cycle, b_cycle] = &samples;
    metric(&format!("{prefix}a_to_b_latency_p50"), total[total.len() / 2], "ms");
    metric(&format!("{prefix}a_to_b_latency_p95"), total[total.len() * 95 / 100], "ms");
    metric(&format!("{prefix}a_to_b_part_record_p50"), recorded[recorded.len() / 2], "ms");
    metric(&format!("{prefix}a_to_b_part_a_cycle_p50"), a_cycle[a_cycle.len() / 2], "ms");
    metric(&format!("{prefix}a_to_b_part_b_cycle_p50"), b_cycle[b_cycle.len() / 2], "ms");
}

/// Write on A → visible on B with B waiting on the live-change signal (`/v1/changes`): B's wait
/// is under way when A records. Two ways for B, alternated rep by rep under the same load: the
/// bare signal, then B's cycle pulls the row (`signal_`, phones before the page); and the page in
/// the wake-up itself (`take_live_changes`), B's cycle following. Per step, from A's record:
/// B woken (and, with the page, holding the row), A's cycle over, B's cycle over.
async fn live_latency(server: &TestServer, reps: usize, prefix: &str) {
    eprintln!("[bench] {prefix}write on A → visible on B waiting on the live signal, {reps} reps × 2 ...");
    let a = server.phone("zhang").await;
    let b = server.phone("zhang").await;
    let h = a.store.create_household(household_n("g1", 1)).expect("household");
    a.sync().await;
    b.sync().await;
    // per mode: row on B, B woken, A's cycle over, B's cycle over (ms after A's record began)
    let mut samples: [[Vec<f64>; 4]; 2] = Default::default();
    for i in 0..2 * (reps + 3) {
        let with_page = i % 2 == 1;
        let start = Instant::now();
        let b_side = async {
            let pulled = match with_page {
                true => b.engine.take_live_changes(20).await.expect("wait for changes").pulled,
                false => {
                    assert!(b.engine.wait_for_changes(20).await.expect("wait for changes"), "the signal answered");
                    0
                }
            };
            let woken = Instant::now();
            b.engine.sync_once().await.expect("b sync");
            (pulled, woken, Instant::now())
        };
        let a_side = async {
            // B's wait reaches the server first
            tokio::time::sleep(Duration::from_millis(30)).await;
            let t = Instant::now();
            let v = a.store.record_visit(testing::visit("g1", &h.id)).expect("visit");
            a.engine.sync_once().await.expect("a sync");
            (t, Instant::now(), v.id)
        };
        let ((pulled, woken, b_done), (t, a_done, visit)) = tokio::join!(b_side, a_side);
        assert!(b.store.visit(&visit).expect("read").is_some(), "B must see A's visit");
        assert!(!with_page || pulled == 1, "the wake-up carried A's visit ({pulled} records)");
        assert!(start < t);
        let row = if with_page { woken } else { b_done };
        if i >= 6 {
            let ms = |at: Instant| at.duration_since(t).as_secs_f64() * 1000.0;
            for (s, v) in samples[with_page as usize].iter_mut().zip([ms(row), ms(woken), ms(a_done), ms(b_done)]) {
                s.push(v);
            }
        }
    }
    for (mode, steps) in ["signal_", ""].into_iter().zip(samples.iter_mut()) {
        for s in steps.iter_mut() {
            s.sort_by(|x, y| x.total_cmp(y));
        }
        let p50 = |s: &Vec<f64>| s[s.len() / 2];
        let [row, woken, a_done, b_done] = &*steps;
        metric(&format!("{prefix}{mode}a_to_b_live_latency_p50"), p50(row), "ms");
        metric(&format!("{prefix}{mode}a_to_b_live_latency_p95"), row[row.len() * 95 / 100], "ms");
        metric(&format!("{prefix}{mode}a_to_b_live_step_b_woken_p50"), p50(woken), "ms");
        metric(&format!("{prefix}{mode}a_to_b_live_step_a_cycle_done_p50"), p50(a_done), "ms");
        metric(&format!("{prefix}{mode}a_to_b_live_step_b_cycle_done_p50"), p50(b_done), "ms");
    }
}

/// The machine's floor under "write on A → visible on B" (tests/src/floor.rs): one HTTP hop from
/// a push to a waiting long poll, no storage; one durable SQLite commit on this disk.
async fn floor(reps: usize) {
    eprintln!("[bench] the machine's floor: a push waking a long poll; a durable commit, {reps} reps ...");
    let p50 = |mut s: Vec<f64>| {
        s.sort_by(|x, y| x.total_cmp(y));
        s[s.len() / 2]
    };
    let hops = gridbook_tests::floor::push_to_waiter_ms(reps.max(1)).await.expect("the HTTP floor");
    metric("floor_push_to_waiter_p50", p50(hops), "ms");
    let dir = tempfile::tempdir().expect("dir");
    // as the latency bench's commits come (one per round, after its 20–30 ms of quiet), and one
    // right after another (the disk answers those faster)
    for (name, pause) in [("floor_durable_commit_p50", 25), ("floor_durable_commit_back_to_back_p50", 0)] {
        let commits = gridbook_tests::floor::durable_commit_ms(dir.path(), reps.max(1), Duration::from_millis(pause))
            .expect("the commit floor");
        metric(name, p50(commits), "ms");
    }
}

/// CPU seconds (user + system) process `pid` has used; with `reaped`, also its children that
/// have ended (PostgreSQL's backends that closed).
fn process_cpu_s(pid: u32, reaped: bool) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // fields after the command's closing parenthesis: state is 3rd, utime 14th ... cstime 17th
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = rest.split_whitespace().map(|v| v.parse().unwrap_or(0.0)).collect();
    let field = |n: usize| f.get(n - 3).copied().unwrap_or(0.0);
    let ticks = field(14) + field(15) + if reaped { field(16) + field(17) } else { 0.0 };
    ticks / 100.0 // USER_HZ: 100 on Linux
}

/// CPU seconds of the bench's PostgreSQL cluster: the postmaster, its ended children and its
/// running backends (0 when the cluster is not this process's own).
fn postgres_cpu_s() -> f64 {
    use gridbook_sync_server::storage::postgres::test_cluster::TestCluster;
    let Some(dir) = TestCluster::shared().ok().and_then(|c| c.dir()) else { return 0.0 };
    let pid_file = [dir.join("postmaster.pid"), dir.join("data").join("postmaster.pid")]
        .into_iter()
        .find_map(|p| std::fs::read_to_string(p).ok());
    let Some(postmaster) = pid_file.and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<u32>().ok())) else {
        return 0.0;
    };
    let mut total = process_cpu_s(postmaster, true);
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let parent = stat.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().nth(1)?.parse::<u32>().ok());
        if parent == Some(postmaster) {
            total += process_cpu_s(pid, false);
        }
    }
    total
}

/// Peak resident memory of a process (VmHWM), in MiB.
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// Where a process-served ingest run stores: a SQLite file, or a PostgreSQL database.
enum IngestDb {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

/// Push ingest from `devices` concurrent devices through server processes (`replicas` of them
/// on PostgreSQL, device d pushing to replica d mod n; one on SQLite), each replica's peak RSS.
async fn process_ingest(
    on: IngestDb,
    replicas: usize,
    pool: Option<usize>,
    workers: Option<usize>,
    devices: usize,
    per_device: usize,
    prefix: &str,
) {
    use gridbook_sync_server::{PostgresStorage, SqliteStorage, SyncStorage};
    use gridbook_tests::ServerProcess;
    eprintln!(
        "[bench] {prefix}push ingest: {replicas} server process(es), {devices} devices × {per_device} visit ops ..."
    );
    let dir = tempfile::tempdir().expect("dir");
    let storage: Box<dyn SyncStorage> = match &on {
        IngestDb::Sqlite(path) => Box::new(SqliteStorage::open(path).expect("server db")),
        IngestDb::Postgres(url) => Box::new(PostgresStorage::open(url).expect("server db")),
    };
    let now = gridbook_sync_server::now_ms();
    storage.create_grid("g1", "g1 网格", now).expect("grid");
    storage
        .create_manager("zhang", "经理zhang", gridbook_sync_server::domain::auth::Role::Field, None, now)
        .expect("manager");
    storage.assign_grid("zhang", "g1").expect("assign");
    let seed = testing::workload_households("g1").expect("households");
    storage.apply_backoffice_ops(&seed, now).expect("seed");
    let pool_size = pool.map(|n| n.to_string());
    let worker_threads = workers.map(|n| n.to_string());
    // tokio's runtime reads TOKIO_WORKER_THREADS when the server does not set a number itself
    let env: Vec<(&str, &str)> = (pool_size.iter().map(|n| ("GRIDBOOK_PG_POOL_SIZE", n.as_str())))
        .chain(worker_threads.iter().map(|n| ("TOKIO_WORKER_THREADS", n.as_str())))
        .collect();
    let servers: Vec<ServerProcess> = (0..replicas)
        .map(|_| match &on {
            IngestDb::Sqlite(path) => ServerProcess::start(path),
            IngestDb::Postgres(url) => ServerProcess::start_postgres_logged(url, dir.path(), "127.0.0.1:0", &env, None),
        })
        .collect();
    let fields = workload_visits(None, per_device);
    let client = reqwest::Client::new();
    let mut bodies = Vec::new();
    for d in 0..devices {
        let code = storage.create_enrol_code("zhang", gridbook_sync_server::now_ms(), 3_600_000).expect("code");
        let url = servers[d % servers.len()].url.clone();
        let (token, batches) = bench_device(&url, &code, d, &fields).await;
        bodies.push((format!("{url}/v1/push"), token, batches));
    }
    // where the cores go: the replicas, PostgreSQL (postmaster and backends), this process (the
    // 100 clients); and PostgreSQL's commits, to see group commit per replica
    let replicas_cpu = || servers.iter().map(|s| process_cpu_s(s.child.id(), false)).sum::<f64>();
    let commits = || match &on {
        IngestDb::Sqlite(_) => 0.0,
        IngestDb::Postgres(url) => gridbook_sync_server::storage::postgres::test_cluster::psql_at(
            url,
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
        )
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN),
    };
    let before = (replicas_cpu(), postgres_cpu_s(), cpu_seconds(), commits());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let waits = match &on {
        IngestDb::Postgres(url) => Some(tokio::spawn(sample_waits(url.clone(), stop.clone()))),
        IngestDb::Sqlite(_) => None,
    };
    let t = Instant::now();
    push_all(&client, bodies).await;
    let secs = t.elapsed().as_secs_f64();
    let after = (replicas_cpu(), postgres_cpu_s(), cpu_seconds(), commits());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(waits) = waits {
        let (samples, by_wait) = waits.await.expect("wait sampler");
        let samples = samples.max(1) as f64;
        metric(&format!("{prefix}push_ingest_pg_samples"), samples, "samples");
        let busy: i64 = by_wait.values().sum();
        metric(&format!("{prefix}push_ingest_pg_backends_not_idle"), busy as f64 / samples, "backends");
        let mut by_wait: Vec<_> = by_wait.into_iter().collect();
        by_wait.sort_by_key(|w| std::cmp::Reverse(w.1));
        for (wait, n) in by_wait.into_iter().take(8) {
            // one word per metric name: "idle in transaction" → idle_in_transaction
            let wait = wait.replace(' ', "_");
            metric(&format!("{prefix}push_ingest_pg_wait[{wait}]"), n as f64 / samples, "backends");
        }
    }
    let count = |sql: &str| -> i64 {
        match &on {
            IngestDb::Sqlite(path) => {
                let db = rusqlite::Connection::open(path).expect("server db");
                db.query_row(sql, [], |r| r.get(0)).expect("count")
            }
            IngestDb::Postgres(url) => gridbook_sync_server::storage::postgres::test_cluster::psql_at(url, sql)
                .expect("count")
                .trim()
                .parse()
                .expect("a count"),
        }
    };
    let total = devices * per_device;
    let visits = count("SELECT count(*) FROM entities WHERE kind = 'visit'");
    // the back office's seed households are logged too
    let logged = count("SELECT count(*) FROM op_log WHERE device_id LIKE 'bench%'");
    assert_eq!((visits as usize, logged as usize), (total, total), "every pushed visit stored, every op logged once");
    metric(&format!("{prefix}push_ingest_ops_per_s"), total as f64 / secs, "ops/s");
    // CPU milliseconds per 1,000 ops
    let per_kop = |s: f64| s * 1_000_000.0 / total as f64;
    metric(&format!("{prefix}push_ingest_cpu_replicas_per_kop"), per_kop(after.0 - before.0), "ms");
    if matches!(on, IngestDb::Postgres(_)) {
        metric(&format!("{prefix}push_ingest_cpu_postgres_per_kop"), per_kop(after.1 - before.1), "ms");
        metric(&format!("{prefix}push_ingest_commits"), after.3 - before.3, "commits");
    }
    metric(&format!("{prefix}push_ingest_cpu_bench_clients_per_kop"), per_kop(after.2 - before.2), "ms");
    let busy = (after.0 - before.0) + (after.1 - before.1) + (after.2 - before.2);
    metric(&format!("{prefix}push_ingest_cores_busy"), busy / secs, "cores");
    for (i, server) in servers.iter().enumerate() {
        metric(&format!("{prefix}push_ingest_replica{i}_peak_rss"), peak_rss_mib(server.child.id()), "MiB");
    }
}

/// What the replicas' PostgreSQL backends that are not idle do, sampled every 100 ms until
/// `stop`: the samples taken, and per `state/wait_event_type:wait_event` ("-" for none: on the
/// CPU) the backends seen in all samples together. `idle in transaction` waiting on `ClientRead`
/// is PostgreSQL waiting for the replica's next statement; `Lock:…` a row or advisory lock;
/// `LWLock:WALWrite` / `IO:WALSync` the commit's flush.
async fn sample_waits(
    url: String,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> (usize, std::collections::BTreeMap<String, i64>) {
    let mut by_wait = std::collections::BTreeMap::new();
    let Ok((client, connection)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await else {
        return (0, by_wait);
    };
    tokio::spawn(connection);
    let sql = "SELECT state || '/' || coalesce(wait_event_type, '-') || ':' || coalesce(wait_event, '-'), count(*)
               FROM pg_stat_activity WHERE application_name LIKE 'gridbook-pool-%' AND state <> 'idle' GROUP BY 1";
    let mut samples = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        if let Ok(rows) = client.query(sql, &[]).await {
            samples += 1;
            for row in rows {
                *by_wait.entry(row.get::<_, String>(0)).or_insert(0) += row.get::<_, i64>(1);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (samples, by_wait)
}

/// A test server on PostgreSQL (the tests' switch, GRIDBOOK_TEST_BACKEND).
async fn postgres_server(configure: impl FnOnce(&mut gridbook_sync_server::AppState)) -> TestServer {
    std::env::set_var("GRIDBOOK_TEST_BACKEND", "postgres");
    let server = TestServer::start_with(configure).await;
    std::env::remove_var("GRIDBOOK_TEST_BACKEND");
    server
}

fn wire_bytes(pouchdb: Option<&str>) {
    let fields = workload_visits(pouchdb, 1_000);
    let ops = visit_ops(&fields, "0193a5b4c2d14e7f9a1b2c3d4e5f6a7b");
    let raw = serde_json::to_vec(&PushRequest { protocol: 1, facts: DeviceFacts::default(), ops }).expect("json");
    let zipped = gzip(&raw);
    metric("push_body_bytes_per_visit_op_raw", raw.len() as f64 / 1_000.0, "bytes/op");
    metric("push_body_bytes_per_visit_op_gzip", zipped.len() as f64 / 1_000.0, "bytes/op");
}

fn run_pouchdb(dir: &str, n: usize) -> Vec<(String, f64)> {
    eprintln!("[bench] PouchDB peer harness, N={n} ...");
    // the harness writes node_modules/, data/ and out/ beside itself: run a scratch copy
    let scratch = tempfile::tempdir().expect("dir");
    let status =
        std::process::Command::new("cp").arg("-r").arg(dir).arg(scratch.path().join("pouchdb")).status().expect("cp");
    assert!(status.success(), "copying the harness failed");
    let out = std::process::Command::new("bash")
        .arg(scratch.path().join("pouchdb/run.sh"))
        .arg(n.to_string())
        .env("PHASES", "write-bulk,push,pull,incremental")
        .output()
        .expect("pouchdb run.sh");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut p = l.split_whitespace();
            Some((p.next()?.to_string(), p.next()?.parse().ok()?))
        })
        .collect()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let a = args();
    println!("cpu_cores {} cores", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let run = |part: &str| a.only.as_deref().is_none_or(|o| o == part);
    if run("wire") {
        wire_bytes(a.pouchdb.as_deref());
    }
    if run("floor") || run("latency") {
        floor(a.reps).await;
    }
    if run("latency") {
        // Two phones cycling as fast as they can (a cycle every few milliseconds, hundreds a
        // second with --reps in the hundreds) is what a device's request budget is there to stop:
        // off here. What the budget costs a push was measured apart (docs/benchmarks.md).
        let server = TestServer::start_with(|state| {
            *state = state.clone().with_device_budget(BudgetConfig { per_second: 0, burst: 0 })
        })
        .await;
        server.grid_with_manager("g1", "zhang");
        latency(&server, a.reps).await;
        live_latency(&server, a.reps, "").await;
        if a.postgres {
            drop(server);
            let server = postgres_server(|state| {
                *state = state.clone().with_device_budget(BudgetConfig { per_second: 0, burst: 0 })
            })
            .await;
            server.grid_with_manager("g1", "zhang");
            live_latency(&server, a.reps, "pg_").await;
            // the same sequential round as on SQLite (B pulls right after A's push): polling
            latency_prefixed(&server, a.reps, "pg_").await;
        }
    }
    if run("ingest") {
        if !a.pg_only {
            let server = TestServer::start().await;
            server.grid_with_manager("g1", "zhang");
            push_ingest(&server, a.devices, a.ops_per_device).await;
        }
        if a.postgres {
            if !a.pg_only {
                let dir = tempfile::tempdir().expect("dir");
                let sqlite = IngestDb::Sqlite(dir.path().join("server.db"));
                process_ingest(sqlite, 1, None, None, a.devices, a.ops_per_device, "process_").await;
            }
            // no size given: the server's default, and the metrics' names as before
            let sizes: Vec<Option<usize>> = if a.pg_pool_sizes.is_empty() {
                vec![None]
            } else {
                a.pg_pool_sizes.iter().copied().map(Some).collect()
            };
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            for _ in 0..a.alternations {
                for &pool in &sizes {
                    for replicas in [1, 2] {
                        let db = IngestDb::Postgres(gridbook_tests::postgres_database());
                        // split: each replica holds its share, at least the server's least (2)
                        let pool = pool.map(|n| if a.pg_split_pool { (n / replicas).max(2) } else { n });
                        let prefix = match pool {
                            Some(n) => format!("pg_{replicas}replica_pool{n}_"),
                            None => format!("pg_{replicas}replica_"),
                        };
                        // split cores: each replica runs its share of the cores' worker threads
                        let workers = a.pg_split_cores.then(|| (cores / replicas).max(1));
                        process_ingest(db, replicas, pool, workers, a.devices, a.ops_per_device, &prefix).await;
                    }
                }
            }
        }
    }
    let mut limit_s = f64::NAN;
    if run("initial") {
        let server = TestServer::start().await;
        server.grid_with_manager("g1", "zhang");
        limit_s = initial_sync(&server, a.households).await;
    }
    if a.postgres && run("initial") {
        let server = postgres_server(|_| {}).await;
        server.grid_with_manager("g1", "zhang");
        fill(&server, a.households).await;
        snapshot_file_sync(&server, a.households, limit_s, "pg_").await;
    }
    if let Some(dir) = a.pouchdb.as_ref().filter(|_| run("pouchdb")) {
        let peer = run_pouchdb(dir, a.pouchdb_n);
        for (name, value) in &peer {
            println!("pouchdb_{name} {value}");
        }
        let get = |k: &str| peer.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
        if let Some(v) = get("push_wire_bytes_per_doc") {
            println!("pouchdb_push_wire_bytes_per_doc_vs_gridbook_gzip_body {v:.0} bytes/doc");
        }
        if let Some(v) = get("incr_oneshot_latency_median") {
            println!("pouchdb_incr_oneshot_latency_median {v:.2} ms");
        }
    }
    let _ = Arc::new(());
}
