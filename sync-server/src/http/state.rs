//! What every handler shares: the storage, the reconcile rules, the back office's sessions,
//! monitoring queries and metrics, the snapshot files, each device's request budget and each
//! client address's budget of public checks.

use std::sync::Arc;

use super::backoffice::session::SessionStore;
use super::client_addr::ClientAddrConfig;
use super::device_budget::{BudgetConfig, DeviceBudget};
use super::login_throttle::LoginThrottle;
use super::metrics::Metrics;
use crate::domain::device_health::Thresholds;
use crate::domain::reconcile::Rules;
use crate::domain::snapshot_files::{SnapshotFiles, SnapshotFilesConfig};
use crate::storage::monitoring::MonitoringStorage;
use crate::storage::sqlite::SqliteMonitoring;
use crate::storage::sqlite::SqliteStorage;
use crate::storage::workflows::WorkflowMonitoring;
use crate::storage::SyncStorage;

#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn SyncStorage>,
    pub rules: Rules,
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
}

impl AppState {
    pub fn new(storage: Arc<dyn SyncStorage>) -> Self {
        let backoffice = Backoffice::for_storage(&storage);
        let snapshot_files = SnapshotFiles::for_storage(storage.as_ref(), Default::default()).map(Arc::new);
        let device_budget = Arc::new(DeviceBudget::new(Default::default()));
        let verify_budget = Arc::new(DeviceBudget::new(super::receipts::VERIFY_BUDGET));
        Self {
            storage,
            rules: Rules::default(),
            backoffice,
            snapshot_files,
            device_budget,
            client_addr: ClientAddrConfig::default(),
            verify_budget,
            login_throttle: Arc::new(LoginThrottle::default()),
        }
    }

    /// The same state finding client addresses another way (behind a trusted proxy).
    pub fn with_client_addr(mut self, config: ClientAddrConfig) -> Self {
        self.client_addr = config;
        self
    }

    /// The same state with another request budget per device.
    pub fn with_device_budget(mut self, config: BudgetConfig) -> Self {
        self.device_budget = Arc::new(DeviceBudget::new(config));
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
    /// The monitoring queries; `None` for a storage backend that has none (then the pages say so).
    pub monitoring: Option<Arc<dyn MonitoringStorage>>,
    /// The field-workflow queries (tickets, appointments, day summaries); `None` likewise.
    pub workflows: Option<Arc<dyn WorkflowMonitoring>>,
    pub sessions: Arc<SessionStore>,
    pub metrics: Arc<Metrics>,
    pub thresholds: Thresholds,
}

impl Backoffice {
    /// Attaches the monitoring queries that belong to the storage backend.
    pub fn for_storage(storage: &Arc<dyn SyncStorage>) -> Self {
        let sqlite = storage
            .clone()
            .into_any_arc()
            .downcast::<SqliteStorage>()
            .ok()
            .map(|s| Arc::new(SqliteMonitoring::new(s.path())));
        let mut backoffice = Self::with_monitoring(sqlite.clone().map(|s| s as Arc<dyn MonitoringStorage>));
        backoffice.workflows = sqlite.map(|s| s as Arc<dyn WorkflowMonitoring>);
        backoffice
    }

    pub fn with_monitoring(monitoring: Option<Arc<dyn MonitoringStorage>>) -> Self {
        Self {
            monitoring,
            workflows: None,
            sessions: Arc::new(SessionStore::default()),
            metrics: Arc::new(Metrics::default()),
            thresholds: Thresholds::default(),
        }
    }
}
