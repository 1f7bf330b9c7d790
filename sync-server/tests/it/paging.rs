//! Paging of the back office's lists that grow (issue 18), through the real router on the backend
//! GRIDBOOK_TEST_BACKEND names: the conflict log (both sides of it), the rejected ops, the devices,
//! the overdue follow-ups, the tickets, the appointments, the cash hand-ins, the money tab's
//! receipts and voids, the money page's voids, the day summaries, the reminder outcomes and the
//! handovers come a page at a time with the total of all that match; paging through a seeded list
//! sees every row once, in the list's order; a supervisor's total counts their grids only, and
//! their pages are pages of their rows however many newer rows other grids hold; limits are
//! bounded.

use crate::common;

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
    page_through_list(f, who, path, &Paged::top(list, id), per).await
}

/// Where a list's page sits in an answer: the query's names of its offset and limit, the list,
/// the row's id field, and the object holding `total` and `offset` ("" for the answer itself).
struct Paged<'a> {
    offset: &'a str,
    limit: &'a str,
    list: &'a str,
    id: &'a str,
    page: &'a str,
}

impl<'a> Paged<'a> {
    fn top(list: &'a str, id: &'a str) -> Self {
        Paged { offset: "offset", limit: "limit", list, id, page: "" }
    }
}

async fn page_through_list(
    f: &Server,
    who: &(String, String),
    path: &str,
    p: &Paged<'_>,
    per: u32,
) -> (Vec<String>, Vec<u64>) {
    let (mut seen, mut totals, mut offset) = (Vec::new(), Vec::new(), 0);
    let join = if path.contains('?') { '&' } else { '?' };
    loop {
        let url = format!("{path}{join}{}={per}&{}={offset}", p.limit, p.offset);
        let reply = f.send(staff_request("GET", &url, who).body(Body::empty()).unwrap()).await;
        assert_eq!(reply.status, axum::http::StatusCode::OK, "{url}: {}", reply.text());
        let answer: Value = reply.json();
        let page = if p.page.is_empty() { &answer } else { &answer[p.page] };
        totals.push(page["total"].as_u64().unwrap_or_else(|| panic!("{url}: no total in {answer}")));
        assert_eq!(page["offset"].as_u64(), Some(u64::from(offset)));
        let (list, id) = (p.list, p.id);
        let rows = answer[list].as_array().unwrap();
        assert!(rows.len() <= per as usize);
        if rows.is_empty() {
            return (seen, totals);
        }
        seen.extend(rows.iter().map(|r| r[id].as_str().unwrap().to_string()));
        offset += per;
    }
}

/// Pages through `path` and checks it shows `expected` (ids in order), each once, and a total of
/// `expected.len()` on every page.
async fn expect_pages(f: &Server, who: &(String, String), path: &str, p: &Paged<'_>, per: u32, expected: Vec<String>) {
    let (seen, totals) = page_through_list(f, who, path, p, per).await;
    assert_eq!(seen, expected, "{path}: each once, in order");
    assert!(totals.iter().all(|t| *t == expected.len() as u64), "{path}: {totals:?}");
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

/// The health state seeded device `n` is in: ok, stuck, stale, never synced, revoked, in turn.
const SEEDED_STATES: [&str; 5] = ["ok", "stuck", "stale", "never_synced", "revoked"];

/// 1,005 more phones (`d0000`…`d1004`) written straight into the devices table: every third
/// wang's (g2), the rest zhang's (g1, watched by sup); `n % 5` picks the state, every seventh
/// clock is two minutes off, every eleventh phone is short of space. d0001's wipe is done, d1003's
/// (beyond the first thousand) is ordered.
fn seeded_phones() -> Server {
    let f = seeded();
    let now = gridbook_sync_server::now_ms();
    let rows: Vec<String> = (0..1005u32)
        .map(|n| {
            let manager = if n % 3 == 0 { "wang" } else { "zhang" };
            let (push, pending, age, revoked) = match SEEDED_STATES[(n % 5) as usize] {
                "ok" => (now.to_string(), 0, "NULL".to_string(), "NULL".to_string()),
                "stuck" => (now.to_string(), 2, (3 * 3_600).to_string(), "NULL".to_string()),
                "stale" => ((now - 2 * 86_400_000).to_string(), 0, "NULL".to_string(), "NULL".to_string()),
                "never_synced" => ("NULL".to_string(), 0, "NULL".to_string(), "NULL".to_string()),
                _ => (now.to_string(), 0, "NULL".to_string(), now.to_string()),
            };
            let skew = if n % 7 == 0 { "120000" } else { "0" };
            let free = if n % 11 == 0 { "1024" } else { "NULL" };
            format!(
                "('d{n:04}', '{manager}', 'seeded-{n}', '2.1.0', {now}, {revoked}, {push}, {pending}, {age}, {skew}, {free})"
            )
        })
        .collect();
    f.execute(&format!(
        "INSERT INTO devices (id, manager_id, token_hash, app_version, enrolled_at_ms, revoked_at_ms, last_push_ms,
                              pending_count, oldest_pending_age_s, clock_offset_ms, free_storage_bytes)
         VALUES {};
         INSERT INTO device_wipes (device_id, mode, ordered_at_ms, ordered_by, told_at_ms, wiped_at_ms)
         VALUES ('d0001', 'retire', {old}, 'root', {old}, {old}), ('d1003', 'lost', {now}, 'root', NULL, NULL);",
        rows.join(", "),
        old = now - 86_400_000,
    ));
    f
}

