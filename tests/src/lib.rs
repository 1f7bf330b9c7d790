//! Shared pieces of the end-to-end tests: a real sync server on 127.0.0.1 (in-process, or as its
//! own process that a test can SIGKILL), and phones with real SQLite stores that enrol and sync
//! over real HTTP. The in-process server keeps its data in a SQLite file, or, with
//! GRIDBOOK_TEST_BACKEND=postgres, in a database of its own on a PostgreSQL test cluster.

pub mod campaign;
pub mod fault_proxy;
pub mod floor;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gridbook_core::sync::hlc::WallClock;
use gridbook_core::{Store, SyncConfig, SyncEngine, SystemClock};
use gridbook_sync_server::cli::admin::{self, AdminCommand};
use gridbook_sync_server::storage::postgres::test_cluster::{psql_at, TestCluster};
use gridbook_sync_server::{now_ms, AppState, PostgresStorage, SqliteStorage, SyncStorage};

/// The server, in this process, on a free loopback port.
pub struct TestServer {
    pub url: String,
    pub storage: Arc<dyn SyncStorage>,
    /// The state it serves (another listener may serve it too).
    pub state: AppState,
    pub dir: tempfile::TempDir,
    /// The PostgreSQL database's URL, on that backend.
    pub postgres: Option<String>,
    /// The SQLite backend itself, on that backend (its file, its writer's figures).
    pub sqlite: Option<Arc<SqliteStorage>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Which backend the tests run on: GRIDBOOK_TEST_BACKEND=postgres, or SQLite.
pub fn on_postgres() -> bool {
    std::env::var("GRIDBOOK_TEST_BACKEND").is_ok_and(|b| b.eq_ignore_ascii_case("postgres"))
}

/// A new, empty database on the PostgreSQL test cluster (GRIDBOOK_TEST_PG_URL's, or one started
/// for this test process); its URL.
pub fn postgres_database() -> String {
    let cluster = TestCluster::shared().unwrap_or_else(|e| panic!("PostgreSQL test cluster: {e}"));
    cluster.create_database().expect("a test database")
}

/// Two replicas of the server binary on one new PostgreSQL database (`serve --database-url`,
/// 127.0.0.1 port 0), their snapshot files in one shared directory, and the database itself for
/// setting up and checking.
pub struct Replicas {
    pub database_url: String,
    pub storage: PostgresStorage,
    pub dir: tempfile::TempDir,
    pub a: ServerProcess,
    pub b: ServerProcess,
}

impl Replicas {
    /// The replicas, started once `set_up` has written what they start with.
    pub fn start(set_up: impl FnOnce(&PostgresStorage)) -> Self {
        Self::start_on(postgres_database(), set_up)
    }

    /// The replicas on the empty database at `database_url` (a cluster of the test's own).
    pub fn start_on(database_url: String, set_up: impl FnOnce(&PostgresStorage)) -> Self {
        let storage = PostgresStorage::open(&database_url).expect("the database");
        set_up(&storage);
        let dir = tempfile::tempdir().expect("temp dir");
        let a = ServerProcess::start_postgres(&database_url, dir.path(), "127.0.0.1:0");
        let b = ServerProcess::start_postgres(&database_url, dir.path(), "127.0.0.1:0");
        Self { database_url, storage, dir, a, b }
    }

