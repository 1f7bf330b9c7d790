//! Importing and exporting the back office's sheets on a real SQLite file: every refusal reason of
//! the report, dry runs, idempotent re-imports with field-level updates, exact yuan → fen, the
//! export → import round trip, and the endpoints through `oneshot` (session, role, CSRF, bad
//! input, oversized bodies, masking and the audit of unmasked exports).

use crate::common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::Server;
use gridbook_core::EntityKind;
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::domain::spreadsheets::export::{export, Dataset, ExportRequest};
use gridbook_sync_server::domain::spreadsheets::sheet::{self as spreadsheet, Format};
use gridbook_sync_server::domain::spreadsheets::{import, ImportReport, SheetKind, Upload};
use gridbook_sync_server::now_ms;
use serde_json::Value;

const ARCHIVES: &[&str] = &[
    "档案编号,楼宇类型,小区,楼宇,单元,楼层,房号,客户名称,手机,证件类型,证件号码,公司业务,其它运营商,客户等级,生日,备注,备用列",
    ",楼宇,幸福小区,3号楼,2,3,301,王芳,13812345678,身份证,11010519491231002X,宽带:073184567890;手机:13812345678,,高端,1949-12-31,,x",
    ",,幸福小区,3号楼,2单元,3,302室,李强,13912345678,,430102198001011233,融合:0731-84000001,中国移动:手机,中端,,,",
    ",平房,,东街平房,,,12号,赵六,,,,,广电:宽带,,,,",
    ",,,3号楼,2,,301,重复户,,,,,,,,,",
    ",,,3号楼,2,,303,错证件,,身份证,110105194912310021,,,,,,",
    ",,,3号楼,2,,304,错手机,1381234567,,,,,,,,",
    ",,,3号楼,2,,305,错类型,,军官证,123,,,,,,",
    ",,,3号楼,2,abc,306,错楼层,,,,,,,,,",
    ",,,3号楼,2,,307,错生日,,,,,,,2024-13-01,,",
    ",,,,,,,无地址,,,,,,,,,",
    "NO-SUCH,,,3号楼,2,,308,未知档案,,,,,,,,,",
    ",,,3号楼,2,,309,,,,,,,,,,",
];

const ARREARS: &[&str] = &[
    "账号,业务号码,付费类型,欠费金额(元),欠费月数,余额(元),证件号码,楼宇,单元,房号",
    "ACC-1,13812345678,后付费,\"1,234.50\",3,,,,,",
    "ACC-2,,预付费,12.3,1,-5.00,430102198001011233,,,",
    "ACC-3,,后付费,abc,2,,,3号楼,2,301",
    "ACC-4,,后付费,-1,2,,,3号楼,2,301",
    "ACC-5,,后付费,1.234,2,,,3号楼,2,301",
    "ACC-6,,月付,5,2,,,3号楼,2,301",
    "ACC-7,,后付费,5,2,,,9号楼,1,101",
    "ACC-1,,后付费,5,2,,,3号楼,2,301",
    "ACC-8,,后付费,80,两,,,3号楼,2,302",
];

fn csv(lines: &[&str]) -> Vec<u8> {
    lines.join("\r\n").into_bytes()
}

/// The server with grids g1 and g2, and what these tests do with it.
struct Fixture(Server);

impl std::ops::Deref for Fixture {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.0
    }
}

/// Grids g1 and g2, and the supervisor (id "supervisor", as `Fixture::staff` logs in) who watches g1.
fn fixture() -> Fixture {
    Fixture(
        Server::new()
            .grid("g1", "幸福里网格")
            .grid("g2", "人民路网格")
            .manager("supervisor", "王主管", Role::Supervisor, None)
            .assign("supervisor", "g1"),
    )
}

