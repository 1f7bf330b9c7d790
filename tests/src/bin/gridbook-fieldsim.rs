//! A field day on two real phones, for the back-office browser tests (scripts/test-browser.sh):
//! real device stores, real HTTP against a running server, enrolment codes and an arrears account
//! made on the server's database as an operator would.
//!
//!   gridbook-fieldsim --url http://127.0.0.1:PORT --db server.db
//!
//! Zhang's app reports his phone (HUAWEI nova 11, 200 MB free, battery saver on).
//! Expects grids g1 and g2, field managers zhang (张伟) and li (李娜) both assigned g1. Zhang's
//! phone keeps time; li's runs ten minutes fast. What happens:
//! - zhang builds an archive and records a complaint visit whose promised reply was due 3 days ago;
//! - both edit the customer's mobile offline; li's later edit overwrites zhang's (a conflict);
//! - zhang collects two signed receipts (128.00 and 50.00 yuan) and asks to void the second;
//! - zhang writes an archive into g2, not his grid (rejected: outside_grids);
//! - li collects on a copy of zhang's receipt book, reusing his number (rejected:
//!   duplicate_receipt_no), so 128.00 yuan stays on li's phone;
//! - zhang keeps the field workflows going: building 3号楼 with one archive, a complaint ticket
//!   whose promised reply was due 3 days ago, an appointment two hours ago that he did not keep,
//!   and the day's summary (日工作总结);
//! - then zhang visits 3号楼's household four times with the phone's position (issue 20): a good
//!   fix at the door (its reference), one 334 m away, a mock location, and no fix within 30 s;
//! - li's phone then syncs in a tight loop (a background job gone wrong) until the server's request
//!   budget answers 429 and the phone waits as asked.
//!
//! Prints one line of JSON with the ids the tests look for.
//!
//!   gridbook-fieldsim --url http://127.0.0.1:PORT --db server.db --wipe-day
//!
//! The remote wipe (issue 16): manager 赵磊 (zhao, made here on g1) is leaving, and 张伟 lost his
//! second phone. Both phones hold a day's work not yet synced (two visits, a signed receipt of
//! 128.00 yuan). Prints a line of JSON with their device ids, then waits for a line on stdin (the
//! back office orders the wipes meanwhile), syncs both (the lost one pushing one op a request, so
//! that part of its work is lost), and prints a line of JSON with each phone's wipe report.
//!
//!   gridbook-fieldsim --url http://127.0.0.1:PORT --db server.db --photo-day
//!
//! Photos (issue 20): zhang visits a household and takes two photos; the first is uploaded with
//! the sync, the second is named by the visit but never sent (the phone "lost" it). Prints a line
//! of JSON with the household, the visit and both photos' addresses.

use std::time::Duration;

use gridbook_core::location::{LocationFix, LocationProvider, Position};
use gridbook_core::testing::{household_n, receipt, resident_id, visit};
use gridbook_core::{SkewedClock, SystemClock, VisitPurpose};
use gridbook_sync_server::cli::admin::{self, AdminCommand};
use gridbook_sync_server::domain::report_day::report_day;
use gridbook_sync_server::{now_ms, SqliteStorage};
use gridbook_tests::Phone;

fn arg(name: &str) -> Result<String, String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .ok_or_else(|| format!("usage: gridbook-fieldsim --url URL --db SERVER_DB (missing {name})"))
}

fn household_of(phone: &Phone, id: &str) -> Result<gridbook_core::Household, String> {
    phone.store.household(id, gridbook_core::Reveal::Full { purpose: "fieldsim".into() }).map_err(|e| e.to_string())
}

