//! Back-office sessions: a random token in an HttpOnly, SameSite=Strict cookie, kept in memory
//! by its SHA-256 (a restart logs everyone out), with an idle and an absolute lifetime. Every
//! POST carries the session's CSRF token and, when the browser sends one, a same-origin Origin.
//! Failed logins are counted and slowed down by `http/login_throttle.rs`.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::domain::auth::{hash_secret, new_secret, Role};
use crate::http::error::AppError;

pub const SESSION_COOKIE: &str = "gb_session";
/// The login form's own CSRF token (double submit: cookie and hidden field must match).
pub const LOGIN_COOKIE: &str = "gb_login";
pub const IDLE_MS: i64 = 8 * 3_600_000;
pub const ABSOLUTE_MS: i64 = 12 * 3_600_000;
const MAX_SESSIONS: usize = 10_000;

/// A logged-in supervisor or admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub csrf: String,
    created_ms: i64,
    last_seen_ms: i64,
}

#[derive(Default)]
pub struct SessionStore {
    sessions: Mutex<HashMap<String, Staff>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SessionStore {
    /// A new session; returns the cookie token (only its hash is kept).
    pub fn create(&self, id: &str, name: &str, role: Role, now: i64) -> (String, Staff) {
        let token = new_secret(32);
        let staff =
            Staff { id: id.into(), name: name.into(), role, csrf: new_secret(32), created_ms: now, last_seen_ms: now };
        let mut sessions = lock(&self.sessions);
        sessions.retain(|_, s| !expired(s, now));
        if sessions.len() >= MAX_SESSIONS {
            // the oldest goes first
            if let Some(oldest) = sessions.iter().min_by_key(|(_, s)| s.last_seen_ms).map(|(k, _)| k.clone()) {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(hash_secret(&token), staff.clone());
        (token, staff)
    }

    pub fn get(&self, token: &str, now: i64) -> Option<Staff> {
        let key = hash_secret(token);
        let mut sessions = lock(&self.sessions);
        match sessions.get_mut(&key) {
            Some(s) if !expired(s, now) => {
                s.last_seen_ms = now;
                Some(s.clone())
            }
            Some(_) => {
                sessions.remove(&key);
                None
            }
            None => None,
        }
    }

    pub fn remove(&self, token: &str) {
        lock(&self.sessions).remove(&hash_secret(token));
    }
}

fn expired(s: &Staff, now: i64) -> bool {
    now - s.last_seen_ms > IDLE_MS || now - s.created_ms > ABSOLUTE_MS
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

    #[test]
    fn sessions_expire_when_idle_and_after_the_absolute_limit() {
        let store = SessionStore::default();
        let (token, _) = store.create("sup", "王主管", Role::Supervisor, 0);
        assert!(store.get(&token, IDLE_MS - 1).is_some());
        assert!(store.get(&token, 2 * IDLE_MS + 1).is_none(), "idle for longer than IDLE_MS");
        let (token, _) = store.create("sup", "王主管", Role::Supervisor, 0);
        let mut t = 0;
        while t < ABSOLUTE_MS {
            assert!(store.get(&token, t).is_some());
            t += IDLE_MS / 2;
        }
        assert!(store.get(&token, ABSOLUTE_MS + 1).is_none());
        assert!(store.get("not-a-token", 0).is_none());
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
