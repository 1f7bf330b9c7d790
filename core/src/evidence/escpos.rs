//! The customer's receipt on a portable Bluetooth thermal printer (ESC/POS, 58 mm or 80 mm paper,
//! the kind collectors carry): the receipt image (`receipt_image`) scaled to the paper's dots,
//! thresholded to black and white, and sent as `GS v 0` raster bit images; a reprint carries a
//! "副本 / COPY" bar at its top and bottom.
//!
//! Raster rather than text commands: printers differ in their Chinese character sets (GB18030,
//! Big5, `FS &` on or off) while every ESC/POS printer prints `GS v 0`, and the paper then shows
//! exactly the page the customer saw on the phone and in the shared image.
//!
//! The byte stream: `ESC @` (initialise), the picture as `GS v 0 0 xL xH yL yH d…` bands of at
//! most [`BAND_ROWS`] rows (small printers have small buffers; raster bands print without gaps),
//! then `ESC d n` to feed the paper past the tear bar. One bit a dot, 1 = black, the leftmost dot
//! in the high bit, `xL + 256·xH` bytes a row.

use fontdue::Font;
use thiserror::Error;

use super::receipt_image::load_font;

/// The paper the printer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    /// 58 mm paper: 384 dots a line at 203 dpi (48 mm printed).
    Mm58,
    /// 80 mm paper: 576 dots a line at 203 dpi (72 mm printed).
    Mm80,
}

impl Paper {
    /// Dots in one printed line.
    pub const fn dots(self) -> u32 {
        match self {
            Paper::Mm58 => 384,
            Paper::Mm80 => 576,
        }
    }
}

/// Rows in one `GS v 0` command: under 256 so `yH` is 0, which every printer takes.
pub const BAND_ROWS: u32 = 240;
/// Lines fed after the picture, to bring it past the tear bar.
pub const FEED_LINES: u8 = 4;
/// A source pixel darker than this (0 black … 255 white), averaged over the dot it falls in,
/// prints black. Well above the middle grey on purpose: the receipt's grey labels (ink 0x55)
/// thin out when scaled to 58 mm and were unreadable at 160; at 200 they and the rules print and
/// the signature's light frame (0xcc) does not (looked at: GRIDBOOK_RECEIPT_IMAGE_DIR below).
pub const THRESHOLD: u8 = 200;
/// White columns cut from each side of the receipt image before scaling: the page has 40 px
/// margins for the screen, the paper has its own, and every column kept makes the text smaller.
pub const RECEIPT_SIDE_TRIM: u32 = 32;
/// The tallest picture sent (2.5 m of paper at 8 dots a mm).
pub const MAX_ROWS: u32 = 20_000;
/// The widest picture taken (dots or source pixels).
pub const MAX_WIDTH: u32 = 4_096;

/// The words of a reprint's bar.
pub const COPY_MARK: &str = "副本 / COPY";
const BAR_MARGIN: u32 = 8;
const BAR_HEIGHT: u32 = 44;
const BAR_TEXT_PX: f32 = 30.0;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EscPosError {
    #[error("the receipt image cannot be read: {0}")]
    Image(String),
    #[error("the font cannot be used for the copy mark: {0}")]
    Font(String),
    #[error(
        "a raster is 8 to {MAX_WIDTH} dots wide in whole bytes and 1 to {MAX_ROWS} rows high, not {width}×{height}"
    )]
    Size { width: u32, height: u32 },
}

/// A black-and-white picture as the printer takes it: `width / 8` bytes a row, the leftmost dot
/// in the high bit, 1 = black.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raster {
    width: u32,
    height: u32,
    bits: Vec<u8>,
}

