//! Soak benchmark (issue 21): the release server binary on 127.0.0.1 with a seeded city, D phones
//! working at the field's rhythm for T minutes (time compressed by a factor), and the server's
//! memory, file descriptors and per-endpoint latency recorded as a time series.
//!
//!   cargo build --release -p gridbook-sync-server -p gridbook-tests --bin gridbook-sync-server --bin soak
//!   target/release/soak [--devices 300] [--minutes 30] [--compress 20] [--households-per-grid 400]
//!       [--sample-s 5] [--warmup-min 5] [--out soak-out] [--server target/release/gridbook-sync-server]
//!
//! The field's rhythm, per manager, in real time (docs/benchmarks.md "Soak"): a visit every ~6
//! minutes (3–9), a sync after it when there is signal (3 times in 4), an edit of the visited
//! archive in 1 visit of 5, a signed receipt on 1 visit of 10 at a household that owes, and a
//! background sync every 15 minutes. `--compress 20` runs that 20 times faster: 300 phones for 30
//! minutes are 10 hours of a 300-grid city's working day.
//!
//! The phones are core's own store and sync engine, each with its SQLite file. They talk to the
//! server through a relay in this process that times every request by endpoint (p50/p99, status
//! counts) as the phone sees it, loopback included. Every `--sample-s` seconds the server's
//! VmRSS, RssAnon, RssFile and open descriptors are read from /proc/<pid>, and SQLite's own heap
//! from the server's /metrics. An error is a request answered outside 2xx (the protocol's
//! `404 no_snapshot_file`, "pull pages instead", is an answer, not an error), a failed sync or a
//! refused field write on a phone, or an op the server rejected. Written to --out:
//! `series.csv` (one row per sample), `summary.json`, `smaps_rollup.txt` and `smaps.txt` (the
//! server's mappings at the end), `server.log`. Steady-state RSS is the median of the samples
//! after --warmup-min of the field phase.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use gridbook_core::model::VisitPurpose;
use gridbook_core::{testing, EntityKind, Reveal, Store, SyncConfig, SyncEngine, SystemClock};
use gridbook_sync_server::domain::spreadsheets::{self, SheetKind, Upload};
use gridbook_sync_server::{now_ms, SqliteStorage, SyncStorage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

#[global_allocator]
static ALLOCATOR: gridbook_sync_server::Allocator = gridbook_sync_server::Allocator {};

/// Real minutes between two visits of one manager: uniform in [3, 9].
const VISIT_EVERY_MIN: (f64, f64) = (3.0, 9.0);
/// Real minutes between background syncs.
const BACKGROUND_SYNC_MIN: f64 = 15.0;
const P_SIGNAL: f64 = 0.75;
const P_EDIT: f64 = 0.2;
const P_RECEIPT: f64 = 0.1;
/// One household in this many owes money (an arrears account from billing).
const OWING_ONE_IN: usize = 8;

struct Args {
    devices: usize,
    minutes: f64,
    compress: f64,
    households_per_grid: usize,
    sample_s: f64,
    warmup_min: f64,
    out: PathBuf,
    server: PathBuf,
    seed: u64,
}

fn args() -> Args {
    let exe_dir = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)).unwrap_or_default();
    let mut a = Args {
        devices: 300,
        minutes: 30.0,
        compress: 20.0,
        households_per_grid: 400,
        sample_s: 5.0,
        warmup_min: 5.0,
        out: PathBuf::from("soak-out"),
        server: exe_dir.join("gridbook-sync-server"),
        seed: 21,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let flag = argv[i].as_str();
        let v = argv.get(i + 1).cloned().unwrap_or_default();
        let n = || v.parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0);
        let num = || n().unwrap_or_else(|| usage(&format!("{flag} needs a number, not {v:?}")));
        match flag {
            "--devices" => a.devices = num() as usize,
            "--minutes" => a.minutes = num(),
            "--compress" => a.compress = num().max(1.0),
            "--households-per-grid" => a.households_per_grid = (num() as usize).max(OWING_ONE_IN),
            "--sample-s" => a.sample_s = num().max(0.2),
            "--warmup-min" => a.warmup_min = num(),
            "--seed" => a.seed = num() as u64,
            "--out" => a.out = PathBuf::from(&v),
            "--server" => a.server = PathBuf::from(&v),
            other => usage(&format!("unknown argument {other}")),
        }
        i += 2;
    }
    if a.devices == 0 {
        usage("--devices must be at least 1");
    }
    a
}

