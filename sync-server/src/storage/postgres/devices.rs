//! Grids, managers and their grids, the devices of field managers and their enrolment on
//! PostgreSQL: one-time codes (used once even when two replicas take the same code at once: the
//! code's row is locked while it is checked and spent), device tokens (hashed), signing keys,
//! revocation; and the device list of the back office. The rules and texts are the SQLite
//! backend's.

use deadpool_postgres::GenericClient;
use gridbook_core::sync::wire::{EnrolRequest, EnrolResponse, ErrorCode, PROTOCOL_VERSION};
use gridbook_core::CollectorProfile;

use super::pool::RowExt;
use super::PostgresStorage;
use crate::domain::auth::{self, DeviceAuth, Role};
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::DeviceRow;

pub(super) fn authenticate_device(s: &PostgresStorage, token_hash: &str) -> StorageResult<DeviceAuth> {
    let conn = s.db.conn()?;
    // the device's wipe order and its grids come with its token: one round trip on every
    // request, not two (a field manager's grids as `grids_of`, anyone else's all of them, as
    // `all_grids`, in the same order)
    let row = s.db.query_opt(
        &conn,
        "SELECT d.id, d.manager_id, m.role, d.revoked_at_ms, w.mode, w.ordered_at_ms, w.told_at_ms,
                CASE WHEN m.role = 'field'
                     THEN ARRAY(SELECT grid_id FROM manager_grids WHERE manager_id = d.manager_id ORDER BY grid_id COLLATE \"C\")
                     ELSE ARRAY(SELECT id FROM grids ORDER BY id COLLATE \"C\") END,
                m.name, m.staff_no
         FROM devices d JOIN managers m ON m.id = d.manager_id LEFT JOIN device_wipes w ON w.device_id = d.id
         WHERE d.token_hash = $1",
        &[&token_hash],
    )?;
    let Some(row) = row else {
        return Err(StorageError::denied(ErrorCode::Unauthorized, "unknown device token; enrol this device again"));
    };
    let (device_id, manager_id, role, revoked): (String, String, String, Option<i64>) =
        (row.at(0)?, row.at(1)?, row.at(2)?, row.at(3)?);
    if revoked.is_some() {
        return Err(crate::storage::sqlite::revoked_device());
    }
    let wipe = crate::storage::sqlite::device_wipe(row.at(4)?, row.at(5)?, row.at(6)?);
    let role = Role::parse(&role).ok_or_else(|| StorageError::internal(format!("unknown role {role}")))?;
    let grids: Vec<String> = row.at(7)?;
    let collector = CollectorProfile { name: row.at(8)?, staff_no: row.at(9)? };
    Ok(DeviceAuth { device_id, manager_id, role, grids, wipe, collector })
}

pub(super) fn enrol(s: &PostgresStorage, req: &EnrolRequest, now_ms: i64) -> StorageResult<EnrolResponse> {
    crate::storage::sqlite::checked_device_id(&req.device_id)?;
    let public_key = crate::storage::sqlite::checked_public_key(req.public_key.as_deref())?;
    let code_hash = auth::hash_secret(&auth::normalise_code(&req.code));
    let token = auth::new_secret(32);
    let db = &s.db;
    let (manager_id, manager_name, grids) = db.write(|tx| {
        // FOR UPDATE: a second enrolment with the same code waits here, then finds it used
        let code = db.query_opt(
            tx,
            "SELECT c.manager_id, m.name, c.expires_at_ms, c.used_at_ms FROM enrol_codes c JOIN managers m ON m.id = c.manager_id
             WHERE c.code_hash = $1 FOR UPDATE OF c",
            &[&code_hash],
        )?;
        let Some(code) = code else {
            return Err(StorageError::denied(ErrorCode::Unauthorized, "unknown enrolment code"));
        };
        let (manager_id, manager_name, expires, used): (String, String, i64, Option<i64>) =
            (code.at(0)?, code.at(1)?, code.at(2)?, code.at(3)?);
        if used.is_some() {
            return Err(StorageError::conflict(ErrorCode::CodeUsed, "this enrolment code was already used; ask the back office for a new one"));
        }
        if expires < now_ms {
            return Err(StorageError::denied(ErrorCode::Unauthorized, "this enrolment code has expired; ask the back office for a new one"));
        }
        // an enrolled id is never enrolled again (sqlite/devices.rs says why); the key decides
        // between two enrolments of one id at once
        let inserted = db.execute(
            tx,
            "INSERT INTO devices (id, manager_id, token_hash, public_key, app_version, enrolled_at_ms) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO NOTHING",
            &[&req.device_id, &manager_id, &auth::hash_secret(&token), &public_key, &req.app_version, &now_ms],
        )?;
        if inserted == 0 {
            let revoked: Option<i64> = db
                .query_opt(tx, "SELECT revoked_at_ms FROM devices WHERE id = $1", &[&req.device_id])?
                .map(|r| r.at::<Option<i64>>(0)).transpose()?.flatten();
            if revoked.is_some() {
                return Err(StorageError::denied(ErrorCode::Forbidden, "this device was revoked and cannot enrol again"));
            }
            return Err(StorageError::conflict(
                ErrorCode::DeviceTaken,
                "此设备编号已登记，不能再次登记 this device id is already enrolled and cannot be enrolled again",
            ));
        }
        if let Some(key) = &public_key {
            db.execute(
                tx,
                "INSERT INTO device_keys (device_id, public_key, registered_at_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&req.device_id, key, &now_ms],
            )?;
        }
        db.execute(
            tx,
            "UPDATE enrol_codes SET used_at_ms = $2, used_by_device = $3 WHERE code_hash = $1",
            &[&code_hash, &now_ms, &req.device_id],
        )?;
        let grids = grids_of(s, tx, &manager_id)?;
        Ok((manager_id, manager_name, grids))
    })?;
    tracing::info!(device = %req.device_id, manager = %manager_id, "device enrolled");
    Ok(EnrolResponse {
        protocol: PROTOCOL_VERSION,
        device_id: req.device_id.clone(),
        token,
        manager_id,
        manager_name,
        grids,
    })
}

pub(super) fn create_grid(s: &PostgresStorage, id: &str, name: &str, now_ms: i64) -> StorageResult<()> {
    crate::storage::sqlite::valid_id("grid id", id)?;
    if name.trim().is_empty() {
        return Err(StorageError::invalid("grid name: must not be empty"));
    }
    s.db.write(|tx| {
        let n = s.db.execute(
            tx,
            "INSERT INTO grids (id, name, created_at_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&id, &name.trim(), &now_ms],
        )?;
        if n == 0 {
            return Err(StorageError::conflict(ErrorCode::Exists, format!("grid {id} already exists")));
        }
        Ok(())
    })
}

pub(super) fn create_manager(
    s: &PostgresStorage,
    id: &str,
    name: &str,
    role: Role,
    password_hash: Option<&str>,
    now_ms: i64,
) -> StorageResult<()> {
    crate::storage::sqlite::valid_id("manager id", id)?;
    if name.trim().is_empty() {
        return Err(StorageError::invalid("manager name: must not be empty"));
    }
    s.db.write(|tx| {
        let n = s.db.execute(
            tx,
            "INSERT INTO managers (id, name, role, password_hash, created_at_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &[&id, &name.trim(), &role.as_str(), &password_hash, &now_ms],
        )?;
        if n == 0 {
            return Err(StorageError::conflict(ErrorCode::Exists, format!("manager {id} already exists")));
        }
        Ok(())
    })
}

pub(super) fn assign_grid(s: &PostgresStorage, manager_id: &str, grid_id: &str) -> StorageResult<()> {
    s.db.write(|tx| {
        for (table, id) in [("managers", manager_id), ("grids", grid_id)] {
            if s.db.query_opt(tx, &format!("SELECT 1 FROM {table} WHERE id = $1"), &[&id])?.is_none() {
                return Err(StorageError::not_found(format!("no {} {id}", &table[..table.len() - 1])));
            }
        }
        s.db.execute(
            tx,
            "INSERT INTO manager_grids (manager_id, grid_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&manager_id, &grid_id],
        )?;
        Ok(())
    })
}

/// Renames grid `id`, audited under `by` with the old and new names, in one transaction.
pub(super) fn rename_grid(s: &PostgresStorage, id: &str, name: &str, by: &str, now_ms: i64) -> StorageResult<()> {
    let name = crate::storage::sqlite::checked_grid_name(name)?;
    s.db.write(|tx| {
        let old: String = match s.db.query_opt(tx, "SELECT name FROM grids WHERE id = $1 FOR UPDATE", &[&id])? {
            Some(row) => row.at(0)?,
            None => return Err(StorageError::not_found(format!("no grid {id}"))),
        };
        s.db.execute(tx, "UPDATE grids SET name = $2 WHERE id = $1", &[&id, &name])?;
        super::records::audit(&s.db, tx, by, "grid_renamed", id, &format!("{old} → {name}"), now_ms)
    })
}

/// Sets manager `id`'s staff number, audited under `by` when it changed; whether it did.
pub(super) fn set_staff_no(
    s: &PostgresStorage,
    id: &str,
    staff_no: &str,
    by: &str,
    now_ms: i64,
) -> StorageResult<bool> {
    s.db.write(|tx| {
        let old: String = match s.db.query_opt(tx, "SELECT staff_no FROM managers WHERE id = $1 FOR UPDATE", &[&id])? {
            Some(row) => row.at(0)?,
            None => return Err(StorageError::not_found(format!("no manager {id}"))),
        };
        if old == staff_no {
            return Ok(false);
        }
        s.db.execute(tx, "UPDATE managers SET staff_no = $2 WHERE id = $1", &[&id, &staff_no])?;
        super::records::audit(&s.db, tx, by, "staff_no_set", id, &format!("{old} → {staff_no}"), now_ms)?;
        Ok(true)
    })
}

/// Assigns grid `grid_id` to `manager_id` (`assigned`) or takes it away, audited under `by`
/// when anything changed; answers whether it did.
pub(super) fn set_grid_assignment(
    s: &PostgresStorage,
    manager_id: &str,
    grid_id: &str,
    assigned: bool,
    by: &str,
    now_ms: i64,
) -> StorageResult<bool> {
    s.db.write(|tx| {
        for (table, id) in [("managers", manager_id), ("grids", grid_id)] {
            if s.db.query_opt(tx, &format!("SELECT 1 FROM {table} WHERE id = $1"), &[&id])?.is_none() {
                return Err(StorageError::not_found(format!("no {} {id}", &table[..table.len() - 1])));
            }
        }
        let n = if assigned {
            s.db.execute(
                tx,
                "INSERT INTO manager_grids (manager_id, grid_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&manager_id, &grid_id],
            )?
        } else {
            s.db.execute(
                tx,
                "DELETE FROM manager_grids WHERE manager_id = $1 AND grid_id = $2",
                &[&manager_id, &grid_id],
            )?
        };
        if n > 0 {
            let action = if assigned { "grid_assigned" } else { "grid_unassigned" };
            super::records::audit(&s.db, tx, by, action, manager_id, grid_id, now_ms)?;
        }
        Ok(n > 0)
    })
}

pub(super) fn create_enrol_code(
    s: &PostgresStorage,
    manager_id: &str,
    now_ms: i64,
    ttl_ms: i64,
) -> StorageResult<String> {
    let code = auth::new_enrol_code();
    s.db.write(|tx| {
        if s.db.query_opt(tx, "SELECT 1 FROM managers WHERE id = $1", &[&manager_id])?.is_none() {
            return Err(StorageError::not_found(format!("no manager {manager_id}")));
        }
        s.db.execute(
            tx,
            "INSERT INTO enrol_codes (code_hash, manager_id, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4)",
            &[&auth::hash_secret(&code), &manager_id, &now_ms, &now_ms.saturating_add(ttl_ms)],
        )?;
        Ok(())
    })?;
    Ok(code)
}

pub(super) fn revoke_device(s: &PostgresStorage, device_id: &str, now_ms: i64) -> StorageResult<()> {
    s.db.write(|tx| {
        let n = s.db.execute(
            tx,
            "UPDATE devices SET revoked_at_ms = $2 WHERE id = $1 AND revoked_at_ms IS NULL",
            &[&device_id, &now_ms],
        )?;
        if n == 0 && s.db.query_opt(tx, "SELECT 1 FROM devices WHERE id = $1", &[&device_id])?.is_none() {
            return Err(StorageError::not_found(format!("no device {device_id}")));
        }
        Ok(())
    })
}

pub(super) fn devices(s: &PostgresStorage) -> StorageResult<Vec<DeviceRow>> {
    s.db.read(|tx| {
        let rows = s.db.query(
            tx,
            "SELECT d.id, d.manager_id, m.name, d.app_version, d.enrolled_at_ms, d.revoked_at_ms, d.last_seen_ms,
                    d.last_push_ms, d.last_pull_ms, d.pending_count, d.oldest_pending_age_s, d.rejected_count,
                    d.db_size_bytes, d.clock_offset_ms, d.unsynced_receipts_fen, d.unsynced_receipts_count, d.last_error,
                    d.device_model, d.os_version, d.free_storage_bytes, d.last_sync_duration_ms, d.last_sync_bytes,
                    d.battery_saver, d.traffic_day, d.bytes_sent_day, d.bytes_received_day, d.photos_waiting,
                    d.photo_bytes_waiting
             FROM devices d JOIN managers m ON m.id = d.manager_id ORDER BY m.name COLLATE \"C\", d.id COLLATE \"C\"",
            &[],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let manager_id: String = r.at(1)?;
            out.push(DeviceRow {
                device_id: r.at(0)?,
                grids: grids_of(s, tx, &manager_id)?,
                manager_id,
                manager_name: r.at(2)?,
                app_version: r.at(3)?,
                enrolled_at_ms: r.at(4)?,
                revoked_at_ms: r.at(5)?,
                last_seen_ms: r.at(6)?,
                last_push_ms: r.at(7)?,
                last_pull_ms: r.at(8)?,
                pending_count: r.at(9)?,
                oldest_pending_age_s: r.at(10)?,
                rejected_count: r.at(11)?,
                db_size_bytes: r.at(12)?,
                clock_offset_ms: r.at(13)?,
                unsynced_receipts_fen: r.at(14)?,
                unsynced_receipts_count: r.at(15)?,
                last_error: r.at(16)?,
                device_model: r.at(17)?,
                os_version: r.at(18)?,
                free_storage_bytes: r.at(19)?,
                last_sync_duration_ms: r.at(20)?,
                last_sync_bytes: r.at(21)?,
                battery_saver: r.at(22)?,
                traffic_day: r.at(23)?,
                bytes_sent_day: r.at(24)?,
                bytes_received_day: r.at(25)?,
                photos_waiting: r.at(26)?,
                photo_bytes_waiting: r.at(27)?,
            });
        }
        Ok(out)
    })
}

pub(super) fn grid_sets(s: &PostgresStorage) -> StorageResult<Vec<Vec<String>>> {
    s.db.read(|tx| {
        let managers = s.db.query(
            tx,
            "SELECT m.id FROM managers m WHERE m.role = 'field' AND EXISTS (SELECT 1 FROM manager_grids g WHERE g.manager_id = m.id)
             ORDER BY m.id COLLATE \"C\"",
            &[],
        )?;
        let mut sets = Vec::new();
        for m in managers {
            let mut grids = grids_of(s, tx, &m.at::<String>(0)?)?;
            grids.sort();
            if !sets.contains(&grids) {
                sets.push(grids);
            }
        }
        Ok(sets)
    })
}

/// A manager's grids, by id (byte order, as SQLite sorts).
pub(super) fn grids_of<C: GenericClient + Sync>(
    s: &PostgresStorage,
    c: &C,
    manager_id: &str,
) -> StorageResult<Vec<String>> {
    let rows = s.db.query(
        c,
        "SELECT grid_id FROM manager_grids WHERE manager_id = $1 ORDER BY grid_id COLLATE \"C\"",
        &[&manager_id],
    )?;
    rows.iter().map(|r| r.at(0)).collect()
}

pub(super) fn all_grids<C: GenericClient + Sync>(s: &PostgresStorage, c: &C) -> StorageResult<Vec<String>> {
    let rows = s.db.query(c, "SELECT id FROM grids ORDER BY id COLLATE \"C\"", &[])?;
    rows.iter().map(|r| r.at(0)).collect()
}
