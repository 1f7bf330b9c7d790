//! The outbox: every local change waits here until the server acknowledges it after a durable
//! commit (docs/field.md, sync 3). A permanent rejection stays here with its reason, apart from the
//! pending ops, so it never blocks them (sync 4), until someone retries or discards it.

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::EntityKind;
use crate::store::entity_table;
use crate::sync::hlc::Hlc;
use crate::sync::wire::{Op, OpAction, OpOutcome, OpResult};

pub fn append(conn: &Connection, op: &Op, now_ms: i64) -> Result<()> {
    insert(conn, &op.id, op.kind, &op.entity, &op.hlc, &serde_json::to_string(op)?, now_ms)
}

/// Appends the creation of a fact (insert-only: a visit, a notice, a void …) without its fields:
/// they are the fact's own row, which is never edited, so the op is rebuilt from it when it is
/// read (`read_op`). Writing them out here was a sixth of recording a visit (benchmark (a)).
/// `stamp` is `hlc` as text, formatted once by the caller for the row and the op alike.
pub fn append_fact(
    conn: &Connection,
    (op_id, kind, entity, grid): (Uuid, EntityKind, &str, &str),
    stamp: &str,
    now_ms: i64,
) -> Result<()> {
    let mut id = Uuid::encode_buffer();
    conn.prepare_cached(
        "INSERT INTO outbox (op_id, kind, entity_id, hlc, body, created_at_ms, fact_grid) VALUES (?1, ?2, ?3, ?4, '', ?5, ?6)",
    )?
    .execute(params![&*op_id.hyphenated().encode_lower(&mut id), kind.as_str(), entity, stamp, now_ms, grid])?;
    Ok(())
}

fn insert(
    conn: &Connection,
    op_id: &Uuid,
    kind: EntityKind,
    entity: &str,
    hlc: &Hlc,
    body: &str,
    now_ms: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO outbox (op_id, kind, entity_id, hlc, body, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![op_id.to_string(), kind.as_str(), entity, hlc.to_string(), body, now_ms])?;
    Ok(())
}

/// The columns `read_op` takes, in its order.
const OP_COLUMNS: &str = "op_id, kind, entity_id, hlc, body, fact_grid";

/// An op as stored. A whole body is parsed (bodies written by schema versions 5–8 for facts carry
/// the record's id among the fields, which no kind has: dropped); a fact's creation logged
/// without its fields (`fact_grid` set) gets them from the fact's row.
fn read_op(conn: &Connection, row: &rusqlite::Row) -> Result<Op> {
    let Some(grid) = row.get::<_, Option<String>>(5)? else {
        let mut op: Op = serde_json::from_str(&row.get::<_, String>(4)?)?;
        op.fields.remove("id");
        return Ok(op);
    };
    let (op_id, kind, entity, stamp): (String, String, String, String) =
        (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
    let corrupt = |what: &str| Error::Corrupt(format!("outbox op {op_id}: {what}"));
    let kind = EntityKind::parse(&kind).ok_or_else(|| corrupt(&format!("unknown kind {kind}")))?;
    let fields = entity_table::fact_fields(conn, kind, &entity)?
        .ok_or_else(|| corrupt(&format!("the {} {entity} it created is not on this device", kind.as_str())))?;
    Ok(Op {
        id: Uuid::parse_str(&op_id).map_err(|e| corrupt(&e.to_string()))?,
        kind,
        entity,
        grid,
        action: OpAction::Create,
        fields,
        hlc: stamp.parse().map_err(|e: crate::sync::hlc::ParseHlcError| corrupt(&e.to_string()))?,
    })
}

/// The ops selected by `rest` (what follows `FROM outbox`).
fn read_ops(conn: &Connection, rest: &str, params: impl rusqlite::Params) -> Result<Vec<Op>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {OP_COLUMNS} FROM outbox {rest}"))?;
    let mut rows = stmt.query(params)?;
    let mut ops = Vec::new();
    while let Some(row) = rows.next()? {
        ops.push(read_op(conn, row)?);
    }
    Ok(ops)
}

