//! Paging of the back office's lists that grow (issue 18), through the real router on the backend
//! GRIDBOOK_TEST_BACKEND names: the conflict log, the rejected ops, the devices, the overdue
//! follow-ups, the tickets, the appointments and the cash hand-ins come a page at a time with the
//! total of all that match; paging through a seeded list sees every row once, in the list's order;
//! a supervisor's total counts their grids only; limits are bounded.

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

fn ids(prefix: &str, ns: impl IntoIterator<Item = u32>) -> Vec<String> {
    ns.into_iter().map(|n| format!("{prefix}{n:02}")).collect()
}

/// 13 of each, the first 8 in g1 (zhang's, watched by sup), the rest in g2 (wang's): tickets
/// (the even ones overdue), today's appointments, visits with a follow-up promised long ago,
/// hand-ins.
fn seeded_work() -> Server {
    let f = seeded();
    let now = gridbook_sync_server::now_ms();
    let today = gridbook_sync_server::domain::report_day::report_day(now, 0);
    let (start, _) = gridbook_core::field::workday::day_bounds(&today, 480).unwrap();
    for n in 0..13u32 {
        let (grid, manager) = if n < 8 { ("g1", "zhang") } else { ("g2", "wang") };
        let id = |p: &str| format!("{p}{n:02}");
        let mut t = gridbook_core::testing::ticket(grid, "h1", if n % 2 == 0 { "2020-01-01" } else { "2999-01-01" });
        (t.owner_manager_id, t.taken_at_ms) = (manager.into(), 1_000 + i64::from(n));
        f.store_record(&id("t"), grid, &t);
        let mut a = gridbook_core::testing::appointment(grid, "h1", start + i64::from(n) * 60_000);
        a.manager_id = manager.into();
        f.store_record(&id("a"), grid, &a);
        let mut v = gridbook_core::testing::visit(grid, "h1");
        (v.manager_id, v.arrived_at_ms, v.follow_up_due) = (manager.into(), 1_000 + i64::from(n), "2020-01-01".into());
        v.follow_up = "回电话".into();
        f.store_record(&id("v"), grid, &v);
        f.execute(&format!(
            "INSERT INTO hand_ins (id, manager_id, amount_fen, received_by, handed_in_at_ms, note)
             VALUES ({}, '{manager}', 100, 'sup', {}, '')",
            sql_text(&id("i")),
            1_000 + n
        ));
    }
    f
}

#[tokio::test]
async fn follow_ups_tickets_appointments_and_hand_ins_page_through_every_row_once_with_the_total() {
    let f = seeded_work();
    let (root, sup) = (f.session("root", Role::Admin), f.session("sup", Role::Supervisor));
    // (path, list, id field, the whole list in its order for root, sup's part)
    let overdue_first = |ns: std::ops::Range<u32>| {
        let (even, odd): (Vec<u32>, Vec<u32>) = ns.partition(|n| n % 2 == 0);
        ids("t", even.into_iter().chain(odd))
    };
    let lists = [
        ("/admin/api/follow-ups", "follow_ups", "visit_id", ids("v", 0..13), ids("v", 0..8)),
        ("/admin/api/tickets", "tickets", "id", overdue_first(0..13), overdue_first(0..8)),
        ("/admin/api/appointments", "appointments", "id", ids("a", 0..13), ids("a", 0..8)),
        ("/admin/api/money/hand-ins", "hand_ins", "id", newest_first("i", 0..13), newest_first("i", 0..8)),
    ];
    for (path, list, id, all, theirs) in lists {
        let (seen, totals) = page_through(&f, &root, path, list, id, 5).await;
        assert_eq!(seen, all, "{path}: each once, in order");
        assert!(totals.iter().all(|t| *t == 13), "{path}: {totals:?}");
        let (seen, totals) = page_through(&f, &sup, path, list, id, 3).await;
        assert_eq!(seen, theirs, "{path}: the supervisor's grid only");
        assert!(totals.iter().all(|t| *t == 8), "{path}: {totals:?}");
        let big = f
            .send(staff_request("GET", &format!("{path}?limit=100000"), &root).body(Body::empty()).unwrap())
            .await
            .json();
        assert_eq!(big["limit"], 1000, "{path}: bounded");
    }
    // the counts beside a page are of every row that matches, not of the page
    let page = |path: &str, who| f.send(staff_request("GET", path, who).body(Body::empty()).unwrap());
    let tickets = page("/admin/api/tickets?limit=1", &sup).await.json();
    assert_eq!((tickets["overdue"].as_u64(), tickets["tickets"].as_array().map(Vec::len)), (Some(4), Some(1)));
    let appointments = page("/admin/api/appointments?limit=1", &root).await.json();
    let c = &appointments["counts"];
    let sum = c["today"].as_u64().unwrap() + c["late"].as_u64().unwrap() + c["missed"].as_u64().unwrap();
    assert_eq!(sum, 13, "{appointments}");
    let overview = page("/admin/api/overview", &sup).await.json();
    assert_eq!(overview["follow_ups_overdue"], 8, "the card counts the supervisor's grid");
}
