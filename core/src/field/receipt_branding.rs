//! How this phone's receipts look, as its server configures them (issue 18): the company's name,
//! the seal image and the public check's address, kept in the store (`receipt_branding`, device
//! schema 16), and the collector's name and staff number (工号) the back office gives the
//! manager, kept as the collector profile. The sync meets a `ReceiptProfile` on every answer
//! (`sync/receipt_profile.rs`); the app prints with [`Store::receipt_branding`].

use rusqlite::{params, OptionalExtension};

use crate::error::{invalid, Result};
use crate::evidence::printable::{self, MAX_SEAL_BYTES};
use crate::evidence::{document, photo_address};
use crate::field::receipts::{CollectorProfile, ReceiptBranding};
use crate::store::Store;
use crate::sync::wire::ReceiptProfile;

/// The longest company name and check address a profile may carry (the copy's header, a URL).
pub const MAX_COMPANY_NAME: usize = 100;
pub const MAX_VERIFY_BASE_URL: usize = 200;

/// What is wrong with a profile's own texts, if anything (the seal is checked when fetched).
fn profile_problem(p: &ReceiptProfile) -> Option<(&'static str, String)> {
    if p.company_name.chars().count() > MAX_COMPANY_NAME {
        return Some(("company_name", format!("at most {MAX_COMPANY_NAME} characters")));
    }
    if let Some(url) = &p.verify_base_url {
        let web = url.starts_with("https://") || url.starts_with("http://");
        if url.len() > MAX_VERIFY_BASE_URL || !(url.is_empty() || web) {
            return Some(("verify_base_url", format!("an http(s) address of at most {MAX_VERIFY_BASE_URL} bytes")));
        }
    }
    if p.seal_sha256.as_deref().is_some_and(|s| !photo_address::is_photo_sha256(s)) {
        return Some(("seal_sha256", "64 lower-case hex digits".into()));
    }
    None
}

/// Whether `png` is a seal image the copy can print and hashes to `sha256`.
pub fn seal_problem(png: &[u8], sha256: &str) -> Option<String> {
    if png.len() > MAX_SEAL_BYTES {
        return Some(format!("larger than {MAX_SEAL_BYTES} bytes"));
    }
    if photo_address::photo_sha256(png) != sha256 {
        return Some("the image does not match its SHA-256".into());
    }
    printable::seal_pixels(png).err().map(|e| e.to_string())
}

impl Store {
    /// How this phone's receipts look: the company's name, seal and check address its server
    /// last sent; empty (no name, no seal, the enrolled server's check) before any.
    pub fn receipt_branding(&self) -> Result<ReceiptBranding> {
        self.read(|c| {
            let row = c
                .prepare_cached("SELECT company_name, seal_png, verify_base_url FROM receipt_branding WHERE id = 1")?
                .query_row([], |r| {
                    Ok(ReceiptBranding { company_name: r.get(0)?, seal_png: r.get(1)?, verify_base_url: r.get(2)? })
                })
                .optional()?;
            Ok(row.unwrap_or_default())
        })
    }

