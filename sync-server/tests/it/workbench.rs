//! The supervisor's workbench (issue 18) through the real router, on SQLite or PostgreSQL
//! (GRIDBOOK_TEST_BACKEND): the home page's figures equal what was pushed, each supervisor sees
//! only the grids assigned to them and an admin sees all, `/` leads to the back office, and the
//! login form says why it was shown, returns to the tab and reports a wrong password without
//! JavaScript.

use crate::common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{send, Reply, Server};
use gridbook_core::field::workday::day_bounds;
use gridbook_core::model::{AppointmentStatus, Tier};
use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::wire::{DeviceFacts, Op, OpAction, OpOutcome, PushRequest, PROTOCOL_VERSION};
use gridbook_core::testing;
use gridbook_core::EntityKind;
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::domain::report_day::report_day;
use gridbook_sync_server::{now_ms, AppState};
use serde_json::{json, Map, Value};

async fn get(state: &AppState, path: &str, session: Option<&str>) -> Reply {
    let mut req = Request::get(path).header(header::HOST, "127.0.0.1:8080");
    if let Some(s) = session {
        req = req.header(header::COOKIE, format!("gb_session={s}"));
    }
    send(state, req.body(Body::empty()).unwrap()).await
}

fn fields_of<R: gridbook_core::model::Record>(record: &R) -> Map<String, Value> {
    testing::fields_of(record).expect("a record's fields")
}

fn op(kind: EntityKind, entity: &str, grid: &str, fields: Map<String, Value>, n: u64) -> Op {
    let hlc = Hlc::new(now_ms() as u64 + n, 0, "phone_a");
    Op {
        id: uuid::Uuid::now_v7(),
        kind,
        entity: entity.into(),
        grid: grid.into(),
        action: OpAction::Create,
        fields,
        hlc,
    }
}

async fn push(f: &Server, token: &str, ops: Vec<Op>) {
    let facts = DeviceFacts {
        app_version: "2.1.0".into(),
        pending_count: ops.len() as u64,
        wall_clock_ms: now_ms(),
        zone_offset_min: 480,
        ..Default::default()
    };
    let request = PushRequest { protocol: PROTOCOL_VERSION, facts, ops };
    let answer = f.push(token, &request).await;
    for r in &answer.results {
        assert!(matches!(r.outcome, OpOutcome::Applied), "{:?}", r.outcome);
    }
}

/// g1 (zhang, li; supervisor sup1), g2 (wang; supervisor sup2), an admin.
fn city() -> Server {
    Server::new()
        .grid("g1", "幸福里网格")
        .grid("g2", "人民路网格")
        .manager("zhang", "张伟", Role::Field, None)
        .manager("li", "李娜", Role::Field, None)
        .manager("wang", "王强", Role::Field, None)
        .assign("zhang", "g1")
        .assign("li", "g1")
        .assign("wang", "g2")
        .manager("sup1", "周主管", Role::Supervisor, None)
        .manager("sup2", "吴主管", Role::Supervisor, None)
        .manager("root", "系统管理员", Role::Admin, None)
        .assign("sup1", "g1")
        .assign("sup2", "g2")
}

/// Today's figures in g1: two households (one high tier), one visit to the first by zhang keeping
/// an appointment on time, a second appointment missed, a ticket overdue and one not yet due. In
/// g2 one visit by wang.
async fn seed(f: &Server) {
    let now = now_ms();
    let (start, _) = day_bounds(&report_day(now, 0), 480).unwrap();
    let at = |back_ms: i64| (now - back_ms).max(start);
    let phone = f.enrol("zhang", "phone_a").await;
    let mut h1 = testing::household_n("g1", 1);
    h1.tier = Some(Tier::High);
    let h2 = testing::household_n("g1", 2);
    let mut visit = testing::visit("g1", "h1");
    visit.manager_id = "zhang".into();
    visit.arrived_at_ms = at(60_000);
    visit.appointment_at_ms = Some(at(120_000));
    let mut kept = testing::appointment("g1", "h1", at(120_000));
    kept.manager_id = "zhang".into();
    kept.status = AppointmentStatus::Done;
    kept.visit_id = Some("v1".into());
    let mut missed = testing::appointment("g1", "h2", at(30_000));
    missed.manager_id = "zhang".into();
    let mut overdue = testing::ticket("g1", "h1", &report_day(now, 2));
    overdue.owner_manager_id = "zhang".into();
    overdue.taken_at_ms = at(0);
    let mut later = testing::ticket("g1", "h2", &report_day(now, -3));
    later.owner_manager_id = "zhang".into();
    later.taken_at_ms = at(0);
    push(
        f,
        &phone,
        vec![
            op(EntityKind::Household, "h1", "g1", fields_of(&h1), 0),
            op(EntityKind::Household, "h2", "g1", fields_of(&h2), 1),
            op(EntityKind::Visit, "v1", "g1", fields_of(&visit), 2),
            op(EntityKind::Appointment, "a1", "g1", fields_of(&kept), 3),
            op(EntityKind::Appointment, "a2", "g1", fields_of(&missed), 4),
            op(EntityKind::Ticket, "t1", "g1", fields_of(&overdue), 5),
            op(EntityKind::Ticket, "t2", "g1", fields_of(&later), 6),
        ],
    )
    .await;
    let other = f.enrol("wang", "phone_b").await;
    let h3 = testing::household_n("g2", 3);
    let mut v2 = testing::visit("g2", "h3");
    v2.manager_id = "wang".into();
    v2.arrived_at_ms = at(10_000);
    push(
        f,
        &other,
        vec![
            op(EntityKind::Household, "h3", "g2", fields_of(&h3), 10),
            op(EntityKind::Visit, "v2", "g2", fields_of(&v2), 11),
        ],
    )
    .await;
}

