//! The logged-in supervisor or admin of a back-office request (`StaffSession`), read from the
//! session cookie (session.rs; the sessions are in the database). Without a valid session a page
//! redirects to the login form and an API call answers 401; a database that does not answer is a
//! 503.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};

use super::session::{cookie, Staff, SESSION_COOKIE};
use crate::domain::auth::Role;
use crate::domain::now_ms;
use crate::http::error::AppError;
use crate::http::state::AppState;

/// The logged-in staff member of a request. Without a valid session a page redirects to the
/// login form and an API call answers 401.
pub struct StaffSession(pub Staff);

pub enum NotLoggedIn {
    /// No session, or not a staff member's: to the login form, or 401. `expired`: the request
    /// carried a session cookie that is no longer live, which the login form says.
    Refused { api: bool, expired: bool },
    /// The sessions could not be read.
    Failed(AppError),
}

impl IntoResponse for NotLoggedIn {
    fn into_response(self) -> Response {
        match self {
            NotLoggedIn::Failed(e) => e.into_response(),
            NotLoggedIn::Refused { api: true, .. } => {
                AppError::unauthorized("请先登录后台 / log in to the back office first").into_response()
            }
            NotLoggedIn::Refused { api: false, expired } => {
                let to = if expired { "/admin/login?why=expired" } else { "/admin/login" };
                let mut r = Redirect::to(to).into_response();
                r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                r
            }
        }
    }
}

/// The live session of a cookie token, read off the async workers.
pub async fn live_session(state: &AppState, token: String) -> Result<Option<Staff>, AppError> {
    let sessions = state.backoffice.sessions.clone();
    Ok(tokio::task::spawn_blocking(move || sessions.get(&token, now_ms())).await??)
}

impl FromRequestParts<AppState> for StaffSession {
    type Rejection = NotLoggedIn;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let api = parts.uri.path().starts_with("/admin/api/");
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(NotLoggedIn::Refused { api, expired: false })?;
        let staff = live_session(state, token)
            .await
            .map_err(NotLoggedIn::Failed)?
            .ok_or(NotLoggedIn::Refused { api, expired: true })?;
        if !matches!(staff.role, Role::Supervisor | Role::Admin) {
            return Err(NotLoggedIn::Refused { api, expired: false });
        }
        Ok(StaffSession(staff))
    }
}
