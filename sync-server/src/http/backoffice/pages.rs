//! The HTML side: the login form, the dashboard shell and its static assets, logout. Pages are
//! files under assets/ compiled into the binary; the few values a page needs (its CSRF token, the
//! staff member's name) are escaped and put in place on the server.

use std::sync::OnceLock;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::session::{self, cookie, same_origin, same_token, LOGIN_COOKIE, SESSION_COOKIE};
use super::staff_session::{live_session, StaffSession};
use crate::domain::auth::{new_secret, Role};
use crate::domain::now_ms;
use crate::domain::password::{hash_password, verify_password};
use crate::http::client_addr::ClientAddr;
use crate::http::error::AppError;
use crate::http::login_throttle::Throttled;
use crate::http::state::AppState;
use crate::storage::staff::StaffAccount;

const LOGIN_HTML: &str = include_str!("../../../assets/login.html");
const DASHBOARD_HTML: &str = include_str!("../../../assets/admin.html");
const APP_JS: &str = include_str!("../../../assets/app.js");
const I18N_JS: &str = include_str!("../../../assets/i18n.js");
const LOGIN_JS: &str = include_str!("../../../assets/login.js");
const LOCATIONS_JS: &str = include_str!("../../../assets/locations.js");
const PHOTOS_JS: &str = include_str!("../../../assets/photos.js");
const APP_CSS: &str = include_str!("../../../assets/app.css");

/// Everything a page loads comes from this server; nothing runs inline.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub use gridbook_core::evidence::printable::escape_html;

/// Referrer-Policy same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on
/// the forms' POSTs, which the origin check must refuse.
fn page(status: StatusCode, html: String) -> Response {
    page_with_csp(status, html, CSP)
}

/// A page under its own content security policy (a printed receipt's inline style; the public
/// receipt check), with the other headers every page has.
pub fn page_with_csp(status: StatusCode, html: String, csp: &'static str) -> Response {
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    r
}

/// The login form with a fresh CSRF token (in a cookie and in the form) and an error key:
/// "", "credentials", "locked", "role", "expired" (the form's token), "session" (the session
/// ended: why the form was shown), "invalid", "unavailable". The message is written into the page
/// here, zh-CN first with English beside it, so that it shows with JavaScript off; login.js puts
/// it in the reader's chosen language. `next` is the tab to return to after logging in.
fn login_page(headers: &HeaderMap, status: StatusCode, error: &str, next: &str) -> Response {
    let token = new_secret(24);
    let text = login_error_text(error);
    let html = LOGIN_HTML
        .replace("{{csrf}}", &token)
        .replace("{{error}}", &escape_html(error))
        .replace("{{error_text}}", &escape_html(text))
        .replace("{{error_hidden}}", if text.is_empty() { " hidden" } else { "" })
        .replace("{{next}}", &escape_html(&return_tab(next)));
    let mut r = page(status, html);
    r.headers_mut().append(header::SET_COOKIE, session::set_cookie(headers, LOGIN_COOKIE, &token, 3_600));
    r
}

/// What the login form says for an error key, zh-CN then English (the same words as i18n.js).
fn login_error_text(key: &str) -> &'static str {
    match key {
        "credentials" => "账号或密码错误。 / Wrong account or password.",
        "locked" => "登录失败次数过多，请稍候再试。 / Too many failed attempts: wait a moment and try again.",
        "role" => "后台仅供主管和管理员使用；网格经理请使用手机应用。 / The back office is for supervisors and admins; grid managers use the phone app.",
        "expired" => "页面已过期，请重新登录。 / The page expired; please log in again.",
        "session" => "登录已过期或已在别处退出，请重新登录。 / Your session ended; please log in again.",
        "invalid" => "请填写账号和密码。 / Enter your account and password.",
        "unavailable" => "服务器暂时无法登录，请稍后再试。 / The server cannot log you in right now; try again shortly.",
        _ => "",
    }
}

/// The tab to return to after logging in: a view's name (letters, digits, `-`, `_`), else none.
fn return_tab(next: &str) -> String {
    let ok = !next.is_empty()
        && next.len() <= 32
        && next.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        next.to_string()
    } else {
        String::new()
    }
}

/// Why the login form is shown and where to go after it: `?why=expired&next=money`.
#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    why: String,
    #[serde(default)]
    next: String,
}

pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<LoginQuery>, QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        // a database that does not answer shows the form: logging in says what is wrong
        if let Ok(Some(_)) = live_session(&state, token).await {
            return Redirect::to(&after_login(&q.next)).into_response();
        }
    }
    let error = if q.why == "expired" { "session" } else { "" };
    login_page(&headers, StatusCode::OK, error, &q.next)
}

