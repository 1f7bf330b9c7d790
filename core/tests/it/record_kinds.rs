//! docs/record-kinds.md is generated from core/src/model.rs: this test fails when the committed file
//! differs from what the code generates, and rewrites it when GRIDBOOK_WRITE_DOCS=1 is set.

use std::path::PathBuf;

use gridbook_core::sync::contract::record_kinds_markdown;

#[test]
fn docs_record_kinds_md_is_what_model_rs_generates() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/record-kinds.md");
    let generated = record_kinds_markdown();
    if std::env::var_os("GRIDBOOK_WRITE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/record-kinds.md");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/record-kinds.md differs from what core/src/model.rs generates; regenerate it with \
         GRIDBOOK_WRITE_DOCS=1 cargo test -p gridbook-core --test it record_kinds::"
    );
}
