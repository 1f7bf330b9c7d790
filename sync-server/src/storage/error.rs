//! The storage layer's own error: what went wrong in terms of the data — not found, a conflict
//! with what is stored, input a rule of the store refuses, a caller it does not accept, something
//! this backend does not do, busy, or a fault — with no HTTP in it. http/error.rs maps it to the
//! answer a client gets, in one place. A fault's text (the database's own message) is for the log
//! only; the client is told a generic message.

use gridbook_core::sync::wire::ErrorCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// What was asked for is not stored (code `not_found`).
    #[error("not found: {0}")]
    NotFound(String),
    /// The change collides with what is stored: it exists, the code was used, the void was
    /// decided … (the code says which).
    #[error("{code}: {message}")]
    Conflict { code: ErrorCode, message: String },
    /// The input breaks a rule the store checks (code `invalid`, or a more precise one).
    #[error("{code}: {message}")]
    Invalid { code: ErrorCode, message: String },
    /// The caller is not accepted: an unknown token or code, a revoked device, a role that may
    /// not do this (`unauthorized`, `revoked`, `forbidden`).
    #[error("{code}: {message}")]
    Denied { code: ErrorCode, message: String },
    /// This backend does not do this (`unsupported`, `no_snapshot_file`).
    #[error("{code}: {message}")]
    Unsupported { code: ErrorCode, message: String },
    /// The database is busy or going away: ask again (code `unavailable`).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A fault of the store or of what it holds. Logged, never shown to a client.
    #[error("internal: {0}")]
    Internal(String),
}

pub type StorageResult<T> = Result<T, StorageError>;

impl StorageError {
    pub fn not_found(message: impl Into<String>) -> Self {
        StorageError::NotFound(message.into())
    }
    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        StorageError::Conflict { code, message: message.into() }
    }
    /// Input that breaks a rule (code `invalid`).
    pub fn invalid(message: impl Into<String>) -> Self {
        StorageError::Invalid { code: ErrorCode::Invalid, message: message.into() }
    }
    pub fn denied(code: ErrorCode, message: impl Into<String>) -> Self {
        StorageError::Denied { code, message: message.into() }
    }
    pub fn unsupported(code: ErrorCode, message: impl Into<String>) -> Self {
        StorageError::Unsupported { code, message: message.into() }
    }
    pub fn internal(message: impl Into<String>) -> Self {
        StorageError::Internal(message.into())
    }
    /// What went wrong, without the code.
    pub fn message(&self) -> &str {
        match self {
            StorageError::NotFound(message)
            | StorageError::Unavailable(message)
            | StorageError::Internal(message)
            | StorageError::Conflict { message, .. }
            | StorageError::Invalid { message, .. }
            | StorageError::Denied { message, .. }
            | StorageError::Unsupported { message, .. } => message,
        }
    }
    /// The code a client would be sent.
    pub fn code(&self) -> ErrorCode {
        match self {
            StorageError::NotFound(_) => ErrorCode::NotFound,
            StorageError::Conflict { code, .. }
            | StorageError::Invalid { code, .. }
            | StorageError::Denied { code, .. }
            | StorageError::Unsupported { code, .. } => *code,
            StorageError::Unavailable(_) => ErrorCode::Unavailable,
            StorageError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy => {
                StorageError::Unavailable("the database is busy; retry".into())
            }
            // SQLite's messages name tables, columns and constraints, never the values bound
            other => StorageError::Internal(format!("database: {other}")),
        }
    }
}

impl From<serde_json::Error> for StorageError {
    fn from(e: serde_json::Error) -> Self {
        StorageError::Internal(json_fault("stored data", &e))
    }
}

/// A JSON error as the log may show it: its kind and place, not its text, which quotes the value
/// it choked on (a name, a phone number).
pub fn json_fault(what: &str, e: &serde_json::Error) -> String {
    let kind = match e.classify() {
        serde_json::error::Category::Io => "I/O",
        serde_json::error::Category::Syntax => "syntax",
        serde_json::error::Category::Data => "data",
        serde_json::error::Category::Eof => "truncated",
    };
    format!("{what}: JSON {kind} error at line {} column {}", e.line(), e.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_fault_keeps_the_value_out() {
        let e = serde_json::from_str::<u32>("\"13812345678 王芳\"").unwrap_err();
        let text = StorageError::from(e).to_string();
        assert!(!text.contains("13812345678") && !text.contains("王芳"), "{text}");
        assert!(text.contains("JSON data error at line 1"), "{text}");
    }

    #[test]
    fn a_busy_database_is_unavailable_not_a_fault() {
        let busy = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY), None);
        assert_eq!(StorageError::from(busy), StorageError::Unavailable("the database is busy; retry".into()));
        let other = rusqlite::Error::QueryReturnedNoRows;
        assert!(matches!(StorageError::from(other), StorageError::Internal(_)));
    }
}
