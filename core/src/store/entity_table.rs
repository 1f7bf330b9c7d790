//! Reads and writes an `EntityState` to its typed table (one column per field), so that the merge
//! works on one generic shape while queries and indexes see real columns.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use rusqlite::types::{ToSqlOutput, Value as Sql, ValueRef};
use rusqlite::{params_from_iter, Connection, OptionalExtension};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::{EntityKind, FieldType, Record};
use crate::store::search_index::SearchBatch;
use crate::sync::hlc::Hlc;
use crate::sync::wire::EntityState;

fn columns(kind: EntityKind) -> String {
    kind.fields().iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
}

/// The statements of one kind, built once: every write would otherwise format its SQL again
/// (a fifth of the instructions of recording a visit).
struct KindSql {
    select: String,
    load: String,
    /// The grid of a live record (a fact of any age): `grid_of`.
    exists: String,
    taken: String,
    /// Insert or merge into the row there (`save`); a household's returns its rowid for the
    /// search entry.
    save: String,
    /// A new row or nothing (`insert_new`, `insert_fact`).
    insert_new: String,
}

fn sql(kind: EntityKind) -> &'static KindSql {
    static SQL: OnceLock<Vec<KindSql>> = OnceLock::new();
    let all = SQL.get_or_init(|| {
        EntityKind::ALL
            .iter()
            .map(|&kind| {
                let select = format!("SELECT id, base_hlc, clocks, {} FROM {}", columns(kind), kind.table());
                let live = if kind.insert_only() { "" } else { " AND coalesce(deleted, 0) = 0" };
                let save = insert_sql(kind, true);
                KindSql {
                    load: format!("{select} WHERE id = ?1"),
                    exists: format!("SELECT coalesce(grid_id, '') FROM {} WHERE id = ?1{live}", kind.table()),
                    taken: format!("SELECT 1 FROM {} WHERE id = ?1", kind.table()),
                    save: if kind == EntityKind::Household { format!("{save} RETURNING rowid") } else { save },
                    insert_new: insert_sql(kind, false),
                    select,
                }
            })
            .collect()
    });
    let index = EntityKind::ALL.iter().position(|k| *k == kind).unwrap_or_default();
    &all[index]
}

pub fn select_sql(kind: EntityKind) -> &'static str {
    &sql(kind).select
}

/// Converts a row selected with `select_sql` into a state.
pub fn state_from_row(kind: EntityKind, row: &rusqlite::Row) -> Result<EntityState> {
    let id: String = row.get(0)?;
    let base: Option<String> = row.get(1)?;
    let clocks: String = row.get(2)?;
    let base = base.map(|b| b.parse::<Hlc>()).transpose().map_err(|e| Error::Corrupt(e.to_string()))?;
    let clocks: BTreeMap<String, Hlc> = serde_json::from_str(&clocks)?;
    let mut values = Map::new();
    for (n, spec) in kind.fields().iter().enumerate() {
        let v = match (spec.ty, row.get::<_, Sql>(n + 3)?) {
            (_, Sql::Null) => continue,
            (FieldType::Text, Sql::Text(s)) => Value::String(s),
            (FieldType::Int, Sql::Integer(i)) => Value::from(i),
            (FieldType::Bool, Sql::Integer(i)) => Value::Bool(i != 0),
            (FieldType::Json, Sql::Text(s)) => serde_json::from_str(&s)?,
            (_, other) => {
                return Err(Error::Corrupt(format!("{}.{} holds {:?}", kind.table(), spec.name, other.data_type())))
            }
        };
        values.insert(spec.name.to_string(), v);
    }
    Ok(EntityState { kind, id, values, base, clocks })
}

pub fn load(conn: &Connection, kind: EntityKind, id: &str) -> Result<Option<EntityState>> {
    let mut stmt = conn.prepare_cached(&sql(kind).load)?;
    let mut rows = stmt.query([id])?;
    match rows.next()? {
        Some(row) => Ok(Some(state_from_row(kind, row)?)),
        None => Ok(None),
    }
}