/// Writes out the whole body of every rejected fact creation still logged without its fields,
/// before a handover removes rows: a rejected op outlives the row it was rebuilt from. (Pending
/// ones need nothing: their rows are not removed until they are pushed.)
pub fn write_out_rejected_fact_bodies(conn: &Connection) -> Result<()> {
    let ops: Vec<(i64, Op)> = {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {OP_COLUMNS}, seq FROM outbox WHERE status = 'rejected' AND fact_grid IS NOT NULL"
        ))?;
        let mut rows = stmt.query([])?;
        let mut ops = Vec::new();
        while let Some(row) = rows.next()? {
            ops.push((row.get(6)?, read_op(conn, row)?));
        }
        ops
    };
    for (seq, op) in ops {
        conn.prepare_cached("UPDATE outbox SET body = ?2, fact_grid = NULL WHERE seq = ?1")?
            .execute(params![seq, serde_json::to_string(&op)?])?;
    }
    Ok(())
}

/// The oldest pending ops, in the order they were made.
pub fn pending(conn: &Connection, limit: usize) -> Result<Vec<Op>> {
    read_ops(conn, "WHERE status = 'pending' ORDER BY seq LIMIT ?1", [limit as i64])
}

/// An op the server refused for good, kept with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectedOp {
    pub op: Op,
    pub code: String,
    pub reason: String,
    pub created_at_ms: i64,
}

pub fn rejected(conn: &Connection) -> Result<Vec<RejectedOp>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {OP_COLUMNS}, coalesce(reject_code, ''), coalesce(reject_reason, ''), created_at_ms FROM outbox WHERE status = 'rejected' ORDER BY seq"
    ))?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(RejectedOp {
            op: read_op(conn, row)?,
            code: row.get(6)?,
            reason: row.get(7)?,
            created_at_ms: row.get(8)?,
        });
    }
    Ok(out)
}

/// Where each of the given ops sits in the outbox. One scan: op ids are not indexed (an index
/// would be one more page written by every local change, store/schema.rs version 5) and the outbox
/// holds only what the server has not acknowledged yet.
fn seqs_of(conn: &Connection, results: &[OpResult]) -> Result<HashMap<Uuid, i64>> {
    let wanted: HashSet<Uuid> = results.iter().map(|r| r.op_id).collect();
    let mut found = HashMap::with_capacity(wanted.len());
    let mut stmt = conn.prepare_cached("SELECT seq, op_id FROM outbox")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let op_id: String = row.get(1)?;
        if let Ok(id) = Uuid::parse_str(&op_id) {
            if wanted.contains(&id) {
                found.insert(id, row.get(0)?);
            }
        }
    }
    Ok(found)
}

/// What the server said of each op, at `acked_at_ms` on the server's clock. Acknowledged ops move
/// to the acknowledged ops kept for a restore (`requeue_acked_since`). Returns the ops whose stamp
/// the server clamped (op, new stamp).
pub fn settle(conn: &Connection, results: &[OpResult], acked_at_ms: i64) -> Result<Vec<(Op, Hlc)>> {
    let seqs = seqs_of(conn, results)?;
    let mut clamped = Vec::new();
    for result in results {
        // an answer for an op that is no longer here (settled by an earlier, retried push)
        let Some(&seq) = seqs.get(&result.op_id) else { continue };
        if let Some(to) = &result.clamped_to {
            if let Some(op) = read_ops(conn, "WHERE seq = ?1", [seq])?.pop() {
                clamped.push((op, to.clone()));
            }
        }
        match &result.outcome {
            OpOutcome::Applied | OpOutcome::AlreadyHad | OpOutcome::Superseded => {
                keep_acked(conn, seq, acked_at_ms)?;
                conn.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?.execute([seq])?;
            }
            OpOutcome::Rejected { code, reason } => {
                conn.prepare_cached(
                    "UPDATE outbox SET status = 'rejected', reject_code = ?2, reject_reason = ?3 WHERE seq = ?1",
                )?
                .execute(params![seq, code.as_str(), reason])?;
            }
        }
    }
    Ok(clamped)
}

