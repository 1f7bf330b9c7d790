//! The one server fixture of the server's tests: a real SQLite file in a temp dir (or, with
//! GRIDBOOK_TEST_BACKEND=postgres, a database of its own on a PostgreSQL test cluster), the state
//! the real router serves, requests through that router with `oneshot`, and grids, managers,
//! devices and back-office sessions made the way the server makes them.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use gridbook_core::sync::wire::{EnrolRequest, EnrolResponse, ErrorBody, PushRequest, PushResponse, PROTOCOL_VERSION};
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::domain::password::hash_password;
use gridbook_sync_server::storage::postgres::test_cluster::{psql_at, TestCluster};
use gridbook_sync_server::storage::sessions::SessionStorage;
use gridbook_sync_server::{app, now_ms, AppState, PostgresStorage, SqliteStorage, SyncStorage};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The host the back office's requests name (its same-origin check compares with it).
pub const HOST: &str = "127.0.0.1:8080";
/// The Origin of a request from the back office's own pages.
pub const ORIGIN: &str = "http://127.0.0.1:8080";

pub struct Server {
    pub dir: tempfile::TempDir,
    pub storage: Arc<dyn SyncStorage>,
    pub state: AppState,
    /// The PostgreSQL database's URL, on that backend.
    pub postgres: Option<String>,
}

/// Which backend the tests run on: GRIDBOOK_TEST_BACKEND=postgres, or SQLite.
pub fn on_postgres() -> bool {
    std::env::var("GRIDBOOK_TEST_BACKEND").is_ok_and(|b| b.eq_ignore_ascii_case("postgres"))
}

impl Server {
    /// A server with an empty database, on the backend GRIDBOOK_TEST_BACKEND names.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        if on_postgres() {
            let cluster = TestCluster::shared().unwrap_or_else(|e| panic!("GRIDBOOK_TEST_BACKEND=postgres: {e}"));
            let url = cluster.create_database().unwrap();
            let storage = Arc::new(PostgresStorage::open(&url).unwrap());
            let state = AppState::new(storage.clone());
            return Server { dir, storage, state, postgres: Some(url) };
        }
        let storage = Arc::new(SqliteStorage::open(dir.path().join("s.db")).unwrap());
        let state = AppState::new(storage.clone());
        Server { dir, storage, state, postgres: None }
    }

    /// Another server on this one's database — another replica, or this one after a restart —
    /// with its own storage and state; and that storage's sessions and login counts.
    pub fn replica(&self) -> (AppState, Arc<dyn SessionStorage>) {
        match &self.postgres {
            Some(url) => {
                let storage = Arc::new(PostgresStorage::open(url).unwrap());
                (AppState::new(storage.clone()), storage)
            }
            None => {
                let storage = Arc::new(SqliteStorage::open(self.sqlite_path()).unwrap());
                (AppState::new(storage.clone()), storage)
            }
        }
    }

    /// The SQLite file (tests of what only that backend stores).
    pub fn sqlite_path(&self) -> std::path::PathBuf {
        assert!(self.postgres.is_none(), "this test reads the SQLite file");
        self.dir.path().join("s.db")
    }

    /// One number the SQL `sql` counts, on either backend (the tables share their names).
    pub fn count(&self, sql: &str) -> i64 {
        self.text(&format!("SELECT CAST(({sql}) AS BIGINT)")).parse().unwrap()
    }

    /// The one text value `sql` selects, on either backend.
    pub fn text(&self, sql: &str) -> String {
        match &self.postgres {
            Some(url) => psql_at(url, sql).unwrap(),
            None => rusqlite::Connection::open(self.sqlite_path())
                .unwrap()
                .query_row(sql, [], |r| r.get::<_, rusqlite::types::Value>(0))
                .map(|v| match v {
                    rusqlite::types::Value::Integer(n) => n.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    other => panic!("not a number or a text: {other:?}"),
                })
                .unwrap(),
        }
    }

    /// Runs `sql` (a statement with its values written in) on either backend.
    pub fn execute(&self, sql: &str) {
        match &self.postgres {
            Some(url) => {
                psql_at(url, sql).unwrap();
            }
            None => {
                let c = rusqlite::Connection::open(self.sqlite_path()).unwrap();
                c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
                c.execute_batch(sql).unwrap();
            }
        }
    }

    /// The SQL of a new change number written outside the server: above every number the
    /// backend has handed out (on PostgreSQL, the writing transaction's, docs/postgres.md).
    pub fn next_seq_sql(&self) -> &'static str {
        if self.postgres.is_some() {
            "pg_current_xact_id()::text::bigint << 20"
        } else {
            "(SELECT coalesce(max(seq), 0) + 1 FROM entities)"
        }
    }

    /// Stores a record as the server keeps an accepted one (its row of `entities`), written
    /// outside the server: a record phones may not push (billing figures) or one a test places
    /// at a time of its choosing.
    pub fn store_record<R: gridbook_core::model::Record>(&self, id: &str, grid: &str, record: &R) {
        let vals = serde_json::to_string(&gridbook_core::testing::fields_of(record).unwrap()).unwrap();
        self.execute(&format!(
            "INSERT INTO entities (kind, id, grid_id, vals, base_hlc, clocks, seq, updated_at_ms)
             VALUES ({kind}, {id}, {grid}, {vals}, {stamp}, '{{}}', {seq}, {now})",
            kind = sql_text(R::KIND.as_str()),
            id = sql_text(id),
            grid = sql_text(grid),
            vals = sql_text(&vals),
            stamp = sql_text(&gridbook_core::sync::hlc::Hlc::new(now_ms() as u64, 0, "phone_a").to_string()),
            seq = self.next_seq_sql(),
            now = now_ms(),
        ));
    }

    pub fn grid(self, id: &str, name: &str) -> Self {
        self.storage.create_grid(id, name, now_ms()).unwrap();
        self
    }

    /// A manager of `role`; with a password, one who can log in to the back office.
    pub fn manager(self, id: &str, name: &str, role: Role, password: Option<&str>) -> Self {
        let hash = password.map(|p| hash_password(p).unwrap());
        self.storage.create_manager(id, name, role, hash.as_deref(), now_ms()).unwrap();
        self
    }

    pub fn assign(self, manager: &str, grid: &str) -> Self {
        self.storage.assign_grid(manager, grid).unwrap();
        self
    }

    /// A device of `manager`, enrolled straight through the storage; its token.
    pub fn device(&self, manager: &str, device: &str) -> String {
        self.storage.enrol(&self.enrol_request(manager, device), now_ms()).unwrap().token
    }

    /// A device of `manager`, enrolled through `POST /v1/enrol`; its token.
    pub async fn enrol(&self, manager: &str, device: &str) -> String {
        let reply = self.send(json_post("/v1/enrol", &self.enrol_request(manager, device))).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        serde_json::from_slice::<EnrolResponse>(&reply.body).unwrap().token
    }

    fn enrol_request(&self, manager: &str, device: &str) -> EnrolRequest {
        EnrolRequest {
            protocol: PROTOCOL_VERSION,
            code: self.storage.create_enrol_code(manager, now_ms(), 3_600_000).unwrap(),
            device_id: device.into(),
            app_version: "2.1.0".into(),
            public_key: None,
        }
    }

    /// A logged-in staff member of `role`: (session cookie value, CSRF token).
    pub fn session(&self, id: &str, role: Role) -> (String, String) {
        let (token, staff) = self.state.backoffice.sessions.create(id, "测试主管", role, now_ms()).unwrap();
        (token, staff.csrf)
    }

    /// A push by the device of `token` through `POST /v1/push`, which must be answered 200.
    pub async fn push(&self, token: &str, request: &PushRequest) -> PushResponse {
        let mut req = json_post("/v1/push", request);
        req.headers_mut().insert(header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        let reply = self.send(req).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        serde_json::from_slice(&reply.body).unwrap()
    }

    /// One request through the real router.
    pub async fn send(&self, req: Request<Body>) -> Reply {
        send(&self.state, req).await
    }
}

