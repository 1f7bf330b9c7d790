//! Gridbook sync server.