fn usage(problem: &str) -> ! {
    eprintln!("soak: {problem}");
    eprintln!(
        "usage: soak [--devices 300] [--minutes 30] [--compress 20] [--households-per-grid 400] [--sample-s 5] \
         [--warmup-min 5] [--out DIR] [--server PATH] [--seed N]"
    );
    std::process::exit(2)
}

/// What went wrong in the tool itself (not a measured error): printed, and the run stops.
type Fail = String;

fn fail(what: &str) -> impl Fn(&dyn std::fmt::Display) -> Fail + '_ {
    move |e| format!("{what}: {e}")
}

fn grid_id(n: usize) -> String {
    format!("soak-{n:03}")
}

fn manager_id(n: usize) -> String {
    format!("mgr{n:03}")
}

/// The city, written before the server starts, as the back office would: a grid per manager,
/// its archive imported from a sheet, and billing's arrears list for one household in eight.
fn seed_city(db: &Path, a: &Args) -> Result<Vec<String>, Fail> {
    let storage = SqliteStorage::open(db).map_err(|e| fail("server database")(&e))?;
    let now = now_ms();
    let mut codes = Vec::with_capacity(a.devices);
    for n in 0..a.devices {
        let (grid, manager) = (grid_id(n), manager_id(n));
        storage.create_grid(&grid, &format!("压测{n}号网格"), now).map_err(|e| fail("grid")(&e))?;
        storage
            .create_manager(&manager, &format!("经理{n}"), gridbook_sync_server::domain::auth::Role::Field, None, now)
            .map_err(|e| fail("manager")(&e))?;
        storage.assign_grid(&manager, &grid).map_err(|e| fail("assign")(&e))?;
        let mut archives = String::from("楼宇,单元,房号,客户名称,手机,证件号码\n");
        let mut arrears = String::from("账号,付费类型,欠费金额(元),欠费月数,楼宇,单元,房号\n");
        for h in 0..a.households_per_grid {
            let seq = (n * a.households_per_grid + h) as u64;
            let (building, unit, room) = (h / 60 + 1, h % 60 / 12 + 1, (h % 12 / 2 + 1) * 100 + h % 2 + 1);
            archives.push_str(&format!(
                "{building}号楼,{unit},{room},{},1{:010},{}\n",
                testing::name(seq),
                seq,
                testing::resident_id(seq)
            ));
            if h % OWING_ONE_IN == 0 {
                let owed = 100 + (seq % 400);
                arrears.push_str(&format!("ACC{seq:08},后付费,{owed}.00,2,{building}号楼,{unit},{room}\n"));
            }
        }
        for (kind, sheet) in [(SheetKind::Archives, &archives), (SheetKind::Arrears, &arrears)] {
            let upload =
                Upload { kind, grid: &grid, bytes: sheet.as_bytes(), dry_run: false, actor: "soak", file: "soak.csv" };
            let report = spreadsheets::import(&storage, &upload, now).map_err(|e| fail("import")(&e))?;
            if report.refused_rows > 0 {
                return Err(format!("import into {grid} refused {} rows: {:?}", report.refused_rows, report.refused));
            }
        }
        codes.push(storage.create_enrol_code(&manager, now, 6 * 3_600_000).map_err(|e| fail("enrol code")(&e))?);
        if n % 50 == 49 {
            eprintln!("[soak] seeded {} grids", n + 1);
        }
    }
    Ok(codes)
}

