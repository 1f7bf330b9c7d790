//! The PostgreSQL schema and its versions, as migrations/*.sql: step N takes the database from
//! version N-1 to N, and the one row of `gridbook_schema` says which steps it has had. All steps a
//! database lacks run in one transaction under an advisory lock, so that replicas starting
//! together do not race: the first migrates, the others wait on the lock and then find nothing to
//! do. A database newer than this server is refused, never touched.

use super::pool::Db;
use crate::storage::error::{StorageError, StorageResult};

/// Each version's step, in order: (version, SQL).
pub(super) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_base.sql")),
    (2, include_str!("migrations/0002_running_totals.sql")),
    (3, include_str!("migrations/0003_app_versions.sql")),
    (4, include_str!("migrations/0004_cluster_identity.sql")),
    (5, include_str!("migrations/0005_backoffice_shared_state.sql")),
    (6, include_str!("migrations/0006_device_wipes.sql")),
    (7, include_str!("migrations/0007_visit_locations.sql")),
    (8, include_str!("migrations/0008_money.sql")),
    (9, include_str!("migrations/0009_photos.sql")),
    (10, include_str!("migrations/0010_device_traffic.sql")),
    (11, include_str!("migrations/0011_staff_numbers.sql")),
];

/// The version this server writes: its last step.
pub(super) const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// The advisory lock's key ("gridbook" in ASCII): migrations take it, and `admin mark-restored`.
pub(super) const MIGRATION_LOCK: i64 = 0x6772_6964_626f_6f6b;

/// Brings the database to `SCHEMA_VERSION`; answers the version it had before.
pub(super) fn migrate(db: &Db) -> StorageResult<i64> {
    db.write(|tx| {
        // held until this transaction ends, however it ends
        db.execute(tx, "SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        db.batch(tx, "CREATE TABLE IF NOT EXISTS gridbook_schema (single INTEGER PRIMARY KEY CHECK (single = 1), version BIGINT NOT NULL)")?;
        let version: i64 = db
            .query_opt(tx, "SELECT version FROM gridbook_schema WHERE single = 1", &[])?
            .map(|r| r.get(0))
            .unwrap_or(0);
        if version > SCHEMA_VERSION {
            return Err(StorageError::internal(format!(
                "the PostgreSQL database is schema version {version}, newer than this server ({SCHEMA_VERSION})"
            )));
        }
        for (_, sql) in MIGRATIONS.iter().filter(|(step, _)| *step > version) {
            db.batch(tx, sql)?;
        }
        db.execute(
            tx,
            "INSERT INTO gridbook_schema (single, version) VALUES (1, $1) ON CONFLICT (single) DO UPDATE SET version = excluded.version",
            &[&SCHEMA_VERSION],
        )?;
        Ok(version)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::postgres::test_cluster::TestCluster;

    #[test]
    fn the_steps_are_numbered_one_by_one_from_one() {
        let numbers: Vec<i64> = MIGRATIONS.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, (1..=MIGRATIONS.len() as i64).collect::<Vec<_>>());
    }

    #[test]
    fn replicas_starting_together_migrate_once_and_a_newer_database_is_refused() {
        let cluster = TestCluster::shared().expect("PostgreSQL 15 for the tests (.ci/install-tools)");
        let url = cluster.create_database().expect("database");
        let befores: Vec<i64> = std::thread::scope(|s| {
            let runs: Vec<_> =
                (0..4).map(|_| s.spawn(|| migrate(&Db::open(&url).expect("pool")).expect("migrate"))).collect();
            runs.into_iter().map(|r| r.join().expect("thread")).collect()
        });
        let mut sorted = befores.clone();
        sorted.sort();
        assert_eq!(sorted, [0, SCHEMA_VERSION, SCHEMA_VERSION, SCHEMA_VERSION], "one migrated: {befores:?}");

        let db = Db::open(&url).expect("pool");
        let conn = db.conn().expect("connection");
        db.execute(&conn, "UPDATE gridbook_schema SET version = $1", &[&(SCHEMA_VERSION + 1)]).expect("bump");
        let e = migrate(&db).expect_err("newer database");
        assert!(e.message().contains("newer than this server"), "{e}");
    }
}