async fn run() -> Result<serde_json::Value, String> {
    let url = arg("--url")?;
    let storage = SqliteStorage::open(arg("--db")?).map_err(|e| e.to_string())?;
    let admin = |command: AdminCommand| admin::run(&storage, command, now_ms()).map_err(|e| e.to_string());
    let code = |manager: &str| admin(AdminCommand::EnrolCode { manager: manager.into(), valid_hours: 1 });

    let zhang = Phone::enrol(&url, &code("zhang")?, Box::new(SystemClock)).await;
    let li = Phone::enrol(&url, &code("li")?, Box::new(SkewedClock(10 * 60_000))).await;
    // what zhang's app says of his phone: short of storage, for the back office's version page
    zhang.engine.set_environment(gridbook_core::sync::app_version::DeviceEnvironment {
        device_model: Some("HUAWEI nova 11".into()),
        os_version: Some("Android 14".into()),
        free_storage_bytes: Some(200 << 20),
        battery_saver: Some(true),
    });
    let e = |e: gridbook_core::Error| e.to_string();

    let fix = |lat_e6: i64, mock: bool| {
        Some(Position::Fix(LocationFix {
            lat_e6,
            lon_e6: 112_938_000,
            accuracy_m: 8,
            age_ms: 1_500,
            provider: LocationProvider::Gps,
            mock,
        }))
    };

    // an archive and a complaint visit with a promise now overdue
    let mut h = household_n("g1", 11);
    h.mobile = "13812345678".into();
    h.id_number = resident_id(11);
    let h = zhang.store.create_household(h).map_err(e)?;
    let mut v = visit("g1", &h.id);
    v.manager_id = "zhang".into();
    v.purpose = VisitPurpose::Complaint;
    v.outcome = "宽带晚上经常掉线".into();
    v.open_question = "何时能上门检修线路？".into();
    v.follow_up = "周五前回复检修时间".into();
    v.follow_up_due = report_day(now_ms(), 3);
    // at the door with a good fix: the household's reference position from then on
    (v.lat_e6, v.lon_e6, v.location) = (None, None, fix(28_228_000, false));
    zhang.store.record_visit(v).map_err(e)?;
    zhang.engine.sync_once().await.map_err(e)?;
    let account = admin(AdminCommand::AddArrears {
        grid: "g1".into(),
        household: h.id.clone(),
        account_no: "ACC-0731-0011".into(),
        owed_fen: 17_800,
        months: 2,
        service_number: String::new(),
        payment_type: "postpaid".into(),
    })?;
    zhang.engine.sync_once().await.map_err(e)?;
    li.engine.sync_once().await.map_err(e)?;

    // both change the mobile offline; li's edit is the later one
    let mut on_zhang = household_of(&zhang, &h.id)?;
    on_zhang.mobile = "13911112222".into();
    zhang.store.update_household(on_zhang).map_err(e)?;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut on_li = household_of(&li, &h.id)?;
    on_li.mobile = "13733334444".into();
    li.store.update_household(on_li).map_err(e)?;
    zhang.engine.sync_once().await.map_err(e)?;
    li.engine.sync_once().await.map_err(e)?;

    // money: two signed receipts, a void request for the second
    let number = zhang.store.next_receipt_no().map_err(e)?.ok_or("zhang's phone was issued no receipt numbers")?;
    let mut r1 = receipt("g1", &account, &h.id, &number);
    r1.collector_id = "zhang".into();
    r1.collected_at_ms = now_ms();
    r1.owed_before_fen = 17_800;
    // the money was taken 334 m from that door: the receipt is flagged far, as a visit would be
    (r1.lat_e6, r1.lon_e6, r1.location) = (None, None, fix(28_231_000, false));
    let r1 = zhang.collect(r1).receipt;
    let second = zhang.store.next_receipt_no().map_err(e)?.ok_or("no second receipt number")?;
    let mut r2 = receipt("g1", &account, &h.id, &second);
    r2.collector_id = "zhang".into();
    r2.collected_at_ms = now_ms();
    r2.owed_before_fen = 5_000;
    r2.amount_fen = 5_000;
    r2.cash_received_fen = 5_000;
    r2.change_fen = 0;
    let r2 = zhang.collect(r2).receipt;
    zhang.store.void_receipt(&r2.id, "金额写错，应收 50 元但客户已在营业厅缴清", "zhang").map_err(e)?;
    // and an archive in a grid that is not his
    zhang.store.create_household(household_n("g2", 12)).map_err(e)?;
    let report = zhang.engine.sync_once().await.map_err(e)?;
    if report.rejected != 1 {
        return Err(format!("zhang: expected 1 rejected op, got {report:?}"));
    }

    // li reuses zhang's number from a copied receipt book: the money stays on li's phone
    let book = zhang.store.receipt_blocks().map_err(e)?.into_iter().next().ok_or("no receipt book")?.block;
    li.store.add_receipt_block(&book).map_err(e)?;
    let mut dup = receipt("g1", &account, &h.id, &number);
    dup.collector_id = "li".into();
    dup.collected_at_ms = now_ms();
    li.collect(dup);
    let report = li.engine.sync_once().await.map_err(e)?;
    if report.rejected != 1 {
        return Err(format!("li: expected 1 rejected op, got {report:?}"));
    }
    zhang.engine.sync_once().await.map_err(e)?;

    // the day's workflows on zhang's phone
    let building = zhang.store.create_premises(gridbook_core::testing::premises("g1", 3)).map_err(e)?;
    let mut inside = household_n("g1", 13);
    inside.premises_id = Some(building.id.clone());
    let inside = zhang.store.create_household(inside).map_err(e)?;
    let mut ticket = gridbook_core::testing::ticket("g1", &inside.id, &report_day(now_ms(), 3));
    ticket.owner_manager_id = "zhang".into();
    ticket.text = "光猫频繁重启，要求上门更换".into();
    let ticket = zhang.store.open_ticket(ticket).map_err(e)?;
    let mut appointment = gridbook_core::testing::appointment("g1", &inside.id, now_ms() - 2 * 3_600_000);
    appointment.manager_id = "zhang".into();
    let appointment = zhang.store.book_appointment(appointment).map_err(e)?;
    zhang.store.submit_day_summary("g1", "zhang", &report_day(now_ms(), 0), 480, "明天上午回访3号楼").map_err(e)?;
    // when each of these visits arrived: the home page counts those of today (China time)
    let mut located_arrivals = Vec::new();
    let mut located = |minutes_ago: i64, location: Option<Position>| {
        let mut v = visit("g1", &inside.id);
        v.manager_id = "zhang".into();
        v.appointment_at_ms = None;
        v.arrived_at_ms = now_ms() - minutes_ago * 60_000;
        located_arrivals.push(v.arrived_at_ms);
        (v.lat_e6, v.lon_e6, v.location) = (None, None, location);
        zhang.store.record_visit(v).map(|v| v.id).map_err(e)
    };
    located(40, fix(28_228_000, false))?;
    let far_visit = located(30, fix(28_231_000, false))?;
    let mock_visit = located(20, fix(28_228_000, true))?;
    let no_fix_visit = located(10, Some(Position::no_fix()))?;
    zhang.engine.sync_once().await.map_err(e)?;

    // li's background job goes wrong and syncs in a loop: the server's request budget stops it
    // (429) and li's phone waits as asked; everything it had was already synced
    let mut loops = 0;
    let wait_ms = loop {
        loops += 1;
        match li.engine.sync_once().await {
            Ok(_) if loops < 2_000 => continue,
            Ok(_) => return Err("li: 2,000 sync cycles and never asked to wait".into()),
            Err(gridbook_core::Error::Busy { retry_after_ms, .. }) => break retry_after_ms,
            Err(other) => return Err(format!("li: in the loop: {other}")),
        }
    };

    Ok(serde_json::json!({
        "zhang_device": zhang.store.device_id(),
        "li_device": li.store.device_id(),
        "household_id": h.id,
        "customer_name": h.customer_name,
        "receipt_no": r1.receipt_no,
        "far_receipt_id": r1.id,
        "voided_receipt_no": r2.receipt_no,
        "premises_id": building.id,
        "ticket_id": ticket.id,
        "appointment_id": appointment.id,
        "far_visit_id": far_visit,
        "mock_visit_id": mock_visit,
        "no_fix_visit_id": no_fix_visit,
        "located_household_id": inside.id,
        "located_visits_arrived_ms": located_arrivals,
        "li_loops_before_429": loops,
        "li_asked_to_wait_ms": wait_ms,
    }))
}

