//! The sync protocol's wire types, defined once and used by the device and the server alike.
//! docs/sync-protocol.md describes the exchange; `PROTOCOL_VERSION` is in every request.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::model::EntityKind;
use crate::sync::hlc::Hlc;

/// Where the phone was, as the `location` field of a visit, a receipt or a sign-in carries it
/// (docs/sync-protocol.md, "Where the phone was"; pinned in tests/golden/v1/located-ops.json).
pub use crate::location::{LocationFix, LocationProvider, Position};

/// Version of this protocol. The server accepts `MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION`.
pub const PROTOCOL_VERSION: u32 = 1;
pub const MIN_PROTOCOL_VERSION: u32 = 1;

/// Bodies smaller than this travel uncompressed, both ways: setting up a gzip stream costs more
/// CPU than a small request's whole handling, and below a packet's size it saves nothing.
pub const GZIP_MIN_BYTES: usize = 1024;

/// Paths, versioned.
pub const PATH_ENROL: &str = "/v1/enrol";
pub const PATH_PUSH: &str = "/v1/push";
pub const PATH_PULL: &str = "/v1/pull";
pub const PATH_HEALTH: &str = "/health";
/// POST, device token: issues this device a new block of receipt numbers.
pub const PATH_RECEIPT_BLOCKS: &str = "/v1/receipt-blocks";
/// GET `{PATH_VERIFY}/{receipt_no}?code=XXXX-XXXX-XX`, public: checks a paper receipt.
pub const PATH_VERIFY: &str = "/v1/verify";
/// GET `?schema=N&protocol=1`, device token: the device's scope as a prebuilt SQLite file in the
/// device's own schema, gzip'd, for a fresh store (docs/sync-protocol.md, "Snapshot file").
pub const PATH_SNAPSHOT_FILE: &str = "/v1/snapshot-file";
/// GET `{PATH_APP_RELEASES}/{sha256}`, device token: a build of the app the back office published
/// (docs/sync-protocol.md, "App versions").
pub const PATH_APP_RELEASES: &str = "/v1/app/releases";
/// POST, device token: the device's last request, after its remote wipe (docs/sync-protocol.md,
/// "Remote wipe"): what it uploaded and what was lost, signed with its device key.
pub const PATH_WIPE_REPORT: &str = "/v1/device/wipe-report";
/// GET `?cursor=N&wait_s=S`, device token: a long poll that answers once records of the device's
/// grids after its cursor can be pulled, or "maybe" after `wait_s` seconds (docs/sync-protocol.md,
/// "Live changes"). It only says when to pull; the pull itself is the same as ever.
pub const PATH_CHANGES: &str = "/v1/changes";
/// The longest `wait_s` of `GET /v1/changes` (and its default): below the load balancer's and the
/// client's read timeouts, and short enough that a phone's poll doubles as a heartbeat.
pub const CHANGES_MAX_WAIT_S: u32 = 25;
/// The photo upload channel, device token (docs/sync-protocol.md, "Photos"):
/// `PUT {PATH_PHOTOS}/{sha256}/chunks/{index}?size=N` stores one chunk (acknowledged after a
/// durable write), `GET {PATH_PHOTOS}/{sha256}/status?size=N` says which chunks the server has
/// (`PhotoStatus`), `GET {PATH_PHOTOS}/{sha256}` fetches a whole photo.
pub const PATH_PHOTOS: &str = "/v1/photos";
/// GET, device token: the company's seal image (PNG) the receipts print, when the server names
/// one in `ReceiptProfile::seal_sha256` (docs/sync-protocol.md, "Receipt profile").
pub const PATH_RECEIPT_SEAL: &str = "/v1/receipt-seal";
/// A photo's bytes per chunk on the upload channel (the last chunk holds the rest): a few hundred
/// KB, so a cut costs at most this much again.
pub const PHOTO_CHUNK_BYTES: usize = 256 * 1024;
/// The largest photo the server takes (a prepared photo is 200–400 KB).
pub const MAX_PHOTO_BYTES: u64 = 8 * 1024 * 1024;

/// Where an upload of one photo stands on the server: the answer to every chunk and to `status`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoStatus {
    /// The photo's address: SHA-256 of its bytes, 64 lower-case hex digits.
    pub sha256: String,
    /// The photo's size in bytes, as the device declared it.
    pub size: u64,
    /// Its number of chunks (`ceil(size / PHOTO_CHUNK_BYTES)`).
    pub chunks: u32,
    /// The chunk indexes the server holds, ascending (all of them once `complete`).
    pub have: Vec<u32>,
    /// The server holds the whole photo, its hash checked: nothing more to send.
    pub complete: bool,
}

impl PhotoStatus {
    /// The chunk indexes still to send, ascending.
    pub fn missing(&self) -> Vec<u32> {
        if self.complete {
            return Vec::new();
        }
        (0..self.chunks).filter(|i| self.have.binary_search(i).is_err()).collect()
    }
}

/// Number of chunks of a photo of `size` bytes on the upload channel.
pub fn photo_chunks(size: u64) -> u32 {
    size.div_ceil(PHOTO_CHUNK_BYTES as u64).max(1) as u32
}

/// The app's version, on every request a device makes with its token: the server refuses one
/// below its minimum with `upgrade_required` (426).
pub const HEADER_APP_VERSION: &str = "x-gridbook-app-version";

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpAction {
    /// Sets every field of the entity (a field the op leaves out is set to null).
    Create,
    /// Sets only the fields it names. A delete is an update of `deleted` to true (a tombstone).
    Update,
}

/// One change made on a device: the unit of the outbox, the push and the merge.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Op {
    /// UUIDv7 made on the device: retries and duplicates are recognised by it.
    pub id: Uuid,
    pub kind: EntityKind,
    pub entity: String,
    /// The grid the entity belongs to: what the server authorises the op against.
    pub grid: String,
    pub action: OpAction,
    /// The entity's fields by name (docs/record-kinds.md): every field for a `create`, the changed ones
    /// for an `update`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub fields: Map<String, Value>,
    pub hlc: Hlc,
}

