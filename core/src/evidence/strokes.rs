//! The customer's handwritten signature as captured by the phone's pad: validation, canonical
//! bytes and hash, plausibility flags, and rendering to SVG and PNG.
//!
//! Canonical bytes (format "gridbook-strokes/1"), all integers big-endian:
//! ```text
//! b"gridbook-strokes/1\n"
//! u32 width, u32 height, u32 stroke_count
//! per stroke: u32 point_count
//!   per point: u32 x_dpx, u32 y_dpx, u32 t_ms, u16 pressure
//! ```
//! `x_dpx`/`y_dpx` are the coordinates in tenths of a pixel, rounded half away from zero
//! (computed in f64), so the hash does not depend on how a float was printed or parsed on the way
//! to the server. `pressure` is in thousandths (0..=1000), `0xFFFF` when the pad reports none.
//! The SVG and PNG are drawn from these quantised values, so the picture is exactly what was hashed.

use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Upper bound on points in one signature: a slow, elaborate signature at 120 Hz is ~2,000.
pub const MAX_POINTS: usize = 20_000;
/// Largest pad side in px; bounds the PNG buffer to 16 MB.
pub const MAX_PAD_SIDE: u32 = 4096;
/// Ink longer than 100 × (width + height) is scribbling, not a signature (a real one is a few
/// times the pad's span). The bound also caps rendering cost on the server for hostile input.
pub const MAX_INK_PER_SPAN: f64 = 100.0;
/// A signature with real ink drawn in under 300 ms is a swipe or a replayed/synthetic stroke:
/// even a two-character name takes people well over half a second.
pub const MIN_DURATION_MS: u32 = 300;
/// Fewer than 10 sampled points is a tap or a flick, not handwriting.
pub const MIN_POINTS: usize = 10;
/// Total ink below 3 px is a dot: finger jitter on a tap.
pub const DOT_MAX_INK_PX: f32 = 3.0;

const TAG: &[u8] = b"gridbook-strokes/1\n";
const NO_PRESSURE: u16 = 0xFFFF;
const INK: u8 = 0x1a;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    #[serde(deserialize_with = "finite_f32")]
    pub x: f32,
    #[serde(deserialize_with = "finite_f32")]
    pub y: f32,
    /// Milliseconds since the first touch of the signature.
    pub t_ms: u32,
    /// 0.0..=1.0 when the pad reports pressure.
    #[serde(default, deserialize_with = "finite_f32_or_none", skip_serializing_if = "Option::is_none")]
    pub pressure: Option<f32>,
}

/// A JSON number as an `f32`, refused when it lies beyond `f32`'s range: serde's own `f32` makes
/// such a number infinity, which JSON cannot write (it encodes as `null`), so the strokes would
/// decode and not re-encode (found by the strokes fuzz target).
fn finite_f32<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    let wide = f64::deserialize(d)?;
    let narrow = wide as f32;
    if !narrow.is_finite() {
        return Err(serde::de::Error::custom(format!("{wide} is beyond the range of a coordinate or pressure")));
    }
    Ok(narrow)
}

