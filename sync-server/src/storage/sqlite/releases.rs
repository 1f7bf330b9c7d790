//! `ReleaseStorage` on SQLite: the builds of the app the back office published (`app_releases`),
//! their files in `<database>.releases/`, and the minimum app version (`server_settings`).

use std::path::PathBuf;

use gridbook_core::sync::wire::ErrorCode;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::receipts::audit;
use super::SqliteStorage;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::releases::{ids_of, json_list, ReleaseRow, ReleaseStorage, Rollout, MIN_APP_VERSION};

const COLUMNS: &str =
    "sha256, version, bytes, notes, rollout_percent, grids, managers, published_at_ms, published_by, \
                       withdrawn_at_ms";

fn row(r: &Row) -> rusqlite::Result<ReleaseRow> {
    let list = |i: usize| -> rusqlite::Result<Vec<String>> {
        let text: String = r.get(i)?;
        Ok(ids_of(&text))
    };
    Ok(ReleaseRow {
        sha256: r.get(0)?,
        version: r.get(1)?,
        bytes: r.get::<_, i64>(2)?.max(0) as u64,
        notes: r.get(3)?,
        rollout_percent: r.get::<_, i64>(4)?.clamp(0, 100) as u8,
        grids: list(5)?,
        managers: list(6)?,
        published_at_ms: r.get(7)?,
        published_by: r.get(8)?,
        withdrawn_at_ms: r.get(9)?,
    })
}

fn one(c: &Connection, sha256: &str) -> StorageResult<ReleaseRow> {
    c.query_row(&format!("SELECT {COLUMNS} FROM app_releases WHERE sha256 = ?1"), [sha256], row)
        .optional()?
        .ok_or_else(|| StorageError::not_found(format!("没有这个版本 / no published build {sha256}")))
}

impl ReleaseStorage for SqliteStorage {
    fn releases_dir(&self) -> Option<PathBuf> {
        Some(PathBuf::from(format!("{}.releases", self.path.display())))
    }

    fn publish_release(
        &self,
        sha256: &str,
        version: &str,
        bytes: u64,
        notes: &str,
        rollout: &Rollout,
        by: &str,
        now_ms: i64,
    ) -> StorageResult<ReleaseRow> {
        self.write(|tx| {
            let added = tx.execute(
                "INSERT INTO app_releases (sha256, version, bytes, notes, rollout_percent, grids, managers,
                   published_at_ms, published_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (sha256) DO NOTHING",
                params![
                    sha256,
                    version,
                    i64::try_from(bytes).unwrap_or(i64::MAX),
                    notes,
                    rollout.percent,
                    json_list(&rollout.grids)?,
                    json_list(&rollout.managers)?,
                    now_ms,
                    by
                ],
            )?;
            if added == 0 {
                return Err(StorageError::conflict(
                    ErrorCode::Exists,
                    format!("这个安装包已发布 / this build was published already ({sha256})"),
                ));
            }
            audit(tx, by, "app_release_published", sha256, &format!("{version} {}", rollout.describe()), now_ms)?;
            one(tx, sha256)
        })
    }

    fn releases(&self) -> StorageResult<Vec<ReleaseRow>> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached(&format!("SELECT {COLUMNS} FROM app_releases ORDER BY published_at_ms DESC, sha256"))?;
            let rows = stmt.query_map([], row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn set_rollout(&self, sha256: &str, rollout: &Rollout, by: &str, now_ms: i64) -> StorageResult<ReleaseRow> {
        self.write(|tx| {
            let current = one(tx, sha256)?;
            if current.withdrawn_at_ms.is_some() {
                return Err(StorageError::conflict(
                    ErrorCode::Deleted,
                    format!("这个版本已撤回 / this build was withdrawn ({sha256})"),
                ));
            }
            tx.execute(
                "UPDATE app_releases SET rollout_percent = ?2, grids = ?3, managers = ?4 WHERE sha256 = ?1",
                params![sha256, rollout.percent, json_list(&rollout.grids)?, json_list(&rollout.managers)?],
            )?;
            audit(tx, by, "app_release_rollout", sha256, &rollout.describe(), now_ms)?;
            one(tx, sha256)
        })
    }

    fn withdraw_release(&self, sha256: &str, by: &str, now_ms: i64) -> StorageResult<ReleaseRow> {
        self.write(|tx| {
            one(tx, sha256)?;
            tx.execute(
                "UPDATE app_releases SET withdrawn_at_ms = ?2 WHERE sha256 = ?1 AND withdrawn_at_ms IS NULL",
                params![sha256, now_ms],
            )?;
            audit(tx, by, "app_release_withdrawn", sha256, "", now_ms)?;
            one(tx, sha256)
        })
    }

    fn min_app_version(&self) -> StorageResult<Option<String>> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT value FROM server_settings WHERE key = ?1")?
                .query_row([MIN_APP_VERSION], |r| r.get(0))
                .optional()?)
        })
    }

    fn set_min_app_version(&self, version: Option<&str>, by: &str, now_ms: i64) -> StorageResult<()> {
        self.write(|tx| {
            match version {
                Some(v) => tx.execute(
                    "INSERT INTO server_settings (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    params![MIN_APP_VERSION, v],
                )?,
                None => tx.execute("DELETE FROM server_settings WHERE key = ?1", [MIN_APP_VERSION])?,
            };
            audit(tx, by, "min_app_version_set", MIN_APP_VERSION, version.unwrap_or("none"), now_ms)
        })
    }
}
