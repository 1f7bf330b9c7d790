//! Paging of the back office's lists that grow (issue 18), through the real router on the backend
//! GRIDBOOK_TEST_BACKEND names: the conflict log, the rejected ops and the devices come a page at
//! a time with the total of all that match; paging through a seeded list sees every row once,
//! newest first; a supervisor's total counts their grids only; limits are bounded.

mod common;

use axum::body::Body;
use common::{sql_text, staff_request, Server};
use gridbook_sync_server::domain::auth::Role;
use serde_json::Value;

/// g1 (zhang's, watched by sup) and g2 (wang's); 23 conflicts and 23 rejections, 15 of them in g1.
fn seeded() -> Server {
    let f = Server::new()
        .grid("g1", "幸福里网格")
        .grid("g2", "人民路网格")
        .manager("zhang", "张伟", Role::Field, None)
        .assign("zhang", "g1")
        .manager("wang", "王强", Role::Field, None)
        .assign("wang", "g2")
        .manager("sup", "王主管", Role::Supervisor, None)
        .assign("sup", "g1");
    f.device("zhang", "pz");
    f.device("wang", "pw");
    for n in 0..23 {
        let (grid, device) = if n < 15 { ("g1", "pz") } else { ("g2", "pw") };
        f.execute(&format!(
            "INSERT INTO conflicts (at_ms, kind, entity_id, grid_id, field, old_value, new_value, old_hlc, new_hlc,
                                    old_device, new_device)
             VALUES ({at}, 'household', {id}, '{grid}', 'notes', 'a', 'b', 'x', 'y', 'pz', 'pw')",
            at = 1_000 + n,
            id = sql_text(&format!("c{n:02}")),
        ));
        f.execute(&format!(
            "INSERT INTO rejections (op_id, at_ms, device_id, kind, entity_id, grid_id, code, reason, body)
             VALUES ({id}, {at}, '{device}', 'visit', 'v', '{grid}', 'invalid', 'bad', '{{}}')",
            at = 1_000 + n,
            id = sql_text(&format!("r{n:02}")),
        ));
    }
    f
}

/// Pages through `path` `per` rows at a time; answers the ids in the order seen and each total.
async fn page_through(
    f: &Server,
    who: &(String, String),
    path: &str,
    list: &str,
    id: &str,
    per: u32,
) -> (Vec<String>, Vec<u64>) {
    let (mut seen, mut totals, mut offset) = (Vec::new(), Vec::new(), 0);
    loop {
        let url = format!("{path}?limit={per}&offset={offset}");
        let reply = f.send(staff_request("GET", &url, who).body(Body::empty()).unwrap()).await;
        assert_eq!(reply.status, axum::http::StatusCode::OK, "{url}: {}", reply.text());
        let page: Value = reply.json();
        totals.push(page["total"].as_u64().unwrap());
        assert_eq!(page["offset"].as_u64(), Some(u64::from(offset)));
        let rows = page[list].as_array().unwrap();
        assert!(rows.len() <= per as usize);
        if rows.is_empty() {
            return (seen, totals);
        }
        seen.extend(rows.iter().map(|r| r[id].as_str().unwrap().to_string()));
        offset += per;
    }
}

fn newest_first(prefix: &str, ns: impl DoubleEndedIterator<Item = u32>) -> Vec<String> {
    ns.rev().map(|n| format!("{prefix}{n:02}")).collect()
}

#[tokio::test]
async fn the_conflict_log_and_the_rejections_page_through_every_row_once_with_the_total() {
    let f = seeded();
    let (root, sup) = (f.session("root", Role::Admin), f.session("sup", Role::Supervisor));

    let (ids, totals) = page_through(&f, &root, "/admin/api/conflicts", "conflicts", "entity_id", 10).await;
    assert_eq!(ids, newest_first("c", 0..23), "newest first, each once");
    assert!(totals.iter().all(|t| *t == 23), "{totals:?}");
    let (ids, totals) = page_through(&f, &sup, "/admin/api/conflicts", "conflicts", "entity_id", 4).await;
    assert_eq!(ids, newest_first("c", 0..15), "the supervisor's grid only");
    assert!(totals.iter().all(|t| *t == 15), "{totals:?}");

    let (ids, totals) = page_through(&f, &root, "/admin/api/rejections", "rejections", "op_id", 7).await;
    assert_eq!(ids, newest_first("r", 0..23));
    assert!(totals.iter().all(|t| *t == 23), "{totals:?}");
    let (ids, totals) = page_through(&f, &sup, "/admin/api/rejections", "rejections", "op_id", 6).await;
    assert_eq!(ids, newest_first("r", 0..15));
    assert!(totals.iter().all(|t| *t == 15), "{totals:?}");

    let big =
        f.send(staff_request("GET", "/admin/api/conflicts?limit=100000", &root).body(Body::empty()).unwrap()).await;
    assert_eq!(big.json()["limit"], 1000, "bounded");
}

#[tokio::test]
async fn the_device_list_pages_with_the_total_a_staff_member_may_see() {
    let f = seeded();
    for n in 0..9 {
        f.device("zhang", &format!("pz{n}"));
    }
    let (root, sup) = (f.session("root", Role::Admin), f.session("sup", Role::Supervisor));
    let (ids, totals) = page_through(&f, &root, "/admin/api/devices", "devices", "device_id", 4).await;
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!((ids.len(), sorted.len()), (11, 11), "each device once: {ids:?}");
    assert!(totals.iter().all(|t| *t == 11));
    let (ids, totals) = page_through(&f, &sup, "/admin/api/devices", "devices", "device_id", 3).await;
    assert_eq!(ids.len(), 10, "zhang's ten phones, not wang's: {ids:?}");
    assert!(!ids.contains(&"pw".to_string()) && totals.iter().all(|t| *t == 10));
}
