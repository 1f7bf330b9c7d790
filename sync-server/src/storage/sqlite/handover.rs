//! Handovers on SQLite (domain/handover.rs has the rules): moving a grid or a building in one
//! transaction, the per-device removals a pull carries, the removals devices report, the list the
//! back office shows.
//!
//! A moved record gets a new change number (`seq`), so the new manager's phones pull it whatever
//! their cursor, and the old devices get its removal under that same number, so their pulls page
//! and resume removals exactly like changes.

use gridbook_core::model::EntityKind;
use gridbook_core::sync::wire::{EntityState, ErrorCode, Removal};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::entity_tx::SqliteTx;
use super::receipts;
use super::records::entity_from_row;
use crate::domain::auth::{DeviceAuth, Role};
use crate::domain::handover::move_record;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::handover::RemovalPage;
use crate::storage::handover::{
    building_members, state_of, DeviceHandover, HandoverDeviceRow, HandoverRequest, HandoverRow, HandoverScope,
};
pub(super) use crate::storage::handover::{check_request, cut_page};
use crate::storage::ListPage;

/// The most handovers one push may report removed (more are ignored: a device is part of few).
const MAX_REPORTED: usize = 100;

pub(super) fn device_handovers(c: &Connection, device_id: &str) -> StorageResult<Vec<DeviceHandover>> {
    let mut stmt = c.prepare_cached(
        "SELECT h.id, h.scope, h.from_grid, h.to_grid, d.removed_at_ms IS NOT NULL
         FROM handover_devices d JOIN handovers h ON h.id = d.handover_id WHERE d.device_id = ?1",
    )?;
    let rows = stmt.query_map([device_id], |r| {
        let scope: String = r.get(1)?;
        Ok(DeviceHandover {
            id: r.get(0)?,
            scope: if scope == "grid" { HandoverScope::Grid } else { HandoverScope::Building },
            from_grid: r.get(2)?,
            to_grid: r.get(3)?,
            removed: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn handovers_holding(c: &Connection, kind: EntityKind, id: &str) -> StorageResult<Vec<String>> {
    let mut stmt = c.prepare_cached("SELECT handover_id FROM handover_records WHERE entity_id = ?1 AND kind = ?2")?;
    let rows = stmt.query_map(params![id, kind.as_str()], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn rescope(etx: &mut SqliteTx, kind: EntityKind, id: &str, grid: &str, now_ms: i64) -> StorageResult<()> {
    let seq = etx.next_seq;
    etx.next_seq += 1;
    etx.tx
        .prepare_cached("UPDATE entities SET grid_id = ?3, seq = ?4, updated_at_ms = ?5 WHERE kind = ?1 AND id = ?2")?
        .execute(params![kind.as_str(), id, grid, seq, now_ms])?;
    Ok(())
}

pub(super) fn join(c: &Connection, handover_id: &str, kind: EntityKind, id: &str) -> StorageResult<()> {
    c.prepare_cached(
        "INSERT INTO handover_records (handover_id, kind, entity_id, seq)
         SELECT ?1, kind, id, seq FROM entities WHERE kind = ?2 AND id = ?3
         ON CONFLICT (handover_id, kind, entity_id) DO UPDATE SET seq = excluded.seq",
    )?
    .execute(params![handover_id, kind.as_str(), id])?;
    Ok(())
}

/// A device reported these handovers removed (`DeviceFacts::removed_handovers`). Counted only
/// once the device's pulls went past every removal of the handover; audited.
pub(super) fn report_removed(
    tx: &Transaction,
    device: &DeviceAuth,
    handovers: &[String],
    now_ms: i64,
) -> StorageResult<()> {
    for id in handovers.iter().take(MAX_REPORTED).filter(|h| h.len() <= 64) {
        let last = last_removal_seq(tx, id)?;
        let done = tx
            .prepare_cached(
                "UPDATE handover_devices SET removed_at_ms = ?3 WHERE device_id = ?1 AND handover_id = ?2 AND removed_at_ms IS NULL
                   AND (SELECT pull_cursor FROM devices WHERE id = ?1) >= ?4",
            )?
            .execute(params![device.device_id, id, now_ms, last])?;
        if done == 1 {
            receipts::audit(
                tx,
                &device.device_id,
                "handover_removed",
                &format!("handover:{id}"),
                "the device removed its copy of the scope",
                now_ms,
            )?;
            tracing::info!(device = %device.device_id, handover = %id, "handover removed on the device");
        }
    }
    Ok(())
}

fn last_removal_seq(c: &Connection, handover_id: &str) -> StorageResult<i64> {
    Ok(c.prepare_cached("SELECT coalesce(max(seq), 0) FROM handover_records WHERE handover_id = ?1")?
        .query_row([handover_id], |r| r.get(0))?)
}

/// Whether a device's pull from `?2` carries a removal (`GET /v1/changes`).
pub(super) const REMOVAL_AFTER: &str =
    "SELECT EXISTS (SELECT 1 FROM handover_devices d JOIN handover_records r ON r.handover_id = d.handover_id
     WHERE d.device_id = ?1 AND d.removed_at_ms IS NULL AND r.seq > ?2)";

/// The removals a device's pull carries: records of the handovers it has not reported removed,
/// after `cursor`, at most `limit`, by change number; with those handovers' ids.
pub(super) fn removals_after(c: &Connection, device_id: &str, cursor: u64, limit: usize) -> StorageResult<RemovalPage> {
    let pending: Vec<String> = {
        let mut stmt = c.prepare_cached(
            "SELECT handover_id FROM handover_devices WHERE device_id = ?1 AND removed_at_ms IS NULL",
        )?;
        let rows = stmt.query_map([device_id], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut out = Vec::new();
    let mut stmt = c.prepare_cached(
        "SELECT seq, kind, entity_id FROM handover_records WHERE handover_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    for h in &pending {
        let rows = stmt.query_map(params![h, cursor as i64, limit as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })?;
        for row in rows {
            let (seq, kind, id) = row?;
            let kind = EntityKind::parse(&kind).ok_or_else(|| StorageError::internal(format!("stored kind {kind}")))?;
            out.push((seq, Removal { kind, id }));
        }
    }
    out.sort_by_key(|(seq, _)| *seq);
    out.truncate(limit);
    Ok((out, pending))
}

/// Removals still waiting after `after`, and the handovers whose every removal is at or before it.
pub(super) fn removals_left(c: &Connection, pending: &[String], after: i64) -> StorageResult<(i64, Vec<String>)> {
    let mut left = 0;
    let mut complete = Vec::new();
    for h in pending {
        left += c
            .prepare_cached("SELECT count(*) FROM handover_records WHERE handover_id = ?1 AND seq > ?2")?
            .query_row(params![h, after], |r| r.get::<_, i64>(0))?;
        if last_removal_seq(c, h)? <= after {
            complete.push(h.clone());
        }
    }
    Ok((left, complete))
}

fn exists(c: &Connection, table: &str, id: &str) -> StorageResult<bool> {
    Ok(c.prepare_cached(&format!("SELECT 1 FROM {table} WHERE id = ?1"))?.exists([id])?)
}

fn field_manager(c: &Connection, id: &str, what: &str) -> StorageResult<()> {
    let role: Option<String> =
        c.prepare_cached("SELECT role FROM managers WHERE id = ?1")?.query_row([id], |r| r.get(0)).optional()?;
    match role.as_deref() {
        None => Err(StorageError::not_found(format!("{what}: no manager {id}"))),
        Some(r) if r != Role::Field.as_str() => {
            Err(StorageError::invalid(format!("{what}: {id} is a {r}; grids belong to field managers")))
        }
        Some(_) => Ok(()),
    }
}

fn holds(c: &Connection, manager: &str, grid: &str) -> StorageResult<bool> {
    Ok(c.prepare_cached("SELECT 1 FROM manager_grids WHERE manager_id = ?1 AND grid_id = ?2")?
        .exists([manager, grid])?)
}

/// Moves the scope and records the handover, all in the caller's transaction.
pub(super) fn hand_over(tx: &Transaction, request: &HandoverRequest, by: &str, now_ms: i64) -> StorageResult<String> {
    let handover_id = uuid::Uuid::now_v7().to_string();
    let (scope, from_grid, premises, to_grid, to_manager, losers) = match request {
        HandoverRequest::Grid { grid, from, to } => {
            if !exists(tx, "grids", grid)? {
                return Err(StorageError::not_found(format!("no grid {grid}")));
            }
            field_manager(tx, from, "from")?;
            field_manager(tx, to, "to")?;
            if from == to {
                return Err(StorageError::invalid("to: the grid would go to the manager who holds it"));
            }
            if !holds(tx, from, grid)? {
                return Err(StorageError::conflict(
                    ErrorCode::NotAssigned,
                    format!("grid {grid} is not assigned to manager {from}"),
                ));
            }
            tx.execute("DELETE FROM manager_grids WHERE manager_id = ?1 AND grid_id = ?2", [from, grid])?;
            tx.execute("INSERT OR IGNORE INTO manager_grids (manager_id, grid_id) VALUES (?1, ?2)", [to, grid])?;
            // every record of the grid again, under new numbers: the new manager's phones pull it all
            let top: i64 = tx.query_row("SELECT coalesce(max(seq), 0) FROM entities", [], |r| r.get(0))?;
            let low: Option<i64> =
                tx.query_row("SELECT min(seq) FROM entities WHERE grid_id = ?1", [grid], |r| r.get(0))?;
            if let Some(low) = low {
                tx.execute(
                    "UPDATE entities SET seq = seq + ?2, updated_at_ms = ?3 WHERE grid_id = ?1",
                    params![grid, top - low + 1, now_ms],
                )?;
            }
            tx.execute(
                "INSERT INTO handovers (id, scope, from_grid, premises_id, to_grid, from_managers, to_manager, records, by, created_at_ms)
                 VALUES (?1, 'grid', ?2, NULL, ?2, ?3, ?4, 0, ?5, ?6)",
                params![handover_id, grid, from, to, by, now_ms],
            )?;
            tx.execute(
                "INSERT INTO handover_records (handover_id, kind, entity_id, seq) SELECT ?1, kind, id, seq FROM entities WHERE grid_id = ?2",
                params![handover_id, grid],
            )?;
            (HandoverScope::Grid, grid.clone(), None, grid.clone(), to.clone(), vec![from.clone()])
        }
        HandoverRequest::Building { premises, to, to_grid } => {
            let found = tx
                .query_row(
                    "SELECT grid_id, vals, base_hlc, clocks FROM entities WHERE kind = 'premises' AND id = ?1",
                    [premises],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, String>(3)?,
                        ))
                    },
                )
                .optional()?;
            let Some((from_grid, vals, base, clocks)) = found else {
                return Err(StorageError::not_found(format!("no building {premises}")));
            };
            if entity_from_row(EntityKind::Premises, premises.clone(), &vals, base, &clocks)?.deleted() {
                return Err(StorageError::conflict(ErrorCode::Deleted, format!("building {premises} was deleted")));
            }
            if !exists(tx, "grids", to_grid)? {
                return Err(StorageError::not_found(format!("no grid {to_grid}")));
            }
            field_manager(tx, to, "to")?;
            if !holds(tx, to, to_grid)? {
                return Err(StorageError::conflict(
                    ErrorCode::NotAssigned,
                    format!("manager {to} does not hold grid {to_grid}; assign the grid to {to} first"),
                ));
            }
            if &from_grid == to_grid {
                return Err(StorageError::conflict(
                    ErrorCode::SameGrid,
                    format!("building {premises} is already in grid {to_grid}"),
                ));
            }
            let losers: Vec<String> = {
                let mut stmt = tx.prepare(
                    "SELECT g.manager_id FROM manager_grids g JOIN managers m ON m.id = g.manager_id
                     WHERE g.grid_id = ?1 AND m.role = 'field'
                       AND NOT EXISTS (SELECT 1 FROM manager_grids t WHERE t.manager_id = g.manager_id AND t.grid_id = ?2)
                     ORDER BY g.manager_id",
                )?;
                let rows = stmt.query_map([&from_grid, to_grid], |r| r.get(0))?;
                rows.collect::<Result<_, _>>()?
            };
            tx.execute(
                "INSERT INTO handovers (id, scope, from_grid, premises_id, to_grid, from_managers, to_manager, records, by, created_at_ms)
                 VALUES (?1, 'building', ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8)",
                params![handover_id, from_grid, premises, to_grid, losers.join(","), to, by, now_ms],
            )?;
            let members = building_scope(tx, &from_grid, premises)?;
            let mut etx = SqliteTx::begin(tx, by, &[])?;
            for state in &members {
                move_record(&mut etx, state.kind, &state.id, state, to_grid, now_ms)?;
                join(tx, &handover_id, state.kind, &state.id)?;
            }
            (HandoverScope::Building, from_grid, Some(premises.clone()), to_grid.clone(), to.clone(), losers)
        }
    };
    let records: i64 =
        tx.query_row("SELECT count(*) FROM handover_records WHERE handover_id = ?1", [&handover_id], |r| r.get(0))?;
    tx.execute("UPDATE handovers SET records = ?2 WHERE id = ?1", params![handover_id, records])?;
    let mut devices = tx.prepare_cached(
        "INSERT INTO handover_devices (device_id, handover_id) SELECT id, ?2 FROM devices WHERE manager_id = ?1 AND revoked_at_ms IS NULL",
    )?;
    for manager in &losers {
        devices.execute(params![manager, handover_id])?;
    }
    let subject = match &premises {
        Some(p) => format!("building:{p}"),
        None => format!("grid:{from_grid}"),
    };
    let detail = format!(
        "handover {handover_id}: {} {} from {} ({}) to {to_manager} ({to_grid}), {records} records",
        scope.as_str(),
        premises.as_deref().unwrap_or(&from_grid),
        if losers.is_empty() { "-".to_string() } else { losers.join(",") },
        from_grid
    );
    receipts::audit(tx, by, &format!("handover_{}", scope.as_str()), &subject, &detail, now_ms)?;
    tracing::info!(handover = %handover_id, scope = scope.as_str(), from = %from_grid, to = %to_grid, records, "handover");
    Ok(handover_id)
}

/// The building and everything served under its grid that belongs to it, parents before children.
fn building_scope(c: &Connection, grid: &str, premises: &str) -> StorageResult<Vec<EntityState>> {
    let mut stmt = c.prepare("SELECT kind, id, vals, base_hlc, clocks FROM entities WHERE grid_id = ?1")?;
    let mut rows = stmt.query([grid])?;
    let mut states = Vec::new();
    while let Some(r) = rows.next()? {
        let kind: String = r.get(0)?;
        let Some(kind) = EntityKind::parse(&kind) else { continue };
        let (vals, clocks): (String, String) = (r.get(2)?, r.get(4)?);
        states.push(entity_from_row(kind, r.get(1)?, &vals, r.get(3)?, &clocks)?);
    }
    Ok(building_members(states, premises))
}

/// Handovers (the one `id`, or a page of those from or to a grid of `page.grids`), newest first,
/// with the count of all that match.
pub(super) fn list(c: &Connection, id: Option<&str>, page: &ListPage) -> StorageResult<(u64, Vec<HandoverRow>)> {
    const WHERE: &str = "WHERE (?1 IS NULL OR h.id = ?1)
           AND (?2 IS NULL OR h.from_grid IN (SELECT value FROM json_each(?2))
                OR h.to_grid IN (SELECT value FROM json_each(?2)))";
    let grids = page.grids_json();
    let total: i64 = c
        .prepare_cached(&format!("SELECT count(*) FROM handovers h {WHERE}"))?
        .query_row(params![id, grids], |r| r.get(0))?;
    let mut stmt = c.prepare_cached(&format!(
        "SELECT h.id, h.scope, h.from_grid, h.premises_id, json_extract(p.vals, '$.name'), h.to_grid, h.from_managers,
                h.to_manager, m.name, h.by, h.created_at_ms,
                (SELECT count(*) FROM handover_records r WHERE r.handover_id = h.id)
         FROM handovers h
         LEFT JOIN entities p ON p.kind = 'premises' AND p.id = h.premises_id
         LEFT JOIN managers m ON m.id = h.to_manager
         {WHERE}
         ORDER BY h.created_at_ms DESC, h.id DESC LIMIT ?3 OFFSET ?4"
    ))?;
    let rows = stmt.query_map(params![id, grids, page.limit, page.offset], |r| {
        let scope: String = r.get(1)?;
        let from: String = r.get(6)?;
        Ok(HandoverRow {
            id: r.get(0)?,
            scope: if scope == "grid" { HandoverScope::Grid } else { HandoverScope::Building },
            from_grid: r.get(2)?,
            premises_id: r.get(3)?,
            premises_name: r.get(4)?,
            to_grid: r.get(5)?,
            from_managers: from.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
            to_manager: r.get(7)?,
            to_manager_name: r.get(8)?,
            by: r.get(9)?,
            created_at_ms: r.get(10)?,
            records: r.get(11)?,
            state: String::new(),
            devices: vec![],
        })
    })?;
    let mut out: Vec<HandoverRow> = rows.collect::<Result<_, _>>()?;
    let mut devices = c.prepare_cached(
        "SELECT d.device_id, v.manager_id, m.name, d.removed_at_ms, v.last_seen_ms, v.pending_count, v.revoked_at_ms IS NOT NULL
         FROM handover_devices d JOIN devices v ON v.id = d.device_id JOIN managers m ON m.id = v.manager_id
         WHERE d.handover_id = ?1 ORDER BY m.name, d.device_id",
    )?;
    for h in &mut out {
        let rows = devices.query_map([&h.id], |r| {
            Ok(HandoverDeviceRow {
                device_id: r.get(0)?,
                manager_id: r.get(1)?,
                manager_name: r.get(2)?,
                removed_at_ms: r.get(3)?,
                last_seen_ms: r.get(4)?,
                pending_count: r.get(5)?,
                revoked: r.get(6)?,
            })
        })?;
        h.devices = rows.collect::<Result<_, _>>()?;
        h.state = state_of(&h.devices).into();
    }
    Ok((u64::try_from(total).unwrap_or(0), out))
}
