//! The core's integration tests as one binary: each file here is a module, its tests named
//! `<file>::<test>` (`cargo test -p gridbook-core --test it record_kinds::`). One binary rather
//! than one per file, which each compiled the same generics again and linked the core on its own.
//! A file added here runs only once it is declared below.

mod convergence;
mod encryption;
mod golden_v1;
mod location;
mod payment_ref;
mod photos;
mod receipt_copy;
mod receipt_document_versions;
mod receipts;
mod record_kinds;
mod references;
mod session;
mod store;
mod workday;
