//! Records as stored: a row of `entities` read back into the merge's `EntityState`, and the
//! back office's reads of them (a grid's records of one kind, which grids exist) and its audit
//! rows for acts outside any op.

use std::collections::BTreeMap;

use gridbook_core::model::EntityKind;
use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::wire::EntityState;
use serde_json::{Map, Value};

use super::{devices, receipts, SqliteStorage};
use crate::storage::error::{StorageError, StorageResult};

pub(super) fn has_grid(storage: &SqliteStorage, grid_id: &str) -> StorageResult<bool> {
    storage.read(|c| Ok(c.prepare_cached("SELECT 1 FROM grids WHERE id = ?1")?.exists([grid_id])?))
}

pub(super) fn grid_ids(storage: &SqliteStorage) -> StorageResult<Vec<String>> {
    storage.read(devices::all_grids)
}

/// Every grid's (id, name), by id.
pub(super) fn grid_names(storage: &SqliteStorage) -> StorageResult<Vec<(String, String)>> {
    storage.read(|c| {
        let mut stmt = c.prepare_cached("SELECT id, name FROM grids ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    })
}

pub(super) fn grid_records(
    storage: &SqliteStorage,
    kind: EntityKind,
    grid_id: &str,
) -> StorageResult<Vec<EntityState>> {
    records_where(storage, kind, grid_id, None)
}

/// A grid's records of one kind, only those naming `household` when given.
pub(super) fn records_where(
    storage: &SqliteStorage,
    kind: EntityKind,
    grid_id: &str,
    household: Option<&str>,
) -> StorageResult<Vec<EntityState>> {
    storage.read(|c| {
        let mut stmt = c.prepare_cached(match household {
            None => "SELECT id, vals, base_hlc, clocks FROM entities WHERE grid_id = ?1 AND kind = ?2 ORDER BY seq",
            Some(_) => {
                "SELECT id, vals, base_hlc, clocks FROM entities
                 WHERE grid_id = ?1 AND kind = ?2 AND json_extract(vals, '$.household_id') = ?3 ORDER BY seq"
            }
        })?;
        let read = |r: &rusqlite::Row| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?, r.get::<_, String>(3)?))
        };
        let rows: Vec<_> = match household {
            None => stmt.query_map([grid_id, kind.as_str()], read)?.collect::<Result<_, _>>()?,
            Some(h) => stmt.query_map([grid_id, kind.as_str(), h], read)?.collect::<Result<_, _>>()?,
        };
        rows.into_iter().map(|(id, vals, base, clocks)| entity_from_row(kind, id, &vals, base, &clocks)).collect()
    })
}

pub(super) fn record_audit(
    storage: &SqliteStorage,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
    now_ms: i64,
) -> StorageResult<()> {
    storage.write(|tx| receipts::audit(tx, actor, action, subject, detail, now_ms))
}

pub(super) fn parse_hlc(s: &str) -> StorageResult<Hlc> {
    s.parse().map_err(|e: gridbook_core::sync::hlc::ParseHlcError| StorageError::internal(e.to_string()))
}

pub(crate) fn entity_from_row(
    kind: EntityKind,
    id: String,
    vals: &str,
    base: Option<String>,
    clocks: &str,
) -> StorageResult<EntityState> {
    let values: Map<String, Value> = serde_json::from_str(vals)?;
    let base = base.as_deref().map(parse_hlc).transpose()?;
    let clocks: BTreeMap<String, Hlc> = serde_json::from_str(clocks)?;
    Ok(EntityState { kind, id, values, base, clocks })
}
