//! The demo city (the README's run command) seeds, enrols its phones and syncs them for real.

use gridbook_core::hlc::SystemClock;
use gridbook_sync_server::demo::{self, DemoPhone};
use gridbook_sync_server::SyncStorage;
use gridbook_tests::TestServer;

#[tokio::test]
async fn the_demo_city_seeds_once_and_its_phones_sync() {
    let server = TestServer::start().await;
    assert!(demo::seed(server.storage.as_ref()).unwrap());
    assert!(!demo::seed(server.storage.as_ref()).unwrap(), "a second start continues the same city");
    let dir = tempfile::tempdir().unwrap();
    let mut phones = Vec::new();
    for n in 0..2 {
        phones.push(DemoPhone::enrol(server.storage.as_ref(), &server.url, dir.path(), n, Box::new(SystemClock)).await.unwrap());
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
}
