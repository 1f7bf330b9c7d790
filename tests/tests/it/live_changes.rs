//! Live changes (issue 15, docs/sync-protocol.md "Live changes"): a phone waiting on
//! `GET /v1/changes` is woken by another phone's push — on the same server (SQLite, or PostgreSQL
//! with GRIDBOOK_TEST_BACKEND=postgres), and across two replica processes on one PostgreSQL,
//! where the push is on replica A and the wait on replica B (LISTEN/NOTIFY between them). The
//! back office's writes wake them alike: a billing load over HTTP, a handover, an admin command on
//! another process of the same PostgreSQL. A wait that nothing wakes answers "maybe"; a bad wait
//! is refused.
//!
//! With `limit` the wake-up answer carries the page itself (the phone needs no pull to have the
//! change); without it the answer stays the bare signal older phones read.
//!
//! The wake is proved without timing: the waiter asks for the longest wait (25 s) and the push is
//! made only once the server's /metrics counts it waiting; without the signal the answer would be
//! `changed: false` at the timeout.

use gridbook_core::model::EntityKind;
use gridbook_core::testing::household_n;
use gridbook_core::SystemClock;
use gridbook_sync_server::cli::admin::{self, AdminCommand};
use gridbook_sync_server::domain::auth::Role;
use gridbook_sync_server::{now_ms, SyncStorage};
use gridbook_tests::{caught_up, until_changes_waiting, Phone, Replicas, TestServer};
use serde_json::json;

const GRID: &str = "g1";

/// `b` waits (the longest wait) on the server `waiting_on`; once that server counts it waiting,
/// `a` makes household `n` and pushes it. Answers whether `b`'s wait said "changed".
async fn wait_while_another_pushes(b: &Phone, waiting_on: &str, a: &Phone, n: u64) -> bool {
    let waiting = b.engine.wait_for_changes(25);
    let push = async {
        until_changes_waiting(waiting_on, 1).await;
        a.store.create_household(household_n(GRID, n)).expect("household");
        a.sync().await
    };
    let (changed, pushed) = tokio::join!(waiting, push);
    assert_eq!(pushed.acknowledged, 1, "A's household was accepted");
    changed.expect("wait")
}

/// `b` waits (the longest wait) on the server `waiting_on`; once that server counts it waiting,
/// `write` runs (a back-office write). Answers whether `b`'s wait said "changed".
async fn wait_while_the_back_office_writes<F: std::future::Future<Output = ()>>(
    b: &Phone,
    waiting_on: &str,
    write: F,
) -> bool {
    let waiting = b.engine.wait_for_changes(25);
    let write = async {
        until_changes_waiting(waiting_on, 1).await;
        write.await
    };
    let (changed, ()) = tokio::join!(waiting, write);
    changed.expect("wait")
}

