//! The money controls of the back office (issue 18) through the real router, on the backend
//! GRIDBOOK_TEST_BACKEND names: receipts paged with their total and flagged against what the
//! account owed when they arrived, one receipt in full (audited), void approval and refusal from
//! the page (CSRF, a reason to refuse, audit rows), cash hand-ins (交款) checked to the fen and
//! once per receipt, and the public check page's answers.

use crate::common;

use axum::body::Body;
use axum::http::{header, StatusCode};
use common::{audited, sql_text, staff_post as post, staff_request, Reply, Server};
use gridbook_core::model::{EntityKind, PaymentMethod, ReceiptVoid};
use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::wire::{
    DeviceFacts, Op, OpAction, OpOutcome, PushRequest, ReceiptBlockRequest, ReceiptBlockResponse, PROTOCOL_VERSION,
};
use gridbook_core::testing;
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::now_ms;
use serde_json::{json, Value};

fn fixture() -> Server {
    Server::new()
        .grid("g1", "幸福里网格")
        .manager("zhang", "张伟", Role::Field, None)
        .manager("li", "李娜", Role::Field, None)
        .assign("zhang", "g1")
        .assign("li", "g1")
        .manager("sup", "王主管", Role::Supervisor, None)
        // a supervisor sees the grids assigned to them, none until one is
        .assign("sup", "g1")
}

/// Stores a receipt as the server keeps an accepted one, and what its account owed when it
/// arrived (`None`: no account figure).
fn store_receipt(f: &Server, id: &str, r: &gridbook_core::Receipt, owed_at_arrival: Option<i64>) {
    let vals = serde_json::to_string(&testing::fields_of(r).unwrap()).unwrap();
    f.execute(&format!(
        "INSERT INTO entities (kind, id, grid_id, vals, base_hlc, clocks, seq, updated_at_ms)
         VALUES ('receipt', {id}, {grid}, {vals}, {stamp}, '{{}}', {seq}, {now});
         INSERT INTO receipt_numbers (receipt_no, receipt_id) VALUES ({no}, {id});",
        id = sql_text(id),
        grid = sql_text(&r.grid_id),
        vals = sql_text(&vals),
        stamp = sql_text(&Hlc::new(now_ms() as u64, 0, "phone_a").to_string()),
        seq = f.next_seq_sql(),
        now = now_ms(),
        no = sql_text(&r.receipt_no),
    ));
    if let Some(owed) = owed_at_arrival {
        f.execute(&format!(
            "INSERT INTO receipt_checks (receipt_id, account_id, owed_at_arrival_fen, checked_at_ms)
             VALUES ({}, {}, {owed}, {})",
            sql_text(id),
            sql_text(&r.account_id),
            now_ms()
        ));
    }
}

fn receipt(no: &str, collector: &str, amount_fen: i64, owed_before_fen: i64, at_ms: i64) -> gridbook_core::Receipt {
    let mut r = testing::receipt("g1", "acc-1", "hh-1", no);
    r.collector_id = collector.into();
    r.device_id = "phone_a".into();
    r.amount_fen = amount_fen;
    r.owed_before_fen = owed_before_fen;
    r.cash_received_fen = amount_fen;
    r.change_fen = 0;
    r.collected_at_ms = at_ms;
    r
}

