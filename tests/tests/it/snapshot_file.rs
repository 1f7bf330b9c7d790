//! Snapshot files end to end: the real server on 127.0.0.1 builds and streams the file, fresh
//! phones with real SQLite stores install it over real HTTP and continue from the log; damaged,
//! cut or mismatched files are refused and the phone still ends synced with nothing of its own lost.

use std::sync::Arc;

use gridbook_core::sync::snapshot_file::DEVICE_SCHEMA_VERSION;
use gridbook_core::sync::wire::SnapshotFileFacts;
use gridbook_core::testing::{household_n, visit};
use gridbook_core::*;
use gridbook_sync_server::domain::snapshot_files::{CachedFile, SnapshotFiles, SnapshotFilesConfig};
use gridbook_tests::*;

/// A server that offers a file for any scope, however small, with its snapshot files at hand.
async fn server_with_files(config: SnapshotFilesConfig) -> (TestServer, Arc<SnapshotFiles>) {
    let mut files = None;
    let server = TestServer::start_with(|state| {
        *state = state.clone().with_snapshot_files(config);
        files = state.snapshot_files.clone();
    })
    .await;
    (server, files.expect("the SQLite backend keeps snapshot files"))
}

fn any_size() -> SnapshotFilesConfig {
    SnapshotFilesConfig { min_records: 0, ..SnapshotFilesConfig::default() }
}

/// Grid g1 of 张 with households (one 欧阳秀英 on 13812345678), a visit and an arrears account;
/// grid g2 of 李 with a household of its own.
async fn seeded(server: &TestServer) -> Phone {
    server.grid_with_manager("g1", "zhang");
    server.grid_with_manager("g2", "li");
    let author = server.phone("zhang").await;
    let mut first = None;
    for i in 0..30 {
        let mut h = household_n("g1", i);
        if i == 7 {
            h.customer_name = "欧阳秀英".into();
            h.mobile = "13812345678".into();
        }
        let h = author.store.create_household(h).expect("household");
        first.get_or_insert(h.id);
    }
    let first = first.expect("a household");
    author.store.record_visit(visit("g1", &first)).expect("visit");
    author.sync().await;
    server.arrears("g1", &first, 12_345);
    let other = server.phone("li").await;
    let mut theirs = household_n("g2", 500);
    theirs.customer_name = "别网格的住户".into();
    other.store.create_household(theirs).expect("household of g2");
    other.sync().await;
    author.sync().await;
    author
}

/// A second engine on the phone's store that never asks for a file: row pages only.
fn pages_only(phone: &Phone) -> SyncEngine {
    SyncEngine::new(phone.store.clone(), SyncConfig { snapshot_file: false, ..phone.config.clone() }).expect("engine")
}

fn contents(store: &Store) -> Vec<Vec<EntityState>> {
    EntityKind::ALL.iter().map(|k| store.all_states(*k).expect("states")).collect()
}

/// What is the phone's own: its id, token, signing key, receipt numbers.
fn own_rows(phone: &Phone) -> (String, Option<SyncConfig>, String, u64) {
    let key = phone.store.device_key().expect("key");
    (
        phone.store.device_id().to_string(),
        sync::client::saved_config(&phone.store, "test-1.0").expect("config"),
        gridbook_core::evidence::to_hex(&key.public_key_bytes()),
        phone.store.receipt_numbers_left().expect("numbers"),
    )
}

fn download_leftover(phone: &Phone) -> bool {
    std::path::PathBuf::from(format!("{}.snapshot-file", phone.db_path().display())).exists()
}

