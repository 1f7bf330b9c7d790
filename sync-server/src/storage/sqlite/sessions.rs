//! The back office's shared login state on SQLite (`SessionStorage`): sessions by token hash and
//! failed-login counts, in the database so that a restart logs nobody out. A session's use and a
//! failed login are bookkeeping commits (nothing was promised on them); a new session and a logout
//! are synced, so that a logout is never undone by a power cut.

use rusqlite::{params, OptionalExtension};

use super::{Durability, SqliteStorage};
use crate::domain::auth::Role;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::sessions::{FailureScope, Failures, SessionBounds, SessionRow, SessionStorage};

impl SessionStorage for SqliteStorage {
    fn create_session(&self, token_hash: &str, session: &SessionRow, bounds: SessionBounds) -> StorageResult<()> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM backoffice_sessions WHERE last_seen_ms < ?1 OR created_ms < ?2")?
                .execute(params![bounds.idle_before_ms, bounds.started_before_ms])?;
            let stored: i64 = tx.query_row("SELECT count(*) FROM backoffice_sessions", [], |r| r.get(0))?;
            let over = stored - bounds.max_sessions + 1;
            if over > 0 {
                // the least recently seen go first
                tx.prepare_cached(
                    "DELETE FROM backoffice_sessions WHERE token_hash IN
                       (SELECT token_hash FROM backoffice_sessions ORDER BY last_seen_ms LIMIT ?1)",
                )?
                .execute([over])?;
            }
            tx.prepare_cached(
                "INSERT INTO backoffice_sessions (token_hash, staff_id, name, role, created_ms, last_seen_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                token_hash,
                session.staff_id,
                session.name,
                session.role.as_str(),
                session.created_ms,
                session.last_seen_ms
            ])?;
            Ok(())
        })
    }

    fn session(&self, token_hash: &str) -> StorageResult<Option<SessionRow>> {
        let row = self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT staff_id, name, role, created_ms, last_seen_ms FROM backoffice_sessions WHERE token_hash = ?1",
            )?
            .query_row([token_hash], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()?)
        })?;
        row.map(|(staff_id, name, role, created_ms, last_seen_ms)| {
            let role = Role::parse(&role).ok_or_else(|| StorageError::internal(format!("unknown role {role}")))?;
            Ok(SessionRow { staff_id, name, role, created_ms, last_seen_ms })
        })
        .transpose()
    }

    fn touch_session(&self, token_hash: &str, now_ms: i64) -> StorageResult<()> {
        self.write_with(Durability::Bookkeeping, |tx| {
            tx.prepare_cached(
                "UPDATE backoffice_sessions SET last_seen_ms = max(last_seen_ms, ?2) WHERE token_hash = ?1",
            )?
            .execute(params![token_hash, now_ms])?;
            Ok(())
        })
    }

    fn remove_session(&self, token_hash: &str) -> StorageResult<()> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM backoffice_sessions WHERE token_hash = ?1")?.execute([token_hash])?;
            Ok(())
        })
    }

    fn login_failures(&self, account: &str, address: &str) -> StorageResult<[Option<Failures>; 2]> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT count, last_ms FROM login_failures WHERE scope = ?1 AND key = ?2")?;
            let mut one = |scope: FailureScope, key: &str| {
                stmt.query_row(params![scope.as_str(), key], |r| Ok(Failures { count: r.get(0)?, last_ms: r.get(1)? }))
                    .optional()
            };
            Ok([one(FailureScope::Account, account)?, one(FailureScope::Address, address)?])
        })
    }

    fn count_login_failure(
        &self,
        account: &str,
        address: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> StorageResult<[u32; 2]> {
        let stale_before = now_ms.saturating_sub(window_ms);
        self.write_with(Durability::Bookkeeping, |tx| {
            tx.prepare_cached("DELETE FROM login_failures WHERE last_ms < ?1")?.execute([stale_before])?;
            let mut count = tx.prepare_cached(
                "INSERT INTO login_failures (scope, key, count, last_ms) VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT (scope, key) DO UPDATE SET count = count + 1, last_ms = max(last_ms, excluded.last_ms)
                 RETURNING count",
            )?;
            let mut one = |scope: FailureScope, key: &str| -> StorageResult<u32> {
                Ok(count.query_row(params![scope.as_str(), key, now_ms], |r| r.get(0))?)
            };
            Ok([one(FailureScope::Account, account)?, one(FailureScope::Address, address)?])
        })
    }

    fn forget_login_failures(&self, account: &str, stale_before_ms: i64) -> StorageResult<()> {
        self.write_with(Durability::Bookkeeping, |tx| {
            tx.prepare_cached("DELETE FROM login_failures WHERE (scope = ?1 AND key = ?2) OR last_ms < ?3")?
                .execute(params![FailureScope::Account.as_str(), account, stale_before_ms])?;
            Ok(())
        })
    }

    fn slowed_logins(&self, threshold: u32, since_ms: i64) -> StorageResult<[i64; 2]> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT count(*) FROM login_failures WHERE scope = ?1 AND count >= ?2 AND last_ms >= ?3",
            )?;
            let mut one =
                |scope: FailureScope| stmt.query_row(params![scope.as_str(), threshold, since_ms], |r| r.get(0));
            Ok([one(FailureScope::Account)?, one(FailureScope::Address)?])
        })
    }
}
