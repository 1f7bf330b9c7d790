//! The workspace's own uniffi-bindgen (scripts/gen-bindings.sh runs it in library mode), so the
//! generator is always the uniffi version the library was built with.

fn main() {
    uniffi::uniffi_bindgen_main()
}
