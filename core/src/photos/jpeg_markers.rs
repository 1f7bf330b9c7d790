//! The segments of a JPEG file up to its image data: which metadata a prepared photo carries. The
//! tests use it to show a prepared photo has no EXIF (and so no GPS tags) and no XMP; the server
//! can use it on an upload for the same check.

/// One marker segment before the entropy-coded data: its marker byte (0xE1 = APP1, which holds
/// EXIF or XMP) and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JpegSegment {
    pub marker: u8,
    pub payload: Vec<u8>,
}

impl JpegSegment {
    /// An APP1 segment holding EXIF (where a camera writes GPS tags).
    pub fn is_exif(&self) -> bool {
        self.marker == 0xE1 && self.payload.starts_with(b"Exif\0")
    }

    /// An APP1 segment holding XMP (which can carry a position too).
    pub fn is_xmp(&self) -> bool {
        self.marker == 0xE1 && self.payload.starts_with(b"http://ns.adobe.com/xap/1.0/")
    }
}

/// The segments from SOI up to and including SOS (the image data after it is not walked), or
/// `None` when `bytes` is not a well-formed JPEG header.
pub fn jpeg_segments(bytes: &[u8]) -> Option<Vec<JpegSegment>> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut out = Vec::new();
    let mut i = 2usize;
    loop {
        // Fill bytes (0xFF repeated) may precede a marker.
        while bytes.get(i) == Some(&0xFF) && bytes.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if bytes.get(i) != Some(&0xFF) {
            return None;
        }
        let marker = *bytes.get(i + 1)?;
        let len = usize::from(u16::from_be_bytes([*bytes.get(i + 2)?, *bytes.get(i + 3)?]));
        if len < 2 {
            return None;
        }
        let payload = bytes.get(i + 4..i + 2 + len)?.to_vec();
        out.push(JpegSegment { marker, payload });
        if marker == 0xDA {
            return Some(out);
        }
        i += 2 + len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_segments_and_spots_exif() {
        let mut f = vec![0xFF, 0xD8];
        f.extend([0xFF, 0xE1, 0, 8]);
        f.extend(b"Exif\0\0");
        f.extend([0xFF, 0xDB, 0, 3, 9]);
        f.extend([0xFF, 0xDA, 0, 2, 1, 2, 3]);
        let segs = jpeg_segments(&f).unwrap();
        assert_eq!(segs.iter().map(|s| s.marker).collect::<Vec<_>>(), vec![0xE1, 0xDB, 0xDA]);
        assert!(segs[0].is_exif());
        assert!(!segs[1].is_exif());
        // Truncated or not a JPEG: none, never a panic.
        assert_eq!(jpeg_segments(&f[..9]), None);
        assert_eq!(jpeg_segments(b"\x89PNG"), None);
        assert_eq!(jpeg_segments(&[0xFF, 0xD8, 0xFF, 0xE1, 0, 0]), None);
    }
}
