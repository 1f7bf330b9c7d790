//! Grids and who holds them, administered in the browser (issue 18), through the real router on
//! the backend GRIDBOOK_TEST_BACKEND names: the directory the pickers read, a grid created and
//! renamed, a grid assigned to and taken from a manager and a supervisor (the supervisor's view
//! follows), a billing file loaded, and the audit trail filtered by day and paged. Every write is
//! refused without the CSRF token and to a supervisor, and leaves its audit row.

use crate::common;

use axum::body::Body;
use axum::http::{header, StatusCode};
use common::{audited, staff_post as post, staff_request, Reply, Server};
use gridbook_core::sync::wire::OpAction;
use gridbook_core::testing::{fields_of, household_n};
use gridbook_core::EntityKind;
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::domain::authoring;
use gridbook_sync_server::now_ms;
use serde_json::{json, Value};

fn fixture() -> Server {
    Server::new()
        .grid("g1", "幸福里网格")
        .grid("g2", "人民路网格")
        .manager("zhang", "张伟", Role::Field, None)
        .assign("zhang", "g1")
        .manager("sup", "王主管", Role::Supervisor, None)
        .assign("sup", "g1")
        .manager("root", "系统管理员", Role::Admin, None)
}

async fn get(f: &Server, path: &str, who: &(String, String)) -> Reply {
    f.send(staff_request("GET", path, who).body(Body::empty()).unwrap()).await
}

/// The same POST without the CSRF token: refused.
async fn without_token(f: &Server, path: &str, who: &(String, String), body: Value) -> StatusCode {
    let req = axum::http::Request::post(path)
        .header(header::HOST, common::HOST)
        .header(header::ORIGIN, common::ORIGIN)
        .header(header::COOKIE, format!("gb_session={}", who.0))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    f.send(req).await.status
}

/// Each write: refused to a supervisor and without the token, nothing audited then.
async fn guarded(f: &Server, path: &str, body: Value, action: &str, subject: &str) {
    let (root, sup) = (f.session("root", Role::Admin), f.session("sup", Role::Supervisor));
    assert_eq!(post(f, path, &sup, body.clone()).await.status, StatusCode::FORBIDDEN, "{path}: a supervisor");
    assert_eq!(without_token(f, path, &root, body).await, StatusCode::FORBIDDEN, "{path}: no CSRF token");
    assert_eq!(audited(f, action, subject), 0, "{path}: nothing written, nothing audited");
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn an_admin_creates_and_renames_a_grid_and_both_are_audited() {
    let f = fixture();
    let root = f.session("root", Role::Admin);
    guarded(&f, "/admin/api/admin/grids", json!({"id": "g3", "name": "东风路网格"}), "grid_created", "g3").await;
    let made = post(&f, "/admin/api/admin/grids", &root, json!({"id": "g3", "name": " 东风路网格 "})).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    assert_eq!(audited(&f, "grid_created", "g3"), 1);
    let again = post(&f, "/admin/api/admin/grids", &root, json!({"id": "g3", "name": "别的"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text());
    let blank = post(&f, "/admin/api/admin/grids", &root, json!({"id": "g4", "name": "  "})).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);

    let rename = "/admin/api/admin/grids/g3/rename";
    guarded(&f, rename, json!({"name": "东风新村网格"}), "grid_renamed", "g3").await;
    let renamed = post(&f, rename, &root, json!({"name": "东风新村网格"})).await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text());
    assert_eq!(audited(&f, "grid_renamed", "g3"), 1);
    let gone = post(&f, "/admin/api/admin/grids/nope/rename", &root, json!({"name": "x"})).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    let dir = get(&f, "/admin/api/admin/directory", &root).await.json();
    let g3 = dir["grids"].as_array().unwrap().iter().find(|g| g["id"] == "g3").unwrap().clone();
    assert_eq!(g3["name"], "东风新村网格");
    let trail = get(&f, "/admin/api/admin/audit?subject=g3&action=grid_renamed", &root).await.json();
    assert_eq!(trail["total"], 1);
    assert_eq!(trail["audit"][0]["detail"], "东风路网格 → 东风新村网格");
    assert_eq!(trail["audit"][0]["actor"], "root");
}

#[tokio::test]
async fn an_admin_assigns_and_unassigns_grids_and_the_supervisor_sees_what_is_assigned() {
    let f = fixture();
    let (root, sup) = (f.session("root", Role::Admin), f.session("sup", Role::Supervisor));
    let path = "/admin/api/admin/assignments";

    // the directory: grids with their people, everyone with their grids
    let dir = get(&f, "/admin/api/admin/directory", &root).await.json();
    let g1 = &dir["grids"][0];
    assert_eq!(
        (g1["id"].as_str(), names(&g1["managers"]), names(&g1["supervisors"])),
        (Some("g1"), vec!["张伟"], vec!["王主管"])
    );
    assert_eq!(dir["grids"][1]["managers"], json!([]));
    // the supervisor's directory holds their grids only
    let theirs = get(&f, "/admin/api/admin/directory", &sup).await.json();
    assert_eq!(theirs["grids"].as_array().unwrap().len(), 1);

    guarded(&f, path, json!({"manager_id": "sup", "grid_id": "g2", "assigned": true}), "grid_assigned", "sup").await;
    let added = post(&f, path, &root, json!({"manager_id": "sup", "grid_id": "g2", "assigned": true})).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text());
    assert_eq!(added.json()["changed"], true);
    assert_eq!(audited(&f, "grid_assigned", "sup"), 1);
    let same = post(&f, path, &root, json!({"manager_id": "sup", "grid_id": "g2", "assigned": true})).await.json();
    assert_eq!(same["changed"], false, "assigned already: no change, no second row");
    assert_eq!(audited(&f, "grid_assigned", "sup"), 1);
    let grids = get(&f, "/admin/api/names", &sup).await.json()["grids"].clone();
    assert_eq!(grids, json!({"g1": "幸福里网格", "g2": "人民路网格"}), "the supervisor's view follows");

    let removed = post(&f, path, &root, json!({"manager_id": "zhang", "grid_id": "g1", "assigned": false})).await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.text());
    assert_eq!(audited(&f, "grid_unassigned", "zhang"), 1);
    let dir = get(&f, "/admin/api/admin/directory", &root).await.json();
    assert_eq!(dir["grids"][0]["managers"], json!([]));

    for (body, status) in [
        (json!({"manager_id": "root", "grid_id": "g1", "assigned": true}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"manager_id": "nobody", "grid_id": "g1", "assigned": true}), StatusCode::NOT_FOUND),
        (json!({"manager_id": "zhang", "grid_id": "nope", "assigned": true}), StatusCode::NOT_FOUND),
    ] {
        assert_eq!(post(&f, path, &root, body.clone()).await.status, status, "{body}");
    }
}

