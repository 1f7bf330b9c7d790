//! The checks of the fault and crash campaigns: a ledger of every op a phone made, so that what
//! the server acknowledged can be found on its disk exactly once, and the comparison of every
//! record on the server with every phone's copy.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use gridbook_core::{EntityKind, EntityState, Store};
use gridbook_sync_server::RecordStorage;

/// Every op each phone made, by device id, noted from its outbox before it could leave it.
#[derive(Debug, Default)]
pub struct OpLedger {
    made: BTreeMap<String, BTreeSet<String>>,
}

impl OpLedger {
    /// Notes the ops waiting in a phone's outbox (call it after changes, before a sync).
    pub fn note(&mut self, store: &Store) {
        let ids = self.made.entry(store.device_id().to_string()).or_default();
        for op in store.pending_ops(usize::MAX).expect("pending ops") {
            ids.insert(op.id.to_string());
        }
    }

    /// Ops the phone made, in all.
    pub fn made(&self, device: &str) -> usize {
        self.made.get(device).map_or(0, BTreeSet::len)
    }

    pub fn total(&self) -> usize {
        self.made.values().map(BTreeSet::len).sum()
    }

    /// The ops of this phone the server acknowledged: made, no longer pending, not rejected.
    pub fn acknowledged(&self, store: &Store) -> BTreeSet<String> {
        let mut still_here: BTreeSet<String> =
            store.pending_ops(usize::MAX).expect("pending ops").into_iter().map(|o| o.id.to_string()).collect();
        still_here.extend(store.rejected_ops().expect("rejected ops").into_iter().map(|r| r.op.id.to_string()));
        self.made.get(store.device_id()).map_or_else(BTreeSet::new, |m| m.difference(&still_here).cloned().collect())
    }

    /// Every op this phone has had acknowledged is in the server's database, once. `context`
    /// names the moment (and the seed) in a failure.
    pub fn assert_acknowledged_on_server(&self, store: &Store, server_db: &Path, context: &str) {
        self.assert_acknowledged_in(store, &server_op_ids(server_db, store.device_id()), context);
    }

    /// `assert_acknowledged_on_server` against the server's op log of this phone (op id → rows).
    pub fn assert_acknowledged_in(&self, store: &Store, on_server: &BTreeMap<String, i64>, context: &str) {
        let acknowledged = self.acknowledged(store);
        let missing: Vec<_> = acknowledged.iter().filter(|id| !on_server.contains_key(*id)).collect();
        assert!(missing.is_empty(), "{context}: {} acknowledged ops are not on the server: {missing:?}", missing.len());
        let twice: Vec<_> = on_server.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "{context}: ops recorded more than once: {twice:?}");
    }

    /// At the end: the server holds exactly the ops this phone made, each once (nothing lost,
    /// nothing applied twice, nothing it did not send).
    pub fn assert_server_holds_exactly(&self, store: &Store, server_db: &Path, context: &str) {
        self.assert_holds_exactly(store, server_op_ids(server_db, store.device_id()), context);
    }

    /// `assert_server_holds_exactly` against the server's op log of this phone (op id → rows).
    pub fn assert_holds_exactly(&self, store: &Store, on_server: BTreeMap<String, i64>, context: &str) {
        let rows: i64 = on_server.values().sum();
        let made = self.made.get(store.device_id()).cloned().unwrap_or_default();
        let ids: BTreeSet<String> = on_server.into_keys().collect();
        assert_eq!(ids.len(), made.len(), "{context}: {} distinct ops on the server, {} made", ids.len(), made.len());
        assert_eq!(ids, made, "{context}: the server's ops are not the ones the phone made");
        assert_eq!(rows as usize, made.len(), "{context}: {rows} op rows for {} ops", made.len());
    }
}

/// The server's op log for one device: op id → rows.
pub fn server_op_ids(server_db: &Path, device: &str) -> BTreeMap<String, i64> {
    let conn = rusqlite::Connection::open(server_db).expect("server db");
    let mut stmt =
        conn.prepare("SELECT op_id, count(*) FROM op_log WHERE device_id = ?1 GROUP BY op_id").expect("op_log query");
    let rows = stmt.query_map([device], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).expect("op_log");
    rows.collect::<Result<_, _>>().expect("op_log rows")
}

/// The op log of one device on a PostgreSQL server database: op id → rows.
pub fn server_op_ids_postgres(database_url: &str, device: &str) -> BTreeMap<String, i64> {
    let sql = format!(
        "SELECT op_id || ' ' || count(*) FROM op_log WHERE device_id = '{}' GROUP BY op_id",
        device.replace('\'', "''")
    );
    let out = gridbook_sync_server::storage::postgres::test_cluster::psql_at(database_url, &sql).expect("op_log");
    out.lines().filter_map(|l| l.split_once(' ')).map(|(id, n)| (id.to_string(), n.parse().expect("a count"))).collect()
}

/// One number from the server's database.
pub fn server_count(server_db: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(server_db).expect("server db");
    conn.query_row(sql, [], |r| r.get(0)).expect("count")
}

/// The server's change head: the highest change number it holds. A round of syncs is only quiet
/// when this did not move during it: a sync attempt that failed part-way may have pushed changes
/// (and then its retry reports nothing sent), and phones that synced earlier in the round have
/// not seen them yet.
pub fn server_head(server_db: &Path) -> i64 {
    server_count(server_db, "SELECT coalesce(max(seq), 0) FROM entities")
}

/// `PRAGMA integrity_check` of a SQLite file: "ok" when it is sound.
pub fn integrity_check(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).expect("open for integrity_check");
    let lines: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("integrity_check");
    lines.join("; ")
}

/// Every record of every kind in `grid` is the same on the server and on each phone, byte for
/// byte of its merge state (values and stamps).
pub fn assert_converged(server: &dyn RecordStorage, grid: &str, phones: &[&Store], context: &str) {
    for kind in EntityKind::ALL {
        let mut on_server = server.grid_records(kind, grid).expect("server records");
        on_server.sort_by(|a, b| a.id.cmp(&b.id));
        for (n, phone) in phones.iter().enumerate() {
            let on_phone = phone.all_states(kind).expect("phone records");
            let ids = |states: &[EntityState]| states.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
            assert_eq!(ids(&on_server), ids(&on_phone), "{context}: {} ids, server vs phone {n}", kind.as_str());
            for (s, p) in on_server.iter().zip(&on_phone) {
                assert_eq!(s, p, "{context}: {} {}, server vs phone {n}", kind.as_str(), s.id);
            }
        }
    }
}

/// No phone's outbox is wedged: nothing pending, and any rejected op carries its code and reason.
/// Returns the rejected ops, for the caller to judge.
pub fn assert_outbox_settled(store: &Store, context: &str) -> Vec<gridbook_core::sync::outbox::RejectedOp> {
    let counts = store.outbox_counts().expect("outbox counts");
    assert_eq!(counts.pending, 0, "{context}: {} ops still pending on {}", counts.pending, store.device_id());
    let rejected = store.rejected_ops().expect("rejected ops");
    for r in &rejected {
        assert!(!r.code.is_empty() && !r.reason.is_empty(), "{context}: a rejection without its reason: {r:?}");
    }
    rejected
}
