//! The remote wipe end to end (issue 16, docs/sync-protocol.md "Remote wipe"): the real server on
//! loopback (SQLite, or PostgreSQL with GRIDBOOK_TEST_BACKEND=postgres), phones with encrypted
//! stores holding pending visits and an unsynced receipt. A retiring phone uploads everything
//! (what the server refuses is set aside and counted), then destroys its vault key and every file
//! of its store, and reports, signed; a lost phone pushes once and reports what it lost; a phone
//! whose last push and report cannot get through wipes all the same. After the report the
//! device's token is refused as revoked and its id never enrols again; a new store enrols as new.

use std::path::Path;
use std::sync::Arc;

use gridbook_core::store::encryption::{DataKey, KeyVault, SoftwareVault};
use gridbook_core::sync::wipe::WipeKeys;
use gridbook_core::sync::wire::{WipeMode, PATH_ENROL, PATH_PULL, PROTOCOL_VERSION};
use gridbook_core::testing::{self, household_n};
use gridbook_core::{Error, Store, SyncConfig, SyncEngine};
use gridbook_sync_server::cli::admin::AdminCommand;
use gridbook_sync_server::storage::wipes::{WipeRow, WipeStatus};
use gridbook_tests::{Phone, TestServer};
use serde_json::{json, Value};

/// A phone with an encrypted store whose vault the test keeps (to see it destroyed), enrolled
/// with the store's own key, its engine told where the wipe's vault is.
async fn phone(server: &TestServer, manager: &str) -> (Phone, Arc<SoftwareVault>) {
    let vault = Arc::new(SoftwareVault::generate().expect("vault"));
    let phone = Phone::enrol_sealed_with(
        &server.url,
        &server.enrol_code(manager),
        vault.as_ref(),
        Box::new(gridbook_core::SystemClock),
    )
    .await;
    phone.engine.set_wipe_keys(WipeKeys { vault: Some(vault.clone() as Arc<dyn KeyVault>), signer: None });
    (phone, vault)
}

/// What a wipe leaves of the store at `path` opened through `vault`: no file of it (the database,
/// its WAL, shared memory, journal, key record …), and a vault whose key is destroyed.
fn assert_gone(path: &Path, vault: &SoftwareVault) {
    let name = path.file_name().expect("file name").to_string_lossy().into_owned();
    let left: Vec<String> = std::fs::read_dir(path.parent().expect("dir"))
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with(&name))
        .collect();
    assert!(left.is_empty(), "store files left: {left:?}");
    assert!(matches!(vault.wrap(&DataKey::random().unwrap()), Err(Error::KeyUnavailable(_))));
}

fn order(server: &TestServer, device: &str, mode: &str) {
    server.admin(AdminCommand::WipeDevice { device: device.into(), mode: mode.into(), by: "zhuguan".into() });
}

fn wipe_of(server: &TestServer, device: &str) -> WipeRow {
    server.storage.wipes().expect("wipes").into_iter().find(|w| w.device_id == device).expect("a wipe row")
}

