//! The demo city (the README's run command) seeds, enrols its phones and syncs them for real.

use gridbook_core::sync::hlc::SystemClock;
use gridbook_sync_server::cli::demo::{self, DemoPhone};
use gridbook_tests::TestServer;

#[tokio::test]
async fn the_demo_city_seeds_once_and_its_phones_sync() {
    let server = TestServer::start().await;
    assert!(demo::seed(server.storage.as_ref()).unwrap());
    assert!(!demo::seed(server.storage.as_ref()).unwrap(), "a second start continues the same city");
    let dir = tempfile::tempdir().unwrap();
    let mut phones = Vec::new();
    for n in 0..2 {
        phones.push(
            DemoPhone::enrol(server.storage.as_ref(), &server.url, dir.path(), n, Box::new(SystemClock)).await.unwrap(),
        );
    }
    let mut rng = rand::thread_rng();
    for round in 1..=3 {
        for p in phones.iter_mut() {
            p.work(round, &mut rng);
            p.engine.sync_once().await.unwrap();
        }
        demo::bill_some_households(server.storage.as_ref(), &phones, &mut rng).unwrap();
    }
    for p in &phones {
        p.engine.sync_once().await.unwrap(); // the last round's work of the other phone
    }
    let devices = server.storage.devices().unwrap();
    assert_eq!(devices.len(), 2);
    assert!(devices.iter().all(|d| d.last_push_ms.is_some() && d.pending_count == 0));
    // both phones share grid yuelu-01: each sees the other's archives
    let a = phones[0].store.all_states(gridbook_core::EntityKind::Household).unwrap().len();
    let b = phones[1].store.all_states(gridbook_core::EntityKind::Household).unwrap().len();
    assert!(a >= 6 && a == b, "{a} vs {b}");
    // no debt is collected twice (issue 18: ¥1,381.39 was collected on ¥581.39 owed): per account,
    // what the receipts took is at most what the first of them found owed
    let mut by_account: std::collections::HashMap<String, (i64, i64)> = Default::default();
    for (grid, _) in demo::GRIDS {
        for state in server.storage.grid_records(gridbook_core::EntityKind::Receipt, grid).unwrap() {
            let amount = state.values["amount_fen"].as_i64().unwrap();
            let owed = state.values["owed_before_fen"].as_i64().unwrap();
            assert!(amount > 0 && amount <= owed, "{amount} on {owed} owed");
            let e = by_account.entry(state.values["account_id"].as_str().unwrap().to_string()).or_default();
            e.0 += amount;
            e.1 = e.1.max(owed);
        }
    }
    for (account, (paid, owed)) in by_account {
        assert!(paid <= owed, "account {account}: {paid} collected on {owed} owed");
    }
}

#[tokio::test]
async fn a_continued_city_reaches_its_phones_at_the_new_address_and_a_new_city_starts_with_new_phones() {
    let server = TestServer::start().await;
    demo::seed(server.storage.as_ref()).unwrap();
    let db = server.dir.path().join("city.db");
    let dir = demo::phones_dir(&db, true).unwrap();
    let phone = DemoPhone::enrol(server.storage.as_ref(), &server.url, &dir, 0, Box::new(SystemClock)).await.unwrap();
    phone.engine.sync_once().await.unwrap();
    drop(phone);

    // the same city served on another address (`demo --listen` changed): the phone follows it
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let moved = format!("http://{}", listener.local_addr().unwrap());
    let mut state = server.state.clone();
    state.backoffice.metrics = Default::default(); // its own counts, as a restarted server's
    tokio::spawn(gridbook_sync_server::serve(listener, state, std::future::pending()));
    let dir = demo::phones_dir(&db, false).unwrap();
    let mut phone = DemoPhone::enrol(server.storage.as_ref(), &moved, &dir, 0, Box::new(SystemClock)).await.unwrap();
    phone.work(1, &mut rand::thread_rng());
    phone.engine.sync_once().await.expect("the phone syncs with the moved server");
    let metrics = reqwest::get(format!("{moved}/metrics")).await.unwrap().text().await.unwrap();
    assert!(
        metrics.lines().any(|l| l == r#"gridbook_http_requests_total{route="/v1/push",method="POST",status="200"} 1"#),
        "{metrics}"
    );
    assert_eq!(server.storage.devices().unwrap().len(), 1, "the same device, not a second enrolment");
    drop(phone);

    // a new city (its database was deleted): the old phones' stores go with it
    assert!(dir.join("phone-0.db").exists());
    let dir = demo::phones_dir(&db, true).unwrap();
    assert!(!dir.join("phone-0.db").exists());
}
