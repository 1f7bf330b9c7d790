//! The one error type of the HTTP layer: every failure leaves as JSON `{code, message}` with the
//! status of its code. Bad input is a 4xx that says what was wrong, never a 500. The codes are
//! core's `ErrorCode`; `status_of` is the one table from code to HTTP status, and the storage's
//! and the rules' errors become answers here and nowhere else. A 500 tells the client a generic
//! message; what failed goes to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gridbook_core::sync::wire::{AppUpdate, ErrorBody, ErrorCode, WipeOrder};

use crate::domain::error::DomainError;
use crate::domain::privacy::mask_digit_runs;
use crate::storage::error::{json_fault, StorageError};

/// What a client is told of a fault; the cause is in the server's log.
pub const INTERNAL_MESSAGE: &str =
    "服务器处理失败，已记录，请稍后重试 / the server failed on this request; it was logged";

/// How long a client waits before asking again after a 503 (`Retry-After`, whole seconds).
pub const UNAVAILABLE_RETRY_MS: u64 = 2_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    pub code: ErrorCode,
    /// What the client is told; for `internal`, what the log is told (the client gets
    /// `INTERNAL_MESSAGE`).
    pub message: String,
    /// When the caller may ask again (429): sent as `Retry-After` and in the body.
    pub retry_after_ms: Option<u64>,
    /// With `upgrade_required`: the minimum version and the build to install.
    pub upgrade: Option<Box<(String, Option<AppUpdate>)>>,
    /// With `wipe_ordered`: the order the device carries out.
    pub wipe: Option<WipeOrder>,
}

/// The HTTP status of each code: one code, one status (docs/sync-protocol.md, "Errors").
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode as C;
    match code {
        C::BadBody | C::BadQuery | C::MalformedJson | C::UnsupportedProtocol | C::BadRequest => StatusCode::BAD_REQUEST,
        C::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        C::ContentType | C::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        C::TooLarge | C::TooManyOps | C::TooManyRows | C::TooManyCells | C::TooManyColumns => {
            StatusCode::PAYLOAD_TOO_LARGE
        }
        C::Unauthorized | C::Revoked => StatusCode::UNAUTHORIZED,
        C::WipeOrdered => StatusCode::GONE,
        C::Forbidden => StatusCode::FORBIDDEN,
        C::Locked | C::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        C::UpgradeRequired => StatusCode::UPGRADE_REQUIRED,
        C::NotFound | C::NoSnapshotFile => StatusCode::NOT_FOUND,
        C::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
        C::SnapshotSchemaMismatch
        | C::Exists
        | C::CodeUsed
        | C::DeviceTaken
        | C::RequestTaken
        | C::TooManyOpenNumbers
        | C::AlreadyDecided
        | C::AlreadyVoided
        | C::AlreadyHandedIn
        | C::Deleted
        | C::NotAssigned
        | C::SameGrid
        | C::CannotMove
        | C::WipeUnderWay => StatusCode::CONFLICT,
        C::InvalidBody
        | C::Invalid
        | C::TooMany
        | C::Io
        | C::NotASpreadsheet
        | C::MissingColumns
        | C::DuplicateColumn
        | C::HashMismatch => StatusCode::UNPROCESSABLE_ENTITY,
        C::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        C::Unsupported => StatusCode::NOT_IMPLEMENTED,
        C::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), retry_after_ms: None, upgrade: None, wipe: None }
    }
    /// 410: the back office ordered the device wiped; it may only push and report its wipe.
    pub fn wipe_ordered(order: WipeOrder) -> Self {
        Self {
            wipe: Some(order),
            ..Self::new(
                ErrorCode::WipeOrdered,
                format!(
                    "后台已下令清除本机数据（{}）：请上传后清除并报告 / the back office ordered this device wiped ({}): \
                     push, wipe, then report",
                    match order.mode {
                        gridbook_core::sync::wire::WipeMode::Retire => "离职交回",
                        gridbook_core::sync::wire::WipeMode::Lost => "遗失",
                    },
                    order.mode.as_str()
                ),
            )
        }
    }
    /// 426: the app is below the server's minimum; `update` is the build to install, if any.
    pub fn upgrade_required(min_version: &str, update: Option<AppUpdate>) -> Self {
        Self {
            upgrade: Some(Box::new((min_version.to_string(), update))),
            ..Self::new(
                ErrorCode::UpgradeRequired,
                format!(
                    "应用版本过低，请升级到 {min_version} 或更高版本后再同步；已收到的数据不会丢失 / this app is older \
                     than the server accepts: update to {min_version} or later to sync (what it sent was kept)"
                ),
            )
        }
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn bad_query(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadQuery, message)
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Invalid, message)
    }
    /// A fault: `message` goes to the log, the client gets `INTERNAL_MESSAGE`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
    /// 503: the database is unavailable or busy (a PostgreSQL restart or failover, a lock wait);
    /// the client asks again after `UNAVAILABLE_RETRY_MS` (`Retry-After`), by which time the
    /// pool has connected again if the database is back.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self { retry_after_ms: Some(UNAVAILABLE_RETRY_MS), ..Self::new(ErrorCode::Unavailable, message) }
    }
    /// 429: the caller asks too often and may ask again in `retry_after_ms`.
    pub fn rate_limited(retry_after_ms: u64, message: impl Into<String>) -> Self {
        Self { retry_after_ms: Some(retry_after_ms), ..Self::new(ErrorCode::RateLimited, message) }
    }
    pub fn status(&self) -> StatusCode {
        status_of(self.code)
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status().as_u16(), self.code, self.message)
    }
}
impl std::error::Error for AppError {}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if self.code == ErrorCode::Internal {
            // digit runs masked: a phone or ID number in a fault's text stays out of the log too
            tracing::error!(code = %self.code, cause = %mask_digit_runs(&self.message), "request failed");
            INTERNAL_MESSAGE.to_string()
        } else {
            if status.is_server_error() {
                tracing::error!(code = %self.code, message = %self.message, "request failed");
            }
            self.message
        };
        let (min_app_version, update) = match self.upgrade {
            Some(upgrade) => (Some(upgrade.0), upgrade.1),
            None => (None, None),
        };
        let body = ErrorBody {
            code: self.code.as_str().to_string(),
            message,
            retry_after_ms: self.retry_after_ms,
            min_app_version,
            update,
            wipe: self.wipe,
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(ms) = self.retry_after_ms {
            // whole seconds, rounded up (HTTP's unit); the body has the milliseconds
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, ms.div_ceil(1000).max(1).into());
        }
        response
    }
}

