//! The customer's receipt as one picture: a white PNG page with the company header, the amounts
//! in figures and in Chinese capitals, the signature and the verification code, drawn with a
//! CJK font the caller supplies.
//!
//! The core carries no font: phones pass a system font (Android's `NotoSansCJK-Regular.ttc`,
//! iOS's `PingFang.ttc`), the server and the tests read Debian's `fonts-noto-cjk`. A font
//! collection (`.ttc`) is accepted as is; its Simplified Chinese face ("… SC") is used when
//! there is one. Glyphs are rasterised with `fontdue`; there is no shaping, which CJK text and
//! the Latin labels on this page do not need.
//!
//! Like the HTML page, the image refuses to draw unless the record belongs to this receipt and
//! these strokes, computes the verification code itself, and leaves out the place and any ID or
//! phone number. The facts that matter are also written as UTF-8 text chunks, as in
//! `receipt_png`, so a program can read them without OCR.

use std::sync::{Arc, Mutex, PoisonError};

use fontdue::{Font, FontSettings};
use thiserror::Error;

use super::document::ReceiptDocument;
use super::printable::{copy_rows, receipt_copy_html, seal_pixels, CustomerCopy, PrintError, OWED_LABEL};
use super::qr::{QrMatrix, QUIET_ZONE};
use super::seal::SignatureRecord;
use super::strokes::{Point, RenderOptions, Signature, Stroke};

/// Page width in pixels (about 9 cm at 203 dpi, the common receipt-printer resolution, or a
/// phone screen's width).
pub const PAGE_WIDTH: u32 = 720;
const MARGIN: i32 = 40;
const LABEL_X: i32 = MARGIN;
const VALUE_X: i32 = 250;
const SIG_BOX_HEIGHT: i32 = 200;
/// The seal's box over the header, a side.
const SEAL_SIDE: i32 = 150;
/// Pixels a QR module: 8 on the page keeps each module over 4 dots on 58 mm paper
/// (`escpos::RECEIPT_SIDE_TRIM`, 656 px → 384 dots), which phone cameras read.
const QR_MODULE_PX: i32 = 8;
/// Text and rules never draw past this many rows: a company name of megabytes is refused rather
/// than turned into a gigabyte image.
const MAX_PAGE_HEIGHT: usize = 8_000;

const BLACK: u8 = 0x11;
const GRAY: u8 = 0x55;
const RULE: u8 = 0x99;

/// Characters every receipt prints; a font without them would print boxes.
const REQUIRED_GLYPHS: &str = "收据编号金额人民币零壹贰叁肆伍陆柒捌玖拾佰仟万元角分整验证码¥0123456789";

