//! Proof of visit by place end to end (issue 20): a phone records visits with a good fix, a far
//! fix, a mock location, no fix, a vague fix and no position at all (an older app), syncs to the
//! real server on 127.0.0.1, and the back office lists exactly the flagged ones per manager and
//! day with the distance from the household's reference position (the first good fix), which a
//! supervisor can move (audited). Receipts, sign-ins and appointment arrivals are judged by the
//! same rule and listed with their kind. Runs on SQLite, and on PostgreSQL with
//! GRIDBOOK_TEST_BACKEND=postgres (scripts/test-postgres.sh).

use gridbook_core::location::{LocationFix, LocationProvider, Position};
use gridbook_core::testing::household_n;
use gridbook_core::Visit;
use gridbook_sync_server::cli::admin::AdminCommand;
use gridbook_sync_server::domain::report_day::report_day;
use gridbook_sync_server::now_ms;
use gridbook_tests::*;
use serde_json::Value;

const HOME_LAT_E6: i64 = 28_228_000;
const LON_E6: i64 = 112_938_000;
const PASSWORD: &str = "主管密码2026!";

fn fix(lat_e6: i64, accuracy_m: i64, mock: bool) -> Option<Position> {
    Some(Position::Fix(LocationFix {
        lat_e6,
        lon_e6: LON_E6,
        accuracy_m,
        age_ms: 2_000,
        provider: LocationProvider::Gps,
        mock,
    }))
}

/// A visit to `household` `minutes_ago` minutes ago with `location`.
fn visit(household: &str, minutes_ago: i64, location: Option<Position>) -> Visit {
    Visit {
        appointment_at_ms: None,
        arrived_at_ms: now_ms() - minutes_ago * 60_000,
        lat_e6: None,
        lon_e6: None,
        location,
        manager_id: "zhang".into(),
        ..gridbook_core::testing::visit("g1", household)
    }
}

/// A back-office GET with the session's cookie.
async fn staff_get(url: &str, session: &str) -> reqwest::Response {
    reqwest::Client::new().get(url).header("cookie", format!("gb_session={session}")).send().await.unwrap()
}

/// A back-office POST of a reference position as the page sends it; answers the status.
async fn set_reference(server: &TestServer, url: &str, (session, csrf): (&str, &str), body: &Value) -> u16 {
    let resp = reqwest::Client::new()
        .post(url)
        .header("origin", &server.url)
        .header("cookie", format!("gb_session={session}"))
        .header("x-csrf-token", csrf)
        .json(body)
        .send()
        .await
        .unwrap();
    resp.status().as_u16()
}