#[tokio::test]
async fn a_phone_installed_from_the_file_holds_exactly_what_row_pages_give_and_then_follows_the_log() {
    let (server, _files) = server_with_files(any_size()).await;
    let author = seeded(&server).await;

    let by_file = server.phone("zhang").await;
    let own_before = own_rows(&by_file);
    let phases = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = phases.clone();
    by_file.engine.set_observer(move |s| seen.lock().unwrap().push(s.phase.clone()));
    let report = by_file.sync().await;
    let phases = phases.lock().unwrap().clone();
    let rows = report.snapshot_file_rows;
    assert!(
        phases.contains(&SyncPhase::Pulling { received: 0, remaining: rows }),
        "progress from the file's start: {phases:?}"
    );
    assert!(phases.contains(&SyncPhase::Pulling { received: rows, remaining: 0 }), "and its end: {phases:?}");
    assert_eq!(phases.last(), Some(&SyncPhase::Idle));
    assert_eq!(report.snapshot_file_error, None);
    assert!(report.snapshot_file_rows >= 32, "30 households, a visit, an account: {report:?}");
    let by_pages = server.phone("zhang").await;
    let paged = pages_only(&by_pages).sync_once().await.expect("row pages");
    assert_eq!(paged.snapshot_file_rows, 0);
    assert_eq!(report.snapshot_file_rows + report.pulled, paged.pulled);

    assert!(contents(&by_file.store) == contents(&by_pages.store), "file and row pages hold the same");
    assert!(contents(&by_file.store) == contents(&author.store), "the author holds the same grid");
    let own_after = own_rows(&by_file);
    assert_eq!((&own_after.0, &own_after.1, &own_after.2), (&own_before.0, &own_before.1, &own_before.2));
    assert!(!download_leftover(&by_file));
    for query in ["欧阳秀英", "阳秀", "5678"] {
        let found = by_file.store.search_households("g1", query, 10).expect("search");
        let names: Vec<_> = found.iter().map(|h| h.customer_name.as_str()).collect();
        assert!(names.contains(&"欧阳秀英"), "{query}: {names:?}");
        assert_eq!(
            found.iter().map(|h| &h.id).collect::<Vec<_>>(),
            by_pages
                .store
                .search_households("g1", query, 10)
                .expect("search")
                .iter()
                .map(|h| &h.id)
                .collect::<Vec<_>>()
        );
    }

    // later changes reach it through the log, and its own go out
    let edited = author.store.create_household(household_n("g1", 900)).expect("new household");
    author.sync().await;
    let again = by_file.sync().await;
    assert_eq!((again.snapshot_file_rows, again.pulled), (0, 1));
    assert!(by_file.store.entity_state(EntityKind::Household, &edited.id).expect("state").is_some());
    let mine = by_file.store.create_household(household_n("g1", 901)).expect("its own household");
    by_file.sync().await;
    author.sync().await;
    assert!(author.store.entity_state(EntityKind::Household, &mine.id).expect("state").is_some());
    by_pages.sync().await;
    assert!(contents(&by_file.store) == contents(&by_pages.store), "file and row pages hold the same");
}

#[tokio::test]
async fn a_device_gets_only_its_own_grids_in_the_file() {
    let (server, files) = server_with_files(any_size()).await;
    seeded(&server).await;
    let phone = server.phone("zhang").await;
    assert!(phone.sync().await.snapshot_file_rows > 0);
    let households = phone.store.all_states(EntityKind::Household).expect("households");
    assert!(households.iter().all(|h| h.values["grid_id"] == "g1"));
    assert!(phone.store.search_households("g2", "别网格", 10).expect("search").is_empty());
    // the file on the server itself: g1 only, and nothing of any device
    let cached = files.current(&["g1".to_string()]).expect("current").expect("built");
    let file = unpacked(&files, &cached);
    let conn = rusqlite::Connection::open(&file).expect("open the file");
    let grids: Vec<String> = conn
        .prepare("SELECT DISTINCT grid_id FROM households")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(grids, ["g1"]);
    for table in ["meta", "outbox", "receipt_blocks", "access_log"] {
        let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap();
        assert_eq!(n, 0, "{table} of the file must be empty");
    }
    assert!(files.current(&["g2".to_string()]).expect("current").is_none(), "no one of g2 asked");

    // on the wire: the cached gzip'd bytes as they are (the compression layer leaves them alone),
    // with their length and facts in the headers
    let raw = reqwest::Client::builder().no_gzip().build().expect("client");
    let resp = raw
        .get(format!("{}/v1/snapshot-file?schema={DEVICE_SCHEMA_VERSION}", server.url))
        .bearer_auth(&phone.config.token)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("file");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    assert_eq!(resp.headers()["content-type"], SnapshotFileFacts::CONTENT_TYPE);
    assert_eq!(resp.content_length(), Some(cached.gz_bytes));
    let facts =
        SnapshotFileFacts::from_headers(|n| resp.headers().get(n).and_then(|v| v.to_str().ok())).expect("facts");
    assert_eq!(facts, cached.facts);
    let body = resp.bytes().await.expect("body");
    assert_eq!(body.len() as u64, cached.gz_bytes);
    assert_eq!(&body[..], &std::fs::read(files.path_of(&cached)).expect("cached")[..]);
}