impl Raster {
    /// A white raster; `width` a multiple of 8.
    pub fn new(width: u32, height: u32) -> Result<Self, EscPosError> {
        if width == 0 || width & 7 != 0 || width > MAX_WIDTH || height == 0 || height > MAX_ROWS {
            return Err(EscPosError::Size { width, height });
        }
        Ok(Raster { width, height, bits: vec![0; (width / 8 * height) as usize] })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes in one row.
    pub fn row_bytes(&self) -> usize {
        (self.width / 8) as usize
    }

    /// The packed rows, top to bottom.
    pub fn bits(&self) -> &[u8] {
        &self.bits
    }

    pub fn is_black(&self, x: u32, y: u32) -> bool {
        x < self.width && y < self.height && self.bits[self.index(x, y)] & (0x80 >> (x % 8)) != 0
    }

    fn index(&self, x: u32, y: u32) -> usize {
        y as usize * self.row_bytes() + (x / 8) as usize
    }

    fn paint(&mut self, x: u32, y: u32, black: bool) {
        if x >= self.width || y >= self.height {
            return;
        }
        let (i, bit) = (self.index(x, y), 0x80u8 >> (x % 8));
        if black {
            self.bits[i] |= bit;
        } else {
            self.bits[i] &= !bit;
        }
    }

    /// `self` with `other` (as wide) below it.
    fn stacked(mut self, other: &Raster) -> Result<Raster, EscPosError> {
        let height = self.height + other.height;
        if other.width != self.width || height > MAX_ROWS {
            return Err(EscPosError::Size { width: other.width, height });
        }
        self.bits.extend_from_slice(&other.bits);
        self.height = height;
        Ok(self)
    }
}

/// The printer's byte stream for `raster`: initialise, the picture in bands, feed.
pub fn escpos_commands(raster: &Raster) -> Vec<u8> {
    let row = raster.row_bytes();
    let mut out = Vec::with_capacity(raster.bits.len() + 16 + 8 * (raster.height / BAND_ROWS + 1) as usize);
    out.extend_from_slice(&[0x1B, 0x40]);
    let [x_lo, x_hi, ..] = (row as u32).to_le_bytes();
    for band in raster.bits.chunks(row * BAND_ROWS as usize) {
        let [y_lo, y_hi, ..] = ((band.len() / row) as u32).to_le_bytes();
        out.extend_from_slice(&[0x1D, 0x76, 0x30, 0x00, x_lo, x_hi, y_lo, y_hi]);
        out.extend_from_slice(band);
    }
    out.extend_from_slice(&[0x1B, 0x64, FEED_LINES]);
    out
}

/// A grey picture (`width × height`, one byte a pixel, 0 black) scaled to `dots` wide by the
/// average of the area each dot covers, keeping its proportions; returns the pixels and the
/// new height. Integer arithmetic throughout, so every platform prints the same dots.
pub fn scale_gray(gray: &[u8], width: u32, height: u32, dots: u32) -> Result<(Vec<u8>, u32), EscPosError> {
    let size_err = EscPosError::Size { width, height };
    if width == 0 || height == 0 || width > MAX_WIDTH || dots == 0 || dots > MAX_WIDTH {
        return Err(size_err);
    }
    if gray.len() != width as usize * height as usize {
        return Err(EscPosError::Image(format!("{} bytes for {width}×{height} pixels", gray.len())));
    }
    // Rows in the same proportion as the columns, rounded.
    let rows = ((u64::from(height) * u64::from(dots) + u64::from(width) / 2) / u64::from(width)).max(1);
    let rows = u32::try_from(rows).ok().filter(|&r| r <= MAX_ROWS).ok_or(size_err)?;
    let xs = spans(width, dots);
    let ys = spans(height, rows);
    // Across: each source row to `dots` sums, each weighted by the overlap (total weight `width`).
    let mut across = vec![0u64; height as usize * dots as usize];
    for (src, out) in gray.chunks(width as usize).zip(across.chunks_mut(dots as usize)) {
        for (cell, span) in out.iter_mut().zip(&xs) {
            *cell = span.iter().map(|&(i, w)| u64::from(src[i as usize]) * u64::from(w)).sum();
        }
    }
    // Down: the weighted rows (total weight `height`), then the average over the whole area.
    let area = u64::from(width) * u64::from(height);
    let mut px = vec![0u8; rows as usize * dots as usize];
    for (out, span) in px.chunks_mut(dots as usize).zip(&ys) {
        for (x, cell) in out.iter_mut().enumerate() {
            let sum: u64 = span.iter().map(|&(j, w)| across[j as usize * dots as usize + x] * u64::from(w)).sum();
            *cell = u8::try_from((sum + area / 2) / area).unwrap_or(u8::MAX);
        }
    }
    Ok((px, rows))
}

/// For each of `to` cells over `from` source cells: the source cells it covers and by how much,
/// in units of 1/`to` of a source cell (so the weights of a cell add up to `from`).
fn spans(from: u32, to: u32) -> Vec<Vec<(u32, u32)>> {
    (0..to)
        .map(|k| {
            let (start, end) = (u64::from(k) * u64::from(from), u64::from(k + 1) * u64::from(from));
            let (first, last) = (start / u64::from(to), (end - 1) / u64::from(to));
            (first..=last)
                .map(|i| {
                    let (lo, hi) = (i * u64::from(to), (i + 1) * u64::from(to));
                    (i as u32, (end.min(hi) - start.max(lo)) as u32)
                })
                .collect()
        })
        .collect()
}

/// Black where the grey is darker than [`THRESHOLD`].
pub fn threshold(gray: &[u8], width: u32, height: u32) -> Result<Raster, EscPosError> {
    let mut r = Raster::new(width, height)?;
    if gray.len() != width as usize * height as usize {
        return Err(EscPosError::Image(format!("{} bytes for {width}×{height} pixels", gray.len())));
    }
    for (y, row) in gray.chunks(width as usize).enumerate() {
        for (x, &v) in row.iter().enumerate() {
            if v < THRESHOLD {
                r.paint(x as u32, y as u32, true);
            }
        }
    }
    Ok(r)
}

/// A greyscale PNG (the receipt image) as pixels: width, height, one byte a pixel.
pub fn decode_gray_png(png_bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), EscPosError> {
    let err = |e: png::DecodingError| EscPosError::Image(e.to_string());
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    // Our receipt pages are at most 8,000 rows of 720; refuse a picture that would not fit.
    decoder.set_limits(png::Limits { bytes: (MAX_WIDTH as usize) * (MAX_ROWS as usize) });
    let mut reader = decoder.read_info().map_err(err)?;
    let info = reader.info();
    let (width, height) = (info.width, info.height);
    if info.color_type != png::ColorType::Grayscale || info.bit_depth != png::BitDepth::Eight {
        return Err(EscPosError::Image(format!(
            "expected an 8-bit greyscale page, got {:?} at {:?}",
            info.color_type, info.bit_depth
        )));
    }
    if width > MAX_WIDTH || height > MAX_ROWS {
        return Err(EscPosError::Size { width, height });
    }
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).map_err(err)?;
    buf.truncate(frame.buffer_size());
    Ok((width, height, buf))
}

