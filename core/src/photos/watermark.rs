//! The watermark a field photo carries, as Chinese field apps stamp theirs: the time in China
//! time, the manager, the grid, the household's address and the position with its accuracy (or
//! "无定位 no fix"), drawn in a darkened band along the bottom of the picture with the CJK font the
//! receipt image uses.
//!
//! The stamp is evidence for a person looking at the picture; the facts themselves travel as data
//! (the visit's time and position, the photo's hash in the signed document). The band's size
//! follows the picture, so the text stays readable on a thumbnail.

use std::sync::Arc;

use fontdue::Font;
use image::RgbImage;

use super::error::PhotoError;
use crate::evidence::printable::local_time;
use crate::evidence::receipt_image::{for_each_coverage, load_font};

/// China Standard Time (UTC+08:00, no daylight saving): the watermark's clock wherever the
/// phone's own zone is set.
pub const CHINA_OFFSET_MIN: i32 = 8 * 60;

/// A position as the phone reported it: WGS-84 degrees and the accuracy radius in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
}

impl Fix {
    /// Finite, on the globe, with a non-negative accuracy; anything else is drawn as no fix.
    pub fn is_valid(&self) -> bool {
        self.lat.is_finite()
            && self.lon.is_finite()
            && self.accuracy_m.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon)
            && self.accuracy_m >= 0.0
    }
}

/// What the watermark says. `fix` is `None` when the phone had no position (no fix is a value,
/// never a reason to refuse the photo).
#[derive(Debug, Clone, PartialEq)]
pub struct Stamp {
    /// When the photo was taken, UTC milliseconds.
    pub taken_at_ms: i64,
    pub manager: String,
    pub grid: String,
    pub address: String,
    pub fix: Option<Fix>,
}

/// The lines of text, top to bottom, exactly as they are drawn (before any cut to the width).
pub fn watermark_lines(stamp: &Stamp) -> [String; 4] {
    let position = match stamp.fix {
        Some(f) if f.is_valid() => format!(
            "{:.6}{} {:.6}{} ±{} m",
            f.lat.abs(),
            if f.lat < 0.0 { 'S' } else { 'N' },
            f.lon.abs(),
            if f.lon < 0.0 { 'W' } else { 'E' },
            f.accuracy_m.round().min(99_999.0) as u32
        ),
        _ => "无定位 no fix".to_string(),
    };
    [
        format!("时间 Time {}", local_time(stamp.taken_at_ms, CHINA_OFFSET_MIN)),
        format!("客户经理 Manager {} · 网格 Grid {}", one_line(&stamp.manager), one_line(&stamp.grid)),
        format!("地址 Address {}", one_line(&stamp.address)),
        format!("位置 Position {position}"),
    ]
}

/// A font ready to draw watermarks; the same bytes are parsed once per process (`load_font`: a
/// CJK collection is tens of megabytes), so it may be loaded for every photo.
pub struct WatermarkFont(pub(crate) Arc<Font>);

impl WatermarkFont {
    /// `bytes`: a TrueType/OpenType font or collection with CJK glyphs (its "SC" face is used);
    /// the font parsed for the same bytes before, if any.
    pub fn load(bytes: &[u8]) -> Result<Self, PhotoError> {
        load_font(bytes).map(WatermarkFont).map_err(|e| PhotoError::Font(e.to_string()))
    }
}

/// The band's rows: `top..image height`.
pub fn band_top(width: u32, height: u32) -> u32 {
    let (_, line, pad) = metrics(width, height);
    let band = (4.0 * line + 2.0 * pad).ceil() as u32;
    height.saturating_sub(band)
}

/// Text size, line height and padding for a picture of this size: a 40th of the shorter side,
/// at least 12 px.
fn metrics(width: u32, height: u32) -> (f32, f32, f32) {
    let px = (width.min(height) as f32 / 40.0).max(12.0);
    (px, px * 1.35, px * 0.6)
}

