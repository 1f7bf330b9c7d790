//! The device's sync: one explicit state machine (docs/field.md, sync 5). A cycle pushes pending ops
//! in batches, settles the answers, then pulls pages and applies them. Network errors and 5xx
//! retry with exponential backoff and jitter; permanent rejections are set aside with their reason
//! and never block other ops or the pull; 401/403 stop until the device is enrolled again. Every
//! step is safe to repeat after any interruption: ops leave the outbox only once acknowledged, and
//! the pull cursor moves only with a page applied. A fresh store's first sync may instead install
//! the server's snapshot file and pull the log from its cursor (`take_snapshot_file`).

use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use rand::Rng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::files::{remove_database, snapshot_download_path};
use crate::store::photos::PHOTO_CACHE_MAX_BYTES;
use crate::store::{meta_get, meta_set, Store};
use crate::sync::app_version::{DeviceEnvironment, LastCycle};
use crate::sync::snapshot_file::{check_snapshot_file, DEVICE_SCHEMA_VERSION};
use crate::sync::traffic::{NetworkKind, WireCount};
use crate::sync::wipe::WipeKeys;
use crate::sync::wire::{
    AppUpdate, EnrolRequest, EnrolResponse, ErrorBody, ErrorCode, OpOutcome, PullPage, PushRequest, PushResponse,
    ReceiptBlock, ReceiptBlockRequest, ReceiptBlockResponse, SnapshotFileFacts, GZIP_MIN_BYTES, HEADER_APP_VERSION,
    PATH_ENROL, PATH_PULL, PATH_PUSH, PATH_RECEIPT_BLOCKS, PATH_SNAPSHOT_FILE, PROTOCOL_VERSION,
};

/// Where and how this device syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncConfig {
    pub server_url: String,
    pub token: String,
    pub app_version: String,
    /// Ops per push request.
    pub push_batch: usize,
    /// Entities per pull page.
    pub pull_limit: u32,
    /// Whether a fresh store asks for the server's snapshot file before pulling row pages
    /// (docs/sync-protocol.md, "Snapshot file"): faster by far for a big grid, but more bytes on
    /// the wire, so an app on a slow metered link may turn it off.
    #[serde(default = "snapshot_file_default")]
    pub snapshot_file: bool,
}

fn snapshot_file_default() -> bool {
    true
}

impl SyncConfig {
    pub fn new(server_url: &str, token: &str, app_version: &str) -> Self {
        Self {
            server_url: server_url.trim_end_matches('/').to_string(),
            token: token.to_string(),
            app_version: app_version.to_string(),
            push_batch: 1000,
            pull_limit: 5000,
            snapshot_file: true,
        }
    }
}

/// What the sync is doing, for the app to show. True by construction: "idle" with a last success
/// is only reported after the server acknowledged and the pull completed (docs/field.md, field work 6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SyncPhase {
    /// Not syncing. With a last success, everything up to then is on the server.
    Idle,
    /// Sending changes: `sent` of `total` so far.
    Pushing {
        /// Changes sent so far in this cycle.
        sent: u64,
        /// Changes that were waiting when the cycle began.
        total: u64,
    },
    /// Receiving changes: `received` so far, `remaining` still on the server.
    Pulling {
        /// Records received so far in this cycle.
        received: u64,
        /// Records still waiting on the server.
        remaining: u64,
    },
    /// No network (or the server is overloaded); the next try is not before `retry_at_ms`.
    Offline {
        /// The earliest time to try again, UTC ms.
        retry_at_ms: i64,
    },
    /// The last cycle failed for a reason retrying will not fix (e.g. the device was revoked).
    Failed {
        /// What failed.
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    pub phase: SyncPhase,
    pub last_success_ms: Option<i64>,
    pub last_error: Option<String>,
    pub pending: u64,
    pub rejected: u64,
}

/// What one completed cycle did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncReport {
    /// Changes sent.
    pub pushed: u64,
    /// Changes the server accepted.
    pub acknowledged: u64,
    /// Changes the server refused for good (the store's `rejected_ops` lists them).
    pub rejected: u64,
    /// Records received.
    pub pulled: u64,
    /// Pages of records received.
    pub pages: u64,
    /// Records removed because they left this device's grids.
    pub removed: u64,
    /// Receipt blocks the server issued during this cycle (asked for below 50 numbers left).
    #[serde(default)]
    pub receipt_blocks_added: u64,
    /// Unused receipt numbers on the device after the cycle.
    #[serde(default)]
    pub receipt_numbers_left: u64,
    /// Why no new block came when one was needed (the data sync itself still succeeded).
    #[serde(default)]
    pub receipt_block_error: Option<String>,
    /// Records this cycle installed from a snapshot file (a fresh store's first sync), on top of
    /// the `pulled` ones.
    #[serde(default)]
    pub snapshot_file_rows: u64,
    /// Why a snapshot file the server offered was not installed (the cycle pulled row pages
    /// instead, so the data sync itself still succeeded).
    #[serde(default)]
    pub snapshot_file_error: Option<String>,
    /// Photos the server now holds whole, sent this cycle (after the ops).
    #[serde(default)]
    pub photos_uploaded: u64,
    /// Photo bytes sent in chunks this cycle.
    #[serde(default)]
    pub photo_bytes_sent: u64,
    /// Why the photo upload stopped (the rest waits for the next cycle; the data sync succeeded).
    #[serde(default)]
    pub photo_upload_error: Option<String>,
    /// Why photos waiting were not sent under the server's photo policy (Wi-Fi only, the day's
    /// mobile-data cap, no network).
    #[serde(default)]
    pub photos_held_back: Option<String>,
}

type Observer = Box<dyn Fn(&SyncStatus) + Send + Sync>;

/// Backoff after failures: 1 s doubling to 15 min, with full jitter so that a grid of phones
/// coming back into coverage does not hit the server at the same instant.
#[derive(Debug, Clone, Copy, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    const BASE_MS: u64 = 1_000;
    const MAX_MS: u64 = 15 * 60 * 1_000;

    fn next_delay(&mut self) -> Duration {
        let cap = Self::BASE_MS.saturating_mul(1u64 << self.failures.min(20)).min(Self::MAX_MS);
        self.failures = self.failures.saturating_add(1);
        Duration::from_millis(rand::thread_rng().gen_range(cap / 2..=cap))
    }
}

