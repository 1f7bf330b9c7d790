//! Handovers on PostgreSQL (domain/handover.rs has the rules, sqlite/handover.rs the same steps on
//! SQLite): moving a grid or a building in one transaction, the removals a device's pull carries,
//! the removals devices report, the list the back office shows.
//!
//! A moved record gets a new change number of the handover's transaction (cursor.rs), so the new
//! manager's phones pull it whatever their cursor, and the old devices get its removal under that
//! same number, below the same watermark. While replicas push at once, a handover must not
//! interleave with a push into the grids it moves (the push could write a record back into the
//! grid it just left, or miss that its device lost the grid): a push holds a shared lock on each
//! grid it writes in, a handover an exclusive one on the grids it moves between (`lock_grids`).

use deadpool_postgres::{GenericClient, Transaction};
use gridbook_core::model::EntityKind;
use gridbook_core::sync::wire::{ErrorCode, Removal};

use super::entity_tx::PgTx;
use super::pool::{Db, RowExt};
use super::PostgresStorage;
use crate::domain::auth::{DeviceAuth, Role};
use crate::domain::handover::move_record;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::handover::{
    building_members, check_request, state_of, DeviceHandover, HandoverDeviceRow, HandoverRequest, HandoverRow,
    HandoverScope, RemovalPage,
};
use crate::storage::sqlite::entity_from_row;
use crate::storage::ListPage;

/// The most handovers one push may report removed (more are ignored: a device is part of few).
const MAX_REPORTED: usize = 100;

/// Locks grids for the rest of the transaction: shared by writers into them, exclusive by a
/// handover moving between them. Taken in key order, so two handovers cannot deadlock on them.
pub(super) fn lock_grids<C: GenericClient + Sync>(
    db: &Db,
    c: &C,
    grids: &[&str],
    exclusive: bool,
) -> StorageResult<()> {
    if grids.is_empty() {
        return Ok(());
    }
    let lock = if exclusive { "pg_advisory_xact_lock" } else { "pg_advisory_xact_lock_shared" };
    let grids: Vec<&str> = grids.to_vec();
    db.query(
        c,
        &format!(
            "SELECT {lock}(k) FROM (SELECT DISTINCT hashtextextended('grids:' || g, 0) AS k
                                    FROM unnest($1::text[]) AS g ORDER BY k) AS keys"
        ),
        &[&grids],
    )?;
    Ok(())
}

fn scope_of(text: &str) -> HandoverScope {
    if text == "grid" {
        HandoverScope::Grid
    } else {
        HandoverScope::Building
    }
}

pub(super) fn device_handovers<C: GenericClient + Sync>(
    db: &Db,
    c: &C,
    device_id: &str,
) -> StorageResult<Vec<DeviceHandover>> {
    let rows = db.query(
        c,
        "SELECT h.id, h.scope, h.from_grid, h.to_grid, d.removed_at_ms IS NOT NULL
         FROM handover_devices d JOIN handovers h ON h.id = d.handover_id WHERE d.device_id = $1",
        &[&device_id],
    )?;
    rows.iter()
        .map(|r| {
            Ok(DeviceHandover {
                id: r.at(0)?,
                scope: scope_of(&r.at::<String>(1)?),
                from_grid: r.at(2)?,
                to_grid: r.at(3)?,
                removed: r.at(4)?,
            })
        })
        .collect()
}

pub(super) fn handovers_holding<C: GenericClient + Sync>(
    db: &Db,
    c: &C,
    kind: EntityKind,
    id: &str,
) -> StorageResult<Vec<String>> {
    let rows = db.query(
        c,
        "SELECT handover_id FROM handover_records WHERE entity_id = $1 AND kind = $2",
        &[&id, &kind.as_str()],
    )?;
    rows.iter().map(|r| r.at(0)).collect()
}

