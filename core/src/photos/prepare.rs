//! A camera or gallery picture made into a field photo: refused when too big or not a picture,
//! decoded, turned upright by its EXIF orientation, scaled down to at most 1600 px on its longer
//! side, watermarked and re-encoded as a JPEG at quality 80.
//!
//! The re-encoding is what strips the location: the output is written from pixels, so it holds no
//! EXIF, no GPS tags, no XMP and no maker notes of the original, only the JFIF header.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, RgbImage};

use super::decode::{check_input, decode_for_side};
use super::error::PhotoError;
use super::photo_sha256;
use super::watermark::{draw_watermark, Stamp, WatermarkFont};

/// The prepared photo's longer side at most.
pub const MAX_SIDE: u32 = 1600;
/// JPEG quality of the prepared photo: about 200–400 KB for a 1600 × 1200 field photo.
pub const JPEG_QUALITY: u8 = 80;

/// How to prepare; `Default` is the field photo the issue asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrepareOptions {
    pub max_side: u32,
    pub quality: u8,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions { max_side: MAX_SIDE, quality: JPEG_QUALITY }
    }
}

/// A prepared photo: the JPEG bytes and their address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedPhoto {
    pub jpeg: Vec<u8>,
    /// Lower-case hex SHA-256 of `jpeg`.
    pub sha256: String,
    pub width: u32,
    pub height: u32,
}

/// Prepares `raw` (JPEG or PNG) with the default options; `font_bytes` is the CJK font the receipt
/// image uses, parsed once per process for the same bytes ([`WatermarkFont::load`]).
pub fn prepare_photo(raw: &[u8], stamp: &Stamp, font_bytes: &[u8]) -> Result<PreparedPhoto, PhotoError> {
    // Refuse a wrong file before the (slow, the first time) font parse.
    check_input(raw)?;
    let font = WatermarkFont::load(font_bytes)?;
    prepare_photo_with(raw, stamp, &font, PrepareOptions::default())
}

/// Prepares `raw` with a loaded font and the given options.
pub fn prepare_photo_with(
    raw: &[u8],
    stamp: &Stamp,
    font: &WatermarkFont,
    options: PrepareOptions,
) -> Result<PreparedPhoto, PhotoError> {
    let max_side = options.max_side.max(1);
    let img = decode_for_side(raw, max_side)?;
    let mut rgb = downscale(img, max_side)?;
    draw_watermark(&mut rgb, stamp, font);
    let jpeg = encode_jpeg(&rgb, options.quality)?;
    Ok(PreparedPhoto { sha256: photo_sha256(&jpeg), width: rgb.width(), height: rgb.height(), jpeg })
}