/// Facts every device reports with each sync (docs/field.md, sync 15).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeviceFacts {
    pub app_version: String,
    pub pending_count: u64,
    /// Age of the oldest op still waiting to be pushed, in seconds.
    pub oldest_pending_age_s: Option<u64>,
    pub rejected_count: u64,
    pub db_size_bytes: u64,
    /// The device's wall clock when it sent the request; the server measures the offset.
    pub wall_clock_ms: i64,
    pub zone_offset_min: i32,
    /// Sum of receipts collected on the device and not yet acknowledged, in fen.
    #[serde(default)]
    pub unsynced_receipts_fen: i64,
    #[serde(default)]
    pub unsynced_receipts_count: u64,
    pub last_error: Option<String>,
    /// Handovers whose scope this device has removed, with nothing of its own left unsent there
    /// (docs/sync-protocol.md, "Handovers"). From this push on the server refuses the device's
    /// writes to that scope.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_handovers: Vec<String>,
    // What the back office shows of the phone itself (docs/sync-protocol.md, "Device facts"): each
    // is optional, an app that does not know one leaves it out.
    /// The phone's maker and model, e.g. "HUAWEI nova 11".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_model: Option<String>,
    /// The operating system and its version, e.g. "Android 14" or "iOS 17.5".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// Storage left for the app's data, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_storage_bytes: Option<u64>,
    /// How long the last successful sync cycle took, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_duration_ms: Option<u64>,
    /// Bytes the last successful sync cycle sent and received on the wire (compressed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_bytes: Option<u64>,
    /// Whether the phone's battery saver is on (it delays background sync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery_saver: Option<bool>,
    /// What the phone sent and received on the wire today (China time), all sync traffic and
    /// photos included: absent from apps before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<DayTraffic>,
    /// Photos taken on the phone that the server does not hold whole yet, and their bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photos_waiting: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_bytes_waiting: Option<u64>,
}

/// A phone's bytes on the wire in one day, China time (docs/sync-protocol.md, "Device facts").
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayTraffic {
    /// The day, China time, e.g. "2026-12-07".
    pub day: String,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Of `bytes_sent`, photo bytes sent over mobile data (what the policy's daily cap counts).
    #[serde(default)]
    pub photo_mobile_bytes: u64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    pub protocol: u32,
    pub facts: DeviceFacts,
    pub ops: Vec<Op>,
}

/// Why the server refused an op for good. Retrying it will not help; it waits on the device with
/// its reason until someone deals with it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// A field is missing, unknown or breaks a rule.
    Invalid,
    /// The device is not assigned the op's grid.
    OutsideGrids,
    /// An insert-only record (visit, receipt …) would be changed.
    Immutable,
    /// The receipt number was already used by another receipt.
    DuplicateReceiptNo,
    /// The receipt number is not in a block issued to this device.
    ReceiptNoNotIssued,
    /// The device's signature over a signed document does not verify.
    BadSignature,
    /// An update of a record the server has never seen: a record is created before it is edited
    /// (docs/sync-protocol.md, "Updates of unknown records").
    UnknownEntity,
    /// A field naming another record (a visit's household, a receipt's account …) names one the
    /// server does not hold, or one of another grid (docs/sync-protocol.md, "References").
    BadReference,
    /// A code of a newer server that this device does not know: a refusal all the same, its
    /// reason says why. The server never sends it; a device reads any unknown code as this, so a
    /// code added later never makes a push answer unreadable.
    #[serde(other)]
    Other,
}

impl RejectCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::Invalid => "invalid",
            RejectCode::OutsideGrids => "outside_grids",
            RejectCode::Immutable => "immutable",
            RejectCode::DuplicateReceiptNo => "duplicate_receipt_no",
            RejectCode::ReceiptNoNotIssued => "receipt_no_not_issued",
            RejectCode::BadSignature => "bad_signature",
            RejectCode::UnknownEntity => "unknown_entity",
            RejectCode::BadReference => "bad_reference",
            RejectCode::Other => "other",
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum OpOutcome {
    /// Merged: at least one field now holds this op's value.
    Applied,
    /// The server already had this op (same id): nothing changed.
    AlreadyHad,
    /// Recorded, but every field it sets already holds a later value.
    Superseded,
    Rejected {
        code: RejectCode,
        reason: String,
    },
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpResult {
    pub op_id: Uuid,
    #[serde(flatten)]
    pub outcome: OpOutcome,
    /// Set when the op's stamp was too far ahead of the server's clock and was merged with this
    /// stamp instead (docs/sync-protocol.md, "Clocks ahead").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clamped_to: Option<Hlc>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    pub protocol: u32,
    pub results: Vec<OpResult>,
    pub server_time_ms: i64,
    /// Device wall clock minus server clock, as measured from this request.
    pub clock_offset_ms: i64,
    /// Which life of the server's database answered. Absent from servers before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<ServerGeneration>,
    /// A newer build of the app published for this device (docs/sync-protocol.md, "App
    /// versions"). Absent when there is none, and from servers before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<AppUpdate>,
    /// What the server asks of its phones (lock, days offline, screenshots). Absent from servers
    /// before it: the phone keeps what it last met.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<DevicePolicy>,
    /// The back office ordered this device wiped (docs/sync-protocol.md, "Remote wipe"): upload
    /// as the mode says, destroy the store, report. Absent when there is no order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wipe: Option<WipeOrder>,
    /// How this device's receipts are printed: the company, the public check, the seal, the
    /// collector (docs/sync-protocol.md, "Receipt profile"). Absent from servers before it: the
    /// phone keeps what it last met.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<ReceiptProfile>,
}

/// How the customer's copy of this device's receipts is printed, as the server is configured
/// (`serve --receipt-company …`) and as the back office names the device's manager (name, staff
/// number 工号). On every push answer and pull page; the phone keeps the last one it met and
/// fetches the seal image (`PATH_RECEIPT_SEAL`) only when its SHA-256 changes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptProfile {
    /// The company's name, the copy's header (empty: none configured).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub company_name: String,
    /// Where the public check lives (`https://…`), for the QR code. Absent: the server the
    /// device enrolled with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub verify_base_url: Option<String>,
    /// SHA-256 of the seal image (lower-case hex), fetched from `GET /v1/receipt-seal`. Absent:
    /// the copy carries no seal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub seal_sha256: Option<String>,
    /// The manager's name as the receipts print it (收款人).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 50))]
    pub collector_name: String,
    /// The manager's staff number (工号); empty when the back office has not set one.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 32))]
    pub collector_staff_no: String,
}

