//! Administration in the browser (issue 18) through the real router, on the backend
//! GRIDBOOK_TEST_BACKEND names: an enrolment code issued in the page, shown once with its QR
//! code, that a phone then enrols with; a device revoked; both an admin's, with the CSRF token,
//! and audited.

use crate::common;

use axum::body::Body;
use axum::http::{header, StatusCode};
use common::{audited, sql_text, staff_post as post, staff_request, Server};
use gridbook_core::sync::wire::{EnrolRequest, PROTOCOL_VERSION};
use gridbook_sync_server::domain::auth::Role;
use serde_json::json;

fn fixture() -> Server {
    Server::new()
        .grid("g1", "幸福里网格")
        .manager("zhang", "张伟", Role::Field, None)
        .assign("zhang", "g1")
        .manager("sup", "王主管", Role::Supervisor, None)
        .manager("root", "系统管理员", Role::Admin, None)
}

#[tokio::test]
async fn an_admin_issues_an_enrolment_code_with_its_qr_code_and_the_phone_enrols_with_it() {
    let f = fixture();
    let (root, sup) = (f.session("root", Role::Admin), f.session("sup", Role::Supervisor));
    let path = "/admin/api/admin/enrol-codes";

    let refused = post(&f, path, &sup, json!({"manager_id": "zhang"})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "a supervisor issues no codes");
    let stale = post(&f, path, &(root.0.clone(), "stale".into()), json!({"manager_id": "zhang"})).await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    assert_eq!(post(&f, path, &root, json!({"manager_id": "nobody"})).await.status, StatusCode::NOT_FOUND);
    let hours = post(&f, path, &root, json!({"manager_id": "zhang", "valid_hours": 0})).await;
    assert_eq!(hours.status, StatusCode::UNPROCESSABLE_ENTITY);

    let issued = post(&f, path, &root, json!({"manager_id": "zhang", "valid_hours": 2})).await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.text());
    let issued = issued.json();
    let code = issued["code"].as_str().unwrap().to_string();
    assert!(!code.is_empty());
    let qr_text = issued["qr_text"].as_str().unwrap();
    assert!(qr_text.starts_with("gridbook://enrol?server=http%3A%2F%2F127.0.0.1%3A8080&code="), "{qr_text}");
    assert!(qr_text.ends_with(&format!("&code={code}")), "{qr_text}");
    let svg = issued["qr_svg"].as_str().unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<path"), "{svg}");
    assert_eq!(audited(&f, "enrol_code_issued", "zhang"), 1);
    assert!(
        f.count(&format!("SELECT count(*) FROM audit_log WHERE detail LIKE {}", sql_text(&format!("%{code}%")))) == 0
    );

    let enrol = EnrolRequest {
        protocol: PROTOCOL_VERSION,
        code,
        device_id: "phone_z".into(),
        app_version: "2.1.0".into(),
        public_key: None,
    };
    let enrolled = f.send(common::json_post("/v1/enrol", &enrol)).await;
    assert_eq!(enrolled.status, StatusCode::OK, "the code enrols the phone: {}", enrolled.text());
    let again = f.send(common::json_post("/v1/enrol", &EnrolRequest { device_id: "phone_y".into(), ..enrol })).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "once");
}

#[tokio::test]
async fn an_admin_revokes_a_device_and_it_syncs_no_more() {
    let f = fixture();
    let token = f.device("zhang", "phone_z");
    let (root, sup) = (f.session("root", Role::Admin), f.session("sup", Role::Supervisor));
    let path = "/admin/api/admin/devices/phone_z/revoke";
    assert_eq!(post(&f, path, &sup, json!({})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(post(&f, "/admin/api/admin/devices/nope/revoke", &root, json!({})).await.status, StatusCode::NOT_FOUND);
    let done = post(&f, path, &root, json!({})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert_eq!(audited(&f, "device_revoked", "phone_z"), 1);
    let pull = axum::http::Request::get("/v1/pull?cursor=0")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(f.send(pull).await.status, StatusCode::UNAUTHORIZED);

    // the audit trail, filtered, for any staff member
    let get = |path: &str, who: &(String, String)| f.send(staff_request("GET", path, who).body(Body::empty()).unwrap());
    let revoked = get("/admin/api/admin/audit?action=device_revoked", &sup).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
    let rows = revoked.json()["audit"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0]["subject"].as_str(), rows[0]["actor"].as_str()), (Some("phone_z"), Some("root")));
    assert_eq!(get("/admin/api/admin/audit?actor=sup", &sup).await.json()["audit"], json!([]), "sup changed nothing");
    let by_subject = get("/admin/api/admin/audit?subject=phone_z&limit=5", &root).await.json();
    assert!(by_subject["audit"].as_array().unwrap().iter().all(|r| r["subject"] == "phone_z"));
    assert_eq!(get("/admin/api/admin/audit?limit=x", &root).await.status, StatusCode::BAD_REQUEST);
    let page = f.send(staff_request("GET", "/admin/administration", &root).body(Body::empty()).unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("手机注册码"));
}