/// The server binary as users run it, on a free loopback port.
fn start_server(a: &Args, db: &Path) -> Result<(Child, String), Fail> {
    let port_file = a.out.join("server.port");
    let _ = std::fs::remove_file(&port_file);
    let log = std::fs::File::create(a.out.join("server.log")).map_err(|e| fail("server.log")(&e))?;
    let mut child = Command::new(&a.server)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .arg("--port-file")
        .arg(&port_file)
        .env("GRIDBOOK_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", a.server.display()))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(addr) = std::fs::read_to_string(&port_file) {
            if !addr.trim().is_empty() {
                return Ok((child, format!("http://{}", addr.trim())));
            }
        }
        if Instant::now() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
            let _ = child.kill();
            return Err("the server did not start (see server.log)".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Per endpoint: every request's time, and its statuses.
#[derive(Default)]
struct Endpoint {
    micros: Vec<u32>,
    statuses: BTreeMap<u16, u64>,
    errors: u64,
}

#[derive(Default)]
struct Counters {
    endpoints: BTreeMap<String, Endpoint>,
    requests: u64,
    errors: u64,
    visits: u64,
    edits: u64,
    receipts: u64,
    syncs: u64,
    sync_errors: u64,
    rejected_ops: u64,
    pushed_ops: u64,
    pulled_rows: u64,
}

type Shared = Arc<Mutex<Counters>>;

fn lock(c: &Shared) -> std::sync::MutexGuard<'_, Counters> {
    c.lock().unwrap_or_else(|p| p.into_inner())
}