#[tokio::test]
async fn the_home_page_counts_what_was_pushed_and_a_supervisor_sees_only_their_grids() {
    let f = city();
    seed(&f).await;
    let (sup1, _) = f.session("sup1", Role::Supervisor);
    let home = get(&f.state, "/admin/api/home", Some(&sup1)).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.text());
    let h = home.json();
    let grids = h["grids"].as_array().unwrap();
    assert_eq!(grids.len(), 1, "sup1 sees g1 only: {h}");
    let g1 = &grids[0];
    assert_eq!((g1["id"].as_str(), g1["name"].as_str()), (Some("g1"), Some("幸福里网格")));
    let today = &g1["periods"]["today"];
    assert_eq!(today["visits"], 1);
    assert_eq!(today["planned"], 2);
    assert_eq!(today["kept_on_time"], 1);
    assert_eq!(today["missed"], 1);
    assert_eq!(today["handed_in_fen"], 0, "no hand-ins recorded yet");
    let st = &g1["standing"];
    assert_eq!((st["tickets_open"].as_i64(), st["tickets_overdue"].as_i64()), (Some(2), Some(1)));
    assert_eq!((st["households"].as_i64(), st["not_visited"].as_i64()), (Some(2), Some(1)));
    assert_eq!((st["tiers"]["high"].as_i64(), st["tiers"]["none"].as_i64()), (Some(1), Some(1)));
    // the week and the month include today
    assert!(g1["periods"]["month"]["visits"].as_i64().unwrap() >= 1);
    // managers by name: zhang did it all, li (assigned) nothing
    let managers = g1["managers"].as_array().unwrap();
    let zhang = managers.iter().find(|m| m["id"] == "zhang").expect("zhang");
    assert_eq!(zhang["name"], "张伟");
    assert_eq!(zhang["periods"]["today"]["visits"], 1);
    assert_eq!(zhang["standing"]["tickets_overdue"], 1);
    let li = managers.iter().find(|m| m["id"] == "li").expect("li, assigned to g1");
    assert_eq!(li["periods"]["today"]["visits"], 0);
    assert_eq!(h["total"]["periods"]["today"]["visits"], 1, "the total is sup1's grids only");
    assert!(!home.text().contains("王强") && !home.text().contains("人民路"), "nothing of g2: {h}");
    assert_eq!(h["trend"].as_array().unwrap().len(), 30);

    // another supervisor's grid: refused by the API, absent from the names the page shows
    let refused = get(&f.state, "/admin/api/home?grid=g2", Some(&sup1)).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let names = get(&f.state, "/admin/api/names", Some(&sup1)).await.json();
    assert_eq!(names["grids"], serde_json::json!({ "g1": "幸福里网格" }));
    assert_eq!(names["people"]["zhang"], "张伟");

    // day summaries computed by the server, though no phone submitted one
    let days = get(&f.state, "/admin/api/day-summaries?days=1", Some(&sup1)).await.json();
    let computed = days["computed"].as_array().unwrap();
    let zhang_today = computed.iter().find(|d| d["manager_id"] == "zhang").expect("zhang's day");
    assert_eq!((zhang_today["visits"].as_i64(), zhang_today["planned"].as_i64()), (Some(1), Some(2)));
    assert_eq!(zhang_today["manager_name"], "张伟");
    assert!(computed.iter().all(|d| d["grid_id"] == "g1"), "sup1's grids only: {days}");
    assert_eq!(days["summaries"].as_array().unwrap().len(), 0);

    let (sup2, _) = f.session("sup2", Role::Supervisor);
    let h2 = get(&f.state, "/admin/api/home", Some(&sup2)).await.json();
    let ids: Vec<&str> = h2["grids"].as_array().unwrap().iter().filter_map(|g| g["id"].as_str()).collect();
    assert_eq!(ids, ["g2"]);
    assert_eq!(h2["total"]["periods"]["today"]["visits"], 1);

    let (root, _) = f.session("root", Role::Admin);
    let all = get(&f.state, "/admin/api/home", Some(&root)).await.json();
    assert_eq!(all["grids"].as_array().unwrap().len(), 2);
    assert_eq!(all["total"]["periods"]["today"]["visits"], 2);
    assert_eq!(all["total"]["standing"]["households"], 3);

    // the old lists are scoped too: sup1 sees g1's tickets and devices, not g2's
    let tickets = get(&f.state, "/admin/api/tickets", Some(&sup1)).await.json();
    assert_eq!(tickets["tickets"].as_array().unwrap().len(), 2);
    assert!(tickets["tickets"].as_array().unwrap().iter().all(|t| t["grid_id"] == "g1"));
    let devices = get(&f.state, "/admin/api/devices", Some(&sup1)).await.json();
    let managers: Vec<&str> =
        devices["devices"].as_array().unwrap().iter().filter_map(|d| d["manager_id"].as_str()).collect();
    assert_eq!(managers, ["zhang"], "wang's phone (g2) is not sup1's to see");
    let all_devices = get(&f.state, "/admin/api/devices", Some(&root)).await.json();
    assert_eq!(all_devices["devices"].as_array().unwrap().len(), 2);

    // a supervisor with no grid assigned yet sees none, and the page is told so
    let f2 = Server::new().grid("g1", "幸福里网格").grid("g2", "人民路网格").manager(
        "sup",
        "王主管",
        Role::Supervisor,
        None,
    );
    let (s, _) = f2.session("sup", Role::Supervisor);
    let unassigned = get(&f2.state, "/admin/api/home", Some(&s)).await.json();
    assert_eq!((unassigned["grids"].as_array().unwrap().len(), &unassigned["no_grids"]), (0, &json!(true)));
    assert_eq!(get(&f2.state, "/admin/api/names", Some(&s)).await.json()["grids"], json!({}));
    for path in ["/admin/api/devices", "/admin/api/conflicts", "/admin/api/money", "/admin/api/reminder-outcomes"] {
        let answer = get(&f2.state, path, Some(&s)).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        let answer = answer.json();
        let rows = answer.as_object().unwrap().values().filter_map(|v| v.as_array()).flatten().count();
        assert_eq!(rows, 0, "{path}: {answer}");
    }
    assert_eq!(get(&f2.state, "/admin/api/export/archives?grid=g1", Some(&s)).await.status, StatusCode::NOT_FOUND);
    let (r, _) = f2.session("root", Role::Admin);
    assert_eq!(get(&f2.state, "/admin/api/home", Some(&r)).await.json()["no_grids"], json!(false));
}