async fn get_json(f: &Server, who: &(String, String), url: &str) -> Value {
    let reply = f.send(staff_request("GET", url, who).body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, axum::http::StatusCode::OK, "{url}: {}", reply.text());
    reply.json()
}

/// Every row of `path` a page of `per` at a time: the rows in the order seen, each total.
async fn all_rows(f: &Server, who: &(String, String), path: &str, per: u32) -> (Vec<Value>, Vec<u64>) {
    let (mut rows, mut totals, mut offset) = (Vec::new(), Vec::new(), 0);
    let join = if path.contains('?') { '&' } else { '?' };
    loop {
        let answer = get_json(f, who, &format!("{path}{join}limit={per}&offset={offset}")).await;
        totals.push(answer["total"].as_u64().unwrap());
        let page = answer["devices"].as_array().unwrap().clone();
        if page.is_empty() {
            return (rows, totals);
        }
        rows.extend(page);
        offset += per;
    }
}

/// The sync-health order as the dashboard promises it: stuck, never synced, stale, ok, revoked;
/// skewed before not; then manager's name, device id.
fn health_key(d: &Value) -> (usize, bool, String, String) {
    let order = ["stuck", "never_synced", "stale", "ok", "revoked"];
    let state = d["health"]["state"].as_str().unwrap();
    (
        order.iter().position(|s| *s == state).unwrap(),
        !d["health"]["skewed"].as_bool().unwrap(),
        d["manager_name"].as_str().unwrap().to_string(),
        d["device_id"].as_str().unwrap().to_string(),
    )
}