/// The receipt image (`receipt_image`'s PNG) as a raster for `paper`: side margins trimmed
/// ([`RECEIPT_SIDE_TRIM`]), scaled to the paper's dots, thresholded.
pub fn receipt_raster(receipt_png: &[u8], paper: Paper) -> Result<Raster, EscPosError> {
    let (width, height, gray) = decode_gray_png(receipt_png)?;
    let trim = if width > 4 * RECEIPT_SIDE_TRIM { RECEIPT_SIDE_TRIM } else { 0 };
    let kept = width - 2 * trim;
    let cropped: Vec<u8> =
        gray.chunks(width as usize).flat_map(|row| &row[trim as usize..(trim + kept) as usize]).copied().collect();
    let (scaled, rows) = scale_gray(&cropped, kept, height, paper.dots())?;
    threshold(&scaled, paper.dots(), rows)
}

/// `raster` between two "副本 / COPY" bars: black, the width of the paper less a margin, the
/// words in white. A reprint is never mistaken for the customer's original.
pub fn with_copy_mark(raster: &Raster, font: &Font) -> Result<Raster, EscPosError> {
    let bar = copy_bar(raster.width, font)?;
    bar.clone().stacked(raster)?.stacked(&bar)
}

fn copy_bar(width: u32, font: &Font) -> Result<Raster, EscPosError> {
    let mut r = Raster::new(width, BAR_HEIGHT + 2 * BAR_MARGIN)?;
    for y in BAR_MARGIN..BAR_MARGIN + BAR_HEIGHT {
        for x in BAR_MARGIN..width.saturating_sub(BAR_MARGIN) {
            r.paint(x, y, true);
        }
    }
    let text_width: f32 = COPY_MARK.chars().map(|c| font.metrics(c, BAR_TEXT_PX).advance_width).sum();
    let (ascent, descent) = font
        .horizontal_line_metrics(BAR_TEXT_PX)
        .map_or((BAR_TEXT_PX * 0.88, -BAR_TEXT_PX * 0.12), |m| (m.ascent, m.descent));
    let baseline = BAR_MARGIN as f32 + (BAR_HEIGHT as f32 + ascent + descent) / 2.0;
    let mut pen = ((width as f32 - text_width) / 2.0).max(0.0);
    for c in COPY_MARK.chars() {
        let (m, cover) = font.rasterize(c, BAR_TEXT_PX);
        let left = pen.round() as i64 + i64::from(m.xmin);
        let top = baseline.round() as i64 - i64::from(m.ymin) - m.height as i64;
        for (row, line) in cover.chunks(m.width.max(1)).enumerate() {
            for (col, &a) in line.iter().enumerate() {
                let (x, y) = (left + col as i64, top + row as i64);
                if a >= 128 && x >= 0 && y >= 0 {
                    r.paint(x as u32, y as u32, false);
                }
            }
        }
        pen += m.advance_width;
    }
    Ok(r)
}