/// The gzip'd file of a cache entry, inflated into a temp file.
fn unpacked(files: &SnapshotFiles, cached: &CachedFile) -> std::path::PathBuf {
    let gz = std::fs::read(files.path_of(cached)).expect("cached file");
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut plain).expect("gunzip");
    let path = files.path_of(cached).with_extension("inspect");
    std::fs::write(&path, plain).expect("write");
    path
}

#[tokio::test]
async fn a_phone_with_a_pending_change_or_a_cursor_never_takes_the_file() {
    let (server, files) = server_with_files(any_size()).await;
    let author = seeded(&server).await;
    files.build(server.storage.as_ref(), &["g1".to_string()]).expect("prebuilt");

    let busy = server.phone("zhang").await;
    let mine = busy.store.create_household(household_n("g1", 700)).expect("made offline before the first sync");
    let report = busy.sync().await;
    assert_eq!((report.snapshot_file_rows, report.snapshot_file_error.as_deref()), (0, None));
    assert!(busy.store.entity_state(EntityKind::Household, &mine.id).expect("state").is_some());
    assert_eq!(
        busy.store.all_states(EntityKind::Household).expect("all").len(),
        author.store.all_states(EntityKind::Household).expect("all").len() + 1
    );

    let pulled_before = server.phone("zhang").await;
    pages_only(&pulled_before).sync_once().await.expect("row pages");
    assert!(pulled_before.store.pull_cursor().expect("cursor") > 0);
    let report = pulled_before.sync().await;
    assert_eq!((report.snapshot_file_rows, report.pulled), (0, 0));
    author.sync().await;
    assert!(contents(&pulled_before.store) == contents(&author.store));
}

/// Replaces what the server will serve for g1: `damage` gets the cached entry and its gzip'd file.
fn tamper(files: &SnapshotFiles, server: &TestServer, damage: impl FnOnce(&mut CachedFile, &std::path::Path)) {
    let mut cached = files.build(server.storage.as_ref(), &["g1".to_string()]).expect("built");
    let path = files.path_of(&cached);
    damage(&mut cached, &path);
    let current = path.parent().expect("scope dir").join("current.json");
    std::fs::write(current, serde_json::to_vec(&cached).expect("json")).expect("write current.json");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    gridbook_core::sync::client::gzip(bytes).expect("gzip")
}

#[tokio::test]
async fn a_damaged_cut_or_mismatched_file_is_refused_and_the_phone_still_ends_synced_with_its_own_rows() {
    let (server, files) = server_with_files(any_size()).await;
    let author = seeded(&server).await;
    type Damage = Box<dyn FnOnce(&mut CachedFile, &std::path::Path)>;
    let cases: Vec<(&[&str], Damage)> = vec![
        (&["SHA-256"], Box::new(|c, _| c.facts.sha256 = "0".repeat(64))),
        (&["built for device schema 3"], Box::new(|c, _| c.facts.schema_version = 3)),
        (&["records where the server announced"], Box::new(|c, _| c.facts.rows += 1)),
        (
            // cut: the body ends before the Content-Length the server promised, so the server
            // drops the connection (before or after the headers went out)
            &["cut off", "network error"],
            Box::new(|_, path| {
                let gz = std::fs::read(path).unwrap();
                std::fs::write(path, &gz[..gz.len() / 2]).unwrap();
            }),
        ),
        (
            // the server announces exactly what it sends, but what it sends is not a database
            &["does not open as SQLite", "not a sound SQLite file"],
            Box::new(|c, path| {
                let junk = vec![0x42u8; 64 * 1024];
                let plain = path.with_extension("junk");
                std::fs::write(&plain, &junk).unwrap();
                c.facts.sha256 = gridbook_core::sync::snapshot_file::sha256_of(&plain).unwrap();
                c.facts.bytes = junk.len() as u64;
                std::fs::write(path, gzip(&junk)).unwrap();
                c.gz_bytes = std::fs::metadata(path).unwrap().len();
            }),
        ),
        (
            // a gzip stream that inflates past the announced size
            &["inflates past"],
            Box::new(|c, _| c.facts.bytes /= 2),
        ),
    ];
    for (expected, damage) in cases {
        tamper(&files, &server, damage);
        let phone = server.phone("zhang").await;
        let before = own_rows(&phone);
        let report = phone.sync().await;
        let error = report.snapshot_file_error.clone().unwrap_or_default();
        assert!(expected.iter().any(|e| error.contains(e)), "{expected:?}: got {error:?}");
        assert!(error.starts_with("snapshot file not installed"), "{error}");
        assert_eq!(report.snapshot_file_rows, 0);
        assert!(contents(&phone.store) == contents(&author.store), "{expected:?}: synced by row pages");
        let after = own_rows(&phone);
        assert_eq!(
            (&after.0, &after.1, &after.2),
            (&before.0, &before.1, &before.2),
            "{expected:?}: the phone's own rows"
        );
        assert!(!download_leftover(&phone), "{expected:?}: the download is removed");
        assert!(phone.store.search_households("g1", "欧阳秀英", 5).expect("search").len() == 1);
    }
}