/// What the server asks of its phones (docs/sync-protocol.md, "Device policy"), on every push
/// answer and pull page; set by the server's operator (`serve --idle-lock-minutes …`). The phone
/// keeps the last one it met. A field a server leaves out takes its default; 0 turns a limit off.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicePolicy {
    /// Minutes without a call after which the phone's store locks itself (0: never).
    #[serde(default = "DevicePolicy::default_idle_lock_minutes")]
    pub idle_lock_minutes: u32,
    /// Days without a successful sync after which the phone records nothing new until it has
    /// synced; it still syncs and shows what it holds (0: no limit).
    #[serde(default = "DevicePolicy::default_max_offline_days")]
    pub max_offline_days: u32,
    /// How many minutes an unlock stays fresh enough to sign a receipt (0: any unlock will do).
    #[serde(default = "DevicePolicy::default_fresh_unlock_minutes")]
    pub fresh_unlock_minutes: u32,
    /// Whether the apps keep their screens out of screenshots, recordings and the app switcher.
    #[serde(default = "DevicePolicy::default_block_screenshots")]
    pub block_screenshots: bool,
    /// How the phone uploads and keeps photos (docs/sync-protocol.md, "Photo policy"). Absent from
    /// servers before it: the phone uses `PhotoPolicy::default()`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photos: Option<PhotoPolicy>,
}

/// The photo part of the device policy: whether photos go over mobile data at all, how many
/// bytes of them a day (China time) may, and how long a phone keeps the photos it has uploaded.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoPolicy {
    /// Whether photos upload over mobile data too (false: on Wi-Fi only).
    #[serde(default = "PhotoPolicy::default_over_mobile")]
    pub over_mobile: bool,
    /// Photo bytes a phone may send over mobile data per day, China time (0: no cap).
    #[serde(default = "PhotoPolicy::default_mobile_bytes_per_day")]
    pub mobile_bytes_per_day: u64,
    /// Days a phone keeps a photo after the server has it whole (0: removed at the next trim).
    #[serde(default = "PhotoPolicy::default_keep_days")]
    pub keep_days: u32,
}

impl PhotoPolicy {
    pub const MOBILE_BYTES_PER_DAY: u64 = 50 * 1024 * 1024;
    pub const KEEP_DAYS: u32 = 7;

    fn default_over_mobile() -> bool {
        true
    }
    fn default_mobile_bytes_per_day() -> u64 {
        Self::MOBILE_BYTES_PER_DAY
    }
    fn default_keep_days() -> u32 {
        Self::KEEP_DAYS
    }
}

impl Default for PhotoPolicy {
    fn default() -> Self {
        Self { over_mobile: true, mobile_bytes_per_day: Self::MOBILE_BYTES_PER_DAY, keep_days: Self::KEEP_DAYS }
    }
}

impl DevicePolicy {
    pub const IDLE_LOCK_MINUTES: u32 = 5;
    pub const MAX_OFFLINE_DAYS: u32 = 14;
    pub const FRESH_UNLOCK_MINUTES: u32 = 30;
    /// The largest value of each limit a phone takes (a day of minutes, a year of days): a server
    /// sending more is read as this.
    pub const MAX_MINUTES: u32 = 24 * 60;
    pub const MAX_DAYS: u32 = 366;

    fn default_idle_lock_minutes() -> u32 {
        Self::IDLE_LOCK_MINUTES
    }
    fn default_max_offline_days() -> u32 {
        Self::MAX_OFFLINE_DAYS
    }
    fn default_fresh_unlock_minutes() -> u32 {
        Self::FRESH_UNLOCK_MINUTES
    }
    fn default_block_screenshots() -> bool {
        true
    }

    /// The policy with every limit within its bounds.
    pub fn bounded(self) -> Self {
        Self {
            idle_lock_minutes: self.idle_lock_minutes.min(Self::MAX_MINUTES),
            max_offline_days: self.max_offline_days.min(Self::MAX_DAYS),
            fresh_unlock_minutes: self.fresh_unlock_minutes.min(Self::MAX_MINUTES),
            block_screenshots: self.block_screenshots,
            photos: self.photos.map(|p| PhotoPolicy { keep_days: p.keep_days.min(Self::MAX_DAYS), ..p }),
        }
    }

    /// The photo policy in force: the server's, or the defaults from a server before it.
    pub fn photos(&self) -> PhotoPolicy {
        self.photos.unwrap_or_default()
    }
}

impl Default for DevicePolicy {
    fn default() -> Self {
        Self {
            idle_lock_minutes: Self::IDLE_LOCK_MINUTES,
            max_offline_days: Self::MAX_OFFLINE_DAYS,
            fresh_unlock_minutes: Self::FRESH_UNLOCK_MINUTES,
            block_screenshots: true,
            photos: None,
        }
    }
}

/// How the back office has a device wiped (docs/sync-protocol.md, "Remote wipe").
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WipeMode {
    /// A manager leaves: the phone pushes until every op and receipt is acknowledged or set aside
    /// with a reason, then wipes itself.
    Retire,
    /// The phone is lost or stolen: one push, whatever its outcome, then it wipes itself.
    Lost,
}

impl WipeMode {
    pub fn as_str(self) -> &'static str {
        match self {
            WipeMode::Retire => "retire",
            WipeMode::Lost => "lost",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "retire" => Some(WipeMode::Retire),
            "lost" => Some(WipeMode::Lost),
            _ => None,
        }
    }
}

/// The back office's order to wipe a device, in every push answer (`PushResponse::wipe`) and in
/// the `wipe_ordered` refusal of every other request (`ErrorBody::wipe`) from the device's first
/// contact after the order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WipeOrder {
    pub mode: WipeMode,
    /// When the back office gave the order, server clock, UTC ms: the report names it back.
    pub ordered_at_ms: i64,
}

/// What a device says of its remote wipe, once its store is gone: what its last pushes uploaded,
/// what the server refused (set aside with a reason, on the server too) and what never reached the
/// server. Sent signed (`WipeReportRequest`) to `PATH_WIPE_REPORT`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WipeReport {
    /// The device that wiped itself (the one the token is of).
    pub device_id: String,
    /// The order carried out, as the server sent it.
    pub mode: WipeMode,
    pub ordered_at_ms: i64,
    /// When the store was destroyed, device clock, UTC ms.
    pub wiped_at_ms: i64,
    /// Ops the server acknowledged in the wipe's pushes.
    pub ops_uploaded: u64,
    /// Receipts among them, and their total in fen.
    pub receipts_uploaded: u64,
    pub receipts_uploaded_fen: i64,
    /// Ops the server refused for good, set aside with their reasons (listed on the server's
    /// rejections); their contents went with the store.
    pub ops_rejected: u64,
    /// Ops that never reached the server (a lost phone's push that failed or did not carry them all).
    pub ops_lost: u64,
    /// Receipts not on the server (pending or refused), and their total in fen: money collected
    /// whose record went with the store.
    pub receipts_lost: u64,
    pub receipts_lost_fen: i64,
}

