//! `POST /admin/api/billing` through `tower::ServiceExt::oneshot` on the real router and a real
//! SQLite file: an admin loads billing figures, the tiers of the grid follow (written only where
//! they change), only an admin with the session's CSRF token from this site may load, and bad
//! input is a 4xx that names what was wrong, with nothing written.

use crate::common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{Server, HOST, ORIGIN};
use gridbook_core::sync::wire::OpAction;
use gridbook_core::testing::{fields_of, household_n};
use gridbook_core::EntityKind;
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::domain::authoring;
use gridbook_sync_server::now_ms;
use serde_json::{json, Value};

/// h0..h4, in id order.
fn households() -> Vec<String> {
    (0..5).map(|n| format!("h{n}")).collect()
}

/// Grid g1 with five households (`households()`), created by the back office.
fn fixture() -> Server {
    let server = Server::new().grid("g1", "幸福里网格");
    let ops: Vec<_> = households()
        .iter()
        .enumerate()
        .map(|(n, id)| {
            authoring::op(
                EntityKind::Household,
                id,
                "g1",
                OpAction::Create,
                fields_of(&household_n("g1", n as u64)).unwrap(),
            )
        })
        .collect();
    server.storage.apply_backoffice_ops(&ops, now_ms()).unwrap();
    server
}

/// A back-office session of `role`: (cookie token, CSRF token).
fn session(f: &Server, role: Role) -> (String, String) {
    f.session("boss", role)
}

/// An answer of the billing endpoint, its body as JSON (or as a JSON string when it is not).
struct Reply {
    status: StatusCode,
    body: Value,
}

async fn post(f: &Server, session: Option<&(String, String)>, origin: &str, body: &str) -> Reply {
    let mut req = Request::post("/admin/api/billing")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, origin)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some((cookie, csrf)) = session {
        req = req.header(header::COOKIE, format!("gb_session={cookie}")).header("x-csrf-token", csrf);
    }
    let reply = f.send(req.body(Body::from(body.to_string())).unwrap()).await;
    let body = serde_json::from_slice(&reply.body).unwrap_or_else(|_| json!(reply.text()));
    Reply { status: reply.status, body }
}

async fn load(f: &Server, session: &(String, String), body: Value) -> Reply {
    post(f, Some(session), ORIGIN, &body.to_string()).await
}

fn figures(household: &str, spend_fen: i64) -> Value {
    json!({"grid_id": "g1", "household_id": household, "service_number": format!("139{:08}", spend_fen),
           "product": "mobile", "contract_end": "2027-01-10", "period": "2026-11",
           "spend_fen": spend_fen, "baseline_fen": 10_000})
}

fn tier_of(f: &Server, household: &str) -> Option<String> {
    let states = f.storage.grid_records(EntityKind::Household, "g1").unwrap();
    states.into_iter().find(|s| s.id == household).and_then(|s| s.value("tier").as_str().map(str::to_string))
}

fn profiles_stored(f: &Server) -> usize {
    f.storage.grid_records(EntityKind::BillingProfile, "g1").unwrap().len()
}

#[tokio::test]
async fn an_admin_loads_billing_figures_and_the_tiers_follow_only_where_they_change() {
    let f = fixture();
    let admin = session(&f, Role::Admin);
    let h = &households();
    let spends = [50_000, 40_000, 30_000, 20_000, 10_000];
    let rows: Vec<Value> = h.iter().zip(spends).map(|(id, s)| figures(id, s)).collect();
    let reply = load(&f, &admin, json!({ "profiles": rows })).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["received"], 5);
    assert_eq!(reply.body["written"], 5);
    assert_eq!(
        reply.body["tiers"][0],
        json!({"grid_id": "g1", "ranked": 5, "high": 1, "middle": 1, "low": 3, "changed": 5, "unranked": 0})
    );
    let tiers: Vec<Option<String>> = h.iter().map(|id| tier_of(&f, id)).collect();
    assert_eq!(tiers, ["high", "middle", "low", "low", "low"].map(|t| Some(t.to_string())));

    // the same figures again: nothing to write, no tier changes
    let reply = load(&f, &admin, json!({ "profiles": rows })).await;
    assert_eq!(
        (reply.body["written"].as_i64(), reply.body["unchanged"].as_i64()),
        (Some(0), Some(5)),
        "{}",
        reply.body
    );
    assert_eq!(reply.body["tiers"][0]["changed"], 0);

    // h4 now spends the most: h4 high, h0 middle, h1 low; one profile written, three tiers changed
    let mut moved = rows.clone();
    moved[4]["spend_fen"] = json!(90_000);
    moved[4]["service_number"] = rows[4]["service_number"].clone();
    let reply = load(&f, &admin, json!({ "profiles": moved })).await;
    assert_eq!(reply.body["written"], 1, "{}", reply.body);
    assert_eq!(reply.body["tiers"][0]["changed"], 3);
    assert_eq!(tier_of(&f, &h[4]).as_deref(), Some("high"));
    assert_eq!(tier_of(&f, &h[0]).as_deref(), Some("middle"));
    assert_eq!(tier_of(&f, &h[1]).as_deref(), Some("low"));
    assert_eq!(profiles_stored(&f), 5, "the same household and service number is the same profile");
}