fn finite_f32_or_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
    #[derive(Deserialize)]
    struct Finite(#[serde(deserialize_with = "finite_f32")] f32);
    Ok(Option::<Finite>::deserialize(d)?.map(|Finite(v)| v))
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stroke {
    pub points: Vec<Point>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    pub width: u32,
    pub height: u32,
    pub strokes: Vec<Stroke>,
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum StrokeError {
    #[error("signature pad size {width}x{height} is outside 1..={MAX_PAD_SIDE} px")]
    BadPadSize { width: u32, height: u32 },
    #[error("signature has no strokes")]
    NoStrokes,
    #[error("stroke {stroke} has no points")]
    EmptyStroke { stroke: usize },
    #[error("signature has {count} points, more than the limit of {MAX_POINTS}")]
    TooManyPoints { count: usize },
    #[error("stroke {stroke} point {point}: coordinate or pressure is not a finite number")]
    NotFinite { stroke: usize, point: usize },
    #[error("stroke {stroke} point {point}: ({x}, {y}) lies outside the pad")]
    OutsidePad { stroke: usize, point: usize, x: f32, y: f32 },
    #[error("stroke {stroke} point {point}: pressure {pressure} is outside 0..=1")]
    BadPressure { stroke: usize, point: usize, pressure: f32 },
    #[error("stroke {stroke} point {point}: time {t_ms} ms is before the previous point's {prev_ms} ms")]
    TimeWentBack { stroke: usize, point: usize, t_ms: u32, prev_ms: u32 },
    #[error("signature has {ink_px:.0} px of ink, more than the limit of {limit_px:.0} px")]
    TooMuchInk { ink_px: f64, limit_px: f64 },
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

/// Plausibility warnings. They do not make a signature invalid: the app asks the customer to
/// sign again, and the back office sees the flags next to the receipt.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Flag {
    /// Real ink drawn in under [`MIN_DURATION_MS`].
    TooFast,
    /// Fewer than [`MIN_POINTS`] points in total.
    TooFewPoints,
    /// Less than [`DOT_MAX_INK_PX`] of ink: a tap, not a signature.
    Dot,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StrokeStats {
    pub strokes: usize,
    pub points: usize,
    /// Last touch minus first touch.
    pub duration_ms: u32,
    /// Sum of the segment lengths, in px.
    pub ink_length_px: f32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderOptions {
    pub pen_width_px: f32,
    /// Scale the width by pressure (0.5× at none … 1.5× at full) where the pad reports it.
    pub follow_pressure: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions { pen_width_px: 3.0, follow_pressure: true }
    }
}

/// A point after quantisation: what is hashed and drawn.
#[derive(Clone, Copy)]
struct Q {
    x: u32,
    y: u32,
    t: u32,
    p: u16,
}

impl Q {
    fn xy(self) -> (f32, f32) {
        (self.x as f32 / 10.0, self.y as f32 / 10.0)
    }
    fn width(self, o: &RenderOptions) -> f32 {
        if o.follow_pressure && self.p != NO_PRESSURE {
            o.pen_width_px * (0.5 + f32::from(self.p) / 1000.0)
        } else {
            o.pen_width_px
        }
    }
}

fn tenths(v: f32) -> u32 {
    // Validated: 0 <= v <= MAX_PAD_SIDE, so this fits; `as` saturates in any case.
    (f64::from(v) * 10.0).round() as u32
}

impl Signature {
    pub fn validate(&self) -> Result<(), StrokeError> {
        if !(1..=MAX_PAD_SIDE).contains(&self.width) || !(1..=MAX_PAD_SIDE).contains(&self.height) {
            return Err(StrokeError::BadPadSize { width: self.width, height: self.height });
        }
        if self.strokes.is_empty() {
            return Err(StrokeError::NoStrokes);
        }
        let count = self.strokes.iter().map(|s| s.points.len()).fold(0usize, usize::saturating_add);
        if count > MAX_POINTS {
            return Err(StrokeError::TooManyPoints { count });
        }
        let (w, h) = (self.width as f32, self.height as f32);
        let mut ink = 0.0f64;
        for (si, stroke) in self.strokes.iter().enumerate() {
            if stroke.points.is_empty() {
                return Err(StrokeError::EmptyStroke { stroke: si });
            }
            let mut prev_ms = 0;
            let mut prev_xy: Option<(f64, f64)> = None;
            for (pi, p) in stroke.points.iter().enumerate() {
                if !p.x.is_finite() || !p.y.is_finite() || p.pressure.is_some_and(|v| !v.is_finite()) {
                    return Err(StrokeError::NotFinite { stroke: si, point: pi });
                }
                if !(0.0..=w).contains(&p.x) || !(0.0..=h).contains(&p.y) {
                    return Err(StrokeError::OutsidePad { stroke: si, point: pi, x: p.x, y: p.y });
                }
                if let Some(pressure) = p.pressure.filter(|v| !(0.0..=1.0).contains(v)) {
                    return Err(StrokeError::BadPressure { stroke: si, point: pi, pressure });
                }
                if pi > 0 && p.t_ms < prev_ms {
                    return Err(StrokeError::TimeWentBack { stroke: si, point: pi, t_ms: p.t_ms, prev_ms });
                }
                prev_ms = p.t_ms;
                let xy = (f64::from(p.x), f64::from(p.y));
                if let Some(prev) = prev_xy {
                    ink += (xy.0 - prev.0).hypot(xy.1 - prev.1);
                }
                prev_xy = Some(xy);
            }
        }
        let limit_px = MAX_INK_PER_SPAN * f64::from(self.width + self.height);
        if ink > limit_px {
            return Err(StrokeError::TooMuchInk { ink_px: ink, limit_px });
        }
        Ok(())
    }

    fn quantised(&self) -> Result<Vec<Vec<Q>>, StrokeError> {
        self.validate()?;
        Ok(self
            .strokes
            .iter()
            .map(|s| {
                s.points
                    .iter()
                    .map(|p| Q {
                        x: tenths(p.x),
                        y: tenths(p.y),
                        t: p.t_ms,
                        p: p.pressure.map_or(NO_PRESSURE, |v| (f64::from(v) * 1000.0).round() as u16),
                    })
                    .collect()
            })
            .collect())
    }

    /// The "gridbook-strokes/1" bytes described at the top of this file. Validates first.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, StrokeError> {
        let q = self.quantised()?;
        let points: usize = q.iter().map(Vec::len).sum();
        let mut out = Vec::with_capacity(TAG.len() + 12 + q.len() * 4 + points * 14);
        out.extend_from_slice(TAG);
        // Counts fit in u32: validate() bounds them by MAX_POINTS.
        for n in [self.width, self.height, q.len() as u32] {
            out.extend_from_slice(&n.to_be_bytes());
        }
        for stroke in &q {
            out.extend_from_slice(&(stroke.len() as u32).to_be_bytes());
            for p in stroke {
                out.extend_from_slice(&p.x.to_be_bytes());
                out.extend_from_slice(&p.y.to_be_bytes());
                out.extend_from_slice(&p.t.to_be_bytes());
                out.extend_from_slice(&p.p.to_be_bytes());
            }
        }
        Ok(out)
    }

    /// SHA-256 of [`Signature::canonical_bytes`]: the strokes hash that the seal signs.
    pub fn hash(&self) -> Result<[u8; 32], StrokeError> {
        Ok(Sha256::digest(self.canonical_bytes()?).into())
    }

    /// Counts, duration and ink length. Meaningful only for a valid signature.
    pub fn stats(&self) -> StrokeStats {
        let all = self.strokes.iter().flat_map(|s| s.points.iter());
        let first = all.clone().map(|p| p.t_ms).min().unwrap_or(0);
        let last = all.clone().map(|p| p.t_ms).max().unwrap_or(0);
        let ink: f64 = self
            .strokes
            .iter()
            .flat_map(|s| s.points.windows(2))
            .map(|w| f64::from(w[1].x - w[0].x).hypot(f64::from(w[1].y - w[0].y)))
            .filter(|d| d.is_finite())
            .sum();
        StrokeStats {
            strokes: self.strokes.len(),
            points: all.count(),
            duration_ms: last - first,
            ink_length_px: ink as f32,
        }
    }

    /// Plausibility warnings, thresholds: [`MIN_DURATION_MS`], [`MIN_POINTS`], [`DOT_MAX_INK_PX`].
    pub fn flags(&self) -> Vec<Flag> {
        let s = self.stats();
        let mut flags = Vec::new();
        let dot = s.ink_length_px < DOT_MAX_INK_PX;
        if dot {
            flags.push(Flag::Dot);
        } else if s.duration_ms < MIN_DURATION_MS {
            flags.push(Flag::TooFast);
        }
        if s.points < MIN_POINTS {
            flags.push(Flag::TooFewPoints);
        }
        flags
    }

    /// A standalone SVG document (no XML declaration, so it can also be inlined into HTML).
    /// Strokes without pressure are one `<path>`; with pressure, one path per segment so the
    /// width can follow it; a single-point stroke is a dot.
    pub fn to_svg(&self, opts: &RenderOptions) -> Result<String, StrokeError> {
        let q = self.quantised()?;
        let (w, h) = (self.width, self.height);
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\
             <g fill=\"none\" stroke=\"#1a1a1a\" stroke-linecap=\"round\" stroke-linejoin=\"round\">"
        );
        let c = |v: u32| format!("{}.{}", v / 10, v % 10);
        for stroke in &q {
            let pressured = opts.follow_pressure && stroke.iter().any(|p| p.p != NO_PRESSURE);
            match stroke.as_slice() {
                [p] => svg.push_str(&format!(
                    "<circle cx=\"{}\" cy=\"{}\" r=\"{:.2}\" fill=\"#1a1a1a\" stroke=\"none\"/>",
                    c(p.x),
                    c(p.y),
                    p.width(opts) / 2.0
                )),
                pts if pressured => {
                    for s in pts.windows(2) {
                        svg.push_str(&format!(
                            "<path d=\"M{} {}L{} {}\" stroke-width=\"{:.2}\"/>",
                            c(s[0].x),
                            c(s[0].y),
                            c(s[1].x),
                            c(s[1].y),
                            (s[0].width(opts) + s[1].width(opts)) / 2.0
                        ));
                    }
                }
                pts => {
                    let mut d = String::new();
                    for (i, p) in pts.iter().enumerate() {
                        d.push_str(&format!("{}{} {}", if i == 0 { 'M' } else { 'L' }, c(p.x), c(p.y)));
                    }
                    svg.push_str(&format!("<path d=\"{d}\" stroke-width=\"{:.2}\"/>", opts.pen_width_px));
                }
            }
        }
        svg.push_str("</g></svg>");
        Ok(svg)
    }

    /// 8-bit grayscale raster, white background, anti-aliased dark ink (row-major, width×height).
    pub fn render_gray(&self, opts: &RenderOptions) -> Result<Vec<u8>, StrokeError> {
        let q = self.quantised()?;
        let (w, h) = (self.width as usize, self.height as usize);
        let mut px = vec![0xffu8; w * h];
        for stroke in &q {
            let segs: Vec<(Q, Q)> = match stroke.as_slice() {
                [p] => vec![(*p, *p)],
                pts => pts.windows(2).map(|s| (s[0], s[1])).collect(),
            };
            for (a, b) in segs {
                let r = (a.width(opts) + b.width(opts)) / 4.0;
                draw_capsule(&mut px, w, h, a.xy(), b.xy(), r);
            }
        }
        Ok(px)
    }

    /// The signature as a grayscale PNG of the pad's size.
    pub fn to_png(&self, opts: &RenderOptions) -> Result<Vec<u8>, StrokeError> {
        self.to_png_with_text(opts, &[])
    }

    /// PNG with UTF-8 iTXt chunks (keyword, text); keywords must be 1–79 Latin-1 characters.
    pub(crate) fn to_png_with_text(
        &self,
        opts: &RenderOptions,
        text: &[(&str, String)],
    ) -> Result<Vec<u8>, StrokeError> {
        let pixels = self.render_gray(opts)?;
        let png_err = |e: png::EncodingError| StrokeError::Png(e.to_string());
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, self.width, self.height);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        for (k, v) in text {
            enc.add_itxt_chunk((*k).to_string(), v.clone()).map_err(png_err)?;
        }
        let mut writer = enc.write_header().map_err(png_err)?;
        writer.write_image_data(&pixels).map_err(png_err)?;
        writer.finish().map_err(png_err)?;
        Ok(out)
    }
}