impl WipeReport {
    /// The first line of the signed text.
    pub const SIGNED_TAG: &'static str = "gridbook wipe report v1";
    /// The most ops (or receipts) one report may count: far beyond any phone's outbox.
    pub const MAX_COUNT: u64 = 10_000_000;
    /// The report's clock times are within these (2020-01-01 to 2100-01-01 UTC).
    pub const MIN_TIME_MS: i64 = 1_577_836_800_000;
    pub const MAX_TIME_MS: i64 = 4_102_444_800_000;

    /// The exact bytes the device signs with its Ed25519 key: the tag and one `name=value` line per
    /// field, in this order, each ending with `\n` (UTF-8; numbers in decimal).
    pub fn signed_message(&self) -> Vec<u8> {
        let lines = [
            ("device_id", self.device_id.clone()),
            ("mode", self.mode.as_str().to_string()),
            ("ordered_at_ms", self.ordered_at_ms.to_string()),
            ("wiped_at_ms", self.wiped_at_ms.to_string()),
            ("ops_uploaded", self.ops_uploaded.to_string()),
            ("receipts_uploaded", self.receipts_uploaded.to_string()),
            ("receipts_uploaded_fen", self.receipts_uploaded_fen.to_string()),
            ("ops_rejected", self.ops_rejected.to_string()),
            ("ops_lost", self.ops_lost.to_string()),
            ("receipts_lost", self.receipts_lost.to_string()),
            ("receipts_lost_fen", self.receipts_lost_fen.to_string()),
        ];
        let mut text = format!("{}\n", Self::SIGNED_TAG);
        for (name, value) in lines {
            text.push_str(name);
            text.push('=');
            text.push_str(&value);
            text.push('\n');
        }
        text.into_bytes()
    }

    /// Whether every figure is within its bounds: counts at most `MAX_COUNT`, receipts among the
    /// ops they belong to, each total 0 when there is no receipt and at most the count times the
    /// money bound, times within `MIN_TIME_MS..=MAX_TIME_MS`. The error names the field.
    pub fn check(&self) -> Result<(), String> {
        for (name, n) in [
            ("ops_uploaded", self.ops_uploaded),
            ("receipts_uploaded", self.receipts_uploaded),
            ("ops_rejected", self.ops_rejected),
            ("ops_lost", self.ops_lost),
            ("receipts_lost", self.receipts_lost),
        ] {
            if n > Self::MAX_COUNT {
                return Err(format!("{name}: at most {}", Self::MAX_COUNT));
            }
        }
        if self.receipts_uploaded > self.ops_uploaded {
            return Err("receipts_uploaded: at most ops_uploaded".into());
        }
        for (name, count, fen) in [
            ("receipts_uploaded_fen", self.receipts_uploaded, self.receipts_uploaded_fen),
            ("receipts_lost_fen", self.receipts_lost, self.receipts_lost_fen),
        ] {
            // MAX_COUNT × MAX_FEN fits an i64 (10^17 < 9.2 × 10^18)
            let most = i64::try_from(count).unwrap_or(i64::MAX).saturating_mul(crate::model::MAX_FEN);
            if !(0..=most).contains(&fen) {
                return Err(format!("{name}: 0 to {most} fen for {count} receipts"));
            }
        }
        for (name, at) in [("ordered_at_ms", self.ordered_at_ms), ("wiped_at_ms", self.wiped_at_ms)] {
            if !(Self::MIN_TIME_MS..=Self::MAX_TIME_MS).contains(&at) {
                return Err(format!("{name}: a time between 2020 and 2100, UTC ms"));
            }
        }
        Ok(())
    }
}

/// The body of `POST PATH_WIPE_REPORT`: the report and the device's Ed25519 signature of
/// `WipeReport::signed_message`, 128 lowercase hex digits, under the key it registered at enrolment.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WipeReportRequest {
    pub protocol: u32,
    pub report: WipeReport,
    pub signature: String,
}

/// The answer to a wipe report: recorded. From now on the device's token is refused like a
/// revoked one (`401 revoked`) and its id never enrols again.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WipeReportResponse {
    pub protocol: u32,
    /// When the server recorded the report, server clock, UTC ms.
    pub recorded_at_ms: i64,
}

/// Which life of the server's database answered (docs/sync-protocol.md, "Restores"). A server
/// restored from a backup has forgotten what it acknowledged after that backup; its new `id`
/// tells a phone to send again the ops acknowledged since `restored_from_ms` and to pull again
/// from `restored_cursor`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ServerGeneration {
    /// New at every restore; the same for every answer until the next one.
    pub id: String,
    /// When the backup this database was restored from was taken, server clock, UTC ms (0: never
    /// restored).
    #[serde(default)]
    pub restored_from_ms: i64,
    /// The last change number that backup held: a phone whose cursor is past it pulls from here.
    #[serde(default)]
    pub restored_cursor: u64,
    /// How many days a phone keeps acknowledged ops, to send again after a restore.
    #[serde(default = "ServerGeneration::default_keep_acked_days")]
    pub keep_acked_days: u32,
}

impl ServerGeneration {
    /// The server's default retention window for acknowledged ops, days.
    pub const KEEP_ACKED_DAYS: u32 = 30;
    fn default_keep_acked_days() -> u32 {
        Self::KEEP_ACKED_DAYS
    }
}

/// A build of the app the back office published, offered to a device in its sync answers or with
/// `upgrade_required` (docs/sync-protocol.md, "App versions"). The app downloads it from `url` on
/// the same server with its device token, and installs it only when the file's SHA-256 is `sha256`
/// and it is signed with the app's own certificate.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AppUpdate {
    /// The version offered, dotted numbers ("1.4.0").
    pub version: String,
    /// Where to download it: a path on the server that answered (`/v1/app/releases/{sha256}`).
    pub url: String,
    /// SHA-256 of the whole file, lowercase hex.
    pub sha256: String,
    /// The file's size, bytes.
    pub bytes: u64,
    /// What changed, as the back office wrote it.
    #[serde(default)]
    pub notes: String,
    /// The device's app is below the server's minimum: it must update before it syncs again.
    #[serde(default)]
    pub required: bool,
}

/// The current state of one entity, as the server holds it: values with per-field stamps.
/// Fields absent from `clocks` carry the `base` stamp (that of the latest create).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityState {
    pub kind: EntityKind,
    pub id: String,
    /// The record's fields by name (docs/record-kinds.md).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub values: Map<String, Value>,
    pub base: Option<Hlc>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub clocks: BTreeMap<String, Hlc>,
}

