//! A PostgreSQL database after a restore (docs/postgres.md, "Backups and restore"). The engine's
//! own tools restore the data (scripts/pg-backup.sh: a base backup, the WAL archive, point-in-time
//! recovery); `admin mark-restored` then gives the restored database its new generation, as
//! SQLite's `admin restore` does (storage/generation.rs), before any replica serves phones again.
//!
//! Why it must not be skipped here even more than on SQLite: change numbers are transaction ids
//! (cursor.rs), and a restored cluster hands out again the ids its lost tail had used, so without
//! a new generation phones that paged past them would never pull the new rows. Every start
//! therefore checks that the database is still on the cluster and timeline its generation was
//! written on (recovery always starts a new timeline; another cluster has another system id) and
//! refuses otherwise.

use deadpool_postgres::GenericClient;
use gridbook_core::sync::wire::ServerGeneration;
use serde::Serialize;

use super::pool::{Db, RowExt};
use super::schema;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::generation::RestoredGeneration;

/// What `admin mark-restored` wrote, printed as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MarkReport {
    /// The new generation's id.
    pub generation: String,
    /// The generation the restored database held (its backup's).
    pub previous_generation: String,
    /// Phones send again what was acknowledged from (ten minutes before) this time on.
    pub restored_from_ms: i64,
    /// Phones past this change number pull again from it.
    pub restored_cursor: u64,
    pub book_tag: String,
    /// `<system identifier>/<timeline>` of the cluster it was marked on.
    pub cluster: String,
    pub schema_version: i64,
}

/// Where a connection is: `<system identifier>/<timeline>` of its cluster. The timeline is the
/// one WAL is written on now (a promotion switches it at once; the control file's checkpoint
/// record follows only at the next checkpoint).
pub(super) fn cluster_identity<C: GenericClient + Sync>(db: &Db, c: &C) -> StorageResult<String> {
    let in_recovery: bool = db.query_one(c, "SELECT pg_is_in_recovery()", &[])?.at(0)?;
    if in_recovery {
        return Err(StorageError::Unavailable(
            "PostgreSQL 仍在恢复中，请等它完成（scripts/pg-backup.sh wait-recovered）PostgreSQL is still in recovery (or a standby): wait until it is promoted (scripts/pg-backup.sh wait-recovered)".into(),
        ));
    }
    let row = db.query_one(
        c,
        "SELECT system_identifier::text, substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) FROM pg_control_system()",
        &[],
    )?;
    let (system, timeline): (String, String) = (row.at(0)?, row.at(1)?);
    let timeline = u32::from_str_radix(&timeline, 16)
        .map_err(|_| StorageError::internal(format!("WAL file name with timeline {timeline}")))?;
    Ok(format!("{system}/{timeline}"))
}

/// The database's generation, and the tag of the receipt books it issues.
pub(super) fn read_generation<C: GenericClient + Sync>(db: &Db, c: &C) -> StorageResult<(ServerGeneration, String)> {
    let row = db.query_one(
        c,
        "SELECT id, restored_from_ms, restored_cursor, book_tag FROM server_generation WHERE single = 1",
        &[],
    )?;
    let generation = ServerGeneration {
        id: row.at(0)?,
        restored_from_ms: row.at(1)?,
        restored_cursor: row.at::<i64>(2)?.max(0) as u64,
        keep_acked_days: ServerGeneration::KEEP_ACKED_DAYS,
    };
    Ok((generation, row.at(3)?))
}

/// At every start: the database's generation was written on this cluster and timeline (the first
/// start records them). Answers where it is.
pub(super) fn check_cluster(db: &Db) -> StorageResult<String> {
    db.write(|tx| {
        let here = cluster_identity(db, tx)?;
        let recorded: String =
            db.query_one(tx, "SELECT cluster FROM server_generation WHERE single = 1 FOR UPDATE", &[])?.at(0)?;
        if recorded.is_empty() {
            db.execute(tx, "UPDATE server_generation SET cluster = $1 WHERE single = 1", &[&here])?;
        } else if recorded != here {
            return Err(unmarked(&recorded, &here));
        }
        Ok(here)
    })
}

/// The refusal of a database found elsewhere than its generation was written.
pub(super) fn unmarked(recorded: &str, here: &str) -> StorageError {
    StorageError::Unavailable(format!(
        "数据库看起来是恢复过的（代写于 {recorded}，现在在 {here}），但还没有新的代：先运行 `gridbook-sync-server admin --database-url … mark-restored`（docs/postgres.md）\
         the database looks restored (its generation was written on cluster/timeline {recorded}, it is now on {here}) but has no new generation: run `gridbook-sync-server admin --database-url … mark-restored` first (docs/postgres.md)"
    ))
}

