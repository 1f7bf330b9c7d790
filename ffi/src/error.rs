//! The one public error of the FFI and the one place where every core error is mapped to it.
//! The app acts on the variant: point at a field (invalid), refresh (not found), try later
//! (network, interrupted), enrol again (unauthorized), show the server's reason (rejected), unlock
//! the phone (key unavailable), restore or re-enrol (wrong key, corrupted store, not a store),
//! offer the update (upgrade required), return to enrolment (wiped).

use gridbook_core::evidence::{AmountError, SignError, StrokeError};
use gridbook_core::sync::wire::WipeReport;
use gridbook_core::Error as CoreError;

/// What went wrong, in a form the app can act on. Every variant carries text for a log or a
/// detail line; the app's own zh-CN/English message is chosen from the variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum GridbookError {
    /// An input broke a rule: `field` names the box to fix, `rule` says what it must be.
    #[error("invalid {field}: {rule}")]
    Invalid {
        /// The field (or argument) that is wrong, e.g. "mobile", "change_fen", "signature".
        field: String,
        /// The rule it broke, in English (the app shows its own translation beside it).
        rule: String,
    },
    /// The record asked for does not exist on this device (or was deleted).
    #[error("{kind} {id} not found")]
    NotFound {
        /// The kind of record: "household", "receipt", "visit", …
        kind: String,
        /// The id that was looked up.
        id: String,
    },
    /// No connection, a timeout, or a server that is down or overloaded: try again later.
    #[error("network: {detail}")]
    Network {
        /// What the network layer said.
        detail: String,
    },
    /// The server does not know or no longer accepts this device (revoked, or never enrolled):
    /// enrol again with a new code from the back office.
    #[error("unauthorized: {detail}")]
    Unauthorized {
        /// The server's reason.
        detail: String,
    },
    /// The server refused the request for good (a wrong or used enrolment code, a protocol the
    /// server does not speak). Retrying the same request will not help.
    #[error("rejected ({code}): {detail}")]
    Rejected {
        /// The server's machine-readable code, e.g. "bad_code".
        code: String,
        /// The server's explanation.
        detail: String,
    },
    /// A sync was cut off part-way. Nothing is lost: the next sync resumes where this one stopped.
    #[error("interrupted: {detail}")]
    Interrupted {
        /// What cut it off.
        detail: String,
    },
    /// The platform key store would not sign: locked, the key missing, or the user cancelled
    /// authentication. Nothing was written; ask the manager to unlock the phone and try again.
    /// (A `DeviceSigner` the app implements throws this when its key store refuses.)
    #[error("device key unavailable: {detail}")]
    KeyUnavailable {
        /// What the key store said.
        detail: String,
    },
    /// The server syncs only with a newer app. Offer the build `GridbookSync.app_update()` holds
    /// (download, check its SHA-256 and signing certificate, install); nothing the phone held is
    /// lost, its last push was taken.
    #[error("upgrade required: {min_version}")]
    UpgradeRequired {
        /// The lowest version the server syncs with.
        min_version: String,
    },
    /// The store is locked (idle past the server's minutes, or locked by the app): show the lock
    /// screen and call `unlock` with the vault. Nothing was read or changed.
    #[error("locked: {detail}")]
    Locked {
        /// Why, for the log.
        detail: String,
    },
    /// The phone has not synced for longer than the server allows: sync first. It still syncs and
    /// shows what it holds; nothing was recorded and nothing is lost.
    #[error("offline too long: {detail}")]
    OfflineTooLong {
        /// How many days, and the limit (zh-CN and English).
        detail: String,
    },
    /// The store's key does not open it: another vault, another store's key record. Nothing was
    /// read or changed. (A `KeyVault` the app implements throws this when it did not wrap the key.)
    #[error("wrong key: {detail}")]
    WrongKey {
        /// What refused the key.
        detail: String,
    },
    /// The store's file is damaged: its own key no longer reads it. The file is left for rescue.
    #[error("store corrupted: {detail}")]
    StoreCorrupted {
        /// What was found.
        detail: String,
    },
    /// The file at the store's path is not a Gridbook store (another database, not a database).
    /// It is left untouched.
    #[error("not a Gridbook store: {detail}")]
    NotAStore {
        /// What the file is.
        detail: String,
    },
    /// The back office had this phone wiped (a manager leaving, a lost phone): what it held was
    /// uploaded as the order said, its store's key destroyed and its files deleted. Every later
    /// call on this store answers this. Show what the report says, then return to enrolment:
    /// open a new store (with a new vault) and enrol it with a new code.
    #[error("wiped by the back office (report sent: {reported})")]
    Wiped {
        /// What was uploaded at the end and what was lost; null when the store could not be
        /// read to count it (it was wiped all the same).
        report: Option<WipeReport>,
        /// Whether the server got the signed report (if not, the back office shows the phone as
        /// told, not wiped; its data is gone either way).
        reported: bool,
    },
    /// Anything else: a database failure, a corrupt file, an app too old for its data. Show it
    /// and report it.
    #[error("{detail}")]
    Other {
        /// A description for the log and the support ticket.
        detail: String,
    },
}