/// Draws the watermark into the bottom of `img`: the band's pixels are darkened to 40 % and the
/// text drawn over them in white, each line cut with "…" where it would pass the right edge.
pub fn draw_watermark(img: &mut RgbImage, stamp: &Stamp, font: &WatermarkFont) {
    let (w, h) = img.dimensions();
    let (px, line, pad) = metrics(w, h);
    let top = band_top(w, h);
    // the band's rows are the buffer's tail: one pass over its bytes
    let band_start = top as usize * w as usize * 3;
    for c in img.as_mut().iter_mut().skip(band_start) {
        *c = (u16::from(*c) * 2 / 5) as u8;
    }
    let ascent = font.0.horizontal_line_metrics(px).map_or(px * 0.88, |m| m.ascent);
    let left = pad.round() as i32;
    let max_width = w as f32 - 2.0 * pad;
    for (i, text) in watermark_lines(stamp).iter().enumerate() {
        let text = fit(&font.0, text, px, max_width);
        let baseline = (top as f32 + pad + i as f32 * line + ascent).round() as i32;
        for_each_coverage(&font.0, &text, px, left, baseline, |x, y, a| {
            if x < 0 || y < 0 {
                return;
            }
            let (x, y) = (x as u32, y as u32);
            if x >= w || y >= h {
                return;
            }
            let p = img.get_pixel_mut(x, y);
            for c in p.0.iter_mut() {
                // white over the darkened band, by the glyph's coverage
                *c = (u32::from(*c) + (255 - u32::from(*c)) * u32::from(a) / 255) as u8;
            }
        });
    }
}

/// Control characters and line breaks become spaces: each field is one line of the stamp.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_string()
}

/// `text` as drawn within `max` pixels: whole, or cut with "…".
fn fit(font: &Font, text: &str, px: f32, max: f32) -> String {
    let width = |s: &str| s.chars().map(|c| font.metrics(c, px).advance_width).sum::<f32>();
    if width(text) <= max {
        return text.to_string();
    }
    let budget = max - width("…");
    let mut out = String::new();
    let mut used = 0.0;
    for c in text.chars() {
        let a = font.metrics(c, px).advance_width;
        if used + a > budget {
            break;
        }
        used += a;
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn stamp() -> Stamp {
        Stamp {
            taken_at_ms: 1_714_543_380_000,
            manager: "张伟".into(),
            grid: "岳麓-07".into(),
            address: "长沙市岳麓区幸福里小区3栋2单元501".into(),
            fix: Some(Fix { lat: 28.228_21, lon: 112.938_81, accuracy_m: 12.4 }),
        }
    }

    #[test]
    fn lines_say_china_time_manager_grid_address_and_position() {
        let [time, who, addr, pos] = watermark_lines(&stamp());
        // 06:03 UTC is 14:03 in China.
        assert_eq!(time, "时间 Time 2024-05-01 14:03 (UTC+08:00)");
        assert_eq!(who, "客户经理 Manager 张伟 · 网格 Grid 岳麓-07");
        assert_eq!(addr, "地址 Address 长沙市岳麓区幸福里小区3栋2单元501");
        assert_eq!(pos, "位置 Position 28.228210N 112.938810E ±12 m");
        let mut s = stamp();
        s.fix = None;
        assert_eq!(watermark_lines(&s)[3], "位置 Position 无定位 no fix");
        s.fix = Some(Fix { lat: f64::NAN, lon: 1.0, accuracy_m: 5.0 });
        assert_eq!(watermark_lines(&s)[3], "位置 Position 无定位 no fix");
        s.fix = Some(Fix { lat: -33.5, lon: -70.25, accuracy_m: 3.0 });
        assert_eq!(watermark_lines(&s)[3], "位置 Position 33.500000S 70.250000W ±3 m");
        s.address = "一行\n两行\r\t".into();
        assert_eq!(watermark_lines(&s)[2], "地址 Address 一行 两行");
    }

    #[test]
    fn the_font_is_parsed_once_for_the_same_bytes() {
        let font = crate::evidence::receipt_image::tests::font();
        let first = WatermarkFont::load(font).unwrap();
        // the same bytes in another buffer, as the apps pass them with each photo
        let copy = font.to_vec();
        let again = WatermarkFont::load(&copy).unwrap();
        assert!(Arc::ptr_eq(&first.0, &again.0), "parsed again");
        // a font that does not load is an error and leaves the kept one
        assert!(matches!(WatermarkFont::load(b"not a font"), Err(PhotoError::Font(_))));
        assert!(Arc::ptr_eq(&first.0, &WatermarkFont::load(font).unwrap().0));
    }
}