#[derive(Debug, Clone, PartialEq, Error)]
pub enum ReceiptImageError {
    /// The receipt, strokes or record cannot be printed (the same checks as the HTML page).
    #[error(transparent)]
    Print(#[from] PrintError),
    #[error("the font cannot be used for the receipt image: {0}")]
    Font(String),
    #[error("the receipt image cannot be drawn: {0}")]
    Image(String),
}

/// The whole receipt as a grayscale PNG, [`PAGE_WIDTH`] pixels wide, its height following the
/// content. `font_bytes` is a TrueType/OpenType font or collection with CJK glyphs.
pub fn receipt_image(
    doc: &ReceiptDocument,
    sig: &Signature,
    record: &SignatureRecord,
    company_name: &str,
    font_bytes: &[u8],
) -> Result<Vec<u8>, ReceiptImageError> {
    receipt_copy_image(doc, sig, record, &CustomerCopy::company(company_name), font_bytes)
}

/// The customer's copy as one picture: [`receipt_image`] with the company's seal over the
/// header, the payer and account masked, and the QR code of the public check at the foot (the
/// facts are the HTML page's rows: `printable::copy_rows`).
pub fn receipt_copy_image(
    doc: &ReceiptDocument,
    sig: &Signature,
    record: &SignatureRecord,
    copy: &CustomerCopy,
    font_bytes: &[u8],
) -> Result<Vec<u8>, ReceiptImageError> {
    // The same refusals as the HTML page (wrong receipt, wrong strokes, invalid amounts, a seal
    // that is not a PNG); receipt_copy_html runs them, and its output is cheap next to the drawing.
    receipt_copy_html(doc, sig, record, copy)?;
    let font = load_font(font_bytes)?;
    let facts = copy_rows(doc, record, copy)?;

    let mut page = Page::new(&font);
    let width = PAGE_WIDTH as i32;
    let content = (width - 2 * MARGIN) as f32;

    // Header: the company, then the title, centred; the seal over its right end, as stamped.
    let header_top = page.y;
    page.y += 16;
    for line in page.wrap(&copy.company_name, 30.0, content) {
        page.line_centred(&line, 30.0, BLACK, true)?;
    }
    page.y += 4;
    page.line_centred("收据 Receipt", 24.0, BLACK, false)?;
    if let Some(png) = &copy.seal_png {
        page.seal(png, header_top)?;
    }
    page.y += 12;
    page.rule(2)?;
    page.y += 10;

    for (label, value) in &facts.rows {
        page.row(label, value, 20.0)?;
        if *label == OWED_LABEL {
            page.row("实收金额 Amount paid", &facts.paid, 28.0)?;
            page.row("大写 In words", &facts.paid_capitals, 22.0)?;
        }
    }
    page.y += 6;
    page.rule(1)?;
    page.y += 10;

    // The signature, drawn by the strokes rasteriser at the page's scale inside a box.
    page.line_at("签字 Signature", 17.0, GRAY, LABEL_X)?;
    page.y += 6;
    page.signature_box(sig)?;
    page.y += 10;
    page.row("签字人 Signed by", &format!("{} ({})", record.signer_name, record.signer_relation.label()), 20.0)?;
    page.y += 6;
    page.rule(1)?;
    page.y += 12;

    page.row("验证码 Verification code", &facts.code, 30.0)?;
    page.y += 8;
    for text in [
        "当面点清，唱收唱付。凭验证码可向营业厅核验本收据。",
        "Cash counted and change given in the customer's presence. Quote the verification code at the business office to check this receipt.",
    ] {
        for line in page.wrap(text, 15.0, content) {
            page.line_at(&line, 15.0, GRAY, LABEL_X)?;
        }
    }
    if let Some(link) = &facts.link {
        if let Some(matrix) = QrMatrix::new(link) {
            page.y += 12;
            page.qr(&matrix)?;
            page.y += 6;
            page.line_centred("扫码核验本收据 Scan to check this receipt", 17.0, GRAY, false)?;
        }
    }
    page.y += MARGIN;

    let mut text = vec![
        ("Title", "收据 Receipt".to_string()),
        ("Company", copy.company_name.clone()),
        ("Receipt-No", doc.receipt_no.clone()),
        ("Amount", facts.paid.clone()),
        ("Verification-Code", facts.code.clone()),
    ];
    if let Some(link) = facts.link {
        text.push(("Verify-URL", link));
    }
    page.encode(&text)
}

/// The font `load_font` parsed last, with the bytes it came from.
type LastFont = Option<(Vec<u8>, Arc<Font>)>;
static LAST_FONT: Mutex<LastFont> = Mutex::new(None);

/// Parses the font (choosing the "SC" face of a collection) and checks it can print a receipt —
/// once per process for the same bytes: the apps hand the font's bytes with every receipt, reprint
/// and photo, and parsing the CJK collection costs far more than drawing one (docs/benchmarks.md,
/// "Photos (issue 20) — preparing a photo"). Comparing the bytes is a memcmp of the file
/// (milliseconds); another font replaces the one kept, and a font that fails to load leaves it.
pub(crate) fn load_font(bytes: &[u8]) -> Result<Arc<Font>, ReceiptImageError> {
    // held while parsing: two drawings at once with one font parse it once
    let mut last = LAST_FONT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((kept, font)) = last.as_ref() {
        if kept.as_slice() == bytes {
            return Ok(Arc::clone(font));
        }
    }
    let font = Arc::new(parse_font(bytes)?);
    *last = Some((bytes.to_vec(), Arc::clone(&font)));
    Ok(font)
}

fn parse_font(bytes: &[u8]) -> Result<Font, ReceiptImageError> {
    let index = collection_index(bytes);
    let settings = FontSettings { collection_index: index, scale: 30.0, load_substitutions: false };
    let font = Font::from_bytes(bytes, settings)
        .map_err(|e| ReceiptImageError::Font(format!("not a usable TrueType/OpenType font ({e})")))?;
    if let Some(c) = REQUIRED_GLYPHS.chars().find(|&c| !font.has_glyph(c)) {
        return Err(ReceiptImageError::Font(format!(
            "it has no glyph for '{c}'; pass a font with Chinese characters (e.g. Noto Sans CJK)"
        )));
    }
    Ok(font)
}

/// In a font collection, the first face whose name marks it Simplified Chinese; otherwise 0.
fn collection_index(bytes: &[u8]) -> u32 {
    let Some(count) = ttf_parser::fonts_in_collection(bytes) else {
        return 0;
    };
    (0..count.min(64))
        .find(|&i| {
            ttf_parser::Face::parse(bytes, i).is_ok_and(|face| {
                face.names().into_iter().any(|name| {
                    matches!(name.name_id, ttf_parser::name_id::FAMILY | ttf_parser::name_id::FULL_NAME)
                        && name.is_unicode()
                        && utf16be(name.name).split(' ').any(|word| word == "SC")
                })
            })
        })
        .unwrap_or(0)
}

fn utf16be(raw: &[u8]) -> String {
    let units = raw.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]));
    char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()
}