/// An `EntityState` as the server stores it: `values` and `clocks` are the JSON text they were
/// stored as, spliced into a pull page instead of being parsed and encoded again for every row
/// (issue 3). Encodes to the same JSON as `EntityState`, which is what devices read.
#[derive(Debug, Clone, Serialize)]
pub struct StoredState {
    pub kind: EntityKind,
    pub id: String,
    pub values: Box<RawValue>,
    /// The stamp as stored (`Hlc`'s text form).
    pub base: Option<String>,
    pub clocks: Box<RawValue>,
}

/// A record that left the device's scope (its grid or building was handed over to another
/// manager): the device removes its copy, and the records that belong with it, once it has no
/// unsent edit to them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removal {
    pub kind: EntityKind,
    pub id: String,
}

/// One page of a pull. The first pull of a new device (cursor 0) is a snapshot of current state;
/// later pulls carry only entities changed since the cursor. Either way `next_cursor` resumes.
/// Devices read `EntityState`s; the server writes `StoredState`s, the same JSON.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullPage<C = EntityState> {
    pub protocol: u32,
    pub changes: Vec<C>,
    #[serde(default)]
    pub removals: Vec<Removal>,
    /// Handovers whose removals this device has now all been sent (this page or before). The device
    /// reports each one in `DeviceFacts::removed_handovers` once it has removed them all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handovers_complete: Vec<String>,
    pub next_cursor: u64,
    pub has_more: bool,
    /// Changes still waiting after this page (for a progress bar).
    pub remaining: u64,
    pub server_time_ms: i64,
    /// Which life of the server's database answered (as in `PushResponse`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<ServerGeneration>,
    /// A newer build of the app published for this device (as in `PushResponse`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<AppUpdate>,
    /// What the server asks of its phones (as in `PushResponse`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<DevicePolicy>,
    /// How this device's receipts are printed (as in `PushResponse`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<ReceiptProfile>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolRequest {
    pub protocol: u32,
    pub code: String,
    pub device_id: String,
    pub app_version: String,
    /// The device's Ed25519 public key, hex; it signs receipts and work orders.
    #[serde(default)]
    pub public_key: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolResponse {
    pub protocol: u32,
    pub device_id: String,
    /// Bearer token for every later request. Shown once; the server keeps only its hash.
    pub token: String,
    pub manager_id: String,
    pub manager_name: String,
    pub grids: Vec<String>,
}

/// What a snapshot file holds and how to check it, sent in the response's headers (the body is
/// the file itself, gzip'd on the wire: `Content-Encoding: gzip`, `Content-Type:
/// application/vnd.sqlite3`). The device checks every figure before it installs the file.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotFileFacts {
    /// The change number the file reflects: the device's pull continues from here.
    pub cursor: u64,
    /// The device schema (`PRAGMA user_version`) the file was built in.
    pub schema_version: i64,
    /// Synced records in the file, every kind together.
    pub rows: u64,
    /// SHA-256 of the file as installed (uncompressed), 64 lowercase hex digits.
    pub sha256: String,
    /// Size of the uncompressed file.
    pub bytes: u64,
    /// The latest clock stamp among the file's records: the device's clock absorbs it, as it
    /// absorbs every pulled stamp, so its next edit orders after what the file holds.
    pub newest_stamp: Option<Hlc>,
}

impl SnapshotFileFacts {
    pub const HEADER_CURSOR: &'static str = "gridbook-snapshot-cursor";
    pub const HEADER_SCHEMA: &'static str = "gridbook-snapshot-schema";
    pub const HEADER_ROWS: &'static str = "gridbook-snapshot-rows";
    pub const HEADER_SHA256: &'static str = "gridbook-snapshot-sha256";
    pub const HEADER_BYTES: &'static str = "gridbook-snapshot-bytes";
    pub const HEADER_NEWEST_STAMP: &'static str = "gridbook-snapshot-newest-stamp";
    /// The body's content type: the SQLite file format.
    pub const CONTENT_TYPE: &'static str = "application/vnd.sqlite3";
    /// 404: the server offers no file for this device (none built and none to build, a scope too
    /// small to be worth one, or files turned off). The device pulls row pages.
    pub const NO_FILE: &'static str = "no_snapshot_file";
    /// 409: the server builds files in another device schema than the one the device asked for.
    /// The device pulls row pages.
    pub const SCHEMA_MISMATCH: &'static str = "snapshot_schema_mismatch";

    /// The headers that carry these facts, as (name, value).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            (Self::HEADER_CURSOR, self.cursor.to_string()),
            (Self::HEADER_SCHEMA, self.schema_version.to_string()),
            (Self::HEADER_ROWS, self.rows.to_string()),
            (Self::HEADER_SHA256, self.sha256.clone()),
            (Self::HEADER_BYTES, self.bytes.to_string()),
        ];
        if let Some(stamp) = &self.newest_stamp {
            out.push((Self::HEADER_NEWEST_STAMP, stamp.to_string()));
        }
        out
    }

    /// Reads the facts back from a response's headers (`header` looks one up by name); the error
    /// names the header that is missing or malformed.
    pub fn from_headers<'a>(header: impl Fn(&str) -> Option<&'a str>) -> Result<Self, String> {
        fn number<T: std::str::FromStr>(name: &str, text: Option<&str>) -> Result<T, String> {
            let text = text.ok_or_else(|| format!("header {name} is missing"))?;
            text.trim().parse().map_err(|_| format!("header {name} is not a number: {text:?}"))
        }
        let sha256 = header(Self::HEADER_SHA256)
            .ok_or_else(|| format!("header {} is missing", Self::HEADER_SHA256))?
            .trim()
            .to_ascii_lowercase();
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("header {} is not 64 hex digits", Self::HEADER_SHA256));
        }
        let newest_stamp = match header(Self::HEADER_NEWEST_STAMP) {
            Some(text) => Some(
                text.trim()
                    .parse::<Hlc>()
                    .map_err(|_| format!("header {} is not a clock stamp: {text:?}", Self::HEADER_NEWEST_STAMP))?,
            ),
            None => None,
        };
        Ok(Self {
            cursor: number(Self::HEADER_CURSOR, header(Self::HEADER_CURSOR))?,
            schema_version: number(Self::HEADER_SCHEMA, header(Self::HEADER_SCHEMA))?,
            rows: number(Self::HEADER_ROWS, header(Self::HEADER_ROWS))?,
            sha256,
            bytes: number(Self::HEADER_BYTES, header(Self::HEADER_BYTES))?,
            newest_stamp,
        })
    }
}

