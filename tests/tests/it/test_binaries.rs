//! Every file of the three crates' integration-test folders is declared in its `main.rs`: each
//! crate's integration tests are one binary (`tests/it`), and a file left undeclared there would
//! never be compiled nor run, silently.

use std::path::Path;

#[test]
fn every_integration_test_file_is_declared_in_its_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for folder in ["core/tests/it", "sync-server/tests/it", "tests/tests/it"] {
        let dir = root.join(folder);
        let main = std::fs::read_to_string(dir.join("main.rs")).expect("the binary's main.rs");
        let declared: Vec<&str> =
            main.lines().filter_map(|l| l.trim().strip_prefix("mod ")?.strip_suffix(';')).collect();
        let mut modules: Vec<String> = std::fs::read_dir(&dir)
            .expect("the folder")
            .map(|e| e.expect("an entry").path())
            .filter_map(|p| match p.is_dir() {
                true => p.join("mod.rs").exists().then(|| p.file_name()?.to_str().map(String::from)).flatten(),
                false => p.file_stem().filter(|_| p.extension().is_some_and(|e| e == "rs"))?.to_str().map(String::from),
            })
            .filter(|m| m != "main")
            .collect();
        modules.sort();
        assert!(!modules.is_empty(), "{folder} holds test files");
        let missing: Vec<&String> = modules.iter().filter(|m| !declared.contains(&m.as_str())).collect();
        assert!(missing.is_empty(), "{folder}: not declared in main.rs, so never run: {missing:?}");
    }
}