/// Rasterises `s` with its baseline at `baseline`, starting at `x`, and calls `paint(x, y, coverage)`
/// for every pixel a glyph covers (coverage 1..=255); the caller blends it into its own pixels (the
/// receipt's gray page, a photo's watermark).
pub(crate) fn for_each_coverage(
    font: &Font,
    s: &str,
    px: f32,
    x: i32,
    baseline: i32,
    mut paint: impl FnMut(i32, i32, u8),
) {
    let mut pen = x as f32;
    for c in s.chars() {
        let (m, cover) = font.rasterize(c, px);
        let left = pen.round() as i32 + m.xmin;
        let top = baseline - m.ymin - m.height as i32;
        for (row, line) in cover.chunks(m.width.max(1)).enumerate() {
            for (col, &a) in line.iter().enumerate() {
                if a != 0 {
                    paint(left + col as i32, top + row as i32, a);
                }
            }
        }
        pen += m.advance_width;
    }
}

/// A white grayscale page that grows downwards as lines are added.
struct Page<'f> {
    font: &'f Font,
    px: Vec<u8>,
    /// Top of the next line.
    y: i32,
}

impl<'f> Page<'f> {
    fn new(font: &'f Font) -> Self {
        Page { font, px: Vec::new(), y: MARGIN }
    }

    fn width() -> usize {
        PAGE_WIDTH as usize
    }

    /// Makes sure rows `0..rows` exist.
    fn grow(&mut self, rows: i32) -> Result<(), ReceiptImageError> {
        let rows = usize::try_from(rows.max(0)).unwrap_or(0);
        if rows > MAX_PAGE_HEIGHT {
            return Err(ReceiptImageError::Image(format!(
                "the receipt would be taller than {MAX_PAGE_HEIGHT} px (is the company name that long?)"
            )));
        }
        let need = rows * Self::width();
        if self.px.len() < need {
            self.px.resize(need, 0xff);
        }
        Ok(())
    }

