//! The server database's schema and its versions, as migrations/*.sql: step N takes a database
//! from version N-1 to N, and `PRAGMA user_version` says which steps a file has had. A new
//! database runs every step; an old one runs those it lacks, all in one transaction, so that it
//! ends up with the same schema as a new one (tests below and in receipts.rs check this). A file
//! newer than this server is refused, never touched.

use rusqlite::Connection;

use crate::storage::error::{StorageError, StorageResult};

/// Each version's step, in order: (version, SQL).
pub(super) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_base.sql")),
    (2, include_str!("migrations/0002_signed_evidence.sql")),
    (3, include_str!("migrations/0003_handovers.sql")),
    (4, include_str!("migrations/0004_ingest_layout.sql")),
    (5, include_str!("migrations/0005_generation.sql")),
    (6, include_str!("migrations/0006_app_versions.sql")),
    (7, include_str!("migrations/0007_backoffice_shared_state.sql")),
    (8, include_str!("migrations/0008_device_wipes.sql")),
    (9, include_str!("migrations/0009_visit_locations.sql")),
    (10, include_str!("migrations/0010_money.sql")),
    (11, include_str!("migrations/0011_device_traffic.sql")),
    (12, include_str!("migrations/0012_staff_numbers.sql")),
];

/// The version this server writes: its last step.
pub(super) const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Brings the database at `conn` to `SCHEMA_VERSION`; `path` names it in the error of a file newer
/// than this server.
pub(super) fn migrate(conn: &mut Connection, path: &std::path::Path) -> StorageResult<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StorageError::internal(format!(
            "the database {} is schema version {version}, newer than this server ({SCHEMA_VERSION})",
            path.display()
        )));
    }
    if version < SCHEMA_VERSION {
        let tx = conn.transaction()?;
        for (_, sql) in MIGRATIONS.iter().filter(|(step, _)| *step > version) {
            tx.execute_batch(sql)?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
    }
    Ok(())
}