/// Every error body the server sends.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    /// With 429 (and a 503 that knows): when to ask again. The device waits at least this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// With `upgrade_required`: the lowest app version the server syncs with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_app_version: Option<String>,
    /// With `upgrade_required`: the build to install, when one is published for the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<AppUpdate>,
    /// With `wipe_ordered`: the order the device carries out (docs/sync-protocol.md, "Remote wipe").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wipe: Option<WipeOrder>,
}

/// Every `ErrorBody::code` the server sends, one per kind of failure (docs/sync-protocol.md,
/// "Errors", lists each with its HTTP status and what a client does about it). The body keeps
/// the code as text, so that a client reads a code a newer server adds; the server only sends
/// these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // The request itself (400, 413, 415, 422).
    /// The body could not be read (400).
    BadBody,
    /// The query string is wrong: a missing or malformed parameter (400).
    BadQuery,
    /// The body is not JSON (400).
    MalformedJson,
    /// The request's protocol version is outside what the server speaks (400).
    UnsupportedProtocol,
    /// The body is JSON of the wrong shape: a missing or mistyped field (422).
    InvalidBody,
    /// The body is not `application/json` where JSON is expected (415).
    ContentType,
    /// The body's `Content-Encoding` is not gzip (415).
    UnsupportedMediaType,
    /// The request line could not be read: a path that is not UTF-8, a query that does not parse
    /// (400).
    BadRequest,
    /// The path does not take this method; `Allow` lists those it takes (405).
    MethodNotAllowed,
    /// The body is larger than the server accepts (413).
    TooLarge,
    /// More ops in one push than the server accepts (413).
    TooManyOps,
    /// More rows in one sheet than an import accepts, or a row number past the last allowed (413).
    TooManyRows,
    /// More cells in one sheet than an import reads (413).
    TooManyCells,
    /// A column past the last an import reads (413).
    TooManyColumns,
    /// A photo's bytes, put together, do not hash to the address they were sent under: the chunks
    /// are dropped and the photo must be sent again (422).
    HashMismatch,
    // Who is asking (401, 403, 429).
    /// No, or an unknown, device token, enrolment code or staff login (401).
    Unauthorized,
    /// The device was revoked by the back office, or reported its remote wipe (401).
    Revoked,
    /// The back office ordered this device wiped: it may only push and report its wipe; the
    /// body's `wipe` holds the order (410).
    WipeOrdered,
    /// Known, but not allowed to do this (403).
    Forbidden,
    /// Too many failed logins to the back office's endpoints for now (429).
    Locked,
    /// Over the device's (or the public check's) request budget; see `retry_after_ms` (429).
    RateLimited,
    /// The app is older than the server's minimum version; `min_app_version` and `update` say
    /// what to install. A push is applied first, so its ops are not stranded (426).
    UpgradeRequired,
    // What is asked for (404, 409).
    /// No such endpoint, grid, manager, device, void, receipt … (404).
    NotFound,
    /// A download's `Range` starts past the end of the file (416).
    RangeNotSatisfiable,
    /// The server offers no snapshot file for this device; it pulls row pages (404).
    NoSnapshotFile,
    /// The snapshot file is for another device schema; the device pulls row pages (409).
    SnapshotSchemaMismatch,
    /// A grid or manager with that id exists already (409).
    Exists,
    /// The enrolment code was used already (409).
    CodeUsed,
    /// The device id is enrolled already; an id is never enrolled twice (409).
    DeviceTaken,
    /// A receipt-block request id was used by another device (409).
    RequestTaken,
    /// The device holds too many unused receipt numbers for another block (409).
    TooManyOpenNumbers,
    /// The void was decided already (409).
    AlreadyDecided,
    /// The receipt was voided already (409).
    AlreadyVoided,
    /// A receipt of a cash hand-in (交款) was handed in already (409).
    AlreadyHandedIn,
    /// The record (a building to hand over) was deleted (409).
    Deleted,
    /// The grid is not the handing manager's (409).
    NotAssigned,
    /// The building is in the grid it would move to (409).
    SameGrid,
    /// A record of the handed-over scope cannot move to the new grid (409).
    CannotMove,
    /// The device's wipe cannot be ordered or cancelled now: the phone was told already, it was
    /// wiped, or it is revoked and will never be told (409).
    WipeUnderWay,
    // The content (422).
    /// A value breaks a rule; the message names the field and the rule (422).
    Invalid,
    /// More items in one request than the server accepts (422).
    TooMany,
    /// A file the command line was given could not be read or written (422).
    Io,
    /// The upload is neither CSV nor XLSX (422).
    NotASpreadsheet,
    /// The sheet lacks required columns of its template (422).
    MissingColumns,
    /// Two columns of the sheet are the same template column (422).
    DuplicateColumn,
    // The server (500, 501, 503).
    /// The server failed; the cause is in its log, never in the answer (500).
    Internal,
    /// This storage backend does not do this (501).
    Unsupported,
    /// Busy or shutting down: ask again later (503).
    Unavailable,
}

impl ErrorCode {
    /// Every code, in the order above.
    pub const ALL: [ErrorCode; 48] = [
        ErrorCode::BadBody,
        ErrorCode::BadQuery,
        ErrorCode::MalformedJson,
        ErrorCode::UnsupportedProtocol,
        ErrorCode::InvalidBody,
        ErrorCode::ContentType,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::BadRequest,
        ErrorCode::MethodNotAllowed,
        ErrorCode::TooLarge,
        ErrorCode::TooManyOps,
        ErrorCode::TooManyRows,
        ErrorCode::TooManyCells,
        ErrorCode::TooManyColumns,
        ErrorCode::HashMismatch,
        ErrorCode::Unauthorized,
        ErrorCode::Revoked,
        ErrorCode::WipeOrdered,
        ErrorCode::Forbidden,
        ErrorCode::Locked,
        ErrorCode::RateLimited,
        ErrorCode::UpgradeRequired,
        ErrorCode::NotFound,
        ErrorCode::RangeNotSatisfiable,
        ErrorCode::NoSnapshotFile,
        ErrorCode::SnapshotSchemaMismatch,
        ErrorCode::Exists,
        ErrorCode::CodeUsed,
        ErrorCode::DeviceTaken,
        ErrorCode::RequestTaken,
        ErrorCode::TooManyOpenNumbers,
        ErrorCode::AlreadyDecided,
        ErrorCode::AlreadyVoided,
        ErrorCode::AlreadyHandedIn,
        ErrorCode::Deleted,
        ErrorCode::NotAssigned,
        ErrorCode::SameGrid,
        ErrorCode::CannotMove,
        ErrorCode::WipeUnderWay,
        ErrorCode::Invalid,
        ErrorCode::TooMany,
        ErrorCode::Io,
        ErrorCode::NotASpreadsheet,
        ErrorCode::MissingColumns,
        ErrorCode::DuplicateColumn,
        ErrorCode::Internal,
        ErrorCode::Unsupported,
        ErrorCode::Unavailable,
    ];