    fn darken(&mut self, x: i32, y: i32, v: u8) {
        if x < 0 || y < 0 || x >= PAGE_WIDTH as i32 {
            return;
        }
        let i = y as usize * Self::width() + x as usize;
        if let Some(cell) = self.px.get_mut(i) {
            *cell = (*cell).min(v);
        }
    }

    fn advance(&self, c: char, px: f32) -> f32 {
        self.font.metrics(c, px).advance_width
    }

    fn measure(&self, s: &str, px: f32) -> f32 {
        s.chars().map(|c| self.advance(c, px)).sum()
    }

    /// Greedy line breaking: between any two CJK characters, or at spaces in Latin text; a Latin
    /// word wider than the line is cut where it must be.
    fn wrap(&self, s: &str, px: f32, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut width = 0.0;
        for token in tokens(s) {
            let w = self.measure(&token, px);
            if width + w > max && !line.is_empty() {
                lines.push(line.trim_end().to_string());
                line.clear();
                width = 0.0;
                if token == " " {
                    continue;
                }
            }
            if w > max {
                for c in token.chars() {
                    let cw = self.advance(c, px);
                    if width + cw > max && !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                        width = 0.0;
                    }
                    line.push(c);
                    width += cw;
                }
            } else {
                line.push_str(&token);
                width += w;
            }
        }
        if !line.trim().is_empty() {
            lines.push(line.trim_end().to_string());
        }
        lines
    }

    fn line_height(&self, px: f32) -> (i32, i32) {
        let (ascent, descent) =
            self.font.horizontal_line_metrics(px).map_or((px * 0.88, -px * 0.12), |m| (m.ascent, m.descent));
        let ascent = ascent.ceil() as i32;
        (ascent, ascent + (-descent).ceil() as i32 + (px * 0.25).ceil() as i32)
    }

    /// Draws `s` with its baseline at `baseline`, starting at `x`; `bold` doubles each glyph one
    /// pixel to the right.
    fn draw(&mut self, s: &str, px: f32, ink: u8, x: i32, baseline: i32, bold: bool) {
        let font = self.font;
        for_each_coverage(font, s, px, x, baseline, |gx, gy, a| {
            let v = 255 - (u32::from(a) * u32::from(255 - ink) / 255) as u8;
            self.darken(gx, gy, v);
            if bold {
                self.darken(gx + 1, gy, v);
            }
        });
    }

    fn line_at(&mut self, s: &str, px: f32, ink: u8, x: i32) -> Result<(), ReceiptImageError> {
        let (ascent, height) = self.line_height(px);
        self.grow(self.y + height)?;
        self.draw(s, px, ink, x, self.y + ascent, false);
        self.y += height;
        Ok(())
    }

    fn line_centred(&mut self, s: &str, px: f32, ink: u8, bold: bool) -> Result<(), ReceiptImageError> {
        let (ascent, height) = self.line_height(px);
        self.grow(self.y + height)?;
        let x = ((PAGE_WIDTH as f32 - self.measure(s, px)) / 2.0).max(MARGIN as f32) as i32;
        self.draw(s, px, ink, x, self.y + ascent, bold);
        self.y += height;
        Ok(())
    }

    /// A label on the left in gray, the value on the right (wrapped), baselines aligned.
    fn row(&mut self, label: &str, value: &str, px: f32) -> Result<(), ReceiptImageError> {
        let label_px = 17.0;
        let (ascent, height) = self.line_height(px);
        let max = (PAGE_WIDTH as i32 - MARGIN - VALUE_X) as f32;
        let lines = self.wrap(value, px, max);
        let top = self.y;
        for (i, line) in lines.iter().enumerate() {
            self.grow(self.y + height)?;
            if i == 0 {
                self.draw(label, label_px, GRAY, LABEL_X, self.y + ascent, false);
            }
            self.draw(line, px, BLACK, VALUE_X, self.y + ascent, false);
            self.y += height;
        }
        if self.y == top {
            // An empty value still shows its label.
            self.grow(self.y + height)?;
            self.draw(label, label_px, GRAY, LABEL_X, self.y + ascent, false);
            self.y += height;
        }
        Ok(())
    }

    fn rule(&mut self, thickness: i32) -> Result<(), ReceiptImageError> {
        self.grow(self.y + thickness)?;
        for y in self.y..self.y + thickness {
            for x in MARGIN..PAGE_WIDTH as i32 - MARGIN {
                self.darken(x, y, RULE);
            }
        }
        self.y += thickness;
        Ok(())
    }

    /// The seal scaled into a [`SEAL_SIDE`] square at the header's right end, from `top`, blended
    /// by its alpha (a stamp darkens the paper, never lightens the text under it).
    fn seal(&mut self, png: &[u8], top: i32) -> Result<(), ReceiptImageError> {
        let (w, h, pixels) = seal_pixels(png)?;
        let scale = SEAL_SIDE as f32 / w.max(h) as f32;
        let (dw, dh) = (((w as f32 * scale) as i32).max(1), ((h as f32 * scale) as i32).max(1));
        let left = PAGE_WIDTH as i32 - MARGIN - dw;
        self.grow(top + dh)?;
        for y in 0..dh {
            for x in 0..dw {
                let (sx, sy) = (((x as f32 / scale) as u32).min(w - 1), ((y as f32 / scale) as u32).min(h - 1));
                let (luma, alpha) = pixels[(sy * w + sx) as usize];
                let v = 255 - (u32::from(255 - luma) * u32::from(alpha) / 255) as u8;
                self.darken(left + x, top + y, v);
            }
        }
        self.y = self.y.max(top + dh);
        Ok(())
    }

    /// A QR code centred, [`QR_MODULE_PX`] a module, with its quiet zone.
    fn qr(&mut self, m: &QrMatrix) -> Result<(), ReceiptImageError> {
        let side = (m.width() + 2 * QUIET_ZONE) as i32 * QR_MODULE_PX;
        let left = (PAGE_WIDTH as i32 - side) / 2;
        let top = self.y;
        self.grow(top + side)?;
        let q = QUIET_ZONE as i32 * QR_MODULE_PX;
        for y in 0..m.width() {
            for x in 0..m.width() {
                if m.is_dark(x, y) {
                    let (x0, y0) = (left + q + x as i32 * QR_MODULE_PX, top + q + y as i32 * QR_MODULE_PX);
                    for dy in 0..QR_MODULE_PX {
                        for dx in 0..QR_MODULE_PX {
                            self.darken(x0 + dx, y0 + dy, 0);
                        }
                    }
                }
            }
        }
        self.y = top + side;
        Ok(())
    }

    /// A light frame the width of the content with the signature scaled into it and centred.
    fn signature_box(&mut self, sig: &Signature) -> Result<(), ReceiptImageError> {
        let (x0, x1) = (MARGIN, PAGE_WIDTH as i32 - MARGIN);
        let (y0, y1) = (self.y, self.y + SIG_BOX_HEIGHT);
        self.grow(y1 + 1)?;
        for x in x0..=x1 {
            self.darken(x, y0, 0xcc);
            self.darken(x, y1, 0xcc);
        }
        for y in y0..=y1 {
            self.darken(x0, y, 0xcc);
            self.darken(x1, y, 0xcc);
        }
        let (inner_w, inner_h) = ((x1 - x0 - 8) as f32, (y1 - y0 - 8) as f32);
        let (w, h, ink) = signature_pixels(sig, inner_w, inner_h)?;
        let left = x0 + ((x1 - x0) - w as i32) / 2;
        let top = y0 + ((y1 - y0) - h as i32) / 2;
        for (row, line) in ink.chunks(w.max(1)).enumerate() {
            for (col, &v) in line.iter().enumerate() {
                if v < 0xff {
                    self.darken(left + col as i32, top + row as i32, v);
                }
            }
        }
        self.y = y1 + 1;
        Ok(())
    }

    fn encode(mut self, text: &[(&str, String)]) -> Result<Vec<u8>, ReceiptImageError> {
        let height = self.y;
        self.grow(height)?;
        let rows = usize::try_from(height).unwrap_or(0);
        self.px.truncate(rows * Self::width());
        let err = |e: png::EncodingError| ReceiptImageError::Image(e.to_string());
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, PAGE_WIDTH, rows as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        for (k, v) in text {
            enc.add_itxt_chunk((*k).to_string(), v.clone()).map_err(err)?;
        }
        let mut writer = enc.write_header().map_err(err)?;
        writer.write_image_data(&self.px).map_err(err)?;
        writer.finish().map_err(err)?;
        Ok(out)
    }
}

