//! Hybrid logical clock: the merge key of every change. Physical milliseconds plus a counter plus
//! the node (device id) that made it. It never goes backwards, absorbs remote stamps, and stays
//! usable when the phone's wall clock is hours off (docs/field.md, sync 1): the wall clock only moves
//! it forward, it never decides an order on its own.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One stamp. Ordered by (millis, counter, node): ties between devices break by device id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hlc {
    pub millis: u64,
    pub counter: u16,
    pub node: String,
}

impl Hlc {
    pub fn new(millis: u64, counter: u16, node: impl Into<String>) -> Self {
        Self { millis, counter, node: node.into() }
    }
}

impl Ord for Hlc {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.millis, self.counter, &self.node).cmp(&(other.millis, other.counter, &other.node))
    }
}
impl PartialOrd for Hlc {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Text form `mmmmmmmmmmmmcccc-node`: 12 hex digits of milliseconds, 4 of counter. Fixed width, so
/// text order equals stamp order and SQLite can compare stamps as strings.
impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.millis >= 1 << 48 {
            // past the year 10889: more than 12 digits, still in order of length then value
            return write!(f, "{:012x}{:04x}-{}", self.millis, self.counter, self.node);
        }
        // Hex by hand: every op is stamped and its stamp written as text, on phone and server
        // alike, and `{:012x}` through the formatting machinery costs several times this.
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = [0u8; 16];
        let packed = (self.millis << 16) | u64::from(self.counter);
        for (i, byte) in text.iter_mut().enumerate() {
            *byte = DIGITS[((packed >> (60 - 4 * i)) & 0xf) as usize];
        }
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)?;
        f.write_str("-")?;
        f.write_str(&self.node)
    }
}

/// The longest node (device) id a stamp may carry.
pub const MAX_NODE_ID_LEN: usize = 64;

/// The one rule for a node id, i.e. a device id: 1 to 64 ASCII letters, digits or `_` — no `-`,
/// which separates it from the time in a stamp's text. Stamp parsing and the server's enrolment
/// both ask it, so a device the server enrols can always push (a dashed UUID was once enrolled
/// and then had every stamp refused).
pub fn is_valid_node_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_NODE_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed clock stamp {0:?}: expected 12+4 hex digits, '-', node id")]
pub struct ParseHlcError(pub String);

impl FromStr for Hlc {
    type Err = ParseHlcError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseHlcError(s.chars().take(80).collect());
        let (time, node) = s.split_once('-').ok_or_else(bad)?;
        // exactly the digits `Display` writes: `from_str_radix` alone also takes a sign and
        // capitals, so "+0000000000a+00A-x" would name the stamp "00000000000a000a-x" (a second
        // text for one stamp, out of text order; the hlc_and_ids fuzz target asserts one text
        // per stamp)
        if time.len() != 16 || !time.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad());
        }
        let millis = u64::from_str_radix(&time[..12], 16).map_err(|_| bad())?;
        let counter = u16::from_str_radix(&time[12..], 16).map_err(|_| bad())?;
        if !is_valid_node_id(node) {
            return Err(bad());
        }
        Ok(Hlc { millis, counter, node: node.to_string() })
    }
}

/// On the wire a stamp is text: 12 lowercase hex digits of UTC milliseconds, 4 of counter, a dash, and
/// the device id (1–64 ASCII letters, digits or `_`).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Hlc {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(Self::PATTERN))
            .max_length(Some(81))
            .description(Some(
                "Hybrid logical clock stamp: 12 lowercase hex digits of UTC milliseconds, 4 of counter, '-', \
                 then the device id (1-64 of A-Z a-z 0-9 _). Orders as text.",
            ))
            .examples([serde_json::json!("018bcfe56800000a-dev01")])
            .into()
    }
}
#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Hlc {}

#[cfg(feature = "openapi")]
impl Hlc {
    /// The stamp's text form as a regular expression (exactly what `FromStr` accepts).
    pub const PATTERN: &'static str = "^[0-9a-f]{16}-[A-Za-z0-9_]{1,64}$";
}

impl Serialize for Hlc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where physical time comes from; tests and simulations put skewed clocks here.
pub trait WallClock: Send + Sync {
    fn now_millis(&self) -> u64;
}

/// The real wall clock.
pub struct SystemClock;
impl WallClock for SystemClock {
    fn now_millis(&self) -> u64 {
        chrono::Utc::now().timestamp_millis().max(0) as u64
    }
}

/// A wall clock off by a fixed number of milliseconds, like a phone set to the wrong time.
pub struct SkewedClock(pub i64);
impl WallClock for SkewedClock {
    fn now_millis(&self) -> u64 {
        (chrono::Utc::now().timestamp_millis() + self.0).max(0) as u64
    }
}

/// The clock state of one node.
pub struct HlcClock {
    node: String,
    millis: u64,
    counter: u16,
    wall: Box<dyn WallClock>,
}