    /// The code as it is sent (what `serde` writes).
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadBody => "bad_body",
            ErrorCode::BadQuery => "bad_query",
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::UnsupportedProtocol => "unsupported_protocol",
            ErrorCode::InvalidBody => "invalid_body",
            ErrorCode::ContentType => "content_type",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::TooManyOps => "too_many_ops",
            ErrorCode::TooManyRows => "too_many_rows",
            ErrorCode::TooManyCells => "too_many_cells",
            ErrorCode::TooManyColumns => "too_many_columns",
            ErrorCode::HashMismatch => "hash_mismatch",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Revoked => "revoked",
            ErrorCode::WipeOrdered => "wipe_ordered",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Locked => "locked",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::UpgradeRequired => "upgrade_required",
            ErrorCode::NotFound => "not_found",
            ErrorCode::RangeNotSatisfiable => "range_not_satisfiable",
            ErrorCode::NoSnapshotFile => "no_snapshot_file",
            ErrorCode::SnapshotSchemaMismatch => "snapshot_schema_mismatch",
            ErrorCode::Exists => "exists",
            ErrorCode::CodeUsed => "code_used",
            ErrorCode::DeviceTaken => "device_taken",
            ErrorCode::RequestTaken => "request_taken",
            ErrorCode::TooManyOpenNumbers => "too_many_open_numbers",
            ErrorCode::AlreadyDecided => "already_decided",
            ErrorCode::AlreadyVoided => "already_voided",
            ErrorCode::AlreadyHandedIn => "already_handed_in",
            ErrorCode::Deleted => "deleted",
            ErrorCode::NotAssigned => "not_assigned",
            ErrorCode::SameGrid => "same_grid",
            ErrorCode::CannotMove => "cannot_move",
            ErrorCode::WipeUnderWay => "wipe_under_way",
            ErrorCode::Invalid => "invalid",
            ErrorCode::TooMany => "too_many",
            ErrorCode::Io => "io",
            ErrorCode::NotASpreadsheet => "not_a_spreadsheet",
            ErrorCode::MissingColumns => "missing_columns",
            ErrorCode::DuplicateColumn => "duplicate_column",
            ErrorCode::Internal => "internal",
            ErrorCode::Unsupported => "unsupported",
            ErrorCode::Unavailable => "unavailable",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod error_code_tests {
    use super::*;

    #[test]
    fn each_code_is_sent_as_its_text_and_read_back() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
        }
        let distinct: std::collections::HashSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(distinct.len(), ErrorCode::ALL.len());
    }

    #[test]
    fn the_snapshot_file_codes_are_the_ones_the_client_compares_with() {
        assert_eq!(ErrorCode::NoSnapshotFile.as_str(), SnapshotFileFacts::NO_FILE);
        assert_eq!(ErrorCode::SnapshotSchemaMismatch.as_str(), SnapshotFileFacts::SCHEMA_MISMATCH);
    }
}

/// A block of receipt numbers the server issued to one device, like a paper receipt book (收据本):
/// numbers `{prefix}{seq:03}` for `seq` in `first..=last`. The prefix names the book and is
/// unique on the server, so every number is. A device allocates only from its own blocks, offline;
/// the server rejects a number that is not in a block issued to the device that used it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReceiptBlock {
    /// The numbers' prefix, e.g. "SJ000012-": letters, digits and '-'.
    pub prefix: String,
    /// The first number of the block.
    pub first: u32,
    /// The last number, inclusive; at most 999, so that every number has three digits after the
    /// prefix.
    pub last: u32,
    /// When the server issued it, UTC ms.
    pub issued_at_ms: i64,
}

impl ReceiptBlock {
    /// Numbers one block holds, as the server issues them.
    pub const SIZE: u32 = 100;
    /// A device asks for a new block during sync when fewer numbers than this are left
    /// (docs/field.md, field work 4: DHIS2 refills its pool below 50).
    pub const REFILL_BELOW: u64 = 50;

    /// Whether the block is well formed: a usable prefix and `1 <= first <= last <= 999`.
    pub fn is_valid(&self) -> bool {
        !self.prefix.is_empty()
            && self.prefix.len() <= 32
            && self.prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && (1..=self.last).contains(&self.first)
            && self.last <= 999
    }

