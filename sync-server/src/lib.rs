//! Gridbook's sync server: reconciles the phones' change logs (last writer wins per field, by
//! hybrid logical clock), stores on embedded SQLite by default, and serves the back office.
//!
//! The crate is four rooms (ARCHITECTURE.md, "Sync server"):
//! - `http`: the whole HTTP surface — `http::app(state)` is every route and layer, its one error
//!   type (`AppError`), the sync, receipt and snapshot-file endpoints, /metrics, the back office;
//! - `domain`: the rules that are neither HTTP nor SQL — reconciling ops, handovers, signed
//!   evidence, tiers, billing, the back office's own ops, privacy masks, spreadsheets;
//! - `storage`: the storage traits and their error type, and the embedded SQLite backend;
//! - `cli`: the binary's commands (serve, admin, demo); main.rs only parses its configuration.

pub mod cli;
pub mod domain;
pub mod http;
pub mod storage;

pub use domain::now_ms;
pub use domain::reconcile::Rules;
pub use http::error::{AppError, AppResult};
pub use http::state::AppState;
pub use http::{app, serve, shutdown_signal, MAX_BODY_BYTES, MAX_OPS_PER_PUSH};
pub use storage::postgres::PostgresStorage;
pub use storage::records::RecordStorage;
pub use storage::sqlite::SqliteStorage;
pub use storage::SyncStorage;

/// The server's memory allocator (main.rs and the benches that host the server install it): a
/// push allocates and frees some hundred small strings and map nodes per op, and the system
/// allocator spent a quarter of the push path's instructions on them.
pub type Allocator = mimalloc::MiMalloc;