/// Whether a row with this id is there at all, tombstones included (ids are never reused).
pub fn id_taken(conn: &Connection, kind: EntityKind, id: &str) -> Result<bool> {
    Ok(conn.prepare_cached(&sql(kind).taken)?.query_row([id], |_| Ok(())).optional()?.is_some())
}

/// The grid of a record the store holds (live, or a fact), if it holds it.
pub fn grid_of(conn: &Connection, kind: EntityKind, id: &str) -> Result<Option<String>> {
    Ok(conn.prepare_cached(&sql(kind).exists)?.query_row([id], |r| r.get(0)).optional()?)
}

/// The insert of a row; a row already there is merged into (`upsert`) or left alone.
fn insert_sql(kind: EntityKind, upsert: bool) -> String {
    let cols = columns(kind);
    let marks = (1..=kind.fields().len() + 3).map(|n| format!("?{n}")).collect::<Vec<_>>().join(", ");
    let conflict = if kind.insert_only() || !upsert {
        "DO NOTHING".to_string()
    } else {
        let sets = std::iter::once("base_hlc").chain(["clocks"]).chain(kind.fields().iter().map(|f| f.name));
        format!("DO UPDATE SET {}", sets.map(|c| format!("{c} = excluded.{c}")).collect::<Vec<_>>().join(", "))
    };
    format!("INSERT INTO {} (id, base_hlc, clocks, {cols}) VALUES ({marks}) ON CONFLICT(id) {conflict}", kind.table())
}

/// A field's value as SQL, borrowing text instead of copying it.
fn to_sql<'a>(kind: EntityKind, field: &str, ty: FieldType, v: &'a Value) -> Result<ToSqlOutput<'a>> {
    Ok(match (ty, v) {
        (_, Value::Null) => ToSqlOutput::Owned(Sql::Null),
        (FieldType::Text, Value::String(s)) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        (FieldType::Int, Value::Number(n)) if n.is_i64() => {
            ToSqlOutput::Owned(Sql::Integer(n.as_i64().unwrap_or_default()))
        }
        (FieldType::Bool, Value::Bool(b)) => ToSqlOutput::Owned(Sql::Integer(*b as i64)),
        (FieldType::Json, v @ (Value::Array(_) | Value::Object(_))) => ToSqlOutput::Owned(Sql::Text(v.to_string())),
        _ => return Err(Error::Corrupt(format!("{}.{field}: value of the wrong type", kind.as_str()))),
    })
}

/// The row of a state as parameters: id, base stamp, field clocks, then every field.
pub(crate) fn row_params(state: &EntityState) -> Result<Vec<ToSqlOutput<'_>>> {
    let kind = state.kind;
    let mut params = Vec::with_capacity(kind.fields().len() + 3);
    params.push(ToSqlOutput::Borrowed(ValueRef::Text(state.id.as_bytes())));
    params.push(ToSqlOutput::Owned(state.base.as_ref().map_or(Sql::Null, |h| Sql::Text(h.to_string()))));
    let clocks = if state.clocks.is_empty() { "{}".into() } else { serde_json::to_string(&state.clocks)? };
    params.push(ToSqlOutput::Owned(Sql::Text(clocks)));
    for spec in kind.fields() {
        params.push(to_sql(kind, spec.name, spec.ty, state.value(spec.name))?);
    }
    Ok(params)
}

/// Writes the state. A household's search entry goes into `search`, to be written after the batch;
/// `existed` says whether a row was there before.
pub fn save(conn: &Connection, state: &EntityState, existed: bool, search: &mut SearchBatch) -> Result<()> {
    let params = row_params(state)?;
    let sql = &sql(state.kind).save;
    if state.kind == EntityKind::Household {
        let rowid: i64 = conn.prepare_cached(sql)?.query_row(params_from_iter(params), |r| r.get(0))?;
        search.push(rowid, state, existed);
        return Ok(());
    }
    conn.prepare_cached(sql)?.execute(params_from_iter(params))?;
    Ok(())
}

