//! The QR code on the customer's copy of a receipt: a link to the public check of this receipt
//! (`/verify?no=…&code=…` on the server the configuration names), as modules the HTML page draws
//! as SVG and the receipt image draws as pixels. Error correction M: a printed receipt survives a
//! crease or a smudge.

use qrcode::{Color, EcLevel, QrCode};

/// The public check's page on the server (sync-server's `/verify`, HTML, no login).
pub const VERIFY_PAGE_PATH: &str = "/verify";
/// White modules around the code, as the QR standard asks.
pub const QUIET_ZONE: usize = 4;
/// The longest link a receipt carries (a base URL of a few hundred bytes is plenty).
pub const MAX_LINK_BYTES: usize = 512;

/// The link a receipt's QR code carries: `{base}/verify?no={receipt_no}&code={code}`, the base
/// without a trailing slash. None when the base is not an http(s) address or the link is too long.
pub fn verify_link(base_url: &str, receipt_no: &str, code: &str) -> Option<String> {
    let base = base_url.trim().trim_end_matches('/');
    let scheme_ok = base.starts_with("https://") || base.starts_with("http://");
    if !scheme_ok || !base.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let link = format!("{base}{VERIFY_PAGE_PATH}?no={}&code={}", query_escape(receipt_no), query_escape(code));
    (link.len() <= MAX_LINK_BYTES).then_some(link)
}

/// `text` for a query string: letters, digits and `-._~` as they are, every other byte as %XX.
pub fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A QR code's modules, without the quiet zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    width: usize,
    dark: Vec<bool>,
}

impl QrMatrix {
    /// `text` as a QR code (level M); None when it does not fit in one.
    pub fn new(text: &str) -> Option<Self> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
        let dark = code.to_colors().into_iter().map(|c| c == Color::Dark).collect();
        Some(QrMatrix { width: code.width(), dark })
    }

    /// Modules on a side.
    pub fn width(&self) -> usize {
        self.width
    }

    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }

    /// An `<svg>` element `module_px` a module, quiet zone included, dark modules as one path.
    pub fn svg(&self, module_px: u32) -> String {
        let side = (self.width + 2 * QUIET_ZONE) as u32 * module_px;
        let mut path = String::new();
        for y in 0..self.width {
            for x in 0..self.width {
                if self.is_dark(x, y) {
                    path.push_str(&format!("M{} {}h1v1h-1z", x + QUIET_ZONE, y + QUIET_ZONE));
                }
            }
        }
        let view = self.width + 2 * QUIET_ZONE;
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{side}\" height=\"{side}\" viewBox=\"0 0 {view} {view}\" \
             shape-rendering=\"crispEdges\"><rect width=\"{view}\" height=\"{view}\" fill=\"#fff\"/>\
             <path fill=\"#000\" d=\"{path}\"/></svg>"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_escaped_and_only_to_web_addresses() {
        assert_eq!(
            verify_link("https://gb.example/", "SJ000001-001", "ABCD-EFGH-JK").as_deref(),
            Some("https://gb.example/verify?no=SJ000001-001&code=ABCD-EFGH-JK")
        );
        assert_eq!(
            verify_link("http://127.0.0.1:8080", "R 1&x", "c").as_deref(),
            Some("http://127.0.0.1:8080/verify?no=R%201%26x&code=c")
        );
        assert_eq!(verify_link("javascript:alert(1)", "R1", "c"), None);
        assert_eq!(verify_link("https://gb example", "R1", "c"), None);
        assert_eq!(verify_link(&format!("https://{}", "a".repeat(600)), "R1", "c"), None);
        assert_eq!(query_escape("a b&c=张"), "a%20b%26c%3D%E5%BC%A0");
    }

    #[test]
    fn a_matrix_has_finder_patterns_and_an_svg() {
        let m = QrMatrix::new("https://gb.example/verify?no=SJ000001-001&code=ABCD-EFGH-JK").unwrap();
        let version = (m.width() - 17) / 4;
        assert!(version >= 1 && 17 + 4 * version == m.width(), "{}", m.width());
        // the three finder patterns' corners are dark, the module beside the top-left one light
        let w = m.width();
        assert!(m.is_dark(0, 0) && m.is_dark(w - 1, 0) && m.is_dark(0, w - 1));
        assert!(!m.is_dark(7, 0) && !m.is_dark(w, 0));
        let svg = m.svg(4);
        let side = (w + 8) * 4;
        assert!(svg.starts_with(&format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{side}\"")), "{svg}");
        assert!(roxmltree::Document::parse(&svg).is_ok());
        assert_ne!(QrMatrix::new("a"), QrMatrix::new("b"));
        assert!(QrMatrix::new(&"x".repeat(5_000)).is_none());
    }
}
