//! Where the phone was when it recorded a fact (proof of visit): the fix as the platform gave it
//! (WGS-84, accuracy, age, provider, mock flag) or "no fix within 30 s", its bounds, the distance
//! between two positions, the server's flag rule, and the GCJ-02 / BD-09 conversions that Chinese
//! map tiles need.
//!
//! Positions are kept, sent and compared as WGS-84 micro-degrees, which is what GPS gives.
//! GCJ-02 (the "Mars" datum) is needed only to draw or link a point on a Chinese map: AMap (高德)
//! and Tencent maps take GCJ-02, Baidu maps take BD-09 (GCJ-02 shifted once more). Nothing is
//! stored converted; the back office converts when it builds a map link.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How long a phone waits for a fix before it records "no fix" (30 秒内无定位): the visit is
/// never held up by the sky.
pub const FIX_WAIT_MS: i64 = 30_000;
/// The widest accuracy a fix may claim, metres: a cell-tower fix in the country can be a few km.
pub const MAX_ACCURACY_M: i64 = 20_000;
/// The oldest a fix may be when it is recorded: an older "last known" fix says nothing of the visit.
pub const MAX_AGE_MS: i64 = 10 * 60 * 1000;
/// The longest wait a "no fix" may report.
pub const MAX_WAIT_MS: i64 = 10 * 60 * 1000;
/// A fix good enough to become a household's reference position: not mocked, within this many
/// metres, and no older than `REFERENCE_MAX_AGE_MS`.
pub const REFERENCE_MAX_ACCURACY_M: i64 = 50;
/// See `REFERENCE_MAX_ACCURACY_M`.
pub const REFERENCE_MAX_AGE_MS: i64 = 60_000;
/// The server's default for how far from the reference a visit may be before it is flagged,
/// metres (`--visit-max-distance-m`); a fix's own accuracy widens it (`check`).
pub const DEFAULT_MAX_DISTANCE_M: i64 = 200;

/// Where the position came from, as the platform says it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(rename_all = "snake_case"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum LocationProvider {
    /// Satellites (Android `gps`).
    Gps,
    /// Cell towers and Wi-Fi (Android `network`).
    Network,
    /// The platform's own blend (Android `fused`, API 31+).
    Fused,
    /// Another app's fix, passed on (Android `passive`).
    Passive,
    /// Anything else; iOS Core Location, which does not say.
    Other,
}

impl LocationProvider {
    pub const ALL: [LocationProvider; 5] = [Self::Gps, Self::Network, Self::Fused, Self::Passive, Self::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gps => "gps",
            Self::Network => "network",
            Self::Fused => "fused",
            Self::Passive => "passive",
            Self::Other => "other",
        }
    }

    /// The platform's provider name; an unknown one is `Other`, never an error.
    pub fn from_platform(name: &str) -> Self {
        Self::ALL.into_iter().find(|p| p.as_str() == name).unwrap_or(Self::Other)
    }
}

/// One fix: WGS-84 micro-degrees, the platform's accuracy (radius in metres, 68 %), how old the
/// fix was when the fact was recorded, its provider, and whether the system marked it as coming
/// from a mock-location app.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LocationFix {
    /// Latitude, WGS-84 micro-degrees.
    #[cfg_attr(feature = "openapi", schema(minimum = -90_000_000, maximum = 90_000_000))]
    pub lat_e6: i64,
    /// Longitude, WGS-84 micro-degrees.
    #[cfg_attr(feature = "openapi", schema(minimum = -180_000_000, maximum = 180_000_000))]
    pub lon_e6: i64,
    /// Horizontal accuracy, metres, rounded up.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 20_000))]
    pub accuracy_m: i64,
    /// The fix's age when the fact was recorded, ms.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 600_000))]
    pub age_ms: i64,
    /// Where it came from.
    pub provider: LocationProvider,
    /// The system flagged it as a mock location (Android `isMock`, iOS `isSimulatedBySoftware`).
    pub mock: bool,
}

