//! Issue 7 end to end over real HTTP: an admin logs in to the back office, imports an archive
//! sheet (XLSX) and an arrears sheet (GBK CSV as Excel saves it) into a grid; the grid manager's
//! phone pulls the households and accounts, and its arrears list and grid summary show them; the
//! exports agree with what the phone computes.

use gridbook_core::testing;
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::domain::spreadsheets::sheet::{self as spreadsheet, Cell};
use gridbook_tests::TestServer;
use reqwest::header;
use reqwest::redirect::Policy;
use serde_json::Value;

const PASSWORD: &str = "后台管理员-2026";

/// A back-office session over HTTP: (client, session cookie, CSRF token).
async fn log_in(server: &TestServer, id: &str) -> (reqwest::Client, String, String) {
    let client = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    let form = client.get(format!("{}/admin/login", server.url)).send().await.unwrap();
    let login_cookie = cookie(&form, "gb_login");
    let html = form.text().await.unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap().to_string();
    let done = client
        .post(format!("{}/admin/login", server.url))
        .header(header::COOKIE, format!("gb_login={login_cookie}"))
        .form(&[("id", id), ("password", PASSWORD), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303, "logged in");
    let session = format!("gb_session={}", cookie(&done, "gb_session"));
    let me: Value = client
        .get(format!("{}/admin/api/me", server.url))
        .header(header::COOKIE, &session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (client, session, me["csrf"].as_str().unwrap().to_string())
}

fn cookie(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")).map(|rest| rest.split(';').next().unwrap_or("").to_string()))
        .unwrap_or_else(|| panic!("no {name} cookie"))
}

#[tokio::test]
async fn sheets_imported_over_http_reach_the_phone_and_the_exports_agree_with_it() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    server
        .storage
        .create_manager(
            "adm",
            "管理员",
            Role::Admin,
            Some(&gridbook_sync_server::domain::password::hash_password(PASSWORD).unwrap()),
            0,
        )
        .unwrap();
    let (client, session, csrf) = log_in(&server, "adm").await;

    // the archive sheet, as XLSX
    let headers = ["楼宇", "单元", "房号", "客户名称", "手机", "证件号码", "公司业务", "其它运营商"];
    let row = |b: &str, u: &str, r: &str, name: &str, mobile: &str, id: &str, own: &str, rival: &str| {
        [b, u, r, name, mobile, id, own, rival].iter().map(|s| Cell::text(*s)).collect::<Vec<_>>()
    };
    let archive = spreadsheet::write_xlsx(
        "客户档案",
        &headers,
        &[
            row("3号楼", "1", "101", "王芳", "13812345678", "11010519491231002X", "宽带:073184000001", ""),
            row("3号楼", "1", "102", "李强", "13912345678", "", "", "中国移动:手机"),
            row("5号楼", "2", "201", "赵敏", "13712345678", "", "宽带:073184000003;手机:13712345678", ""),
        ],
    )
    .unwrap();
    let upload = |sheet: &'static str, body: Vec<u8>| {
        client
            .post(format!("{}/admin/api/import/{sheet}?grid=g1&file=sheet", server.url))
            .header(header::COOKIE, &session)
            .header("x-csrf-token", &csrf)
            .body(body)
            .send()
    };
    let resp = upload("archives", archive).await.unwrap();
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().await.unwrap();
    assert_eq!(
        (report["created"].as_u64(), report["refused_rows"].as_u64(), report["premises_created"].as_u64()),
        (Some(3), Some(0), Some(2)),
        "{report}"
    );

    // the arrears sheet, as Excel saves a CSV on a Chinese Windows (GBK)
    let arrears = "账号,业务号码,付费类型,欠费金额(元),欠费月数\r\nACC-101,13812345678,后付费,\"1,234.50\",3\r\nACC-102,13912345678,预付费,8.8,1\r\nACC-999,13000000000,后付费,5,1\r\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(arrears);
    let resp = upload("arrears", gbk.into_owned()).await.unwrap();
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().await.unwrap();
    assert_eq!((report["created"].as_u64(), report["refused_rows"].as_u64()), (Some(2), Some(1)), "{report}");
    assert_eq!(report["refused"][0]["row"].as_u64(), Some(4));
    assert!(report["refused"][0]["reason_zh"].as_str().unwrap().contains("找不到对应的客户档案"), "{report}");

    // the phone pulls them like any change
    let phone = server.phone("zhang").await;
    phone.sync().await;
    let list = phone.store.grid_arrears("g1").unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[0].customer_name.as_str(), list[0].account.owed_fen, list[0].account.months_overdue),
        ("王芳", 123_450, 3)
    );
    assert_eq!((list[1].customer_name.as_str(), list[1].account.owed_fen), ("李强", 880));

    // a visit recorded on the phone is in the visits export
    let wang = list[0].account.household_id.clone();
    phone.store.record_visit(testing::visit("g1", &wang)).unwrap();
    phone.sync().await;
    let download = |path: String| client.get(format!("{}{path}", server.url)).header(header::COOKIE, &session).send();
    let visits = download("/admin/api/export/visits?grid=g1&format=xlsx".into()).await.unwrap();
    assert_eq!(visits.status(), 200);
    let visits = spreadsheet::read(&visits.bytes().await.unwrap()).unwrap();
    assert_eq!(visits.rows.len(), 1);
    // the customer's name masked as on screen; an admin's full export (audited) names them
    assert_eq!(visits.rows[0].cells[visits.column("客户名称").unwrap()], "王*");
    let full = download("/admin/api/export/visits?grid=g1&format=xlsx&full=true".into()).await.unwrap();
    assert_eq!(full.status(), 200);
    let full = spreadsheet::read(&full.bytes().await.unwrap()).unwrap();
    assert_eq!(full.rows[0].cells[full.column("客户名称").unwrap()], "王芳");

    // the summary export and the phone's grid summary are the same computation
    let on_phone = phone.store.grid_summary("g1").unwrap();
    let summary = download("/admin/api/export/summary?grid=g1&format=csv".into()).await.unwrap();
    let summary = spreadsheet::read(&summary.bytes().await.unwrap()).unwrap();
    let whole = &summary.rows[0].cells;
    let at = |name: &str| whole[summary.column(name).unwrap()].clone();
    assert_eq!(at("户数"), on_phone.households.to_string());
    assert_eq!(at("楼宇"), on_phone.buildings.to_string());
    assert_eq!(at("潜在客户(无本网业务)"), on_phone.prospects.to_string());
    let broadband = on_phone.own_products.iter().find(|p| p.name == "broadband").unwrap();
    assert_eq!(at("宽带用户"), broadband.households.to_string());
    assert_eq!(at("宽带占有率"), format!("{}.{:02}%", broadband.penetration_bp / 100, broadband.penetration_bp % 100));

    // the supervisor's role: export masked, never import
    let _ = server.storage.create_manager(
        "sup",
        "主管",
        Role::Supervisor,
        Some(&gridbook_sync_server::domain::password::hash_password(PASSWORD).unwrap()),
        0,
    );
    // a supervisor sees the grids assigned to them, and exports only those
    server.storage.assign_grid("sup", "g1").unwrap();
    let (client, session, csrf) = log_in(&server, "sup").await;
    let refused = client
        .post(format!("{}/admin/api/import/archives?grid=g1", server.url))
        .header(header::COOKIE, &session)
        .header("x-csrf-token", &csrf)
        .body("楼宇,客户名称\n3号楼,新户\n")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let archives = client
        .get(format!("{}/admin/api/export/archives?grid=g1&format=csv", server.url))
        .header(header::COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(archives.status(), 200);
    let text = archives.text().await.unwrap();
    // masked as the household page masks for a supervisor: the surname only, the phone masked
    assert!(
        text.contains("王*") && !text.contains("王芳") && !text.contains("13812345678") && text.contains("138****5678")
    );
}
