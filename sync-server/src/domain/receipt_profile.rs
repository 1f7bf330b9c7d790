//! How the phones print their receipts (issue 18, "the receipt a customer accepts"): the
//! company's name, its seal image and the public check's address come from the server's
//! configuration (`serve --company-name --receipt-seal-png --receipt-verify-url`), the collector's
//! name and staff number (工号) from the manager's row; every push answer and pull page carries
//! them as a `ReceiptProfile`, the seal by its SHA-256 (`GET /v1/receipt-seal` serves the image).

use std::sync::Arc;

use gridbook_core::evidence::photo_address::photo_sha256;
use gridbook_core::field::receipt_branding::{seal_problem, MAX_COMPANY_NAME, MAX_VERIFY_BASE_URL};
use gridbook_core::sync::wire::ReceiptProfile;
use gridbook_core::CollectorProfile;

/// The company's seal as configured, checked once at start.
#[derive(Debug, PartialEq, Eq)]
pub struct ReceiptSeal {
    pub png: Vec<u8>,
    /// Lower-case hex: the phones fetch the image again only when it changes.
    pub sha256: String,
}

/// What the server's configuration says of every receipt's copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptConfig {
    /// Where the public check lives (`https://…/`); None: the address each phone enrolled with.
    pub verify_base_url: Option<String>,
    pub seal: Option<Arc<ReceiptSeal>>,
}

impl ReceiptConfig {
    /// The configuration, or why it cannot be printed (zh-CN first, English beside it): a seal
    /// that is not a PNG of at most 512 KB and 1024 px a side, an address that is not http(s).
    pub fn new(verify_base_url: Option<&str>, seal_png: Option<Vec<u8>>) -> Result<Self, String> {
        let verify_base_url =
            verify_base_url.map(|u| u.trim().trim_end_matches('/').to_string()).filter(|u| !u.is_empty());
        if let Some(url) = &verify_base_url {
            if url.len() > MAX_VERIFY_BASE_URL || !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(format!(
                    "收据核验地址须为 http(s) 地址，至多 {MAX_VERIFY_BASE_URL} 字节 / the receipt check's address must be http(s), at most {MAX_VERIFY_BASE_URL} bytes: {url}"
                ));
            }
        }
        let seal = match seal_png {
            Some(png) => {
                let sha256 = photo_sha256(&png);
                if let Some(why) = seal_problem(&png, &sha256) {
                    return Err(format!("印章图片无法使用 / the seal image cannot be used: {why}"));
                }
                Some(Arc::new(ReceiptSeal { png, sha256 }))
            }
            None => None,
        };
        Ok(Self { verify_base_url, seal })
    }

    /// The profile a device of `collector` is sent, under `company`.
    pub fn profile(&self, company: &str, collector: &CollectorProfile) -> ReceiptProfile {
        ReceiptProfile {
            company_name: company.chars().take(MAX_COMPANY_NAME).collect(),
            verify_base_url: self.verify_base_url.clone(),
            seal_sha256: self.seal.as_ref().map(|s| s.sha256.clone()),
            collector_name: collector.name.clone(),
            collector_staff_no: collector.staff_no.clone(),
        }
    }
}

/// What is wrong with a staff number (工号) the back office sets, if anything: the receipt
/// document's own rule (letters, digits, '-' or '_', at most 32; empty clears it).
pub fn staff_no_problem(staff_no: &str) -> Option<String> {
    gridbook_core::evidence::document::receipt_copy_problem("", "", staff_no).map(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_that_is_not_a_png_and_an_address_that_is_not_http_are_refused() {
        assert!(ReceiptConfig::new(None, Some(b"GIF89a".to_vec())).unwrap_err().contains("印章"));
        assert!(ReceiptConfig::new(Some("ftp://x"), None).unwrap_err().contains("http(s)"));
        let c = ReceiptConfig::new(Some("https://gb.example/ "), None).unwrap();
        assert_eq!(c.verify_base_url.as_deref(), Some("https://gb.example"));
        let p = c.profile("中国电信", &CollectorProfile { name: "张伟".into(), staff_no: "GZ-0042".into() });
        assert_eq!(
            (p.company_name.as_str(), p.collector_staff_no.as_str(), p.seal_sha256),
            ("中国电信", "GZ-0042", None)
        );
        assert_eq!(staff_no_problem("GZ-0042"), None);
        assert!(staff_no_problem("GZ 0042").is_some());
        assert_eq!(staff_no_problem(""), None);
    }
}
