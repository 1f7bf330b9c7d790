//! A camera or gallery picture decoded upright within the byte and pixel bounds, and — for a JPEG
//! that is to be scaled down anyway — decoded at the smallest DCT scale (1/2, 1/4, 1/8) that still
//! leaves at least the target size: a 12-megapixel photo for a 1600 px field photo is decoded
//! to 2000 × 1500 in the inverse DCT itself, never to the 12 million pixels that would be thrown
//! away (docs/benchmarks.md, "Photos (issue 20) — preparing a photo").
//!
//! The header (size, EXIF orientation) is read by the `image` crate's decoder, which checks the
//! declared size before any pixel buffer exists; the scaled pixels come from `jpeg-decoder`, whose
//! `Decoder::scale` does the reduced IDCT (the full-size decoder, zune-jpeg, has no such option).

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};

use super::error::PhotoError;

/// The largest file accepted, checked before anything is decoded (a 12-megapixel camera JPEG is
/// 3–8 MB; a 50 MB "photo" is refused).
pub const MAX_INPUT_BYTES: usize = 20 * 1024 * 1024;
/// The most pixels decoded (a 50-megapixel camera; a decompression bomb declares far more).
pub const MAX_INPUT_PIXELS: u64 = 50_000_000;

/// The format of `raw` when it may be decoded: small enough, and JPEG or PNG by its signature.
pub(crate) fn check_input(raw: &[u8]) -> Result<ImageFormat, PhotoError> {
    if raw.len() > MAX_INPUT_BYTES {
        return Err(PhotoError::TooLarge { size: raw.len() as u64, max: MAX_INPUT_BYTES as u64 });
    }
    match image::guess_format(raw) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png)) => Ok(f),
        _ => Err(PhotoError::NotAnImage),
    }
}

fn damaged(e: impl std::fmt::Display) -> PhotoError {
    PhotoError::Damaged(e.to_string())
}

/// Decodes `raw` upright at full size, within the byte and pixel bounds: the declared size is
/// checked before any pixel buffer is allocated.
pub fn decode_bounded(raw: &[u8]) -> Result<DynamicImage, PhotoError> {
    decode_for_side(raw, u32::MAX)
}

/// Decodes `raw` upright, within the bounds, at no less than `max_side` on its longer side when
/// it is larger: a JPEG at the smallest DCT scale that keeps that size, a PNG (or a JPEG the scaled
/// decoder does not take, CMYK or 12-bit) whole. The caller scales the rest of the way.
pub fn decode_for_side(raw: &[u8], max_side: u32) -> Result<DynamicImage, PhotoError> {
    let format = check_input(raw)?;
    let mut decoder = ImageReader::with_format(Cursor::new(raw), format).into_decoder().map_err(damaged)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_INPUT_PIXELS {
        return Err(PhotoError::TooManyPixels { width, height, max_pixels: MAX_INPUT_PIXELS });
    }
    // A damaged orientation tag leaves the picture as it is stored rather than refusing it.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let scaled = if format == ImageFormat::Jpeg && width.max(height) / 2 >= max_side {
        decode_jpeg_scaled(raw, (width, height), max_side)?
    } else {
        None
    };
    let mut img = match scaled {
        Some(img) => img,
        None => DynamicImage::from_decoder(decoder).map_err(damaged)?,
    };
    img.apply_orientation(orientation);
    Ok(img)
}