/// A server with grid g1 of zhang, g2 of li, and the admin `boss` (loading figures and handing
/// over are an admin's changes).
async fn two_grids_and_an_admin() -> TestServer {
    let server = TestServer::start().await;
    server.grid_with_manager(GRID, "zhang");
    server.grid_with_manager("g2", "li");
    server.admin(AdminCommand::CreateManager {
        id: "boss".into(),
        name: "刘经理".into(),
        role: "admin".into(),
        password: Some("网格后台-2026".into()),
    });
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_phone_is_woken_by_the_back_offices_billing_load_and_by_a_handover() {
    let server = two_grids_and_an_admin().await;
    let a = server.phone("zhang").await;
    let b = server.phone("zhang").await;
    let household = a.store.create_household(household_n(GRID, 1)).expect("household");
    a.sync().await;
    caught_up(&b).await;

    // a billing load through the back office's JSON API, as its page sends it
    let (session, csrf) = server.staff_session("boss", "网格后台-2026").await;
    let load = async {
        let resp = reqwest::Client::new()
            .post(format!("{}/admin/api/billing", server.url))
            .header("origin", &server.url)
            .header("cookie", format!("gb_session={session}"))
            .header("x-csrf-token", &csrf)
            .json(&json!({ "profiles": [{
                "grid_id": GRID, "household_id": household.id, "service_number": "13900000001", "product": "mobile",
                "period": "2026-11", "spend_fen": 4_000, "baseline_fen": 10_000,
            }] }))
            .send()
            .await
            .expect("billing load");
        assert_eq!(resp.status().as_u16(), 200, "{:?}", resp.text().await);
    };
    assert!(wait_while_the_back_office_writes(&b, &server.url, load).await, "woken by the billing load");
    assert!(b.sync().await.pulled >= 1, "the pull after the signal brings the figures");

    // a building of g1 handed over to li in g2: zhang's phones pull its removal, li's its records
    let premises = testing_premises(&a).await;
    caught_up(&b).await;
    let li = server.phone("li").await;
    caught_up(&li).await;
    let hand_over = async {
        server.admin(AdminCommand::HandoverBuilding {
            premises: premises.clone(),
            to: "li".into(),
            to_grid: "g2".into(),
            by: "boss".into(),
        });
    };
    assert!(wait_while_the_back_office_writes(&b, &server.url, hand_over).await, "the old manager's phone woken");
    // li's phone, waiting from its own cursor, is told too: the records moved into its grid
    assert!(li.engine.wait_for_changes(0).await.expect("look"), "the receiving grid changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_in_the_wake_up_is_counted_and_the_cursor_it_moved_completes_the_handover() {
    let server = two_grids_and_an_admin().await;
    let a = server.phone("zhang").await;
    let b = server.phone("zhang").await;
    let premises = testing_premises(&a).await;
    caught_up(&b).await;
    let household = b.store.households_in_premises(&premises).expect("households")[0].id.clone();

    // B waits with the page asked; the building (and its household) goes to li meanwhile
    let taking = b.engine.take_live_changes(25);
    let hand_over = async {
        until_changes_waiting(&server.url, 1).await;
        server.admin(AdminCommand::HandoverBuilding {
            premises: premises.clone(),
            to: "li".into(),
            to_grid: "g2".into(),
            by: "boss".into(),
        });
    };
    let (taken, ()) = tokio::join!(taking, hand_over);
    let taken = taken.expect("wait");
    assert!(taken.changed, "woken by the handover");
    assert_eq!((taken.pulled, taken.removed), (0, 2), "the page removed the building and its household: {taken:?}");
    assert!(b.store.entity_state(EntityKind::Premises, &premises).expect("read").is_none());
    assert!(b.store.entity_state(EntityKind::Household, &household).expect("read").is_none());

    // B's cycle reports the copy removed; the server counts it because the wake-up's page noted
    // B's cursor past the removals, as a pull notes it
    let report = b.sync().await;
    assert_eq!((report.pulled, report.removed), (0, 0), "nothing left for the cycle: {report:?}");
    let handover = &server.storage.handovers(10).expect("handovers")[0];
    let on_b = handover.devices.iter().find(|d| d.device_id == b.store.device_id()).expect("B waited for");
    assert!(on_b.removed_at_ms.is_some(), "{handover:?}");
}

/// A building in g1 with a household in it, pushed from `phone`; its id.
async fn testing_premises(phone: &Phone) -> String {
    let premises = phone.store.create_premises(gridbook_core::testing::premises(GRID, 3)).expect("premises");
    let mut h = household_n(GRID, 9);
    h.premises_id = Some(premises.id.clone());
    phone.store.create_household(h).expect("household in the building");
    phone.sync().await;
    premises.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_phone_waiting_on_replica_b_is_woken_by_an_admin_command_on_another_process() {
    let (replicas, _a, b, household) = replicas_with_a_phone_on_each().await;
    // the test process's own storage is a third process of the database, as `admin` is
    let arrears = async {
        admin::run(
            &replicas.storage,
            AdminCommand::AddArrears {
                grid: GRID.into(),
                household: household.clone(),
                account_no: "ACC-1".into(),
                owed_fen: 12_000,
                months: 2,
                service_number: String::new(),
                payment_type: "postpaid".into(),
            },
            now_ms(),
        )
        .expect("arrears");
    };
    assert!(wait_while_the_back_office_writes(&b, &replicas.b.url, arrears).await, "woken through PostgreSQL");
    assert_eq!(b.sync().await.pulled, 1, "the arrears account reaches B");
}

/// A server (the backend the tests' switch names) with grid g1 of zhang, and two of his phones,
/// both up to date with A's first household.
async fn two_phones_up_to_date() -> (TestServer, Phone, Phone) {
    let server = TestServer::start().await;
    server.grid_with_manager(GRID, "zhang");
    let a = server.phone("zhang").await;
    let b = server.phone("zhang").await;
    a.store.create_household(household_n(GRID, 1)).expect("household");
    a.sync().await;
    caught_up(&b).await;
    (server, a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_phone_is_woken_by_another_phones_push_and_a_quiet_wait_says_maybe() {
    let (server, a, b) = two_phones_up_to_date().await;

    // nothing happens: the short wait answers "maybe"
    assert!(!b.engine.wait_for_changes(1).await.expect("quiet wait"), "nothing changed");

    let changed = wait_while_another_pushes(&b, &server.url, &a, 2).await;
    assert!(changed, "woken by the push, not the timeout's maybe");
    let report = b.sync().await;
    assert_eq!(report.pulled, 1, "the pull after the signal brings A's household");

    // a wait past 25 s, or not a number, is refused as a bad query
    let client = reqwest::Client::new();
    for query in ["wait_s=26", "wait_s=soon", "cursor=-1"] {
        let resp = client
            .get(format!("{}/v1/changes?{query}", server.url))
            .bearer_auth(&b.config.token)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status().as_u16(), 400, "{query}");
        let body: serde_json::Value = resp.json().await.expect("error body");
        assert_eq!(body["code"], "bad_query", "{query}");
    }
    let resp = client.get(format!("{}/v1/changes?wait_s=0", server.url)).send().await.expect("request");
    assert_eq!(resp.status().as_u16(), 401, "a device token is needed");

    // the core's live round: waits for the signal, then one full cycle that brings the change
    caught_up(&b).await;
    let round = b.engine.sync_live_round(25);
    let push = async {
        until_changes_waiting(&server.url, 1).await;
        a.store.create_household(household_n(GRID, 3)).expect("household");
        a.sync().await
    };
    let (round, _) = tokio::join!(round, push);
    assert_eq!(round.expect("live round").pulled, 1, "the round synced after the signal");
}

/// `b` takes the live changes (the longest wait, the page asked for) on the server `waiting_on`;
/// once that server counts it waiting, `a` makes household `n` and pushes it. Answers what the
/// wait brought and the household's id.
async fn take_while_another_pushes(
    b: &Phone,
    waiting_on: &str,
    a: &Phone,
    n: u64,
) -> (gridbook_core::sync::live::LiveChanges, String) {
    let taking = b.engine.take_live_changes(25);
    let push = async {
        until_changes_waiting(waiting_on, 1).await;
        let household = a.store.create_household(household_n(GRID, n)).expect("household");
        assert_eq!(a.sync().await.acknowledged, 1, "A's household was accepted");
        household.id
    };
    let (taken, id) = tokio::join!(taking, push);
    (taken.expect("wait"), id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wake_up_carries_the_page_when_asked_and_the_bare_signal_otherwise() {
    let (server, a, b) = two_phones_up_to_date().await;

    // woken with the page: B holds A's household before any pull of its own
    let (taken, id) = take_while_another_pushes(&b, &server.url, &a, 2).await;
    assert!(taken.changed, "woken by the push, not the timeout's maybe");
    assert_eq!(taken.pulled, 1, "the answer carried A's household");
    assert!(b.store.entity_state(EntityKind::Household, &id).expect("read").is_some(), "B has it already");
    assert_eq!(b.sync().await.pulled, 0, "the cycle after it has nothing left to pull");

    // a quiet wait with the page asked: "maybe", no page, nothing taken
    let quiet = b.engine.take_live_changes(1).await.expect("quiet wait");
    assert_eq!((quiet.changed, quiet.pulled), (false, 0));

    // on the wire, as an outside client reads docs/sync-protocol.md: two changes waiting
    for n in 3..5 {
        a.store.create_household(household_n(GRID, n)).expect("household");
    }
    a.sync().await;
    let cursor = b.store.pull_cursor().expect("cursor");
    let client = reqwest::Client::new();
    let get = |query: String| {
        let request = client.get(format!("{}/v1/changes?{query}", server.url)).bearer_auth(&b.config.token);
        async move {
            let resp = request.send().await.expect("request");
            (resp.status().as_u16(), resp.json::<serde_json::Value>().await.expect("json"))
        }
    };
    // an older phone's question: the bare signal, no page key at all
    let (status, bare) = get(format!("cursor={cursor}&wait_s=0")).await;
    assert_eq!((status, bare.clone()), (200, json!({"changed": true})));
    // one record a page: the first of the two, and where the rest resumes
    let (status, one) = get(format!("cursor={cursor}&wait_s=0&limit=1")).await;
    assert_eq!(status, 200);
    assert_eq!(one["changed"], true);
    let page = &one["page"];
    assert_eq!(page["changes"].as_array().map(Vec::len), Some(1), "{one}");
    assert_eq!(page["has_more"], true);
    assert_eq!(page["remaining"], 1);
    let next = page["next_cursor"].as_u64().expect("next_cursor");
    assert!(next > cursor);
    // the same page a pull answers (its server time aside)
    let pulled: serde_json::Value = client
        .get(format!("{}/v1/pull?cursor={cursor}&limit=1", server.url))
        .bearer_auth(&b.config.token)
        .send()
        .await
        .expect("pull")
        .json()
        .await
        .expect("page");
    assert_eq!((&pulled["changes"], &pulled["next_cursor"]), (&page["changes"], &page["next_cursor"]));
    // from the page's cursor: the second one, and nothing after it
    let (_, rest) = get(format!("cursor={next}&wait_s=0&limit=1000")).await;
    assert_eq!(rest["page"]["changes"].as_array().map(Vec::len), Some(1), "{rest}");
    assert_eq!(rest["page"]["has_more"], false);
    let end = rest["page"]["next_cursor"].as_u64().expect("next_cursor");
    // caught up: "maybe", and no page
    let (_, none) = get(format!("cursor={end}&wait_s=0&limit=1000")).await;
    assert_eq!(none, json!({"changed": false}));
    // a page size out of range is refused as the pull refuses it
    for limit in ["0", "10001", "many"] {
        let (status, body) = get(format!("cursor={cursor}&wait_s=0&limit={limit}")).await;
        assert_eq!((status, &body["code"]), (400, &json!("bad_query")), "limit={limit}");
    }
    // the phone's own wait takes both at once
    let taken = b.engine.take_live_changes(0).await.expect("wait");
    assert_eq!((taken.changed, taken.pulled), (true, 2));
    assert_eq!(b.sync().await.pulled, 0);
}

/// Two replicas on one PostgreSQL with grid g1 of zhang; phone A on replica A, phone B on replica
/// B, both up to date with A's first household (its id).
async fn replicas_with_a_phone_on_each() -> (Replicas, Phone, Phone, String) {
    let replicas = Replicas::start(|storage| {
        storage.create_grid(GRID, "幸福里网格", now_ms()).expect("grid");
        storage.create_manager("zhang", "张伟", Role::Field, None, now_ms()).expect("manager");
        storage.assign_grid("zhang", GRID).expect("assign");
    });
    let code = || replicas.storage.create_enrol_code("zhang", now_ms(), 3_600_000).expect("code");
    let a = Phone::enrol(&replicas.a.url, &code(), Box::new(SystemClock)).await;
    let b = Phone::enrol(&replicas.b.url, &code(), Box::new(SystemClock)).await;
    let household = a.store.create_household(household_n(GRID, 1)).expect("household");
    a.sync().await;
    caught_up(&b).await;
    (replicas, a, b, household.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_phone_waiting_on_replica_b_is_woken_by_a_push_on_replica_a() {
    let (replicas, a, b, _) = replicas_with_a_phone_on_each().await;

    for n in 2..4 {
        let changed = wait_while_another_pushes(&b, &replicas.b.url, &a, n).await;
        assert!(changed, "round {n}: woken through PostgreSQL, not the timeout's maybe");
        let report = b.sync().await;
        assert_eq!(report.pulled, 1, "round {n}: A's household reaches B");
        until_changes_waiting(&replicas.b.url, 0).await;
    }
    // the page rides the wake-up across replicas too: read on replica B after A's NOTIFY
    let (taken, id) = take_while_another_pushes(&b, &replicas.b.url, &a, 4).await;
    assert_eq!((taken.changed, taken.pulled), (true, 1), "replica B's answer carried A's household");
    assert!(b.store.entity_state(EntityKind::Household, &id).expect("read").is_some());
}