/// Runs sync cycles for one store. One at a time: a second call waits for the first.
pub struct SyncEngine {
    store: Arc<Store>,
    config: Mutex<SyncConfig>,
    http: reqwest::Client,
    status: Mutex<SyncStatus>,
    backoff: Mutex<Backoff>,
    cycle: tokio::sync::Mutex<()>,
    observer: Mutex<Option<Observer>>,
    /// What the app last said of the phone (model, OS, storage, battery saver).
    environment: Mutex<DeviceEnvironment>,
    /// Bytes on the wire: both ways in the current cycle, and each way not yet added to the day's.
    wire: WireCount,
    /// The network the app last said the phone is on (the photo policy reads it).
    network: Mutex<NetworkKind>,
    /// The bytes of fetched photos the phone keeps for viewing (`set_photo_cache_bytes`).
    photo_cache_bytes: std::sync::atomic::AtomicU64,
    /// What a remote wipe destroys the store's key with and signs its report with (sync/wipe.rs).
    wipe_keys: Mutex<WipeKeys>,
}

/// Whether an error is worth retrying later (network, server overload) or needs a person.
pub fn is_retryable(e: &Error) -> bool {
    match e {
        Error::Network(_) | Error::Interrupted(_) | Error::Busy { .. } => true,
        Error::Server { status, .. } => *status >= 500 || *status == 429 || *status == 408,
        _ => false,
    }
}

fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        // the server closes a kept-alive connection idle for 30 s (docs/sync-protocol.md,
        // connections): drop ours first, so that a request never goes out on one it is closing
        .pool_idle_timeout(Duration::from_secs(20))
        .build()
        .map_err(|e| Error::Network(e.to_string()))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A push body as the phone sends it, gzip'd. Level 6, not the fastest: a push crosses a weak
/// mobile link once, and the fastest level's output depends on which deflate backend the build
/// links (zlib-rs' level 1 gave 125 B per visit op where miniz gave 112 B; level 6 gives fewer on
/// both) — bytes on the air matter more here than a few milliseconds of the phone's CPU.
pub fn gzip(body: &[u8]) -> Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::new(6));
    enc.write_all(body).and_then(|_| enc.finish()).map_err(|e| Error::Corrupt(e.to_string()))
}

/// Sends a request and decodes the JSON answer, mapping HTTP failures to typed errors.
async fn exchange<T: DeserializeOwned>(req: reqwest::RequestBuilder) -> Result<T> {
    exchange_counted(req, &WireCount::default()).await
}

/// `exchange`, counting the answer's bytes as they came over the wire into `wire`.
async fn exchange_counted<T: DeserializeOwned>(req: reqwest::RequestBuilder, wire: &WireCount) -> Result<T> {
    let (resp, status, gzipped) = send(req).await?;
    let retry_after = retry_after_of(&resp);
    let body = whole_body(resp, gzipped, wire).await?;
    if !(200..300).contains(&status) {
        return Err(error_of(status, retry_after, &body));
    }
    serde_json::from_slice(&body).map_err(|e| Error::Server {
        status,
        code: "bad_response".into(),
        message: e.to_string(),
    })
}

