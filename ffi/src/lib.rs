//! Gridbook FFI.
