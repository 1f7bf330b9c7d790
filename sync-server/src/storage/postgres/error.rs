//! PostgreSQL's errors as storage errors: a lost connection, a deadlock, a serialisation failure,
//! a server shutting down or a pool with no free connection is `Unavailable` (the client asks
//! again); anything else is a fault, logged by its SQLSTATE and message, never its detail (which
//! quotes values).

use tokio_postgres::error::SqlState;

use crate::storage::error::StorageError;

impl From<tokio_postgres::Error> for StorageError {
    fn from(e: tokio_postgres::Error) -> Self {
        if e.is_closed() {
            return StorageError::Unavailable("the database connection was lost; retry".into());
        }
        match e.as_db_error() {
            Some(db) => {
                let code = db.code();
                let retry = [
                    SqlState::T_R_DEADLOCK_DETECTED,
                    SqlState::T_R_SERIALIZATION_FAILURE,
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                    SqlState::LOCK_NOT_AVAILABLE,
                    SqlState::TOO_MANY_CONNECTIONS,
                ];
                if retry.contains(code) {
                    StorageError::Unavailable(format!("the database is busy ({}); retry", code.code()))
                } else {
                    // the message names tables and constraints; the detail (values) stays out
                    StorageError::Internal(format!("database: {} {}", code.code(), db.message()))
                }
            }
            // an I/O error, a closed socket, a refused or timed-out connection: the server went
            // away under us (a restart, a failover) and the pool connects again by itself
            None if lost_server(&e) => StorageError::Unavailable("the database connection failed; retry".into()),
            None => StorageError::Internal(format!("database client: {e}")),
        }
    }
}

/// Whether `e` says the server could not be reached or went away (tokio-postgres' kinds are not
/// public: its I/O source, or the kind's fixed text).
fn lost_server(e: &tokio_postgres::Error) -> bool {
    let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
    let text = e.to_string();
    io || ["error connecting", "error communicating", "connection closed", "timeout waiting"]
        .iter()
        .any(|kind| text.starts_with(kind))
        || text.contains("connection")
}

impl From<deadpool_postgres::PoolError> for StorageError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => match StorageError::from(e) {
                StorageError::Internal(message) => StorageError::Unavailable(format!("cannot connect: {message}")),
                other => other,
            },
            other => StorageError::Unavailable(format!("no database connection free: {other}")),
        }
    }
}