#[tokio::test]
async fn the_root_leads_to_the_back_office_and_the_login_says_why_and_returns_to_the_tab() {
    let f = city();
    let root = get(&f.state, "/", None).await;
    assert_eq!(root.status, StatusCode::SEE_OTHER);
    assert_eq!(root.location(), "/admin");
    // a session that ended: the page says so
    let ended = get(&f.state, "/admin", Some("0123456789abcdef")).await;
    assert_eq!(ended.location(), "/admin/login?why=expired");
    let form = get(&f.state, "/admin/login?why=expired&next=money", None).await;
    let html = form.text();
    assert!(html.contains("登录已过期") && html.contains("Your session ended"), "{html}");
    assert!(html.contains("name=\"next\" value=\"money\""));
    // only a tab's name is carried over, never an address
    let odd = get(&f.state, "/admin/login?next=%2F%2Fevil.example", None).await.text();
    assert!(odd.contains("name=\"next\" value=\"\""), "{odd}");
    // a fresh form shows no error
    let fresh = get(&f.state, "/admin/login", None).await.text();
    assert!(fresh.contains("id=\"login-error\" class=\"alert\" role=\"alert\" hidden>"), "{fresh}");
}

#[tokio::test]
async fn only_an_admin_sees_a_household_in_full_and_each_look_is_audited() {
    let f = city();
    seed(&f).await;
    let (sup1, sup1_csrf) = f.session("sup1", Role::Supervisor);
    let masked = get(&f.state, "/admin/api/household?grid=g1&id=h1", Some(&sup1)).await;
    assert_eq!(masked.status, StatusCode::OK, "{}", masked.text());
    let full_name = testing::household_n("g1", 1).customer_name;
    let shown = masked.json()["household"]["customer_name"].as_str().unwrap().to_string();
    assert!(shown.ends_with('*') && shown != full_name, "{shown}");
    assert!(masked.json()["history"].as_array().unwrap().iter().any(|h| h["kind"] == "visit"));

    let reveal = |session: (String, String), purpose: &str| {
        let body = serde_json::json!({ "grid": "g1", "id": "h1", "purpose": purpose });
        common::staff_request("POST", "/admin/api/household/reveal", &session)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let refused = f.send(reveal((sup1, sup1_csrf), "核对欠费")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "a supervisor may not");
    let admin = f.session("root", Role::Admin);
    assert_eq!(
        f.send(reveal(admin.clone(), "  ")).await.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a purpose is required"
    );
    let full = f.send(reveal(admin, "客户来电核对户主姓名")).await;
    assert_eq!(full.status, StatusCode::OK, "{}", full.text());
    assert_eq!(full.json()["household"]["customer_name"], full_name.as_str());
    let audit = f.storage.audit_log(Some("h1"), 10).unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "reveal_household" && a.actor == "root" && a.detail.contains("客户来电核对户主姓名")),
        "{audit:?}"
    );
    assert!(audit.iter().all(|a| !a.detail.contains(&full_name)), "the audit row names no one");
}

