//! Proof of visit by place end to end (issue 20): a phone records visits with a good fix, a far
//! fix, a mock location, no fix, a vague fix and no position at all (an older app), syncs to the
//! real server on 127.0.0.1, and the back office lists exactly the flagged ones per manager and
//! day with the distance from the household's reference position (the first good fix), which a
//! supervisor can move (audited).

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

async fn flagged(server: &TestServer, session: &str) -> Value {
    let resp = reqwest::Client::new()
        .get(format!("{}/admin/api/visit-locations?days=2", server.url))
        .header("cookie", format!("gb_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

/// The flagged visits of the answer, in its order: (visit id, far, mock, no fix, distance).
fn lines(answer: &Value) -> Vec<(String, bool, bool, bool, Option<i64>)> {
    let mut out = Vec::new();
    for g in answer["groups"].as_array().unwrap() {
        assert_eq!(g["manager_id"], "zhang");
        for v in g["visits"].as_array().unwrap() {
            assert_eq!(g["day"].as_str().unwrap(), report_day(v["arrived_at_ms"].as_i64().unwrap(), 0));
            out.push((
                v["visit_id"].as_str().unwrap().to_string(),
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
    let post = || {
        reqwest::Client::new()
            .post(&url)
            .header("origin", &server.url)
            .header("cookie", format!("gb_session={session}"))
    };
    assert_eq!(post().json(&moved).send().await.unwrap().status().as_u16(), 403);
    let out_of_range = serde_json::json!({"lat_e6": 91_000_000, "lon_e6": LON_E6});
    assert_eq!(post().header("x-csrf-token", &csrf).json(&out_of_range).send().await.unwrap().status().as_u16(), 422);
    // the back office moves the reference to where the far visit was: from then on a visit at the
    // old place is the far one (visits checked before keep their flags); audited
    let set = post().header("x-csrf-token", &csrf).json(&moved).send().await.unwrap();
    assert_eq!(set.status().as_u16(), 201);
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