/// A phone with a day's work on it, not synced: a household it pulled with its debt, two visits
/// and a signed receipt.
async fn phone_with_work(
    url: &str,
    code: &str,
    manager: &str,
    n: u64,
    admin: &dyn Fn(AdminCommand) -> Result<String, String>,
) -> Result<Phone, String> {
    let e = |e: gridbook_core::Error| e.to_string();
    let phone = Phone::enrol(url, code, Box::new(SystemClock)).await;
    let h = phone.store.create_household(household_n("g1", 40 + n)).map_err(e)?;
    phone.engine.sync_once().await.map_err(e)?;
    let account = admin(AdminCommand::AddArrears {
        grid: "g1".into(),
        household: h.id.clone(),
        account_no: format!("ACC-0731-004{n}"),
        owed_fen: 30_000,
        months: 2,
        service_number: String::new(),
        payment_type: "postpaid".into(),
    })?;
    phone.engine.sync_once().await.map_err(e)?;
    for _ in 0..2 {
        let mut v = visit("g1", &h.id);
        v.manager_id = manager.into();
        phone.store.record_visit(v).map_err(e)?;
    }
    let mut r = receipt("g1", &account, &h.id, "");
    r.collector_id = manager.into();
    r.collected_at_ms = now_ms();
    r.owed_before_fen = 30_000;
    phone.collect(r);
    Ok(phone)
}

