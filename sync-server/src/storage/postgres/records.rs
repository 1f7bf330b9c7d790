//! The records as the back office reads and writes them on PostgreSQL (`RecordStorage`): its own
//! ops, merged through the same rules as a push; a grid's records of one kind; which grids exist;
//! audit rows; and the staff accounts its logins read.

use deadpool_postgres::GenericClient;
use gridbook_core::model::EntityKind;
use gridbook_core::sync::wire::{EntityState, Op, OpResult};

use super::pool::{Db, RowExt};
use super::PostgresStorage;
use crate::domain::auth::Role;
use crate::domain::reconcile::Rules;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::sqlite::entity_from_row;
use crate::storage::staff::StaffAccount;

pub(super) fn apply_backoffice_ops(s: &PostgresStorage, ops: &[Op], now_ms: i64) -> StorageResult<Vec<OpResult>> {
    s.db.write(|tx| {
        for op in ops {
            if s.db.query_opt(tx, "SELECT 1 FROM grids WHERE id = $1", &[&op.grid])?.is_none() {
                return Err(StorageError::not_found(format!("no grid {}", op.grid)));
            }
        }
        let grids: Vec<&str> = ops.iter().map(|op| op.grid.as_str()).collect();
        super::handover::lock_grids(&s.db, tx, &grids, false)?;
        // after every back-office stamp committed before, whichever replica made it (the grids
        // first, then the stamp's row: a handover takes them in the same order)
        let ops = crate::domain::authoring::stamp_in_commit_order(
            ops,
            || super::entity_tx::latest_backoffice_stamp(&s.db, tx),
            |top| super::entity_tx::raise_backoffice_stamp(&s.db, tx, top),
        )?;
        super::push::apply_batch(&s.db, tx, &crate::domain::authoring::device(), &ops, &[], &Rules::default(), now_ms)
    })
}

pub(super) fn has_grid(s: &PostgresStorage, grid_id: &str) -> StorageResult<bool> {
    let conn = s.db.conn()?;
    Ok(s.db.query_opt(&conn, "SELECT 1 FROM grids WHERE id = $1", &[&grid_id])?.is_some())
}

pub(super) fn grid_names(s: &PostgresStorage) -> StorageResult<Vec<(String, String)>> {
    let conn = s.db.conn()?;
    let rows = s.db.query(&conn, "SELECT id, name FROM grids ORDER BY id COLLATE \"C\"", &[])?;
    rows.iter().map(|r| Ok((r.at(0)?, r.at(1)?))).collect()
}

pub(super) fn grid_records(s: &PostgresStorage, kind: EntityKind, grid_id: &str) -> StorageResult<Vec<EntityState>> {
    records_where(s, kind, grid_id, None)
}

/// A grid's records of one kind, only those naming `household` when given.
pub(super) fn records_where(
    s: &PostgresStorage,
    kind: EntityKind,
    grid_id: &str,
    household: Option<&str>,
) -> StorageResult<Vec<EntityState>> {
    let conn = s.db.conn()?;
    let rows = s.db.query(
        &conn,
        "SELECT id, vals, base_hlc, clocks FROM entities
         WHERE grid_id = $1 AND kind = $2 AND ($3::text IS NULL OR vals::jsonb ->> 'household_id' = $3) ORDER BY seq",
        &[&grid_id, &kind.as_str(), &household],
    )?;
    rows.iter().map(|r| entity_from_row(kind, r.at(0)?, &r.at::<String>(1)?, r.at(2)?, &r.at::<String>(3)?)).collect()
}

pub(super) fn audit<C: GenericClient + Sync>(
    db: &Db,
    c: &C,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
    now_ms: i64,
) -> StorageResult<()> {
    db.execute(
        c,
        "INSERT INTO audit_log (at_ms, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
        &[&now_ms, &actor, &action, &subject, &detail],
    )?;
    Ok(())
}

pub(super) fn staff_account(s: &PostgresStorage, id: &str) -> StorageResult<Option<StaffAccount>> {
    let conn = s.db.conn()?;
    let row = s.db.query_opt(&conn, "SELECT id, name, role, password_hash FROM managers WHERE id = $1", &[&id])?;
    let Some(r) = row else { return Ok(None) };
    let role: String = r.at(2)?;
    let role = Role::parse(&role).ok_or_else(|| StorageError::internal(format!("unknown role {role}")))?;
    Ok(Some(StaffAccount { id: r.at(0)?, name: r.at(1)?, role, password_hash: r.at(3)? }))
}
