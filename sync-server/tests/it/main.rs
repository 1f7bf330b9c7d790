//! The server's integration tests as one binary: each file here is a module, its tests named
//! `<file>::<test>` (scripts/test-postgres.sh selects by these names), `common` the fixture they
//! share. One binary rather than one per file, which each compiled the same tokio, axum and serde
//! generics again and linked the whole server. A file added here runs only once declared below.

mod administration;
mod api;
mod app_versions;
mod backoffice;
mod backoffice_photos;
mod billing;
mod common;
mod connections;
mod directory;
mod enrolment;
mod error_shape;
mod golden_v1;
mod import_bounds;
mod login_throttle;
mod money;
mod openapi;
mod paging;
mod photos;
mod public_check;
mod push_batches;
mod references;
mod shared_state;
mod sync_core;
mod transfer;
mod wipes;
mod workbench;