/// Sends a request that accepts a gzip'd answer: the response, its status, and whether its body
/// is gzip'd (reqwest leaves it so when the request names the encoding itself).
async fn send(req: reqwest::RequestBuilder) -> Result<(reqwest::Response, u16, bool)> {
    let resp =
        req.header(reqwest::header::ACCEPT_ENCODING, "gzip").send().await.map_err(|e| Error::Network(e.to_string()))?;
    let status = resp.status().as_u16();
    let gzipped = resp
        .headers()
        .get(reqwest::header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    Ok((resp, status, gzipped))
}

/// A whole answer's body, inflated; its size on the wire is counted as received.
async fn whole_body(resp: reqwest::Response, gzipped: bool, wire: &WireCount) -> Result<Vec<u8>> {
    let raw = resp.bytes().await.map_err(|e| Error::Interrupted(e.to_string()))?;
    wire.received(raw.len() as u64);
    if !gzipped {
        return Ok(raw.to_vec());
    }
    let mut out = Vec::new();
    GzDecoder::new(&raw[..]).read_to_end(&mut out).map_err(|e| Error::Interrupted(e.to_string()))?;
    Ok(out)
}

/// An answer's `Retry-After` in milliseconds, when it gives one in seconds (a proxy in front of
/// the server may send it without our JSON body).
fn retry_after_of(resp: &reqwest::Response) -> Option<u64> {
    let secs: u64 = resp.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(secs.saturating_mul(1000))
}

/// The typed error of a failed answer, from its `{code, message}` body and `Retry-After`.
fn error_of(status: u16, retry_after_header_ms: Option<u64>, body: &[u8]) -> Error {
    let err: ErrorBody = serde_json::from_slice(body).unwrap_or(ErrorBody {
        code: "http".into(),
        message: String::from_utf8_lossy(body).chars().take(300).collect(),
        retry_after_ms: None,
        min_app_version: None,
        update: None,
        wipe: None,
    });
    // before the status: a device with a wipe order may be refused as unauthorized by a later
    // server, and must still carry the order out
    if let Some(order) = err.wipe {
        return Error::WipeOrdered(order);
    }
    match (status, err.retry_after_ms.or(retry_after_header_ms)) {
        (401 | 403, _) => Error::Unauthorized(format!("{}: {}", err.code, err.message)),
        _ if err.code == ErrorCode::UpgradeRequired.as_str() => Error::UpgradeRequired {
            min_version: err.min_app_version.unwrap_or_default(),
            update: err.update.map(|u| Box::new(AppUpdate { required: true, ..u })),
        },
        // never longer than the backoff's own longest wait, whatever the answer says
        (429 | 503, Some(wait)) => Error::Busy {
            retry_after_ms: wait.min(Backoff::MAX_MS),
            message: format!("{} {}: {}", status, err.code, err.message),
        },
        _ => Error::Server { status, code: err.code, message: err.message },
    }
}

/// Where a downloaded snapshot file is written, decompressed, byte by byte as it arrives: the
/// file is checked against the announced size as it grows (a body that inflates past it is
/// refused at once, not after filling the phone's storage).
struct SnapshotSink {
    file: std::io::BufWriter<std::fs::File>,
    written: u64,
    announced: u64,
}

impl Write for SnapshotSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written + buf.len() as u64 > self.announced {
            return Err(std::io::Error::other(format!(
                "the file inflates past the {} bytes announced",
                self.announced
            )));
        }
        let n = self.file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// A snapshot file as it arrives: gzip'd on the wire (as the server sends it) or plain.
enum SnapshotDownload {
    Gzip(Box<flate2::write::GzDecoder<SnapshotSink>>),
    Plain(SnapshotSink),
}

impl SnapshotDownload {
    fn write_all(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        match self {
            SnapshotDownload::Gzip(d) => d.write_all(chunk),
            SnapshotDownload::Plain(s) => s.write_all(chunk),
        }
    }

    /// Bytes of file written so far.
    fn written(&self) -> u64 {
        match self {
            SnapshotDownload::Gzip(d) => d.get_ref().written,
            SnapshotDownload::Plain(s) => s.written,
        }
    }

    /// Ends the stream (a gzip stream must end with its checksum) and says how many bytes of file
    /// it gave.
    fn finish(self) -> std::io::Result<u64> {
        let mut sink = match self {
            SnapshotDownload::Gzip(d) => d.finish()?,
            SnapshotDownload::Plain(s) => s,
        };
        sink.flush()?;
        Ok(sink.written)
    }
}

/// Enrols this device with a one-time code from the back office. The token is kept in the store's
/// metadata (on phones, the app keeps it in the Keystore/Keychain instead: see ffi).
///
/// `public_key` is the hex Ed25519 public key of the device's `DeviceSigner` (on a phone, the
/// key the app made in the Keystore/Keychain). Without one, the store's in-memory key
/// (`Store::device_key`) is made and registered: fine for tests, desktops and the simulator.
pub async fn enrol(
    store: &Store,
    server_url: &str,
    code: &str,
    app_version: &str,
    public_key: Option<String>,
) -> Result<EnrolResponse> {
    if code.trim().is_empty() {
        return crate::error::invalid("code", "must not be empty");
    }
    let public_key = match public_key {
        Some(k) => {
            let k = k.trim().to_ascii_lowercase();
            if crate::evidence::from_hex::<32>(&k).is_err() {
                return crate::error::invalid("public_key", "an Ed25519 public key is 64 hex digits");
            }
            k
        }
        None => crate::evidence::to_hex(&store.device_key()?.public_key_bytes()),
    };
    let public_key = Some(public_key);
    let url = format!("{}{}", server_url.trim_end_matches('/'), PATH_ENROL);
    let body = EnrolRequest {
        protocol: PROTOCOL_VERSION,
        code: code.trim().to_string(),
        device_id: store.device_id().to_string(),
        app_version: app_version.to_string(),
        public_key,
    };
    let resp: EnrolResponse = exchange(http_client()?.post(url).json(&body)).await?;
    store.write(|tx, _| {
        meta_set(tx, "server_url", server_url.trim_end_matches('/'))?;
        meta_set(tx, "device_token", &resp.token)?;
        meta_set(tx, "manager_id", &resp.manager_id)?;
        // the name the receipts print, until the app sets the collector profile itself
        if meta_get(tx, crate::field::receipts::COLLECTOR_NAME)?.is_none() {
            let name: String = resp
                .manager_name
                .trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(crate::evidence::document::MAX_COLLECTOR_NAME)
                .collect();
            meta_set(tx, crate::field::receipts::COLLECTOR_NAME, &name)?;
        }
        meta_set(tx, "grids", &resp.grids.join(","))
    })?;
    if let Some(k) = &body.public_key {
        store.set_registered_public_key(k)?;
    }
    Ok(resp)
}

/// Who this device was enrolled for: (manager id, grids), as the server said at enrolment.
pub fn enrolled_as(store: &Store) -> Result<Option<(String, Vec<String>)>> {
    store.read(|c| {
        let Some(manager) = meta_get(c, "manager_id")? else { return Ok(None) };
        let grids = meta_get(c, "grids")?.unwrap_or_default();
        Ok(Some((manager, grids.split(',').filter(|g| !g.is_empty()).map(str::to_string).collect())))
    })
}

/// The configuration saved by `enrol`, if this device is enrolled.
pub fn saved_config(store: &Store, app_version: &str) -> Result<Option<SyncConfig>> {
    store.read(|c| {
        let (Some(url), Some(token)) = (meta_get(c, "server_url")?, meta_get(c, "device_token")?) else {
            return Ok(None);
        };
        Ok(Some(SyncConfig::new(&url, &token, app_version)))
    })
}

impl SyncEngine {
    pub fn new(store: Arc<Store>, config: SyncConfig) -> Result<Self> {
        let counts = store.outbox_counts()?;
        let last_success_ms = store.last_sync_ok_ms();
        Ok(Self {
            store,
            config: Mutex::new(config),
            http: http_client()?,
            status: Mutex::new(SyncStatus {
                phase: SyncPhase::Idle,
                last_success_ms,
                last_error: None,
                pending: counts.pending,
                rejected: counts.rejected,
            }),
            backoff: Mutex::new(Backoff::default()),
            cycle: tokio::sync::Mutex::new(()),
            observer: Mutex::new(None),
            environment: Mutex::new(DeviceEnvironment::default()),
            wire: WireCount::default(),
            network: Mutex::new(NetworkKind::default()),
            photo_cache_bytes: std::sync::atomic::AtomicU64::new(PHOTO_CACHE_MAX_BYTES),
            wipe_keys: Mutex::new(WipeKeys::default()),
        })
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// What the app knows of the phone, sent with the next sync's facts (the app refreshes it
    /// before each sync: free storage and the battery saver change).
    pub fn set_environment(&self, environment: DeviceEnvironment) {
        *self.environment.lock().unwrap_or_else(|p| p.into_inner()) = environment;
    }

    /// The network the phone is on now (the app says it before each sync and when it changes):
    /// photos wait for Wi-Fi, or go over mobile data up to the day's cap, as the policy says.
    pub fn set_network(&self, network: NetworkKind) {
        *self.network.lock().unwrap_or_else(|p| p.into_inner()) = network;
    }

    pub fn network(&self) -> NetworkKind {
        *self.network.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many bytes of photos fetched for viewing the phone keeps (the least recently opened go
    /// first beyond it; `PHOTO_CACHE_MAX_BYTES` unless the app says otherwise).
    pub fn set_photo_cache_bytes(&self, bytes: u64) {
        self.photo_cache_bytes.store(bytes, Ordering::Relaxed);
    }

    /// Trims the phone's photos: uploaded ones past the policy's days, the fetched cache past
    /// its bytes (`Store::trim_photos`).
    pub(crate) fn trim_photos(&self) -> Result<crate::store::photos::PhotoTrim> {
        self.store.trim_photos_by_policy(self.photo_cache_bytes.load(Ordering::Relaxed))
    }

    /// Counts a request body sent (a photo chunk) into the cycle's and the day's bytes.
    pub(crate) fn count_sent(&self, n: u64) {
        self.wire.sent(n);
    }

    /// Adds the bytes counted since the last call to the store's day (the device facts report
    /// it). A store that cannot take it (locked, wiped) keeps nothing: the facts only inform.
    pub(crate) fn flush_traffic(&self) {
        let (sent, received) = self.wire.take();
        if sent + received > 0 {
            if let Err(e) = self.store.add_traffic(sent, received, 0) {
                tracing::debug!(error = %e, "the day's traffic not noted");
            }
        }
    }

    /// The store's vault (its key is destroyed by a remote wipe) and the device key the wipe's
    /// report is signed with (the one registered at enrolment; without one, the store's own key
    /// when that is the registered one). Apps set them right after making the engine.
    pub fn set_wipe_keys(&self, keys: WipeKeys) {
        *self.wipe_keys.lock().unwrap_or_else(|p| p.into_inner()) = keys;
    }

    pub(crate) fn wipe_keys(&self) -> WipeKeys {
        self.wipe_keys.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A request to this server as this device: its token, and its app version (the server
    /// refuses an app below its minimum with `upgrade_required`).
    pub(crate) fn device_request(
        &self,
        builder: reqwest::RequestBuilder,
        config: &SyncConfig,
    ) -> reqwest::RequestBuilder {
        builder.bearer_auth(&config.token).header(HEADER_APP_VERSION, &config.app_version)
    }

    /// `exchange`, counting the answer's bytes into this cycle's.
    pub(crate) async fn exchange<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T> {
        exchange_counted(req, &self.wire).await
    }

    /// A request whose answer is bytes (a photo), refused past `max` bytes whether the answer
    /// says its length or not (read no further than that); failures mapped as `exchange` maps them.
    pub(crate) async fn exchange_bytes(&self, req: reqwest::RequestBuilder, max: u64) -> Result<Vec<u8>> {
        let (mut resp, status, gzipped) = send(req).await?;
        let too_large = || Error::Server {
            status,
            code: "too_large".into(),
            message: format!("回答超过 {max} 字节 / the answer is larger than {max} bytes"),
        };
        if resp.content_length().is_some_and(|n| n > max) {
            return Err(too_large());
        }
        let retry_after = retry_after_of(&resp);
        let mut raw = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| Error::Interrupted(e.to_string()))? {
            self.wire.received(chunk.len() as u64);
            if (raw.len() + chunk.len()) as u64 > max {
                return Err(too_large());
            }
            raw.extend_from_slice(&chunk);
        }
        let body = if gzipped {
            let mut out = Vec::new();
            // inflated, too, no further than the cap
            GzDecoder::new(&raw[..])
                .take(max + 1)
                .read_to_end(&mut out)
                .map_err(|e| Error::Interrupted(e.to_string()))?;
            if out.len() as u64 > max {
                return Err(too_large());
            }
            out
        } else {
            raw
        };
        if !(200..300).contains(&status) {
            return Err(error_of(status, retry_after, &body));
        }
        Ok(body)
    }

    /// Called with every status change (the app's sync indicator listens here).
    pub fn set_observer(&self, observer: impl Fn(&SyncStatus) + Send + Sync + 'static) {
        *self.observer.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(observer));
    }

    /// The status, with pending and rejected counted now: a change made offline since the last
    /// cycle must never look synced (docs/field.md, field work 6).
    pub fn status(&self) -> SyncStatus {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Ok(c) = self.store.outbox_counts() {
            status.pending = c.pending;
            status.rejected = c.rejected;
        }
        status
    }

    pub(crate) fn config(&self) -> SyncConfig {
        self.config.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_phase(&self, phase: SyncPhase) {
        let snapshot = {
            let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
            s.phase = phase;
            if let Ok(c) = self.store.outbox_counts() {
                s.pending = c.pending;
                s.rejected = c.rejected;
            }
            s.clone()
        };
        if let Some(observer) = &*self.observer.lock().unwrap_or_else(|p| p.into_inner()) {
            observer(&snapshot);
        }
    }

    /// One full cycle: push everything pending, then pull until up to date. A wipe order, met in
    /// this cycle or noted by an earlier one, is carried out instead (sync/wipe.rs): the answer
    /// is then `Wiped`, or the error that held a retiring phone's upload up (the next cycle goes
    /// on with it).
    pub async fn sync_once(&self) -> Result<SyncReport> {
        let _one_at_a_time = self.one_at_a_time().await;
        let started = std::time::Instant::now();
        self.wire.cycle.store(0, Ordering::Relaxed);
        let result = match self.store.wipe_order() {
            Ok(Some(order)) => Err(Error::WipeOrdered(order)),
            Ok(None) => self.cycle_inner().await,
            Err(e) => Err(e),
        };
        let result = match result {
            Err(Error::WipeOrdered(order)) => Err(self.carry_out_wipe(order).await),
            other => other,
        };
        self.flush_traffic();
        if let Err(Error::UpgradeRequired { update, .. }) = &result {
            self.store.note_app_update(update.as_deref())?;
        }
        match &result {
            Ok(_) => {
                // by the store's clock, which the offline limit reads too
                let now = self.store.note_sync_success()?;
                self.store.note_last_cycle(LastCycle {
                    duration_ms: started.elapsed().as_millis() as u64,
                    bytes: self.wire.cycle.load(Ordering::Relaxed),
                })?;
                self.backoff.lock().unwrap_or_else(|p| p.into_inner()).failures = 0;
                {
                    let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
                    s.last_success_ms = Some(now);
                    s.last_error = None;
                }
                self.set_phase(SyncPhase::Idle);
            }
            Err(e) => {
                self.status.lock().unwrap_or_else(|p| p.into_inner()).last_error = Some(e.to_string());
                if is_retryable(e) {
                    let mut delay = self.backoff.lock().unwrap_or_else(|p| p.into_inner()).next_delay();
                    if let Error::Busy { retry_after_ms, .. } = e {
                        // never sooner than the server asked
                        delay = delay.max(Duration::from_millis(*retry_after_ms));
                    }
                    self.set_phase(SyncPhase::Offline { retry_at_ms: now_ms() + delay.as_millis() as i64 });
                } else {
                    self.set_phase(SyncPhase::Failed { message: e.to_string() });
                }
            }
        }
        result
    }

    /// Cycles until one succeeds, a permanent error occurs, or `max_attempts` are used, sleeping
    /// the backoff delay between attempts. The app's background job calls this with a small
    /// number and lets the platform scheduler (WorkManager, BGTaskScheduler) bring it back.
    pub async fn sync_with_retry(&self, max_attempts: u32) -> Result<SyncReport> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.sync_once().await {
                Err(e) if is_retryable(&e) && attempt < max_attempts => {
                    if let SyncPhase::Offline { retry_at_ms } = self.status().phase {
                        let wait = (retry_at_ms - now_ms()).max(0) as u64;
                        tokio::time::sleep(Duration::from_millis(wait)).await;
                    }
                }
                other => return other,
            }
        }
    }

    async fn cycle_inner(&self) -> Result<SyncReport> {
        let config = self.config();
        let mut report = SyncReport::default();
        let total = self.store.outbox_counts()?.pending;
        // an op pending is in the outbox: such a store is not fresh, no need to look
        let fresh = total == 0 && config.snapshot_file && self.store.is_fresh()?;
        if total == 0 && !fresh {
            // Nothing to send: the device's facts go out beside the pull rather than before it,
            // one round trip instead of two for the phone that only reads (phone B of "write on A,
            // visible on B"). Both run to their end; the first error is the cycle's.
            self.set_phase(SyncPhase::Pushing { sent: 0, total });
            let (facts, pulled) = tokio::join!(self.send_push(&config, vec![]), self.pull_all(&config, &mut report));
            facts?;
            pulled?;
            if self.store.outbox_counts()?.pending == 0 {
                return self.after_pull(&config, report).await;
            }
            // a restore met on the way put acknowledged ops back in the queue: they go now
        }
        let mut sent_any = false;
        // Push: at least one request even with nothing pending, to report the device's facts.
        loop {
            let ops = self.store.pending_ops(config.push_batch)?;
            if ops.is_empty() && sent_any {
                break;
            }
            sent_any = true;
            self.set_phase(SyncPhase::Pushing { sent: report.pushed, total });
            let (request, response) = self.send_push(&config, ops).await?;
            report.pushed += request.ops.len() as u64;
            for r in &response.results {
                match r.outcome {
                    OpOutcome::Rejected { .. } => report.rejected += 1,
                    _ => report.acknowledged += 1,
                }
            }
            if request.ops.is_empty() {
                break;
            }
            if response.results.len() < request.ops.len() {
                // The server answered for part of the batch: the rest stays pending for the next
                // round, which must not spin if the server keeps answering for none of it.
                if response.results.is_empty() {
                    return Err(Error::Interrupted("the server acknowledged no op of the batch".into()));
                }
            }
        }
        // A fresh store's first sync: the server's snapshot file when it offers one, then the log
        // from the file's cursor; without a file (or with one refused), row pages from 0.
        if fresh {
            match self.take_snapshot_file(&config).await {
                Ok(rows) => report.snapshot_file_rows = rows,
                Err(e) => {
                    tracing::warn!(error = %e, "snapshot file not installed; pulling row pages instead");
                    report.snapshot_file_error = Some(match e {
                        Error::SnapshotFile(_) => e.to_string(),
                        other => format!("snapshot file not installed: {other}"),
                    });
                }
            }
        }
        // Pull pages until the server says there is no more.
        self.pull_all(&config, &mut report).await?;
        self.after_pull(&config, report).await
    }

    /// What a cycle does once pulled: report a handover the pull completed, refill receipt numbers.
    async fn after_pull(&self, config: &SyncConfig, mut report: SyncReport) -> Result<SyncReport> {
        // A handover whose scope this pull removed is reported now, not a cycle later: from this
        // push on the server refuses this device's writes there (docs/sync-protocol.md, Handovers).
        if !self.store.handovers_to_report()?.is_empty() {
            self.send_push(config, vec![]).await?;
        }
        // Receipt numbers: a new block when fewer than 50 are left. Not getting one does not
        // undo the data sync; the report and `Store::receipt_numbers_left` say how many remain.
        let left = self.store.receipt_numbers_left()?;
        if left < ReceiptBlock::REFILL_BELOW {
            match self.fetch_receipt_block(config, left).await {
                Ok(_) => report.receipt_blocks_added += 1,
                Err(e) => {
                    tracing::warn!(error = %e, left, "no new receipt block this time");
                    report.receipt_block_error = Some(e.to_string());
                }
            }
        }
        report.receipt_numbers_left = self.store.receipt_numbers_left()?;
        // Photos after the ops that name them (docs/sync-protocol.md, "Photos"). A cut leaves the
        // rest waiting for the next cycle, resumed from the server's chunk list, without failing
        // the data sync.
        let mut photos = crate::sync::photo_upload::PhotoUploadReport::default();
        if let Err(e) = self.upload_photos_into(&mut photos).await {
            tracing::warn!(error = %e, "photo upload cut; the rest waits for the next cycle");
            report.photo_upload_error = Some(e.to_string());
        }
        report.photos_uploaded = photos.uploaded;
        report.photo_bytes_sent = photos.bytes_sent;
        report.photos_held_back = photos.held_back;
        // the photos the server has had for the policy's days leave the phone
        self.trim_photos()?;
        Ok(report)
    }

    /// One push of the cycle (`push_once`); an answer carrying a wipe order ends the cycle with
    /// `WipeOrdered`, once the answer is settled.
    async fn send_push(
        &self,
        config: &SyncConfig,
        ops: Vec<crate::sync::wire::Op>,
    ) -> Result<(PushRequest, PushResponse)> {
        let (request, response) = self.push_once(config, ops).await?;
        match response.wipe {
            Some(order) => Err(Error::WipeOrdered(order)),
            None => Ok((request, response)),
        }
    }

    /// One push request with the device's facts; settles the answers and the handovers reported.
    /// An answer carrying a wipe order notes it, with what this push uploaded (sync/wipe.rs).
    pub(crate) async fn push_once(
        &self,
        config: &SyncConfig,
        ops: Vec<crate::sync::wire::Op>,
    ) -> Result<(PushRequest, PushResponse)> {
        // the last error alone: `status()` would count the outbox too, a query the push does not
        // need on the way to the server
        let last_error = self.status.lock().unwrap_or_else(|p| p.into_inner()).last_error.clone();
        let mut facts = self.store.device_facts(&config.app_version, last_error)?;
        let environment = self.environment.lock().unwrap_or_else(|p| p.into_inner()).clone();
        environment.fill(&mut facts, self.store.last_cycle()?);
        // what this cycle has sent and received so far counts in today's, added here and not
        // written first: a write before every push request was on the way to the server, and the
        // cycle's end writes it (`sync_once`)
        let mut traffic = self.store.day_traffic()?;
        let (sent, received) = self.wire.untaken();
        traffic.bytes_sent = traffic.bytes_sent.saturating_add(sent);
        traffic.bytes_received = traffic.bytes_received.saturating_add(received);
        facts.traffic = Some(traffic);
        let (waiting, waiting_bytes) = self.store.photos_waiting_count()?;
        (facts.photos_waiting, facts.photo_bytes_waiting) = (Some(waiting), Some(waiting_bytes));
        let request = PushRequest { protocol: PROTOCOL_VERSION, facts, ops };
        let json = serde_json::to_vec(&request)?;
        let mut post = self
            .device_request(self.http.post(format!("{}{}", config.server_url, PATH_PUSH)), config)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        let body = if json.len() < GZIP_MIN_BYTES {
            json // a facts-only or one-op push: gzip would cost more than it saves
        } else {
            post = post.header(reqwest::header::CONTENT_ENCODING, "gzip");
            gzip(&json)?
        };
        self.wire.sent(body.len() as u64);
        let response: PushResponse = self.exchange(post.body(body)).await?;
        self.store.note_app_update(response.update.as_ref())?;
        // a restored server first: what it forgot goes back in the queue before this answer settles
        self.store.meet_generation(response.generation.as_ref())?;
        self.store.meet_policy(response.policy.as_ref())?;
        self.meet_receipt_profile(config, response.receipt.as_ref()).await?;
        self.store.settle(&response.results, response.server_time_ms)?;
        self.store.handovers_reported(&request.facts.removed_handovers)?;
        if let Some(order) = &response.wipe {
            self.store.note_wipe_push(order, &request, &response)?;
        }
        Ok((request, response))
    }

    /// Asks the server for a new block of receipt numbers now and adds it to the store; returns
    /// the numbers left afterwards. The sync does this by itself below 50.
    pub async fn refill_receipt_numbers(&self) -> Result<u64> {
        let config = self.config();
        let left = self.store.receipt_numbers_left()?;
        match self.fetch_receipt_block(&config, left).await {
            // a wipe order is carried out at once, as a sync would
            Err(Error::WipeOrdered(order)) => {
                let _one_at_a_time = self.one_at_a_time().await;
                Err(self.carry_out_wipe(order).await)
            }
            Err(e) => Err(e),
            Ok(_) => self.store.receipt_numbers_left(),
        }
    }

    /// One block request, idempotent across retries: the request id is kept until a block for it
    /// arrives, so a lost answer does not cost a second book.
    async fn fetch_receipt_block(&self, config: &SyncConfig, left: u64) -> Result<ReceiptBlock> {
        const KEY: &str = "receipt_block_request";
        let request_id =
            self.store.write(|tx, _| match meta_get(tx, KEY)?.and_then(|v| v.parse::<uuid::Uuid>().ok()) {
                Some(id) => Ok(id),
                None => {
                    let id = uuid::Uuid::now_v7();
                    meta_set(tx, KEY, &id.to_string())?;
                    Ok(id)
                }
            })?;
        let request = ReceiptBlockRequest { protocol: PROTOCOL_VERSION, request_id, numbers_left: left };
        let response: ReceiptBlockResponse = self
            .exchange(
                self.device_request(self.http.post(format!("{}{}", config.server_url, PATH_RECEIPT_BLOCKS)), config)
                    .json(&request),
            )
            .await?;
        self.store.add_receipt_block(&response.block)?;
        self.store.write(|tx, _| {
            tx.execute("DELETE FROM meta WHERE key = ?1", [KEY])?;
            Ok(())
        })?;
        Ok(response.block)
    }

    /// The snapshot-file steps of a fresh store, in order: ask → download (to a file beside the
    /// store) → check → install. Returns the records installed, 0 when the server offers no file.
    /// Any failure leaves the store as it was (the install is one SQLite transaction) and removes
    /// the download; the caller then pulls row pages.
    async fn take_snapshot_file(&self, config: &SyncConfig) -> Result<u64> {
        let download = snapshot_download_path(self.store.path());
        let taken = async {
            let Some(facts) = self.download_snapshot_file(config, &download).await? else { return Ok(0) };
            let (store, path) = (self.store.clone(), download.clone());
            let rows = facts.rows;
            tokio::task::spawn_blocking(move || {
                check_snapshot_file(&store, &path, &facts)?;
                store.install_snapshot_file(&path, &facts)
            })
            .await
            .map_err(|e| Error::Interrupted(format!("installing the snapshot file: {e}")))??;
            self.set_phase(SyncPhase::Pulling { received: rows, remaining: 0 });
            Ok(rows)
        }
        .await;
        remove_database(&download);
        taken
    }

    /// Asks for the snapshot file and writes it, decompressed, to `to`. `None`: the server offers
    /// none (`no_snapshot_file`) or builds another schema (`snapshot_schema_mismatch`).
    async fn download_snapshot_file(&self, config: &SyncConfig, to: &Path) -> Result<Option<SnapshotFileFacts>> {
        let (mut resp, status, gzipped) = send(
            self.device_request(
                self.http.get(format!(
                    "{}{PATH_SNAPSHOT_FILE}?schema={DEVICE_SCHEMA_VERSION}&protocol={PROTOCOL_VERSION}",
                    config.server_url
                )),
                config,
            )
            // tens of megabytes over a mobile link: the whole-request bound of small requests
            // (2 minutes) would cut a big grid's file off for good
            .timeout(Duration::from_secs(30 * 60)),
        )
        .await?;
        if !(200..300).contains(&status) {
            let retry_after = retry_after_of(&resp);
            return match error_of(status, retry_after, &whole_body(resp, gzipped, &self.wire).await?) {
                Error::Server { code, message, .. }
                    if code == SnapshotFileFacts::NO_FILE || code == SnapshotFileFacts::SCHEMA_MISMATCH =>
                {
                    tracing::info!(code, message, "no snapshot file for this device; pulling row pages");
                    Ok(None)
                }
                other => Err(other),
            };
        }
        let facts = SnapshotFileFacts::from_headers(|name| resp.headers().get(name).and_then(|v| v.to_str().ok()))
            .map_err(|message| Error::Server {
                status,
                code: "bad_response".into(),
                message: format!("snapshot file: {message}"),
            })?;
        if facts.schema_version != DEVICE_SCHEMA_VERSION {
            return Err(Error::SnapshotFile(format!(
                "built for device schema {}, this app's store is schema {DEVICE_SCHEMA_VERSION}",
                facts.schema_version
            )));
        }
        // a download cut off by a crash may have left its journal: it must not be played back
        // into this one
        remove_database(to);
        let file = std::fs::File::create(to).map_err(|e| Error::SnapshotFile(format!("{}: {e}", to.display())))?;
        let sink = SnapshotSink {
            file: std::io::BufWriter::with_capacity(256 * 1024, file),
            written: 0,
            announced: facts.bytes,
        };
        let mut out = if gzipped {
            SnapshotDownload::Gzip(Box::new(flate2::write::GzDecoder::new(sink)))
        } else {
            SnapshotDownload::Plain(sink)
        };
        // Progress in records, estimated from the bytes written: the file's records are spread
        // evenly enough through its pages for a progress bar.
        let progress = |written: u64| {
            let received = facts.rows.saturating_mul(written) / facts.bytes.max(1);
            SyncPhase::Pulling { received, remaining: facts.rows - received.min(facts.rows) }
        };
        self.set_phase(progress(0));
        let mut reported = 0u64;
        // Written as it arrives, on this task: each chunk is a few kilobytes into the page cache,
        // and the file never sits in memory whole.
        while let Some(chunk) =
            resp.chunk().await.map_err(|e| Error::Interrupted(format!("snapshot file download cut off: {e}")))?
        {
            self.wire.received(chunk.len() as u64);
            out.write_all(&chunk).map_err(|e| Error::SnapshotFile(e.to_string()))?;
            if out.written() >= reported + (4 << 20) {
                reported = out.written();
                self.set_phase(progress(reported));
            }
        }
        let written =
            out.finish().map_err(|e| Error::SnapshotFile(format!("the download does not decompress whole: {e}")))?;
        if written != facts.bytes {
            return Err(Error::Interrupted(format!(
                "snapshot file download cut off: {written} of {} bytes",
                facts.bytes
            )));
        }
        Ok(Some(facts))
    }

    async fn fetch_page(&self, config: &SyncConfig, cursor: u64) -> Result<PullPage> {
        self.exchange(self.device_request(
            self.http.get(format!("{}{}?cursor={cursor}&limit={}", config.server_url, PATH_PULL, config.pull_limit)),
            config,
        ))
        .await
    }

    /// Pulls pages until the server says there is no more. Each page is applied on a blocking
    /// thread while the next one is fetched and decoded (two cores at work on an initial sync);
    /// the cursor still moves only with a page applied, so a pull cut off resumes from there.
    ///
    /// A page from another server generation than the one known when the pull began (a restore,
    /// met here or by a push answered meanwhile) starts the pull again from the cursor the restore
    /// left: a page fetched from the old cursor would step over what the backup lacked.
    async fn pull_all(&self, config: &SyncConfig, report: &mut SyncReport) -> Result<()> {
        'from_cursor: loop {
            let known = self.store.server_generation()?;
            let mut page = self.fetch_page(config, self.store.pull_cursor()?).await?;
            loop {
                if !same_generation(known.as_deref(), &page) {
                    self.store.meet_generation(page.generation.as_ref())?;
                    continue 'from_cursor;
                }
                self.meet_page(config, &page).await?;
                match self.pulled_page(config, report, page).await? {
                    Some(next) => page = next,
                    None => return Ok(()),
                }
            }
        }
    }

    /// What every page carries besides its records: the server's generation, the offered update,
    /// the policy and the receipt profile.
    pub(crate) async fn meet_page(&self, config: &SyncConfig, page: &PullPage) -> Result<()> {
        self.store.meet_generation(page.generation.as_ref())?;
        self.store.note_app_update(page.update.as_ref())?;
        self.store.meet_policy(page.policy.as_ref())?;
        self.meet_receipt_profile(config, page.receipt.as_ref()).await
    }

    /// Held while a cycle runs, or a live-change page is applied: one at a time.
    pub(crate) async fn one_at_a_time(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.cycle.lock().await
    }

    /// Applies `page` while fetching the next one; None when it was the last.
    async fn pulled_page(
        &self,
        config: &SyncConfig,
        report: &mut SyncReport,
        page: PullPage,
    ) -> Result<Option<PullPage>> {
        {
            let (has_more, next_cursor) = (page.has_more, page.next_cursor);
            let store = self.store.clone();
            let apply =
                tokio::task::spawn_blocking(move || store.apply_pull_page(&page).map(|applied| (applied, page)));
            let next = async {
                match has_more {
                    true => Some(self.fetch_page(config, next_cursor).await),
                    false => None,
                }
            };
            let (applied, next) = tokio::join!(apply, next);
            let (applied, done) = applied.map_err(|e| Error::Interrupted(format!("applying a pulled page: {e}")))??;
            report.pulled += done.changes.len() as u64;
            report.removed += applied.removed;
            report.pages += 1;
            self.set_phase(SyncPhase::Pulling { received: report.pulled, remaining: done.remaining });
            next.transpose()
        }
    }
}

/// Whether `page` comes from the server generation the device knew (`known`) when it asked: a
/// page of another one (a restore met meanwhile) must not move the cursor. Unknown on either side
/// (a first pull, a server before generations) counts as the same.
pub(crate) fn same_generation(known: Option<&str>, page: &PullPage) -> bool {
    let id = page.generation.as_ref().map(|g| g.id.as_str()).filter(|id| !id.is_empty());
    match (known, id) {
        (Some(known), Some(id)) => known == id,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let mut b = Backoff::default();
        let first = b.next_delay();
        assert!(first >= Duration::from_millis(500) && first <= Duration::from_millis(1_000));
        for _ in 0..30 {
            let d = b.next_delay();
            assert!(d <= Duration::from_millis(Backoff::MAX_MS));
        }
        assert!(b.next_delay() >= Duration::from_millis(Backoff::MAX_MS / 2));
    }

    #[test]
    fn a_snapshot_download_stops_at_the_announced_size_and_checks_its_gzip_end() {
        let dir = tempfile::tempdir().unwrap();
        let sink = |announced| SnapshotSink {
            file: std::io::BufWriter::new(std::fs::File::create(dir.path().join("f")).unwrap()),
            written: 0,
            announced,
        };
        let body = vec![7u8; 10_000];
        let gz = gzip(&body).unwrap();
        let mut whole = SnapshotDownload::Gzip(Box::new(flate2::write::GzDecoder::new(sink(10_000))));
        whole.write_all(&gz).unwrap();
        assert_eq!(whole.finish().unwrap(), 10_000);
        // a body that inflates past what was announced is refused while it arrives
        let mut bomb = SnapshotDownload::Gzip(Box::new(flate2::write::GzDecoder::new(sink(9_999))));
        let err = bomb.write_all(&gz).and_then(|_| bomb.finish().map(|_| ())).unwrap_err();
        assert!(err.to_string().contains("inflates past the 9999 bytes announced"), "{err}");
        // a gzip stream cut before its end is not a whole file
        let mut cut = SnapshotDownload::Gzip(Box::new(flate2::write::GzDecoder::new(sink(10_000))));
        cut.write_all(&gz[..gz.len() - 6]).unwrap();
        assert!(!cut.finish().is_ok_and(|n| n == 10_000), "a cut stream never passes for the whole file");
    }

    #[test]
    fn which_errors_retry() {
        assert!(is_retryable(&Error::Network("refused".into())));
        assert!(is_retryable(&Error::Server { status: 503, code: "x".into(), message: String::new() }));
        assert!(!is_retryable(&Error::Server { status: 422, code: "x".into(), message: String::new() }));
        assert!(!is_retryable(&Error::Unauthorized("revoked".into())));
        assert!(is_retryable(&Error::Busy { retry_after_ms: 100, message: String::new() }));
    }

    #[test]
    fn a_request_to_wait_is_read_from_the_body_or_else_from_retry_after() {
        let ours = br#"{"code":"rate_limited","message":"slow down","retry_after_ms":250}"#;
        let busy = |e: Error| match e {
            Error::Busy { retry_after_ms, .. } => Some(retry_after_ms),
            _ => None,
        };
        assert_eq!(busy(error_of(429, Some(1_000), ours)), Some(250), "the body's milliseconds are finer");
        // a proxy's plain 429 or 503 with only the header
        assert_eq!(busy(error_of(429, Some(2_000), b"Too Many Requests")), Some(2_000));
        assert_eq!(busy(error_of(503, Some(30_000), b"<html>")), Some(30_000));
        // an answer asking for forever is held to the backoff's cap (and the phone's arithmetic safe)
        assert_eq!(busy(error_of(429, Some(u64::MAX), b"")), Some(Backoff::MAX_MS));
        assert_eq!(
            busy(error_of(
                429,
                None,
                format!(r#"{{"code":"x","message":"y","retry_after_ms":{}}}"#, u64::MAX).as_bytes()
            )),
            Some(Backoff::MAX_MS)
        );
        // no hint: a retryable server error with the ordinary backoff
        assert!(matches!(
            error_of(503, None, br#"{"code":"unavailable","message":"shutting down"}"#),
            Error::Server { status: 503, .. }
        ));
        assert!(matches!(
            error_of(400, Some(5_000), br#"{"code":"bad_query","message":"x"}"#),
            Error::Server { status: 400, .. }
        ));
    }
}
