//! Signature strokes as a pushed signature record carries them (JSON): they decode or are refused,
//! what decodes round-trips, and a valid signature always has canonical bytes of the documented
//! size, a hash that survives the JSON round trip (the seal signs it), an SVG and a raster of the
//! pad's size — within the bounds `validate` sets (points, pad size, ink).
#![no_main]

use gridbook_core::evidence::{RenderOptions, Signature};
use gridbook_fuzz::decode_roundtrip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(signature) = decode_roundtrip::<Signature>(data) else { return };
    let _ = (signature.stats(), signature.flags());
    let valid = signature.validate();
    let bytes = signature.canonical_bytes();
    assert_eq!(valid.is_ok(), bytes.is_ok(), "canonical bytes disagree with validate: {valid:?}");
    let Ok(bytes) = bytes else { return };
    let points: usize = signature.strokes.iter().map(|s| s.points.len()).sum();
    let tag = b"gridbook-strokes/1\n".len();
    assert_eq!(bytes.len(), tag + 12 + 4 * signature.strokes.len() + 14 * points, "canonical bytes of the wrong size");
    let again: Signature = match serde_json::to_vec(&signature).map(|t| serde_json::from_slice(&t)) {
        Ok(Ok(again)) => again,
        _ => panic!("a valid signature does not round-trip"),
    };
    assert_eq!(signature.hash().ok(), again.hash().ok(), "the strokes hash changed through JSON");
    let opts = RenderOptions::default();
    if let Err(e) = signature.to_svg(&opts) {
        panic!("a valid signature has no SVG: {e}");
    }
    match signature.render_gray(&opts) {
        Ok(px) => assert_eq!(px.len(), signature.width as usize * signature.height as usize),
        Err(e) => panic!("a valid signature does not render: {e}"),
    }
});
