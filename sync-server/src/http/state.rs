//! What every handler shares: the storage, the reconcile rules, the back office's sessions and
//! login throttle (both in the database, shared by every replica), monitoring queries and metrics,
//! the snapshot files, each device's request budget and each client address's budget of public
//! checks (both this process's: docs/postgres.md says how a load balancer keeps each device and
//! address on one replica), the published builds of the app.

use std::sync::Arc;

use super::backoffice::session::SessionStore;
use super::client_addr::ClientAddrConfig;
use super::device_budget::{BudgetConfig, DeviceBudget};
use super::login_throttle::LoginThrottle;
use super::metrics::Metrics;
use crate::domain::app_versions::AppVersions;
use crate::domain::device_health::Thresholds;
use crate::domain::receipt_profile::ReceiptConfig;
use crate::domain::reconcile::Rules;
use crate::domain::snapshot_files::{SnapshotFiles, SnapshotFilesConfig};
use crate::storage::blobs::BlobStore;
use crate::storage::changes::ChangeSignal;
use crate::storage::locations::LocationStorage;
use crate::storage::money::MoneyStorage;
use crate::storage::monitoring::MonitoringStorage;
use crate::storage::releases::ReleaseStorage;
use crate::storage::sessions::SessionStorage;
use crate::storage::staff::StaffStorage;
use crate::storage::workflows::WorkflowStorage;
use crate::storage::SyncStorage;
use gridbook_core::sync::wire::DevicePolicy;

#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn SyncStorage>,
    pub rules: Rules,
    /// What the phones are asked to keep to (idle lock, days offline, screenshots): sent with every
    /// push answer and pull page.
    pub policy: DevicePolicy,
    /// The seal and the check's address every receipt's copy prints (`serve --receipt-seal-png
    /// --receipt-verify-url`), sent with the company's name and the device's collector as the
    /// receipt profile of every push answer and pull page.
    pub receipts: ReceiptConfig,
    /// Sessions, monitoring queries and metrics of the back office (/admin, /metrics).
    pub backoffice: Backoffice,
    /// Prebuilt device files for fresh phones (`/v1/snapshot-file`), when the backend keeps them.
    pub snapshot_files: Option<Arc<SnapshotFiles>>,
    /// Each device's request budget (429 over it).
    pub device_budget: Arc<DeviceBudget>,
    /// Where a client's address comes from (the peer, or a trusted proxy's header).
    pub client_addr: ClientAddrConfig,
    /// Each client address's budget of public receipt checks (`/v1/verify`).
    pub verify_budget: Arc<DeviceBudget>,
    /// Failed back-office logins by account and by address (the form and HTTP Basic together).
    pub login_throttle: Arc<LoginThrottle>,
    /// The published builds of the app and the minimum app version.
    pub app_versions: Arc<AppVersions>,
    /// "Something changed in these grids", for the phones waiting on `/v1/changes`: this
    /// process's pushes and, relayed by the storage, other replicas' (http/changes.rs).
    pub changes: ChangeSignal,
    /// The longest a `/v1/changes` poll is held, whatever the phone asked (`--changes-max-wait-s`).
    pub changes_max_wait_s: u32,
    /// Where uploaded photos are kept (`/v1/photos`), when the backend keeps them.
    pub photos: Option<Arc<dyn BlobStore>>,
}