/// Writes the state as a new row, unless the entity already has one (then nothing is written and
/// the answer is false). Saves the lookup before a merge when most rows are new (a snapshot).
pub fn insert_new(conn: &Connection, state: &EntityState, search: &mut SearchBatch) -> Result<bool> {
    // changes() and last_insert_rowid() instead of RETURNING, which cost as much again as the
    // insert itself (callgrind: 57k instructions a household against 30k for the plain insert)
    let inserted =
        conn.prepare_cached(&sql(state.kind).insert_new)?.execute(params_from_iter(row_params(state)?))? == 1;
    if inserted && state.kind == EntityKind::Household {
        search.push(conn.last_insert_rowid(), state, false);
    }
    Ok(inserted)
}

/// Inserts a new fact (insert-only kind; no search entry) from its row (`record_row::row_of`),
/// created at `base`. False when the id is taken: a fact is never overwritten.
pub fn insert_fact(conn: &Connection, kind: EntityKind, id: &str, base: &str, row: Vec<Sql>) -> Result<bool> {
    debug_assert!(kind.insert_only() && kind != EntityKind::Household);
    let head = [id, base, "{}"].map(|text| ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())));
    let row = row.into_iter().map(ToSqlOutput::Owned);
    let inserted =
        conn.prepare_cached(&sql(kind).insert_new)?.execute(params_from_iter(head.into_iter().chain(row)))?;
    Ok(inserted == 1)
}

/// The fields of a typed record, as the merge sees them.
pub fn fields_of<R: Record>(record: &R) -> Result<Map<String, Value>> {
    let mut map = match serde_json::to_value(record)? {
        Value::Object(map) => map,
        _ => return Err(Error::Corrupt("a record did not serialise to an object".into())),
    };
    map.remove("id");
    Ok(map)
}

/// The fields a fact (insert-only kind) was created with, read back from its row through its
/// typed record, so they are exactly what `fields_of` gave when it was recorded. None when the
/// row is not here.
pub fn fact_fields(conn: &Connection, kind: EntityKind, id: &str) -> Result<Option<Map<String, Value>>> {
    use crate::model::{
        ArrearsNotice, CustomerSignature, DaySummary, Receipt, ReceiptVoid, ReminderOutcome, SignIn, Visit,
    };
    let Some(state) = load(conn, kind, id)? else { return Ok(None) };
    let fields = match kind {
        EntityKind::Visit => fields_of(&record_of::<Visit>(&state)?),
        EntityKind::ArrearsNotice => fields_of(&record_of::<ArrearsNotice>(&state)?),
        EntityKind::Receipt => fields_of(&record_of::<Receipt>(&state)?),
        EntityKind::ReceiptVoid => fields_of(&record_of::<ReceiptVoid>(&state)?),
        EntityKind::Signature => fields_of(&record_of::<CustomerSignature>(&state)?),
        EntityKind::SignIn => fields_of(&record_of::<SignIn>(&state)?),
        EntityKind::DaySummary => fields_of(&record_of::<DaySummary>(&state)?),
        EntityKind::ReminderOutcome => fields_of(&record_of::<ReminderOutcome>(&state)?),
        other => Err(Error::Corrupt(format!("{} is not an insert-only kind", other.as_str()))),
    }?;
    Ok(Some(fields))
}

/// The typed record held in a state.
pub fn record_of<R: Record>(state: &EntityState) -> Result<R> {
    let mut map: Map<String, Value> = state
        .values
        .iter()
        .filter(|(k, v)| *k != "deleted" && !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    map.insert("id".into(), Value::String(state.id.clone()));
    serde_json::from_value(Value::Object(map))
        .map_err(|e| Error::Corrupt(format!("{} {}: {e}", state.kind.as_str(), state.id)))
}

/// Loads the typed records selected by `where_sql` (which starts after `WHERE`).
pub fn query<R: Record>(conn: &Connection, where_sql: &str, params: impl rusqlite::Params) -> Result<Vec<R>> {
    let sql = format!("{} WHERE {where_sql}", select_sql(R::KIND));
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(record_of(&state_from_row(R::KIND, row)?)?);
    }
    Ok(out)
}
