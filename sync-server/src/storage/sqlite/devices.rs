//! Grids, managers and their grids, the devices of field managers and their enrolment: one-time
//! codes, device tokens (hashed) with the device's standing wipe order, signing keys, revocation;
//! and the device list of the back office.

use gridbook_core::sync::hlc::{is_valid_node_id, MAX_NODE_ID_LEN};
use gridbook_core::sync::wire::{EnrolRequest, EnrolResponse, ErrorCode, WipeMode, WipeOrder, PROTOCOL_VERSION};
use gridbook_core::CollectorProfile;
use rusqlite::{params, Connection, OptionalExtension};

use super::{receipts, SqliteStorage};
use crate::domain::auth::{self, DeviceAuth, DeviceWipe, Role};
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::DeviceRow;

pub(super) fn authenticate_device(storage: &SqliteStorage, token_hash: &str) -> StorageResult<DeviceAuth> {
    storage.read(|c| {
        // the device's wipe order comes with its token: no second read on every request
        let row = c
            .prepare_cached(
                "SELECT d.id, d.manager_id, m.role, d.revoked_at_ms, w.mode, w.ordered_at_ms, w.told_at_ms, m.name, m.staff_no
                 FROM devices d JOIN managers m ON m.id = d.manager_id LEFT JOIN device_wipes w ON w.device_id = d.id
                 WHERE d.token_hash = ?1",
            )?
            .query_row([token_hash], |r| {
                let device = (r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?);
                let wipe = (r.get::<_, Option<String>>(4)?, r.get::<_, Option<i64>>(5)?, r.get::<_, Option<i64>>(6)?);
                let collector = CollectorProfile { name: r.get(7)?, staff_no: r.get(8)? };
                Ok((device, r.get::<_, Option<i64>>(3)?, wipe, collector))
            })
            .optional()?;
        let Some(((device_id, manager_id, role), revoked, (mode, ordered_at_ms, told_at_ms), collector)) = row else {
            return Err(StorageError::denied(ErrorCode::Unauthorized, "unknown device token; enrol this device again"));
        };
        if revoked.is_some() {
            return Err(revoked_device());
        }
        let role = Role::parse(&role).ok_or_else(|| StorageError::internal(format!("unknown role {role}")))?;
        let grids = if role == Role::Field { grids_of(c, &manager_id)? } else { all_grids(c)? };
        let wipe = device_wipe(mode, ordered_at_ms, told_at_ms);
        Ok(DeviceAuth { device_id, manager_id, role, grids, wipe, collector })
    })
}

/// The refusal of a revoked device's token (or of one that reported its wipe).
pub(crate) fn revoked_device() -> StorageError {
    StorageError::denied(
        ErrorCode::Revoked,
        "此设备已吊销或已清除 / this device was revoked by the back office, or wiped",
    )
}

/// A device's standing wipe order from its `device_wipes` columns (none: no order).
pub(crate) fn device_wipe(
    mode: Option<String>,
    ordered_at_ms: Option<i64>,
    told_at_ms: Option<i64>,
) -> Option<DeviceWipe> {
    let order = WipeOrder { mode: WipeMode::parse(mode.as_deref()?)?, ordered_at_ms: ordered_at_ms? };
    Some(DeviceWipe { order, told: told_at_ms.is_some() })
}

