//! The back office's staff as its logins need them: the session login at /admin and the HTTP
//! Basic credentials of /v1/backoffice/… both read a supervisor's or admin's role and password
//! hash here.

use super::error::StorageResult;
use crate::domain::auth::Role;

/// A supervisor or admin as the login needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffAccount {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub password_hash: Option<String>,
}

/// Anyone with an account (field manager, supervisor or admin): how the pages name them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub role: String,
    /// 工号, as the receipts print it (empty: none set).
    pub staff_no: String,
}

pub trait StaffStorage: Send + Sync + 'static {
    /// The manager `id`, with the role and password hash the logins check; None when unknown.
    fn staff_account(&self, id: &str) -> StorageResult<Option<StaffAccount>>;
    /// The grids assigned to `id` (a field manager's, or the grids a supervisor watches), by id.
    fn staff_grids(&self, id: &str) -> StorageResult<Vec<String>>;
    /// Every account, by id: the names the pages show instead of ids.
    fn people(&self) -> StorageResult<Vec<Person>>;
}
