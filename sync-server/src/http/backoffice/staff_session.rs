//! The logged-in supervisor or admin of a back-office request (`StaffSession`), read from the
//! session cookie (session.rs keeps the sessions). Without a valid session a page redirects to
//! the login form and an API call answers 401.

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

pub struct NotLoggedIn {
    api: bool,
}

impl IntoResponse for NotLoggedIn {
    fn into_response(self) -> Response {
        if self.api {
            AppError::unauthorized("log in to the back office first").into_response()
        } else {
            let mut r = Redirect::to("/admin/login").into_response();
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
    }
}

impl FromRequestParts<AppState> for StaffSession {
    type Rejection = NotLoggedIn;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let api = parts.uri.path().starts_with("/admin/api/");
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(NotLoggedIn { api })?;
        let staff = state.backoffice.sessions.get(&token, now_ms()).ok_or(NotLoggedIn { api })?;
        if !matches!(staff.role, Role::Supervisor | Role::Admin) {
            return Err(NotLoggedIn { api });
        }
        Ok(StaffSession(staff))
    }
}
