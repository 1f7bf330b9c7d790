//! Errors: the internal `Error` every core function returns, and `ValidationError`, which names
//! the field and the rule a bad input broke. The FFI maps `Error` to its small public enum in one
//! place (ffi/src/error.rs).

use thiserror::Error;

/// A write refused because of its input: says which field and which rule.
#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
#[error("{field}: {rule}")]
pub struct ValidationError {
    pub field: String,
    pub rule: String,
}

impl ValidationError {
    pub fn new(field: &str, rule: impl Into<String>) -> Self {
        Self { field: field.to_string(), rule: rule.into() }
    }
}

#[derive(Debug, Error)]
pub enum Error {
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationError),
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    #[error("database schema version {found} is newer than this app supports ({supported}); update the app")]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error("network error: {0}")]
    Network(String),
    #[error("the server refused this device: {0}")]
    Unauthorized(String),
    #[error("the server rejected the request: {code}: {message}")]
    Server { status: u16, code: String, message: String },
    /// The server asks this device to wait before it asks again (429, or a 503 that says how
    /// long): nothing is wrong with the data; the next cycle waits at least `retry_after_ms`.
    #[error("the server asks this device to wait {retry_after_ms} ms: {message}")]
    Busy { retry_after_ms: u64, message: String },
    #[error("sync interrupted: {0}")]
    Interrupted(String),
    /// A snapshot file the server offered was refused or could not be installed; the store is as
    /// it was and the sync pulls row pages instead.
    #[error("snapshot file not installed: {0}")]
    SnapshotFile(String),
    /// The platform key store would not sign (locked, key missing, authentication cancelled):
    /// nothing was written; it may work once the phone is unlocked.
    #[error("device key unavailable: {0}")]
    KeyUnavailable(String),
    /// The server syncs only with a newer app (`upgrade_required`): install `update`, or a build
    /// of at least `min_version`. What the phone had pending was taken by the push before it.
    #[error("应用版本过低，请升级到 {min_version} 或更高版本 / this app is older than the server accepts: update to {min_version} or later")]
    UpgradeRequired { min_version: String, update: Option<Box<crate::sync::wire::AppUpdate>> },
    /// The key given does not open the store: another vault, or another store's key. Nothing was
    /// read or changed.
    #[error("wrong key for this store / 密钥与本机数据库不符: {0}")]
    WrongKey(String),
    /// The store is locked (idle past the policy's minutes, or locked by the app): its key is out
    /// of memory and its file closed. Unlock it through the vault; nothing was read or changed.
    #[error("the store is locked / 本机数据已锁定，请解锁: {0}")]
    Locked(String),
    /// The phone has not synced for longer than the server's policy allows: it still syncs and
    /// shows what it holds, but records nothing new until a sync succeeds. Nothing was changed.
    #[error("offline for too long / 离线时间过长: {0}")]
    OfflineTooLong(String),
    /// The store's file is damaged: its own key no longer reads it, or a page fails its check.
    /// The file is left as it is for rescue.
    #[error("the store's file is damaged / 本机数据库文件已损坏: {0}")]
    StoreCorrupted(String),
    /// The file is not a Gridbook store (another app's database, not a database at all). Left
    /// untouched.
    #[error("not a Gridbook store / 不是 Gridbook 数据库: {0}")]
    NotAStore(String),
    /// The server ordered this device wiped (`wipe_ordered`, or a push answer's `wipe`). The sync
    /// engine carries the order out itself (sync/wipe.rs); the apps see `Wiped` instead.
    #[error("后台已下令清除本机数据 / the back office ordered this phone wiped ({})", .0.mode.as_str())]
    WipeOrdered(crate::sync::wire::WipeOrder),
    /// This phone's store was wiped on the back office's order: its key destroyed, its files
    /// deleted. `report` says what was uploaded first and what was lost (None when the store could
    /// not be read to count it; it was wiped all the same); `reported` whether the server got it.
    /// Every later call on the store answers this; the app returns to enrolment.
    #[error(
        "本机数据已按后台指令清除，请重新登记 / this phone's data was wiped on the back office's order: enrol again"
    )]
    Wiped { report: Option<Box<crate::sync::wire::WipeReport>>, reported: bool },
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Corrupt(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for a validation failure inside a function returning `Result`.
pub(crate) fn invalid<T>(field: &str, rule: impl Into<String>) -> Result<T> {
    Err(Error::Invalid(ValidationError::new(field, rule)))
}