async fn flagged(server: &TestServer, session: &str) -> Value {
    let resp = staff_get(&format!("{}/admin/api/visit-locations?days=2", server.url), session).await;
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

/// The flagged visits of the answer, in its order: (visit id, far, mock, no fix, distance).
fn lines(answer: &Value) -> Vec<(String, bool, bool, bool, Option<i64>)> {
    kinds(answer).into_iter().map(|(id, _, far, mock, no_fix, d)| (id, far, mock, no_fix, d)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_flags_far_mocked_and_unlocated_visits_and_the_back_office_lists_them() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    server.supervisor("sup1", PASSWORD);
    server.admin(AdminCommand::AssignGrid { manager: "sup1".into(), grid: "g1".into() });
    // a supervisor of another grid sees none of g1's visits
    server.grid_with_manager("g2", "wang");
    server.supervisor("sup2", PASSWORD);
    server.admin(AdminCommand::AssignGrid { manager: "sup2".into(), grid: "g2".into() });
    let (session, csrf) = server.staff_session("sup1", PASSWORD).await;
    let phone = server.phone("zhang").await;
    let h = phone.store.create_household(household_n("g1", 1)).unwrap();
    let record = |v: Visit| phone.store.record_visit(v).unwrap().id;
    // the first good fix at the door becomes the household's reference
    let at_home = record(visit(&h.id, 60, fix(HOME_LAT_E6, 10, false)));
    // 0.003° north: 334 m, beyond max(10 m, 200 m)
    let far = record(visit(&h.id, 50, fix(HOME_LAT_E6 + 3_000, 10, false)));
    let mocked = record(visit(&h.id, 40, fix(HOME_LAT_E6, 5, true)));
    let no_fix = record(visit(&h.id, 30, Some(Position::no_fix())));
    // as far, but the fix is only good to 500 m: not judged far
    let vague = record(visit(&h.id, 20, fix(HOME_LAT_E6 + 3_000, 500, false)));
    // an app from before issue 20: no position, not judged
    let old_app = record(visit(&h.id, 10, None));
    phone.sync().await;

    let answer = flagged(&server, &session).await;
    assert_eq!(answer["checked_now"], 6);
    assert_eq!(answer["max_distance_m"], 200);
    assert_eq!(
        lines(&answer),
        vec![
            (far.clone(), true, false, false, Some(334)),
            (mocked.clone(), false, true, false, Some(0)),
            (no_fix.clone(), false, false, true, None),
        ]
    );
    assert_eq!((answer["counts"]["far"].as_i64(), answer["counts"]["mock"].as_i64()), (Some(1), Some(1)));
    // the far fix links to AMap in GCJ-02 (shifted from WGS-84 by a few hundred metres in China)
    let first = &answer["groups"][0]["visits"][0];
    let link = first["map_link"].as_str().unwrap();
    assert!(link.starts_with("https://uri.amap.com/marker?position=112.94"), "{link}");
    assert!(!link.contains("112.938000,28.231000"), "not the WGS-84 numbers: {link}");
    assert_eq!(first["reference_lat_e6"], HOME_LAT_E6);
    // stored once: every visit checked, the reference from the first good fix
    assert_eq!(server.text("SELECT count(*) FROM visit_locations"), "6");
    assert_eq!(server.text(&format!("SELECT visit_id FROM reference_positions WHERE place_id = '{}'", h.id)), at_home);
    for (id, unknown) in [(&vague, "0"), (&old_app, "1")] {
        let sql = format!("SELECT CAST(unknown AS INTEGER) FROM visit_locations WHERE visit_id = '{id}'");
        assert_eq!(server.text(&sql), unknown);
    }
    assert_eq!(flagged(&server, &session).await["checked_now"], 0, "nothing is checked twice");
    assert_eq!(answer["total"], 3, "far, mocked and unlocated: {answer}");
    let (other, _) = server.staff_session("sup2", PASSWORD).await;
    let theirs = flagged(&server, &other).await;
    assert_eq!((theirs["total"].as_i64(), theirs["groups"].as_array().map(Vec::len)), (Some(0), Some(0)), "{theirs}");

    // a change without the session's CSRF token is refused
    let url = format!("{}/admin/api/households/{}/reference-position", server.url, h.id);
    let moved = serde_json::json!({"lat_e6": HOME_LAT_E6 + 3_000, "lon_e6": LON_E6});
    assert_eq!(set_reference(&server, &url, (&session, ""), &moved).await, 403);
    let out_of_range = serde_json::json!({"lat_e6": 91_000_000, "lon_e6": LON_E6});
    assert_eq!(set_reference(&server, &url, (&session, &csrf), &out_of_range).await, 422);
    // the back office moves the reference to where the far visit was: from then on a visit at the
    // old place is the far one (visits checked before keep their flags); audited
    assert_eq!(set_reference(&server, &url, (&session, &csrf), &moved).await, 201);
    assert_eq!(
        server.text(&format!("SELECT set_by || ' ' || source FROM reference_positions WHERE place_id = '{}'", h.id)),
        "sup1 back_office"
    );
    assert_eq!(
        server.text(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'reference_position_set' AND subject = '{}'",
            h.id
        )),
        "1"
    );
    // the page's form reads it back (and the map link in GCJ-02)
    let current: Value = staff_get(&url, &session).await.json().await.unwrap();
    assert_eq!(
        (current["reference"]["lat_e6"].as_i64(), current["reference"]["source"].as_str()),
        (Some(HOME_LAT_E6 + 3_000), Some("back_office"))
    );
    // a supervisor of other grids neither sees these flags nor moves this household's reference
    let (other, other_csrf) = server.staff_session("sup2", PASSWORD).await;
    assert_eq!(flagged(&server, &other).await["groups"], serde_json::json!([]));
    assert_eq!(set_reference(&server, &url, (&other, &other_csrf), &moved).await, 404);
    let no_such = url.replace(&h.id, "no-such-household");
    let unknown = set_reference(&server, &no_such, (&session, &csrf), &moved).await;
    assert_eq!(unknown, 404, "a reference for no household is refused");
    let back_home = record(visit(&h.id, 5, fix(HOME_LAT_E6, 10, false)));
    phone.sync().await;
    let answer = flagged(&server, &session).await;
    let ids: Vec<String> = lines(&answer).into_iter().map(|l| l.0).collect();
    let before = vec![far, mocked, no_fix, back_home];
    assert_eq!(ids, before);

    // a building: the first good fix at one door is the building's reference too, so a neighbour
    // never visited before, claimed from 334 m away, is far from the building
    let building = phone.store.create_premises(gridbook_core::testing::premises("g1", 3)).unwrap();
    let in_building = |n| {
        let mut h = household_n("g1", n);
        h.premises_id = Some(building.id.clone());
        phone.store.create_household(h).unwrap().id
    };
    let (upstairs, next_door) = (in_building(2), in_building(3));
    record(visit(&upstairs, 4, fix(HOME_LAT_E6, 10, false)));
    let claimed = record(visit(&next_door, 3, fix(HOME_LAT_E6 + 3_000, 10, false)));
    phone.sync().await;
    let answer = flagged(&server, &session).await;
    let ids: Vec<String> = lines(&answer).into_iter().map(|l| l.0).collect();
    assert_eq!(ids, [before, vec![claimed]].concat());
    let last =
        answer["groups"].as_array().unwrap().iter().flat_map(|g| g["visits"].as_array().unwrap()).last().unwrap();
    assert_eq!((last["distance_m"].as_i64(), last["reference_lat_e6"].as_i64()), (Some(334), Some(HOME_LAT_E6)));
    assert_eq!(
        server.text(&format!("SELECT count(*) FROM reference_positions WHERE place_id = '{}'", building.id)),
        "1"
    );
}

/// The flagged lines of the answer, in its order: (id, kind, far, mock, no fix, distance); every
/// one zhang's, in the group of its own day.
fn kinds(answer: &Value) -> Vec<(String, String, bool, bool, bool, Option<i64>)> {
    let mut out = Vec::new();
    for g in answer["groups"].as_array().unwrap() {
        assert_eq!(g["manager_id"], "zhang");
        for v in g["visits"].as_array().unwrap() {
            assert_eq!(g["day"].as_str().unwrap(), report_day(v["arrived_at_ms"].as_i64().unwrap(), 0));
            out.push((
                v["visit_id"].as_str().unwrap().to_string(),
                v["kind"].as_str().unwrap().to_string(),
                v["far"].as_bool().unwrap(),
                v["mock"].as_bool().unwrap(),
                v["no_fix"].as_bool().unwrap(),
                v["distance_m"].as_i64(),
            ));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn receipts_sign_ins_and_appointment_arrivals_are_flagged_by_the_visit_rule_with_their_kind() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    server.supervisor("sup1", PASSWORD);
    server.storage.assign_grid("sup1", "g1").unwrap();
    let (session, _) = server.staff_session("sup1", PASSWORD).await;
    let phone = server.phone("zhang").await;
    let h = phone.store.create_household(household_n("g1", 1)).unwrap();
    phone.sync().await;
    let account = server.arrears("g1", &h.id, 100_000);
    phone.sync().await;
    let receipt = |minutes_ago: i64, location: Option<Position>| {
        let mut r = gridbook_core::testing::receipt("g1", &account, &h.id, "");
        (r.collector_id, r.collected_at_ms) = ("zhang".into(), now_ms() - minutes_ago * 60_000);
        (r.lat_e6, r.lon_e6, r.location) = (None, None, location);
        phone.collect(r).receipt.id
    };
    // money taken before any visit: nothing to judge its distance by, and it sets no reference
    let before_any_visit = receipt(60, fix(HOME_LAT_E6 + 3_000, 10, false));
    let at_home = phone.store.record_visit(visit(&h.id, 50, fix(HOME_LAT_E6, 10, false))).unwrap().id;
    let far_receipt = receipt(40, fix(HOME_LAT_E6 + 3_000, 10, false));
    let near_receipt = receipt(35, fix(HOME_LAT_E6 + 500, 10, false));
    // the customer's chosen time, kept from a mocked position
    let mut booked = gridbook_core::testing::appointment("g1", &h.id, now_ms() - 30 * 60_000);
    booked.manager_id = "zhang".into();
    let booked = phone.store.book_appointment(booked).unwrap();
    let (arrival, _) =
        phone.store.record_appointment_visit(&booked.id, visit(&h.id, 30, fix(HOME_LAT_E6, 5, true))).unwrap();
    // the morning's sign-in without a fix: no household, so no distance, but flagged
    let mut sign_in = gridbook_core::testing::sign_in("g1", "zhang", now_ms() - 20 * 60_000);
    (sign_in.lat_e6, sign_in.lon_e6, sign_in.location) = (None, None, Some(Position::no_fix()));
    let sign_in = phone.store.sign_in(sign_in).unwrap().id;
    let mut signed_here = gridbook_core::testing::sign_in("g1", "zhang", now_ms() - 10 * 60_000);
    (signed_here.lat_e6, signed_here.lon_e6, signed_here.location) = (None, None, fix(HOME_LAT_E6, 10, false));
    phone.store.sign_in(signed_here).unwrap();
    phone.sync().await;

    let answer = flagged(&server, &session).await;
    assert_eq!(answer["checked_now"], 7, "two visits, three receipts and two sign-ins");
    let expected = vec![
        (far_receipt.clone(), "receipt".to_string(), true, false, false, Some(334)),
        (arrival.id.clone(), "appointment_arrival".to_string(), false, true, false, Some(0)),
        (sign_in.clone(), "sign_in".to_string(), false, false, true, None),
    ];
    assert_eq!(kinds(&answer), expected);
    let counts = &answer["counts"];
    assert_eq!(
        [&counts["receipt"], &counts["appointment_arrival"], &counts["sign_in"], &counts["visit"]].map(|c| c.as_i64()),
        [Some(1), Some(1), Some(1), Some(0)]
    );
    let receipt_line = &answer["groups"][0]["visits"][0];
    assert!(receipt_line["map_link"].as_str().unwrap().contains("receipt"), "{receipt_line}");
    assert_eq!(receipt_line["manager_id"], "zhang", "a receipt's manager is its collector");
    // only the visit made the reference; the receipt before it was checked, unflagged
    assert_eq!(server.text(&format!("SELECT visit_id FROM reference_positions WHERE place_id = '{}'", h.id)), at_home);
    let sql = format!("SELECT CAST(far AS INTEGER) || ' ' || coalesce(distance_m, -1) FROM visit_locations WHERE visit_id = '{before_any_visit}'");
    assert_eq!(server.text(&sql), "0 -1");
    let sql = format!("SELECT distance_m FROM visit_locations WHERE visit_id = '{near_receipt}'");
    assert_eq!(server.text(&sql), "56");
    assert_eq!(flagged(&server, &session).await["checked_now"], 0, "nothing is checked twice");
}