/// What a fact says of where the phone was: a fix, or none within the wait (a value, never a
/// blocker). On the wire `{"fix": {...}}` or `{"no_fix": {"waited_ms": 30000}}`; a fact from an
/// app older than this field has no `location` at all.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// The phone had a fix.
    Fix(LocationFix),
    /// 30 秒内无定位 / no fix within the wait.
    NoFix {
        /// How long the phone waited, ms.
        #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 600_000))]
        waited_ms: i64,
    },
}

/// A position refused, with the bound it broke.
#[derive(Debug, Clone, Copy, PartialEq, Error)]
pub enum LocationError {
    #[error("纬度须在 ±90° 之间 / latitude must be within ±90°")]
    Latitude,
    #[error("经度须在 ±180° 之间 / longitude must be within ±180°")]
    Longitude,
    #[error("坐标须为有限数值 / coordinates must be finite numbers")]
    NotFinite,
    #[error("精度须在 1 至 20000 米之间 / accuracy must be 1 to 20000 metres")]
    Accuracy,
    #[error("定位时间须在 0 至 10 分钟之间 / a fix's age must be 0 to 10 minutes")]
    Age,
    #[error("等待时间须在 0 至 10 分钟之间 / the wait must be 0 to 10 minutes")]
    Wait,
}

impl LocationError {
    /// The field of `LocationFix` (or `waited_ms`) the error is about.
    pub fn field(self) -> &'static str {
        match self {
            Self::Latitude | Self::NotFinite => "lat_e6",
            Self::Longitude => "lon_e6",
            Self::Accuracy => "accuracy_m",
            Self::Age => "age_ms",
            Self::Wait => "waited_ms",
        }
    }
}

impl LocationFix {
    /// A fix from the platform's numbers (degrees and metres as doubles, the age in ms), checked.
    /// An accuracy under a metre counts as one metre; `None` (the platform has none) as the widest.
    pub fn from_degrees(
        lat: f64,
        lon: f64,
        accuracy_m: Option<f64>,
        age_ms: i64,
        provider: LocationProvider,
        mock: bool,
    ) -> Result<Self, LocationError> {
        if !lat.is_finite() || !lon.is_finite() {
            return Err(LocationError::NotFinite);
        }
        let accuracy_m = match accuracy_m {
            None => MAX_ACCURACY_M,
            Some(a) if a.is_finite() && a >= 0.0 && a <= MAX_ACCURACY_M as f64 => (a.ceil() as i64).max(1),
            Some(_) => return Err(LocationError::Accuracy),
        };
        // range-checked before the cast, so the cast never saturates
        if lat.abs() > 90.0 {
            return Err(LocationError::Latitude);
        }
        if lon.abs() > 180.0 {
            return Err(LocationError::Longitude);
        }
        let fix = Self {
            lat_e6: (lat * 1e6).round() as i64,
            lon_e6: (lon * 1e6).round() as i64,
            accuracy_m,
            age_ms,
            provider,
            mock,
        };
        fix.check()?;
        Ok(fix)
    }

    /// The bounds every fix keeps, wherever it came from (a phone, the wire).
    pub fn check(&self) -> Result<(), LocationError> {
        if self.lat_e6.abs() > 90_000_000 {
            return Err(LocationError::Latitude);
        }
        if self.lon_e6.abs() > 180_000_000 {
            return Err(LocationError::Longitude);
        }
        if !(1..=MAX_ACCURACY_M).contains(&self.accuracy_m) {
            return Err(LocationError::Accuracy);
        }
        if !(0..=MAX_AGE_MS).contains(&self.age_ms) {
            return Err(LocationError::Age);
        }
        Ok(())
    }

    /// Good enough to become a household's reference position.
    pub fn good_for_reference(&self) -> bool {
        !self.mock && self.accuracy_m <= REFERENCE_MAX_ACCURACY_M && self.age_ms <= REFERENCE_MAX_AGE_MS
    }

    pub fn point(&self) -> Point {
        Point { lat_e6: self.lat_e6, lon_e6: self.lon_e6 }
    }
}