/// The printer's bytes for the receipt image on `paper`; `reprint` adds the copy bars, drawn
/// with `font_bytes` (a CJK font, as for the image; unused for the original).
pub fn receipt_escpos(
    receipt_png: &[u8],
    paper: Paper,
    reprint: bool,
    font_bytes: &[u8],
) -> Result<Vec<u8>, EscPosError> {
    let raster = receipt_raster(receipt_png, paper)?;
    let raster = if reprint {
        let font = load_font(font_bytes).map_err(|e| EscPosError::Font(e.to_string()))?;
        with_copy_mark(&raster, &font)?
    } else {
        raster
    };
    Ok(escpos_commands(&raster))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::document::tests::receipt;
    use crate::evidence::receipt_image::{receipt_image, PAGE_WIDTH};
    use crate::evidence::seal::{seal_receipt, DeviceKey, Relation};
    use crate::evidence::strokes::tests::sample;
    use std::sync::OnceLock;

    /// Debian's fonts-noto-cjk, as the receipt image's tests read it.
    fn font_bytes() -> &'static [u8] {
        crate::evidence::receipt_image::tests::font()
    }

    /// The receipt page as the phone draws it.
    fn receipt_png() -> &'static [u8] {
        static PNG: OnceLock<Vec<u8>> = OnceLock::new();
        PNG.get_or_init(|| {
            let (doc, sig) = (receipt(), sample());
            let rec = seal_receipt(&doc, &sig, "王芳", Relation::Householder, "h1", &DeviceKey::from_bytes(&[7; 32]))
                .unwrap();
            receipt_image(&doc, &sig, &rec, "中国电信 幸福里营业部", font_bytes()).unwrap()
        })
    }

    /// One `GS v 0` band as a printer reads it.
    #[derive(Debug)]
    struct Band {
        row_bytes: usize,
        rows: usize,
        data: Vec<u8>,
    }

    /// Reads a byte stream the way a printer does: `ESC @`, bands, `ESC d n`; anything else fails.
    fn parse(bytes: &[u8]) -> (Vec<Band>, u8) {
        assert_eq!(&bytes[..2], &[0x1B, 0x40], "starts with ESC @");
        let mut at = 2;
        let mut bands = Vec::new();
        loop {
            match &bytes[at..] {
                [0x1D, 0x76, 0x30, m, xl, xh, yl, yh, ..] => {
                    assert_eq!(*m, 0, "normal density");
                    let row_bytes = usize::from(*xl) + 256 * usize::from(*xh);
                    let rows = usize::from(*yl) + 256 * usize::from(*yh);
                    let data = bytes[at + 8..at + 8 + row_bytes * rows].to_vec();
                    at += 8 + row_bytes * rows;
                    bands.push(Band { row_bytes, rows, data });
                }
                [0x1B, 0x64, n] => return (bands, *n),
                rest => panic!("unexpected bytes at {at}: {:02x?}", &rest[..rest.len().min(8)]),
            }
        }
    }

    /// The bands' dots as rows of booleans (true = black), decoded bit by bit.
    fn dots(bands: &[Band]) -> Vec<Vec<bool>> {
        bands
            .iter()
            .flat_map(|b| b.data.chunks(b.row_bytes))
            .map(|row| row.iter().flat_map(|byte| (0..8).map(move |bit| byte & (0x80 >> bit) != 0)).collect())
            .collect()
    }

    #[test]
    fn a_small_raster_is_these_exact_bytes() {
        // 16 × 3: a left-edge dot, a right-edge dot, a full row.
        let mut r = Raster::new(16, 3).unwrap();
        r.paint(0, 0, true);
        r.paint(15, 1, true);
        for x in 0..16 {
            r.paint(x, 2, true);
        }
        assert_eq!(
            escpos_commands(&r),
            vec![
                0x1B, 0x40, // ESC @
                0x1D, 0x76, 0x30, 0x00, 0x02, 0x00, 0x03, 0x00, // GS v 0, 2 bytes × 3 rows
                0x80, 0x00, 0x00, 0x01, 0xFF, 0xFF, // the rows
                0x1B, 0x64, 0x04, // ESC d 4
            ]
        );
    }

    #[test]
    fn tall_pictures_go_in_bands_of_at_most_240_rows() {
        let mut r = Raster::new(384, 500).unwrap();
        for y in 0..500 {
            r.paint(y % 384, y, true);
        }
        let bytes = escpos_commands(&r);
        let (bands, feed) = parse(&bytes);
        assert_eq!(feed, FEED_LINES);
        assert_eq!(bands.iter().map(|b| (b.row_bytes, b.rows)).collect::<Vec<_>>(), [(48, 240), (48, 240), (48, 20)]);
        let decoded = dots(&bands);
        assert_eq!(decoded.len(), 500);
        for (y, row) in decoded.iter().enumerate() {
            assert_eq!(row.iter().filter(|&&b| b).count(), 1);
            assert!(row[y % 384], "row {y}");
        }
        assert_eq!(bytes.len(), 2 + 3 * 8 + 48 * 500 + 3);
    }

    #[test]
    fn halving_averages_two_by_two_blocks() {
        // 768 × 4 → 384 × 2. Top half: 2×2 blocks alternately black and white. Bottom half: one
        // black source column in every four, so every other block is half black: 127.5, rounded to
        // 128, darker than THRESHOLD, so a thin line still prints.
        let (w, h) = (768u32, 4u32);
        let mut gray = vec![255u8; (w * h) as usize];
        for y in 0..2 {
            for x in 0..w {
                if (x / 2) % 2 == 0 {
                    gray[(y * w + x) as usize] = 0;
                }
            }
        }
        for y in 2..4 {
            for x in (0..w).step_by(4) {
                gray[(y * w + x) as usize] = 0;
            }
        }
        let (scaled, rows) = scale_gray(&gray, w, h, 384).unwrap();
        assert_eq!(rows, 2);
        for x in 0..384usize {
            assert_eq!(scaled[x], if x % 2 == 0 { 0 } else { 255 }, "top x={x}");
            assert_eq!(scaled[384 + x], if x % 2 == 0 { 128 } else { 255 }, "bottom x={x}");
        }
        let r = threshold(&scaled, 384, 2).unwrap();
        assert!(r.is_black(0, 0) && !r.is_black(1, 0) && r.is_black(2, 1) && !r.is_black(3, 1));
    }

    #[test]
    fn scaling_by_a_fraction_weighs_each_pixel_by_its_overlap() {
        // 5 → 2: dot 0 covers pixels 0, 1 and half of 2; dot 1 the other half of 2, then 3 and 4.
        let gray = [0u8, 0, 100, 255, 255];
        let (scaled, rows) = scale_gray(&gray, 5, 1, 2).unwrap();
        assert_eq!(rows, 1);
        // (0 + 0 + 100 × 0.5) / 2.5 = 20; (100 × 0.5 + 255 + 255) / 2.5 = 224
        assert_eq!(scaled, vec![20, 224]);
        // A picture never blows up the paper: the height follows the width's proportion.
        assert_eq!(scale_gray(&vec![255; 720 * 1000], 720, 1000, 576).unwrap().1, 800);
        assert!(matches!(scale_gray(&[0; 3], 2, 2, 2), Err(EscPosError::Image(_))));
        assert!(matches!(scale_gray(&[], 0, 0, 384), Err(EscPosError::Size { .. })));
    }

    /// The receipt, decoded from the printer's bytes, is the receipt image thresholded at the
    /// paper's width: exactly the module's own scaling, and within a few dots of an independent
    /// floating-point box filter.
    #[test]
    fn the_receipt_prints_as_its_image_at_both_paper_widths() {
        let (w, h, src) = decode_gray_png(receipt_png()).unwrap();
        assert_eq!(w, PAGE_WIDTH);
        for paper in [Paper::Mm58, Paper::Mm80] {
            let dots_wide = paper.dots() as usize;
            let bytes = receipt_escpos(receipt_png(), paper, false, &[]).unwrap();
            let (bands, _) = parse(&bytes);
            assert!(bands.iter().all(|b| b.row_bytes == dots_wide / 8 && b.rows <= BAND_ROWS as usize));
            let printed = dots(&bands);
            let kept = (w - 2 * RECEIPT_SIDE_TRIM) as usize;
            let rows = (h as usize * dots_wide + kept / 2) / kept;
            assert_eq!(printed.len(), rows, "{paper:?}");
            assert!(printed.iter().all(|r| r.len() == dots_wide));
            if let Ok(dir) = std::env::var("GRIDBOOK_RECEIPT_IMAGE_DIR") {
                // what the paper will show, to look at
                let gray: Vec<u8> = printed.iter().flatten().map(|&b| if b { 0 } else { 255 }).collect();
                let mut out = Vec::new();
                let mut enc = png::Encoder::new(&mut out, dots_wide as u32, rows as u32);
                enc.set_color(png::ColorType::Grayscale);
                enc.write_header().unwrap().write_image_data(&gray).unwrap();
                std::fs::write(format!("{dir}/escpos-{}.png", paper.dots()), out).unwrap();
            }

            // exactly: crop, scale, threshold
            let cropped: Vec<u8> = src
                .chunks(w as usize)
                .flat_map(|r| r[RECEIPT_SIDE_TRIM as usize..RECEIPT_SIDE_TRIM as usize + kept].to_vec())
                .collect();
            let (scaled, _) = scale_gray(&cropped, kept as u32, h, paper.dots()).unwrap();
            let expected: Vec<Vec<bool>> =
                scaled.chunks(dots_wide).map(|r| r.iter().map(|&v| v < THRESHOLD).collect()).collect();
            assert_eq!(printed, expected, "{paper:?}");

            // independently: a box filter in floating point over the same area
            let scale = kept as f64 / dots_wide as f64;
            let vscale = h as f64 / rows as f64;
            let mut differ = 0usize;
            for (y, row) in printed.iter().enumerate() {
                for (x, &black) in row.iter().enumerate() {
                    let (x0, x1) = (x as f64 * scale, (x + 1) as f64 * scale);
                    let (y0, y1) = (y as f64 * vscale, (y + 1) as f64 * vscale);
                    let (mut sum, mut area) = (0.0, 0.0);
                    for sy in y0.floor() as usize..(y1.ceil() as usize).min(h as usize) {
                        let oy = (y1.min(sy as f64 + 1.0) - y0.max(sy as f64)).max(0.0);
                        for sx in x0.floor() as usize..(x1.ceil() as usize).min(kept) {
                            let ox = (x1.min(sx as f64 + 1.0) - x0.max(sx as f64)).max(0.0);
                            sum += f64::from(cropped[sy * kept + sx]) * ox * oy;
                            area += ox * oy;
                        }
                    }
                    if (sum / area < f64::from(THRESHOLD)) != black {
                        differ += 1;
                    }
                }
            }
            let total = rows * dots_wide;
            assert!(differ * 1000 < total, "{paper:?}: {differ} of {total} dots differ from the reference");
            // and the page has ink: the header, the amounts, the signature, the code
            let black = printed.iter().flatten().filter(|&&b| b).count();
            assert!(black * 100 > total && black * 5 < total, "{paper:?}: {black} of {total} dots black");
        }
    }

    #[test]
    fn a_reprint_is_the_same_receipt_between_two_copy_bars() {
        for paper in [Paper::Mm58, Paper::Mm80] {
            let (original, _) = parse(&receipt_escpos(receipt_png(), paper, false, &[]).unwrap());
            let (reprint, _) = parse(&receipt_escpos(receipt_png(), paper, true, font_bytes()).unwrap());
            let (original, reprint) = (dots(&original), dots(&reprint));
            let bar = (BAR_HEIGHT + 2 * BAR_MARGIN) as usize;
            assert_eq!(reprint.len(), original.len() + 2 * bar);
            assert_eq!(&reprint[bar..bar + original.len()], &original[..], "{paper:?}: the receipt itself unchanged");
            assert_eq!(&reprint[..bar], &reprint[bar + original.len()..], "{paper:?}: the same bar below");
            // the bar: white margin, then mostly black rows with white letters in the middle
            let width = paper.dots() as usize;
            assert!(reprint[0].iter().all(|&b| !b));
            let bar_rows = &reprint[BAR_MARGIN as usize..(BAR_MARGIN + BAR_HEIGHT) as usize];
            let ink = |row: &Vec<bool>| row.iter().filter(|&&b| b).count();
            assert!(ink(&bar_rows[1]) == width - 2 * BAR_MARGIN as usize, "the bar's top edge is solid");
            let middle = &bar_rows[bar_rows.len() / 2];
            assert!(ink(middle) < width - 2 * BAR_MARGIN as usize - 20, "{paper:?}: the words cut the bar");
            let first_white = (BAR_MARGIN as usize..width).find(|&x| !middle[x]).unwrap();
            assert!(first_white > width / 4 && first_white < width / 2, "{paper:?}: centred, starts at {first_white}");
            // the original has no such bar: its first rows are white margin and then text
            assert!(original.iter().take(bar).all(|row| ink(row) < width / 2));
        }
        assert!(matches!(receipt_escpos(receipt_png(), Paper::Mm58, true, b"no font"), Err(EscPosError::Font(_))));
    }

    #[test]
    fn what_is_not_a_receipt_page_is_refused_not_a_panic() {
        assert!(matches!(receipt_escpos(b"", Paper::Mm58, false, &[]), Err(EscPosError::Image(_))));
        assert!(matches!(receipt_escpos(&receipt_png()[..100], Paper::Mm80, false, &[]), Err(EscPosError::Image(_))));
        // a colour picture is not the receipt page
        let mut rgb = Vec::new();
        let mut enc = png::Encoder::new(&mut rgb, 8, 8);
        enc.set_color(png::ColorType::Rgb);
        enc.write_header().unwrap().write_image_data(&[0; 8 * 8 * 3]).unwrap();
        assert!(matches!(receipt_escpos(&rgb, Paper::Mm80, false, &[]), Err(EscPosError::Image(_))));
        assert_eq!(Raster::new(12, 1), Err(EscPosError::Size { width: 12, height: 1 }));
        assert_eq!(Raster::new(8, MAX_ROWS + 1), Err(EscPosError::Size { width: 8, height: MAX_ROWS + 1 }));
    }

    /// The QR code of the customer's copy survives scaling to either paper and thresholding:
    /// read back from the printer's raster, it is the check's link.
    #[test]
    fn the_printed_qr_code_reads_back_on_both_papers() {
        use crate::evidence::printable::tests::{full_copy, version_2};
        use crate::evidence::receipt_image::receipt_copy_image;
        let (doc, sig) = (version_2(receipt()), sample());
        let rec =
            seal_receipt(&doc, &sig, "王芳", Relation::FamilyMember, "h1", &DeviceKey::from_bytes(&[7; 32])).unwrap();
        let png = receipt_copy_image(&doc, &sig, &rec, &full_copy(), font_bytes()).unwrap();
        let link = format!(
            "https://gb.example/verify?no=R-0007-000123&code={}",
            crate::evidence::verification_code(&rec, &doc.receipt_no)
        );
        for paper in [Paper::Mm58, Paper::Mm80] {
            let raster = receipt_raster(&png, paper).unwrap();
            let read = crate::evidence::receipt_image::tests::read_qr(
                raster.width() as usize,
                raster.height() as usize,
                |x, y| if raster.is_black(x as u32, y as u32) { 0 } else { 255 },
            );
            assert_eq!(read, link, "{paper:?}");
        }
    }
}