pub(super) fn join<C: GenericClient + Sync>(
    db: &Db,
    c: &C,
    handover_id: &str,
    kind: EntityKind,
    id: &str,
) -> StorageResult<()> {
    db.execute(
        c,
        "INSERT INTO handover_records (handover_id, kind, entity_id, seq)
         SELECT $1, kind, id, seq FROM entities WHERE kind = $2 AND id = $3
         ON CONFLICT (handover_id, kind, entity_id) DO UPDATE SET seq = excluded.seq",
        &[&handover_id, &kind.as_str(), &id],
    )?;
    Ok(())
}

fn last_removal_seq<C: GenericClient + Sync>(db: &Db, c: &C, handover_id: &str) -> StorageResult<i64> {
    db.query_one(c, "SELECT coalesce(max(seq), 0) FROM handover_records WHERE handover_id = $1", &[&handover_id])?.at(0)
}

/// A device reported these handovers removed (`DeviceFacts::removed_handovers`). Counted only once
/// the device's pulls went past every removal of the handover; audited.
pub(super) fn report_removed(
    db: &Db,
    tx: &Transaction<'_>,
    device: &DeviceAuth,
    handovers: &[String],
    now_ms: i64,
) -> StorageResult<()> {
    for id in handovers.iter().take(MAX_REPORTED).filter(|h| h.len() <= 64) {
        let last = last_removal_seq(db, tx, id)?;
        let done = db.execute(
            tx,
            "UPDATE handover_devices SET removed_at_ms = $3
             WHERE device_id = $1 AND handover_id = $2 AND removed_at_ms IS NULL
               AND (SELECT pull_cursor FROM devices WHERE id = $1) >= $4",
            &[&device.device_id, id, &now_ms, &last],
        )?;
        if done == 1 {
            super::records::audit(
                db,
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

/// The removals a device's pull carries: records of the handovers it has not reported removed,
/// numbered in (cursor, below), at most `limit`, by number; with those handovers' ids.
pub(super) fn removals_after<C: GenericClient + Sync>(
    db: &Db,
    c: &C,
    device_id: &str,
    cursor: i64,
    below: i64,
    limit: usize,
) -> StorageResult<RemovalPage> {
    let pending: Vec<String> = db
        .query(
            c,
            "SELECT handover_id FROM handover_devices WHERE device_id = $1 AND removed_at_ms IS NULL",
            &[&device_id],
        )?
        .iter()
        .map(|r| r.at(0))
        .collect::<StorageResult<_>>()?;
    let mut out = Vec::new();
    for h in &pending {
        let rows = db.query(
            c,
            "SELECT seq, kind, entity_id FROM handover_records
             WHERE handover_id = $1 AND seq > $2 AND seq < $3 ORDER BY seq LIMIT $4",
            &[h, &cursor, &below, &(limit as i64)],
        )?;
        for r in rows {
            let kind: String = r.at(1)?;
            let kind = EntityKind::parse(&kind).ok_or_else(|| StorageError::internal(format!("stored kind {kind}")))?;
            out.push((r.at(0)?, Removal { kind, id: r.at(2)? }));
        }
    }
    out.sort_by_key(|(seq, _)| *seq);
    out.truncate(limit);
    Ok((out, pending))
}

/// Removals numbered in (after, below), and the handovers whose every removal is at or before
/// `after`.
pub(super) fn removals_left<C: GenericClient + Sync>(
    db: &Db,
    c: &C,
    pending: &[String],
    after: i64,
    below: i64,
) -> StorageResult<(u64, Vec<String>)> {
    let mut left = 0i64;
    let mut complete = Vec::new();
    for h in pending {
        left += db
            .query_one(
                c,
                "SELECT count(*) FROM handover_records WHERE handover_id = $1 AND seq > $2 AND seq < $3",
                &[h, &after, &below],
            )?
            .at::<i64>(0)?;
        if last_removal_seq(db, c, h)? <= after {
            complete.push(h.clone());
        }
    }
    Ok((left.max(0) as u64, complete))
}

fn exists<C: GenericClient + Sync>(db: &Db, c: &C, table: &str, id: &str) -> StorageResult<bool> {
    Ok(db.query_opt(c, &format!("SELECT 1 FROM {table} WHERE id = $1"), &[&id])?.is_some())
}

fn field_manager<C: GenericClient + Sync>(db: &Db, c: &C, id: &str, what: &str) -> StorageResult<()> {
    let role: Option<String> =
        db.query_opt(c, "SELECT role FROM managers WHERE id = $1", &[&id])?.map(|r| r.at(0)).transpose()?;
    match role.as_deref() {
        None => Err(StorageError::not_found(format!("{what}: no manager {id}"))),
        Some(r) if r != Role::Field.as_str() => {
            Err(StorageError::invalid(format!("{what}: {id} is a {r}; grids belong to field managers")))
        }
        Some(_) => Ok(()),
    }
}

fn holds<C: GenericClient + Sync>(db: &Db, c: &C, manager: &str, grid: &str) -> StorageResult<bool> {
    Ok(db
        .query_opt(c, "SELECT 1 FROM manager_grids WHERE manager_id = $1 AND grid_id = $2", &[&manager, &grid])?
        .is_some())
}

/// Hands a grid or a building over, and answers it as the list shows it.
pub(super) fn hand_over(
    s: &PostgresStorage,
    request: &HandoverRequest,
    by: &str,
    now_ms: i64,
) -> StorageResult<HandoverRow> {
    check_request(request)?;
    let id = s.db.write(|tx| move_scope(&s.db, tx, request, by, now_ms))?;
    list(s, Some(&id), &ListPage { limit: 1, ..Default::default() })?
        .1
        .pop()
        .ok_or_else(|| StorageError::internal("the handover vanished"))
}

/// Moves the scope and records the handover, all in `tx`.
fn move_scope(
    db: &Db,
    tx: &Transaction<'_>,
    request: &HandoverRequest,
    by: &str,
    now_ms: i64,
) -> StorageResult<String> {
    let handover_id = uuid::Uuid::now_v7().to_string();
    let (scope, from_grid, premises, to_grid, to_manager, losers) = match request {
        HandoverRequest::Grid { grid, from, to } => {
            lock_grids(db, tx, &[grid], true)?;
            if !exists(db, tx, "grids", grid)? {
                return Err(StorageError::not_found(format!("no grid {grid}")));
            }
            field_manager(db, tx, from, "from")?;
            field_manager(db, tx, to, "to")?;
            if from == to {
                return Err(StorageError::invalid("to: the grid would go to the manager who holds it"));
            }
            // the assignment's row, locked: two handovers of one grid at once move it once
            let held =
                db.execute(tx, "DELETE FROM manager_grids WHERE manager_id = $1 AND grid_id = $2", &[from, grid])?;
            if held == 0 {
                return Err(StorageError::conflict(
                    ErrorCode::NotAssigned,
                    format!("grid {grid} is not assigned to manager {from}"),
                ));
            }
            db.execute(
                tx,
                "INSERT INTO manager_grids (manager_id, grid_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[to, grid],
            )?;
            // every record of the grid again, under this transaction's numbers, in their order
            let mut etx = PgTx::begin(db, tx, by, &[])?;
            let n: i64 = db.query_one(tx, "SELECT count(*) FROM entities WHERE grid_id = $1", &[grid])?.at(0)?;
            let first = etx.reserve(n)?;
            db.execute(
                tx,
                "UPDATE entities e SET seq = $2 + o.n - 1, updated_at_ms = $3
                 FROM (SELECT kind, id, row_number() OVER (ORDER BY seq) AS n FROM entities WHERE grid_id = $1) o
                 WHERE e.kind = o.kind AND e.id = o.id",
                &[grid, &first, &now_ms],
            )?;
            db.execute(
                tx,
                "INSERT INTO handovers (id, scope, from_grid, premises_id, to_grid, from_managers, to_manager, records, by, created_at_ms)
                 VALUES ($1, 'grid', $2, NULL, $2, $3, $4, 0, $5, $6)",
                &[&handover_id, grid, from, to, &by, &now_ms],
            )?;
            db.execute(
                tx,
                "INSERT INTO handover_records (handover_id, kind, entity_id, seq)
                 SELECT $1, kind, id, seq FROM entities WHERE grid_id = $2",
                &[&handover_id, grid],
            )?;
            (HandoverScope::Grid, grid.clone(), None, grid.clone(), to.clone(), vec![from.clone()])
        }
        HandoverRequest::Building { premises, to, to_grid } => {
            let from_grid: Option<String> = db
                .query_opt(tx, "SELECT grid_id FROM entities WHERE kind = 'premises' AND id = $1", &[premises])?
                .map(|r| r.at(0))
                .transpose()?;
            let Some(from_grid) = from_grid else {
                return Err(StorageError::not_found(format!("no building {premises}")));
            };
            lock_grids(db, tx, &[&from_grid, to_grid], true)?;
            // read again under the locks: the building may have moved meanwhile
            let found = db.query_opt(
                tx,
                "SELECT grid_id, vals, base_hlc, clocks FROM entities WHERE kind = 'premises' AND id = $1",
                &[premises],
            )?;
            let Some(r) = found else { return Err(StorageError::not_found(format!("no building {premises}"))) };
            let grid_now: String = r.at(0)?;
            if grid_now != from_grid {
                return Err(StorageError::Unavailable(format!(
                    "building {premises} moved while it was handed over; retry"
                )));
            }
            let state = entity_from_row(
                EntityKind::Premises,
                premises.clone(),
                &r.at::<String>(1)?,
                r.at(2)?,
                &r.at::<String>(3)?,
            )?;
            if state.deleted() {
                return Err(StorageError::conflict(ErrorCode::Deleted, format!("building {premises} was deleted")));
            }
            if !exists(db, tx, "grids", to_grid)? {
                return Err(StorageError::not_found(format!("no grid {to_grid}")));
            }
            field_manager(db, tx, to, "to")?;
            if !holds(db, tx, to, to_grid)? {
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
            let losers: Vec<String> = db
                .query(
                    tx,
                    "SELECT g.manager_id FROM manager_grids g JOIN managers m ON m.id = g.manager_id
                     WHERE g.grid_id = $1 AND m.role = 'field'
                       AND NOT EXISTS (SELECT 1 FROM manager_grids t WHERE t.manager_id = g.manager_id AND t.grid_id = $2)
                     ORDER BY g.manager_id COLLATE \"C\"",
                    &[&from_grid, to_grid],
                )?
                .iter()
                .map(|r| r.at(0))
                .collect::<StorageResult<_>>()?;
            db.execute(
                tx,
                "INSERT INTO handovers (id, scope, from_grid, premises_id, to_grid, from_managers, to_manager, records, by, created_at_ms)
                 VALUES ($1, 'building', $2, $3, $4, $5, $6, 0, $7, $8)",
                &[&handover_id, &from_grid, premises, to_grid, &losers.join(","), to, &by, &now_ms],
            )?;
            let mut states = Vec::new();
            for r in
                db.query(tx, "SELECT kind, id, vals, base_hlc, clocks FROM entities WHERE grid_id = $1", &[&from_grid])?
            {
                let kind: String = r.at(0)?;
                let Some(kind) = EntityKind::parse(&kind) else { continue };
                states.push(entity_from_row(kind, r.at(1)?, &r.at::<String>(2)?, r.at(3)?, &r.at::<String>(4)?)?);
            }
            let mut etx = PgTx::begin(db, tx, by, &[])?;
            for state in &building_members(states, premises) {
                move_record(&mut etx, state.kind, &state.id, state, to_grid, now_ms)?;
                join(db, tx, &handover_id, state.kind, &state.id)?;
            }
            (HandoverScope::Building, from_grid, Some(premises.clone()), to_grid.clone(), to.clone(), losers)
        }
    };
    let records: i64 =
        db.query_one(tx, "SELECT count(*) FROM handover_records WHERE handover_id = $1", &[&handover_id])?.at(0)?;
    db.execute(tx, "UPDATE handovers SET records = $2 WHERE id = $1", &[&handover_id, &records])?;
    for manager in &losers {
        db.execute(
            tx,
            "INSERT INTO handover_devices (device_id, handover_id)
             SELECT id, $2 FROM devices WHERE manager_id = $1 AND revoked_at_ms IS NULL",
            &[manager, &handover_id],
        )?;
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
    super::records::audit(db, tx, by, &format!("handover_{}", scope.as_str()), &subject, &detail, now_ms)?;
    tracing::info!(handover = %handover_id, scope = scope.as_str(), from = %from_grid, to = %to_grid, records, "handover");
    Ok(handover_id)
}

/// Handovers, newest first (or the one `id`), each with its old devices.
/// Handovers (the one `id`, or a page of those from or to a grid of `page.grids`), newest first,
/// with the count of all that match, on one snapshot.
pub(super) fn list(s: &PostgresStorage, id: Option<&str>, page: &ListPage) -> StorageResult<(u64, Vec<HandoverRow>)> {
    const WHERE: &str = "WHERE ($1::text IS NULL OR h.id = $1)
           AND ($2::text[] IS NULL OR h.from_grid = ANY($2::text[]) OR h.to_grid = ANY($2::text[]))";
    let (limit, offset) = page.bounds();
    s.db.read(|tx| {
        let total: i64 =
            s.db.query_one(tx, &format!("SELECT count(*) FROM handovers h {WHERE}"), &[&id, &page.grids])?.at(0)?;
        let rows = s.db.query(
            tx,
            &format!("SELECT h.id, h.scope, h.from_grid, h.premises_id, p.vals::jsonb ->> 'name', h.to_grid, h.from_managers,
                    h.to_manager, m.name, h.by, h.created_at_ms,
                    (SELECT count(*) FROM handover_records r WHERE r.handover_id = h.id)
             FROM handovers h
             LEFT JOIN entities p ON p.kind = 'premises' AND p.id = h.premises_id
             LEFT JOIN managers m ON m.id = h.to_manager
             {WHERE}
             ORDER BY h.created_at_ms DESC, h.id COLLATE \"C\" DESC LIMIT $3 OFFSET $4"),
            &[&id, &page.grids, &limit, &offset],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let from: String = r.at(6)?;
            let handover_id: String = r.at(0)?;
            let devices =
                s.db.query(
                    tx,
                    "SELECT d.device_id, v.manager_id, m.name, d.removed_at_ms, v.last_seen_ms, v.pending_count,
                            v.revoked_at_ms IS NOT NULL
                     FROM handover_devices d JOIN devices v ON v.id = d.device_id JOIN managers m ON m.id = v.manager_id
                     WHERE d.handover_id = $1 ORDER BY m.name COLLATE \"C\", d.device_id COLLATE \"C\"",
                    &[&handover_id],
                )?
                .iter()
                .map(|d| {
                    Ok(HandoverDeviceRow {
                        device_id: d.at(0)?,
                        manager_id: d.at(1)?,
                        manager_name: d.at(2)?,
                        removed_at_ms: d.at(3)?,
                        last_seen_ms: d.at(4)?,
                        pending_count: d.at(5)?,
                        revoked: d.at(6)?,
                    })
                })
                .collect::<StorageResult<Vec<_>>>()?;
            out.push(HandoverRow {
                id: handover_id,
                scope: scope_of(&r.at::<String>(1)?),
                from_grid: r.at(2)?,
                premises_id: r.at(3)?,
                premises_name: r.at(4)?,
                to_grid: r.at(5)?,
                from_managers: from.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
                to_manager: r.at(7)?,
                to_manager_name: r.at(8)?,
                by: r.at(9)?,
                created_at_ms: r.at(10)?,
                records: r.at(11)?,
                state: state_of(&devices).into(),
                devices,
            });
        }
        Ok((u64::try_from(total).unwrap_or(0), out))
    })
}