impl Position {
    /// "No fix within the wait" for the usual 30 s.
    pub fn no_fix() -> Self {
        Self::NoFix { waited_ms: FIX_WAIT_MS }
    }

    pub fn check(&self) -> Result<(), LocationError> {
        match self {
            Self::Fix(fix) => fix.check(),
            Self::NoFix { waited_ms } if (0..=MAX_WAIT_MS).contains(waited_ms) => Ok(()),
            Self::NoFix { .. } => Err(LocationError::Wait),
        }
    }

    pub fn fix(&self) -> Option<&LocationFix> {
        match self {
            Self::Fix(fix) => Some(fix),
            Self::NoFix { .. } => None,
        }
    }

    /// What the phone shows and the back office prints for it, zh-CN first.
    pub fn describe(&self) -> String {
        match self {
            Self::Fix(f) => format!(
                "{:.6}, {:.6} ±{} 米 / m{}",
                f.lat_e6 as f64 / 1e6,
                f.lon_e6 as f64 / 1e6,
                f.accuracy_m,
                if f.mock { "（模拟定位 / mock location）" } else { "" }
            ),
            Self::NoFix { waited_ms } => {
                let s = waited_ms / 1000;
                format!("{s} 秒内无定位 / no fix within {s} s")
            }
        }
    }
}

/// Sets a fact's `lat_e6`/`lon_e6` from its position's fix when the app left them empty, so the
/// app gives the position once (validation then holds them equal).
pub fn fill_coordinates(position: Option<&Position>, lat_e6: &mut Option<i64>, lon_e6: &mut Option<i64>) {
    if let (Some(fix), None, None) = (position.and_then(Position::fix), *lat_e6, *lon_e6) {
        *lat_e6 = Some(fix.lat_e6);
        *lon_e6 = Some(fix.lon_e6);
    }
}

/// A WGS-84 point in micro-degrees (a reference position, or a fix's place).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    pub lat_e6: i64,
    pub lon_e6: i64,
}

impl Point {
    /// None when out of range.
    pub fn new(lat_e6: i64, lon_e6: i64) -> Option<Self> {
        (lat_e6.abs() <= 90_000_000 && lon_e6.abs() <= 180_000_000).then_some(Self { lat_e6, lon_e6 })
    }

    fn radians(self) -> (f64, f64) {
        ((self.lat_e6 as f64 / 1e6).to_radians(), (self.lon_e6 as f64 / 1e6).to_radians())
    }
}

/// The mean Earth radius (IUGG), metres: the haversine's error against the ellipsoid is under
/// 0.5 %, far inside any phone's accuracy.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance in metres (haversine), rounded to the metre.
pub fn distance_m(a: Point, b: Point) -> i64 {
    let (lat1, lon1) = a.radians();
    let (lat2, lon2) = b.radians();
    let h = ((lat2 - lat1) / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    // clamped: rounding can push h a hair past 1 for antipodes
    let c = 2.0 * h.clamp(0.0, 1.0).sqrt().asin();
    (EARTH_RADIUS_M * c).round() as i64
}

/// The server's judgement of one fact's position against its household's reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationCheck {
    /// Metres from the reference, when both are known.
    pub distance_m: Option<i64>,
    /// Further from the reference than max(accuracy, the server's distance).
    pub far: bool,
    /// The system said the fix was mocked.
    pub mock: bool,
    /// The phone recorded "no fix".
    pub no_fix: bool,
}

impl LocationCheck {
    pub fn flagged(&self) -> bool {
        self.far || self.mock || self.no_fix
    }
}