pub(super) fn enrol(storage: &SqliteStorage, req: &EnrolRequest, now_ms: i64) -> StorageResult<EnrolResponse> {
    checked_device_id(&req.device_id)?;
    let public_key = receipts::checked_public_key(req.public_key.as_deref())?;
    let code_hash = auth::hash_secret(&auth::normalise_code(&req.code));
    let token = auth::new_secret(32);
    let (manager_id, manager_name) = storage.write(|tx| {
        let code = tx
            .query_row(
                "SELECT c.manager_id, m.name, c.expires_at_ms, c.used_at_ms FROM enrol_codes c JOIN managers m ON m.id = c.manager_id
                 WHERE c.code_hash = ?1",
                [&code_hash],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<i64>>(3)?)),
            )
            .optional()?;
        let Some((manager_id, manager_name, expires, used)) = code else {
            return Err(StorageError::denied(ErrorCode::Unauthorized, "unknown enrolment code"));
        };
        if used.is_some() {
            return Err(StorageError::conflict(ErrorCode::CodeUsed, "this enrolment code was already used; ask the back office for a new one"));
        }
        if expires < now_ms {
            return Err(StorageError::denied(ErrorCode::Unauthorized, "this enrolment code has expired; ask the back office for a new one"));
        }
        let existing = tx
            .query_row("SELECT manager_id, revoked_at_ms FROM devices WHERE id = ?1", [&req.device_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
            })
            .optional()?;
        // Device ids are not secret (every pulled record carries its writer's id in its stamps), so
        // an enrolled id is never enrolled again, not even by its own manager: a fresh code with
        // another phone's id would otherwise take its token and signing key over. A phone that
        // lost its store makes a new id.
        match existing {
            Some((_, Some(_))) => return Err(StorageError::denied(ErrorCode::Forbidden, "this device was revoked and cannot enrol again")),
            Some(_) => {
                return Err(StorageError::conflict(
                    ErrorCode::DeviceTaken,
                    "此设备编号已登记，不能再次登记 this device id is already enrolled and cannot be enrolled again",
                ))
            }
            None => {
                tx.execute(
                    "INSERT INTO devices (id, manager_id, token_hash, public_key, app_version, enrolled_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![req.device_id, manager_id, auth::hash_secret(&token), public_key, req.app_version, now_ms],
                )?;
            }
        }
        if let Some(key) = &public_key {
            tx.execute(
                "INSERT OR IGNORE INTO device_keys (device_id, public_key, registered_at_ms) VALUES (?1, ?2, ?3)",
                params![req.device_id, key, now_ms],
            )?;
        }
        tx.execute(
            "UPDATE enrol_codes SET used_at_ms = ?2, used_by_device = ?3 WHERE code_hash = ?1",
            params![code_hash, now_ms, req.device_id],
        )?;
        Ok((manager_id, manager_name))
    })?;
    let grids = storage.read(|c| grids_of(c, &manager_id))?;
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

pub(super) fn create_grid(storage: &SqliteStorage, id: &str, name: &str, now_ms: i64) -> StorageResult<()> {
    valid_id("grid id", id)?;
    if name.trim().is_empty() {
        return Err(StorageError::invalid("grid name: must not be empty"));
    }
    storage.write(|tx| {
        let n = tx.execute(
            "INSERT OR IGNORE INTO grids (id, name, created_at_ms) VALUES (?1, ?2, ?3)",
            params![id, name.trim(), now_ms],
        )?;
        if n == 0 {
            return Err(StorageError::conflict(ErrorCode::Exists, format!("grid {id} already exists")));
        }
        Ok(())
    })
}

pub(super) fn create_manager(
    storage: &SqliteStorage,
    id: &str,
    name: &str,
    role: Role,
    password_hash: Option<&str>,
    now_ms: i64,
) -> StorageResult<()> {
    valid_id("manager id", id)?;
    if name.trim().is_empty() {
        return Err(StorageError::invalid("manager name: must not be empty"));
    }
    storage.write(|tx| {
        let n = tx.execute(
            "INSERT OR IGNORE INTO managers (id, name, role, password_hash, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, name.trim(), role.as_str(), password_hash, now_ms],
        )?;
        if n == 0 {
            return Err(StorageError::conflict(ErrorCode::Exists, format!("manager {id} already exists")));
        }
        Ok(())
    })
}

pub(super) fn assign_grid(storage: &SqliteStorage, manager_id: &str, grid_id: &str) -> StorageResult<()> {
    storage.write(|tx| {
        for (table, id) in [("managers", manager_id), ("grids", grid_id)] {
            if !tx.prepare(&format!("SELECT 1 FROM {table} WHERE id = ?1"))?.exists([id])? {
                return Err(StorageError::not_found(format!("no {} {id}", &table[..table.len() - 1])));
            }
        }
        tx.execute("INSERT OR IGNORE INTO manager_grids (manager_id, grid_id) VALUES (?1, ?2)", [manager_id, grid_id])?;
        Ok(())
    })
}

/// Renames grid `id`, audited under `by` with the old and new names, in one transaction.
pub(super) fn rename_grid(storage: &SqliteStorage, id: &str, name: &str, by: &str, now_ms: i64) -> StorageResult<()> {
    let name = checked_grid_name(name)?;
    storage.write(|tx| {
        let old: Option<String> =
            tx.prepare_cached("SELECT name FROM grids WHERE id = ?1")?.query_row([id], |r| r.get(0)).optional()?;
        let old = old.ok_or_else(|| StorageError::not_found(format!("no grid {id}")))?;
        tx.execute("UPDATE grids SET name = ?2 WHERE id = ?1", params![id, name])?;
        receipts::audit(tx, by, "grid_renamed", id, &format!("{old} → {name}"), now_ms)
    })
}