async fn get(f: &Server, path: &str, session: &(String, String)) -> Reply {
    f.send(staff_request("GET", path, session).body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn receipts_are_paged_with_their_total_and_flagged_against_the_account_on_arrival() {
    let f = fixture();
    let now = now_ms();
    // as in the demo: ¥1,381.39 taken on ¥581.39 owed, then the phone's stale debt on another
    store_receipt(&f, "r1", &receipt("SJ-001", "zhang", 58_139, 58_139, now - 3_000), Some(58_139));
    store_receipt(&f, "r2", &receipt("SJ-002", "zhang", 138_139, 58_139, now - 2_000), Some(0));
    store_receipt(&f, "r3", &receipt("SJ-003", "li", 10_000, 30_000, now - 1_000), Some(20_000));
    store_receipt(&f, "r4", &receipt("SJ-004", "li", 500, 500, now), None);
    let sup = f.session("sup", Role::Supervisor);

    let page = get(&f, "/admin/api/money/receipts?limit=3", &sup).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let page = page.json();
    assert_eq!((page["total"].as_i64(), page["total_fen"].as_i64()), (Some(4), Some(58_139 + 138_139 + 10_000 + 500)));
    let nos: Vec<_> = page["receipts"].as_array().unwrap().iter().map(|r| r["receipt_no"].as_str().unwrap()).collect();
    assert_eq!(nos, ["SJ-004", "SJ-003", "SJ-002"], "newest first, three to a page");
    let flags =
        |r: &Value| r["flags"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(flags(&page["receipts"][2]), ["over_collected", "owed_before_differs"]);
    assert_eq!(flags(&page["receipts"][1]), ["owed_before_differs"]);
    assert!(flags(&page["receipts"][0]).is_empty(), "no account figure, no flag");
    let rest = get(&f, "/admin/api/money/receipts?limit=3&offset=3", &sup).await.json();
    assert_eq!(rest["total"], 4);
    assert_eq!(rest["receipts"][0]["receipt_no"], "SJ-001");
    assert!(flags(&rest["receipts"][0]).is_empty());

    let flagged = get(&f, "/admin/api/money/receipts?flagged=true", &sup).await.json();
    assert_eq!((flagged["total"].as_i64(), flagged["total_fen"].as_i64()), (Some(2), Some(148_139)));
    let li = get(&f, "/admin/api/money/receipts?collector=li", &sup).await.json();
    assert_eq!(li["total"], 2);

    // the receipt's visit: zhang's to its household nearest the payment, found among that
    // household's visits only (another household's visit nearer in time is not it)
    let visit = |household: &str, manager: &str, at: i64| {
        let mut v = testing::visit("g1", household);
        v.manager_id = manager.into();
        v.arrived_at_ms = at;
        v
    };
    f.store_record("v-far", "g1", &visit("hh-1", "zhang", now - 2_000 - 3_600_000));
    f.store_record("v-near", "g1", &visit("hh-1", "zhang", now - 2_000 - 600_000));
    f.store_record("v-other-home", "g1", &visit("hh-2", "zhang", now - 2_000));
    f.store_record("v-li", "g1", &visit("hh-1", "li", now - 2_000));
    let one = get(&f, "/admin/api/money/receipts/SJ-002", &sup).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text());
    let one = one.json();
    assert_eq!(one["receipt"]["owed_at_arrival_fen"], 0);
    assert_eq!(one["visit"]["id"], "v-near", "{one}");
    assert_eq!(one["evidence"]["verification"], "unsigned");
    assert_eq!(audited(&f, "reveal_receipt", "SJ-002"), 1, "a receipt shown in full is audited");
    let print = get(&f, "/admin/money/receipts/SJ-002/print", &sup).await;
    assert_eq!(print.status, StatusCode::UNPROCESSABLE_ENTITY, "an unsigned receipt has no customer's copy");
    assert_eq!(get(&f, "/admin/api/money/receipts/SJ-999", &sup).await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&f, "/admin/api/money/receipts?offset=x", &sup).await.status, StatusCode::BAD_REQUEST);

    let anonymous = f.send(axum::http::Request::get("/admin/api/money/receipts").body(Body::empty()).unwrap()).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let page = get(&f, "/admin/money", &sup).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("收款核对") && page.text().contains(&sup.1), "the page carries its CSRF token");
}

/// A phone's void of a stored receipt, pushed as the phone sends it; the void's id.
async fn push_void(f: &Server, token: &str, receipt_id: &str, reason: &str) -> String {
    push_void_in(f, "g1", token, receipt_id, reason).await
}

