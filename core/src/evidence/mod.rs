//! Signed on-site evidence: receipts and work orders, the customer's strokes, the device seal,
//! the verification code and the printable receipt.
//!
//! A signature is evidence, not a picture (lessons, "Field work" 5): we keep the raw strokes,
//! an image rendered from them, the signer's name and relation, the hash of exactly what was
//! signed, and the device's ed25519 signature over all of it. Everything here is a pure
//! function over values: no I/O, no clock, no database, so the back office can re-run the same
//! checks on what the phone uploaded.
//!
//! Flow on the phone: `ReceiptDocument::validate` → capture `Signature` → `Signature::validate`
//! and `flags()` (ask to sign again if implausible) → `seal::seal_receipt` → store the record
//! with the strokes → `printable::receipt_html` / `receipt_png`, or the whole receipt as a picture
//! with `receipt_image::receipt_image` (given a CJK font), and that picture for a Bluetooth
//! thermal printer with `escpos::receipt_escpos`. The back office runs
//! `seal::check_receipt` and `verify_code::check_verification_code`.

pub mod capitals;
pub mod document;
pub mod escpos;
mod hex;
pub mod photo_address;
pub mod printable;
pub mod qr;
pub mod receipt_image;
pub mod seal;
pub mod strokes;
pub mod verify_code;

pub use capitals::{capitals, format_yuan, AmountError};
pub use document::{DocumentError, ReceiptDocument, WorkOrderDocument};
pub use escpos::{receipt_escpos, EscPosError, Paper};
pub use printable::{receipt_copy_html, receipt_html, receipt_png, receipt_png_with_company, CustomerCopy, PrintError};
pub use receipt_image::{receipt_copy_image, receipt_image, ReceiptImageError};
pub use seal::{
    check_receipt, check_work_order, seal, seal_receipt, seal_work_order, verify, verify_message, DeviceKey,
    DeviceSigner, Relation, SealError, SignError, SignatureRecord,
};
pub use strokes::{Flag, Point, RenderOptions, Signature, Stroke, StrokeError, StrokeStats};
/// Lower-case hex of bytes (hashes, keys and signatures as they are stored and sent).
pub fn to_hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Reads exactly `N` bytes written as `2 × N` hex digits (either case).
pub fn from_hex<const N: usize>(s: &str) -> Result<[u8; N], String> {
    hex::decode::<N>(s)
}

pub use verify_code::{
    check_verification_code, parse_verification_code, verification_bits, verification_code, CodeError, CODE_BYTES,
};