/// Darkens pixels within `r` of segment a–b, with a one-pixel linear edge for anti-aliasing.
/// Long segments are cut into pieces about one pen width long so that each bounding box stays
/// small: the cost follows ink length × pen width, not the area a diagonal segment spans.
fn draw_capsule(px: &mut [u8], w: usize, h: usize, a: (f32, f32), b: (f32, f32), r: f32) {
    let len = (b.0 - a.0).hypot(b.1 - a.1);
    let pieces = (len / (2.0 * r).max(2.0)).ceil().max(1.0) as usize;
    let outer = r + 0.5; // coverage reaches zero here
    for i in 0..pieces {
        let t0 = i as f32 / pieces as f32;
        let t1 = (i + 1) as f32 / pieces as f32;
        let p0 = (a.0 + (b.0 - a.0) * t0, a.1 + (b.1 - a.1) * t0);
        let (dx, dy) = ((b.0 - a.0) * (t1 - t0), (b.1 - a.1) * (t1 - t0));
        let l2 = dx * dx + dy * dy;
        let inv_l2 = if l2 > 0.0 { 1.0 / l2 } else { 0.0 };
        let x0 = (p0.0.min(p0.0 + dx) - outer).floor().max(0.0) as usize;
        let y0 = (p0.1.min(p0.1 + dy) - outer).floor().max(0.0) as usize;
        let x1 = ((p0.0.max(p0.0 + dx) + outer).ceil() as usize).min(w);
        let y1 = ((p0.1.max(p0.1 + dy) + outer).ceil() as usize).min(h);
        for y in y0..y1 {
            let py = y as f32 + 0.5 - p0.1;
            for x in x0..x1 {
                let pxr = x as f32 + 0.5 - p0.0;
                let t = ((pxr * dx + py * dy) * inv_l2).clamp(0.0, 1.0);
                let (ex, ey) = (pxr - t * dx, py - t * dy);
                let d2 = ex * ex + ey * ey;
                if d2 >= outer * outer {
                    continue; // most of the box: skip the square root
                }
                let cover = (outer - d2.sqrt()).min(1.0);
                let v = 255.0 - cover * f32::from(255 - INK);
                let cell = &mut px[y * w + x];
                *cell = (*cell).min(v.round() as u8);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn a_number_beyond_f32_is_refused_when_decoded_not_made_infinite() {
        // the strokes fuzz target's input: it decoded to x = inf, which encodes as null
        let huge = format!(
            r#"{{"width":4095,"height":4096,"strokes":[{{"points":[{{"x":2048{}.5,"y":0.0,"t_ms":0}}]}}]}}"#,
            "1".repeat(120)
        );
        assert!(serde_json::from_str::<Signature>(&huge).is_err());
        let pressure = r#"{"width":10,"height":10,"strokes":[{"points":[{"x":1,"y":1,"t_ms":0,"pressure":1e39}]}]}"#;
        assert!(serde_json::from_str::<Signature>(pressure).is_err());
        // what a pad sends still decodes, pressure or none, and round-trips
        let fine = r#"{"width":10,"height":10,"strokes":[{"points":[{"x":1.5,"y":2,"t_ms":0,"pressure":0.25},{"x":3,"y":4,"t_ms":9}]}]}"#;
        let sig: Signature = serde_json::from_str(fine).unwrap();
        assert_eq!(sig.strokes[0].points[0].pressure, Some(0.25));
        assert_eq!(sig.strokes[0].points[1].pressure, None);
        assert_eq!(serde_json::from_str::<Signature>(&serde_json::to_string(&sig).unwrap()).unwrap(), sig);
    }

    fn pt(x: f32, y: f32, t_ms: u32) -> Point {
        Point { x, y, t_ms, pressure: None }
    }

    /// A plausible two-stroke signature on a 200×100 pad: a horizontal line at y=30 from x=20 to
    /// x=180 over 600 ms, then a short vertical stroke at x=100 from y=50 to y=80.
    pub(crate) fn sample() -> Signature {
        let line = (0..=16).map(|i| pt(20.0 + 10.0 * i as f32, 30.0, 40 * i)).collect();
        let down = (0..=6).map(|i| pt(100.0, 50.0 + 5.0 * i as f32, 800 + 30 * i)).collect();
        Signature { width: 200, height: 100, strokes: vec![Stroke { points: line }, Stroke { points: down }] }
    }

    #[test]
    fn valid_sample_has_no_flags() {
        let s = sample();
        assert_eq!(s.validate(), Ok(()));
        assert_eq!(s.flags(), Vec::<Flag>::new());
        let st = s.stats();
        assert_eq!((st.strokes, st.points, st.duration_ms), (2, 24, 980));
        assert!((st.ink_length_px - 190.0).abs() < 0.01);
    }

    #[test]
    fn validation_names_the_problem() {
        let mut s = sample();
        s.strokes.clear();
        assert_eq!(s.validate(), Err(StrokeError::NoStrokes));

        let mut s = sample();
        s.strokes[1].points.clear();
        assert_eq!(s.validate(), Err(StrokeError::EmptyStroke { stroke: 1 }));

        let mut s = sample();
        s.strokes[0].points[3].x = f32::NAN;
        assert_eq!(s.validate(), Err(StrokeError::NotFinite { stroke: 0, point: 3 }));

        let mut s = sample();
        s.strokes[0].points[2].y = 100.5;
        assert!(matches!(s.validate(), Err(StrokeError::OutsidePad { stroke: 0, point: 2, .. })));

        let mut s = sample();
        s.strokes[0].points[2].x = -0.1;
        assert!(matches!(s.validate(), Err(StrokeError::OutsidePad { .. })));

        let mut s = sample();
        s.strokes[1].points[4].t_ms = 0;
        assert!(matches!(s.validate(), Err(StrokeError::TimeWentBack { stroke: 1, point: 4, .. })));

        let mut s = sample();
        s.strokes[0].points[0].pressure = Some(1.5);
        assert!(matches!(s.validate(), Err(StrokeError::BadPressure { .. })));

        let mut s = sample();
        let zigzag = (0..400).map(|i| pt(if i % 2 == 0 { 0.0 } else { 200.0 }, 50.0, i)).collect();
        s.strokes.push(Stroke { points: zigzag });
        assert!(matches!(s.validate(), Err(StrokeError::TooMuchInk { .. })));

        let mut s = sample();
        s.width = 0;
        assert!(matches!(s.validate(), Err(StrokeError::BadPadSize { .. })));

        let mut s = sample();
        s.strokes = vec![Stroke { points: vec![pt(1.0, 1.0, 0); MAX_POINTS + 1] }];
        assert_eq!(s.validate(), Err(StrokeError::TooManyPoints { count: MAX_POINTS + 1 }));
        assert!(s.hash().is_err(), "an invalid signature has no hash");
    }

    #[test]
    fn flags_catch_implausible_signatures() {
        let tap = Signature { width: 50, height: 50, strokes: vec![Stroke { points: vec![pt(10.0, 10.0, 0)] }] };
        assert_eq!(tap.flags(), vec![Flag::Dot, Flag::TooFewPoints]);

        let mut swipe = sample();
        for (i, p) in swipe.strokes.iter_mut().flat_map(|s| s.points.iter_mut()).enumerate() {
            p.t_ms = i as u32 * 5; // whole thing in 115 ms
        }
        assert_eq!(swipe.flags(), vec![Flag::TooFast]);
    }

    #[test]
    fn hash_is_stable_under_float_noise_but_not_under_real_change() {
        let a = sample();
        let mut b = sample();
        b.strokes[0].points[5].x += 0.01; // below the 0.1 px quantum
        assert_eq!(a.hash(), b.hash());
        b.strokes[0].points[5].x += 0.1;
        assert_ne!(a.hash(), b.hash());

        // Timing and pressure are part of the evidence too.
        let mut t = sample();
        t.strokes[1].points[6].t_ms += 1;
        assert_ne!(a.hash(), t.hash());
        let mut p = sample();
        p.strokes[0].points[0].pressure = Some(0.0);
        assert_ne!(a.hash(), p.hash(), "pressure 0 differs from no pressure");

        // Moving a point from one stroke to the next changes the hash (stroke counts are encoded).
        let mut c = sample();
        let moved = c.strokes[0].points.pop().into_iter().collect::<Vec<_>>();
        c.strokes[1].points.splice(0..0, moved);
        assert_ne!(a.hash(), c.hash());

        // JSON round trip (how strokes travel to the server) keeps the hash.
        let json = serde_json::to_string(&a).unwrap();
        let back: Signature = serde_json::from_str(&json).unwrap();
        assert_eq!(a.hash(), back.hash());
        assert!(a.canonical_bytes().unwrap().starts_with(b"gridbook-strokes/1\n"));
    }

    #[test]
    fn svg_is_well_formed_xml() {
        let mut s = sample();
        s.strokes[1].points.iter_mut().for_each(|p| p.pressure = Some(0.8));
        s.strokes.push(Stroke { points: vec![pt(150.0, 70.0, 1200)] });
        let svg = s.to_svg(&RenderOptions::default()).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(root.attribute("viewBox"), Some("0 0 200 100"));
        let paths = doc.descendants().filter(|n| n.has_tag_name("path")).count();
        assert_eq!(paths, 1 + 6, "one path for the plain stroke, one per pressured segment");
        assert_eq!(doc.descendants().filter(|n| n.has_tag_name("circle")).count(), 1);
        assert!(svg.contains("M20.0 30.0L30.0 30.0"));
    }

    #[test]
    fn png_decodes_with_ink_only_where_drawn() {
        let s = sample();
        let bytes = s.to_png(&RenderOptions { pen_width_px: 4.0, follow_pressure: false }).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (200, 100));
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        let at = |x: usize, y: usize| buf[y * 200 + x];
        assert!(at(100, 29) < 64, "on the horizontal stroke");
        assert!(at(100, 65) < 64, "on the vertical stroke");
        assert!(at(20, 30) < 128, "at the stroke's start (round cap)");
        assert_eq!(at(100, 10), 255, "above the stroke");
        assert_eq!(at(10, 30), 255, "left of the stroke's start");
        assert_eq!(at(190, 90), 255, "far corner");
        let dark = buf.iter().filter(|&&v| v < 128).count();
        // ~190 px of ink × 4 px pen ≈ 760 px; allow for caps and rounding.
        assert!((600..1000).contains(&dark), "dark pixels: {dark}");
    }
}
