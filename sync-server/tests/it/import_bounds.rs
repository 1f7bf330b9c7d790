//! Spreadsheet imports are bounded by the data a file holds, not by what it claims: a 2 KB XLSX
//! whose sheet declares A1:XFD1048576 (or puts one cell there) is refused with a typed reason through
//! the HTTP dry run and the admin command, and the process's peak memory barely moves.

use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::{app, now_ms, AppState, SqliteStorage, SyncStorage};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// A minimal workbook of one sheet: `dimension` is what the sheet claims (None: no claim), `cells`
/// are (reference, number) pairs.
fn xlsx(dimension: Option<&str>, cells: &[(&str, i64)]) -> Vec<u8> {
    let dim = dimension.map(|d| format!(r#"<dimension ref="{d}"/>"#)).unwrap_or_default();
    let cells: String = cells.iter().map(|(at, v)| format!(r#"<row><c r="{at}"><v>{v}</v></c></row>"#)).collect();
    let files = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#.to_string(),
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_string(),
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#.to_string(),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#.to_string(),
        ),
        (
            "xl/worksheets/sheet1.xml",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{dim}<sheetData>{cells}</sheetData></worksheet>"#
            ),
        ),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, text) in files {
        zip.start_file(name, stored).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// The process's peak resident set so far, in KiB (Linux's VmHWM).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// What a refused import may cost at most; the declared A1:XFD1048576 area would be 17 billion
/// cells (23.8 GB before the fix), A1:J1048576 ten million (~600 MB).
const PEAK_GROWTH_BOUND_KIB: u64 = 64 * 1024;

fn hostile_files() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    vec![
        ("declares A1:XFD1048576", xlsx(Some("A1:XFD1048576"), &[("A1", 1), ("XFD1048576", 2)]), "too_many_columns"),
        ("declares A1:J1048576", xlsx(Some("A1:J1048576"), &[("A1", 1), ("J1048576", 2)]), "too_many_rows"),
        ("a cell at XFD1048576, no claim", xlsx(None, &[("A1", 1), ("XFD1048576", 2)]), "too_many_columns"),
        ("a cell at J1048576, a small claim", xlsx(Some("A1:B2"), &[("A1", 1), ("J1048576", 2)]), "too_many_rows"),
    ]
}

fn storage() -> (tempfile::TempDir, Arc<SqliteStorage>) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(SqliteStorage::open(dir.path().join("s.db")).unwrap());
    storage.create_grid("g1", "幸福里网格", now_ms()).unwrap();
    (dir, storage)
}

#[tokio::test]
async fn a_sheet_claiming_a_huge_area_is_refused_by_the_http_dry_run_without_allocating_it() {
    let (_dir, storage) = storage();
    let state = AppState::new(storage);
    let (token, staff) = state.backoffice.sessions.create("adm", "测试", Role::Admin, now_ms()).unwrap();
    let before = peak_rss_kib();
    for (what, bytes, code) in hostile_files() {
        assert!(bytes.len() < 4096, "{what}: a small file ({} bytes, uncompressed)", bytes.len());
        let req = Request::post("/admin/api/import/archives?grid=g1&dry_run=true&file=a.xlsx")
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .header(header::COOKIE, format!("gb_session={token}"))
            .header("x-csrf-token", &staff.csrf)
            .body(Body::from(bytes))
            .unwrap();
        let resp = app(state.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let body: Value = serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
        assert_eq!((status, body["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some(code)), "{what}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("最多") && message.contains("at most"), "{what}: zh-CN and English: {message}");
    }
    let grown = peak_rss_kib().saturating_sub(before);
    assert!(grown < PEAK_GROWTH_BOUND_KIB, "peak RSS grew by {grown} KiB");
}

/// Found by the import_xlsx fuzz target: a <dimension> whose end is before its start made the
/// XLSX reader overflow (a panic where overflow checks are on, a 500). It gets a typed answer.
#[tokio::test]
async fn a_sheet_whose_declared_area_ends_before_it_starts_is_refused_with_a_reason() {
    let (_dir, storage) = storage();
    let state = AppState::new(storage);
    let (token, staff) = state.backoffice.sessions.create("adm", "测试", Role::Admin, now_ms()).unwrap();
    let req = Request::post("/admin/api/import/archives?grid=g1&dry_run=true&file=a.xlsx")
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::COOKIE, format!("gb_session={token}"))
        .header("x-csrf-token", &staff.csrf)
        .body(Body::from(xlsx(Some("B2:A1"), &[("A1", 1)])))
        .unwrap();
    let resp = app(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let body: Value = serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    // read as what it holds (the declared area means nothing, as for any claim): a reason, not a 500
    assert!(status.is_client_error(), "{status}: {body}");
    assert!(body["code"].is_string(), "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains(" / "), "zh-CN / English: {message}");
}

#[test]
fn a_sheet_claiming_a_huge_area_is_refused_by_the_admin_command_without_allocating_it() {
    use clap::Parser;
    use gridbook_sync_server::cli::admin::{run, AdminCommand};
    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: AdminCommand,
    }
    let (dir, storage) = storage();
    let before = peak_rss_kib();
    for (what, bytes, code) in hostile_files() {
        let file = dir.path().join("档案.xlsx");
        std::fs::write(&file, bytes).unwrap();
        let args = ["admin", "import-archives", "--grid", "g1", "--file", file.to_str().unwrap(), "--dry-run"];
        let command = Cli::try_parse_from(args).unwrap().command;
        let refused = run(storage.as_ref(), command, now_ms()).unwrap_err();
        assert_eq!(
            (refused.status(), refused.code.as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, code),
            "{what}: {refused}"
        );
    }
    let grown = peak_rss_kib().saturating_sub(before);
    assert!(grown < PEAK_GROWTH_BOUND_KIB, "peak RSS grew by {grown} KiB");
}

#[test]
fn a_small_sheet_with_a_modest_claim_is_still_read() {
    use gridbook_sync_server::domain::spreadsheets::sheet;
    // Excel's own files declare their used range; blank cells far out cost nothing
    let read = sheet::read(&xlsx(Some("A1:C3"), &[("A1", 7), ("C3", 9)])).unwrap();
    assert_eq!(read.headers, ["7"]);
    assert_eq!((read.rows.len(), read.rows[0].line), (1, 3));
    assert_eq!(read.rows[0].cells, ["", "", "9"]);
}
