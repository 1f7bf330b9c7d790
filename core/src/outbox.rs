//! The outbox: every local change waits here until the server acknowledges it after a durable
//! commit (lessons.md, sync 3). A permanent rejection stays here with its reason, apart from the
//! pending ops, so it never blocks them (sync 4), until someone retries or discards it.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::hlc::Hlc;
use crate::wire::{Op, OpOutcome, OpResult};

pub fn append(conn: &Connection, op: &Op, now_ms: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO outbox (op_id, kind, entity_id, hlc, body, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        op.id.to_string(),
        op.kind.as_str(),
        op.entity,
        op.hlc.to_string(),
        serde_json::to_string(op)?,
        now_ms
    ])?;
    Ok(())
}

/// The oldest pending ops, in the order they were made.
pub fn pending(conn: &Connection, limit: usize) -> Result<Vec<Op>> {
    let mut stmt = conn.prepare_cached("SELECT body FROM outbox WHERE status = 'pending' ORDER BY seq LIMIT ?1")?;
    let rows = stmt.query_map([limit as i64], |r| r.get::<_, String>(0))?;
    let mut ops = Vec::new();
    for body in rows {
        ops.push(serde_json::from_str(&body?)?);
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
        out.push(RejectedOp { op: serde_json::from_str(&body)?, code, reason, created_at_ms });
    }
    Ok(out)
}

/// What the server said of each op. Returns the ops whose stamp the server clamped (op, new stamp).
pub fn settle(conn: &Connection, results: &[OpResult]) -> Result<Vec<(Op, Hlc)>> {
    let mut clamped = Vec::new();
    for result in results {
        let id = result.op_id.to_string();
        if let Some(to) = &result.clamped_to {
            let body: Option<String> = conn
                .prepare_cached("SELECT body FROM outbox WHERE op_id = ?1")?
                .query_row([&id], |r| r.get(0))
                .optional()?;
            if let Some(body) = body {
                clamped.push((serde_json::from_str(&body)?, to.clone()));
            }
        }
        match &result.outcome {
            OpOutcome::Applied | OpOutcome::AlreadyHad | OpOutcome::Superseded => {
                conn.prepare_cached("DELETE FROM outbox WHERE op_id = ?1")?.execute([&id])?;
            }
            OpOutcome::Rejected { code, reason } => {
                conn.prepare_cached(
                    "UPDATE outbox SET status = 'rejected', reject_code = ?2, reject_reason = ?3 WHERE op_id = ?1",
                )?
                .execute(params![id, code.as_str(), reason])?;
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
    Ok(Some(serde_json::from_str(&body)?))
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

/// Whether the entity has a change not yet acknowledged (pending or rejected).
pub fn has_unsettled(conn: &Connection, entity_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM outbox WHERE entity_id = ?1 LIMIT 1")?
        .query_row([entity_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The newest stamp still in the outbox: on open the clock restarts at least from here.
pub fn newest_stamp(conn: &Connection) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT max(hlc) FROM outbox", [], |r| r.get(0))?)
}