/// Gives the restored database at `url` a new generation (storage/generation.rs), under the
/// migration lock so that no replica starting meanwhile reads a half-written one. The replicas
/// must be stopped: a running one keeps the generation it read at start.
pub fn mark_restored(url: &str, now_ms: i64) -> StorageResult<MarkReport> {
    let db = Db::open(url)?;
    {
        let conn = db.conn()?;
        cluster_identity(&db, &conn)?; // refuses a database still in recovery, before any write
    }
    schema::migrate(&db)?; // a backup of an older server: brought up to date first
    db.write(|tx| {
        db.execute(tx, "SELECT pg_advisory_xact_lock($1)", &[&schema::MIGRATION_LOCK])?;
        let (previous, previous_tag) = read_generation(&db, tx)?;
        // the last change number it holds: records, and the removals handovers page with them
        let cursor: i64 = db
            .query_one(
                tx,
                "SELECT greatest((SELECT max(seq) FROM entities), (SELECT max(seq) FROM handover_records), 0)",
                &[],
            )?
            .at(0)?;
        // Change numbers are this cluster's transaction ids: a database holding numbers at or
        // past the id of this very transaction did not come from this cluster's own past (a
        // logical dump restored into another cluster); no generation can make its pulls whole.
        let xid: i64 = db.query_one(tx, "SELECT pg_current_xact_id()::text::bigint", &[])?.at(0)?;
        if cursor >= xid.saturating_mul(1 << super::cursor::PER_TX_BITS) {
            return Err(StorageError::invalid(format!(
                "数据库里的变更号（{cursor}）超出本集群的事务号：它不是从本集群的基础备份恢复的（pg_dump 导入另一集群？），请用基础备份恢复 \
                 the database holds change number {cursor}, past this cluster's transaction ids: it was not restored from a \
                 base backup of its own cluster (a pg_dump loaded into another one?); restore a base backup instead (docs/postgres.md)"
            )));
        }
        // The restore point: the latest server time a write it holds was stamped with. Every
        // write it lacks committed after every write it holds, and was acknowledged after its
        // commit: later than this, on replicas whose clocks agree within the phones' margin.
        let point: i64 = db
            .query_one(
                tx,
                "SELECT greatest(
                    (SELECT max(updated_at_ms) FROM entities), (SELECT max(received_at_ms) FROM ops),
                    (SELECT max(at_ms) FROM sync_events), (SELECT max(at_ms) FROM audit_log),
                    (SELECT max(issued_at_ms) FROM receipt_blocks), (SELECT max(last_seen_ms) FROM devices), 0)",
                &[],
            )?
            .at(0)?;
        // a stamp from a clock running ahead cannot be later than now
        let point = point.min(now_ms);
        let new = RestoredGeneration::after_restore(&previous, &previous_tag, point, cursor.max(0) as u64);
        let here = cluster_identity(&db, tx)?;
        db.execute(
            tx,
            "UPDATE server_generation SET id = $1, restored_from_ms = $2, restored_cursor = $3, book_tag = $4,
             cluster = $5 WHERE single = 1",
            &[&new.id, &new.restored_from_ms, &(new.restored_cursor as i64), &new.book_tag, &here],
        )?;
        tracing::info!(generation = %new.id, previous = %previous.id, cursor = new.restored_cursor, "restored database marked");
        Ok(MarkReport {
            generation: new.id,
            previous_generation: previous.id,
            restored_from_ms: new.restored_from_ms,
            restored_cursor: new.restored_cursor,
            book_tag: new.book_tag,
            cluster: here,
            schema_version: schema::SCHEMA_VERSION,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridbook_core::model::EntityKind;
    use gridbook_core::sync::wire::{OpAction, OpOutcome};

    use crate::storage::postgres::test_cluster::{psql_at, TestCluster};
    use crate::storage::postgres::PostgresStorage;
    use crate::storage::records::RecordStorage;
    use crate::storage::SyncStorage;

    /// A database on the shared cluster with a grid and a household in it.
    fn database_with_a_record(now_ms: i64) -> String {
        let cluster = TestCluster::shared().expect("PostgreSQL 15 for the tests (.ci/install-tools)");
        let url = cluster.create_database().expect("database");
        let s = PostgresStorage::open(&url).expect("storage");
        s.create_grid("g1", "一网格", now_ms).expect("grid");
        add_household(&s, "hh1", now_ms);
        url
    }

    /// A household the back office writes into g1 (a change numbered).
    fn add_household(s: &PostgresStorage, id: &str, now_ms: i64) {
        let fields = gridbook_core::testing::fields_of(&gridbook_core::testing::household_n("g1", 1)).expect("fields");
        let op = crate::domain::authoring::op(EntityKind::Household, id, "g1", OpAction::Create, fields);
        let result = s.apply_backoffice_op(&op, now_ms).expect("written");
        assert!(matches!(result.outcome, OpOutcome::Applied), "{result:?}");
    }

    #[test]
    fn marking_writes_a_new_generation_from_what_the_database_holds_and_twice_is_harmless() {
        let written_at = crate::now_ms() - 60_000;
        let url = database_with_a_record(written_at);
        let before = PostgresStorage::open(&url).expect("storage").generation();
        let max_seq: u64 = psql_at(&url, "SELECT max(seq) FROM entities").expect("seq").parse().expect("a number");

        let first = mark_restored(&url, crate::now_ms()).expect("marked");
        assert_eq!(first.previous_generation, before.id);
        assert_ne!(first.generation, before.id);
        assert_eq!(first.restored_cursor, max_seq, "the last change number it holds");
        assert_eq!(first.restored_from_ms, written_at, "the latest server time of a write it holds");
        assert!(first.cluster.ends_with("/1"), "{}", first.cluster);
        let served = PostgresStorage::open(&url).expect("storage after marking").generation();
        assert_eq!(
            (served.id.as_str(), served.restored_from_ms, served.restored_cursor),
            (first.generation.as_str(), written_at, max_seq),
            "a server started now serves it"
        );

        // marked again, after a replica wrote under the first generation: one more generation,
        // from the same point and cursor, so no phone that missed the first loses anything
        let s = PostgresStorage::open(&url).expect("storage");
        add_household(&s, "hh2", crate::now_ms()); // a write under the first generation
        let newer: u64 = psql_at(&url, "SELECT max(seq) FROM entities").expect("seq").parse().expect("a number");
        assert!(newer > max_seq);
        let again = mark_restored(&url, crate::now_ms()).expect("marked again");
        assert_eq!(again.previous_generation, first.generation);
        assert_ne!(again.generation, first.generation);
        assert_ne!(again.book_tag, first.book_tag);
        assert_eq!((again.restored_from_ms, again.restored_cursor), (written_at, max_seq));
    }

    #[test]
    fn a_database_found_on_another_timeline_is_refused_until_marked() {
        let url = database_with_a_record(crate::now_ms());
        let here = psql_at(&url, "SELECT cluster FROM server_generation").expect("recorded at the first start");
        assert!(here.contains('/'), "{here}");
        // as a restore through recovery leaves it: the generation of the timeline before
        let (system, _) = here.split_once('/').expect("system/timeline");
        psql_at(&url, &format!("UPDATE server_generation SET cluster = '{system}/0'")).expect("an older timeline");
        let refused = PostgresStorage::open(&url).err().expect("refused");
        assert!(refused.message().contains("mark-restored"), "{refused}");
        assert_eq!(refused.code(), gridbook_core::sync::wire::ErrorCode::Unavailable);
        mark_restored(&url, crate::now_ms()).expect("marked");
        assert_eq!(psql_at(&url, "SELECT cluster FROM server_generation").expect("recorded"), here);
        let mut running = PostgresStorage::open(&url).expect("served once marked");
        running.check_health().expect("healthy where it started");
        // a failover under a running replica: the timeline it started on is gone
        running.cluster = format!("{system}/0");
        let unhealthy = running.check_health().expect_err("its generation is no longer the database's");
        assert!(unhealthy.message().contains("mark-restored"), "{unhealthy}");
    }

    #[test]
    fn a_database_numbered_past_this_clusters_transactions_is_refused() {
        // what a pg_dump of a long-lived cluster loaded into a young one looks like
        let url = database_with_a_record(crate::now_ms());
        psql_at(&url, "UPDATE entities SET seq = 1::bigint << 60").expect("numbers of an older cluster");
        let refused = mark_restored(&url, crate::now_ms()).expect_err("refused");
        assert!(refused.message().contains("restore a base backup instead"), "{refused}");
    }
}