/// The wipe's answer to a sync, as JSON: the report, or why it was not a wipe.
async fn wiped(engine: &gridbook_core::SyncEngine) -> Result<serde_json::Value, String> {
    match engine.sync_once().await {
        Err(gridbook_core::Error::Wiped { report: Some(report), reported }) => {
            Ok(serde_json::json!({ "report": report, "reported": reported }))
        }
        other => Err(format!("expected the phone wiped, got {other:?}")),
    }
}

async fn wipe_day() -> Result<(), String> {
    let url = arg("--url")?;
    let storage = SqliteStorage::open(arg("--db")?).map_err(|e| e.to_string())?;
    let admin = |command: AdminCommand| admin::run(&storage, command, now_ms()).map_err(|e| e.to_string());
    admin(AdminCommand::CreateManager {
        id: "zhao".into(),
        name: "赵磊".into(),
        role: "field".into(),
        password: None,
    })?;
    admin(AdminCommand::AssignGrid { manager: "zhao".into(), grid: "g1".into() })?;
    let code = |manager: &str| admin(AdminCommand::EnrolCode { manager: manager.into(), valid_hours: 1 });
    let leaving = phone_with_work(&url, &code("zhao")?, "zhao", 1, &admin).await?;
    let lost = phone_with_work(&url, &code("zhang")?, "zhang", 2, &admin).await?;
    println!(
        "{}",
        serde_json::json!({ "retire_device": leaving.store.device_id(), "lost_device": lost.store.device_id() })
    );
    // the back office orders the wipes; the test says when
    let mut line = String::new();
    tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut line))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let retire = wiped(&leaving.engine).await?;
    let one_at_a_time = gridbook_core::SyncEngine::new(
        lost.store.clone(),
        gridbook_core::SyncConfig { push_batch: 1, ..lost.config.clone() },
    )
    .map_err(|e| e.to_string())?;
    let lost = wiped(&one_at_a_time).await?;
    println!("{}", serde_json::json!({ "retire": retire, "lost": lost }));
    Ok(())
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--photo-day") {
        match photo_day().await {
            Ok(summary) => println!("{summary}"),
            Err(message) => {
                eprintln!("gridbook-fieldsim: {message}");
                std::process::exit(1);
            }
        }
        return;
    }
    if std::env::args().any(|a| a == "--wipe-day") {
        if let Err(message) = wipe_day().await {
            eprintln!("gridbook-fieldsim: {message}");
            std::process::exit(1);
        }
        return;
    }
    match run().await {
        Ok(summary) => println!("{summary}"),
        Err(message) => {
            eprintln!("gridbook-fieldsim: {message}");
            std::process::exit(1);
        }
    }
}

/// A visit with two photos: one uploaded, one never sent.
async fn photo_day() -> Result<serde_json::Value, String> {
    let url = arg("--url")?;
    let storage = SqliteStorage::open(arg("--db")?).map_err(|e| e.to_string())?;
    let code = admin::run(&storage, AdminCommand::EnrolCode { manager: "zhang".into(), valid_hours: 1 }, now_ms())
        .map_err(|e| e.to_string())?;
    let zhang = Phone::enrol(&url, &code, Box::new(SystemClock)).await;
    let e = |e: gridbook_core::Error| e.to_string();
    let h = zhang.store.create_household(household_n("g1", 21)).map_err(e)?;
    // a shop front: a real JPEG, as the camera's prepared photo is
    let front = image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([(x / 3) as u8, (y / 2) as u8, 160]));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
        .encode_image(&front)
        .map_err(|e| e.to_string())?;
    let kept = zhang.store.keep_photo(&jpeg, gridbook_core::store::photos::PhotoOrigin::Taken).map_err(e)?;
    let lost = gridbook_core::photos::photo_sha256(b"a photo this phone never sent");
    let mut v = visit("g1", &h.id);
    v.manager_id = "zhang".into();
    v.arrived_at_ms = now_ms() - 5 * 60_000;
    v.photos = vec![kept.clone(), lost.clone()];
    let v = zhang.store.record_visit(v).map_err(e)?;
    zhang.engine.sync_once().await.map_err(e)?;
    zhang.engine.upload_photos().await.map_err(e)?;
    Ok(serde_json::json!({
        "household_id": h.id,
        "customer_name": h.customer_name,
        "visit_id": v.id,
        "arrived_photo": kept,
        "pending_photo": lost,
    }))
}