/// The strokes rendered to fit `max_w × max_h` (never enlarged more than twice): the points are
/// scaled and drawn by `Signature::render_gray`, so the lines stay sharp at any pad size.
fn signature_pixels(sig: &Signature, max_w: f32, max_h: f32) -> Result<(usize, usize, Vec<u8>), ReceiptImageError> {
    let (w, h) = (sig.width as f32, sig.height as f32);
    let s = (max_w / w).min(max_h / h).min(2.0);
    let scaled = Signature {
        width: ((w * s).ceil() as u32).max(1),
        height: ((h * s).ceil() as u32).max(1),
        strokes: sig
            .strokes
            .iter()
            .map(|st| Stroke {
                points: st
                    .points
                    .iter()
                    .map(|p| Point { x: p.x * s, y: p.y * s, t_ms: p.t_ms, pressure: p.pressure })
                    .collect(),
            })
            .collect(),
    };
    let opts = RenderOptions {
        pen_width_px: (RenderOptions::default().pen_width_px * s).clamp(2.0, 6.0),
        ..RenderOptions::default()
    };
    match scaled.render_gray(&opts) {
        Ok(px) => Ok((scaled.width as usize, scaled.height as usize, px)),
        Err(_) => {
            // Rounding pushed a scaled point past a bound (ink at the limit): draw at the pad's
            // size and sample it down instead.
            let full = sig.render_gray(&RenderOptions::default()).map_err(PrintError::from)?;
            let (sw, sh) = (scaled.width as usize, scaled.height as usize);
            let (fw, fh) = (sig.width as usize, sig.height as usize);
            let mut px = vec![0xffu8; sw * sh];
            for (y, row) in px.chunks_mut(sw).enumerate() {
                for (x, cell) in row.iter_mut().enumerate() {
                    let (fx, fy) = ((x * fw / sw).min(fw - 1), (y * fh / sh).min(fh - 1));
                    *cell = full.get(fy * fw + fx).copied().unwrap_or(0xff);
                }
            }
            Ok((sw, sh, px))
        }
    }
}