#[tokio::test]
async fn the_server_says_why_it_offers_no_file() {
    let server = TestServer::start().await;
    seeded(&server).await;
    let phone = server.phone("zhang").await;
    let client = reqwest::Client::new();
    let ask = |query: &str| {
        client.get(format!("{}/v1/snapshot-file{query}", server.url)).bearer_auth(&phone.config.token).send()
    };
    let answer = |resp: reqwest::Response| async move {
        let status = resp.status().as_u16();
        (
            status,
            resp.json::<serde_json::Value>().await.expect("error body")["code"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    };
    let ours = format!("?schema={DEVICE_SCHEMA_VERSION}");
    let older = format!("?schema={}", DEVICE_SCHEMA_VERSION - 1);
    // the default server: 32 records are below the size where a file pays
    assert_eq!(answer(ask(&ours).await.unwrap()).await, (404, SnapshotFileFacts::NO_FILE.to_string()));
    assert_eq!(answer(ask(&older).await.unwrap()).await, (409, SnapshotFileFacts::SCHEMA_MISMATCH.to_string()));
    assert_eq!(answer(ask("").await.unwrap()).await.0, 400);
    let anonymous = client.get(format!("{}/v1/snapshot-file{ours}", server.url)).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    // and the phone simply pulls row pages
    let report = phone.sync().await;
    assert_eq!((report.snapshot_file_rows, report.snapshot_file_error), (0, None));
    assert_eq!(report.pulled, 32);
}

#[tokio::test]
async fn a_stale_file_is_served_while_it_is_rebuilt_and_phones_converge_either_way() {
    let (server, files) = server_with_files(SnapshotFilesConfig { max_changes_behind: 0, ..any_size() }).await;
    let author = seeded(&server).await;
    let grids = ["g1".to_string()];
    let first = server.phone("zhang").await;
    assert!(first.sync().await.snapshot_file_rows > 0);
    let old = files.current(&grids).expect("current").expect("built on request");

    author.store.create_household(household_n("g1", 800)).expect("a change after the file");
    author.sync().await;
    let second = server.phone("zhang").await;
    let report = second.sync().await;
    assert_eq!(report.snapshot_file_rows, old.facts.rows, "the old file, served while a new one is built");
    assert_eq!(report.pulled, 1, "the difference comes from the log");
    assert!(contents(&second.store) == contents(&author.store));

    files.settled(&grids).await;
    let new = files.current(&grids).expect("current").expect("rebuilt");
    assert!(
        new.facts.cursor > old.facts.cursor,
        "rebuilt at the log's end: {} > {}",
        new.facts.cursor,
        old.facts.cursor
    );
    assert_eq!(new.facts.rows, old.facts.rows + 1);
    assert!(!files.path_of(&old).exists(), "the old file is gone");
    let third = server.phone("zhang").await;
    let report = third.sync().await;
    assert_eq!((report.snapshot_file_rows, report.pulled), (new.facts.rows, 0));
    assert!(contents(&third.store) == contents(&author.store));
    assert_eq!(server.storage.changes_after(&grids, new.facts.cursor).expect("count"), 0);
}

#[tokio::test]
async fn after_a_building_handover_the_file_follows_the_building_and_the_admin_prebuilds_every_scope() {
    let (server, files) = server_with_files(any_size()).await;
    let author = seeded(&server).await;
    // 李's building in g2, with a household and a visit, handed over to 张's g1
    let li = server.phone("li").await;
    li.sync().await;
    let building = li.store.create_premises(gridbook_core::testing::premises("g2", 3)).expect("premises");
    let mut h = household_n("g2", 600);
    h.premises_id = Some(building.id.clone());
    h.customer_name = "楼里的住户".into();
    let moved = li.store.create_household(h).expect("household in the building");
    li.store.record_visit(visit("g2", &moved.id)).expect("visit");
    li.sync().await;
    server.admin(gridbook_sync_server::cli::admin::AdminCommand::HandoverBuilding {
        premises: building.id.clone(),
        to: "zhang".into(),
        to_grid: "g1".into(),
        by: "test".into(),
    });

    let built = server.admin(gridbook_sync_server::cli::admin::AdminCommand::BuildSnapshotFiles);
    assert_eq!(built.lines().count(), 2, "one file per field manager's grids: {built}");
    let prebuilt = files.current(&["g1".to_string()]).expect("current").expect("prebuilt by the admin");

    let zhang = server.phone("zhang").await;
    let report = zhang.sync().await;
    assert_eq!(
        (report.snapshot_file_rows, report.pulled),
        (prebuilt.facts.rows, 0),
        "the prebuilt file, nothing left in the log"
    );
    assert!(
        zhang.store.entity_state(EntityKind::Household, &moved.id).expect("state").is_some(),
        "the building came with the file"
    );
    assert_eq!(zhang.store.household_history(&moved.id).expect("history").len(), 1, "with its visit");
    author.sync().await;
    assert!(contents(&zhang.store) == contents(&author.store));

    let li_fresh = server.phone("li").await;
    li_fresh.sync().await;
    assert!(
        li_fresh.store.entity_state(EntityKind::Household, &moved.id).expect("state").is_none(),
        "gone from 李's scope"
    );
    assert!(li_fresh.store.entity_state(EntityKind::Premises, &building.id).expect("state").is_none());
}

#[tokio::test]
async fn the_servers_refresh_builds_the_missing_and_stale_files_ahead_of_the_phones() {
    let (server, files) =
        server_with_files(SnapshotFilesConfig { min_records: 10, max_changes_behind: 0, ..any_size() }).await;
    let author = seeded(&server).await;
    let (g1, g2) = (["g1".to_string()], ["g2".to_string()]);
    assert!(files.current(&g1).expect("current").is_none());

    let built = files.refresh(server.storage.clone()).await.expect("refresh");
    assert_eq!(
        built.iter().map(|f| f.grids.clone()).collect::<Vec<_>>(),
        vec![g1.to_vec()],
        "g2 holds one household: no file"
    );
    assert!(files.current(&g2).expect("current").is_none());
    let ahead = files.current(&g1).expect("current").expect("built ahead of any phone");
    assert!(files.refresh(server.storage.clone()).await.expect("refresh").is_empty(), "nothing changed: nothing built");

    // a fresh phone gets the file built ahead, not one built for it
    let fresh = server.phone("zhang").await;
    assert_eq!(fresh.sync().await.snapshot_file_rows, ahead.facts.rows);
    assert_eq!(files.current(&g1).expect("current").expect("file").file, ahead.file);

    // once the log moves on, the next refresh builds it again, at the log's end
    author.store.create_household(household_n("g1", 900)).expect("a later household");
    author.sync().await;
    let rebuilt = files.refresh(server.storage.clone()).await.expect("refresh");
    assert_eq!(rebuilt.len(), 1);
    assert!(rebuilt[0].facts.cursor > ahead.facts.cursor);
    assert_eq!(rebuilt[0].facts.rows, ahead.facts.rows + 1);
}

/// An encrypted phone (as the apps' are) takes the file encrypted: its grids arrive, and no file
/// the phone leaves on disk holds a customer's name or number in the clear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_phone_takes_the_file_and_no_plaintext_stays_on_disk() {
    let (server, _files) = server_with_files(any_size()).await;
    seeded(&server).await;
    let phone = server.sealed_phone("zhang").await;
    let report = phone.sync().await;
    assert_eq!(report.snapshot_file_error, None);
    assert!(report.snapshot_file_rows >= 30, "{report:?}");
    assert!(phone.store.is_encrypted());
    assert_eq!(phone.store.search_households("g1", "欧阳秀英", 5).expect("search").len(), 1);
    let files: Vec<_> = std::fs::read_dir(phone.dir.path()).expect("dir").map(|e| e.expect("entry").path()).collect();
    assert!(files.iter().all(|f| !f.to_string_lossy().contains("snapshot")), "{files:?}");
    for file in &files {
        let bytes = std::fs::read(file).expect("read");
        for needle in ["欧阳秀英", "13812345678", "SQLite format 3"] {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle.as_bytes()), "{} holds {needle}", file.display());
        }
    }
}