impl Fixture {
    fn import(&self, kind: SheetKind, bytes: &[u8], dry_run: bool) -> ImportReport {
        let upload = Upload { kind, grid: "g1", bytes, dry_run, actor: "adm", file: "sheet.csv" };
        import(self.storage.as_ref(), &upload, now_ms()).unwrap()
    }
    fn live(&self, kind: EntityKind) -> Vec<gridbook_core::sync::wire::EntityState> {
        self.storage.grid_records(kind, "g1").unwrap().into_iter().filter(|s| !s.deleted()).collect()
    }
    fn household_named(&self, name: &str) -> gridbook_core::sync::wire::EntityState {
        self.live(EntityKind::Household).into_iter().find(|h| h.values["customer_name"] == name).unwrap()
    }
}

/// The refusals of a row, as (column, value, English reason).
fn refusals(report: &ImportReport, row: usize) -> Vec<(String, String, String)> {
    report
        .refused
        .iter()
        .filter(|r| r.row == row)
        .map(|r| (r.column.clone(), r.value.clone(), r.reason_en.clone()))
        .collect()
}

#[test]
fn an_archive_import_reports_each_refused_row_with_its_reason() {
    let f = fixture();
    let report = f.import(SheetKind::Archives, &csv(ARCHIVES), false);
    assert_eq!((report.rows, report.created, report.updated, report.refused_rows), (12, 3, 0, 9), "{report:#?}");
    assert_eq!(report.premises_created, 2, "3号楼 once, 东街平房 once");
    assert_eq!(report.unknown_columns, ["备用列"]);
    assert!(report.refused.iter().all(|r| !r.reason_zh.is_empty() && !r.reason_en.is_empty()));
    assert!(refusals(&report, 5)[0].2.contains("same household as row 2"), "{:?}", refusals(&report, 5));
    let (column, value, reason) = &refusals(&report, 6)[0];
    assert_eq!((column.as_str(), value.as_str()), ("证件号码", "1101**********0021"), "masked in the report");
    assert!(reason.contains("check digit"), "{reason}");
    let (column, value, _) = &refusals(&report, 7)[0];
    assert_eq!(column, "手机");
    assert!(!value.contains("1234"), "a phone is masked: {value}");
    assert_eq!(refusals(&report, 8)[0].0, "证件类型");
    assert_eq!(refusals(&report, 9)[0].0, "楼层");
    assert_eq!(refusals(&report, 10)[0].0, "生日");
    assert_eq!(refusals(&report, 11)[0].0, "楼宇");
    assert_eq!(refusals(&report, 12)[0].0, "档案编号");
    assert!(refusals(&report, 13)[0].2.contains("customer_name"), "core's rule: {:?}", refusals(&report, 13));

    // what was accepted is stored as the phone would have it
    let wang = f.household_named("王芳");
    assert_eq!(wang.values["id_type"], "resident_id");
    assert_eq!(wang.values["tier"], "high");
    assert_eq!(wang.values["address"], "幸福小区3号楼2单元301");
    assert_eq!(wang.values["services"][0]["product"], "broadband");
    let li = f.household_named("李强");
    assert_eq!(li.values["id_type"], "resident_id", "an 18-character number with no type is a resident ID");
    assert_eq!(li.values["premises_id"], wang.values["premises_id"], "one building");
    let premises = f.live(EntityKind::Premises);
    assert!(premises.iter().any(|p| p.values["name"] == "东街平房" && p.values["premises_type"] == "bungalow"));
    let audit = f.storage.audit_log(Some("g1"), 10).unwrap();
    assert_eq!(audit[0].action, "import_archives");
    assert!(!audit[0].detail.contains("1381"), "no personal values in the audit trail");
}

#[test]
fn a_dry_run_reports_without_writing() {
    let f = fixture();
    let report = f.import(SheetKind::Archives, &csv(ARCHIVES), true);
    assert_eq!((report.created, report.refused_rows, report.premises_created), (3, 9, 2));
    assert!(report.ops > 0);
    assert!(f.live(EntityKind::Household).is_empty() && f.live(EntityKind::Premises).is_empty());
}

