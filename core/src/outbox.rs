//! The outbox: every local change waits here until the server acknowledges it after a durable
//! commit (lessons.md, sync 3). A permanent rejection stays here with its reason, apart from the
//! pending ops, so it never blocks them (sync 4), until someone retries or discards it.

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::hlc::Hlc;
use crate::model::EntityKind;
use crate::wire::{Op, OpAction, OpOutcome, OpResult};

pub fn append(conn: &Connection, op: &Op, now_ms: i64) -> Result<()> {
    insert(conn, &op.id, op.kind, &op.entity, &op.hlc, &serde_json::to_string(op)?, now_ms)
}

/// Appends the creation of a fact, its body written straight from the typed record (the way a
/// visit is recorded: no field map in between). The record's own `id` rides along in the body's
/// fields and is dropped when the body is read (`parse`).
pub fn append_fact<R: Serialize>(
    conn: &Connection,
    (op_id, kind, entity, grid): (Uuid, EntityKind, &str, &str),
    record: &R,
    hlc: &Hlc,
    now_ms: i64,
) -> Result<()> {
    #[derive(Serialize)]
    struct Body<'a, R> {
        id: Uuid,
        kind: EntityKind,
        entity: &'a str,
        grid: &'a str,
        action: OpAction,
        fields: &'a R,
        hlc: &'a Hlc,
    }
    let body = Body { id: op_id, kind, entity, grid, action: OpAction::Create, fields: record, hlc };
    insert(conn, &op_id, kind, entity, hlc, &serde_json::to_string(&body)?, now_ms)
}

fn insert(conn: &Connection, op_id: &Uuid, kind: EntityKind, entity: &str, hlc: &Hlc, body: &str, now_ms: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO outbox (op_id, kind, entity_id, hlc, body, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![op_id.to_string(), kind.as_str(), entity, hlc.to_string(), body, now_ms])?;
    Ok(())
}

/// An op as stored: `append_fact` bodies carry the record's id among the fields, which no kind has.
fn parse(body: &str) -> Result<Op> {
    let mut op: Op = serde_json::from_str(body)?;
    op.fields.remove("id");
    Ok(op)
}

/// The oldest pending ops, in the order they were made.
pub fn pending(conn: &Connection, limit: usize) -> Result<Vec<Op>> {
    let mut stmt = conn.prepare_cached("SELECT body FROM outbox WHERE status = 'pending' ORDER BY seq LIMIT ?1")?;
    let rows = stmt.query_map([limit as i64], |r| r.get::<_, String>(0))?;
    let mut ops = Vec::new();
    for body in rows {
        ops.push(parse(&body?)?);
    }
    Ok(ops)
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
    let mut stmt = conn.prepare_cached(
        "SELECT body, coalesce(reject_code, ''), coalesce(reject_reason, ''), created_at_ms FROM outbox WHERE status = 'rejected' ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (body, code, reason, created_at_ms) = row?;
        out.push(RejectedOp { op: parse(&body)?, code, reason, created_at_ms });
    }
    Ok(out)
}

/// Where each of the given ops sits in the outbox. One scan: op ids are not indexed (an index
/// would be one more page written by every local change, schema.rs version 5) and the outbox
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

/// What the server said of each op. Returns the ops whose stamp the server clamped (op, new stamp).
pub fn settle(conn: &Connection, results: &[OpResult]) -> Result<Vec<(Op, Hlc)>> {
    let seqs = seqs_of(conn, results)?;
    let mut clamped = Vec::new();
    for result in results {
        // an answer for an op that is no longer here (settled by an earlier, retried push)
        let Some(&seq) = seqs.get(&result.op_id) else { continue };
        if let Some(to) = &result.clamped_to {
            let body: String = conn.prepare_cached("SELECT body FROM outbox WHERE seq = ?1")?.query_row([seq], |r| r.get(0))?;
            clamped.push((parse(&body)?, to.clone()));
        }
        match &result.outcome {
            OpOutcome::Applied | OpOutcome::AlreadyHad | OpOutcome::Superseded => {
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
    let body: Option<String> = conn
        .query_row("SELECT body FROM outbox WHERE op_id = ?1 AND status = 'rejected'", [op_id], |r| r.get(0))
        .optional()?;
    let Some(body) = body else { return Ok(None) };
    conn.execute("DELETE FROM outbox WHERE op_id = ?1", [op_id])?;
    Ok(Some(parse(&body)?))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub pending: u64,
    pub rejected: u64,
    pub oldest_pending_ms: Option<i64>,
}

pub fn counts(conn: &Connection) -> Result<Counts> {
    Ok(conn.query_row(
        "SELECT coalesce(sum(status = 'pending'), 0), coalesce(sum(status = 'rejected'), 0),
                min(CASE WHEN status = 'pending' THEN created_at_ms END) FROM outbox",
        [],
        |r| Ok(Counts { pending: r.get::<_, i64>(0)? as u64, rejected: r.get::<_, i64>(1)? as u64, oldest_pending_ms: r.get(2)? }),
    )?)
}

/// The entities with a change still to push, in one scan (the outbox has no entity index: it
/// holds only what is not acknowledged yet, schema.rs version 5).
pub fn entities_pending(conn: &Connection) -> Result<HashSet<String>> {
    let mut stmt = conn.prepare_cached("SELECT DISTINCT entity_id FROM outbox WHERE status = 'pending'")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The newest stamp still in the outbox: on open the clock restarts at least from here.
pub fn newest_stamp(conn: &Connection) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT max(hlc) FROM outbox", [], |r| r.get(0))?)
}
