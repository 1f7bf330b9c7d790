//! The error of the server's rules above storage (billing, tiers, spreadsheets, passwords,
//! snapshot files): a rule refused the input (the code says which), the storage failed, or a
//! fault (a file, an encoding) that is logged and never shown. No HTTP in it: http/error.rs maps
//! it to an answer, as it maps `StorageError`.

use gridbook_core::sync::wire::ErrorCode;

use crate::storage::error::{json_fault, StorageError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The input breaks a rule: `invalid`, `too_many`, `not_a_spreadsheet`, `bad_query`,
    /// `not_found` …
    #[error("{code}: {message}")]
    Refused { code: ErrorCode, message: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A fault under the rule. Logged, never shown to a client.
    #[error("internal: {0}")]
    Internal(String),
}

pub type DomainResult<T> = Result<T, DomainError>;

impl DomainError {
    pub fn refused(code: ErrorCode, message: impl Into<String>) -> Self {
        DomainError::Refused { code, message: message.into() }
    }
    /// Input that breaks a rule (code `invalid`).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::refused(ErrorCode::Invalid, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::refused(ErrorCode::NotFound, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        DomainError::Internal(message.into())
    }
    /// The code a client would be sent.
    pub fn code(&self) -> ErrorCode {
        match self {
            DomainError::Refused { code, .. } => *code,
            DomainError::Storage(e) => e.code(),
            DomainError::Internal(_) => ErrorCode::Internal,
        }
    }
    /// What went wrong, without the code.
    pub fn message(&self) -> &str {
        match self {
            DomainError::Refused { message, .. } | DomainError::Internal(message) => message,
            DomainError::Storage(e) => e.message(),
        }
    }
}

impl From<serde_json::Error> for DomainError {
    fn from(e: serde_json::Error) -> Self {
        DomainError::Internal(json_fault("JSON", &e))
    }
}

impl From<tokio::task::JoinError> for DomainError {
    fn from(e: tokio::task::JoinError) -> Self {
        DomainError::Internal(format!("worker: {e}"))
    }
}