/// Words for line breaking: each CJK (or other wide) character alone, runs of other
/// non-space characters together, and each space alone.
fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in s.chars() {
        if c == ' ' || is_wide(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            out.push(c.to_string());
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn is_wide(c: char) -> bool {
    matches!(u32::from(c), 0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::evidence::document::tests::receipt;
    use crate::evidence::printable::local_time;
    use crate::evidence::seal::{seal_receipt, DeviceKey, Relation};
    use crate::evidence::strokes::tests::sample;
    use crate::evidence::verify_code::verification_code;
    use std::sync::OnceLock;

    /// Debian's fonts-noto-cjk, installed by `.ci/install-tools`.
    const NOTO_CJK: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

    pub(crate) fn font() -> &'static [u8] {
        static FONT: OnceLock<Vec<u8>> = OnceLock::new();
        FONT.get_or_init(|| {
            std::fs::read(NOTO_CJK).unwrap_or_else(|e| {
                panic!(
                    "cannot read the CJK test font {NOTO_CJK} ({e}): run .ci/install-tools \
                     (it installs the Debian package fonts-noto-cjk)"
                )
            })
        })
    }

    fn sealed(doc: ReceiptDocument) -> (ReceiptDocument, Signature, SignatureRecord) {
        let sig = sample();
        let rec =
            seal_receipt(&doc, &sig, "王芳", Relation::FamilyMember, "h1", &DeviceKey::from_bytes(&[7; 32])).unwrap();
        (doc, sig, rec)
    }

    fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>, Vec<(String, String)>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes.to_vec())).read_info().unwrap();
        let texts = reader.info().utf8_text.iter().map(|c| (c.keyword.clone(), c.get_text().unwrap())).collect();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf, texts)
    }

    fn dark_in(px: &[u8], x: std::ops::Range<usize>, y: std::ops::Range<usize>) -> usize {
        let w = PAGE_WIDTH as usize;
        y.flat_map(|row| x.clone().map(move |col| (col, row))).filter(|&(col, row)| px[row * w + col] < 128).count()
    }

    #[test]
    fn draws_the_whole_receipt() {
        let mut doc = receipt();
        doc.owed_before_fen = 100_050;
        doc.paid_fen = 100_050;
        doc.cash_received_fen = 110_000;
        doc.change_fen = 9_950;
        let (doc, sig, rec) = sealed(doc);
        let bytes = receipt_image(&doc, &sig, &rec, "中国电信 幸福里营业部", font()).unwrap();
        if let Ok(dir) = std::env::var("GRIDBOOK_RECEIPT_IMAGE_DIR") {
            std::fs::write(format!("{dir}/receipt.png"), &bytes).unwrap();
        }
        let (w, h, px, texts) = decode(&bytes);
        assert_eq!(w, PAGE_WIDTH);
        assert!((600..2000).contains(&h), "height {h}");
        let full = 0..PAGE_WIDTH as usize;
        // The header (company name, bold, centred) is drawn in the first lines ...
        assert!(dark_in(&px, 200..520, 50..100) > 200, "header has ink");
        // ... and the margins stay white, top, left, right and bottom.
        assert_eq!(dark_in(&px, full.clone(), 0..40), 0, "top margin");
        assert_eq!(dark_in(&px, 0..38, 0..h as usize), 0, "left margin");
        assert_eq!(dark_in(&px, 682..720, 0..h as usize), 0, "right margin");
        assert_eq!(dark_in(&px, full.clone(), h as usize - 30..h as usize), 0, "bottom margin");
        // The signature box: find its frame (a long light row) and the ink inside it.
        let row_of_frame = (0..h as usize)
            .find(|&y| (MARGIN as usize..680).all(|x| px[y * PAGE_WIDTH as usize + x] == 0xcc))
            .expect("signature frame");
        let inside = row_of_frame + 2..row_of_frame + SIG_BOX_HEIGHT as usize - 2;
        assert!(dark_in(&px, 60..660, inside) > 500, "the signature has ink");
        let get = |k: &str| texts.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("Company"), Some("中国电信 幸福里营业部"));
        assert_eq!(get("Receipt-No"), Some("R-0007-000123"));
        assert_eq!(get("Amount"), Some("¥1,000.50"));
        assert_eq!(get("Verification-Code"), Some(verification_code(&rec, &doc.receipt_no).as_str()));
    }

    #[test]
    fn refuses_what_the_html_page_refuses() {
        let (doc, sig, rec) = sealed(receipt());
        let mut other = doc.clone();
        other.receipt_no = "R-0007-000124".into();
        assert_eq!(
            receipt_image(&other, &sig, &rec, "X", font()),
            Err(ReceiptImageError::Print(PrintError::DocumentMismatch))
        );
        let mut other_sig = sig.clone();
        other_sig.strokes.pop();
        assert_eq!(
            receipt_image(&doc, &other_sig, &rec, "X", font()),
            Err(ReceiptImageError::Print(PrintError::StrokesMismatch))
        );
    }

    #[test]
    fn a_bad_font_is_an_error_not_a_panic() {
        let (doc, sig, rec) = sealed(receipt());
        for bytes in [&b""[..], b"not a font at all", &font()[..64]] {
            let err = receipt_image(&doc, &sig, &rec, "X", bytes).unwrap_err();
            assert!(matches!(err, ReceiptImageError::Font(_)), "{err:?}");
        }
        // A Latin-only font would print boxes for the Chinese text: refused by name.
        let latin = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
        if let Ok(bytes) = std::fs::read(latin) {
            let err = receipt_image(&doc, &sig, &rec, "X", &bytes).unwrap_err();
            assert!(err.to_string().contains("no glyph for '收'"), "{err}");
        }
    }

    #[test]
    fn picks_the_simplified_chinese_face_and_wraps_long_names() {
        let bytes = font();
        let index = collection_index(bytes);
        let face = ttf_parser::Face::parse(bytes, index).unwrap();
        let family = face
            .names()
            .into_iter()
            .find(|n| n.name_id == ttf_parser::name_id::FAMILY && n.is_unicode())
            .map(|n| utf16be(n.name))
            .unwrap();
        assert!(family.ends_with(" SC"), "{family}");
        let font = load_font(bytes).unwrap();
        let page = Page::new(&font);
        let lines = page.wrap(
            "中国电信股份有限公司湖南分公司长沙市岳麓区幸福里社区营业部 Changsha Yuelu Xingfuli Community Business Office",
            30.0,
            640.0,
        );
        assert!(lines.len() >= 3, "{lines:?}");
        assert!(lines.iter().all(|l| page.measure(l, 30.0) <= 640.0));
        assert!(lines.iter().any(|l| l.ends_with("Xingfuli") || l.starts_with("Changsha") || l.contains("Community")));
        assert_eq!(local_time(1_714_543_380_000, 480), "2024-05-01 14:03 (UTC+08:00)");
    }

    /// Reads the one QR code in a grayscale picture.
    pub(crate) fn read_qr(width: usize, height: usize, luma: impl Fn(usize, usize) -> u8) -> String {
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(width, height, luma);
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code");
        grids[0].decode().unwrap().1
    }

    #[test]
    fn the_copy_image_carries_the_seal_and_a_qr_code_that_reads_back_as_the_check_link() {
        use crate::evidence::printable::tests::{full_copy, version_2};
        let (doc, sig, rec) = sealed(version_2(receipt()));
        let copy = full_copy();
        let bytes = receipt_copy_image(&doc, &sig, &rec, &copy, font()).unwrap();
        if let Ok(dir) = std::env::var("GRIDBOOK_RECEIPT_IMAGE_DIR") {
            std::fs::write(format!("{dir}/receipt-copy.png"), &bytes).unwrap();
        }
        let (w, h, px, texts) = decode(&bytes);
        let link =
            format!("https://gb.example/verify?no=R-0007-000123&code={}", verification_code(&rec, &doc.receipt_no));
        assert_eq!(read_qr(w as usize, h as usize, |x, y| px[y * w as usize + x]), link);
        assert!(texts.iter().any(|(k, v)| k == "Verify-URL" && *v == link));
        // the seal: its box at the header's right end is darkened (red → gray), the left is not
        let right = PAGE_WIDTH as usize - MARGIN as usize;
        assert!(dark_in(&px, right - 150..right, 40..190) > 150 * 100 / 2, "the seal is drawn");
        // more rows than the plain copy: payer, account, service number, months
        let plain = receipt_image(&doc, &sig, &rec, &copy.company_name, font()).unwrap();
        assert!(decode(&plain).1 < h);
    }
}