/// RGB at most `max_side` on the longer side; a transparent PNG is laid on white (JPEG has no
/// alpha, and transparent pixels would otherwise come out black).
fn downscale(img: DynamicImage, max_side: u32) -> Result<RgbImage, PhotoError> {
    let rgb = flatten(img);
    let (w, h) = rgb.dimensions();
    if w.max(h) <= max_side {
        return Ok(rgb);
    }
    let scale = f64::from(max_side) / f64::from(w.max(h));
    let side = |n: u32| ((f64::from(n) * scale).round() as u32).clamp(1, max_side);
    let (nw, nh) = (side(w), side(h));
    // The triangle (bilinear) filter, widened by the scale as a downscale needs, on 8-bit RGB in
    // fixed point with SIMD (AVX2 / SSE4.1 / NEON): the `image` crate's resize widens every pixel
    // to RGBA in f32 first, and was a quarter of a photo's time (docs/benchmarks.md).
    let failed = |e: &dyn std::fmt::Display| PhotoError::Encode(format!("resize: {e}"));
    let src = ImageRef::new(w, h, rgb.as_raw(), PixelType::U8x3).map_err(|e| failed(&e))?;
    let mut dst = Image::new(nw, nh, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    Resizer::new().resize(&src, &mut dst, &options).map_err(|e| failed(&e))?;
    RgbImage::from_raw(nw, nh, dst.into_vec()).ok_or_else(|| failed(&"a short buffer"))
}

fn flatten(img: DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    let mut out = RgbImage::new(rgba.width(), rgba.height());
    for (o, p) in out.pixels_mut().zip(rgba.pixels()) {
        let a = u16::from(p.0[3]);
        for (oc, &c) in o.0.iter_mut().zip(&p.0[..3]) {
            *oc = ((u16::from(c) * a + 255 * (255 - a)) / 255) as u8;
        }
    }
    out
}

/// Baseline JPEG, 4:2:0 below quality 90 as cameras write it, through `jpeg-encoder` (its AVX2
/// colour conversion and DCT on x86-64): the `image` crate's encoder reads the picture pixel by
/// pixel through a generic view, keeps full-resolution chroma and was the largest single part of
/// a photo's time once decoding was scaled (docs/benchmarks.md).
fn encode_jpeg(rgb: &RgbImage, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let side = |n: u32| u16::try_from(n).map_err(|_| PhotoError::Encode(format!("{n} px is beyond JPEG's 65535")));
    let (w, h) = (side(rgb.width())?, side(rgb.height())?);
    let mut out = Vec::with_capacity(400 * 1024);
    jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100))
        .encode(rgb.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| PhotoError::Encode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::evidence::receipt_image::tests::font;
    use crate::photos::decode::{decode_bounded, MAX_INPUT_BYTES, MAX_INPUT_PIXELS};
    use crate::photos::jpeg_markers::jpeg_segments;
    use crate::photos::watermark::band_top;
    pub(crate) use crate::photos::watermark::tests::stamp;
    use image::{ImageFormat, Rgb, RgbImage};
    use std::io::Cursor;
    use std::sync::OnceLock;

    pub(crate) fn wm_font() -> &'static WatermarkFont {
        static F: OnceLock<WatermarkFont> = OnceLock::new();
        F.get_or_init(|| WatermarkFont::load(font()).unwrap())
    }

    pub(crate) fn jpeg_of(img: &RgbImage) -> Vec<u8> {
        encode_jpeg(img, 90).unwrap()
    }

    /// An EXIF block as a camera writes one: orientation `orient` and a GPS IFD with a latitude.
    fn exif_app1(orient: u16) -> Vec<u8> {
        let mut t = b"II*\0".to_vec();
        t.extend(8u32.to_le_bytes());
        // IFD0: Orientation, GPSInfo pointer.
        t.extend(2u16.to_le_bytes());
        t.extend([0x12, 0x01, 3, 0]);
        t.extend(1u32.to_le_bytes());
        t.extend(u32::from(orient).to_le_bytes());
        t.extend([0x25, 0x88, 4, 0]);
        t.extend(1u32.to_le_bytes());
        t.extend(38u32.to_le_bytes());
        t.extend(0u32.to_le_bytes());
        // GPS IFD at 38: GPSLatitudeRef "N".
        assert_eq!(t.len(), 38);
        t.extend(1u16.to_le_bytes());
        t.extend([0x01, 0x00, 2, 0]);
        t.extend(2u32.to_le_bytes());
        t.extend(*b"N\0\0\0");
        t.extend(0u32.to_le_bytes());
        let mut payload = b"Exif\0\0".to_vec();
        payload.extend(t);
        let mut seg = vec![0xFF, 0xE1];
        seg.extend(((payload.len() + 2) as u16).to_be_bytes());
        seg.extend(payload);
        seg
    }

    pub(crate) fn with_exif(jpeg: &[u8], orient: u16) -> Vec<u8> {
        let mut out = jpeg[..2].to_vec();
        out.extend(exif_app1(orient));
        out.extend(&jpeg[2..]);
        out
    }

    fn decode_rgb(jpeg: &[u8]) -> RgbImage {
        image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg).unwrap().into_rgb8()
    }

    #[test]
    fn orients_downscales_and_drops_every_tag() {
        // Stored landscape, left red and right blue, tagged "rotate 90° clockwise" with a GPS IFD.
        let src = RgbImage::from_fn(2400, 1800, |x, _| if x < 1200 { Rgb([220, 30, 30]) } else { Rgb([30, 30, 220]) });
        let raw = with_exif(&jpeg_of(&src), 6);
        let segs = jpeg_segments(&raw).unwrap();
        assert!(segs.iter().any(|s| s.is_exif()), "the input carries EXIF with GPS");

        let out = prepare_photo_with(&raw, &stamp(), wm_font(), PrepareOptions::default()).unwrap();
        assert_eq!((out.width, out.height), (1200, 1600), "upright and at most 1600 px");
        assert_eq!(out.sha256, crate::photos::photo_sha256(&out.jpeg));
        let segs = jpeg_segments(&out.jpeg).unwrap();
        assert!(segs.iter().all(|s| !s.is_exif() && !s.is_xmp()), "no EXIF or XMP left");
        // Only the JFIF header, tables, frame and scan: no APP1..APP15, no comment.
        assert!(
            segs.iter().all(|s| matches!(s.marker, 0xE0 | 0xDB | 0xC0 | 0xC4 | 0xDA)),
            "{:x?}",
            segs.iter().map(|s| s.marker).collect::<Vec<_>>()
        );
        let img = decode_rgb(&out.jpeg);
        assert_eq!(img.dimensions(), (1200, 1600));
        // Turned clockwise: the stored left (red) is now on top, the right (blue) below.
        let top = img.get_pixel(600, 300).0;
        let lower = img.get_pixel(600, 1100).0;
        assert!(top[0] > 180 && top[2] < 80, "{top:?}");
        assert!(lower[2] > 180 && lower[0] < 80, "{lower:?}");
    }

    #[test]
    fn small_photos_keep_their_size_and_png_alpha_lies_on_white() {
        let src = image::RgbaImage::from_pixel(800, 600, image::Rgba([0, 0, 0, 0]));
        let mut png = Vec::new();
        DynamicImage::ImageRgba8(src).write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
        let out = prepare_photo_with(&png, &stamp(), wm_font(), PrepareOptions::default()).unwrap();
        assert_eq!((out.width, out.height), (800, 600));
        let px = decode_rgb(&out.jpeg).get_pixel(400, 100).0;
        assert!(px.iter().all(|&c| c > 240), "transparent became white, not black: {px:?}");
    }

    /// Mean absolute difference per channel over rows `rows` of two same-size pictures.
    fn mean_diff(a: &RgbImage, b: &RgbImage, rows: std::ops::Range<u32>) -> f64 {
        let mut sum = 0u64;
        let mut n = 0u64;
        for y in rows {
            for x in 0..a.width() {
                for (p, q) in a.get_pixel(x, y).0.iter().zip(b.get_pixel(x, y).0.iter()) {
                    sum += u64::from(p.abs_diff(*q));
                    n += 1;
                }
            }
        }
        sum as f64 / n as f64
    }

    #[test]
    fn the_watermark_matches_a_reference_rendering_of_its_text() {
        // A plain gray picture: whatever differs from gray in the output is the watermark.
        let gray = Rgb([128, 128, 128]);
        let raw = jpeg_of(&RgbImage::from_pixel(2000, 1500, gray));
        let out = prepare_photo_with(&raw, &stamp(), wm_font(), PrepareOptions::default()).unwrap();
        let got = decode_rgb(&out.jpeg);
        if let Ok(dir) = std::env::var("GRIDBOOK_PHOTO_DIR") {
            // to look at: the JPEG as made, and decoded to PNG
            std::fs::write(format!("{dir}/watermarked.jpg"), &out.jpeg).unwrap();
            got.save(format!("{dir}/watermarked.png")).unwrap();
        }
        let (w, h) = got.dimensions();
        assert_eq!((w, h), (1600, 1200));
        let top = band_top(w, h);
        assert!(top > h / 2 && top < h - 100, "band {top}..{h}");

        let reference = |s: &Stamp| {
            let mut img = RgbImage::from_pixel(w, h, gray);
            draw_watermark(&mut img, s, wm_font());
            img
        };
        let same = mean_diff(&got, &reference(&stamp()), top..h);
        // Another manager and no fix: the same drawing code, other text.
        let mut other = stamp();
        other.manager = "李娜".into();
        other.fix = None;
        let differs = mean_diff(&got, &reference(&other), top..h);
        assert!(same < 2.0, "output vs its own reference: {same}");
        assert!(differs > 2.0 * same.max(0.5), "a stamp with other text must not match: {differs} vs {same}");
        // Above the band the picture is untouched (JPEG noise only); in the band there is white text.
        assert!(mean_diff(&got, &RgbImage::from_pixel(w, h, gray), 0..top) < 1.0);
        let white = (top..h).flat_map(|y| (0..w).map(move |x| (x, y))).filter(|&(x, y)| got.get_pixel(x, y).0[0] > 220);
        assert!(white.count() > 2_000, "the text is drawn in white");
    }

    #[test]
    fn refuses_what_is_not_a_photo_with_reasons() {
        let big = vec![0xFFu8; 50 * 1024 * 1024];
        let err = prepare_photo_with(&big, &stamp(), wm_font(), PrepareOptions::default()).unwrap_err();
        assert_eq!(err, PhotoError::TooLarge { size: 50 * 1024 * 1024, max: MAX_INPUT_BYTES as u64 });
        let text = err.to_string();
        assert!(text.contains("照片文件太大") && text.contains("too large"), "{text}");

        let err = prepare_photo(b"%PDF-1.7 not a picture", &stamp(), font()).unwrap_err();
        assert_eq!(err, PhotoError::NotAnImage);
        assert!(err.to_string().contains("不是照片") && err.to_string().contains("not a photo"));
        assert_eq!(decode_bounded(b"").unwrap_err(), PhotoError::NotAnImage);

        // A PNG signature and then rubbish: damaged, not a panic.
        let err = decode_bounded(b"\x89PNG\r\n\x1a\nrubbish rubbish rubbish").unwrap_err();
        assert!(matches!(err, PhotoError::Damaged(_)), "{err:?}");
        // A cut JPEG: damaged.
        let jpeg = jpeg_of(&RgbImage::from_pixel(64, 64, Rgb([1, 2, 3])));
        assert!(matches!(decode_bounded(&jpeg[..jpeg.len() / 2]), Err(PhotoError::Damaged(_))));
    }

    #[test]
    fn a_decompression_bomb_is_refused_by_its_header() {
        // A valid PNG declaring 20000 × 20000 pixels and almost no data: refused before allocating.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend(20_000u32.to_be_bytes());
        ihdr.extend(20_000u32.to_be_bytes());
        ihdr.extend([8, 2, 0, 0, 0]);
        // IHDR, then the start of the data (a few bytes of an IDAT) and the end.
        for chunk in [ihdr, b"IDAT\x78\x9c".to_vec(), b"IEND".to_vec()] {
            let mut crc = flate2::Crc::new();
            crc.update(&chunk);
            png.extend(((chunk.len() - 4) as u32).to_be_bytes());
            png.extend(&chunk);
            png.extend(crc.sum().to_be_bytes());
        }
        assert_eq!(
            decode_bounded(&png).unwrap_err(),
            PhotoError::TooManyPixels { width: 20_000, height: 20_000, max_pixels: MAX_INPUT_PIXELS }
        );
    }

    #[test]
    fn a_bad_font_is_a_typed_error() {
        let raw = jpeg_of(&RgbImage::from_pixel(64, 64, Rgb([1, 2, 3])));
        for bytes in [&b""[..], b"not a font"] {
            assert!(matches!(prepare_photo(&raw, &stamp(), bytes), Err(PhotoError::Font(_))));
        }
    }
}