/// The storage's errors as answers: the code each carries, or the one of its kind.
impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound(message) => AppError::not_found(message),
            StorageError::Conflict { code, message }
            | StorageError::Invalid { code, message }
            | StorageError::Denied { code, message }
            | StorageError::Unsupported { code, message } => AppError::new(code, message),
            StorageError::Unavailable(message) => AppError::unavailable(message),
            StorageError::Internal(message) => AppError::internal(message),
        }
    }
}

/// The rules' errors as answers.
impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Refused { code, message } => AppError::new(code, message),
            DomainError::Storage(e) => e.into(),
            DomainError::Internal(message) => AppError::internal(message),
        }
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::internal(json_fault("JSON", &e))
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        AppError::internal(format!("worker: {e}"))
    }
}

impl From<axum::extract::rejection::JsonRejection> for AppError {
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        use axum::extract::rejection::JsonRejection as J;
        match r {
            J::JsonDataError(e) => AppError::new(ErrorCode::InvalidBody, e.body_text()),
            J::JsonSyntaxError(e) => AppError::new(ErrorCode::MalformedJson, e.body_text()),
            J::MissingJsonContentType(e) => AppError::new(ErrorCode::ContentType, e.body_text()),
            J::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::new(ErrorCode::TooLarge, "the request body is larger than the server accepts")
            }
            J::BytesRejection(e) => AppError::new(ErrorCode::BadBody, e.body_text()),
            other => AppError::new(ErrorCode::BadBody, other.body_text()),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(e: AppError) -> (StatusCode, ErrorBody) {
        let response = e.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn a_fault_tells_the_client_a_generic_message_and_its_code() {
        let database = StorageError::from(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some("database disk image is malformed in table entities".into()),
        ));
        let (status, body) = body_of(database.into()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!((body.code.as_str(), body.message.as_str()), ("internal", INTERNAL_MESSAGE));
        let (_, body) = body_of(DomainError::internal("snapshot file /var/db/x.db: No space left").into()).await;
        assert_eq!(body.message, INTERNAL_MESSAGE, "no path, no cause");
    }

    #[tokio::test]
    async fn refusals_keep_their_code_and_message() {
        let (status, body) = body_of(StorageError::conflict(ErrorCode::CodeUsed, "used").into()).await;
        assert_eq!((status, body.code.as_str(), body.message.as_str()), (StatusCode::CONFLICT, "code_used", "used"));
        let (status, body) = body_of(StorageError::not_found("no grid g9").into()).await;
        assert_eq!((status, body.code.as_str()), (StatusCode::NOT_FOUND, "not_found"));
        let (status, body) = body_of(DomainError::refused(ErrorCode::TooManyRows, "split it").into()).await;
        assert_eq!((status, body.code.as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "too_many_rows"));
    }

    #[test]
    fn the_protocol_document_lists_every_code_with_its_status() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/sync-protocol.md")).unwrap();
        for code in ErrorCode::ALL {
            let row = format!("| `{code}` | {} |", status_of(code).as_u16());
            assert!(doc.contains(&row), "docs/sync-protocol.md lacks the row {row}");
        }
    }

    #[test]
    fn every_code_has_a_client_or_server_error_status() {
        for code in ErrorCode::ALL {
            let status = status_of(code);
            assert!(status.is_client_error() || status.is_server_error(), "{code}: {status}");
            assert_eq!(
                status.is_server_error(),
                matches!(code, ErrorCode::Internal | ErrorCode::Unsupported | ErrorCode::Unavailable),
                "{code}"
            );
        }
    }
}
