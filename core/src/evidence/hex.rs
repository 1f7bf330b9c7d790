//! Lower-case hex for fixed-size byte arrays, used by serde so hashes and signatures read as
//! hex in JSON (serde has no impl for `[u8; 64]`, and hex is what people paste into tickets).

use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

pub(crate) fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

pub(crate) fn decode<const N: usize>(s: &str) -> Result<[u8; N], String> {
    let raw = s.as_bytes();
    if raw.len() != N * 2 {
        return Err(format!("expected {} hex digits, found {}", N * 2, raw.len()));
    }
    let mut out = [0u8; N];
    for (i, pair) in raw.chunks_exact(2).enumerate() {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(hi), Some(lo)) => out[i] = (hi << 4) | lo,
            _ => return Err(format!("not a hex digit at position {}", i * 2)),
        }
    }
    Ok(out)
}

/// `#[serde(with = "hex")]` for `[u8; N]`.
pub(crate) fn serialize<S: Serializer, const N: usize>(v: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&encode(v))
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
    let s = String::deserialize(d)?;
    decode::<N>(&s).map_err(D::Error::custom)
}
