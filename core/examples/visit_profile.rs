//! Records N visits through the store API, or N plain inserts of the same row (`plain`), for
//! instruction counts under callgrind: (run of 3N − run of N) / 2N is the cost of one visit.
use gridbook_core::testing::{household_n, visit};
use gridbook_core::*;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let plain = args.next().as_deref() == Some("plain");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("bench.db")).expect("store");
    let h = store.create_household(household_n("g1", 1)).expect("household");
    let template = visit("g1", &h.id);
    if !plain {
        for _ in 0..n {
            store.record_visit(template.clone()).expect("visit");
        }
        return;
    }
    let conn = rusqlite::Connection::open(dir.path().join("plain.db")).expect("plain");
    conn.pragma_update(None, "journal_mode", "WAL").expect("wal");
    conn.pragma_update(None, "synchronous", "NORMAL").expect("sync");
    conn.execute_batch(
        "CREATE TABLE visits (id TEXT PRIMARY KEY, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}',
            grid_id TEXT, household_id TEXT, appointment_at_ms INTEGER, arrived_at_ms INTEGER,
            zone_offset_min INTEGER, lat_e6 INTEGER, lon_e6 INTEGER, purpose TEXT, outcome TEXT,
            needs TEXT, competitor_info TEXT, opinions TEXT, open_question TEXT, follow_up TEXT,
            follow_up_due TEXT, signature_id TEXT, manager_id TEXT);
         CREATE INDEX visits_by_household ON visits (household_id, arrived_at_ms);
         CREATE INDEX visits_by_follow_up ON visits (grid_id, follow_up_due) WHERE follow_up_due <> '';",
    )
    .expect("schema");
    for _ in 0..n {
        let v = &template;
        let tx = conn.unchecked_transaction().expect("tx");
        tx.prepare_cached(
            "INSERT INTO visits (id, grid_id, household_id, appointment_at_ms, arrived_at_ms, zone_offset_min, lat_e6,
             lon_e6, purpose, outcome, needs, competitor_info, opinions, open_question, follow_up, follow_up_due,
             signature_id, manager_id) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)",
        )
        .expect("prepare")
        .execute(rusqlite::params![
            new_id(), v.grid_id, v.household_id, v.appointment_at_ms, v.arrived_at_ms, v.zone_offset_min,
            v.lat_e6, v.lon_e6, v.purpose.as_str(), v.outcome, v.needs, v.competitor_info, v.opinions,
            v.open_question, v.follow_up, v.follow_up_due, v.signature_id, v.manager_id
        ])
        .expect("insert");
        tx.commit().expect("commit");
    }
}
