//! `ReleaseStorage` on PostgreSQL: the builds of the app (`app_releases`), the minimum app version
//! (`server_settings`). The files live beside the snapshot files' directory, which every replica
//! shares (`<snapshot dir>.releases/`, docs/postgres.md); without one the server keeps no builds.

use std::path::PathBuf;

use gridbook_core::sync::wire::ErrorCode;
use tokio_postgres::Row;

use super::pool::{Db, RowExt};
use super::records::audit;
use super::PostgresStorage;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::releases::{ids_of, json_list, ReleaseRow, ReleaseStorage, Rollout, MIN_APP_VERSION};

const COLUMNS: &str =
    "sha256, version, bytes, notes, rollout_percent, grids, managers, published_at_ms, published_by, \
                       withdrawn_at_ms";

fn row(r: &Row) -> StorageResult<ReleaseRow> {
    let list = |i: usize| -> StorageResult<Vec<String>> {
        let text: String = r.at(i)?;
        Ok(ids_of(&text))
    };
    Ok(ReleaseRow {
        sha256: r.at(0)?,
        version: r.at(1)?,
        bytes: r.at::<i64>(2)?.max(0) as u64,
        notes: r.at(3)?,
        rollout_percent: r.at::<i32>(4)?.clamp(0, 100) as u8,
        grids: list(5)?,
        managers: list(6)?,
        published_at_ms: r.at(7)?,
        published_by: r.at(8)?,
        withdrawn_at_ms: r.at(9)?,
    })
}

fn one<C: deadpool_postgres::GenericClient + Sync>(db: &Db, c: &C, sha256: &str) -> StorageResult<ReleaseRow> {
    match db.query_opt(c, &format!("SELECT {COLUMNS} FROM app_releases WHERE sha256 = $1"), &[&sha256])? {
        Some(r) => row(&r),
        None => Err(StorageError::not_found(format!("没有这个版本 / no published build {sha256}"))),
    }
}

impl ReleaseStorage for PostgresStorage {
    fn releases_dir(&self) -> Option<PathBuf> {
        self.snapshot_dir.as_ref().map(|d| PathBuf::from(format!("{}.releases", d.display())))
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
        let db = &self.db;
        db.write(|tx| {
            let added = db.execute(
                tx,
                "INSERT INTO app_releases (sha256, version, bytes, notes, rollout_percent, grids, managers,
                   published_at_ms, published_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (sha256) DO NOTHING",
                &[
                    &sha256,
                    &version,
                    &i64::try_from(bytes).unwrap_or(i64::MAX),
                    &notes,
                    &i32::from(rollout.percent),
                    &json_list(&rollout.grids)?,
                    &json_list(&rollout.managers)?,
                    &now_ms,
                    &by,
                ],
            )?;
            if added == 0 {
                return Err(StorageError::conflict(
                    ErrorCode::Exists,
                    format!("这个安装包已发布 / this build was published already ({sha256})"),
                ));
            }
            audit(db, tx, by, "app_release_published", sha256, &format!("{version} {}", rollout.describe()), now_ms)?;
            one(db, tx, sha256)
        })
    }

    fn releases(&self) -> StorageResult<Vec<ReleaseRow>> {
        let db = &self.db;
        db.read(|tx| {
            db.query(tx, &format!("SELECT {COLUMNS} FROM app_releases ORDER BY published_at_ms DESC, sha256"), &[])?
                .iter()
                .map(row)
                .collect()
        })
    }

    fn set_rollout(&self, sha256: &str, rollout: &Rollout, by: &str, now_ms: i64) -> StorageResult<ReleaseRow> {
        let db = &self.db;
        db.write(|tx| {
            if one(db, tx, sha256)?.withdrawn_at_ms.is_some() {
                return Err(StorageError::conflict(
                    ErrorCode::Deleted,
                    format!("这个版本已撤回 / this build was withdrawn ({sha256})"),
                ));
            }
            db.execute(
                tx,
                "UPDATE app_releases SET rollout_percent = $2, grids = $3, managers = $4 WHERE sha256 = $1",
                &[&sha256, &i32::from(rollout.percent), &json_list(&rollout.grids)?, &json_list(&rollout.managers)?],
            )?;
            audit(db, tx, by, "app_release_rollout", sha256, &rollout.describe(), now_ms)?;
            one(db, tx, sha256)
        })
    }

    fn withdraw_release(&self, sha256: &str, by: &str, now_ms: i64) -> StorageResult<ReleaseRow> {
        let db = &self.db;
        db.write(|tx| {
            one(db, tx, sha256)?;
            db.execute(
                tx,
                "UPDATE app_releases SET withdrawn_at_ms = $2 WHERE sha256 = $1 AND withdrawn_at_ms IS NULL",
                &[&sha256, &now_ms],
            )?;
            audit(db, tx, by, "app_release_withdrawn", sha256, "", now_ms)?;
            one(db, tx, sha256)
        })
    }

    fn min_app_version(&self) -> StorageResult<Option<String>> {
        let db = &self.db;
        db.read(|tx| {
            db.query_opt(tx, "SELECT value FROM server_settings WHERE key = $1", &[&MIN_APP_VERSION])?
                .map(|r| r.at(0))
                .transpose()
        })
    }

    fn set_min_app_version(&self, version: Option<&str>, by: &str, now_ms: i64) -> StorageResult<()> {
        let db = &self.db;
        db.write(|tx| {
            match version {
                Some(v) => db.execute(
                    tx,
                    "INSERT INTO server_settings (key, value) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    &[&MIN_APP_VERSION, &v],
                )?,
                None => db.execute(tx, "DELETE FROM server_settings WHERE key = $1", &[&MIN_APP_VERSION])?,
            };
            audit(db, tx, by, "min_app_version_set", MIN_APP_VERSION, version.unwrap_or("none"), now_ms)
        })
    }
}