/// As `push_void`, in grid `grid`.
async fn push_void_in(f: &Server, grid: &str, token: &str, receipt_id: &str, reason: &str) -> String {
    let void = ReceiptVoid {
        id: String::new(),
        grid_id: grid.into(),
        receipt_id: receipt_id.into(),
        reason: reason.into(),
        voided_at_ms: now_ms(),
        voided_by: "zhang".into(),
    };
    let id = uuid::Uuid::now_v7().to_string();
    let op = Op {
        id: uuid::Uuid::now_v7(),
        kind: EntityKind::ReceiptVoid,
        entity: id.clone(),
        grid: grid.into(),
        action: OpAction::Create,
        fields: testing::fields_of(&void).unwrap(),
        hlc: Hlc::new(now_ms() as u64, 0, "phone_a"),
    };
    let facts = DeviceFacts {
        app_version: "2.1.0".into(),
        wall_clock_ms: now_ms(),
        zone_offset_min: 480,
        ..Default::default()
    };
    let reply = f.push(token, &PushRequest { protocol: PROTOCOL_VERSION, facts, ops: vec![op] }).await;
    assert!(matches!(reply.results[0].outcome, OpOutcome::Applied), "{:?}", reply.results);
    id
}

#[tokio::test]
async fn voids_are_approved_or_refused_in_the_page_with_the_token_a_reason_to_refuse_and_an_audit_row() {
    let f = fixture();
    let phone = f.enrol("zhang", "phone_a").await;
    store_receipt(&f, "r1", &receipt("SJ-101", "zhang", 12_800, 12_800, now_ms()), Some(12_800));
    store_receipt(&f, "r2", &receipt("SJ-102", "zhang", 5_000, 5_000, now_ms()), Some(5_000));
    let v1 = push_void(&f, &phone, "r1", "金额录错 wrong amount").await;
    let v2 = push_void(&f, &phone, "r2", "客户改用微信 paid by WeChat instead").await;
    let sup = f.session("sup", Role::Supervisor);

    let pending = get(&f, "/admin/api/money/voids?status=pending", &sup).await.json();
    assert_eq!(pending["voids"].as_array().unwrap().len(), 2);
    assert_eq!(get(&f, "/admin/api/money/voids?status=maybe", &sup).await.status, StatusCode::BAD_REQUEST);

    let path = |v: &str| format!("/admin/api/money/voids/{v}/decision");
    let stale = (sup.0.clone(), "not-the-token".to_string());
    let refused = post(&f, &path(&v1), &stale, json!({"decision": "refuse", "note": "x"})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "a stale CSRF token is refused");
    let no_reason = post(&f, &path(&v1), &sup, json!({"decision": "refuse", "note": "  "})).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", no_reason.text());
    let what = post(&f, &path(&v1), &sup, json!({"decision": "maybe"})).await;
    assert_eq!(what.status, StatusCode::UNPROCESSABLE_ENTITY);

    let done = post(&f, &path(&v1), &sup, json!({"decision": "refuse", "note": "金额无误，客户已确认"})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert_eq!((done.json()["status"].as_str(), done.json()["decided_by"].as_str()), (Some("refused"), Some("sup")));
    assert_eq!(audited(&f, "void_refused", &v1), 1);
    let again = post(&f, &path(&v1), &sup, json!({"decision": "approve"})).await;
    assert_eq!((again.status, again.error().code.as_str()), (StatusCode::CONFLICT, "already_decided"));

    let approved = post(&f, &path(&v2), &sup, json!({"decision": "approve"})).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text());
    assert_eq!(audited(&f, "void_approved", &v2), 1);
    let page = get(&f, "/admin/api/money/receipts", &sup).await.json();
    assert_eq!(page["total_fen"], 12_800, "the approved void's receipt is left out of the total");
    assert_eq!(get(&f, "/admin/api/money/voids?status=pending", &sup).await.json()["voids"], json!([]));
}

