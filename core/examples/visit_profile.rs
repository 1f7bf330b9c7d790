//! Records N visits through the store API (`encrypted`: into a SQLCipher store), or N plain
//! inserts of the same row (`plain`), for instruction counts under callgrind: (run of 3N − run of
//! N) / 2N is the cost of one visit.
use gridbook_core::testing::{household_n, visit};
use gridbook_core::*;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let mode = args.next();
    let plain = mode.as_deref() == Some("plain");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = if mode.as_deref() == Some("encrypted") {
        let key = store::encryption::DataKey::random().expect("key");
        Store::open_encrypted(dir.path().join("sealed.db"), key).expect("store")
    } else {
        Store::open(dir.path().join("bench.db")).expect("store")
    };
    let h = store.create_household(household_n("g1", 1)).expect("household");
    let template = visit("g1", &h.id);
    if !plain {
        for _ in 0..n {
            store.record_visit(template.clone()).expect("visit");
        }
        return;
    }
    let conn = gridbook_core::testing::plain_visits(&dir.path().join("plain.db")).expect("plain");
    for _ in 0..n {
        gridbook_core::testing::plain_insert_visit(&conn, &template).expect("insert");
    }
}
