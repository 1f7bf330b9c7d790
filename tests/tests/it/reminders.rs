//! Reminders and tiers (issue 7) end to end: the real server on 127.0.0.1, an admin loading
//! billing figures over HTTP with a logged-in session, tiers computed, two phones pulling tiers
//! and billing profiles, reminders worked out on the phones, one closed on phone A and gone on
//! phone B after a sync; a phone writing billing figures is refused and keeps the op with its
//! reason; bad figures are a 4xx naming the row and field.

use gridbook_core::model::ReminderKind;
use gridbook_core::testing::{self, household_n};
use gridbook_core::*;
use gridbook_sync_server::cli::admin::AdminCommand;
use gridbook_tests::*;
use serde_json::{json, Value};

const BEIJING: i64 = 480;

fn beijing_today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::minutes(BEIJING)).date_naive()
}

fn ymd(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// An admin logged in to the back office through the login form: (session cookie, CSRF token
/// for writes).
async fn admin_session(server: &TestServer) -> (String, String) {
    server.admin(AdminCommand::CreateManager {
        id: "boss".into(),
        name: "刘经理".into(),
        role: "admin".into(),
        password: Some("网格后台-2026".into()),
    });
    server.staff_session("boss", "网格后台-2026").await
}

async fn load_billing(server: &TestServer, session: &str, csrf: &str, profiles: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/admin/api/billing", server.url))
        .header("origin", &server.url)
        .header("cookie", format!("gb_session={session}"))
        .header("x-csrf-token", csrf)
        .json(&json!({ "profiles": profiles }))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn figures_loaded_by_the_back_office_become_tiers_and_reminders_and_a_closure_reaches_the_other_phone() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    server.grid_with_manager("g1", "li");
    let a = server.phone("zhang").await;
    let b = server.phone("li").await;
    let today = beijing_today();

    // phone A builds the archive: five households, one with a birthday in two days
    let mut ids = Vec::new();
    for n in 0..5 {
        let mut h = household_n("g1", n);
        h.birthday = if n == 4 {
            format!("1972-{}", (today + chrono::Duration::days(2)).format("%m-%d"))
        } else {
            String::new()
        };
        ids.push(a.store.create_household(h).unwrap().id);
    }
    assert_eq!(a.sync().await.rejected, 0);

    // the back office loads the month's figures over HTTP; tiers are computed at once
    let (session, csrf) = admin_session(&server).await;
    let contract_end = ymd(today + chrono::Duration::days(30));
    let row = |n: usize, spend: i64, baseline: i64| {
        json!({"grid_id": "g1", "household_id": ids[n], "service_number": format!("1390000000{n}"), "product": "mobile",
               "period": today.format("%Y-%m").to_string(), "spend_fen": spend, "baseline_fen": baseline})
    };
    let mut rows = vec![
        row(0, 30_000, 30_000),
        row(1, 4_000, 10_000),
        row(2, 9_000, 9_000),
        row(3, 8_000, 8_000),
        row(4, 100, 100),
    ];
    rows[0]["contract_end"] = json!(contract_end);
    rows[2]["suspension_risk"] = json!(true);
    let (status, report) = load_billing(&server, &session, &csrf, json!(rows)).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["tiers"][0]["changed"], 5);

    // both phones pull the tiers and the figures
    a.sync().await;
    b.sync().await;
    let tier = |id: &str| b.store.household(id, Reveal::Masked).unwrap().tier;
    assert_eq!(tier(&ids[0]), Some(Tier::High));
    assert_eq!(tier(&ids[2]), Some(Tier::Middle));
    assert_eq!([tier(&ids[1]), tier(&ids[3]), tier(&ids[4])], [Some(Tier::Low); 3]);
    assert_eq!(b.store.billing_profiles(&ids[0]).unwrap()[0].contract_end, contract_end);

    // the reminders, the same on both phones
    let date = ymd(today);
    let kinds = |store: &Store| -> Vec<(ReminderKind, String)> {
        store.reminders("g1", &date).unwrap().into_iter().map(|r| (r.kind, r.household_id)).collect()
    };
    let expected = vec![
        (ReminderKind::SuspensionRisk, ids[2].clone()),
        (ReminderKind::SpendDropStage1, ids[1].clone()),
        (ReminderKind::ContractExpiry, ids[0].clone()),
        (ReminderKind::Birthday, ids[4].clone()),
    ];
    assert_eq!(kinds(&a.store), expected);
    assert_eq!(kinds(&b.store), expected);
    let plan = b.store.day_plan("g1", &date, BEIJING).unwrap();
    assert_eq!(plan.stops.len(), 4, "each reminder's door is in the day plan");

    // phone A closes the contract reminder after talking the customer into renewing
    let contract =
        a.store.reminders("g1", &date).unwrap().into_iter().find(|r| r.kind == ReminderKind::ContractExpiry).unwrap();
    a.store
        .close_reminder(
            "g1",
            &date,
            &contract.key,
            model::ReminderResolution::Renewed,
            "客户同意续约两年",
            "zhang",
            BEIJING,
        )
        .unwrap();
    assert_eq!(a.sync().await.rejected, 0);
    assert_eq!(kinds(&b.store).len(), 4, "phone B has not synced yet");
    b.sync().await;
    assert_eq!(kinds(&b.store), vec![expected[0].clone(), expected[1].clone(), expected[3].clone()]);
    let outcomes = b.store.reminder_outcomes("g1").unwrap();
    assert_eq!(
        (outcomes.len(), outcomes[0].manager_id.as_str(), outcomes[0].note.as_str()),
        (1, "zhang", "客户同意续约两年")
    );
    let on_server = server.storage.grid_records(EntityKind::ReminderOutcome, "g1").unwrap();
    assert_eq!(on_server.len(), 1, "the back office sees the outcome");
    assert_eq!(on_server[0].value("outcome"), "renewed");
    let view = |session: Option<String>| {
        let mut req = reqwest::Client::new().get(format!("{}/admin/api/reminder-outcomes", server.url));
        if let Some(s) = session {
            req = req.header("cookie", format!("gb_session={s}"));
        }
        req.send()
    };
    assert_eq!(view(None).await.unwrap().status(), 401);
    let seen: Value = view(Some(session.clone())).await.unwrap().json().await.unwrap();
    assert_eq!(seen["outcomes"][0]["reminder_key"], json!(contract.key));
    assert_eq!(seen["outcomes"][0]["outcome"], "renewed");
}

