//! Writes the seed corpus files that are not copies of tests/golden/v1: a small snapshot file
//! built as the server builds one, a pull page and a push of real records, signatures, stamps and
//! ids, and CSV and XLSX sheets (template ones, GBK and tab-separated text, and the hostile XLSX
//! files of issue 21). Run from the repository root after a record or template change:
//!   cargo run --manifest-path tests/fuzz/Cargo.toml --features seeds --bin make_seeds
//! It is a tool, not a test: it panics on any failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

use gridbook_core::model::{EntityKind, Record};
use gridbook_core::sync::snapshot_file::SnapshotFileBuilder;
use gridbook_core::sync::wire::{DeviceFacts, PullPage, PushRequest};
use gridbook_core::{testing, Store, PROTOCOL_VERSION};
use gridbook_sync_server::domain::spreadsheets::sheet::{write_csv, write_xlsx, Cell};
use gridbook_sync_server::domain::spreadsheets::{archives, arrears};

fn corpus(target: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn put(target: &str, name: &str, bytes: &[u8]) {
    std::fs::write(corpus(target).join(name), bytes).unwrap();
}

/// A phone's store holding one of each common record, for pages, pushes and a snapshot file.
fn phone(dir: &Path) -> Store {
    let store = Store::open(dir.join("phone.db")).unwrap();
    let grid = "yuelu-01";
    let premises = testing::premises(grid, 1);
    testing::record_local_create(&store, &premises, grid).unwrap();
    let mut household = testing::household_n(grid, 1);
    household.premises_id = Some(premises.id().to_string());
    testing::record_local_create(&store, &household, grid).unwrap();
    let account = testing::account(grid, household.id(), 15_800);
    testing::record_local_create(&store, &account, grid).unwrap();
    testing::record_local_create(&store, &testing::visit(grid, household.id()), grid).unwrap();
    testing::record_local_create(&store, &testing::ticket(grid, household.id(), "2026-12-08"), grid).unwrap();
    store
}

fn main() {
    let work = std::env::temp_dir().join(format!("gridbook-make-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../golden/v1");
    let copy = |target: &str, file: &str| put(target, file, &std::fs::read(golden.join(file)).unwrap());

    // the wire, as the server and the phone read it
    copy("push_request", "push-request.json");
    copy("pull_page", "pull-response.json");
    copy("enrol_request", "enrol-request.json");
    let store = phone(&work);
    let changes: Vec<_> = EntityKind::ALL.iter().flat_map(|k| store.all_states(*k).unwrap()).collect();
    let page = PullPage {
        protocol: PROTOCOL_VERSION,
        changes,
        removals: vec![],
        handovers_complete: vec![],
        next_cursor: 5,
        has_more: false,
        remaining: 0,
        server_time_ms: 1_793_674_800_000,
        generation: None,
        update: None,
        policy: None,
        receipt: None,
    };
    put("pull_page", "phone-records.json", &serde_json::to_vec(&page).unwrap());
    let push = PushRequest {
        protocol: PROTOCOL_VERSION,
        facts: DeviceFacts { app_version: "1.0.0".into(), pending_count: 5, ..Default::default() },
        ops: store.pending_ops(100).unwrap(),
    };
    put("push_request", "phone-outbox.json", &serde_json::to_vec(&push).unwrap());
    let enrol = |id: &str| format!(r#"{{"protocol":1,"code":"K3M9Q-7TZ2D","device_id":"{id}","app_version":"1.0.0"}}"#);
    put("enrol_request", "dashed-uuid.json", enrol("0190e1c2-7a4b-7c3d-8e9f-0a1b2c3d4e5f").as_bytes());
    put("enrol_request", "no-key.json", enrol("p1").as_bytes());

    // a snapshot file, built from those records as the server builds one
    let mut builder = SnapshotFileBuilder::create(&work.join("build.db")).unwrap();
    builder.apply(&page).unwrap();
    let out = work.join("snapshot.db");
    builder.finish(&out).unwrap();
    put("snapshot_file", "five-records.db", &std::fs::read(&out).unwrap());

    // signatures as a signature record carries them
    let signature = testing::signature_strokes();
    put("strokes", "three-strokes.json", &serde_json::to_vec(&signature).unwrap());
    let mut bare = signature.clone();
    bare.strokes.truncate(1);
    bare.strokes[0].points.iter_mut().for_each(|p| p.pressure = None);
    put("strokes", "one-stroke-no-pressure.json", &serde_json::to_vec(&bare).unwrap());
    put(
        "strokes",
        "a-dot.json",
        br#"{"width":4096,"height":4096,"strokes":[{"points":[{"x":4096.0,"y":0.0,"t_ms":0}]}]}"#,
    );

    // stamps and ids, two per file (the target splits at the first newline)
    put("hlc_and_ids", "stamps.txt", b"018bcfe56800000a-dev01\n018bcfe56800000b-zhangwei_p1");
    put("hlc_and_ids", "resident-id.txt", b"11010519491231002X\n13812345678");
    put("hlc_and_ids", "landline.txt", b"0731-84567890\nffffffffffffffff-Z");

    // sheets: the templates with real rows, in both formats
    let archive_rows = vec![
        vec![Cell::Empty, Cell::text("楼宇"), Cell::text("幸福小区"), Cell::text("3号楼"), Cell::text("2")],
        vec![Cell::Empty, Cell::Empty, Cell::text("幸福小区"), Cell::text("3号楼"), Cell::text("2单元")],
    ];
    let arrears_rows = vec![
        vec![Cell::text("ACC-1"), Cell::text("13812345678"), Cell::text("后付费"), Cell::Yuan(123_450), Cell::Int(3)],
        vec![Cell::text("ACC-2"), Cell::Empty, Cell::text("预付费"), Cell::Yuan(1_230), Cell::Int(1), Cell::Yuan(-500)],
    ];
    let (ah, rh) = (archives::headers(), arrears::TEMPLATE.iter().map(|c| c.zh).collect::<Vec<_>>());
    // every row as wide as its header row, the rest blank
    let pad = |rows: Vec<Vec<Cell>>, width: usize| -> Vec<Vec<Cell>> {
        rows.into_iter()
            .map(|mut r| {
                r.resize(width, Cell::Empty);
                r
            })
            .collect()
    };
    let (archive_rows, arrears_rows) = (pad(archive_rows, ah.len()), pad(arrears_rows, rh.len()));
    put("import_csv", "archives.csv", &write_csv(&ah, &archive_rows).unwrap());
    put("import_csv", "arrears.csv", &write_csv(&rh, &arrears_rows).unwrap());
    put("import_xlsx", "archives.xlsx", &write_xlsx("档案", &ah, &archive_rows).unwrap());
    put("import_xlsx", "arrears.xlsx", &write_xlsx("欠费", &rh, &arrears_rows).unwrap());
    let tabbed = "账号\t业务号码\t付费类型\t欠费金额(元)\t欠费月数\r\nACC-1\t13812345678\t后付费\t\"1,234.50\"\t3\r\n";
    put("import_csv", "arrears-tabs.csv", tabbed.as_bytes());
    // GB18030, as Excel saves "CSV" on a Chinese Windows
    let (gbk, _, _) = encoding_rs::GB18030.encode("账号,付费类型,欠费金额(元),欠费月数\r\nACC-3,后付费,5,2\r\n");
    put("import_csv", "arrears-gbk.csv", &gbk);
    put("import_xlsx", "declares-XFD1048576.xlsx", &xlsx(Some("A1:XFD1048576"), &[("A1", 1), ("XFD1048576", 2)]));
    put("import_xlsx", "cell-at-J1048576.xlsx", &xlsx(Some("A1:B2"), &[("A1", 1), ("J1048576", 2)]));
    put("import_xlsx", "shared-strings.xlsx", &xlsx_shared_strings());

    drop(store);
    std::fs::remove_dir_all(&work).unwrap();
    println!("seeds written under {}", Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").display());
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;
const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;

/// A workbook of stored (uncompressed) parts, so that the fuzzer's byte changes land in the XML.
fn zip_of(parts: &[(&str, String)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, text) in parts {
        zip.start_file(*name, stored).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn base_parts(sheet: String) -> Vec<(&'static str, String)> {
    vec![
        ("[Content_Types].xml", CONTENT_TYPES.to_string()),
        ("_rels/.rels", RELS.to_string()),
        ("xl/workbook.xml", WORKBOOK.to_string()),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.to_string()),
        ("xl/worksheets/sheet1.xml", sheet),
    ]
}

fn sheet_xml(dimension: Option<&str>, rows: &str) -> String {
    let dim = dimension.map(|d| format!(r#"<dimension ref="{d}"/>"#)).unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{dim}<sheetData>{rows}</sheetData></worksheet>"#
    )
}

/// A one-sheet workbook whose sheet claims `dimension` and holds `cells` (reference, number).
fn xlsx(dimension: Option<&str>, cells: &[(&str, i64)]) -> Vec<u8> {
    let rows: String = cells.iter().map(|(at, v)| format!(r#"<row><c r="{at}"><v>{v}</v></c></row>"#)).collect();
    zip_of(&base_parts(sheet_xml(dimension, &rows)))
}

/// Header and one row through the shared strings table, as Excel writes text.
fn xlsx_shared_strings() -> Vec<u8> {
    let rows = r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row><row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"><v>12.5</v></c></row>"#;
    let mut parts = base_parts(sheet_xml(Some("A1:B2"), rows));
    parts.push((
        "xl/sharedStrings.xml",
        r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="3" uniqueCount="3"><si><t>账号</t></si><si><t>欠费金额(元)</t></si><si><t>ACC-1</t></si></sst>"#
            .to_string(),
    ));
    zip_of(&parts)
}