/// The dashboard, on the tab the reader was on when the login form was shown.
fn after_login(next: &str) -> String {
    let tab = return_tab(next);
    if tab.is_empty() {
        "/admin".to_string()
    } else {
        format!("/admin#{tab}")
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

/// A hash to check wrong account names against, so that an unknown name takes as long as a
/// wrong password.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password(&new_secret(16)).unwrap_or_default())
}

pub async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return login_page(&headers, StatusCode::BAD_REQUEST, "invalid", "");
    };
    let next = form.next.clone();
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !same_origin(&headers) || expected.is_empty() || !same_token(&expected, &form.csrf) {
        return login_page(&headers, StatusCode::FORBIDDEN, "expired", &next);
    }
    let id = form.id.trim().to_string();
    if id.is_empty() || id.len() > 64 || form.password.is_empty() || form.password.len() > 1024 {
        return login_page(&headers, StatusCode::UNAUTHORIZED, "credentials", &next);
    }
    let now = now_ms();
    // counted with HTTP Basic's failures: one account, one count, on every replica
    // (login_throttle.rs); the counts and the session are in the database, so all of it runs
    // off the async workers
    let address = client.key();
    let (throttle, staff, sessions) =
        (state.login_throttle.clone(), state.backoffice.staff.clone(), state.backoffice.sessions.clone());
    let lookup_id = id.clone();
    let checked = tokio::task::spawn_blocking(move || {
        if let Err(throttled) = throttle.check(&lookup_id, &address, now)? {
            return Ok(Login::Throttled(throttled));
        }
        let account = staff.staff_account(&lookup_id)?;
        let hash = account.as_ref().and_then(|a| a.password_hash.clone());
        let ok = verify_password(&form.password, hash.as_deref().unwrap_or_else(|| dummy_hash())) && hash.is_some();
        let Some(account) = account.filter(|_| ok) else {
            // counted from when the password was found wrong (checking it takes a while)
            throttle.failed(&lookup_id, &address, now_ms())?;
            return Ok(Login::Wrong);
        };
        if !matches!(account.role, Role::Supervisor | Role::Admin) {
            return Ok(Login::FieldAccount);
        }
        throttle.succeeded(&lookup_id, now)?;
        let (token, _) = sessions.create(&account.id, &account.name, account.role, now)?;
        Ok::<_, AppError>(Login::In(account, token))
    })
    .await;
    let (account, token) = match checked {
        Ok(Ok(Login::In(account, token))) => (account, token),
        Ok(Ok(Login::Throttled(throttled))) => {
            let mut page = login_page(&headers, StatusCode::TOO_MANY_REQUESTS, "locked", &next);
            let wait_s = throttled.retry_after_ms().div_ceil(1000).max(1);
            page.headers_mut().insert(header::RETRY_AFTER, wait_s.into());
            return page;
        }
        Ok(Ok(Login::Wrong)) => {
            tracing::warn!(account = %id, "back-office login refused: wrong account or password");
            return login_page(&headers, StatusCode::UNAUTHORIZED, "credentials", &next);
        }
        Ok(Ok(Login::FieldAccount)) => {
            tracing::warn!(account = %id, "back-office login refused: a field account");
            return login_page(&headers, StatusCode::FORBIDDEN, "role", &next);
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "back-office login: the database failed");
            return login_page(&headers, StatusCode::SERVICE_UNAVAILABLE, "unavailable", &next);
        }
        Err(e) => {
            tracing::error!(error = %e, "back-office login: worker failed");
            return login_page(&headers, StatusCode::SERVICE_UNAVAILABLE, "unavailable", &next);
        }
    };
    tracing::info!(staff = %account.id, role = account.role.as_str(), "back-office login");
    let mut r = Redirect::to(&after_login(&next)).into_response();
    let h = r.headers_mut();
    h.append(header::SET_COOKIE, session::set_cookie(&headers, SESSION_COOKIE, &token, session::ABSOLUTE_MS / 1000));
    h.append(header::SET_COOKIE, session::clear_cookie(&headers, LOGIN_COOKIE));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// How a login attempt ended.
enum Login {
    In(StaffAccount, String),
    Throttled(Throttled),
    Wrong,
    FieldAccount,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let token = form.map(|Form(f)| f.csrf).unwrap_or_default();
    if !same_origin(&headers) || !same_token(&staff.csrf, &token) {
        return session::csrf_refused();
    }
    if let Some(t) = cookie(&headers, SESSION_COOKIE) {
        // ended in the database: on every replica at once
        let sessions = state.backoffice.sessions.clone();
        match tokio::task::spawn_blocking(move || sessions.remove(&t)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return AppError::from(e).into_response(),
            Err(e) => return AppError::from(e).into_response(),
        }
    }
    tracing::info!(staff = %staff.id, "back-office logout");
    let mut r = Redirect::to("/admin/login").into_response();
    r.headers_mut().append(header::SET_COOKIE, session::clear_cookie(&headers, SESSION_COOKIE));
    r
}

/// `/`: the back office is what a person opening the server's address wants.
pub async fn root() -> Redirect {
    Redirect::to("/admin")
}

pub async fn dashboard(StaffSession(staff): StaffSession) -> Response {
    staff_page(DASHBOARD_HTML, &staff)
}

/// A page for a logged-in staff member, with their CSRF token, name, id and role put in place.
pub fn staff_page(template: &str, staff: &session::Staff) -> Response {
    let html = template
        .replace("{{csrf}}", &escape_html(&staff.csrf))
        .replace("{{name}}", &escape_html(&staff.name))
        .replace("{{id}}", &escape_html(&staff.id))
        .replace("{{role}}", staff.role.as_str());
    page(StatusCode::OK, html)
}

/// A script of the pages.
pub fn script(body: &'static str) -> Response {
    static_asset(body, "text/javascript; charset=utf-8")
}

pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "i18n.js" => (I18N_JS, "text/javascript; charset=utf-8"),
        "login.js" => (LOGIN_JS, "text/javascript; charset=utf-8"),
        "locations.js" => (LOCATIONS_JS, "text/javascript; charset=utf-8"),
        "photos.js" => (PHOTOS_JS, "text/javascript; charset=utf-8"),
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        _ => return AppError::not_found("no such asset").into_response(),
    };
    static_asset(body, kind)
}

fn static_asset(body: &'static str, kind: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}

#[cfg(test)]
mod tests {
    #[test]
    fn html_is_escaped() {
        assert_eq!(
            super::escape_html("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