/// The answer's status and body to a request with `token`.
async fn get(server: &TestServer, path: &str, token: &str) -> (u16, Value) {
    let resp =
        reqwest::Client::new().get(format!("{}{path}", server.url)).bearer_auth(token).send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A household with an arrears account the phone has pulled, a receipt book on the phone, and
/// then, offline: three visits, a receipt collected (12,800 fen), and a household in a grid that
/// is not the manager's (the server refuses it: `outside_grids`).
async fn day_of_work(server: &TestServer, phone: &Phone) -> String {
    let h = phone.store.create_household(household_n("g1", 1)).expect("household");
    phone.sync().await;
    let account = server.arrears("g1", &h.id, 30_000);
    assert_eq!(phone.sync().await.receipt_numbers_left, 100);
    for _ in 0..3 {
        phone.store.record_visit(testing::visit("g1", &h.id)).expect("visit");
    }
    phone.collect(testing::receipt("g1", &account, &h.id, ""));
    phone.store.create_household(household_n("g9", 2)).expect("a household of another grid");
    h.id
}

#[tokio::test]
async fn a_retiring_phone_uploads_everything_then_wipes_and_reports_and_a_new_phone_enrols() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    let _ = server.storage.create_grid("g9", "g9 网格", gridbook_sync_server::now_ms());
    let (phone, vault) = phone(&server, "zhang").await;
    let device = phone.store.device_id().to_string();
    let household = day_of_work(&server, &phone).await;
    let pending = phone.store.outbox_counts().unwrap().pending;
    assert_eq!(pending, 6, "three visits, a signature and its receipt, a household of g9");

    order(&server, &device, "retire");
    assert_eq!(wipe_of(&server, &device).status, WipeStatus::Ordered);
    let (report, reported) = match phone.engine.sync_once().await {
        Err(Error::Wiped { report: Some(report), reported }) => (*report, reported),
        other => panic!("the sync should end in the wipe: {other:?}"),
    };
    assert!(reported, "the report reached the server");
    assert_eq!(
        (report.ops_uploaded, report.receipts_uploaded, report.receipts_uploaded_fen),
        (5, 1, 12_800),
        "every visit, the signature and the receipt went up"
    );
    assert_eq!((report.ops_rejected, report.ops_lost, report.receipts_lost, report.receipts_lost_fen), (1, 0, 0, 0));
    assert_eq!((report.mode, report.device_id.as_str()), (WipeMode::Retire, device.as_str()));

    // the phone: its vault's key, its files and its data are gone; every call says so
    assert_gone(&phone.db_path(), &vault);
    assert!(matches!(phone.store.household(&household, gridbook_core::Reveal::Masked), Err(Error::Wiped { .. })));
    assert!(matches!(phone.store.unlock(vault.as_ref()), Err(Error::Wiped { .. })), "never a new store in its place");
    assert!(!phone.db_path().exists());
    assert!(matches!(phone.engine.sync_once().await, Err(Error::Wiped { reported: true, .. })));

    // the server: everything the phone held is there; the back office sees the report
    let on_server = |kind: &str| server.text(&format!("SELECT count(*) FROM entities WHERE kind = '{kind}'"));
    assert_eq!((on_server("visit"), on_server("receipt")), ("3".to_string(), "1".to_string()));
    let row = wipe_of(&server, &device);
    assert_eq!(row.status, WipeStatus::Wiped);
    assert_eq!((row.ordered_by.as_str(), row.told_at_ms.is_some()), ("zhuguan", true));
    assert_eq!(row.report.as_ref(), Some(&report));
    let audit = server.storage.audit_log(Some(&device), 10).expect("audit");
    let actions: Vec<(&str, &str)> = audit.iter().map(|a| (a.action.as_str(), a.actor.as_str())).collect();
    assert!(actions.contains(&("wipe_ordered", "zhuguan")) && actions.contains(&("wipe_reported", device.as_str())));

    // its token is refused as a revoked one's, and its id never enrols again
    let (status, body) = get(&server, &format!("{PATH_PULL}?cursor=0"), &phone.config.token).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("revoked")));
    let again = reqwest::Client::new()
        .post(format!("{}{PATH_ENROL}", server.url))
        .json(&json!({"protocol": PROTOCOL_VERSION, "code": server.enrol_code("zhang"), "device_id": device, "app_version": "x"}))
        .send()
        .await
        .expect("enrol");
    assert_eq!(again.status().as_u16(), 403);
    assert!(matches!(
        server.storage.order_wipe(&device, WipeMode::Lost, "zhuguan", 1),
        Err(e) if e.code() == gridbook_core::sync::wire::ErrorCode::WipeUnderWay
    ));

    // the manager's new phone: a new store where the old one was, a new id, the old work on it
    let vault = SoftwareVault::generate().unwrap();
    let store = Arc::new(Store::open_sealed(phone.db_path(), &vault).expect("a new store"));
    assert_ne!(store.device_id(), device);
    let code = server.enrol_code("zhang");
    gridbook_core::sync::client::enrol(&store, &server.url, &code, "test-1.0", None).await.expect("enrols as new");
    let config = gridbook_core::sync::client::saved_config(&store, "test-1.0").unwrap().expect("config");
    SyncEngine::new(store.clone(), config).unwrap().sync_once().await.expect("sync");
    assert_eq!(store.household_history(&household).unwrap().len(), 4, "three visits and the receipt");
}

#[tokio::test]
async fn a_lost_phone_pushes_once_after_it_is_told_and_reports_what_it_lost() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    let (phone, _vault) = phone(&server, "zhang").await;
    let device = phone.store.device_id().to_string();
    let h = phone.store.create_household(household_n("g1", 1)).unwrap();
    phone.sync().await;
    let account = server.arrears("g1", &h.id, 30_000);
    phone.sync().await;
    for _ in 0..3 {
        phone.store.record_visit(testing::visit("g1", &h.id)).unwrap();
    }
    phone.collect(testing::receipt("g1", &account, &h.id, ""));
    // pushes of two ops: the push that tells it, one more, and the signed receipt is left behind
    let engine =
        SyncEngine::new(phone.store.clone(), SyncConfig { push_batch: 2, ..phone.config.clone() }).expect("engine");

    order(&server, &device, "lost");
    let Err(Error::Wiped { report: Some(report), reported: true }) = engine.sync_once().await else {
        panic!("the lost phone wipes and reports")
    };
    assert_eq!(
        (report.ops_uploaded, report.ops_lost, report.receipts_lost, report.receipts_lost_fen),
        (4, 1, 1, 12_800),
        "{report:?}"
    );
    assert_eq!(report.receipts_uploaded, 0);
    assert!(!phone.db_path().exists());
    assert_eq!(server.text("SELECT count(*) FROM entities WHERE kind = 'visit'"), "3");
    assert_eq!(server.text("SELECT count(*) FROM entities WHERE kind = 'receipt'"), "0");
    let row = wipe_of(&server, &device);
    assert_eq!((row.status, row.mode), (WipeStatus::Wiped, WipeMode::Lost));
    assert_eq!(row.report, Some(*report));
}