impl AppState {
    /// The state of a backend that serves the phones and the back office: each part of the server
    /// holds the backend through the one trait of its concern.
    pub fn new<B>(backend: Arc<B>) -> Self
    where
        B: SyncStorage
            + MonitoringStorage
            + WorkflowStorage
            + StaffStorage
            + ReleaseStorage
            + SessionStorage
            + LocationStorage
            + MoneyStorage,
    {
        let app_versions = Arc::new(AppVersions::new(backend.clone()));
        let backoffice = Backoffice {
            monitoring: backend.clone(),
            workflows: backend.clone(),
            locations: backend.clone(),
            visit_max_distance_m: gridbook_core::location::DEFAULT_MAX_DISTANCE_M,
            photo_missing_after_ms: crate::domain::photos::DEFAULT_MISSING_AFTER_MS,
            money: backend.clone(),
            staff: backend.clone(),
            sessions: SessionStore::new(backend.clone()),
            metrics: Arc::new(Metrics::default()),
            thresholds: Thresholds::default(),
            company_name: Arc::from(DEFAULT_COMPANY_NAME),
        };
        let login_throttle = Arc::new(LoginThrottle::new(backend.clone()));
        let storage: Arc<dyn SyncStorage> = backend;
        let snapshot_files = SnapshotFiles::for_storage(storage.as_ref(), Default::default()).map(Arc::new);
        let photos = storage.blob_store();
        let device_budget = Arc::new(DeviceBudget::new(Default::default()));
        let verify_budget = Arc::new(DeviceBudget::new(super::receipts::VERIFY_BUDGET));
        let changes = ChangeSignal::default();
        storage.follow_changes(changes.clone());
        Self {
            storage,
            rules: Rules::default(),
            // a server states its photo policy (the phones' defaults unless its operator sets one)
            policy: DevicePolicy { photos: Some(Default::default()), ..DevicePolicy::default() },
            receipts: ReceiptConfig::default(),
            backoffice,
            snapshot_files,
            device_budget,
            client_addr: ClientAddrConfig::default(),
            verify_budget,
            login_throttle,
            app_versions,
            changes,
            changes_max_wait_s: gridbook_core::sync::wire::CHANGES_MAX_WAIT_S,
            photos,
        }
    }

    /// The same state finding client addresses another way (behind a trusted proxy).
    pub fn with_client_addr(mut self, config: ClientAddrConfig) -> Self {
        self.client_addr = config;
        self
    }

    /// The same state printing receipts under another company's name.
    pub fn with_company_name(mut self, name: &str) -> Self {
        self.backoffice.company_name = Arc::from(name);
        self
    }

    /// The same state printing receipts with this seal and check address.
    pub fn with_receipt_config(mut self, config: ReceiptConfig) -> Self {
        self.receipts = config;
        self
    }

    /// The receipt profile a device of `collector` is sent with every answer.
    pub fn receipt_profile(
        &self,
        collector: &gridbook_core::CollectorProfile,
    ) -> gridbook_core::sync::wire::ReceiptProfile {
        self.receipts.profile(&self.backoffice.company_name, collector)
    }

    /// The same state with another request budget per device.
    pub fn with_device_budget(mut self, config: BudgetConfig) -> Self {
        self.device_budget = Arc::new(DeviceBudget::new(config));
        self
    }

    /// The same state calling a photo missing `ms` after its fact (on its way before).
    pub fn with_photo_missing_after_ms(mut self, ms: i64) -> Self {
        self.backoffice.photo_missing_after_ms = ms;
        self
    }

    /// The same state flagging visits further than `metres` from their household's reference.
    pub fn with_visit_max_distance_m(mut self, metres: i64) -> Self {
        self.backoffice.visit_max_distance_m = metres;
        self
    }

    /// The same state with snapshot files kept under other rules.
    pub fn with_snapshot_files(mut self, config: SnapshotFilesConfig) -> Self {
        self.snapshot_files = SnapshotFiles::for_storage(self.storage.as_ref(), config).map(Arc::new);
        self
    }
}

/// The back office's share of the state.
#[derive(Clone)]
pub struct Backoffice {
    /// The dashboard's and /metrics' read-only queries.
    pub monitoring: Arc<dyn MonitoringStorage>,
    /// The field-workflow queries (tickets, appointments, day summaries).
    pub workflows: Arc<dyn WorkflowStorage>,
    /// Households' reference positions and visits' checked positions (issue 20).
    pub locations: Arc<dyn LocationStorage>,
    /// How far from its household's reference a visit may be before it is flagged, metres (a
    /// fix's own accuracy widens it).
    pub visit_max_distance_m: i64,
    /// How long after its visit or receipt a photo not here is "on its way" before it is
    /// "missing" (`serve --photo-missing-after-h`).
    pub photo_missing_after_ms: i64,
    /// The money controls: receipts with their flags, cash hand-ins (交款).
    pub money: Arc<dyn MoneyStorage>,
    /// Staff accounts, for the logins.
    pub staff: Arc<dyn StaffStorage>,
    /// Sessions, in the database every replica shares.
    pub sessions: SessionStore,
    pub metrics: Arc<Metrics>,
    pub thresholds: Thresholds,
    /// The company named at the head of a printed receipt (`serve --company-name`).
    pub company_name: Arc<str>,
}

/// The receipt's header until the operator names the company (`serve --company-name`).
pub const DEFAULT_COMPANY_NAME: &str = "网格通收款 Gridbook collections";