/// One request through the router of `state`.
pub async fn send(state: &AppState, req: Request<Body>) -> Reply {
    let resp = app(state.clone()).oneshot(req).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply { status, headers, body }
}

/// `text` as an SQL string literal.
pub fn sql_text(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A body that must be an error answer.
pub fn error_of(body: &[u8]) -> ErrorBody {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not a JSON error body ({e}): {}", String::from_utf8_lossy(body)))
}

/// A back-office request of the staff session `(cookie, CSRF token)`, from the back office's own
/// pages (same host and origin).
pub fn staff_request(method: &str, path: &str, session: &(String, String)) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(header::COOKIE, format!("gb_session={}", session.0))
        .header("x-csrf-token", &session.1)
}

/// A JSON POST of the staff session `(cookie, CSRF token)` from the back office's own pages.
pub async fn staff_post(f: &Server, path: &str, session: &(String, String), body: Value) -> Reply {
    let req = staff_request("POST", path, session)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    f.send(req).await
}

/// Rows of the audit trail with this action on this subject.
pub fn audited(f: &Server, action: &str, subject: &str) -> i64 {
    f.count(&format!(
        "SELECT count(*) FROM audit_log WHERE action = {} AND subject = {}",
        sql_text(action),
        sql_text(subject)
    ))
}

/// A POST of `body` as JSON.
pub fn json_post(path: &str, body: &impl serde::Serialize) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

/// An answer: status, headers and the body as received.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    /// The body as an error answer.
    pub fn error(&self) -> ErrorBody {
        error_of(&self.body)
    }
    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
    /// The value a Set-Cookie header gives `name`, if any.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
            v.strip_prefix(&format!("{name}=")).map(|rest| rest.split(';').next().unwrap_or("").to_string())
        })
    }
    /// The whole Set-Cookie line for `name`.
    pub fn set_cookie_line(&self, name: &str) -> String {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .unwrap_or("")
            .to_string()
    }
}
