//! `GridbookSync`: enrolment and sync for the apps, as async calls (Kotlin suspend, Swift async,
//! Python coroutines) over the core's `SyncEngine`, with its status fed to an observer the app
//! implements. The state machine, retries and backoff are the core's; this file only holds the
//! engine once the device is enrolled and passes status changes on.

use std::sync::{Arc, Mutex};

use gridbook_core as core;
use gridbook_core::sync::app_version::DeviceEnvironment;
use gridbook_core::sync::client::{self as sync_client, SyncConfig, SyncEngine};
use gridbook_core::sync::traffic::NetworkKind;
use gridbook_core::sync::wire::AppUpdate;

use crate::error::{invalid, GridbookError, Result};
use crate::evidence::{CoreSigner, DeviceSigner};
use crate::records::{SyncPhase, SyncReport};
use crate::store::GridbookStore;
use crate::vault::CoreVault;
use gridbook_core::sync::wipe::WipeKeys;

/// The sync status the app shows (the indicator on every screen, the sync screen). Written here,
/// not core's `SyncStatus`: the app also needs to know whether the device is enrolled at all,
/// which only the FFI (holding an engine or not) knows.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncStatus {
    /// Whether this device is enrolled (has a server and a token). Until it is, nothing syncs.
    pub enrolled: bool,
    /// What the sync is doing now.
    pub phase: SyncPhase,
    /// When a cycle last completed (pushed and pulled), UTC ms.
    pub last_success_ms: Option<i64>,
    /// The last cycle's error, if it failed.
    pub last_error: Option<String>,
    /// Changes waiting to be sent.
    pub pending: u64,
    /// Changes the server refused, waiting for the manager.
    pub rejected: u64,
}

impl SyncStatus {
    fn from_core(s: core::SyncStatus) -> Self {
        Self {
            enrolled: true,
            phase: s.phase,
            last_success_ms: s.last_success_ms,
            last_error: s.last_error,
            pending: s.pending,
            rejected: s.rejected,
        }
    }
}

/// Who this device belongs to, as the server said at enrolment (core's `EnrolResponse` without
/// the protocol version, which is the sync engine's business, not the app's).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Enrolment {
    /// This device's id.
    pub device_id: String,
    /// The bearer token for every later request. Also kept in the store; an app that prefers the
    /// Keystore/Keychain keeps it there and passes it to `connect`.
    pub token: String,
    /// The manager the device is enrolled for.
    pub manager_id: String,
    /// The manager's name, for the title bar.
    pub manager_name: String,
    /// The grids this device may read and write.
    pub grids: Vec<String>,
}

/// Implemented by the app to hear every change of the sync status (the UI's sync indicator).
/// Called on a background thread: post to the UI thread. Must return quickly and not throw.
#[uniffi::export(with_foreign)]
pub trait SyncObserver: Send + Sync {
    /// The status changed.
    fn on_status(&self, status: SyncStatus);
}

/// Enrolment and sync of one store. Hold one per store for the app's lifetime; cycles run one
/// at a time (a second `sync_once` waits for the first).
#[derive(uniffi::Object)]
pub struct GridbookSync {
    store: Arc<core::Store>,
    /// The store's vault and the device key: what a remote wipe destroys and signs with.
    vault: Arc<dyn crate::vault::KeyVault>,
    signer: Mutex<Option<Arc<dyn DeviceSigner>>>,
    app_version: String,
    engine: Mutex<Option<Arc<SyncEngine>>>,
    observer: Mutex<Option<Arc<dyn SyncObserver>>>,
    /// What the app last said of the phone; kept here so a new engine (after enrolment) has it.
    environment: Mutex<DeviceEnvironment>,
    /// The network the app last said the phone is on, likewise.
    network: Mutex<NetworkKind>,
    /// The bytes of fetched photos the app wants kept (None: the core's), likewise.
    photo_cache_bytes: Mutex<Option<u64>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl GridbookSync {
    fn engine(&self) -> Result<Arc<SyncEngine>> {
        lock(&self.engine).clone().ok_or_else(|| GridbookError::Unauthorized {
            detail: "this device is not enrolled: enter an enrolment code from the back office".into(),
        })
    }

    fn install(&self, config: SyncConfig) -> Result<()> {
        let engine = Arc::new(SyncEngine::new(self.store.clone(), config)?);
        engine.set_wipe_keys(self.wipe_keys());
        if let Some(observer) = lock(&self.observer).clone() {
            attach(&engine, observer);
        }
        engine.set_environment(lock(&self.environment).clone());
        engine.set_network(*lock(&self.network));
        if let Some(bytes) = *lock(&self.photo_cache_bytes) {
            engine.set_photo_cache_bytes(bytes);
        }
        *lock(&self.engine) = Some(engine);
        Ok(())
    }
}

impl GridbookSync {
    /// The store's vault and the app's device key, as the core's remote wipe takes them. A signer
    /// whose key store will not give its public key now signs nothing: the wipe then goes on
    /// without its report.
    fn wipe_keys(&self) -> WipeKeys {
        let signer = lock(&self.signer).clone().and_then(|s| match CoreSigner::new(s) {
            Ok(signer) => Some(Arc::new(signer) as Arc<dyn gridbook_core::evidence::DeviceSigner>),
            Err(e) => {
                tracing::warn!(error = %e, "the device key gave no public key; a wipe report could not be signed");
                None
            }
        });
        WipeKeys { vault: Some(Arc::new(CoreVault(self.vault.clone()))), signer }
    }
}

/// Feeds the engine's status changes to the app's observer. A callback that throws must not
/// take the sync down with it.
fn attach(engine: &SyncEngine, observer: Arc<dyn SyncObserver>) {
    engine.set_observer(move |status| {
        let status = SyncStatus::from_core(status.clone());
        let observer = observer.clone();
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || observer.on_status(status)));
    });
}