    /// The one value `sql` selects, as text.
    pub fn text(&self, sql: &str) -> String {
        psql_at(&self.database_url, sql).expect("query")
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.text(sql).parse().expect("a number")
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(configure: impl FnOnce(&mut AppState)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut sqlite = None;
        let (mut state, storage, postgres): (AppState, Arc<dyn SyncStorage>, _) = if on_postgres() {
            let url = postgres_database();
            let storage = Arc::new(
                PostgresStorage::open(&url).expect("server db").with_snapshot_dir(Some(dir.path().join("snapshots"))),
            );
            (AppState::new(storage.clone()), storage, Some(url))
        } else {
            let storage = Arc::new(SqliteStorage::open(dir.path().join("server.db")).expect("server db"));
            // as `serve` does
            storage.write_log_room_ahead();
            sqlite = Some(storage.clone());
            (AppState::new(storage.clone()), storage, None)
        };
        configure(&mut state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(gridbook_sync_server::serve(listener, state.clone(), async {
            let _ = rx.await;
        }));
        Self { url, storage, state, dir, postgres, sqlite, shutdown: Some(tx) }
    }

    /// The one text value `sql` selects, on either backend (numbers as their digits).
    pub fn text(&self, sql: &str) -> String {
        match &self.postgres {
            Some(url) => psql_at(url, sql).expect("query"),
            None => rusqlite::Connection::open(self.dir.path().join("server.db"))
                .expect("server db")
                .query_row(sql, [], |r| r.get::<_, rusqlite::types::Value>(0))
                .map(|v| match v {
                    rusqlite::types::Value::Integer(n) => n.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    other => panic!("not a number or a text: {other:?}"),
                })
                .expect("query"),
        }
    }

    /// Runs `sql` (statements with their values written in) on either backend.
    pub fn execute(&self, sql: &str) {
        match &self.postgres {
            Some(url) => {
                psql_at(url, sql).expect("statement");
            }
            None => {
                let c = rusqlite::Connection::open(self.dir.path().join("server.db")).expect("server db");
                c.busy_timeout(Duration::from_secs(5)).expect("busy timeout");
                c.execute_batch(sql).expect("statement");
            }
        }
    }

    /// The SQL of the text field `key` of a record's stored values (`vals`), on this backend.
    pub fn json_text(&self, key: &str) -> String {
        match &self.postgres {
            Some(_) => format!("(vals::jsonb ->> '{key}')"),
            None => format!("json_extract(vals, '$.{key}')"),
        }
    }

    pub fn admin(&self, command: AdminCommand) -> String {
        admin::run(self.storage.as_ref(), command, now_ms()).expect("admin command")
    }

    /// A grid, and a field manager assigned to it.
    pub fn grid_with_manager(&self, grid: &str, manager: &str) {
        let _ = self.storage.create_grid(grid, &format!("{grid} 网格"), now_ms());
        let _ = self.storage.create_manager(
            manager,
            &format!("经理{manager}"),
            gridbook_sync_server::domain::auth::Role::Field,
            None,
            now_ms(),
        );
        self.storage.assign_grid(manager, grid).expect("assign");
    }

    pub fn enrol_code(&self, manager: &str) -> String {
        self.admin(AdminCommand::EnrolCode { manager: manager.into(), valid_hours: 1 })
    }

    /// A phone of `manager`, enrolled and ready to sync.
    pub async fn phone(&self, manager: &str) -> Phone {
        self.phone_with_clock(manager, Box::new(SystemClock)).await
    }

    pub async fn phone_with_clock(&self, manager: &str, clock: Box<dyn WallClock>) -> Phone {
        Phone::enrol(&self.url, &self.enrol_code(manager), clock).await
    }

    /// A phone whose store is encrypted, as the apps' stores are (a software vault).
    pub async fn sealed_phone(&self, manager: &str) -> Phone {
        Phone::enrol_sealed(&self.url, &self.enrol_code(manager)).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A phone: its own SQLite file and sync engine.
pub struct Phone {
    pub dir: tempfile::TempDir,
    pub store: Arc<Store>,
    pub engine: SyncEngine,
    pub config: SyncConfig,
}

impl Phone {
    pub async fn enrol(url: &str, code: &str, clock: Box<dyn WallClock>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(Store::open_with_clock(dir.path().join("phone.db"), clock).expect("phone store"));
        Self::enrol_store(dir, store, url, code).await
    }

    /// A phone with an encrypted store (SQLCipher, its key in a software vault), as the apps' are.
    pub async fn enrol_sealed(url: &str, code: &str) -> Self {
        let vault = gridbook_core::store::encryption::SoftwareVault::generate().expect("vault");
        Self::enrol_sealed_with(url, code, &vault, Box::new(SystemClock)).await
    }

    /// `enrol_sealed` with the vault and the wall clock given (tests of the app lock).
    pub async fn enrol_sealed_with(
        url: &str,
        code: &str,
        vault: &dyn gridbook_core::store::encryption::KeyVault,
        clock: Box<dyn WallClock>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(Store::open_sealed_with_clock(dir.path().join("phone.db"), vault, clock).expect("phone"));
        Self::enrol_store(dir, store, url, code).await
    }

    async fn enrol_store(dir: tempfile::TempDir, store: Arc<Store>, url: &str, code: &str) -> Self {
        let resp = gridbook_core::sync::client::enrol(&store, url, code, "test-1.0", None).await.expect("enrol");
        let config = SyncConfig::new(url, &resp.token, "test-1.0");
        let engine = SyncEngine::new(store.clone(), config.clone()).expect("engine");
        Self { dir, store, engine, config }
    }

    pub async fn sync(&self) -> gridbook_core::SyncReport {
        self.engine.sync_once().await.expect("sync")
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("phone.db")
    }

    /// Collects money on a receipt signed by the customer (王芳, householder), sealed with this
    /// phone's key. An empty receipt number takes the next one from the phone's blocks.
    pub fn collect(&self, receipt: gridbook_core::Receipt) -> gridbook_core::SignedReceipt {
        let key = self.store.device_key().expect("device key");
        self.store
            .record_signed_receipt(receipt, gridbook_core::testing::capture("王芳"), &key)
            .expect("signed receipt")
    }
}

impl TestServer {
    /// A supervisor who logs in to the back office with `password`.
    pub fn supervisor(&self, id: &str, password: &str) {
        self.admin(AdminCommand::CreateManager {
            id: id.into(),
            name: format!("主管{id}"),
            role: "supervisor".into(),
            password: Some(password.into()),
        });
    }

    /// A back-office session of staff member `id` (made beforehand with `password`), logged in
    /// through the form as a browser does: the session cookie's value and the session's CSRF token.
    pub async fn staff_session(&self, id: &str, password: &str) -> (String, String) {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        let form = client.get(format!("{}/admin/login", self.url)).send().await.expect("login form");
        let login_cookie = set_cookie(&form, "gb_login");
        let form = form.text().await.expect("login form");
        let login_csrf =
            form.split("name=\"csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).expect("csrf").to_string();
        let resp = client
            .post(format!("{}/admin/login", self.url))
            .header("origin", &self.url)
            .header("cookie", format!("gb_login={login_cookie}"))
            .form(&[("id", id), ("password", password), ("csrf", login_csrf.as_str())])
            .send()
            .await
            .expect("login");
        assert_eq!(resp.status(), 303, "login refused");
        let session = set_cookie(&resp, "gb_session");
        let me: serde_json::Value = client
            .get(format!("{}/admin/api/me", self.url))
            .header("cookie", format!("gb_session={session}"))
            .send()
            .await
            .expect("me")
            .json()
            .await
            .expect("me");
        (session, me["csrf"].as_str().expect("csrf").to_string())
    }

    /// The back office's JSON at `path` (`/admin/api/…`) as the staff member of `session` reads it.
    pub async fn staff_get(&self, session: &str, path: &str) -> serde_json::Value {
        let resp = reqwest::Client::new()
            .get(format!("{}{path}", self.url))
            .header("cookie", format!("gb_session={session}"))
            .send()
            .await
            .expect("back-office request");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.expect("back-office JSON")
    }

    /// An arrears account from billing; returns its id.
    pub fn arrears(&self, grid: &str, household_id: &str, owed_fen: i64) -> String {
        self.admin(AdminCommand::AddArrears {
            grid: grid.into(),
            household: household_id.into(),
            account_no: format!("ACC-{}", &household_id[..household_id.len().min(8)]),
            owed_fen,
            months: 2,
            service_number: String::new(),
            payment_type: "postpaid".into(),
        })
    }
}

/// The server binary as its own process, so that a test can kill it.
pub struct ServerProcess {
    pub child: Child,
    pub url: String,
    pub db: PathBuf,
}

/// The server binary, built if this test run has not built it yet.
pub fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test> → target/<profile>/gridbook-sync-server; a binary (the
    // bench) sits beside it in target/<profile>
    let exe_dir = exe.parent().expect("target dir");
    let profile_dir = if exe_dir.ends_with("deps") { exe_dir.parent().expect("target dir") } else { exe_dir };
    let profile_dir = profile_dir.to_path_buf();
    let bin = profile_dir.join("gridbook-sync-server");
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "gridbook-sync-server", "--bin", "gridbook-sync-server"])
            .status()
            .expect("cargo build");
        assert!(status.success(), "building the server failed");
    }
    bin
}

impl ServerProcess {
    pub fn start(db: &Path) -> Self {
        Self::start_at(db, "127.0.0.1:0")
    }

    /// The server on a given address: after a kill, the same port again, so that phones find it
    /// where they were enrolled.
    pub fn start_at(db: &Path, listen: &str) -> Self {
        let port_file = db.with_extension(format!("port{}", std::process::id()));
        Self::spawn(vec!["--db".into(), db.into()], &port_file, listen, db)
    }

    /// A replica on the PostgreSQL database `database_url` (several may serve one database),
    /// its snapshot files in `dir` (shared by the replicas), on `listen`.
    pub fn start_postgres(database_url: &str, dir: &Path, listen: &str) -> Self {
        Self::start_postgres_logged(database_url, dir, listen, &[], None)
    }

    /// `start_postgres` with more of the server's settings from its environment (`GRIDBOOK_…`,
    /// GRIDBOOK_LOG too), its log written to `log` when given.
    pub fn start_postgres_logged(
        database_url: &str,
        dir: &Path,
        listen: &str,
        env: &[(&str, &str)],
        log: Option<&Path>,
    ) -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port_file = dir.join(format!("replica-{}-{n}.port", std::process::id()));
        let args =
            vec!["--database-url".into(), database_url.into(), "--snapshot-dir".into(), dir.join("snapshots").into()];
        let stderr = match log {
            Some(path) => Stdio::from(std::fs::File::create(path).expect("the replica's log")),
            None => Stdio::inherit(),
        };
        Self::spawn_with(args, &port_file, listen, dir, env, stderr)
    }

    fn spawn(backend: Vec<std::ffi::OsString>, port_file: &Path, listen: &str, db: &Path) -> Self {
        Self::spawn_with(backend, port_file, listen, db, &[], Stdio::inherit())
    }

    fn spawn_with(
        backend: Vec<std::ffi::OsString>,
        port_file: &Path,
        listen: &str,
        db: &Path,
        env: &[(&str, &str)],
        stderr: Stdio,
    ) -> Self {
        let _ = std::fs::remove_file(port_file);
        let mut child = Command::new(server_binary())
            .args(["serve", "--listen", listen])
            .args(backend)
            .arg("--port-file")
            .arg(port_file)
            .env("GRIDBOOK_LOG", "warn")
            .env_remove("GRIDBOOK_DATABASE_URL")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn server");
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            if let Ok(addr) = std::fs::read_to_string(port_file) {
                if !addr.trim().is_empty() {
                    break addr;
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the server on {listen} exited at start: {status}");
            }
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        let _ = std::fs::remove_file(port_file);
        Self { child, url: format!("http://{}", addr.trim()), db: db.to_path_buf() }
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `n` households on `phone` in `grid`, each with a visit one time in three: the load of the
/// replica tests.
pub fn work_on(phone: &Phone, grid: &str, n: u64, rng: &mut impl rand::Rng) {
    for _ in 0..n {
        let household = gridbook_core::testing::household_n(grid, rng.gen_range(1..1_000_000));
        let h = phone.store.create_household(household).expect("household");
        if rng.gen_bool(0.3) {
            phone.store.record_visit(gridbook_core::testing::visit(grid, &h.id)).expect("visit");
        }
    }
}

/// Waits until the server at `url` counts `n` phones waiting on `/v1/changes` (its /metrics):
/// a test then knows its waiter is in place before it makes the change that should wake it.
pub async fn until_changes_waiting(url: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let want = format!("gridbook_changes_waiting {n}\n");
    loop {
        if let Ok(resp) = reqwest::get(format!("{url}/metrics")).await {
            if resp.text().await.is_ok_and(|text| text.contains(&want)) {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{url} never counted {n} phones waiting");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Syncs `phone` until its server has nothing after its cursor (`/v1/changes` with no wait says
/// so; on PostgreSQL a pull may stop at the watermark while some transaction runs).
pub async fn caught_up(phone: &Phone) {
    for _ in 0..50 {
        if phone.engine.sync_once().await.is_ok() && !phone.engine.wait_for_changes(0).await.unwrap_or(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the phone never caught up with its server");
}

/// Runs an admin command on a server database through the binary, as an operator would.
pub fn admin_cli(db: &Path, args: &[&str]) -> String {
    let out = Command::new(server_binary()).arg("admin").arg("--db").arg(db).args(args).output().expect("admin");
    assert!(out.status.success(), "admin {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The phone binary of this crate (a store and a sync, as its own process).
pub fn phone_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target dir").to_path_buf();
    let bin = profile_dir.join("gridbook-phone");
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "gridbook-tests", "--bin", "gridbook-phone"])
            .status()
            .expect("cargo build");
        assert!(status.success(), "building the phone failed");
    }
    bin
}

/// 32 bytes from 64 hex digits (a software vault's secret passed to a child process).
pub fn secret_from_hex(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

/// The value of the cookie `name` an answer sets.
pub fn set_cookie(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")).map(|rest| rest.split(';').next().unwrap_or("").to_string()))
        .unwrap_or_else(|| panic!("no {name} cookie"))
}