#[tokio::test]
async fn an_admin_loads_a_billing_file_and_a_bad_line_is_named_with_nothing_written() {
    let f = fixture();
    let ops: Vec<_> = (0..3)
        .map(|n| {
            let fields = fields_of(&household_n("g1", n)).unwrap();
            authoring::op(EntityKind::Household, &format!("h{n}"), "g1", OpAction::Create, fields)
        })
        .collect();
    f.storage.apply_backoffice_ops(&ops, now_ms()).unwrap();
    let line = |h: &str, spend: i64| {
        json!({"grid_id": "g1", "household_id": h, "service_number": format!("139{spend:08}"), "product": "mobile",
               "contract_end": "2027-01-10", "period": "2026-11", "spend_fen": spend, "baseline_fen": 10_000})
        .to_string()
    };
    let file = format!("{}\n\n{}\n{}\n", line("h0", 30_000), line("h1", 8_000), line("h2", 1_000));
    let (root, sup) = (f.session("root", Role::Admin), f.session("sup", Role::Supervisor));
    let send = |who: &(String, String), body: String| {
        let req = staff_request("POST", "/admin/api/admin/billing-file", who)
            .header(header::CONTENT_TYPE, "application/x-ndjson")
            .body(Body::from(body))
            .unwrap();
        f.send(req)
    };
    assert_eq!(send(&sup, file.clone()).await.status, StatusCode::FORBIDDEN);
    let bad = send(&root, format!("{}\nnot json\n", line("h0", 1))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text());
    assert!(bad.error().message.contains("line 2"), "{}", bad.error().message);
    assert_eq!(audited(&f, "billing_loaded", "billing"), 0);
    assert_eq!(f.count("SELECT count(*) FROM entities WHERE kind = 'billing_profile'"), 0, "nothing written");

    let loaded = send(&root, file.clone()).await;
    assert_eq!(loaded.status, StatusCode::OK, "{}", loaded.text());
    let report = loaded.json();
    assert_eq!((report["received"].as_u64(), report["written"].as_u64()), (Some(3), Some(3)));
    assert_eq!(report["tiers"][0]["grid_id"], "g1");
    assert_eq!(audited(&f, "billing_loaded", "billing"), 1);
    let again = send(&root, file).await.json();
    assert_eq!((again["written"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(3)));

    // the JSON endpoint is audited the same way
    let body = json!({"profiles": [serde_json::from_str::<Value>(&line("h0", 31_000)).unwrap()]});
    assert_eq!(post(&f, "/admin/api/billing", &root, body).await.status, StatusCode::OK);
    assert_eq!(audited(&f, "billing_loaded", "billing"), 3);
}

#[tokio::test]
async fn the_audit_trail_pages_through_every_row_once_and_filters_by_day() {
    let f = fixture();
    let root = f.session("root", Role::Admin);
    // 23 rows on 2026-03-01 and 2026-03-02 (Beijing), one by another actor
    let day1 = chrono::DateTime::parse_from_rfc3339("2026-03-01T10:00:00+08:00").unwrap().timestamp_millis();
    let day2 = chrono::DateTime::parse_from_rfc3339("2026-03-02T23:30:00+08:00").unwrap().timestamp_millis();
    for n in 0..23 {
        let at = if n < 15 { day1 + n } else { day2 + n };
        let actor = if n == 7 { "other" } else { "root" };
        f.storage.record_audit(actor, "grid_renamed", &format!("s{n}"), "", at).unwrap();
    }
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let page = get(&f, &format!("/admin/api/admin/audit?limit=10&offset={offset}"), &root).await.json();
        assert_eq!(page["total"], 23);
        let rows = page["audit"].as_array().unwrap();
        if rows.is_empty() {
            break;
        }
        seen.extend(rows.iter().map(|r| r["subject"].as_str().unwrap().to_string()));
        offset += 10;
    }
    let expected: Vec<String> = (0..23).rev().map(|n| format!("s{n}")).collect();
    assert_eq!(seen, expected, "newest first, every row once");
    let day = get(&f, "/admin/api/admin/audit?from=2026-03-02&to=2026-03-02&limit=500", &root).await.json();
    assert_eq!(day["total"], 8);
    let first = get(&f, "/admin/api/admin/audit?to=2026-03-01&actor=root", &root).await.json();
    assert_eq!(first["total"], 14);
    let all_root = get(&f, "/admin/api/admin/audit?actor=root&limit=500", &root).await.json();
    assert_eq!(all_root["total"], 22);
    assert_eq!(get(&f, "/admin/api/admin/audit?from=3.1.2026", &root).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(get(&f, "/admin/api/admin/audit?limit=100000", &root).await.json()["limit"], 500, "bounded");
}