    /// How many numbers the block holds.
    pub fn len(&self) -> u32 {
        if self.first > self.last {
            0
        } else {
            self.last - self.first + 1
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The receipt number of `seq`, if the block holds it.
    pub fn number(&self, seq: u32) -> Option<String> {
        (self.first..=self.last).contains(&seq).then(|| format!("{}{seq:03}", self.prefix))
    }

    /// The sequence of a receipt number within this block, if the block holds exactly that number.
    pub fn seq_of(&self, receipt_no: &str) -> Option<u32> {
        let digits = receipt_no.strip_prefix(&self.prefix)?;
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let seq: u32 = digits.parse().ok()?;
        (self.first..=self.last).contains(&seq).then_some(seq)
    }

    pub fn contains(&self, receipt_no: &str) -> bool {
        self.seq_of(receipt_no).is_some()
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptBlockRequest {
    pub protocol: u32,
    /// Made by the device and kept until it has the block: a retried request gets the same block
    /// instead of a second one.
    pub request_id: Uuid,
    /// Numbers the device still has unused (for the back office; the server decides).
    pub numbers_left: u64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptBlockResponse {
    pub protocol: u32,
    pub block: ReceiptBlock,
}

/// The answer of `GET /v1/changes`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangesResponse<C = EntityState> {
    /// `true`: records of the device's grids after its cursor can be pulled now. `false`: none was
    /// seen within the wait — maybe there is one all the same (a write the server was not told
    /// of, handover removals): the client pulls either way, so that correctness never depends on
    /// this signal.
    pub changed: bool,
    /// Only when the device asked with `limit` and the answer is `changed: true`: the page
    /// `GET /v1/pull?cursor=…&limit=…` would have answered at that moment, so that the woken
    /// phone has the records without a second round trip. Older servers never send it (the phone
    /// then pulls as before); older phones never ask for it. (Missing reads as `None`.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<PullPage<C>>,
}

/// The public answer about a paper receipt. Always this shape, whatever the cause of a "no":
/// it says whether the receipt is genuine and, only then, the amount, the date and the grid.
/// No name, no account, no address.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyResponse {
    pub valid: bool,
    /// "valid", "voided" (genuine but cancelled with the back office's approval) or "invalid"
    /// (unknown number, wrong code, or a record that no longer matches its seal).
    pub status: String,
    pub receipt_no: String,
    pub amount_fen: Option<i64>,
    /// Local date of collection, YYYY-MM-DD.
    pub collected_on: Option<String>,
    pub grid_id: Option<String>,
}

impl VerifyResponse {
    /// The answer for anything that is not a genuine receipt: the same shape every time, so the
    /// answer does not tell a guesser which part was wrong.
    pub fn invalid(receipt_no: &str) -> Self {
        Self {
            valid: false,
            status: "invalid".into(),
            receipt_no: receipt_no.chars().take(40).collect(),
            amount_fen: None,
            collected_on: None,
            grid_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reject_code_this_device_does_not_know_reads_as_other_and_the_answer_stays_readable() {
        let answer = r#"{"protocol":1,"results":[{"op_id":"01a19eeb-8e80-7001-8001-000000000001","outcome":"rejected","code":"a_code_from_2030","reason":"新规则 a newer rule"}],"server_time_ms":1,"clock_offset_ms":0}"#;
        let read: PushResponse = serde_json::from_str(answer).unwrap();
        assert!(
            matches!(&read.results[0].outcome, OpOutcome::Rejected { code: RejectCode::Other, reason } if reason.contains("newer"))
        );
        assert_eq!(read.generation, None, "an answer of a server before generations");
    }

    /// Found by the fuzzer (pull_page): a number past u64 is read as a float, and serde_json's
    /// fast float parser may land one unit off, so that phone and server, each reading the other's
    /// text, would hold different values. `float_roundtrip` (workspace Cargo.toml) parses exactly.
    #[test]
    fn a_number_past_the_integers_reads_back_as_the_same_number() {
        let text = r#"{"kind":"visit","id":"v","values":{"appointment_at_ms":13333333333333333333333333333333333333333333333333333333333333333333333333700000000000}}"#;
        let first: EntityState = serde_json::from_str(text).unwrap();
        let again: EntityState = serde_json::from_slice(&serde_json::to_vec(&first).unwrap()).unwrap();
        assert_eq!(first, again);
    }

    #[test]
    fn a_stored_state_reads_back_as_the_entity_state_it_was_stored_from() {
        let mut values = Map::new();
        values.insert("customer_name".into(), Value::String("李娜 \"娜娜\"".into()));
        values.insert("services".into(), serde_json::json!([{"service_number": "0731-1"}]));
        let hlc = Hlc::new(1_700_000_000_000, 3, "abc");
        let mut clocks = BTreeMap::new();
        clocks.insert("customer_name".to_string(), Hlc::new(1_700_000_000_001, 0, "def"));
        for clocks in [BTreeMap::new(), clocks] {
            let state = EntityState {
                kind: EntityKind::Household,
                id: "h1".into(),
                values: values.clone(),
                base: Some(hlc.clone()),
                clocks,
            };
            let stored = StoredState {
                kind: state.kind,
                id: state.id.clone(),
                values: RawValue::from_string(serde_json::to_string(&state.values).unwrap()).unwrap(),
                base: state.base.as_ref().map(Hlc::to_string),
                clocks: RawValue::from_string(serde_json::to_string(&state.clocks).unwrap()).unwrap(),
            };
            let sent = PullPage {
                protocol: 1,
                changes: vec![stored],
                removals: vec![],
                handovers_complete: vec![],
                next_cursor: 7,
                has_more: false,
                remaining: 0,
                server_time_ms: 1,
                generation: None,
                update: None,
                policy: None,
                receipt: None,
            };
            let read: PullPage = serde_json::from_str(&serde_json::to_string(&sent).unwrap()).unwrap();
            assert_eq!(read.changes, vec![state]);
            assert_eq!((read.next_cursor, read.server_time_ms), (7, 1));
        }
    }

    #[test]
    fn snapshot_file_facts_travel_in_headers_and_a_bad_header_is_named() {
        let facts = SnapshotFileFacts {
            cursor: 1234,
            schema_version: 8,
            rows: 100_000,
            sha256: "ab".repeat(32),
            bytes: 52_428_800,
            newest_stamp: Some(Hlc::new(1_700_000_000_000, 2, "dev1")),
        };
        let headers = facts.headers();
        let get = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
        assert_eq!(SnapshotFileFacts::from_headers(get), Ok(facts.clone()));
        let without = |skip: &'static str| {
            let h: Vec<_> = headers.iter().filter(|(n, _)| *n != skip).cloned().collect();
            SnapshotFileFacts::from_headers(|name| h.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()))
        };
        assert!(without(SnapshotFileFacts::HEADER_ROWS).unwrap_err().contains("gridbook-snapshot-rows"));
        assert_eq!(without(SnapshotFileFacts::HEADER_NEWEST_STAMP).unwrap().newest_stamp, None);
        let bad = |name: &'static str, value: &'static str| {
            SnapshotFileFacts::from_headers(|n| if n == name { Some(value) } else { get(n) }).unwrap_err()
        };
        assert!(bad(SnapshotFileFacts::HEADER_SHA256, "xyz").contains("64 hex digits"));
        assert!(bad(SnapshotFileFacts::HEADER_CURSOR, "-1").contains("not a number"));
    }

    #[test]
    fn a_block_numbers_like_a_receipt_book() {
        let b = ReceiptBlock { prefix: "SJ000012-".into(), first: 1, last: 100, issued_at_ms: 0 };
        assert!(b.is_valid());
        assert_eq!(b.len(), 100);
        assert_eq!(b.number(1).as_deref(), Some("SJ000012-001"));
        assert_eq!(b.number(100).as_deref(), Some("SJ000012-100"));
        assert_eq!(b.number(0), None);
        assert_eq!(b.number(101), None);
        assert_eq!(b.seq_of("SJ000012-057"), Some(57));
        for bad in ["SJ000012-57", "SJ000012-0057", "SJ000012-101", "SJ000012-000", "SJ000013-001", "SJ000012-+12", ""]
        {
            assert!(!b.contains(bad), "{bad}");
        }
        assert!(!ReceiptBlock { first: 0, ..b.clone() }.is_valid());
        assert!(!ReceiptBlock { last: 1000, ..b.clone() }.is_valid());
        assert!(!ReceiptBlock { prefix: "SJ 1".into(), ..b.clone() }.is_valid());
        assert!(!ReceiptBlock { first: 5, last: 4, ..b }.is_valid());
    }
}
