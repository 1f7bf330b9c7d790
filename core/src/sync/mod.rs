//! Sync: how the device's copy and the server's log converge.
//!
//! The protocol's shared pieces come first, used by the device and the server alike: `wire` (the
//! types on the wire), `hlc` (the clock that stamps every change) and `merge` (the one merge rule,
//! per field by HLC, pure). On the device, `outbox` keeps every local change until the server
//! acknowledges it, `replica` hands out pending ops and applies what the server answers and sends,
//! and `client` runs the cycle over HTTP (push, settle, pull, backoff); `live` waits for the
//! server's live-change signal and takes the page it carries. `snapshot_file` is a fresh
//! phone's first sync as one prebuilt SQLite file. `scope` says what belongs together when a grid
//! or a building moves to another manager, and `scope_removal` removes a moved scope from the
//! phone; `references` lists every reference between records and the rule a new record meets.
//! `app_version` compares app versions and keeps the server's update offer and the phone's facts.
//! `receipt_profile` keeps how the server says this device's receipts print (seal fetched once).
//! `traffic` counts the day's bytes on the wire and knows the network the phone is on.
//! `wipe` carries out the back office's order to wipe the phone: upload, count, destroy, report.
//! `contract` (feature `openapi`) is the records' OpenAPI schemas and docs/record-kinds.md.
//! The device side writes through `store`; nothing here uses field/.

pub mod app_version;
pub mod client;
#[cfg(feature = "openapi")]
pub mod contract;
pub mod generation;
pub mod hlc;
pub mod live;
pub mod merge;
pub mod outbox;
pub mod photo_upload;
pub mod readable;
pub(crate) mod receipt_profile;
pub mod references;
pub mod replica;
pub mod scope;
pub(crate) mod scope_removal;
pub mod snapshot_file;
pub mod traffic;
pub mod wipe;
pub mod wire;