    /// The SHA-256 of the seal this phone holds (None: no seal).
    pub(crate) fn receipt_seal_sha256(&self) -> Result<Option<String>> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT seal_sha256 FROM receipt_branding WHERE id = 1")?
                .query_row([], |r| r.get::<_, Option<String>>(0))
                .optional()?
                .flatten())
        })
    }

    /// Whether `profile` says anything this phone does not hold yet (so a page's profile costs a
    /// read, not a write).
    pub(crate) fn receipt_profile_is_new(&self, profile: &ReceiptProfile) -> Result<bool> {
        let branding = self.receipt_branding()?;
        let collector = self.collector_profile()?;
        let held = (
            branding.company_name.as_str(),
            branding.verify_base_url.as_deref(),
            self.receipt_seal_sha256()?,
            collector.name.as_str(),
            collector.staff_no.as_str(),
        );
        let sent = (
            profile.company_name.as_str(),
            profile.verify_base_url.as_deref(),
            profile.seal_sha256.clone(),
            profile.collector_name.as_str(),
            profile.collector_staff_no.as_str(),
        );
        Ok(held != sent)
    }

    /// Keeps the server's receipt profile: the branding with `seal` (the image fetched for
    /// `profile.seal_sha256`, or None to keep the one held when it is that one, or none), and the
    /// collector's name and staff number, which from now on sign and print on every receipt.
    /// Checked first: a profile or seal the copy could not print is refused, and nothing changes.
    pub(crate) fn keep_receipt_profile(&self, profile: &ReceiptProfile, seal: Option<Vec<u8>>) -> Result<()> {
        if let Some((field, why)) = profile_problem(profile) {
            return invalid(field, why);
        }
        if let (Some(png), Some(sha)) = (&seal, &profile.seal_sha256) {
            if let Some(why) = seal_problem(png, sha) {
                return invalid("seal_png", why);
            }
        }
        let (name, staff_no) = (profile.collector_name.trim(), profile.collector_staff_no.trim());
        if let Some(problem) = document::receipt_copy_problem("", name, staff_no) {
            return invalid("collector_profile", problem.to_string());
        }
        let held_seal = self.receipt_seal_sha256()?;
        let keep_held = seal.is_none() && held_seal.is_some() && held_seal == profile.seal_sha256;
        let now = self.wall_ms();
        self.write(|tx, _| {
            let old_seal: Option<Vec<u8>> = match keep_held {
                true => tx
                    .query_row("SELECT seal_png FROM receipt_branding WHERE id = 1", [], |r| r.get(0))
                    .optional()?
                    .flatten(),
                false => None,
            };
            let seal_png = seal.clone().or(old_seal);
            let seal_sha = seal_png.as_ref().and(profile.seal_sha256.clone());
            tx.execute(
                "INSERT INTO receipt_branding (id, company_name, verify_base_url, seal_sha256, seal_png, updated_at_ms)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET company_name = excluded.company_name,
                   verify_base_url = excluded.verify_base_url, seal_sha256 = excluded.seal_sha256,
                   seal_png = excluded.seal_png, updated_at_ms = excluded.updated_at_ms",
                params![profile.company_name, profile.verify_base_url, seal_sha, seal_png, now],
            )?;
            Ok(())
        })?;
        // a server that names nobody (an admin's device) leaves the collector as it was
        if !name.is_empty() {
            self.set_collector_profile(&CollectorProfile { name: name.to_string(), staff_no: staff_no.to_string() })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::seal_png;

    fn profile(seal: Option<&[u8]>) -> ReceiptProfile {
        ReceiptProfile {
            company_name: "中国电信 幸福里营业部".into(),
            verify_base_url: Some("https://gb.example".into()),
            seal_sha256: seal.map(photo_address::photo_sha256),
            collector_name: "张伟".into(),
            collector_staff_no: "GZ-0042".into(),
        }
    }

    #[test]
    fn a_profile_with_its_seal_is_what_the_receipts_print_with_and_a_bad_one_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.db")).unwrap();
        assert_eq!(store.receipt_branding().unwrap(), ReceiptBranding::default());
        let png = seal_png();
        let p = profile(Some(&png));
        assert!(store.receipt_profile_is_new(&p).unwrap());
        store.keep_receipt_profile(&p, Some(png.clone())).unwrap();
        let held = store.receipt_branding().unwrap();
        assert_eq!(held.company_name, "中国电信 幸福里营业部");
        assert_eq!(held.seal_png.as_deref(), Some(&png[..]));
        assert_eq!(held.verify_base_url.as_deref(), Some("https://gb.example"));
        let collector = store.collector_profile().unwrap();
        assert_eq!((collector.name.as_str(), collector.staff_no.as_str()), ("张伟", "GZ-0042"));
        assert!(!store.receipt_profile_is_new(&p).unwrap());

        // the same seal again without its bytes: kept
        let renamed = ReceiptProfile { company_name: "中国电信".into(), ..p.clone() };
        store.keep_receipt_profile(&renamed, None).unwrap();
        assert_eq!(store.receipt_branding().unwrap().seal_png.as_deref(), Some(&png[..]));

        // a seal that is not the one named, or not a PNG: refused, nothing changes
        let wrong = ReceiptProfile { company_name: "别家".into(), ..p.clone() };
        assert!(store.keep_receipt_profile(&wrong, Some(b"not a png".to_vec())).is_err());
        let bad_staff = ReceiptProfile { collector_staff_no: "工号 with spaces".into(), ..p.clone() };
        assert!(store.keep_receipt_profile(&bad_staff, None).is_err());
        assert_eq!(store.receipt_branding().unwrap().company_name, "中国电信");

        // the server takes the seal away
        store.keep_receipt_profile(&profile(None), None).unwrap();
        assert_eq!(store.receipt_branding().unwrap().seal_png, None);
        assert_eq!(store.receipt_seal_sha256().unwrap(), None);
    }
}