#[test]
fn importing_the_same_sheet_again_changes_nothing_and_a_changed_cell_is_one_field() {
    let f = fixture();
    f.import(SheetKind::Archives, &csv(ARCHIVES), false);
    let before = f.household_named("王芳");
    let again = f.import(SheetKind::Archives, &csv(ARCHIVES), false);
    assert_eq!((again.created, again.updated, again.unchanged, again.ops, again.premises_created), (0, 0, 3, 0, 0));
    assert_eq!(f.live(EntityKind::Household).len(), 3);

    let mut changed: Vec<String> = ARCHIVES.iter().map(|s| s.to_string()).collect();
    changed[1] = changed[1].replace(",13812345678,身份证", ",13800000000,身份证");
    let lines: Vec<&str> = changed.iter().map(String::as_str).collect();
    let third = f.import(SheetKind::Archives, &csv(&lines), false);
    assert_eq!((third.updated, third.unchanged, third.ops), (1, 2, 1));
    let after = f.household_named("王芳");
    assert_eq!(after.id, before.id);
    assert_eq!(after.values["mobile"], "13800000000");
    assert_eq!(after.base, before.base);
    assert!(after.clocks.get("mobile") > before.base.as_ref(), "the changed field has a new stamp");
    assert_eq!(after.clocks.len(), before.clocks.len() + 1, "and no other field was written: {:?}", after.clocks);

    // a blank cell erases nothing (the manager's notes from the phone stay)
    let blanks = ["客户名称,楼宇,单元,房号,手机", "王芳,3号楼,2,301,"];
    let fourth = f.import(SheetKind::Archives, &csv(&blanks), false);
    assert_eq!(fourth.unchanged, 1);
    assert_eq!(f.household_named("王芳").values["mobile"], "13800000000");
}

#[test]
fn arrears_import_converts_yuan_to_exact_fen_and_refuses_what_it_cannot_read() {
    let f = fixture();
    f.import(SheetKind::Archives, &csv(ARCHIVES), false);
    let report = f.import(SheetKind::Arrears, &csv(ARREARS), false);
    assert_eq!((report.rows, report.created, report.refused_rows), (9, 2, 7), "{report:#?}");
    assert!(refusals(&report, 4)[0].2.contains("not a number"));
    assert!(refusals(&report, 5)[0].2.contains("owed_fen: must not be negative"), "{:?}", refusals(&report, 5));
    assert!(refusals(&report, 6)[0].2.contains("at most 2 decimals"));
    assert_eq!(refusals(&report, 7)[0].0, "付费类型");
    assert!(refusals(&report, 8)[0].2.contains("no household archive matches"));
    assert!(refusals(&report, 9)[0].2.contains("same account as row 2"));
    assert_eq!(refusals(&report, 10)[0].0, "欠费月数");

    let accounts = f.live(EntityKind::ArrearsAccount);
    let acc = |no: &str| accounts.iter().find(|a| a.values["account_no"] == no).unwrap().clone();
    let wang = f.household_named("王芳");
    let li = f.household_named("李强");
    assert_eq!(
        (acc("ACC-1").values["owed_fen"].as_i64(), acc("ACC-1").values["household_id"].as_str()),
        (Some(123_450), Some(wang.id.as_str())),
        "found by service number"
    );
    assert_eq!(acc("ACC-1").values["payment_type"], "postpaid");
    assert_eq!(
        (acc("ACC-2").values["owed_fen"].as_i64(), acc("ACC-2").values["balance_fen"].as_i64()),
        (Some(1_230), Some(-500))
    );
    assert_eq!(acc("ACC-2").values["household_id"].as_str(), Some(li.id.as_str()), "found by ID number");

    let again = f.import(SheetKind::Arrears, &csv(ARREARS), false);
    assert_eq!(
        (again.created, again.updated, again.unchanged, again.ops),
        (0, 0, 2, 0),
        "the figures' date does not move by itself"
    );
    let paid = ["账号,付费类型,欠费金额(元),欠费月数", "ACC-1,后付费,0,0"];
    let third = f.import(SheetKind::Arrears, &csv(&paid), false);
    assert_eq!((third.updated, third.ops), (1, 1));
    let now = f.live(EntityKind::ArrearsAccount).into_iter().find(|a| a.values["account_no"] == "ACC-1").unwrap();
    assert_eq!(now.values["owed_fen"], 0);
    assert!(now.values["as_of_ms"].as_i64() >= acc("ACC-1").values["as_of_ms"].as_i64());
}