/// The endpoint a path belongs to: segments holding digits (receipt numbers, ids) become `{}`.
fn endpoint_of(path: &str) -> String {
    path.split('/')
        .map(|s| if s.chars().any(|c| c.is_ascii_digit()) && s != "v1" { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

struct Relay {
    upstream: String,
    client: reqwest::Client,
    counters: Shared,
}

/// Forwards one request to the server as it came (bodies stay gzip'd), and times it.
async fn relay(State(r): State<Arc<Relay>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path_q = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let endpoint = endpoint_of(parts.uri.path());
    let endpoint_ref = endpoint.as_str();
    let started = Instant::now();
    let outcome = async {
        let body = axum::body::to_bytes(body, 512 * 1024 * 1024).await.map_err(|e| e.to_string())?;
        let mut req = r.client.request(parts.method.clone(), format!("{}{path_q}", r.upstream));
        for (name, value) in &parts.headers {
            if name != "host" && name != "content-length" {
                req = req.header(name, value);
            }
        }
        let resp = req.body(body).send().await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
        // the protocol's own "no file for you, pull pages" is an answer, not an error
        let expected = status == axum::http::StatusCode::NOT_FOUND
            && endpoint_ref == "/v1/snapshot-file"
            && String::from_utf8_lossy(&bytes).contains("no_snapshot_file");
        let mut out = Response::new(Body::from(bytes));
        *out.status_mut() = status;
        for (name, value) in &headers {
            if name != "content-length" && name != "transfer-encoding" && name != "connection" {
                out.headers_mut().append(name, value.clone());
            }
        }
        Ok::<_, String>((out, expected))
    }
    .await;
    let micros = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
    let status = outcome.as_ref().map(|(o, _)| o.status().as_u16()).unwrap_or(0);
    let expected = outcome.as_ref().is_ok_and(|(_, expected)| *expected);
    {
        let mut c = lock(&r.counters);
        c.requests += 1;
        let is_error = !(200..300).contains(&status) && !expected;
        c.errors += is_error as u64;
        let e = c.endpoints.entry(endpoint).or_default();
        e.micros.push(micros);
        *e.statuses.entry(status).or_default() += 1;
        e.errors += is_error as u64;
    }
    outcome.map(|(out, _)| out).unwrap_or_else(|e| {
        let mut out = Response::new(Body::from(format!("relay: {e}")));
        *out.status_mut() = axum::http::StatusCode::BAD_GATEWAY;
        out
    })
}

async fn start_relay(upstream: &str, counters: Shared) -> Result<String, Fail> {
    let client = reqwest::Client::builder()
        .no_gzip()
        .pool_max_idle_per_host(512)
        .build()
        .map_err(|e| fail("relay client")(&e))?;
    let state = Arc::new(Relay { upstream: upstream.to_string(), client, counters });
    let app = axum::Router::new().fallback(relay).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| fail("relay bind")(&e))?;
    let url = format!("http://{}", listener.local_addr().map_err(|e| fail("relay addr")(&e))?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}

/// One manager's phone.
struct FieldPhone {
    grid: String,
    manager: String,
    store: Arc<Store>,
    engine: SyncEngine,
    households: Vec<String>,
    /// (account id, household id)
    accounts: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

impl FieldPhone {
    async fn enrol(n: usize, url: &str, code: &str) -> Result<Self, Fail> {
        let dir = tempfile::tempdir().map_err(|e| fail("phone dir")(&e))?;
        let store = Arc::new(
            Store::open_with_clock(dir.path().join("phone.db"), Box::new(SystemClock))
                .map_err(|e| fail("phone store")(&e))?,
        );
        let resp = gridbook_core::sync::client::enrol(&store, url, code, "soak-1.0", None)
            .await
            .map_err(|e| fail("enrol")(&e))?;
        let engine = SyncEngine::new(store.clone(), SyncConfig::new(url, &resp.token, "soak-1.0"))
            .map_err(|e| fail("engine")(&e))?;
        Ok(Self {
            grid: grid_id(n),
            manager: manager_id(n),
            store,
            engine,
            households: Vec::new(),
            accounts: Vec::new(),
            _dir: dir,
        })
    }

    /// Learns its grid's archive and accounts after the first pull.
    fn learn(&mut self) -> Result<(), Fail> {
        self.households = self
            .store
            .all_states(EntityKind::Household)
            .map_err(|e| fail("households")(&e))?
            .into_iter()
            .map(|s| s.id)
            .collect();
        self.accounts = self
            .store
            .grid_arrears(&self.grid)
            .map_err(|e| fail("arrears")(&e))?
            .into_iter()
            .map(|l| (l.account.id, l.account.household_id))
            .collect();
        Ok(())
    }

    async fn sync(&self, counters: &Shared) {
        let outcome = self.engine.sync_once().await;
        let mut c = lock(counters);
        c.syncs += 1;
        match outcome {
            Ok(r) => {
                c.rejected_ops += r.rejected;
                c.pushed_ops += r.acknowledged;
                c.pulled_rows += r.pulled;
            }
            Err(e) => {
                c.sync_errors += 1;
                eprintln!("[soak] {}: sync failed: {e}", self.manager);
            }
        }
    }

    /// One visit, and what goes with it now and then. A refused local write counts as an error.
    fn visit(&self, rng: &mut StdRng, counters: &Shared) {
        let outcome = self.visit_inner(rng, counters);
        if let Err(e) = outcome {
            lock(counters).sync_errors += 1;
            eprintln!("[soak] {}: a field write failed: {e}", self.manager);
        }
    }

    fn visit_inner(&self, rng: &mut StdRng, counters: &Shared) -> gridbook_core::Result<()> {
        let receipt = rng.gen_bool(P_RECEIPT) && !self.accounts.is_empty();
        let (account, household) = if receipt {
            let (a, h) = &self.accounts[rng.gen_range(0..self.accounts.len())];
            (Some(a.clone()), h.clone())
        } else {
            (None, self.households.get(rng.gen_range(0..self.households.len().max(1))).cloned().unwrap_or_default())
        };
        if household.is_empty() {
            return Ok(());
        }
        let mut v = testing::visit(&self.grid, &household);
        v.arrived_at_ms = now_ms();
        v.appointment_at_ms = Some(v.arrived_at_ms - rng.gen_range(0..600_000));
        v.manager_id = self.manager.clone();
        v.purpose = if receipt {
            VisitPurpose::Arrears
        } else {
            [VisitPurpose::Survey, VisitPurpose::Sale, VisitPurpose::Care, VisitPurpose::ServiceOrder]
                [rng.gen_range(0..4)]
        };
        self.store.record_visit(v)?;
        lock(counters).visits += 1;
        if rng.gen_bool(P_EDIT) {
            let mut h = self.store.household(&household, Reveal::Masked)?;
            h.notes = format!("{}回访:客户反映宽带晚间偏慢", rng.gen_range(1..13));
            h.opinions = "希望上门时间提前电话确认".into();
            self.store.update_household(h)?;
            lock(counters).edits += 1;
        }
        if let Some(account) = account {
            let line = self.store.grid_arrears(&self.grid)?.into_iter().find(|l| l.account.id == account);
            let remaining = line.map(|l| l.remaining_fen).unwrap_or(0);
            if remaining > 0 {
                let amount = remaining.min(rng.gen_range(1..=200) * 100);
                let cash = (amount + 9_999) / 10_000 * 10_000;
                let mut r = testing::receipt(&self.grid, &account, &household, "");
                r.owed_before_fen = remaining;
                r.amount_fen = amount;
                r.cash_received_fen = cash;
                r.change_fen = cash - amount;
                r.collected_at_ms = now_ms();
                r.collector_id = self.manager.clone();
                let key = self.store.device_key()?;
                self.store.record_signed_receipt(r, testing::capture("王芳"), &key)?;
                lock(counters).receipts += 1;
            }
        }
        Ok(())
    }
}

/// A manager's working day, compressed: visits, syncs when there is signal, background syncs.
async fn work(phone: FieldPhone, compress: f64, counters: Shared, until: Instant, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let scale = 60.0 / compress;
    let visit_gap =
        |rng: &mut StdRng| Duration::from_secs_f64(rng.gen_range(VISIT_EVERY_MIN.0..VISIT_EVERY_MIN.1) * scale);
    let background = Duration::from_secs_f64(BACKGROUND_SYNC_MIN * scale);
    // managers do not start in step: the first visit falls anywhere in one gap
    let mut next_visit = Instant::now() + visit_gap(&mut rng).mul_f64(rng.gen_range(0.0..1.0));
    let mut next_background = Instant::now() + background.mul_f64(rng.gen_range(0.0..1.0));
    loop {
        let next = next_visit.min(next_background);
        if next >= until {
            break;
        }
        tokio::time::sleep_until(next.into()).await;
        if next_visit <= Instant::now() {
            phone.visit(&mut rng, &counters);
            if rng.gen_bool(P_SIGNAL) {
                phone.sync(&counters).await;
                next_background = Instant::now() + background;
            }
            next_visit = Instant::now() + visit_gap(&mut rng);
        } else {
            phone.sync(&counters).await;
            next_background = Instant::now() + background;
        }
    }
    // the end of the day: whatever waited for signal goes now
    phone.sync(&counters).await;
}

/// (VmRSS, RssAnon, RssFile, VmHWM) in KiB and threads, from /proc/<pid>/status.
fn proc_status(pid: u32) -> Option<[u64; 5]> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let get = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Some([get("VmRSS:"), get("RssAnon:"), get("RssFile:"), get("VmHWM:"), get("Threads:")])
}

/// SQLite's heap in the server, from its /metrics (0 when the scrape fails).
async fn sqlite_heap_bytes(client: &reqwest::Client, url: &str) -> i64 {
    let Ok(resp) = client.get(url).send().await else { return 0 };
    let text = resp.text().await.unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("gridbook_sqlite_heap_bytes "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn open_fds(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count() as u64).unwrap_or(0)
}

struct Sample {
    field_s: f64,
    sqlite_heap_mib: f64,
    rss_anon_kib: u64,
    rss_kib: u64,
    fds: u64,
}

fn quantile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1000.0
}

/// (min, median, max) of the values; zeros when there are none.
fn spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    v.sort_by(|x, y| x.total_cmp(y));
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

async fn run(a: Args) -> Result<Value, Fail> {
    std::fs::create_dir_all(&a.out).map_err(|e| fail("out dir")(&e))?;
    let scratch = tempfile::tempdir().map_err(|e| fail("scratch dir")(&e))?;
    let db = scratch.path().join("server.db");
    eprintln!("[soak] seeding {} grids × {} households ...", a.devices, a.households_per_grid);
    let codes = seed_city(&db, &a)?;
    let (mut server, server_url) = start_server(&a, &db)?;
    let pid = server.id();
    let counters: Shared = Arc::default();
    let result = drive(&a, pid, &server_url, codes, counters.clone()).await;
    // the server's mappings at the end, for the memory accounting (docs/benchmarks.md)
    for (from, to) in [("smaps_rollup", "smaps_rollup.txt"), ("smaps", "smaps.txt")] {
        if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/{from}")) {
            let _ = std::fs::write(a.out.join(to), text);
        }
    }
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !matches!(server.try_wait(), Ok(Some(_))) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = server.kill();
    let _ = server.wait();
    result
}

async fn drive(a: &Args, pid: u32, server_url: &str, codes: Vec<String>, counters: Shared) -> Result<Value, Fail> {
    let started = Instant::now();
    let csv_path = a.out.join("series.csv");
    let mut csv = std::io::BufWriter::new(std::fs::File::create(&csv_path).map_err(|e| fail("series.csv")(&e))?);
    writeln!(
        csv,
        "t_s,field_s,phase,rss_mib,rss_anon_mib,rss_file_mib,hwm_mib,fds,threads,requests,errors,visits,receipts,syncs,\
         sync_errors,sqlite_heap_mib,load1"
    )
    .map_err(|e| fail("series.csv")(&e))?;
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let field_start: Arc<Mutex<Option<Instant>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (counters, samples, field_start, stop) =
            (counters.clone(), samples.clone(), field_start.clone(), stop.clone());
        let period = Duration::from_secs_f64(a.sample_s);
        let metrics_url = format!("{server_url}/metrics");
        let metrics_client = reqwest::Client::new();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                let Some([rss, anon, file, hwm, threads]) = proc_status(pid) else { break };
                let fds = open_fds(pid);
                let sqlite_heap = sqlite_heap_bytes(&metrics_client, &metrics_url).await;
                let t_s = started.elapsed().as_secs_f64();
                let field = *field_start.lock().unwrap_or_else(|p| p.into_inner());
                let field_s = field.map(|f| f.elapsed().as_secs_f64()).unwrap_or(-1.0);
                let c = lock(&counters);
                let mib = |k: u64| k as f64 / 1024.0;
                let _ = writeln!(
                    csv,
                    "{t_s:.1},{field_s:.1},{},{:.1},{:.1},{:.1},{:.1},{fds},{threads},{},{},{},{},{},{},{:.1},{}",
                    if field.is_some() { "field" } else { "setup" },
                    mib(rss),
                    mib(anon),
                    mib(file),
                    mib(hwm),
                    c.requests,
                    c.errors,
                    c.visits,
                    c.receipts,
                    c.syncs,
                    c.sync_errors,
                    sqlite_heap as f64 / 1_048_576.0,
                    load_average().split(' ').next().unwrap_or("")
                );
                drop(c);
                let _ = csv.flush();
                samples.lock().unwrap_or_else(|p| p.into_inner()).push(Sample {
                    field_s,
                    sqlite_heap_mib: sqlite_heap as f64 / 1_048_576.0,
                    rss_anon_kib: anon,
                    rss_kib: rss,
                    fds,
                });
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
            }
        })
    };

    let relay_url = start_relay(server_url, counters.clone()).await?;
    // the morning: every phone enrols and takes its grid (a few at a time, as people arrive)
    eprintln!("[soak] enrolling {} phones ...", codes.len());
    let mut phones = Vec::with_capacity(codes.len());
    let numbered: Vec<(usize, String)> = codes.into_iter().enumerate().collect();
    for chunk in numbered.chunks(16) {
        let tasks: Vec<_> = chunk
            .iter()
            .cloned()
            .map(|(n, code)| {
                let (url, counters) = (relay_url.clone(), counters.clone());
                tokio::spawn(async move {
                    let mut phone = FieldPhone::enrol(n, &url, &code).await?;
                    phone.sync(&counters).await;
                    phone.learn()?;
                    Ok::<_, Fail>(phone)
                })
            })
            .collect();
        for t in tasks {
            phones.push(t.await.map_err(|e| fail("enrol task")(&e))??);
        }
    }
    let setup_s = started.elapsed().as_secs_f64();
    eprintln!(
        "[soak] {} phones ready in {setup_s:.1} s; the field phase: {} min ×{}",
        phones.len(),
        a.minutes,
        a.compress
    );
    let field_began = Instant::now();
    *field_start.lock().unwrap_or_else(|p| p.into_inner()) = Some(field_began);
    let until = field_began + Duration::from_secs_f64(a.minutes * 60.0);
    let tasks: Vec<_> = phones
        .into_iter()
        .enumerate()
        .map(|(i, p)| tokio::spawn(work(p, a.compress, counters.clone(), until, a.seed * 100_003 + i as u64)))
        .collect();
    for t in tasks {
        t.await.map_err(|e| fail("phone task")(&e))?;
    }
    let field_s = field_began.elapsed().as_secs_f64();
    // one more sample after the day's last syncs
    tokio::time::sleep(Duration::from_secs_f64(a.sample_s)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = sampler.await;

    let samples = std::mem::take(&mut *samples.lock().unwrap_or_else(|p| p.into_inner()));
    let warmup_s = a.warmup_min * 60.0;
    let steady: Vec<f64> =
        samples.iter().filter(|s| s.field_s >= warmup_s).map(|s| s.rss_kib as f64 / 1024.0).collect();
    let field_fds: Vec<f64> = samples.iter().filter(|s| s.field_s >= 0.0).map(|s| s.fds as f64).collect();
    let (rss_min, rss_median, rss_max) = spread(steady.clone());
    let steady_of =
        |f: &dyn Fn(&Sample) -> f64| spread(samples.iter().filter(|s| s.field_s >= warmup_s).map(f).collect()).1;
    let anon_median = steady_of(&|s| s.rss_anon_kib as f64 / 1024.0);
    let sqlite_median = steady_of(&|s| s.sqlite_heap_mib);
    let (fds_min, fds_median, fds_max) = spread(field_fds);
    let hwm = proc_status(pid).map(|s| s[3]).unwrap_or(0) as f64 / 1024.0;
    let peak_sampled = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0) as f64 / 1024.0;
    let mut c = lock(&counters);
    let mut endpoints = serde_json::Map::new();
    for (name, e) in c.endpoints.iter_mut() {
        e.micros.sort_unstable();
        endpoints.insert(
            name.clone(),
            json!({
                "requests": e.micros.len(),
                "p50_ms": quantile(&e.micros, 0.50),
                "p99_ms": quantile(&e.micros, 0.99),
                "max_ms": quantile(&e.micros, 1.0),
                "errors": e.errors,
                "statuses": e.statuses.iter().map(|(s, n)| (s.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
            }),
        );
    }
    Ok(json!({
        "devices": a.devices,
        "minutes": a.minutes,
        "compress": a.compress,
        "field_hours_simulated": field_s * a.compress / 3600.0,
        "households": a.devices * a.households_per_grid,
        "setup_s": setup_s,
        "field_s": field_s,
        "samples": samples.len(),
        "sample_s": a.sample_s,
        "warmup_min": a.warmup_min,
        "rss_steady_median_mib": rss_median,
        "rss_steady_samples": steady.len(),
        "rss_anon_steady_median_mib": anon_median,
        "sqlite_heap_steady_median_mib": sqlite_median,
        "rss_steady_min_mib": rss_min,
        "rss_steady_max_mib": rss_max,
        "rss_peak_sampled_mib": peak_sampled,
        "rss_hwm_mib": hwm,
        "fds_min": fds_min,
        "fds_median": fds_median,
        "fds_max": fds_max,
        "requests": c.requests,
        "errors": c.errors,
        "sync_errors": c.sync_errors,
        "rejected_ops": c.rejected_ops,
        "acknowledged_ops": c.pushed_ops,
        "pulled_rows": c.pulled_rows,
        "visits": c.visits,
        "edits": c.edits,
        "receipts": c.receipts,
        "syncs": c.syncs,
        "endpoints": endpoints,
        "load_average_end": load_average(),
    }))
}

fn print_summary(s: &Value) {
    let m = |name: &str, unit: &str| println!("{name} {:.2} {unit}", s[name].as_f64().unwrap_or(f64::NAN));
    m("devices", "devices");
    m("minutes", "min");
    m("compress", "x");
    m("field_hours_simulated", "h");
    m("rss_steady_median_mib", "MiB");
    m("rss_steady_min_mib", "MiB");
    m("rss_anon_steady_median_mib", "MiB");
    m("sqlite_heap_steady_median_mib", "MiB");
    m("rss_steady_max_mib", "MiB");
    m("rss_peak_sampled_mib", "MiB");
    m("rss_hwm_mib", "MiB");
    m("fds_median", "fds");
    m("fds_max", "fds");
    m("requests", "requests");
    m("errors", "requests");
    m("sync_errors", "syncs");
    m("rejected_ops", "ops");
    m("visits", "visits");
    m("receipts", "receipts");
    if let Some(endpoints) = s["endpoints"].as_object() {
        for (name, e) in endpoints {
            println!(
                "endpoint {name} requests {} p50 {:.2} ms p99 {:.2} ms errors {}",
                e["requests"],
                e["p50_ms"].as_f64().unwrap_or(0.0),
                e["p99_ms"].as_f64().unwrap_or(0.0),
                e["errors"]
            );
        }
    }
}

fn main() {
    let a = args();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(1)
        }
    };
    let out = a.out.clone();
    match runtime.block_on(run(a)) {
        Ok(summary) => {
            let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
            if let Err(e) = std::fs::write(out.join("summary.json"), &text) {
                eprintln!("soak: summary.json: {e}");
                std::process::exit(1)
            }
            print_summary(&summary);
        }
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(1)
        }
    }
}