/// Result type of every fallible exported function.
pub type Result<T, E = GridbookError> = std::result::Result<T, E>;

pub(crate) fn invalid(field: &str, rule: impl Into<String>) -> GridbookError {
    GridbookError::Invalid { field: field.to_string(), rule: rule.into() }
}

/// The catch-all: an error the app can only show and report. It is logged first (the app's log
/// sink, log.rs) with its kind only: its text may name records or paths, the kind never does.
fn other(kind: &str, e: impl std::fmt::Display) -> GridbookError {
    tracing::error!("unexpected {kind} error, reported to the app as Other");
    GridbookError::Other { detail: e.to_string() }
}

impl From<CoreError> for GridbookError {
    fn from(e: CoreError) -> Self {
        let retryable = gridbook_core::sync::client::is_retryable(&e);
        match e {
            CoreError::Invalid(v) => GridbookError::Invalid { field: v.field, rule: v.rule },
            CoreError::NotFound { kind, id } => GridbookError::NotFound { kind: kind.to_string(), id },
            CoreError::Network(detail) => GridbookError::Network { detail },
            CoreError::Unauthorized(detail) => GridbookError::Unauthorized { detail },
            CoreError::Interrupted(detail) => GridbookError::Interrupted { detail },
            // asked to slow down: for the app, a network that is not there yet (the status says when)
            CoreError::Busy { .. } => GridbookError::Network { detail: e.to_string() },
            CoreError::KeyUnavailable(detail) => GridbookError::KeyUnavailable { detail },
            CoreError::UpgradeRequired { min_version, .. } => GridbookError::UpgradeRequired { min_version },
            CoreError::WrongKey(detail) => GridbookError::WrongKey { detail },
            CoreError::Locked(detail) => GridbookError::Locked { detail },
            CoreError::OfflineTooLong(detail) => GridbookError::OfflineTooLong { detail },
            CoreError::StoreCorrupted(detail) => GridbookError::StoreCorrupted { detail },
            CoreError::NotAStore(detail) => GridbookError::NotAStore { detail },
            CoreError::Wiped { report, reported } => GridbookError::Wiped { report: report.map(|r| *r), reported },
            // the sync engine carries an order out itself; one met anywhere else is a refusal
            e @ CoreError::WipeOrdered(_) => {
                GridbookError::Rejected { code: "wipe_ordered".into(), detail: e.to_string() }
            }
            // 5xx, 408, 429: the server is there but cannot answer now, which for the app is the
            // same as no network: try later.
            CoreError::Server { status, code, message } if retryable => {
                GridbookError::Network { detail: format!("server {status} {code}: {message}") }
            }
            CoreError::Server { code, message, .. } => GridbookError::Rejected { code, detail: message },
            e @ CoreError::SchemaTooNew { .. } => other("schema_too_new", e),
            e @ CoreError::Sqlite(_) => other("sqlite", e),
            e @ CoreError::Corrupt(_) => other("corrupt", e),
            e @ CoreError::SnapshotFile(_) => other("snapshot_file", e),
        }
    }
}

impl From<StrokeError> for GridbookError {
    fn from(e: StrokeError) -> Self {
        match e {
            StrokeError::Png(_) => other("png", e),
            e => invalid("signature", e.to_string()),
        }
    }
}

impl From<AmountError> for GridbookError {
    fn from(e: AmountError) -> Self {
        invalid("amount_fen", e.to_string())
    }
}

impl From<SignError> for GridbookError {
    fn from(e: SignError) -> Self {
        match e {
            SignError::Unavailable(detail) => GridbookError::KeyUnavailable { detail },
            e @ SignError::Failed(_) => other("signing", e),
        }
    }
}

/// A foreign callback (the app's key store signer) threw something it did not declare.
impl From<uniffi::UnexpectedUniFFICallbackError> for GridbookError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        other("app callback", format!("app callback failed: {}", e.reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_sees_a_wait_or_an_overloaded_server_as_no_network_and_a_refusal_as_rejected() {
        let busy =
            GridbookError::from(CoreError::Busy { retry_after_ms: 800, message: "429 rate_limited: slow down".into() });
        assert!(matches!(&busy, GridbookError::Network { detail } if detail.contains("800 ms")), "{busy:?}");
        let overloaded = GridbookError::from(CoreError::Server {
            status: 503,
            code: "unavailable".into(),
            message: "shutting down".into(),
        });
        assert!(matches!(overloaded, GridbookError::Network { .. }));
        let refused =
            GridbookError::from(CoreError::Server { status: 409, code: "bad_code".into(), message: "used".into() });
        assert!(matches!(refused, GridbookError::Rejected { code, .. } if code == "bad_code"));
    }
}