#[test]
fn an_exported_archive_imports_back_unchanged_in_both_formats() {
    let f = fixture();
    f.import(SheetKind::Archives, &csv(ARCHIVES), false);
    for format in [Format::Csv, Format::Xlsx] {
        let req =
            ExportRequest { dataset: Dataset::Archives, grid: "g1".into(), format, from: None, to: None, full: true };
        let out = export(f.storage.as_ref(), &req, "adm", now_ms()).unwrap();
        assert_eq!(out.rows, 3);
        let back = f.import(SheetKind::Archives, &out.bytes, false);
        assert_eq!(
            (back.created, back.updated, back.unchanged, back.refused_rows),
            (0, 0, 3, 0),
            "{format:?}: {back:#?}"
        );
    }
    assert!(f
        .storage
        .audit_log(Some("g1"), 20)
        .unwrap()
        .iter()
        .any(|a| a.action == "export_unmasked" && a.actor == "adm"));

    // masked by default: the ID number is not in the file
    let req = ExportRequest {
        dataset: Dataset::Archives,
        grid: "g1".into(),
        format: Format::Csv,
        from: None,
        to: None,
        full: false,
    };
    let masked = String::from_utf8(export(f.storage.as_ref(), &req, "sup", now_ms()).unwrap().bytes).unwrap();
    assert!(masked.contains("1101**********002X") && !masked.contains("11010519491231002X"), "{masked}");
    assert!(masked.contains("138****5678"));
}

#[test]
fn the_grid_summary_export_counts_per_grid_and_per_building() {
    let f = fixture();
    f.import(SheetKind::Archives, &csv(ARCHIVES), false);
    let req = ExportRequest {
        dataset: Dataset::Summary,
        grid: "g1".into(),
        format: Format::Xlsx,
        from: None,
        to: None,
        full: false,
    };
    let sheet = spreadsheet::read(&export(f.storage.as_ref(), &req, "sup", now_ms()).unwrap().bytes).unwrap();
    let col = |name: &str| sheet.column(name).unwrap_or_else(|| panic!("no column {name}: {:?}", sheet.headers));
    let whole = &sheet.rows[0].cells;
    assert_eq!(
        (whole[col("户数")].as_str(), whole[col("楼宇")].as_str(), whole[col("平房")].as_str()),
        ("3", "1", "1")
    );
    assert_eq!(whole[col("宽带用户")], "1");
    assert_eq!(whole[col("宽带占有率")], "33.33%");
    assert_eq!(whole[col("中国移动用户")], "1");
    let building = sheet.rows.iter().find(|r| r.cells[0] == "3号楼").unwrap();
    assert_eq!((building.cells[col("户数")].as_str(), building.cells[col("宽带占有率")].as_str()), ("2", "50.00%"));
}

// ---- the endpoints ----

fn web() -> Fixture {
    fixture()
}

impl Fixture {
    /// A logged-in staff member: (session cookie, CSRF token).
    fn staff(&self, role: Role) -> (String, String) {
        let (token, csrf) = self.session(role.as_str(), role);
        (format!("gb_session={token}"), csrf)
    }

