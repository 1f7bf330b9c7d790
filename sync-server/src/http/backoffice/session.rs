//! Back-office sessions: a random token in an HttpOnly, SameSite=Strict cookie, kept in the
//! database by its SHA-256 only (`storage/sessions.rs`), so that every server replica knows every
//! session, a logout on one ends it on all, and a restart logs nobody out; with an idle and an
//! absolute lifetime. No copy is cached in the process: a logout or an expiry takes effect on the
//! next request everywhere. A session's last use is written at most every `TOUCH_EVERY_MS`, so an
//! idle session may end up to that much before `IDLE_MS`, never after.
//!
//! Every POST carries the session's CSRF token and, when the browser sends one, a same-origin
//! Origin. The CSRF token is the SHA-256 of the session's token under a label of its own
//! (`csrf_of`): every replica derives the same one from the cookie, nothing more is stored, and
//! the database, holding only the token's plain SHA-256, cannot give it away. Failed logins are counted and slowed down by
//! `http/login_throttle.rs`.

use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::domain::auth::{hash_secret, new_secret, Role};
use crate::http::error::AppError;
use crate::storage::error::StorageResult;
use crate::storage::sessions::{SessionBounds, SessionRow, SessionStorage};

pub const SESSION_COOKIE: &str = "gb_session";
/// The login form's own CSRF token (double submit: cookie and hidden field must match).
pub const LOGIN_COOKIE: &str = "gb_login";
pub const IDLE_MS: i64 = 8 * 3_600_000;
pub const ABSOLUTE_MS: i64 = 12 * 3_600_000;
/// How often a session's last use is written (not on every request: a write each).
pub const TOUCH_EVERY_MS: i64 = 60_000;
const MAX_SESSIONS: i64 = 10_000;

/// A logged-in supervisor or admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub csrf: String,
}

/// The CSRF token of the session whose cookie token is `token`.
pub fn csrf_of(token: &str) -> String {
    hash_secret(&format!("gridbook-backoffice-csrf:{token}"))
}

/// The sessions of the back office, in the database every replica shares.
#[derive(Clone)]
pub struct SessionStore {
    storage: Arc<dyn SessionStorage>,
}

impl SessionStore {
    pub fn new(storage: Arc<dyn SessionStorage>) -> Self {
        Self { storage }
    }

    /// A new session; returns the cookie token (only its hash is stored).
    pub fn create(&self, id: &str, name: &str, role: Role, now: i64) -> StorageResult<(String, Staff)> {
        let token = new_secret(32);
        let row = SessionRow { staff_id: id.into(), name: name.into(), role, created_ms: now, last_seen_ms: now };
        let bounds = SessionBounds {
            idle_before_ms: now.saturating_sub(IDLE_MS),
            started_before_ms: now.saturating_sub(ABSOLUTE_MS),
            max_sessions: MAX_SESSIONS,
        };
        self.storage.create_session(&hash_secret(&token), &row, bounds)?;
        let staff = Staff { id: id.into(), name: name.into(), role, csrf: csrf_of(&token) };
        Ok((token, staff))
    }

    /// The session of a cookie token, if it is live; an expired one is removed.
    pub fn get(&self, token: &str, now: i64) -> StorageResult<Option<Staff>> {
        let key = hash_secret(token);
        let Some(row) = self.storage.session(&key)? else {
            return Ok(None);
        };
        if expired(&row, now) {
            self.storage.remove_session(&key)?;
            return Ok(None);
        }
        if now.saturating_sub(row.last_seen_ms) >= TOUCH_EVERY_MS {
            self.storage.touch_session(&key, now)?;
        }
        Ok(Some(Staff { id: row.staff_id, name: row.name, role: row.role, csrf: csrf_of(token) }))
    }

    /// Ends the session of a cookie token, on every replica.
    pub fn remove(&self, token: &str) -> StorageResult<()> {
        self.storage.remove_session(&hash_secret(token))
    }
}

fn expired(s: &SessionRow, now: i64) -> bool {
    now.saturating_sub(s.last_seen_ms) > IDLE_MS || now.saturating_sub(s.created_ms) > ABSOLUTE_MS
}

/// The value of one cookie of the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Whether the request came over TLS through a proxy (then cookies are marked Secure).
fn secure(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

pub fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age_s: i64) -> HeaderValue {
    let secure = if secure(headers) { "; Secure" } else { "" };
    let v = format!("{name}={value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}");
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("gb_invalid=1; Path=/admin"))
}

pub fn clear_cookie(headers: &HeaderMap, name: &str) -> HeaderValue {
    set_cookie(headers, name, "", 0)
}

