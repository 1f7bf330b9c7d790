//! Photos as evidence: the phone's preparation of a camera or gallery picture (bounded decode,
//! orientation, downscale, watermark, re-encode without metadata) and its identity, the SHA-256
//! of the prepared bytes, by which facts and signed documents refer to it.
//!
//! Like `evidence/`, everything here is a pure function over bytes and values: no clock, no
//! database, no network. The caller passes the time, the manager, the grid, the address and the
//! position (or none) to stamp, and the CJK font the receipt image uses.
//!
//! Flow on the phone: `prepare_photo(raw, &stamp, font)` → a `PreparedPhoto` whose `sha256` goes
//! into the visit, the archive or the signed document, and whose `jpeg` is kept in the encrypted
//! store until it is uploaded.

pub mod decode;
pub mod error;
pub mod jpeg_markers;
pub mod prepare;
pub mod watermark;

pub use decode::{decode_bounded, decode_for_side, MAX_INPUT_BYTES, MAX_INPUT_PIXELS};
pub use error::PhotoError;
pub use jpeg_markers::{jpeg_segments, JpegSegment};
pub use prepare::{prepare_photo, prepare_photo_with, PrepareOptions, PreparedPhoto, JPEG_QUALITY, MAX_SIDE};
pub use watermark::{band_top, draw_watermark, watermark_lines, Fix, Stamp, WatermarkFont, CHINA_OFFSET_MIN};

// A photo's address lives with the evidence that names it (signed documents check their photo
// lists), so evidence never has to reach into the image code.
pub use crate::evidence::photo_address::{is_photo_sha256, photo_list_problem, photo_sha256};