    async fn request(&self, req: Request<Body>) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
        let reply = self.send(req).await;
        (reply.status, reply.body, reply.headers)
    }

    async fn upload(
        &self,
        path: &str,
        who: Option<&(String, String)>,
        csrf: bool,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/octet-stream");
        if let Some((cookie, token)) = who {
            req = req.header(header::COOKIE, cookie);
            if csrf {
                req = req.header("x-csrf-token", token);
            }
        }
        let (status, body, _) = self.request(req.body(Body::from(body)).unwrap()).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    async fn download(&self, path: &str, who: &(String, String)) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
        self.request(Request::get(path).header(header::COOKIE, &who.0).body(Body::empty()).unwrap()).await
    }
}

#[tokio::test]
async fn import_is_for_admins_with_the_csrf_token_and_answers_the_report() {
    let w = web();
    let admin = w.staff(Role::Admin);
    let sup = w.staff(Role::Supervisor);
    let path = "/admin/api/import/archives?grid=g1&file=%E6%A1%A3%E6%A1%88.csv";
    let (status, body) = w.upload(path, None, false, csv(ARCHIVES)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    let req = Request::post(path)
        .header(header::AUTHORIZATION, "Bearer some-device-token")
        .body(Body::from(csv(ARCHIVES)))
        .unwrap();
    assert_eq!(w.request(req).await.0, StatusCode::UNAUTHORIZED, "a device token is not a back-office session");
    let (status, body) = w.upload(path, Some(&admin), false, csv(ARCHIVES)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "no CSRF token");
    let (status, body) = w.upload(path, Some(&sup), true, csv(ARCHIVES)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a supervisor may not import: {body}");
    assert!(w.live(EntityKind::Household).is_empty());

    let (status, report) = w.upload(&format!("{path}&dry_run=true"), Some(&admin), true, csv(ARCHIVES)).await;
    assert_eq!(
        (status, report["dry_run"].as_bool(), report["created"].as_u64()),
        (StatusCode::OK, Some(true), Some(3))
    );
    assert!(w.live(EntityKind::Household).is_empty());
    let (status, report) = w.upload(path, Some(&admin), true, csv(ARCHIVES)).await;
    assert_eq!(
        (status, report["created"].as_u64(), report["refused_rows"].as_u64()),
        (StatusCode::OK, Some(3), Some(9))
    );
    let first = &report["refused"][0];
    assert_eq!((first["row"].as_u64(), first["column"].as_str()), (Some(5), Some("")));
    assert!(first["reason_zh"].as_str().unwrap().contains("第2行"));
    assert_eq!(w.live(EntityKind::Household).len(), 3);
}

#[tokio::test]
async fn bad_sheets_get_a_clear_4xx() {
    let w = web();
    let admin = w.staff(Role::Admin);
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "/admin/api/import/archives?grid=g1",
            b"\x00\x01\x02\x03 not a sheet".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_a_spreadsheet",
        ),
        (
            "/admin/api/import/archives?grid=g1",
            b"PK\x03\x04 a broken zip".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_a_spreadsheet",
        ),
        (
            "/admin/api/import/archives?grid=g1",
            b"foo,phone\nWang,1\n".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_columns",
        ),
        ("/admin/api/import/arrears?grid=g1", csv(ARCHIVES), StatusCode::UNPROCESSABLE_ENTITY, "missing_columns"),
        ("/admin/api/import/archives?grid=nowhere", csv(ARCHIVES), StatusCode::NOT_FOUND, "not_found"),
        ("/admin/api/import/archives", csv(ARCHIVES), StatusCode::BAD_REQUEST, "bad_query"),
        ("/admin/api/import/archives?grid=g1&dry_run=perhaps", csv(ARCHIVES), StatusCode::BAD_REQUEST, "bad_query"),
        ("/admin/api/import/billing?grid=g1", csv(ARCHIVES), StatusCode::NOT_FOUND, "not_found"),
        (
            "/admin/api/import/archives?grid=g1",
            vec![b'a'; 8 * 1024 * 1024 + 1],
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
    ];
    for (path, body, status, code) in cases {
        let (got, answer) = w.upload(path, Some(&admin), true, body).await;
        assert_eq!((got, answer["code"].as_str()), (status, Some(code)), "{path}: {answer}");
        assert!(!answer["message"].as_str().unwrap_or("").is_empty());
    }
    let (_, answer) = w.upload("/admin/api/import/archives?grid=g1", Some(&admin), true, b"foo,phone\n".to_vec()).await;
    assert!(
        answer["message"].as_str().unwrap().contains("客户名称 (customer_name)"),
        "names the missing columns: {answer}"
    );
}

#[tokio::test]
async fn supervisors_export_masked_and_only_admins_in_full_with_an_audit_row() {
    let w = web();
    w.import(SheetKind::Archives, &csv(ARCHIVES), false);
    let sup = w.staff(Role::Supervisor);
    let admin = w.staff(Role::Admin);
    let (status, body, headers) = w.download("/admin/api/export/archives?grid=g1&format=csv", &sup).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert!(headers[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment; filename=\"archives-g1-"));
    assert!(body.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(body).unwrap();
    // masked exactly as the household page masks for the same role: the surname only
    assert!(text.contains("王*") && !text.contains("王芳"), "{text}");
    assert!(text.contains("1101**********002X") && !text.contains("11010519491231002X"));
    let (_, page, _) = w.download("/admin/api/households?grid=g1&limit=500", &sup).await;
    let page: Value = serde_json::from_slice(&page).unwrap();
    for row in page["rows"].as_array().unwrap() {
        let (name, mobile) = (row["customer_name"].as_str().unwrap(), row["mobile"].as_str().unwrap());
        assert!(text.contains(&format!(",{name},")), "the export names {name} as the page does: {text}");
        assert!(mobile.is_empty() || text.contains(mobile), "the export shows {mobile} as the page does");
    }
    // a grid that is not the supervisor's exports as no grid at all
    assert_eq!(w.download("/admin/api/export/archives?grid=g2", &sup).await.0, StatusCode::NOT_FOUND);
    let (status, body, _) = w.download("/admin/api/export/archives?grid=g1&full=true", &sup).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&body));
    assert!(w.storage.audit_log(Some("g1"), 10).unwrap().iter().all(|a| a.action != "export_unmasked"));

    let (status, body, headers) = w.download("/admin/api/export/archives?grid=g1&format=xlsx&full=true", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], Format::Xlsx.content_type());
    let sheet = spreadsheet::read(&body).unwrap();
    assert!(sheet.rows.iter().any(|r| r.cells.iter().any(|c| c == "11010519491231002X")));
    let audit = w.storage.audit_log(Some("g1"), 10).unwrap();
    assert!(audit.iter().any(|a| a.action == "export_unmasked" && a.actor == "admin"), "{audit:?}");

    for path in [
        "/admin/api/export/visits?grid=g1&format=csv&from=2026-01-01&to=2026-12-31",
        "/admin/api/export/receipts?grid=g1",
        "/admin/api/export/summary?grid=g1&format=csv",
    ] {
        assert_eq!(w.download(path, &sup).await.0, StatusCode::OK, "{path}");
    }
    for (path, status) in [
        ("/admin/api/export/archives?grid=g1&format=pdf", StatusCode::BAD_REQUEST),
        ("/admin/api/export/visits?grid=g1&from=yesterday", StatusCode::BAD_REQUEST),
        ("/admin/api/export/archives", StatusCode::BAD_REQUEST),
        ("/admin/api/export/archives?grid=nowhere", StatusCode::NOT_FOUND),
        ("/admin/api/export/passwords?grid=g1", StatusCode::NOT_FOUND),
    ] {
        let (got, body, _) = w.download(path, &sup).await;
        let answer: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(got, status, "{path}: {answer}");
        assert!(answer["code"].is_string() && answer["message"].is_string());
    }
    let (status, _, _) = w.download("/admin/api/import/arrears/template?format=csv", &sup).await;
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn the_admin_commands_import_and_export_files() {
    use clap::Parser;
    use gridbook_sync_server::cli::admin::{run, AdminCommand};
    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: AdminCommand,
    }
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("档案.csv");
    std::fs::write(&sheet, csv(ARCHIVES)).unwrap();
    let command =
        |args: &[&str]| Cli::try_parse_from(std::iter::once("admin").chain(args.iter().copied())).unwrap().command;
    let sheet_arg = sheet.to_str().unwrap();
    let dry = run(
        f.storage.as_ref(),
        command(&["import-archives", "--grid", "g1", "--file", sheet_arg, "--dry-run"]),
        now_ms(),
    )
    .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&dry).unwrap()["dry_run"], true);
    assert!(f.live(EntityKind::Household).is_empty());
    let done: Value = serde_json::from_str(
        &run(
            f.storage.as_ref(),
            command(&["import-archives", "--grid", "g1", "--file", sheet_arg, "--by", "wangli"]),
            now_ms(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!((done["created"].as_u64(), done["refused_rows"].as_u64()), (Some(3), Some(9)));
    assert_eq!(f.storage.audit_log(Some("g1"), 1).unwrap()[0].actor, "wangli");

    let out = dir.path().join("汇总.xlsx");
    let said = run(
        f.storage.as_ref(),
        command(&["export", "--what", "summary", "--grid", "g1", "--out", out.to_str().unwrap()]),
        now_ms(),
    )
    .unwrap();
    assert!(said.starts_with("3 rows written"), "the grid and its two buildings: {said}");
    assert_eq!(spreadsheet::read(&std::fs::read(&out).unwrap()).unwrap().rows[0].cells[1], "3");
    let bad =
        run(f.storage.as_ref(), command(&["export", "--what", "archives", "--grid", "g1", "--out", "x.pdf"]), now_ms())
            .unwrap_err();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let missing = run(
        f.storage.as_ref(),
        command(&["import-arrears", "--grid", "g1", "--file", "/nonexistent/欠费.csv"]),
        now_ms(),
    )
    .unwrap_err();
    assert!(missing.message.contains("/nonexistent/欠费.csv"));
}

#[tokio::test]
async fn every_export_that_names_customers_is_audited_even_masked() {
    let w = web();
    w.import(SheetKind::Archives, &csv(ARCHIVES), false);
    let sup = w.staff(Role::Supervisor);
    let exports = |w: &Fixture| {
        w.storage.audit_log(Some("g1"), 50).unwrap().into_iter().filter(|a| a.action == "export").collect::<Vec<_>>()
    };
    assert!(exports(&w).is_empty());
    for (path, dataset) in [
        ("/admin/api/export/archives?grid=g1&format=csv", "archives"),
        ("/admin/api/export/visits?grid=g1", "visits"),
        ("/admin/api/export/receipts?grid=g1&format=xlsx", "receipts"),
    ] {
        let (status, body, _) = w.download(path, &sup).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let newest = exports(&w).into_iter().next().unwrap();
        assert_eq!((newest.actor.as_str(), newest.subject.as_str()), ("supervisor", "g1"), "{path}");
        assert!(newest.detail.starts_with(dataset) && newest.at_ms > 0, "{newest:?}");
        assert!(!newest.detail.contains("王芳"), "no personal values in the trail");
        drop(body);
    }
    assert_eq!(exports(&w).len(), 3);
    // the summary names no one: no reveal, no row
    assert_eq!(w.download("/admin/api/export/summary?grid=g1&format=csv", &sup).await.0, StatusCode::OK);
    assert_eq!(exports(&w).len(), 3);
}
