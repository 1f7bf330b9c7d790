//! Clock stamps and the ids and numbers people type: `Hlc` text parses or is refused, what parses
//! prints back as the same text, and text order is stamp order (SQLite compares stamps as text);
//! the resident id, mobile and landline rules never panic and accept the same text twice alike.
#![no_main]

use gridbook_core::sync::hlc::{is_valid_node_id, Hlc};
use gridbook_core::validate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // two stamps in one input, split at the first newline, so their order can be compared
    let (first, second) = text.split_once('\n').unwrap_or((text, ""));
    let parsed: Vec<(Hlc, &str)> =
        [first, second].into_iter().filter_map(|t| Some((t.parse::<Hlc>().ok()?, t))).collect();
    for (stamp, source) in &parsed {
        assert!(is_valid_node_id(&stamp.node), "parsed a stamp with an invalid node {:?}", stamp.node);
        // one text per stamp: what parses is exactly what `Display` writes
        assert_eq!(&stamp.to_string(), source, "a stamp parsed from text it does not print");
    }
    let stamps: Vec<Hlc> = parsed.into_iter().map(|(s, _)| s).collect();
    if let [a, b] = &stamps[..] {
        let (ta, tb) = (a.to_string(), b.to_string());
        assert_eq!(a.cmp(b), ta.cmp(&tb), "stamp order differs from text order: {ta} vs {tb}");
    }
    for line in [first, second] {
        // a resident ID's check letter may be typed in either case
        let upper = line.to_ascii_uppercase();
        assert_eq!(validate::resident_id(line).is_ok(), validate::resident_id(&upper).is_ok(), "{line:?}");
        let _ = validate::mobile("mobile", line);
        let _ = validate::landline("landline", line);
        let node = is_valid_node_id(line);
        assert_eq!(
            node,
            !line.is_empty() && line.len() <= 64 && line.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        );
    }
});