fn device_ids(rows: &[Value]) -> Vec<&str> {
    rows.iter().map(|d| d["device_id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn past_a_thousand_phones_the_devices_page_in_the_health_order_filtered_and_counted_by_the_server() {
    let f = seeded_phones();
    let (root, sup) = (f.session("root", Role::Admin), f.session("sup", Role::Supervisor));
    let of_state = |s: &str, zhang_only: bool| {
        (0..1005u32).filter(|n| SEEDED_STATES[(n % 5) as usize] == s && (!zhang_only || n % 3 != 0)).count() as u64
    };

    // the admin: 1,007 phones (pz and pw never synced), every one once, in the order, over pages
    let (rows, totals) = all_rows(&f, &root, "/admin/api/devices", 400).await;
    assert_eq!(rows.len(), 1007);
    assert!(totals.iter().all(|t| *t == 1007), "{totals:?}");
    let mut seen = device_ids(&rows);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 1007, "each once");
    let keys: Vec<_> = rows.iter().map(health_key).collect();
    assert!(keys.windows(2).all(|w| w[0] <= w[1]), "in the health order across pages");
    assert_eq!(rows[0]["health"]["state"], "stuck", "what needs IT comes first");
    assert_eq!(rows[0]["health"]["skewed"], true);
    assert_eq!(rows[1006]["health"]["state"], "revoked");

    // counts over every visible phone, whatever the page
    let one = get_json(&f, &root, "/admin/api/devices?limit=1").await;
    assert_eq!(one["devices"].as_array().unwrap().len(), 1);
    let counts = &one["counts"];
    for s in SEEDED_STATES {
        let extra = if s == "never_synced" { 2 } else { 0 };
        assert_eq!(counts["states"][s].as_u64(), Some(of_state(s, false) + extra), "{s}: {counts}");
    }
    let live = |n: &u32| n % 5 != 4;
    assert_eq!(counts["low_storage"].as_u64(), Some((0..1005u32).filter(|n| n % 11 == 0 && live(n)).count() as u64));
    assert_eq!(counts["skewed"].as_u64(), Some((0..1005u32).filter(|n| n % 7 == 0 && live(n)).count() as u64));

    // filters before paging: a state, a grid
    let (stuck, totals) = all_rows(&f, &root, "/admin/api/devices?state=stuck", 150).await;
    assert_eq!(stuck.len() as u64, of_state("stuck", false));
    assert!(totals.iter().all(|t| *t == of_state("stuck", false)));
    assert!(stuck.iter().all(|d| d["health"]["state"] == "stuck"));
    let g2 = get_json(&f, &root, "/admin/api/devices?grid=g2&limit=1000").await;
    assert_eq!(g2["total"], 336, "wang's 335 seeded and pw");
    assert!(g2["devices"].as_array().unwrap().iter().all(|d| d["manager_id"] == "wang"));

    // the wipe tab: the open order on d1003 (beyond the first thousand) and every wipe, newest first
    let open = get_json(&f, &root, "/admin/api/devices?wipe=open").await;
    assert_eq!((open["total"].as_u64(), device_ids(open["devices"].as_array().unwrap())), (Some(1), vec!["d1003"]));
    let any = get_json(&f, &root, "/admin/api/devices?wipe=any&limit=1").await;
    assert_eq!((any["total"].as_u64(), device_ids(any["devices"].as_array().unwrap())), (Some(2), vec!["d1003"]));
    let orderable = get_json(&f, &root, "/admin/api/devices?wipe=orderable&limit=1000").await;
    let can = orderable["devices"].as_array().unwrap();
    assert!(can.iter().all(|d| d["health"]["state"] != "revoked" && d["device_id"] != "d0001"));
    assert!(device_ids(can).contains(&"d1003"), "an order not yet told can be replaced");

    // the supervisor: zhang's phones only, counted and filtered in the same scope
    let (rows, totals) = all_rows(&f, &sup, "/admin/api/devices", 1000).await;
    let zhang = 1005 - 335 + 1;
    assert_eq!(rows.len(), zhang);
    assert!(totals.iter().all(|t| *t == zhang as u64));
    assert!(rows.iter().all(|d| d["manager_id"] == "zhang"));
    let keys: Vec<_> = rows.iter().map(health_key).collect();
    assert!(keys.windows(2).all(|w| w[0] <= w[1]));
    let counts = get_json(&f, &sup, "/admin/api/devices?limit=1").await["counts"].clone();
    let summed: u64 = SEEDED_STATES.iter().map(|s| counts["states"][s].as_u64().unwrap()).sum();
    assert_eq!(summed, zhang as u64, "{counts}");
    // the overview's cards count the same phones the list shows (one scope rule)
    let overview = get_json(&f, &sup, "/admin/api/overview").await;
    let carded: u64 = SEEDED_STATES.iter().map(|s| overview["devices"][s].as_u64().unwrap_or(0)).sum();
    assert_eq!(carded, zhang as u64, "{overview}");
    let stuck = get_json(&f, &sup, "/admin/api/devices?state=stuck&limit=1").await;
    assert_eq!(stuck["total"].as_u64(), Some(of_state("stuck", true)));
    assert_eq!(get_json(&f, &sup, "/admin/api/devices?grid=g2").await["total"], 0, "another supervisor's grid");
    let open = get_json(&f, &sup, "/admin/api/devices?wipe=open").await;
    assert_eq!(device_ids(open["devices"].as_array().unwrap()), vec!["d1003"]);

    // a filter it does not know is a 400 that says so, never a silent full list
    for bad in ["/admin/api/devices?state=broken", "/admin/api/devices?wipe=all"] {
        let reply = f.send(staff_request("GET", bad, &root).body(Body::empty()).unwrap()).await;
        assert_eq!(reply.status, axum::http::StatusCode::BAD_REQUEST, "{bad}");
        assert!(reply.text().contains("/"), "zh-CN / English: {}", reply.text());
    }
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

/// 13 of each, the first 8 in g1 (zhang's, watched by sup) and the OLDEST, the rest in g2 (wang's):
/// receipts with a void each (the even ones pending), day summaries a day apart, reminder
/// outcomes, handovers; and 5 tier recomputations by the server beside the 23 conflicts.
fn seeded_money_and_days() -> Server {
    let f = seeded();
    let now = gridbook_sync_server::now_ms();
    for n in 0..13u32 {
        let (grid, manager, device) = if n < 8 { ("g1", "zhang", "pz") } else { ("g2", "wang", "pw") };
        let id = |p: &str| format!("{p}{n:02}");
        let mut r = gridbook_core::testing::receipt(grid, "acct", "h1", &format!("NO-{n:02}"));
        (r.collector_id, r.device_id, r.collected_at_ms) = (manager.into(), device.into(), 1_000 + i64::from(n));
        f.store_record(&id("r"), grid, &r);
        f.execute(&format!(
            "INSERT INTO void_reviews (void_id, receipt_id, device_id, requested_at_ms, status)
             VALUES ({}, {}, '{device}', {}, '{}')",
            sql_text(&id("x")),
            sql_text(&id("r")),
            2_000 + n,
            if n % 2 == 0 { "pending" } else { "refused" },
        ));
        let day = gridbook_sync_server::domain::report_day::report_day(now, i64::from(n));
        f.store_record(&id("s"), grid, &gridbook_core::testing::day_summary(grid, manager, &day));
        let mut o = gridbook_core::testing::reminder_outcome(grid, "h1", &format!("birthday:h1:{n}"));
        o.closed_at_ms = 3_000 + i64::from(n);
        f.store_record(&id("o"), grid, &o);
        f.execute(&format!(
            "INSERT INTO handovers (id, scope, from_grid, premises_id, to_grid, from_managers, to_manager, records, by, created_at_ms)
             VALUES ({}, 'grid', '{grid}', NULL, '{grid}', '{manager}', '{manager}', 0, 'root', {})",
            sql_text(&id("h")),
            4_000 + n,
        ));
    }
    for n in 0..5u32 {
        f.execute(&format!(
            "INSERT INTO conflicts (at_ms, kind, entity_id, grid_id, field, old_value, new_value, old_hlc, new_hlc,
                                    old_device, new_device)
             VALUES ({at}, 'household', {id}, 'g1', 'tier', 'low', 'high', 'x', 'y', 'pz', {by})",
            at = 5_000 + n,
            id = sql_text(&format!("t{n:02}")),
            by = sql_text(if n == 0 { "backoffice" } else { "backoffice_replica2" }),
        ));
    }
    f
}

#[tokio::test]
async fn a_supervisors_money_tab_pages_their_own_receipts_however_many_newer_ones_other_grids_hold() {
    let f = seeded_money_and_days();
    let (root, sup) = (f.session("root", Role::Admin), f.session("sup", Role::Supervisor));
    // the bug this replaces: the newest N receipts were read, then cut to the supervisor's grid
    // — g1's receipts are the oldest, so a first page of 5 held none of theirs
    let receipts = Paged { list: "receipts", id: "id", page: "receipts_page", ..Paged::top("", "") };
    expect_pages(&f, &sup, "/admin/api/money?days=366", &receipts, 5, newest_first("r", 0..8)).await;
    expect_pages(&f, &root, "/admin/api/money", &receipts, 4, newest_first("r", 0..13)).await;

    let voids = Paged { offset: "voids_offset", limit: "voids_limit", list: "voids", id: "id", page: "voids_page" };
    expect_pages(&f, &sup, "/admin/api/money", &voids, 3, newest_first("x", 0..8)).await;
    expect_pages(&f, &root, "/admin/api/money", &voids, 6, newest_first("x", 0..13)).await;

    // the money page's own list of voids, by status
    let pending = Paged::top("voids", "void_id");
    expect_pages(&f, &sup, "/admin/api/money/voids?status=pending", &pending, 2, ids("x", [6, 4, 2, 0])).await;
    expect_pages(&f, &root, "/admin/api/money/voids", &pending, 5, newest_first("x", 0..13)).await;

    // the card counts the supervisor's pending voids in storage
    let overview = f.send(staff_request("GET", "/admin/api/overview", &sup).body(Body::empty()).unwrap()).await.json();
    assert_eq!(overview["voids_pending"], 4, "{overview}");
    let big = f
        .send(staff_request("GET", "/admin/api/money?limit=100000&voids_limit=0", &root).body(Body::empty()).unwrap())
        .await
        .json();
    assert_eq!((big["receipts_page"]["limit"].as_u64(), big["voids_page"]["limit"].as_u64()), (Some(1000), Some(1)));
}

#[tokio::test]
async fn day_summaries_reminder_outcomes_handovers_and_both_sides_of_the_conflict_log_page_with_the_total() {
    let f = seeded_money_and_days();
    let (root, sup) = (f.session("root", Role::Admin), f.session("sup", Role::Supervisor));
    let summaries = Paged { list: "summaries", id: "id", page: "summaries_page", ..Paged::top("", "") };
    expect_pages(&f, &root, "/admin/api/day-summaries?days=30", &summaries, 5, ids("s", 0..13)).await;
    expect_pages(&f, &sup, "/admin/api/day-summaries?days=30", &summaries, 3, ids("s", 0..8)).await;
    let week =
        f.send(staff_request("GET", "/admin/api/day-summaries", &root).body(Body::empty()).unwrap()).await.json();
    assert_eq!(week["summaries_page"]["total"], 7, "the last 7 days by default: {}", week["summaries_page"]);
    assert!(week["computed_page"]["total"].is_u64(), "the computed days are paged too");

    let lists = [
        ("/admin/api/reminder-outcomes", "outcomes", "id", newest_first("o", 0..13), newest_first("o", 0..8)),
        ("/admin/api/handovers", "handovers", "id", newest_first("h", 0..13), newest_first("h", 0..8)),
    ];
    for (path, list, id, all, theirs) in lists {
        expect_pages(&f, &root, path, &Paged::top(list, id), 5, all).await;
        // the supervisor's grid only
        expect_pages(&f, &sup, path, &Paged::top(list, id), 3, theirs).await;
    }
    let other =
        f.send(staff_request("GET", "/admin/api/reminder-outcomes?grid=g2", &sup).body(Body::empty()).unwrap()).await;
    assert_eq!(other.status, axum::http::StatusCode::NOT_FOUND, "another's grid is no grid");

    // the conflicts tab pages conflicts between people and the server's recomputations apart
    let people = Paged::top("conflicts", "entity_id");
    expect_pages(&f, &sup, "/admin/api/conflicts?side=people", &people, 4, newest_first("c", 0..15)).await;
    expect_pages(&f, &sup, "/admin/api/conflicts?side=recomputed", &people, 2, newest_first("t", 0..5)).await;
    let (_, totals) = page_through_list(&f, &root, "/admin/api/conflicts", &people, 10).await;
    assert_eq!(totals[0], 28, "both sides when no side is asked");
    let bad = f.send(staff_request("GET", "/admin/api/conflicts?side=x", &root).body(Body::empty()).unwrap()).await;
    assert_eq!(bad.status, axum::http::StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_void_is_looked_up_under_the_supervisors_scope_however_many_newer_voids_there_are() {
    let f = seeded_money_and_days();
    // 10 000 newer voids of one of g2's receipts: the decision used to look the void up among the
    // newest 10 000 and, not finding it there, let any supervisor decide it
    f.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999)
         INSERT INTO void_reviews (void_id, receipt_id, device_id, requested_at_ms, status)
         SELECT 'bulk-' || i, 'r12', 'pw', 100000 + i, 'refused' FROM n",
    );
    let (root, sup) = (f.session("root", Role::Admin), f.session("sup", Role::Supervisor));
    let decide = |v: &str| format!("/admin/api/money/voids/{v}/decision");
    let body = serde_json::json!({"decision": "approve", "note": ""});
    let theirs = common::staff_post(&f, &decide("x08"), &sup, body.clone()).await;
    assert_eq!(theirs.status, axum::http::StatusCode::NOT_FOUND, "g2's void is not sup's: {}", theirs.text());
    assert_eq!(f.text("SELECT status FROM void_reviews WHERE void_id = 'x08'"), "pending");
    let own = common::staff_post(&f, &decide("x00"), &sup, body).await;
    assert_eq!(own.status, axum::http::StatusCode::OK, "{}", own.text());
    // the admin sees every grid's pending voids, newest first
    let all = f.send(
        staff_request("GET", "/admin/api/money/voids?status=pending&limit=1", &root).body(Body::empty()).unwrap(),
    );
    assert_eq!(all.await.json()["voids"][0]["void_id"], "x12");
    // the receipt's page lists its own voids, found by the receipt
    let page = f.send(staff_request("GET", "/admin/api/money/receipts/NO-00", &sup).body(Body::empty()).unwrap()).await;
    let voids = page.json()["voids"].as_array().map(|v| v.iter().map(|x| x["void_id"].clone()).collect::<Vec<_>>());
    assert_eq!(voids, Some(vec![Value::from("x00")]));
}