#[tokio::test]
async fn cash_is_handed_in_once_per_receipt_for_the_exact_sum_of_the_managers_cash() {
    let f = fixture();
    let now = now_ms();
    store_receipt(&f, "r1", &receipt("SJ-201", "zhang", 12_800, 12_800, now - 2_000), None);
    store_receipt(&f, "r2", &receipt("SJ-202", "zhang", 5_001, 5_001, now - 1_000), None);
    let mut wechat = receipt("SJ-203", "zhang", 3_000, 3_000, now);
    wechat.method = PaymentMethod::Wechat;
    wechat.payment_ref = "4200001234567890".into();
    store_receipt(&f, "r3", &wechat, None);
    store_receipt(&f, "r4", &receipt("SJ-204", "li", 1_000, 1_000, now), None);
    let sup = f.session("sup", Role::Supervisor);
    let hand_in =
        |ids: &[&str], amount_fen: i64| json!({"manager_id": "zhang", "receipt_ids": ids, "amount_fen": amount_fen});

    let open = get(&f, "/admin/api/money/receipts?collector=zhang&not_handed_in=true", &sup).await.json();
    assert_eq!((open["total"].as_i64(), open["total_fen"].as_i64()), (Some(2), Some(17_801)), "cash only");

    let short = post(&f, "/admin/api/money/hand-ins", &sup, hand_in(&["r1", "r2"], 17_800)).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY, "a fen short: {}", short.text());
    assert!(short.error().message.contains("17801"), "{}", short.text());
    let not_cash = post(&f, "/admin/api/money/hand-ins", &sup, hand_in(&["r3"], 3_000)).await;
    assert_eq!(not_cash.status, StatusCode::UNPROCESSABLE_ENTITY);
    let not_his = post(&f, "/admin/api/money/hand-ins", &sup, hand_in(&["r4"], 1_000)).await;
    assert_eq!(not_his.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = post(&f, "/admin/api/money/hand-ins", &sup, hand_in(&["nope"], 1)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let stale = (sup.0.clone(), "stale".to_string());
    let forged = post(&f, "/admin/api/money/hand-ins", &stale, hand_in(&["r1", "r2"], 17_801)).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(f.count("SELECT count(*) FROM hand_ins"), 0, "nothing refused was written");

    let done = post(&f, "/admin/api/money/hand-ins", &sup, hand_in(&["r1", "r2"], 17_801)).await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text());
    let row = done.json();
    assert_eq!((row["amount_fen"].as_i64(), row["receipt_count"].as_i64()), (Some(17_801), Some(2)));
    assert_eq!((row["received_by"].as_str(), row["manager_name"].as_str()), (Some("sup"), Some("张伟")));
    assert_eq!(audited(&f, "cash_handed_in", row["id"].as_str().unwrap()), 1);
    let twice = post(&f, "/admin/api/money/hand-ins", &sup, hand_in(&["r2"], 5_001)).await;
    assert_eq!((twice.status, twice.error().code.as_str()), (StatusCode::CONFLICT, "already_handed_in"));

    let open = get(&f, "/admin/api/money/receipts?collector=zhang&not_handed_in=true", &sup).await.json();
    assert_eq!(open["total"], 0);
    let listed = get(&f, "/admin/api/money/hand-ins", &sup).await.json();
    assert_eq!(listed["hand_ins"].as_array().unwrap().len(), 1);
    let days = listed["cash_days"].as_array().unwrap();
    let of = |who: &str| days.iter().find(|d| d["manager_id"] == who).unwrap().clone();
    let zhang = of("zhang");
    assert_eq!(
        (zhang["collected_fen"].as_i64(), zhang["handed_in_fen"].as_i64(), zhang["outstanding_fen"].as_i64()),
        (Some(17_801), Some(17_801), Some(0)),
        "the WeChat receipt is no cash to hand in"
    );
    let li = of("li");
    assert_eq!((li["outstanding_fen"].as_i64(), li["outstanding_count"].as_i64()), (Some(1_000), Some(1)));

    // zhang's cash of 40 days ago, handed in today: handed in, but not of this month's money
    store_receipt(&f, "r5", &receipt("SJ-205", "zhang", 900, 900, now - 40 * 86_400_000), None);
    let old = post(&f, "/admin/api/money/hand-ins", &sup, hand_in(&["r5"], 900)).await;
    assert_eq!(old.status, StatusCode::CREATED, "{}", old.text());

    // the home page: of today's money (12,800 + 5,001 + 3,000 WeChat + 1,000 li's), what is
    // handed in, per grid and per manager, summed by storage per collector and period
    let home = get(&f, "/admin/api/home", &sup).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.text());
    let home = home.json();
    let grid = &home["grids"][0];
    for period in ["today", "week", "month"] {
        assert_eq!(grid["periods"][period]["collected_fen"], 21_801, "{period}");
        assert_eq!(grid["periods"][period]["handed_in_fen"], 17_801, "{period}");
    }
    let manager = |id: &str| grid["managers"].as_array().unwrap().iter().find(|m| m["id"] == id).unwrap().clone();
    assert_eq!(manager("zhang")["periods"]["today"]["handed_in_fen"], 17_801);
    assert_eq!(manager("li")["periods"]["today"]["handed_in_fen"], 0);
    assert_eq!(home["total"]["periods"]["today"]["handed_in_fen"], 17_801);
}