/// Judges a fact's position against its household's reference (None: not set yet). A fact from an
/// app that sends no position (`None`) is not judged: it is neither flagged nor counted as no fix.
pub fn check(position: Option<&Position>, reference: Option<Point>, max_distance_m: i64) -> LocationCheck {
    let mut out = LocationCheck { distance_m: None, far: false, mock: false, no_fix: false };
    match position {
        None => {}
        Some(Position::NoFix { .. }) => out.no_fix = true,
        Some(Position::Fix(fix)) => {
            out.mock = fix.mock;
            if let Some(reference) = reference {
                let d = distance_m(fix.point(), reference);
                out.distance_m = Some(d);
                out.far = d > fix.accuracy_m.max(max_distance_m);
            }
        }
    }
    out
}

// GCJ-02: the published obfuscation (GB 20263), Krasovsky ellipsoid constants as every
// implementation uses them.
const GCJ_A: f64 = 6_378_245.0;
const GCJ_EE: f64 = 0.006_693_421_622_965_943;

/// Outside mainland China's box GCJ-02 equals WGS-84 (maps there use WGS-84).
fn outside_china(lat: f64, lon: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

fn shift_lat(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn shift_lon(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// WGS-84 degrees (lat, lon) to GCJ-02, for AMap (高德) and Tencent map tiles and links.
pub fn wgs84_to_gcj02(lat: f64, lon: f64) -> (f64, f64) {
    use std::f64::consts::PI;
    if outside_china(lat, lon) {
        return (lat, lon);
    }
    let d_lat = shift_lat(lon - 105.0, lat - 35.0);
    let d_lon = shift_lon(lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - GCJ_EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    let d_lat = (d_lat * 180.0) / ((GCJ_A * (1.0 - GCJ_EE)) / (magic * sqrt_magic) * PI);
    let d_lon = (d_lon * 180.0) / (GCJ_A / sqrt_magic * rad_lat.cos() * PI);
    (lat + d_lat, lon + d_lon)
}

/// GCJ-02 degrees (lat, lon) to BD-09, for Baidu map tiles and links.
pub fn gcj02_to_bd09(lat: f64, lon: f64) -> (f64, f64) {
    const X_PI: f64 = std::f64::consts::PI * 3000.0 / 180.0;
    let z = (lon * lon + lat * lat).sqrt() + 0.00002 * (lat * X_PI).sin();
    let theta = lat.atan2(lon) + 0.000003 * (lon * X_PI).cos();
    (z * theta.sin() + 0.006, z * theta.cos() + 0.0065)
}

/// An AMap (高德) link that shows a WGS-84 point as a marker: AMap takes GCJ-02.
pub fn amap_link(point: Point, name: &str) -> String {
    let (lat, lon) = wgs84_to_gcj02(point.lat_e6 as f64 / 1e6, point.lon_e6 as f64 / 1e6);
    let name: String =
        name.chars().filter(|c| c.is_alphanumeric() || (*c as u32 > 0x2E7F && !c.is_whitespace())).take(40).collect();
    format!("https://uri.amap.com/marker?position={lon:.6},{lat:.6}&name={name}&coordinate=gaode")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(lat_e6: i64, lon_e6: i64, accuracy_m: i64, mock: bool) -> Position {
        Position::Fix(LocationFix { lat_e6, lon_e6, accuracy_m, age_ms: 2_000, provider: LocationProvider::Gps, mock })
    }

    #[test]
    fn wgs84_to_gcj02_matches_published_pairs() {
        // coordtransform's README (same constants): exact to 1e-9 degrees
        let (lat, lon) = wgs84_to_gcj02(39.915, 116.404);
        assert!((lat - 39.916_404_281_501_64).abs() < 1e-9, "{lat}");
        assert!((lon - 116.410_244_499_169_38).abs() < 1e-9, "{lon}");
        // eviltransform's test pairs (Shanghai, Shenzhen, Beijing; WGS-84 semi-major axis): within
        // 1e-6 degrees (about 0.1 m)
        for (wlat, wlon, glat, glon) in [
            (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
            (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
            (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
        ] {
            let (lat, lon) = wgs84_to_gcj02(wlat, wlon);
            assert!((lat - glat).abs() < 1e-6 && (lon - glon).abs() < 1e-6, "{wlat},{wlon} -> {lat},{lon}");
        }
    }

    #[test]
    fn gcj02_to_bd09_matches_a_published_pair_and_outside_china_is_unchanged() {
        let (lat, lon) = gcj02_to_bd09(39.915, 116.404);
        assert!((lat - 39.921_336_993_510_21).abs() < 1e-9, "{lat}");
        assert!((lon - 116.410_369_493_710_29).abs() < 1e-9, "{lon}");
        assert_eq!(wgs84_to_gcj02(48.8584, 2.2945), (48.8584, 2.2945));
    }

    #[test]
    fn amap_links_carry_gcj02_coordinates() {
        let link = amap_link(Point { lat_e6: 39_915_000, lon_e6: 116_404_000 }, "3号楼 <x>");
        assert_eq!(link, "https://uri.amap.com/marker?position=116.410244,39.916404&name=3号楼x&coordinate=gaode");
    }

    #[test]
    fn haversine_distances_match_known_ones() {
        // one degree of latitude: 111.195 km on the mean sphere
        assert_eq!(distance_m(Point { lat_e6: 0, lon_e6: 0 }, Point { lat_e6: 1_000_000, lon_e6: 0 }), 111_195);
        // Tiananmen to the Forbidden City's north gate, about 1.5 km (symmetrical, zero to itself)
        let a = Point { lat_e6: 39_907_400, lon_e6: 116_397_400 };
        let b = Point { lat_e6: 39_921_300, lon_e6: 116_397_000 };
        assert_eq!(distance_m(a, b), distance_m(b, a));
        assert!((1_540..=1_550).contains(&distance_m(a, b)), "{}", distance_m(a, b));
        assert_eq!(distance_m(a, a), 0);
        // antipodes: half the circumference, no NaN
        assert_eq!(
            distance_m(Point { lat_e6: 0, lon_e6: 0 }, Point { lat_e6: 0, lon_e6: 180_000_000 }),
            (EARTH_RADIUS_M * std::f64::consts::PI).round() as i64
        );
    }

    #[test]
    fn a_far_visit_is_flagged_beyond_the_larger_of_accuracy_and_the_server_distance() {
        let home = Point { lat_e6: 28_228_000, lon_e6: 112_938_000 };
        // 0.003° of latitude is about 334 m
        let far = fix(28_231_000, 112_938_000, 30, false);
        let c = check(Some(&far), Some(home), 200);
        assert_eq!(c.distance_m, Some(334));
        assert!(c.far && c.flagged() && !c.mock && !c.no_fix);
        // the same place, but the fix itself is only good to 500 m: not far
        let vague = fix(28_231_000, 112_938_000, 500, false);
        assert!(!check(Some(&vague), Some(home), 200).far);
        // the server allows 400 m: not far
        assert!(!check(Some(&far), Some(home), 400).flagged());
        // near: 0.001° ≈ 111 m
        let near = fix(28_229_000, 112_938_000, 20, false);
        let c = check(Some(&near), Some(home), 200);
        assert_eq!((c.distance_m, c.flagged()), (Some(111), false));
        // no reference yet: nothing to be far from
        assert_eq!(check(Some(&far), None, 200).distance_m, None);
    }

    #[test]
    fn a_mock_location_is_flagged_even_at_the_door() {
        let home = Point { lat_e6: 28_228_000, lon_e6: 112_938_000 };
        let c = check(Some(&fix(28_228_000, 112_938_000, 5, true)), Some(home), 200);
        assert!(c.mock && c.flagged() && !c.far);
        assert_eq!(c.distance_m, Some(0));
    }

    #[test]
    fn no_fix_is_a_value_that_is_flagged_and_an_old_app_is_not_judged() {
        let home = Some(Point { lat_e6: 28_228_000, lon_e6: 112_938_000 });
        let c = check(Some(&Position::no_fix()), home, 200);
        assert!(c.no_fix && c.flagged() && c.distance_m.is_none());
        assert!(!check(None, home, 200).flagged());
        assert_eq!(Position::no_fix().describe(), "30 秒内无定位 / no fix within 30 s");
        assert_eq!(Position::no_fix().check(), Ok(()));
        assert_eq!(Position::NoFix { waited_ms: -1 }.check(), Err(LocationError::Wait));
        assert_eq!(Position::NoFix { waited_ms: MAX_WAIT_MS + 1 }.check(), Err(LocationError::Wait));
    }

    #[test]
    fn platform_numbers_are_bounded_and_rounded() {
        let p = LocationProvider::Network;
        let f = LocationFix::from_degrees(28.2280004, 112.9380006, Some(12.2), 1_500, p, false).unwrap();
        assert_eq!((f.lat_e6, f.lon_e6, f.accuracy_m), (28_228_000, 112_938_001, 13));
        assert_eq!(LocationFix::from_degrees(1.0, 1.0, Some(0.3), 0, p, false).unwrap().accuracy_m, 1);
        assert_eq!(LocationFix::from_degrees(1.0, 1.0, None, 0, p, false).unwrap().accuracy_m, MAX_ACCURACY_M);
        let bad =
            |lat: f64, lon: f64, acc: Option<f64>, age: i64| LocationFix::from_degrees(lat, lon, acc, age, p, false);
        assert_eq!(bad(f64::NAN, 1.0, Some(5.0), 0), Err(LocationError::NotFinite));
        assert_eq!(bad(1.0, f64::INFINITY, Some(5.0), 0), Err(LocationError::NotFinite));
        assert_eq!(bad(90.5, 1.0, Some(5.0), 0), Err(LocationError::Latitude));
        assert_eq!(bad(1.0, -180.5, Some(5.0), 0), Err(LocationError::Longitude));
        assert_eq!(bad(1.0, 1.0, Some(-1.0), 0), Err(LocationError::Accuracy));
        assert_eq!(bad(1.0, 1.0, Some(f64::NAN), 0), Err(LocationError::Accuracy));
        assert_eq!(bad(1.0, 1.0, Some(20_000.5), 0), Err(LocationError::Accuracy));
        assert_eq!(bad(1.0, 1.0, Some(5.0), -1), Err(LocationError::Age));
        assert_eq!(bad(1.0, 1.0, Some(5.0), MAX_AGE_MS + 1), Err(LocationError::Age));
        assert_eq!(LocationError::Accuracy.field(), "accuracy_m");
        // a fix off the wire keeps the same bounds
        let wire = LocationFix { accuracy_m: 0, ..f };
        assert_eq!(Position::Fix(wire).check(), Err(LocationError::Accuracy));
        assert_eq!(LocationProvider::from_platform("fused"), LocationProvider::Fused);
        assert_eq!(LocationProvider::from_platform("bluetooth"), LocationProvider::Other);
    }

    #[test]
    fn only_a_close_fresh_real_fix_becomes_a_reference() {
        let f = LocationFix {
            lat_e6: 1,
            lon_e6: 1,
            accuracy_m: 20,
            age_ms: 5_000,
            provider: LocationProvider::Gps,
            mock: false,
        };
        assert!(f.good_for_reference());
        assert!(!LocationFix { mock: true, ..f }.good_for_reference());
        assert!(!LocationFix { accuracy_m: 51, ..f }.good_for_reference());
        assert!(!LocationFix { age_ms: 60_001, ..f }.good_for_reference());
    }

    #[test]
    fn positions_have_the_documented_wire_form() {
        let p = fix(28_228_000, 112_938_000, 12, false);
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"fix":{"lat_e6":28228000,"lon_e6":112938000,"accuracy_m":12,"age_ms":2000,"provider":"gps","mock":false}}"#
        );
        assert_eq!(serde_json::to_string(&Position::no_fix()).unwrap(), r#"{"no_fix":{"waited_ms":30000}}"#);
        let back: Position = serde_json::from_str(r#"{"no_fix":{"waited_ms":12000}}"#).unwrap();
        assert_eq!(back, Position::NoFix { waited_ms: 12_000 });
    }
}