/// Sets manager `id`'s staff number, audited under `by` when it changed; whether it did.
pub(super) fn set_staff_no(
    storage: &SqliteStorage,
    id: &str,
    staff_no: &str,
    by: &str,
    now_ms: i64,
) -> StorageResult<bool> {
    storage.write(|tx| {
        let old: Option<String> = tx
            .prepare_cached("SELECT staff_no FROM managers WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        let old = old.ok_or_else(|| StorageError::not_found(format!("no manager {id}")))?;
        if old == staff_no {
            return Ok(false);
        }
        tx.execute("UPDATE managers SET staff_no = ?2 WHERE id = ?1", params![id, staff_no])?;
        receipts::audit(tx, by, "staff_no_set", id, &format!("{old} → {staff_no}"), now_ms)?;
        Ok(true)
    })
}

/// Assigns grid `grid_id` to `manager_id` (`assigned`) or takes it away, audited under `by`
/// when anything changed; answers whether it did.
pub(super) fn set_grid_assignment(
    storage: &SqliteStorage,
    manager_id: &str,
    grid_id: &str,
    assigned: bool,
    by: &str,
    now_ms: i64,
) -> StorageResult<bool> {
    storage.write(|tx| {
        for (table, id) in [("managers", manager_id), ("grids", grid_id)] {
            if !tx.prepare_cached(&format!("SELECT 1 FROM {table} WHERE id = ?1"))?.exists([id])? {
                return Err(StorageError::not_found(format!("no {} {id}", &table[..table.len() - 1])));
            }
        }
        let n = if assigned {
            tx.execute(
                "INSERT OR IGNORE INTO manager_grids (manager_id, grid_id) VALUES (?1, ?2)",
                [manager_id, grid_id],
            )?
        } else {
            tx.execute("DELETE FROM manager_grids WHERE manager_id = ?1 AND grid_id = ?2", [manager_id, grid_id])?
        };
        if n > 0 {
            let action = if assigned { "grid_assigned" } else { "grid_unassigned" };
            receipts::audit(tx, by, action, manager_id, grid_id, now_ms)?;
        }
        Ok(n > 0)
    })
}

/// A grid's name as stored: trimmed, not empty, at most 64 characters.
pub(crate) fn checked_grid_name(name: &str) -> StorageResult<&str> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(StorageError::invalid("grid name: 1 to 64 characters"));
    }
    Ok(name)
}

pub(super) fn create_enrol_code(
    storage: &SqliteStorage,
    manager_id: &str,
    now_ms: i64,
    ttl_ms: i64,
) -> StorageResult<String> {
    let code = auth::new_enrol_code();
    storage.write(|tx| {
        if !tx.prepare_cached("SELECT 1 FROM managers WHERE id = ?1")?.exists([manager_id])? {
            return Err(StorageError::not_found(format!("no manager {manager_id}")));
        }
        tx.execute(
            "INSERT INTO enrol_codes (code_hash, manager_id, created_at_ms, expires_at_ms) VALUES (?1, ?2, ?3, ?4)",
            params![auth::hash_secret(&code), manager_id, now_ms, now_ms + ttl_ms],
        )?;
        Ok(())
    })?;
    Ok(code)
}

pub(super) fn revoke_device(storage: &SqliteStorage, device_id: &str, now_ms: i64) -> StorageResult<()> {
    storage.write(|tx| {
        let n = tx.execute(
            "UPDATE devices SET revoked_at_ms = ?2 WHERE id = ?1 AND revoked_at_ms IS NULL",
            params![device_id, now_ms],
        )?;
        if n == 0 && !tx.prepare("SELECT 1 FROM devices WHERE id = ?1")?.exists([device_id])? {
            return Err(StorageError::not_found(format!("no device {device_id}")));
        }
        Ok(())
    })
}