impl HlcClock {
    pub fn new(node: impl Into<String>, wall: Box<dyn WallClock>) -> Self {
        Self { node: node.into(), millis: 0, counter: 0, wall }
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// The device's wall clock as it is (business time; may be wrong, never a merge key).
    pub fn wall_millis(&self) -> u64 {
        self.wall.now_millis()
    }

    /// The last stamp issued or absorbed (to persist, so that a restart never goes backwards).
    pub fn last(&self) -> Hlc {
        Hlc::new(self.millis, self.counter, self.node.clone())
    }

    /// Restores a persisted state; never moves the clock backwards.
    pub fn restore(&mut self, last: &Hlc) {
        if (last.millis, last.counter) > (self.millis, self.counter) {
            self.millis = last.millis;
            self.counter = last.counter;
        }
    }

    /// A fresh stamp, greater than every stamp issued or absorbed before.
    pub fn now(&mut self) -> Hlc {
        let wall = self.wall.now_millis();
        if wall > self.millis {
            self.millis = wall;
            self.counter = 0;
        } else {
            self.bump();
        }
        self.last()
    }

    /// Absorbs a stamp seen from elsewhere, so that the next local stamp orders after it.
    pub fn observe(&mut self, remote: &Hlc) {
        if (remote.millis, remote.counter) > (self.millis, self.counter) {
            self.millis = remote.millis;
            self.counter = remote.counter;
        }
    }

    fn bump(&mut self) {
        // A counter overflow borrows one millisecond from the future rather than wrapping.
        match self.counter.checked_add(1) {
            Some(c) => self.counter = c,
            None => {
                self.millis += 1;
                self.counter = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(u64);
    impl WallClock for Fixed {
        fn now_millis(&self) -> u64 {
            self.0
        }
    }

    #[test]
    fn text_form_round_trips_and_orders_like_the_stamp() {
        let a = Hlc::new(1_700_000_000_000, 3, "deva");
        let b = Hlc::new(1_700_000_000_000, 10, "deva");
        let c = Hlc::new(1_700_000_000_001, 0, "aaaa");
        for h in [&a, &b, &c] {
            assert_eq!(h.to_string().parse::<Hlc>().unwrap(), *h);
        }
        assert!(a < b && b < c);
        assert!(a.to_string() < b.to_string() && b.to_string() < c.to_string());
        // the text is 12 hex digits of milliseconds, 4 of counter, then the node
        for (h, text) in [
            (Hlc::new(0, 0, "n"), "0000000000000000-n"),
            (Hlc::new(0x18b_cfe5_6800, 0xbeef, "dev1"), "018bcfe56800beef-dev1"),
            (Hlc::new((1 << 48) - 1, u16::MAX, "z"), "ffffffffffffffff-z"),
        ] {
            assert_eq!(h.to_string(), text);
            assert_eq!(text.parse::<Hlc>().unwrap(), h);
        }
    }

    #[test]
    fn ties_break_by_node() {
        let a = Hlc::new(5, 0, "aaa");
        let b = Hlc::new(5, 0, "bbb");
        assert!(a < b);
    }

    #[test]
    fn malformed_stamps_are_refused() {
        for s in ["", "abc", "0000000000000000", "00000000000g0000-x", "0000000000000000-", "0000000000000000-a b"] {
            assert!(s.parse::<Hlc>().is_err(), "{s:?} parsed");
        }
    }

    #[test]
    fn only_the_text_display_writes_parses_a_sign_or_capitals_do_not() {
        // each of these once parsed, to a stamp that prints otherwise
        for s in ["+00000000001+fff-node", "+0000000000a+00a-x", "00000000000A000a-x", "00000000000a+00a-x"] {
            assert!(s.parse::<Hlc>().is_err(), "{s:?} parsed");
        }
        let stamp = Hlc::new(0x0a, 0x0a, "x");
        assert_eq!(stamp.to_string(), "00000000000a000a-x");
        assert_eq!("00000000000a000a-x".parse::<Hlc>(), Ok(stamp));
    }

    #[test]
    fn a_node_id_is_valid_exactly_when_a_stamp_carrying_it_parses() {
        let long = "a".repeat(MAX_NODE_ID_LEN);
        let too_long = "a".repeat(MAX_NODE_ID_LEN + 1);
        for (id, valid) in [
            ("dev1", true),
            ("0c7d9f0e3b2a4c5d8e9f00112233aabb", true),
            ("a_b", true),
            (long.as_str(), true),
            ("", false),
            (too_long.as_str(), false),
            ("0c7d9f0e-3b2a-4c5d-8e9f-00112233aabb", false),
            ("a b", false),
            ("设备", false),
        ] {
            assert_eq!(is_valid_node_id(id), valid, "{id:?}");
            assert_eq!(format!("0000000000010000-{id}").parse::<Hlc>().is_ok(), valid, "{id:?}");
        }
    }

    #[test]
    fn never_goes_backwards_when_the_wall_clock_does() {
        let mut clock = HlcClock::new("dev", Box::new(Fixed(1000)));
        let first = clock.now();
        clock.wall = Box::new(Fixed(10)); // the user set the phone's clock back
        let second = clock.now();
        let third = clock.now();
        assert!(first < second && second < third);
        assert_eq!(second.millis, 1000);
    }

    #[test]
    fn a_remote_stamp_is_absorbed() {
        let mut clock = HlcClock::new("a", Box::new(Fixed(1000)));
        let remote = Hlc::new(50_000, 7, "b");
        clock.observe(&remote);
        let next = clock.now();
        assert!(next > remote);
    }

    #[test]
    fn counter_overflow_moves_to_the_next_millisecond() {
        let mut clock = HlcClock::new("a", Box::new(Fixed(1)));
        clock.restore(&Hlc::new(1, u16::MAX, "a"));
        let next = clock.now();
        assert_eq!((next.millis, next.counter), (2, 0));
    }
}
