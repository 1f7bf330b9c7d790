//! What the back office's logins share across server replicas (issue 15), kept in the database so
//! that any replica serves any request: sessions, stored by the SHA-256 of their token only, and
//! failed logins counted per account and per client address. The rules (lifetimes, delays) are
//! the HTTP layer's (`http/backoffice/session.rs`, `http/login_throttle.rs`); this is their rows.

use super::error::StorageResult;
use crate::domain::auth::Role;

/// A session as stored: who, and when it started and was last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub staff_id: String,
    pub name: String,
    pub role: Role,
    pub created_ms: i64,
    pub last_seen_ms: i64,
}

/// What a new session clears away first: sessions idle since before `idle_before_ms` or started
/// before `started_before_ms`, and the least recently seen beyond `max_sessions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionBounds {
    pub idle_before_ms: i64,
    pub started_before_ms: i64,
    pub max_sessions: i64,
}

/// Whose failed logins a count is: the account tried, or the address the attempt came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureScope {
    Account,
    Address,
}

impl FailureScope {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureScope::Account => "account",
            FailureScope::Address => "address",
        }
    }
}

/// Failed logins of one account or address since its count last started over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub count: u32,
    pub last_ms: i64,
}

pub trait SessionStorage: Send + Sync + 'static {
    /// Stores a new session under the hash of its token, after clearing what `bounds` says.
    fn create_session(&self, token_hash: &str, session: &SessionRow, bounds: SessionBounds) -> StorageResult<()>;
    /// The session of a token hash, whether or not it has expired (the caller judges and removes).
    fn session(&self, token_hash: &str) -> StorageResult<Option<SessionRow>>;
    /// Notes that the session was used at `now_ms` (never moves it back).
    fn touch_session(&self, token_hash: &str, now_ms: i64) -> StorageResult<()>;
    /// Ends a session (a logout, or one found expired).
    fn remove_session(&self, token_hash: &str) -> StorageResult<()>;

    /// The failures counted for `account` and for `address`, in that order; stale counts included
    /// (the caller knows the window).
    fn login_failures(&self, account: &str, address: &str) -> StorageResult<[Option<Failures>; 2]>;
    /// Counts one failed login on `account` from `address`: a count whose last failure is older
    /// than `window_ms` starts over. Drops every count older than the window. Answers the new
    /// counts, account's first.
    fn count_login_failure(&self, account: &str, address: &str, now_ms: i64, window_ms: i64)
        -> StorageResult<[u32; 2]>;
    /// Forgets an account's failures (a good login), and drops every count whose last failure is
    /// before `stale_before_ms`.
    fn forget_login_failures(&self, account: &str, stale_before_ms: i64) -> StorageResult<()>;
    /// How many accounts and addresses have at least `threshold` failures, the last one at or
    /// after `since_ms` (/metrics).
    fn slowed_logins(&self, threshold: u32, since_ms: i64) -> StorageResult<[i64; 2]>;
}