#[tokio::test]
async fn the_public_check_page_answers_not_genuine_or_not_uploaded_without_personal_data() {
    let f = fixture();
    let phone = f.enrol("zhang", "phone_a").await;
    let mut req = common::json_post(
        "/v1/receipt-blocks",
        &ReceiptBlockRequest { protocol: PROTOCOL_VERSION, request_id: uuid::Uuid::now_v7(), numbers_left: 0 },
    );
    req.headers_mut().insert(header::AUTHORIZATION, format!("Bearer {phone}").parse().unwrap());
    let block = f.send(req).await;
    assert_eq!(block.status, StatusCode::OK, "{}", block.text());
    let block: ReceiptBlockResponse = serde_json::from_slice(&block.body).unwrap();
    let issued = block.block.number(block.block.first).unwrap();
    let page = |q: String| f.send(axum::http::Request::get(format!("/verify{q}")).body(Body::empty()).unwrap());

    let form = page(String::new()).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text().contains("收据核验") && !form.text().contains("data-answer"));
    assert!(form.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("default-src 'none'"));
    let pending = page(format!("?no={issued}&code=ABCD-EFGH-JK")).await.text();
    assert!(pending.contains("data-answer=\"not-uploaded\"") && pending.contains("尚未上传"), "{pending}");
    let unknown = page("?no=XX999999-001&code=ABCD-EFGH-JK".into()).await.text();
    assert!(unknown.contains("data-answer=\"not-genuine\""), "{unknown}");
    // a number the server holds a receipt of, with a code that is not its own (it is unsigned)
    store_receipt(&f, "r1", &receipt(&issued, "zhang", 12_800, 12_800, now_ms()), None);
    let wrong = page(format!("?no={issued}&code=ABCD-EFGH-JK")).await.text();
    assert!(wrong.contains("data-answer=\"not-genuine\""), "{wrong}");
    assert!(!wrong.contains("zhang") && !wrong.contains("hh-1") && !wrong.contains("acc-1"), "no personal data");
}