/// Constant-time comparison of two tokens.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Refuses a state-changing request from another site: a cross-site Sec-Fetch-Site, or an Origin
/// that is not this host.
pub fn same_origin(headers: &HeaderMap) -> bool {
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_some_and(|v| v == "cross-site") {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let origin = origin.to_str().unwrap_or("");
    origin == format!("http://{host}") || origin == format!("https://{host}")
}

/// 403 for a POST without the right CSRF token or from another origin.
pub fn csrf_refused() -> Response {
    (StatusCode::FORBIDDEN, AppError::forbidden("the form expired or came from another site; reload the page").message)
        .into_response()
}

/// The header a JSON write under /admin/api/ carries its session's CSRF token in (the page has it
/// from /admin/api/me).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A state-changing JSON call under /admin/api/: only an admin, from this site, with the
/// session's CSRF token in `X-CSRF-Token`.
pub fn check_admin_write(headers: &HeaderMap, staff: &Staff) -> Result<(), AppError> {
    if staff.role != Role::Admin {
        return Err(AppError::forbidden("this change needs the admin role"));
    }
    check_staff_write(headers, staff)
}

/// A state-changing JSON call a supervisor may make too (a device's remote wipe, as deciding a
/// void): any staff session, from this site, with the session's CSRF token in `X-CSRF-Token`.
pub fn check_staff_write(headers: &HeaderMap, staff: &Staff) -> Result<(), AppError> {
    if !matches!(staff.role, Role::Supervisor | Role::Admin) {
        return Err(AppError::forbidden("this change needs a supervisor or an admin"));
    }
    let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !same_origin(headers) || sent.is_empty() || !same_token(&staff.csrf, sent) {
        return Err(AppError::forbidden(
            "the X-CSRF-Token header is missing or stale, or the request came from another site; reload the page",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SessionStore) {
        let dir = tempfile::tempdir().unwrap();
        let storage = Arc::new(crate::storage::sqlite::SqliteStorage::open(dir.path().join("s.db")).unwrap());
        (dir, SessionStore::new(storage))
    }

    #[test]
    fn sessions_expire_when_idle_and_after_the_absolute_limit() {
        let (_dir, store) = store();
        let (token, staff) = store.create("sup", "王主管", Role::Supervisor, 0).unwrap();
        assert_eq!(store.get(&token, IDLE_MS - 1).unwrap(), Some(staff));
        assert!(store.get(&token, 2 * IDLE_MS + 1).unwrap().is_none(), "idle for longer than IDLE_MS");
        let (token, _) = store.create("sup", "王主管", Role::Supervisor, 0).unwrap();
        let mut t = 0;
        while t < ABSOLUTE_MS {
            assert!(store.get(&token, t).unwrap().is_some());
            t += IDLE_MS / 2;
        }
        assert!(store.get(&token, ABSOLUTE_MS + 1).unwrap().is_none());
        assert!(store.get("not-a-token", 0).unwrap().is_none());
    }

    #[test]
    fn a_use_is_written_at_most_every_touch_interval_and_idleness_counts_from_it() {
        let (_dir, store) = store();
        let (token, _) = store.create("sup", "王主管", Role::Supervisor, 0).unwrap();
        // a use within the interval is not written: idleness still counts from the login
        assert!(store.get(&token, TOUCH_EVERY_MS - 1).unwrap().is_some());
        assert!(store.get(&token, IDLE_MS + 1).unwrap().is_none(), "never later than IDLE_MS after the last write");
        let (token, _) = store.create("sup", "王主管", Role::Supervisor, 0).unwrap();
        assert!(store.get(&token, TOUCH_EVERY_MS).unwrap().is_some());
        assert!(store.get(&token, IDLE_MS + TOUCH_EVERY_MS).unwrap().is_some(), "the use at the interval was written");
    }

    #[test]
    fn a_logout_ends_the_session_and_the_csrf_token_comes_from_the_cookie_alone() {
        let (_dir, store) = store();
        let (token, staff) = store.create("adm", "李管理", Role::Admin, 0).unwrap();
        assert_eq!(staff.csrf, csrf_of(&token));
        assert_ne!(staff.csrf, hash_secret(&token), "not the stored hash");
        let (other, _) = store.create("adm", "李管理", Role::Admin, 0).unwrap();
        store.remove(&token).unwrap();
        assert!(store.get(&token, 1).unwrap().is_none());
        assert!(store.get(&other, 1).unwrap().is_some(), "only that session ended");
    }

    #[test]
    fn cookies_and_tokens() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; gb_session=abc ; b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "missing"), None);
        assert!(same_token("abc", "abc") && !same_token("abc", "abd") && !same_token("abc", "ab"));
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://evil.example"));
        assert!(!same_origin(&h));
    }
}