/// The JPEG decoded in the IDCT at the smallest scale whose longer side is still ≥ `max_side`;
/// `None` for a pixel format the scaled path does not cover (the caller decodes it whole).
fn decode_jpeg_scaled(
    raw: &[u8],
    (width, height): (u32, u32),
    max_side: u32,
) -> Result<Option<DynamicImage>, PhotoError> {
    // The size asked for, on both sides in proportion: `scale` picks the smallest factor that
    // reaches it on either side, so the longer side stays ≥ `max_side`.
    let longer = u64::from(width.max(height));
    let want = |side: u32| u16::try_from((u64::from(side) * u64::from(max_side)).div_ceil(longer)).unwrap_or(u16::MAX);
    let mut jpeg = jpeg_decoder::Decoder::new(raw);
    let (w, h) = jpeg.scale(want(width), want(height)).map_err(damaged)?;
    let Some(info) = jpeg.info() else { return Ok(None) };
    let (w, h) = (u32::from(w), u32::from(h));
    let make: fn(u32, u32, Vec<u8>) -> Option<DynamicImage> = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => |w, h, px| RgbImage::from_raw(w, h, px).map(DynamicImage::ImageRgb8),
        jpeg_decoder::PixelFormat::L8 => |w, h, px| GrayImage::from_raw(w, h, px).map(DynamicImage::ImageLuma8),
        // CMYK (Adobe) and 12-bit: rare from a phone; the full decoder handles their colour.
        jpeg_decoder::PixelFormat::CMYK32 | jpeg_decoder::PixelFormat::L16 => return Ok(None),
    };
    let pixels = jpeg.decode().map_err(damaged)?;
    let got = pixels.len();
    make(w, h, pixels).map(Some).ok_or_else(|| damaged(format!("{got} pixel bytes for {w} × {h}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photos::prepare::tests::{jpeg_of, with_exif};
    use image::imageops::FilterType;
    use image::{GenericImageView, Rgb};

    /// Bands of colour across a wide picture, so a wrong scale or turn shows.
    fn wide(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, if (x / 50) % 2 == 0 { 40 } else { 200 }])
        })
    }

    #[test]
    fn a_large_jpeg_is_decoded_at_the_smallest_dct_scale_that_keeps_the_target() {
        let raw = jpeg_of(&wide(3400, 400));
        // 3400 / 2 = 1700 ≥ 1600 > 3400 / 4
        assert_eq!(decode_for_side(&raw, 1600).unwrap().dimensions(), (1700, 200));
        assert_eq!(decode_for_side(&raw, 800).unwrap().dimensions(), (850, 100));
        assert_eq!(decode_for_side(&raw, 300).unwrap().dimensions(), (425, 50), "1/8 at most");
        // not even half as large again as the target: decoded whole
        assert_eq!(decode_for_side(&raw, 1800).unwrap().dimensions(), (3400, 400));
        assert_eq!(decode_bounded(&raw).unwrap().dimensions(), (3400, 400));
        // turned by its EXIF tag after the scaled decode
        assert_eq!(decode_for_side(&with_exif(&raw, 6), 1600).unwrap().dimensions(), (200, 1700));
    }

    #[test]
    fn the_scaled_decode_looks_like_the_whole_decode_scaled_down() {
        let raw = jpeg_of(&wide(3400, 400));
        let scaled = decode_for_side(&raw, 1600).unwrap().into_rgb8();
        let whole = decode_bounded(&raw).unwrap().into_rgb8();
        let whole = image::imageops::resize(&whole, 1700, 200, FilterType::Triangle);
        let diff: u64 = scaled.as_raw().iter().zip(whole.as_raw()).map(|(a, b)| u64::from(a.abs_diff(*b))).sum::<u64>();
        let mean = diff as f64 / scaled.as_raw().len() as f64;
        assert!(mean < 2.0, "mean difference per channel {mean}");
    }

    #[test]
    fn a_grey_or_cut_jpeg_on_the_scaled_path() {
        let grey = image::GrayImage::from_fn(3400, 100, |x, _| image::Luma([(x % 256) as u8]));
        let mut raw = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut raw, 90).encode_image(&grey).unwrap();
        let img = decode_for_side(&raw, 1600).unwrap();
        assert_eq!((img.dimensions(), img.color()), ((1700, 50), image::ColorType::L8));
        // a cut file is damaged, not a panic and not a half-grey picture
        let cut = &raw[..raw.len() / 2];
        assert!(
            matches!(decode_for_side(cut, 1600), Err(PhotoError::Damaged(_))),
            "{:?}",
            decode_for_side(cut, 1600).map(|i| i.dimensions())
        );
    }
}