/// Copies the outbox row `seq` into the acknowledged ops, with its whole body: a fact's creation
/// logged without its fields gets them written out, since its row may leave the device later.
fn keep_acked(conn: &Connection, seq: i64, acked_at_ms: i64) -> Result<()> {
    let copied = conn
        .prepare_cached(
            "INSERT INTO acked_ops (op_id, kind, entity_id, hlc, body, acked_at_ms)
             SELECT op_id, kind, entity_id, hlc, body, ?2 FROM outbox WHERE seq = ?1 AND fact_grid IS NULL",
        )?
        .execute(params![seq, acked_at_ms])?;
    if copied == 0 {
        if let Some(op) = read_ops(conn, "WHERE seq = ?1", [seq])?.pop() {
            let mut id = Uuid::encode_buffer();
            conn.prepare_cached(
                "INSERT INTO acked_ops (op_id, kind, entity_id, hlc, body, acked_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                &*op.id.hyphenated().encode_lower(&mut id),
                op.kind.as_str(),
                op.entity,
                op.hlc.to_string(),
                serde_json::to_string(&op)?,
                acked_at_ms
            ])?;
        }
    }
    Ok(())
}

/// Puts every op acknowledged at or after `since_ms` (server clock) back at the end of the queue,
/// in the order they were made: the server restored from a backup has forgotten them. Returns how
/// many. The server's idempotency makes any it still holds harmless.
pub fn requeue_acked_since(conn: &Connection, since_ms: i64, now_ms: i64) -> Result<u64> {
    let n = conn.execute(
        "INSERT INTO outbox (op_id, kind, entity_id, hlc, body, created_at_ms)
         SELECT op_id, kind, entity_id, hlc, body, ?2 FROM acked_ops WHERE acked_at_ms >= ?1 ORDER BY seq",
        params![since_ms, now_ms],
    )?;
    conn.execute("DELETE FROM acked_ops WHERE acked_at_ms >= ?1", [since_ms])?;
    Ok(n as u64)
}

/// Forgets acknowledged ops older than `before_ms` (server clock): past the retention window.
pub fn forget_acked_before(conn: &Connection, before_ms: i64) -> Result<u64> {
    Ok(conn.prepare_cached("DELETE FROM acked_ops WHERE acked_at_ms < ?1")?.execute([before_ms])? as u64)
}

/// Puts a rejected op back in the queue (after the cause was dealt with, e.g. grids reassigned).
pub fn retry(conn: &Connection, op_id: &str) -> Result<bool> {
    let n = conn.execute(
        "UPDATE outbox SET status = 'pending', reject_code = NULL, reject_reason = NULL WHERE op_id = ?1 AND status = 'rejected'",
        [op_id],
    )?;
    Ok(n == 1)
}

/// Removes a rejected op for good: a deliberate action, which the caller logs.
pub fn discard(conn: &Connection, op_id: &str) -> Result<Option<Op>> {
    let Some(op) = read_ops(conn, "WHERE op_id = ?1 AND status = 'rejected'", [op_id])?.pop() else { return Ok(None) };
    conn.execute("DELETE FROM outbox WHERE op_id = ?1", [op_id])?;
    Ok(Some(op))
}

/// Changes waiting on this device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OutboxCounts {
    /// Changes not yet acknowledged by the server.
    pub pending: u64,
    /// Changes the server refused, waiting for retry or discard.
    pub rejected: u64,
    /// When the oldest pending change was made, UTC ms.
    pub oldest_pending_ms: Option<i64>,
}

pub fn counts(conn: &Connection) -> Result<OutboxCounts> {
    // kept prepared: every cycle asks it on its way to the push
    Ok(conn
        .prepare_cached(
            "SELECT coalesce(sum(status = 'pending'), 0), coalesce(sum(status = 'rejected'), 0),
                min(CASE WHEN status = 'pending' THEN created_at_ms END) FROM outbox",
        )?
        .query_row([], |r| {
            Ok(OutboxCounts {
                pending: r.get::<_, i64>(0)? as u64,
                rejected: r.get::<_, i64>(1)? as u64,
                oldest_pending_ms: r.get(2)?,
            })
        })?)
}

/// The entities with a change still to push, in one scan (the outbox has no entity index: it
/// holds only what is not acknowledged yet, store/schema.rs version 5).
pub fn entities_pending(conn: &Connection) -> Result<HashSet<String>> {
    let mut stmt = conn.prepare_cached("SELECT DISTINCT entity_id FROM outbox WHERE status = 'pending'")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The newest stamp still in the outbox: on open the clock restarts at least from here.
pub fn newest_stamp(conn: &Connection) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT max(hlc) FROM outbox", [], |r| r.get(0))?)
}