#[uniffi::export(async_runtime = "tokio")]
impl GridbookSync {
    /// Sync for `store`. If the device was enrolled before, it is ready to sync at once.
    /// `app_version` is reported to the server with every sync. `signer` is the device key
    /// registered at enrolment (Keystore / Keychain): a remote wipe signs its report with it. Null
    /// on tests, desktops and simulators, whose store's own key was registered.
    #[uniffi::constructor(default(signer = None))]
    pub fn new(
        store: Arc<GridbookStore>,
        app_version: String,
        signer: Option<Arc<dyn DeviceSigner>>,
    ) -> Result<Arc<Self>> {
        let this = Self {
            store: store.inner.clone(),
            vault: store.vault(),
            signer: Mutex::new(signer),
            app_version,
            engine: Mutex::new(None),
            observer: Mutex::new(None),
            environment: Mutex::new(DeviceEnvironment::default()),
            network: Mutex::new(NetworkKind::default()),
            photo_cache_bytes: Mutex::new(None),
        };
        if let Some(config) = sync_client::saved_config(&this.store, &this.app_version)? {
            this.install(config)?;
        }
        Ok(Arc::new(this))
    }

    /// Enrols this device with a one-time code from the back office. `signer` is the device key
    /// whose public key the server records: every receipt and work order is sealed with it. Pass
    /// null only on tests, desktops and simulators: the store's own key (`device_key`) is
    /// registered. Afterwards the device is ready to sync.
    pub async fn enrol(
        &self,
        server_url: String,
        code: String,
        signer: Option<Arc<dyn DeviceSigner>>,
    ) -> Result<Enrolment> {
        self.store.ensure_unlocked()?;
        let public_key = match &signer {
            Some(s) => Some(hex(&crate::evidence::public_key_of(s.as_ref())?)),
            None => None,
        };
        if signer.is_some() {
            *lock(&self.signer) = signer;
        }
        let resp = sync_client::enrol(&self.store, &server_url, &code, &self.app_version, public_key).await?;
        self.install(SyncConfig::new(&server_url, &resp.token, &self.app_version))?;
        Ok(Enrolment {
            device_id: resp.device_id,
            token: resp.token,
            manager_id: resp.manager_id,
            manager_name: resp.manager_name,
            grids: resp.grids,
        })
    }

    /// Uses a server and token the app kept itself (e.g. in the Keystore/Keychain) instead of
    /// the ones saved at enrolment.
    pub fn connect(&self, server_url: String, token: String) -> Result<()> {
        self.store.ensure_unlocked()?;
        if server_url.trim().is_empty() {
            return Err(invalid("server_url", "must not be empty"));
        }
        if token.trim().is_empty() {
            return Err(invalid("token", "must not be empty"));
        }
        self.install(SyncConfig::new(&server_url, &token, &self.app_version))
    }

    /// Whether the device is enrolled and can sync.
    pub fn is_enrolled(&self) -> Result<bool> {
        self.store.ensure_unlocked()?;
        Ok(lock(&self.engine).is_some())
    }

    /// One full cycle: send every waiting change, then receive until up to date. Errors:
    /// network/interrupted (try later; nothing is lost), unauthorized (enrol again), wiped (the
    /// back office had the phone wiped: its store is gone; return to enrolment).
    pub async fn sync_once(&self) -> Result<SyncReport> {
        self.store.ensure_unlocked()?;
        let engine = self.engine()?;
        Ok(engine.sync_once().await?)
    }

    /// Waits up to `wait_s` seconds (at most 25) for the server to say that records of this
    /// device's grids can be pulled: true changed, false maybe. Pull either way (sync_once).
    pub async fn wait_for_changes(&self, wait_s: u32) -> Result<bool> {
        self.store.ensure_unlocked()?;
        let engine = self.engine()?;
        Ok(engine.wait_for_changes(wait_s).await?)
    }