/// Each supervisor sees the money of the grids assigned to them (issue 18): receipts and their
/// total, one receipt and its printed copy, voids and their decision, hand-ins and each
/// manager's cash; what is another's answers 404 as if it did not exist. An admin sees all.
#[tokio::test]
async fn a_supervisor_sees_and_decides_only_the_money_of_their_own_grids() {
    let f = fixture()
        .grid("g2", "岳麓网格")
        .manager("wang", "王强", Role::Field, None)
        .assign("wang", "g2")
        .manager("sup2", "赵主管", Role::Supervisor, None)
        .assign("sup2", "g2")
        .manager("boss", "管理员", Role::Admin, None);
    let now = now_ms();
    store_receipt(&f, "r1", &receipt("SJ-301", "zhang", 12_800, 12_800, now - 2_000), Some(12_800));
    let mut other = receipt("SJ-302", "wang", 5_000, 5_000, now - 1_000);
    other.grid_id = "g2".into();
    store_receipt(&f, "r2", &other, Some(5_000));
    let zhang_phone = f.enrol("zhang", "phone_a").await;
    let wang_phone = f.enrol("wang", "phone_w").await;
    push_void_in(&f, "g1", &zhang_phone, "r1", "金额录错 wrong amount").await;
    let v2 = push_void_in(&f, "g2", &wang_phone, "r2", "客户改用微信 paid by WeChat").await;
    let (sup, sup2, boss) =
        (f.session("sup", Role::Supervisor), f.session("sup2", Role::Supervisor), f.session("boss", Role::Admin));

    let nos = |page: &Value| -> Vec<String> {
        page["receipts"].as_array().unwrap().iter().map(|r| r["receipt_no"].as_str().unwrap().to_string()).collect()
    };
    let mine = get(&f, "/admin/api/money/receipts", &sup).await.json();
    assert_eq!(
        (nos(&mine), mine["total"].as_i64(), mine["total_fen"].as_i64()),
        (vec!["SJ-301".into()], Some(1), Some(12_800))
    );
    let theirs = get(&f, "/admin/api/money/receipts", &sup2).await.json();
    assert_eq!((nos(&theirs), theirs["total_fen"].as_i64()), (vec!["SJ-302".into()], Some(5_000)));
    let all = get(&f, "/admin/api/money/receipts", &boss).await.json();
    assert_eq!((all["total"].as_i64(), all["total_fen"].as_i64()), (Some(2), Some(17_800)));
    // a filter by another grid's manager or number finds nothing
    assert_eq!(get(&f, "/admin/api/money/receipts?collector=wang", &sup).await.json()["total"], 0);
    assert_eq!(get(&f, "/admin/api/money/receipts?receipt_no=SJ-302", &sup).await.json()["total"], 0);

    // one receipt, and its printed copy: not there for the other grid's supervisor, nothing revealed
    assert_eq!(get(&f, "/admin/api/money/receipts/SJ-302", &sup).await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&f, "/admin/money/receipts/SJ-302/print", &sup).await.status, StatusCode::NOT_FOUND);
    assert_eq!(audited(&f, "reveal_receipt", "SJ-302"), 0);
    assert_eq!(get(&f, "/admin/api/money/receipts/SJ-302", &sup2).await.status, StatusCode::OK);

    // voids: listed and decided by the grid's own supervisor only
    let listed = |who| {
        let f = &f;
        async move {
            get(f, "/admin/api/money/voids", who).await.json()["voids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["receipt_id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(&sup).await, ["r1"]);
    assert_eq!(listed(&sup2).await, ["r2"]);
    assert_eq!(listed(&boss).await.len(), 2);
    let path = format!("/admin/api/money/voids/{v2}/decision");
    let denied = post(&f, &path, &sup, json!({"decision": "approve"})).await;
    assert_eq!(denied.status, StatusCode::NOT_FOUND, "{}", denied.text());
    assert_eq!(audited(&f, "void_approved", &v2), 0);
    let decided = post(&f, &path, &sup2, json!({"decision": "refuse", "note": "请补交凭证"})).await;
    assert_eq!(decided.status, StatusCode::OK, "{}", decided.text());

    // cash: each supervisor sees their managers' days and hands in only their grids' cash
    let wang_hand_in = json!({"manager_id": "wang", "receipt_ids": ["r2"], "amount_fen": 5_000});
    let denied = post(&f, "/admin/api/money/hand-ins", &sup, wang_hand_in.clone()).await;
    assert_eq!(denied.status, StatusCode::NOT_FOUND, "{}", denied.text());
    assert_eq!(f.count("SELECT count(*) FROM hand_ins"), 0);
    let done = post(&f, "/admin/api/money/hand-ins", &sup2, wang_hand_in).await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text());
    let managers = |v: &Value, list: &str, key: &str| -> Vec<String> {
        v[list].as_array().unwrap().iter().map(|d| d[key].as_str().unwrap().to_string()).collect()
    };
    let sup_view = get(&f, "/admin/api/money/hand-ins", &sup).await.json();
    assert!(managers(&sup_view, "hand_ins", "manager_id").is_empty(), "{sup_view}");
    assert_eq!(managers(&sup_view, "cash_days", "manager_id"), ["zhang"]);
    let sup2_view = get(&f, "/admin/api/money/hand-ins", &sup2).await.json();
    assert_eq!(managers(&sup2_view, "hand_ins", "manager_id"), ["wang"]);
    assert_eq!(managers(&sup2_view, "cash_days", "manager_id"), ["wang"]);
    let boss_view = get(&f, "/admin/api/money/hand-ins", &boss).await.json();
    assert_eq!(managers(&boss_view, "cash_days", "manager_id").len(), 2);
}
