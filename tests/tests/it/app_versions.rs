//! App versions end to end (issue 17): the real server on 127.0.0.1 and a phone's real store and
//! sync engine. An app below the server's minimum delivers what it holds, is told to update (the
//! offer kept in its store), and after the update its ops are acknowledged as repeats; what the
//! phone says of itself, and of its last cycle, reaches the back office's device list; the offered
//! build downloads byte for byte with the device token.

use gridbook_core::sync::app_version::DeviceEnvironment;
use gridbook_core::sync::client::{SyncConfig, SyncEngine};
use gridbook_core::sync::wire::HEADER_APP_VERSION;
use gridbook_core::testing::{household_n, visit};
use gridbook_core::*;
use gridbook_sync_server::cli::releases::{self, ReleaseCommand};

use gridbook_tests::*;
use sha2::{Digest, Sha256};

fn publish(server: &TestServer, version: &str, rollout: u8, bytes: &[u8]) -> serde_json::Value {
    let file = server.dir.path().join(format!("app-{version}.apk"));
    std::fs::write(&file, bytes).unwrap();
    let command = ReleaseCommand::Publish {
        file,
        version: version.into(),
        notes: "修复 / fixes".into(),
        rollout,
        grids: String::new(),
        managers: String::new(),
        by: "release-bot".into(),
    };
    let out = releases::run(server.state.app_versions.storage().as_ref(), command, gridbook_sync_server::now_ms());
    server.state.app_versions.forget(); // as a running server sees it within seconds
    serde_json::from_str(&out.unwrap()).unwrap()
}

fn minimum(server: &TestServer, version: &str) {
    let command = ReleaseCommand::MinVersion { version: version.into(), by: "ops".into() };
    releases::run(server.state.app_versions.storage().as_ref(), command, gridbook_sync_server::now_ms()).unwrap();
    server.state.app_versions.forget();
}

fn apk(n: usize) -> Vec<u8> {
    let mut bytes = b"PK\x03\x04".to_vec();
    bytes.extend((0..n).map(|i| (i % 251) as u8));
    bytes
}

#[tokio::test]
async fn an_app_below_the_minimum_delivers_its_work_then_updates_and_loses_nothing() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    let build = apk(200_000);
    let published = publish(&server, "1.6.0", 0, &build);
    minimum(&server, "1.5.0");
    let phone = server.phone("zhang").await; // its app is "test-1.0": no version, below any minimum

    let h = phone.store.create_household(household_n("g1", 1)).unwrap();
    let v = phone.store.record_visit(visit("g1", &h.id)).unwrap();
    let refused = phone.engine.sync_once().await.expect_err("an app below the minimum is told to update");
    let Error::UpgradeRequired { min_version, update } = refused else { panic!("{refused:?}") };
    assert_eq!(min_version, "1.5.0");
    let update = update.expect("the published build that meets the minimum");
    assert_eq!((update.version.as_str(), update.required), ("1.6.0", true));
    assert_eq!(update.sha256, published["sha256"].as_str().unwrap());
    assert_eq!(phone.store.app_update().unwrap().map(|u| u.required), Some(true), "kept for the app to show");
    assert!(!gridbook_core::sync::client::is_retryable(&Error::UpgradeRequired { min_version, update: None }));

    // the server has the phone's work although the phone was refused
    let on_server = |kind| server.storage.grid_records(kind, "g1").unwrap();
    assert!(on_server(EntityKind::Household).iter().any(|s| s.id == h.id));
    assert!(on_server(EntityKind::Visit).iter().any(|s| s.id == v.id));
    assert_eq!(phone.store.outbox_counts().unwrap().pending, 2, "not acknowledged to the old app");

    // the offered file, with the device token, is the published one
    let http = reqwest::Client::new();
    let file = http.get(format!("{}{}", server.url, update.url)).bearer_auth(&phone.config.token).send().await.unwrap();
    assert_eq!(file.status(), 200);
    let body = file.bytes().await.unwrap();
    let sha: String = Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!((sha, body.len()), (update.sha256.clone(), build.len()));
    // the old app's pull is refused before any work
    let pull = http
        .get(format!("{}/v1/pull?cursor=0", server.url))
        .bearer_auth(&phone.config.token)
        .header(HEADER_APP_VERSION, "test-1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(pull.status(), 426);

    // the update installed: the same store, the new app
    let updated =
        SyncEngine::new(phone.store.clone(), SyncConfig::new(&server.url, &phone.config.token, "1.6.0")).unwrap();
    let report = updated.sync_once().await.expect("the updated app syncs");
    assert_eq!((report.pushed, report.acknowledged, report.rejected), (2, 2, 0), "the repeats acknowledged");
    assert_eq!(phone.store.outbox_counts().unwrap().pending, 0);
    assert_eq!(phone.store.app_update().unwrap(), None, "nothing newer to offer");
    let visits = server.storage.grid_records(EntityKind::Visit, "g1").unwrap();
    assert_eq!(visits.iter().filter(|s| s.id == v.id).count(), 1);
}

#[tokio::test]
async fn what_the_phone_says_of_itself_and_of_its_last_cycle_reaches_the_back_office() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    let phone = server.phone("zhang").await;
    phone.engine.set_environment(DeviceEnvironment {
        device_model: Some("HUAWEI nova 11".into()),
        os_version: Some("Android 14".into()),
        free_storage_bytes: Some(3 << 30),
        battery_saver: Some(false),
    });
    phone.store.create_household(household_n("g1", 1)).unwrap();
    phone.sync().await;
    let first = phone.store.last_cycle().unwrap().expect("a successful cycle is kept");
    assert!(first.bytes > 0, "{first:?}");
    phone.sync().await; // carries the first cycle's figures

    let devices = server.storage.devices().unwrap();
    let row = devices.iter().find(|d| d.manager_id == "zhang").unwrap();
    assert_eq!((row.device_model.as_deref(), row.os_version.as_deref()), (Some("HUAWEI nova 11"), Some("Android 14")));
    assert_eq!((row.free_storage_bytes, row.battery_saver), (Some(3 << 30), Some(false)));
    assert_eq!(row.last_sync_bytes, Some(first.bytes as i64));
    assert_eq!(row.last_sync_duration_ms, Some(first.duration_ms as i64));
}