    /// One round of the foreground loop while online: waits for the server's live-change signal
    /// (up to `wait_s` seconds), then one full cycle. Without the signal (an older server, a
    /// proxy that cuts long requests) it waits `wait_s` and syncs anyway: polling. Errors as
    /// `sync_once`'s.
    pub async fn sync_live_round(&self, wait_s: u32) -> Result<SyncReport> {
        self.store.ensure_unlocked()?;
        let engine = self.engine()?;
        Ok(engine.sync_live_round(wait_s).await?)
    }

    /// A photo to show: from the store, or fetched from the server (another phone took it),
    /// checked against its address and cached. Errors: not_found on the server until it arrives.
    pub async fn open_photo(&self, sha256: String) -> Result<Vec<u8>> {
        self.store.ensure_unlocked()?;
        let engine = self.engine()?;
        Ok(engine.open_photo(&sha256).await?)
    }

    /// Cycles until one succeeds, an error retrying cannot fix occurs, or `max_attempts` are
    /// used, waiting the backoff delay between attempts. For the background job (WorkManager,
    /// BGTaskScheduler): keep `max_attempts` small and let the platform bring the job back.
    pub async fn sync_with_retry(&self, max_attempts: u32) -> Result<SyncReport> {
        self.store.ensure_unlocked()?;
        let engine = self.engine()?;
        Ok(engine.sync_with_retry(max_attempts.max(1)).await?)
    }

    /// Asks the server for a new book of receipt numbers now (the sync does this by itself below
    /// 50); returns the numbers left afterwards.
    pub async fn refill_receipt_numbers(&self) -> Result<u64> {
        self.store.ensure_unlocked()?;
        let engine = self.engine()?;
        Ok(engine.refill_receipt_numbers().await?)
    }

    /// The status now, with the outbox counted at this moment.
    pub fn status(&self) -> Result<SyncStatus> {
        match lock(&self.engine).clone() {
            Some(engine) => {
                // The engine counts the outbox only when its phase changes; a status read after
                // local writes must still count them (a status must be true).
                let mut status = SyncStatus::from_core(engine.status());
                let counts = self.store.outbox_counts()?;
                status.pending = counts.pending;
                status.rejected = counts.rejected;
                Ok(status)
            }
            None => {
                let counts = self.store.outbox_counts()?;
                Ok(SyncStatus {
                    enrolled: false,
                    phase: SyncPhase::Idle,
                    last_success_ms: None,
                    last_error: None,
                    pending: counts.pending,
                    rejected: counts.rejected,
                })
            }
        }
    }

    /// What the app knows of the phone (model, OS version, free storage, battery saver), sent
    /// with the next sync's facts for the back office. Call it before each sync: storage and the
    /// battery saver change.
    pub fn set_environment(&self, environment: DeviceEnvironment) -> Result<()> {
        self.store.ensure_unlocked()?;
        if let Some(engine) = lock(&self.engine).clone() {
            engine.set_environment(environment.clone());
        }
        *lock(&self.environment) = environment;
        Ok(())
    }

    /// The network the phone is on (Wi-Fi, mobile data, none): call it before each sync and when
    /// it changes. Photos upload on mobile data only as the server's photo policy allows, up to
    /// its daily cap; the sync report's `photos_held_back` says why some waited.
    pub fn set_network(&self, network: NetworkKind) -> Result<()> {
        // like every call but the lock's own: a locked phone says nothing until unlocked
        self.store.ensure_unlocked()?;
        if let Some(engine) = lock(&self.engine).clone() {
            engine.set_network(network);
        }
        *lock(&self.network) = network;
        Ok(())
    }

    /// How many bytes of photos fetched from the server (`open_photo`) the phone keeps; the least
    /// recently opened go first beyond it. 48 MB unless the app says otherwise.
    pub fn set_photo_cache_bytes(&self, bytes: u64) -> Result<()> {
        self.store.ensure_unlocked()?;
        if let Some(engine) = lock(&self.engine).clone() {
            engine.set_photo_cache_bytes(bytes);
        }
        *lock(&self.photo_cache_bytes) = Some(bytes);
        Ok(())
    }

    /// The build of the app the server last offered this device, if any (`required` when this
    /// app is below the server's minimum and must update to sync). The app downloads it from
    /// `url` on its server with its token and installs it only after checking its SHA-256 and its
    /// signing certificate (docs/sync-protocol.md, "App versions").
    pub fn app_update(&self) -> Result<Option<AppUpdate>> {
        self.store.ensure_unlocked()?;
        Ok(self.store.app_update()?)
    }

    /// Sets the observer that hears every status change from now on (replacing any earlier one).
    pub fn set_observer(&self, observer: Arc<dyn SyncObserver>) {
        *lock(&self.observer) = Some(observer.clone());
        if let Some(engine) = lock(&self.engine).clone() {
            attach(&engine, observer);
        }
    }
}

/// Lower-case hex, as the wire carries the device's public key.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
