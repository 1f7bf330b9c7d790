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
            // an I/O error, a closed socket: the server went away under us
            None if e.to_string().contains("connection") => {
                StorageError::Unavailable("the database connection failed; retry".into())
            }
            None => StorageError::Internal(format!("database client: {e}")),
        }
    }
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
