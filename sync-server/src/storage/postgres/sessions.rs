//! The back office's shared login state on PostgreSQL (`SessionStorage`): sessions by token hash
//! and failed-login counts, one set for every replica, so that a login on one replica is valid on
//! the others, a logout ends it everywhere, and failures on all replicas add up. A failure is
//! counted by one upsert per row (`count + 1` under the row's lock), so two replicas counting at
//! the same moment both count; the clean-ups skip rows another replica holds.

use super::pool::{Db, RowExt};
use super::PostgresStorage;
use crate::domain::auth::Role;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::sessions::{FailureScope, Failures, SessionBounds, SessionRow, SessionStorage};

/// Drops the counts whose last failure is before `stale_before`, skipping rows another replica
/// holds (it is dropping or counting them).
fn drop_stale_failures(db: &Db, conn: &deadpool_postgres::Object, stale_before: i64) -> StorageResult<()> {
    db.execute(
        conn,
        "DELETE FROM login_failures WHERE (scope, key) IN
           (SELECT scope, key FROM login_failures WHERE last_ms < $1 FOR UPDATE SKIP LOCKED)",
        &[&stale_before],
    )?;
    Ok(())
}

fn failures(row: Option<tokio_postgres::Row>) -> StorageResult<Option<Failures>> {
    row.map(|r| Ok(Failures { count: r.at::<i32>(0)?.max(0) as u32, last_ms: r.at(1)? })).transpose()
}

impl SessionStorage for PostgresStorage {
    fn create_session(&self, token_hash: &str, session: &SessionRow, bounds: SessionBounds) -> StorageResult<()> {
        let (db, conn) = (&self.db, self.db.conn()?);
        // each statement on its own, rows another replica is clearing skipped: logins on several
        // replicas at once never wait for one another or deadlock over the clean-up
        db.execute(
            &conn,
            "DELETE FROM backoffice_sessions WHERE token_hash IN (SELECT token_hash FROM backoffice_sessions
               WHERE last_seen_ms < $1 OR created_ms < $2 FOR UPDATE SKIP LOCKED)",
            &[&bounds.idle_before_ms, &bounds.started_before_ms],
        )?;
        let stored: i64 = db.query_one(&conn, "SELECT count(*) FROM backoffice_sessions", &[])?.at(0)?;
        let over = stored - bounds.max_sessions + 1;
        if over > 0 {
            // the least recently seen go first
            db.execute(
                &conn,
                "DELETE FROM backoffice_sessions WHERE token_hash IN (SELECT token_hash FROM backoffice_sessions
                   ORDER BY last_seen_ms LIMIT $1 FOR UPDATE SKIP LOCKED)",
                &[&over],
            )?;
        }
        db.execute(
            &conn,
            "INSERT INTO backoffice_sessions (token_hash, staff_id, name, role, created_ms, last_seen_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &token_hash,
                &session.staff_id,
                &session.name,
                &session.role.as_str(),
                &session.created_ms,
                &session.last_seen_ms,
            ],
        )?;
        Ok(())
    }

    fn session(&self, token_hash: &str) -> StorageResult<Option<SessionRow>> {
        let conn = self.db.conn()?;
        let row = self.db.query_opt(
            &conn,
            "SELECT staff_id, name, role, created_ms, last_seen_ms FROM backoffice_sessions WHERE token_hash = $1",
            &[&token_hash],
        )?;
        row.map(|r| {
            let role: String = r.at(2)?;
            let role = Role::parse(&role).ok_or_else(|| StorageError::internal(format!("unknown role {role}")))?;
            Ok(SessionRow { staff_id: r.at(0)?, name: r.at(1)?, role, created_ms: r.at(3)?, last_seen_ms: r.at(4)? })
        })
        .transpose()
    }

    fn touch_session(&self, token_hash: &str, now_ms: i64) -> StorageResult<()> {
        let conn = self.db.conn()?;
        self.db.execute(
            &conn,
            "UPDATE backoffice_sessions SET last_seen_ms = GREATEST(last_seen_ms, $2) WHERE token_hash = $1",
            &[&token_hash, &now_ms],
        )?;
        Ok(())
    }

    fn remove_session(&self, token_hash: &str) -> StorageResult<()> {
        let conn = self.db.conn()?;
        self.db.execute(&conn, "DELETE FROM backoffice_sessions WHERE token_hash = $1", &[&token_hash])?;
        Ok(())
    }

    fn login_failures(&self, account: &str, address: &str) -> StorageResult<[Option<Failures>; 2]> {
        let conn = self.db.conn()?;
        let sql = "SELECT count, last_ms FROM login_failures WHERE scope = $1 AND key = $2";
        let account = self.db.query_opt(&conn, sql, &[&FailureScope::Account.as_str(), &account])?;
        let address = self.db.query_opt(&conn, sql, &[&FailureScope::Address.as_str(), &address])?;
        Ok([failures(account)?, failures(address)?])
    }

    fn count_login_failure(
        &self,
        account: &str,
        address: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> StorageResult<[u32; 2]> {
        let (db, conn) = (&self.db, self.db.conn()?);
        let stale_before = now_ms.saturating_sub(window_ms);
        // each statement on its own (no transaction holding one row while it waits for another:
        // no deadlock between replicas), stale rows another replica is clearing skipped
        drop_stale_failures(db, &conn, stale_before)?;
        let one = |scope: FailureScope, key: &str| -> StorageResult<u32> {
            // a row stale but not yet cleared starts over here too
            let count: i32 = db
                .query_one(
                    &conn,
                    "INSERT INTO login_failures AS f (scope, key, count, last_ms) VALUES ($1, $2, 1, $3)
                     ON CONFLICT (scope, key) DO UPDATE
                       SET count = CASE WHEN f.last_ms < $4 THEN 1 ELSE f.count + 1 END,
                           last_ms = GREATEST(f.last_ms, excluded.last_ms)
                     RETURNING count",
                    &[&scope.as_str(), &key, &now_ms, &stale_before],
                )?
                .at(0)?;
            Ok(count.max(0) as u32)
        };
        Ok([one(FailureScope::Account, account)?, one(FailureScope::Address, address)?])
    }

    fn forget_login_failures(&self, account: &str, stale_before_ms: i64) -> StorageResult<()> {
        let conn = self.db.conn()?;
        self.db.execute(
            &conn,
            "DELETE FROM login_failures WHERE scope = $1 AND key = $2",
            &[&FailureScope::Account.as_str(), &account],
        )?;
        drop_stale_failures(&self.db, &conn, stale_before_ms)
    }

    fn slowed_logins(&self, threshold: u32, since_ms: i64) -> StorageResult<[i64; 2]> {
        let conn = self.db.conn()?;
        let threshold = i32::try_from(threshold).unwrap_or(i32::MAX);
        let sql = "SELECT count(*) FROM login_failures WHERE scope = $1 AND count >= $2 AND last_ms >= $3";
        let one = |scope: FailureScope| -> StorageResult<i64> {
            self.db.query_one(&conn, sql, &[&scope.as_str(), &threshold, &since_ms])?.at(0)
        };
        Ok([one(FailureScope::Account)?, one(FailureScope::Address)?])
    }
}