pub(super) fn devices(storage: &SqliteStorage) -> StorageResult<Vec<DeviceRow>> {
    storage.read(|c| {
        let mut stmt = c.prepare_cached(
            "SELECT d.id, d.manager_id, m.name, d.app_version, d.enrolled_at_ms, d.revoked_at_ms, d.last_seen_ms,
                    d.last_push_ms, d.last_pull_ms, d.pending_count, d.oldest_pending_age_s, d.rejected_count,
                    d.db_size_bytes, d.clock_offset_ms, d.unsynced_receipts_fen, d.unsynced_receipts_count, d.last_error,
                    d.device_model, d.os_version, d.free_storage_bytes, d.last_sync_duration_ms, d.last_sync_bytes,
                    d.battery_saver, d.traffic_day, d.bytes_sent_day, d.bytes_received_day, d.photos_waiting,
                    d.photo_bytes_waiting
             FROM devices d JOIN managers m ON m.id = d.manager_id ORDER BY m.name, d.id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(DeviceRow {
                device_id: r.get(0)?,
                manager_id: r.get(1)?,
                manager_name: r.get(2)?,
                grids: vec![],
                app_version: r.get(3)?,
                enrolled_at_ms: r.get(4)?,
                revoked_at_ms: r.get(5)?,
                last_seen_ms: r.get(6)?,
                last_push_ms: r.get(7)?,
                last_pull_ms: r.get(8)?,
                pending_count: r.get(9)?,
                oldest_pending_age_s: r.get(10)?,
                rejected_count: r.get(11)?,
                db_size_bytes: r.get(12)?,
                clock_offset_ms: r.get(13)?,
                unsynced_receipts_fen: r.get(14)?,
                unsynced_receipts_count: r.get(15)?,
                last_error: r.get(16)?,
                device_model: r.get(17)?,
                os_version: r.get(18)?,
                free_storage_bytes: r.get(19)?,
                last_sync_duration_ms: r.get(20)?,
                last_sync_bytes: r.get(21)?,
                battery_saver: r.get(22)?,
                traffic_day: r.get(23)?,
                bytes_sent_day: r.get(24)?,
                bytes_received_day: r.get(25)?,
                photos_waiting: r.get(26)?,
                photo_bytes_waiting: r.get(27)?,
            })
        })?;
        let mut out: Vec<DeviceRow> = rows.collect::<Result<_, _>>()?;
        for d in &mut out {
            d.grids = grids_of(c, &d.manager_id)?;
        }
        Ok(out)
    })
}

pub(super) fn grid_sets(storage: &SqliteStorage) -> StorageResult<Vec<Vec<String>>> {
    storage.read(|c| {
        let mut stmt = c.prepare(
            "SELECT m.id FROM managers m WHERE m.role = 'field' AND EXISTS (SELECT 1 FROM manager_grids g WHERE g.manager_id = m.id) ORDER BY m.id",
        )?;
        let managers = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        let mut sets = Vec::new();
        for manager in managers {
            let mut grids = grids_of(c, &manager)?;
            grids.sort();
            if !sets.contains(&grids) {
                sets.push(grids);
            }
        }
        Ok(sets)
    })
}

pub(super) fn grids_of(conn: &Connection, manager_id: &str) -> StorageResult<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT grid_id FROM manager_grids WHERE manager_id = ?1 ORDER BY grid_id")?;
    let rows = stmt.query_map([manager_id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn all_grids(conn: &Connection) -> StorageResult<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT id FROM grids ORDER BY id")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A device id a device may enrol under: the stamps' own rule, so that every later stamp of the
/// device parses, and none of the back office's nodes (domain/authoring.rs), so that no device's
/// stamp can ever equal a back-office stamp.
pub(crate) fn checked_device_id(id: &str) -> StorageResult<()> {
    if !is_valid_node_id(id) {
        return Err(StorageError::invalid(format!(
            "device_id: 设备编号须为 1 至 {MAX_NODE_ID_LEN} 个字母、数字或 '_'（不含 '-'） 1 to {MAX_NODE_ID_LEN} ASCII letters, digits or '_' (no '-')"
        )));
    }
    if crate::domain::authoring::is_backoffice_node(id) {
        return Err(StorageError::invalid(
            "device_id: 设备编号不能是 backoffice 或以 backoffice_ 开头（后台专用） a device id may not be 'backoffice' or start with 'backoffice_' (the back office's own)",
        ));
    }
    Ok(())
}

pub(crate) fn valid_id(field: &'static str, id: &str) -> StorageResult<()> {
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(StorageError::invalid(format!("{field}: 1 to 64 letters, digits, '-' or '_'")));
    }
    Ok(())
}
