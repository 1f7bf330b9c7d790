//! Prepares one 12-megapixel camera photo N times (decode, orient, downscale, watermark, encode)
//! and prints the time of each, for docs/benchmarks.md ("Preparing a photo"). The input is made
//! here: 4000 × 3000 of gradients under noise (detail a JPEG cannot throw away, like a real scene),
//! encoded at quality 92 as a camera does. Under callgrind, (run of 3 − run of 1) / 2 is the
//! instructions of one photo, the input's making cancelled out.
//!
//! `cargo run --release -p gridbook-core --example photo_profile -- 5 [font.ttc]`
use std::time::Instant;

use gridbook_core::photos::{prepare_photo_with, Fix, PrepareOptions, Stamp, WatermarkFont};
use image::codecs::jpeg::JpegEncoder;
use image::RgbImage;
use rand::{Rng, SeedableRng};

const WIDTH: u32 = 4000;
const HEIGHT: u32 = 3000;
/// Debian's fonts-noto-cjk (`.ci/install-tools`), the receipt image's font.
const NOTO_CJK: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

/// The synthetic camera JPEG: two crossing gradients, a pattern of bands, and per-pixel noise.
fn camera_jpeg() -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(12);
    let img = RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        let gx = (x * 255 / WIDTH) as i32;
        let gy = (y * 255 / HEIGHT) as i32;
        let band = if (x / 37 + y / 53) % 2 == 0 { 24 } else { -24 };
        let mut px = [gx + band, gy - band, (gx + gy) / 2];
        for c in &mut px {
            *c = (*c + rng.gen_range(-40..=40)).clamp(0, 255);
        }
        image::Rgb([px[0] as u8, px[1] as u8, px[2] as u8])
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 92).encode_image(&img).expect("encode the input");
    out
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let font_path = args.next().unwrap_or_else(|| NOTO_CJK.to_string());
    let font_bytes = std::fs::read(&font_path).unwrap_or_else(|e| panic!("{font_path}: {e} (run .ci/install-tools)"));
    // what every photo cost the apps before the font was kept per process (`WatermarkFont::cached`)
    let started = Instant::now();
    let font = WatermarkFont::load(&font_bytes).expect("a CJK font");
    eprintln!("font parsed in {:.1} ms", started.elapsed().as_secs_f64() * 1000.0);
    let raw = camera_jpeg();
    let stamp = Stamp {
        taken_at_ms: 1_793_667_600_000,
        manager: "张伟".into(),
        grid: "岳麓一网格".into(),
        address: "岳麓区麓山南路 932 号 3 栋 2 单元 501".into(),
        fix: Some(Fix { lat: 28.228, lon: 112.9388, accuracy_m: 12.0 }),
    };
    eprintln!("input: {WIDTH} × {HEIGHT}, {} bytes at quality 92", raw.len());
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let photo = prepare_photo_with(&raw, &stamp, &font, PrepareOptions::default()).expect("prepared");
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        eprintln!("{} × {}, {} bytes: {:.1} ms", photo.width, photo.height, photo.jpeg.len(), times[times.len() - 1]);
    }
    times.sort_by(f64::total_cmp);
    if let Some(median) = times.get(times.len() / 2) {
        println!("median of {n}: {median:.1} ms (min {:.1} ms)", times[0]);
    }
}
