//! The receipt profile end to end (issue 18, "the receipt a customer accepts"): the company's
//! name, seal and check address configured on the server, the manager's staff number (工号) set
//! by an admin in the back office (CSRF, audited), delivered to the phone by the sync, kept in
//! its store and printed on the customer's copy.

use gridbook_core::sync::wire::PATH_RECEIPT_SEAL;
use gridbook_core::testing::{self, household_n};
use gridbook_sync_server::cli::admin::AdminCommand;
use gridbook_sync_server::domain::receipt_profile::ReceiptConfig;
use gridbook_tests::*;
use serde_json::{json, Value};

const COMPANY: &str = "中国电信 幸福里营业部";
const CHECK: &str = "https://check.gridbook.example";
const PASSWORD: &str = "网格后台-2026";

/// A server printing `COMPANY` with the test seal and `CHECK`, grid g1 with manager zhang, and an
/// admin `boss` logged in: the server and the session's cookie and CSRF token.
async fn configured() -> (TestServer, String, String) {
    let config = ReceiptConfig::new(Some(CHECK), Some(testing::seal_png())).unwrap();
    let server = TestServer::start_with(|state| {
        *state = state.clone().with_company_name(COMPANY).with_receipt_config(config);
    })
    .await;
    server.grid_with_manager("g1", "zhang");
    server.admin(AdminCommand::CreateManager {
        id: "boss".into(),
        name: "管理员".into(),
        role: "admin".into(),
        password: Some(PASSWORD.into()),
    });
    let (session, csrf) = server.staff_session("boss", PASSWORD).await;
    (server, session, csrf)
}

async fn set_staff_no(server: &TestServer, session: &str, csrf: Option<&str>, manager: &str, no: &str) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/admin/api/admin/people/{manager}/staff-no", server.url))
        .header("origin", &server.url)
        .header("cookie", format!("gb_session={session}"))
        .json(&json!({ "staff_no": no }));
    if let Some(csrf) = csrf {
        req = req.header("x-csrf-token", csrf);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn after_a_sync_the_printed_copy_carries_the_servers_company_seal_and_check_and_the_managers_staff_number() {
    let (server, session, csrf) = configured().await;
    assert_eq!(set_staff_no(&server, &session, Some(&csrf), "zhang", "HN0731").await.0, 200);
    let phone = server.phone("zhang").await;
    let h = phone.store.create_household(household_n("g1", 1)).unwrap();
    phone.sync().await;

    let branding = phone.store.receipt_branding().unwrap();
    assert_eq!(branding.company_name, COMPANY);
    assert_eq!(branding.seal_png, Some(testing::seal_png()), "the seal fetched whole");
    assert_eq!(branding.verify_base_url.as_deref(), Some(CHECK));
    let collector = phone.store.collector_profile().unwrap();
    assert_eq!((collector.name.as_str(), collector.staff_no.as_str()), ("经理zhang", "HN0731"));

    let account = server.arrears("g1", &h.id, 30_000);
    phone.sync().await;
    let signed = phone.collect(testing::receipt("g1", &account, &h.id, ""));
    assert_eq!(signed.receipt.collector_staff_no, "HN0731", "signed with the receipt");
    let report = phone.sync().await;
    assert_eq!(report.rejected, 0);

    // what the apps print (ffi: receipt_printout / receipt_image use the branding the store holds)
    let copy = phone.store.receipt_copy(&signed.receipt.id, &phone.store.receipt_branding().unwrap()).unwrap();
    assert!(copy.html.contains(COMPANY), "the company's name heads the copy");
    assert!(copy.html.contains("工号 Staff No. HN0731"), "the staff number printed");
    assert!(copy.html.contains("class=\"seal\""), "the seal printed");
    let link = copy.verify_url.expect("the check's QR code");
    assert!(link.starts_with(&format!("{CHECK}/verify?no={}", signed.receipt.receipt_no)), "{link}");

    // the admin changes the staff number: the phone's next sync brings it, receipts sign it
    assert_eq!(set_staff_no(&server, &session, Some(&csrf), "zhang", "HN0732").await.0, 200);
    phone.sync().await;
    assert_eq!(phone.store.collector_profile().unwrap().staff_no, "HN0732");
    let next = phone.collect(testing::receipt("g1", &account, &h.id, ""));
    assert_eq!(next.receipt.collector_staff_no, "HN0732");
}

#[tokio::test]
async fn a_staff_number_is_an_admins_write_with_the_csrf_token_checked_and_audited() {
    let (server, session, csrf) = configured().await;
    assert_eq!(set_staff_no(&server, &session, None, "zhang", "HN0731").await.0, 403, "no CSRF token");
    let (status, body) = set_staff_no(&server, &session, Some(&csrf), "zhang", "HN 0731").await;
    assert_eq!(status, 422, "{body}");
    assert!(body["message"].as_str().unwrap().contains("工号") || body["message"].as_str().unwrap().contains("32"));
    assert_eq!(set_staff_no(&server, &session, Some(&csrf), "nobody", "HN0731").await.0, 404);
    let (status, body) = set_staff_no(&server, &session, Some(&csrf), "zhang", "HN0731").await;
    assert_eq!((status, body["changed"].as_bool()), (200, Some(true)));
    let (_, again) = set_staff_no(&server, &session, Some(&csrf), "zhang", "HN0731").await;
    assert_eq!(again["changed"].as_bool(), Some(false), "the same number again changes nothing");

    server.supervisor("sup1", PASSWORD);
    let (sup_session, sup_csrf) = server.staff_session("sup1", PASSWORD).await;
    assert_eq!(
        set_staff_no(&server, &sup_session, Some(&sup_csrf), "zhang", "X1").await.0,
        403,
        "a supervisor may not"
    );

    let audit = server.staff_get(&session, "/admin/api/admin/audit?action=staff_no_set").await;
    assert_eq!(audit["total"], 1, "{audit}");
    assert_eq!(audit["audit"][0]["subject"], "zhang");
    assert_eq!(audit["audit"][0]["actor"], "boss");
    let directory = server.staff_get(&session, "/admin/api/admin/directory").await;
    let zhang = directory["people"].as_array().unwrap().iter().find(|p| p["id"] == "zhang").unwrap();
    assert_eq!(zhang["staff_no"], "HN0731");
}

#[tokio::test]
async fn a_server_without_a_seal_answers_not_found_and_its_phones_print_without_one() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    let phone = server.phone("zhang").await;
    phone.sync().await;
    let branding = phone.store.receipt_branding().unwrap();
    assert_eq!(branding.seal_png, None);
    assert_eq!(branding.verify_base_url, None, "the check is the enrolled server's");
    assert!(!branding.company_name.is_empty(), "the server's default name");
    let resp = reqwest::Client::new()
        .get(format!("{}{PATH_RECEIPT_SEAL}", server.url))
        .bearer_auth(&phone.config.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let stranger = reqwest::Client::new().get(format!("{}{PATH_RECEIPT_SEAL}", server.url)).send().await.unwrap();
    assert_eq!(stranger.status().as_u16(), 401);
}

#[test]
fn a_seal_that_is_no_png_is_refused_when_the_server_starts() {
    let e = ReceiptConfig::new(None, Some(b"<svg/>".to_vec())).unwrap_err();
    assert!(e.contains("印章") && e.contains("seal"), "{e}");
}