/// A server that answers its first request with `first` (200, JSON) and then closes every
/// connection it accepts before answering: a phone told its order, whose network goes at once.
async fn answers_once(first: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut answered = false;
        while let Ok((mut socket, _)) = listener.accept().await {
            if answered {
                continue; // dropped: closed before any answer
            }
            answered = true;
            // the request's head, then as much body as it announced
            let mut seen = Vec::new();
            let mut chunk = [0u8; 4096];
            let body_start = loop {
                let Ok(n) = socket.read(&mut chunk).await else { return };
                if n == 0 {
                    return;
                }
                seen.extend_from_slice(&chunk[..n]);
                if let Some(at) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                    break at + 4;
                }
            };
            let head = String::from_utf8_lossy(&seen[..body_start]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while seen.len() < body_start + length {
                let Ok(n) = socket.read(&mut chunk).await else { return };
                if n == 0 {
                    return;
                }
                seen.extend_from_slice(&chunk[..n]);
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{first}",
                first.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    url
}

#[tokio::test]
async fn a_lost_phone_wipes_even_when_its_last_push_and_its_report_do_not_get_through() {
    let dir = tempfile::tempdir().unwrap();
    let vault = Arc::new(SoftwareVault::generate().unwrap());
    let path = dir.path().join("phone.db");
    let store = Arc::new(Store::open_sealed(&path, vault.as_ref()).unwrap());
    let h = store.create_household(household_n("g1", 1)).unwrap();
    store.record_visit(testing::visit("g1", &h.id)).unwrap();
    // the push that tells the phone is answered with the order and nothing else; then no network
    let told = json!({"protocol": 1, "results": [], "server_time_ms": 1, "clock_offset_ms": 0,
                      "wipe": {"mode": "lost", "ordered_at_ms": 1_790_000_000_000_i64}});
    let url = answers_once(told.to_string()).await;
    let engine = SyncEngine::new(store.clone(), SyncConfig::new(&url, "token", "test-1.0")).unwrap();
    let key = gridbook_core::evidence::DeviceKey::from_bytes(&[7; 32]);
    engine.set_wipe_keys(WipeKeys { vault: Some(vault.clone() as Arc<dyn KeyVault>), signer: Some(Arc::new(key)) });

    let Err(Error::Wiped { report: Some(report), reported }) = engine.sync_once().await else {
        panic!("wiped all the same")
    };
    assert!(!reported, "the report could not be sent");
    assert_eq!((report.mode, report.ops_uploaded, report.ops_lost), (WipeMode::Lost, 0, 2), "{report:?}");
    assert_gone(&path, &vault);
    assert!(matches!(store.outbox_counts(), Err(Error::Wiped { reported: false, .. })));
}

#[tokio::test]
async fn an_order_is_cancelled_before_the_phone_is_told_and_stands_once_it_is() {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    let (phone, _vault) = phone(&server, "zhang").await;
    let device = phone.store.device_id().to_string();
    order(&server, &device, "lost");
    order(&server, &device, "retire");
    assert_eq!(wipe_of(&server, &device).mode, WipeMode::Retire, "an order not yet told is replaced");
    server.admin(AdminCommand::CancelWipe { device: device.clone(), by: "zhuguan".into() });
    phone.sync().await;
    assert!(server.storage.wipes().unwrap().is_empty());
    assert!(phone.store.outbox_counts().is_ok(), "a cancelled order is never told");

    // told by a pull refused 410 (nothing to push), the order stands: no cancelling, no change
    order(&server, &device, "retire");
    let (status, body) = get(&server, &format!("{PATH_PULL}?cursor=0"), &phone.config.token).await;
    assert_eq!(
        (status, body["code"].as_str(), body["wipe"]["mode"].as_str()),
        (410, Some("wipe_ordered"), Some("retire"))
    );
    assert_eq!(wipe_of(&server, &device).status, WipeStatus::Told);
    for refused in [
        server.storage.cancel_wipe(&device, "zhuguan", 1).unwrap_err(),
        server.storage.order_wipe(&device, WipeMode::Lost, "zhuguan", 1).unwrap_err(),
    ] {
        assert_eq!(refused.code(), gridbook_core::sync::wire::ErrorCode::WipeUnderWay);
    }
    // a revoked device is never told, so no order is taken for it
    let (other, _) = self::phone(&server, "zhang").await;
    server.admin(AdminCommand::RevokeDevice { device: other.store.device_id().into() });
    let refused = server.storage.order_wipe(other.store.device_id(), WipeMode::Lost, "zhuguan", 1).unwrap_err();
    assert_eq!(refused.code(), gridbook_core::sync::wire::ErrorCode::WipeUnderWay);
}