#[tokio::test]
async fn a_phone_writing_billing_figures_is_refused_and_keeps_the_change_with_the_reason() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    let phone = server.phone("zhang").await;
    let h = phone.store.create_household(household_n("g1", 1)).unwrap();
    let mut forged = testing::billing_profile("g1", &h.id, "2026-11");
    forged.id = new_id();
    forged.spend_fen = 1_000_000;
    testing::record_local_create(&phone.store, &forged, "g1").unwrap();
    let report = phone.sync().await;
    assert_eq!((report.acknowledged, report.rejected), (1, 1), "{report:?}");
    let rejected = phone.store.rejected_ops().unwrap();
    assert_eq!((rejected[0].code.as_str(), rejected[0].op.entity.as_str()), ("invalid", forged.id.as_str()));
    assert_eq!(rejected[0].reason, "billing figures are kept by the back office");
    assert!(server.storage.grid_records(EntityKind::BillingProfile, "g1").unwrap().is_empty());
    assert_eq!(server.storage.rejections(10).unwrap()[0].reason, "billing figures are kept by the back office");
}

#[tokio::test]
async fn bad_figures_over_http_are_a_4xx_naming_the_row_and_field() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    let (session, csrf) = admin_session(&server).await;
    let (status, body) = load_billing(
        &server,
        &session,
        &csrf,
        json!([{"grid_id": "g1", "household_id": "nobody", "service_number": "1", "period": "2026-11", "spend_fen": 1, "baseline_fen": 1}]),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (422, Some("invalid")));
    assert_eq!(body["message"], "row 1: household_id: no household nobody in grid g1");
    let (status, body) = load_billing(&server, &session, "wrong", json!([])).await;
    assert_eq!(status, 403, "{body}");
}
