//! What the fuzz targets share: the properties every wire decoder must keep (what decodes,
//! re-encodes and decodes equal) and scratch directories that live for the whole fuzzing process.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Decodes `bytes` as `T` the way the server or the phone does (`serde_json::from_slice`). What
/// decodes must encode, and decode again to an equal value, whose encoding is the same text (the
/// encoding is canonical: a second round changes nothing).
pub fn decode_roundtrip<T>(bytes: &[u8]) -> Option<T>
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let value: T = serde_json::from_slice(bytes).ok()?;
    let text = match serde_json::to_vec(&value) {
        Ok(text) => text,
        Err(e) => panic!("{value:?} decoded but does not encode: {e}"),
    };
    let again: T = match serde_json::from_slice(&text) {
        Ok(again) => again,
        Err(e) => panic!("the encoding of a decoded value does not decode: {e}: {}", String::from_utf8_lossy(&text)),
    };
    assert_eq!(value, again, "decode(encode(x)) != x for {}", String::from_utf8_lossy(&text));
    let text_again = serde_json::to_vec(&again).ok();
    assert_eq!(Some(text), text_again, "encoding is not stable across a round trip");
    Some(value)
}

/// A directory of this fuzzing process's own, under the system's temporary directory (libFuzzer
/// ends with `exit`, so nothing removes it: scripts/test-fuzz.sh points `TMPDIR` at a directory it
/// removes).
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("gridbook-fuzz-{}", std::process::id()));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("no scratch directory {} for the fuzz target: {e}", dir.display());
        }
        dir
    })
}

pub mod spreadsheets;
