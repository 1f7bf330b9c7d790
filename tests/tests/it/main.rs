//! The end-to-end tests as one binary: each file here is a module, its tests named `<file>::<test>`
//! (scripts/test-postgres.sh selects by these names). One binary rather than one per file, which
//! each compiled the same generics again and linked the whole server and core. A file added here
//! runs only once it is declared below (`test_binaries` fails on one left out, in all three crates).

mod app_versions;
mod backoffice_replicas;
mod crash;
mod crash_campaign;
mod demo;
mod encrypted_store;
mod faults;
mod handover;
mod live_changes;
mod migrate_to_postgres;
mod pg_pool;
mod pg_restart;
mod pg_restore;
mod photo_policy;
mod photos;
mod receipt_profile;
mod receipts;
mod reminders;
mod replicas;
mod restore;
mod server_device_convergence;
mod session_policy;
mod snapshot_file;
mod soak;
mod sync;
mod test_binaries;
mod transfer;
mod visit_locations;
mod wipe;
mod workday;