/// Reminders (预警) on the home page: open ones are the phone's own rules run over the grid's
/// records on the server, less those a phone closed; closed ones count per manager and period by
/// their outcome. Seeded in g1: a birthday today, a contract ending in 30 days, a bill unpaid three
/// months, a prepaid balance of 5 yuan closed by zhang today; in g2 a suspended service.
#[tokio::test]
async fn the_home_page_counts_the_reminders_open_by_the_phones_rules_and_those_closed_by_outcome() {
    use gridbook_core::model::{PaymentType, ReminderKind, ReminderResolution};
    let f = city();
    let now = now_ms();
    let today = report_day(now, 0);
    let mut h1 = testing::household_n("g1", 1);
    (h1.id, h1.birthday) = ("h1".into(), format!("1980-{}", &today[5..]));
    let mut h2 = testing::household_n("g1", 2);
    (h2.id, h2.birthday) = ("h2".into(), String::new());
    let mut h3 = testing::household_n("g2", 3);
    (h3.id, h3.birthday) = ("h3".into(), String::new());
    for h in [&h1, &h2, &h3] {
        f.store_record(&h.id, &h.grid_id, h);
    }
    let mut ending = testing::billing_profile("g1", "h2", &today[..7]);
    (ending.id, ending.contract_end) = ("p-ending".into(), report_day(now, -30));
    let mut level = testing::billing_profile("g1", "h1", &today[..7]);
    level.id = "p-level".into();
    let mut suspended = testing::billing_profile("g2", "h3", &today[..7]);
    (suspended.id, suspended.suspended) = ("p-suspended".into(), true);
    for p in [&ending, &level, &suspended] {
        f.store_record(&p.id, &p.grid_id, p);
    }
    let mut unpaid = testing::account("g1", "h1", 9_000);
    (unpaid.id, unpaid.months_overdue) = ("a-unpaid".into(), 3);
    let mut low = testing::account("g1", "h2", 0);
    (low.id, low.payment_type, low.balance_fen) = ("a-low".into(), PaymentType::Prepaid, Some(500));
    for a in [&unpaid, &low] {
        f.store_record(&a.id, &a.grid_id, a);
    }
    let mut closed = testing::reminder_outcome("g1", "h2", &format!("low_balance:a-low:{}", &today[..7]));
    (closed.id, closed.kind, closed.outcome) = ("o1".into(), ReminderKind::LowBalance, ReminderResolution::Paid);
    (closed.manager_id, closed.closed_at_ms) = ("zhang".into(), now - 1_000);
    f.store_record(&closed.id, "g1", &closed);

    let (root, _) = f.session("root", Role::Admin);
    let home = get(&f.state, "/admin/api/home", Some(&root)).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.text());
    let h = home.json();
    let grid = |id: &str| h["grids"].as_array().unwrap().iter().find(|g| g["id"] == id).unwrap().clone();
    let g1 = grid("g1");
    assert_eq!(
        g1["standing"]["reminders_open_by_kind"],
        json!({"birthday": 1, "contract_expiry": 1, "postpaid_overdue": 1}),
        "the low balance is closed: {g1}"
    );
    assert_eq!(g1["standing"]["reminders_open"], 3);
    assert_eq!(grid("g2")["standing"]["reminders_open_by_kind"], json!({"suspension_risk": 1}));
    assert_eq!(h["total"]["standing"]["reminders_open"], 4);
    for period in ["today", "week", "month"] {
        assert_eq!(g1["periods"][period]["reminders_closed"], 1, "{period}");
        assert_eq!(g1["periods"][period]["reminder_outcomes"], json!({"paid": 1}), "{period}");
    }
    let zhang = g1["managers"].as_array().unwrap().iter().find(|m| m["id"] == "zhang").unwrap().clone();
    assert_eq!(zhang["periods"]["today"]["reminder_outcomes"], json!({"paid": 1}));
    assert_eq!(zhang["standing"]["reminders_open"], 0, "an open reminder is the grid's");
}