/// The SQL of the steps up to `version`, for tests that build an old database.
#[cfg(test)]
pub(super) fn steps_upto(version: i64) -> String {
    MIGRATIONS.iter().filter(|(step, _)| *step <= version).map(|(_, sql)| *sql).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use gridbook_core::sync::hlc::Hlc;
    use gridbook_core::sync::wire::{DeviceFacts, OpOutcome, PushRequest, PROTOCOL_VERSION};
    use gridbook_core::testing;
    use rusqlite::params;

    use super::*;
    use crate::domain::auth::{DeviceAuth, Role};
    use crate::domain::reconcile::Rules;
    use crate::storage::sqlite::SqliteStorage;
    use crate::storage::SyncStorage;

    fn schema_of(path: &Path) -> Vec<(String, String, Option<String>)> {
        let conn = Connection::open(path).unwrap();
        let mut stmt = conn.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    /// The old database at `old` opened (migrated) by the server, checked to have the schema of a
    /// fresh one made beside it in `dir`.
    fn opened_as_fresh(dir: &Path, old: &Path) -> SqliteStorage {
        let storage = SqliteStorage::open(old).unwrap();
        SqliteStorage::open(dir.join("fresh.db")).unwrap();
        assert_eq!(schema_of(old), schema_of(&dir.join("fresh.db")), "a migrated database has the fresh schema");
        storage
    }

    #[test]
    fn a_version_3_database_with_a_fact_in_ops_migrates_to_the_fresh_schema_and_still_knows_the_op() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("v3.db");
        let visit = testing::visit("g1", "h1");
        let op = testing::visit_op(testing::fields_of(&visit).unwrap(), Hlc::new(1_700_000_000_000, 0, "dev1"));
        {
            // a server of version 3 stored a pushed visit as an entity row and an ops row
            let conn = Connection::open(&old).unwrap();
            conn.execute_batch(&format!("{} PRAGMA user_version = 3;", steps_upto(3))).unwrap();
            conn.execute_batch(
                "INSERT INTO grids VALUES ('g1', 'g1', 1);
                 INSERT INTO managers VALUES ('zhang', '张伟', 'field', NULL, 1);
                 INSERT INTO manager_grids VALUES ('zhang', 'g1');
                 INSERT INTO devices (id, manager_id, token_hash, enrolled_at_ms) VALUES ('dev1', 'zhang', 'x', 1);",
            )
            .unwrap();
            conn.execute(
                "INSERT INTO entities (kind, id, grid_id, vals, base_hlc, seq, updated_at_ms) VALUES ('visit', ?1, 'g1', ?2, ?3, 1, 5)",
                params![op.entity, serde_json::to_string(&op.fields).unwrap(), op.hlc.to_string()],
            )
            .unwrap();
            // the household the visits name (a pushed record names one the server holds)
            conn.execute(
                "INSERT INTO entities (kind, id, grid_id, vals, base_hlc, seq, updated_at_ms) VALUES ('household', ?1, 'g1', '{}', ?2, 2, 5)",
                params![visit.household_id, op.hlc.to_string()],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO ops VALUES (?1, 'dev1', 'visit', ?2, 'g1', ?3, ?3, 5, 'applied', '')",
                params![op.id.to_string(), op.entity, op.hlc.to_string()],
            )
            .unwrap();
        }
        let storage = opened_as_fresh(dir.path(), &old);

        let device = DeviceAuth {
            device_id: "dev1".into(),
            manager_id: "zhang".into(),
            role: Role::Field,
            grids: vec!["g1".into()],
            wipe: None,
            collector: Default::default(),
        };
        let mut another =
            testing::visit_op(testing::fields_of(&visit).unwrap(), Hlc::new(1_700_000_000_001, 0, "dev1"));
        another.entity = "visit-2".into();
        let request = PushRequest {
            protocol: PROTOCOL_VERSION,
            facts: DeviceFacts::default(),
            ops: vec![op.clone(), another.clone()],
        };
        let answer = storage.push(&device, request, &Rules::default(), 1_700_000_100_000).unwrap();
        let outcomes: Vec<_> = answer.results.iter().map(|r| r.outcome.clone()).collect();
        assert_eq!(outcomes, [OpOutcome::AlreadyHad, OpOutcome::Applied], "the old op is known; a new fact is stored");
        let conn = Connection::open(&old).unwrap();
        let logged: Vec<(String, String, i64)> = conn
            .prepare("SELECT op_id, entity_id, received_at_ms FROM op_log ORDER BY entity_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut expected = vec![
            (op.id.to_string(), op.entity.clone(), 5),
            (another.id.to_string(), "visit-2".to_string(), 1_700_000_100_000),
        ];
        expected.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(logged, expected, "the op log lists the old op from ops and the new one from its fact's row");
    }

    #[test]
    fn a_version_11_database_migrates_to_the_fresh_schema_and_its_managers_have_no_staff_number_yet() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("v11.db");
        {
            let conn = Connection::open(&old).unwrap();
            conn.execute_batch(&format!("{} PRAGMA user_version = 11;", steps_upto(11))).unwrap();
            conn.execute_batch(
                "INSERT INTO grids VALUES ('g1', 'g1', 1);
                 INSERT INTO managers (id, name, role, created_at_ms) VALUES ('zhang', '张伟', 'field', 1);
                 INSERT INTO manager_grids VALUES ('zhang', 'g1');
                 INSERT INTO devices (id, manager_id, token_hash, enrolled_at_ms) VALUES ('dev1', 'zhang', 'x', 1);",
            )
            .unwrap();
        }
        let storage = opened_as_fresh(dir.path(), &old);
        // the device still authenticates, its collector named and without a number until one is set
        let device = storage.authenticate_device("x").unwrap();
        assert_eq!((device.collector.name.as_str(), device.collector.staff_no.as_str()), ("张伟", ""));
        assert!(storage.set_staff_no("zhang", "HN0731", "boss", 5).unwrap());
        assert_eq!(storage.authenticate_device("x").unwrap().collector.staff_no, "HN0731");
        assert!(!storage.set_staff_no("zhang", "HN0731", "boss", 6).unwrap(), "unchanged");
    }

    #[test]
    fn the_steps_are_numbered_one_by_one_from_one() {
        let numbers: Vec<i64> = MIGRATIONS.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, (1..=MIGRATIONS.len() as i64).collect::<Vec<_>>());
    }

    #[test]
    fn a_database_newer_than_the_server_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newer.db");
        let mut conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        let e = migrate(&mut conn, &path).unwrap_err();
        assert!(e.message().contains("newer than this server"), "{e}");
        let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).unwrap();
        assert_eq!(tables, 0, "nothing was created");
    }
}