#[tokio::test]
async fn only_an_admin_with_the_sessions_csrf_token_from_this_site_may_load() {
    let f = fixture();
    let body = json!({ "profiles": [figures("h0", 100)] }).to_string();
    let refused = post(&f, None, ORIGIN, &body).await;
    assert_eq!((refused.status, refused.body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    let supervisor = session(&f, Role::Supervisor);
    let refused = post(&f, Some(&supervisor), ORIGIN, &body).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.body["message"], "this change needs the admin role");
    let admin = session(&f, Role::Admin);
    let refused = post(&f, Some(&admin), "https://evil.example", &body).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let stale = (admin.0.clone(), "not-the-token".to_string());
    let refused = post(&f, Some(&stale), ORIGIN, &body).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body["message"].as_str().unwrap().contains("X-CSRF-Token"), "{}", refused.body);
    assert_eq!(profiles_stored(&f), 0, "nothing refused was written");
    let ok = post(&f, Some(&admin), ORIGIN, &body).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}

#[tokio::test]
async fn bad_billing_input_is_a_4xx_that_names_what_was_wrong_and_writes_nothing() {
    let f = fixture();
    let admin = session(&f, Role::Admin);
    let good = figures("h0", 100);
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut bad = figures("h1", 200);
        edit(&mut bad);
        json!({ "profiles": [good.clone(), bad] })
    };
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (json!({ "profiles": [] }), StatusCode::UNPROCESSABLE_ENTITY, "profiles: nothing to load"),
        (json!({ "rows": [] }), StatusCode::UNPROCESSABLE_ENTITY, "unknown field `rows`"),
        (with(&|v| v["spend_fen"] = json!(1.5)), StatusCode::UNPROCESSABLE_ENTITY, "spend_fen"),
        (
            with(&|v| v["period"] = json!("2026-13")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "row 2: period: must be a month written YYYY-MM",
        ),
        (
            with(&|v| v["contract_end"] = json!("2027/01/10")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "row 2: contract_end: must be a date written YYYY-MM-DD",
        ),
        (
            with(&|v| v["baseline_fen"] = json!(-1)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "row 2: baseline_fen: must not be negative",
        ),
        (
            with(&|v| v["household_id"] = json!("nobody")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "row 2: household_id: no household nobody in grid g1",
        ),
        (with(&|v| v["grid_id"] = json!("g9")), StatusCode::UNPROCESSABLE_ENTITY, "row 2: grid_id: no grid g9"),
        (with(&|v| *v = good.clone()), StatusCode::UNPROCESSABLE_ENTITY, "is also on row 1"),
        (with(&|v| v["speend_fen"] = json!(1)), StatusCode::UNPROCESSABLE_ENTITY, "unknown field `speend_fen`"),
    ];
    for (body, status, says) in cases {
        let reply = load(&f, &admin, body.clone()).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        let message = reply.body["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{body}: expected {says:?} in {message:?}");
        assert!(reply.body["code"].is_string());
    }
    let malformed = post(&f, Some(&admin), ORIGIN, "{\"profiles\": [").await;
    assert_eq!((malformed.status, malformed.body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed_json")));
    assert_eq!(profiles_stored(&f), 0, "a load with a bad row writes none of its rows");
    assert_eq!(tier_of(&f, "h0"), None);
}

#[tokio::test]
async fn compute_tiers_puts_back_a_tier_changed_since_and_names_an_unknown_grid() {
    let f = fixture();
    let admin = session(&f, Role::Admin);
    let rows: Vec<Value> = households().iter().zip([5, 4, 3, 2, 1]).map(|(id, s)| figures(id, s * 1_000)).collect();
    assert_eq!(load(&f, &admin, json!({ "profiles": rows })).await.status, StatusCode::OK);
    // someone set h0 to low since (a phone's edit, merged like any other)
    let mut fields = serde_json::Map::new();
    fields.insert("tier".into(), json!("low"));
    f.storage
        .apply_backoffice_ops(&[authoring::op(EntityKind::Household, "h0", "g1", OpAction::Update, fields)], now_ms())
        .unwrap();
    let run = |grid: Option<&str>| {
        gridbook_sync_server::cli::admin::run(
            f.storage.as_ref(),
            gridbook_sync_server::cli::admin::AdminCommand::ComputeTiers { grid: grid.map(str::to_string) },
            now_ms(),
        )
    };
    let out: Value = serde_json::from_str(&run(None).unwrap()).unwrap();
    assert_eq!((out["grid_id"].as_str(), out["changed"].as_i64()), (Some("g1"), Some(1)));
    assert_eq!(tier_of(&f, "h0").as_deref(), Some("high"));
    let again: Value = serde_json::from_str(&run(Some("g1")).unwrap()).unwrap();
    assert_eq!(again["changed"], 0, "nothing to write when nothing changed");
    let err = run(Some("g9")).unwrap_err();
    assert_eq!((err.status(), err.message.as_str()), (StatusCode::NOT_FOUND, "no grid g9"));
}
