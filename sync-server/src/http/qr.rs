//! QR codes as SVG (the `qrcode` crate, SVG renderer only): the link to the public receipt check
//! on a printed receipt, and an enrolment code for a phone to scan. Drawn on the server, so the
//! pages load nothing from elsewhere.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// The text as a QR code, at least `size_px` square, as an `<svg>` element (no XML declaration,
/// so it sits inside a page); None when the text is too long for a QR code.
pub fn svg(text: &str, size_px: u32) -> Option<String> {
    // level M: a printed receipt survives a crease or a smudge
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let image = code.render::<svg::Color>().min_dimensions(size_px, size_px).build();
    Some(match image.find("<svg") {
        Some(start) => image[start..].to_string(),
        None => image,
    })
}

/// `text` for a query string (core's rule: the printed copy's link is escaped the same way).
pub fn query_escape(text: &str) -> String {
    gridbook_core::evidence::qr::query_escape(text)
}

/// This server's address as the request named it (`Host`, and https behind a proxy that says
/// so): where a scanned code should lead.
pub fn base_url(headers: &axum::http::HeaderMap) -> Option<String> {
    let host = headers.get(axum::http::header::HOST)?.to_str().ok()?;
    if host.is_empty() || !host.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let https =
        headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("https"));
    Some(format!("{}://{host}", if https { "https" } else { "http" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_an_svg_element_and_too_much_text_is_none() {
        let s = svg("http://127.0.0.1:8080/verify?no=SJ000001-001&code=ABCD-EFGH-JK", 160).unwrap();
        assert!(s.starts_with("<svg") && s.ends_with("</svg>") && s.contains("<path"), "{s}");
        assert!(svg(&"x".repeat(5_000), 160).is_none());
        assert_ne!(svg("a", 100), svg("b", 100));
    }

    #[test]
    fn query_values_and_the_base_url() {
        assert_eq!(query_escape("SJ000001-001"), "SJ000001-001");
        assert_eq!(query_escape("a b&c=张"), "a%20b%26c%3D%E5%BC%A0");
        let mut h = axum::http::HeaderMap::new();
        assert_eq!(base_url(&h), None);
        h.insert(axum::http::header::HOST, "gb.example:8443".parse().unwrap());
        assert_eq!(base_url(&h).as_deref(), Some("http://gb.example:8443"));
        h.insert("x-forwarded-proto", "HTTPS".parse().unwrap());
        assert_eq!(base_url(&h).as_deref(), Some("https://gb.example:8443"));
    }
}
