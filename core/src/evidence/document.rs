//! The documents a customer signs (receipt, work order), their validation, canonical bytes and
//! SHA-256 hash.
//!
//! Canonical encoding: a version tag line, then one `key=value\n` line per field in the fixed
//! order of the struct, e.g.
//! ```text
//! gridbook-receipt/1
//! receipt_no=R-0001-000123
//! household_id=…
//! …
//! zone_offset_min=480
//! place=39.9042,116.4074      (line present only when place is Some)
//! payment_ref=4200001234…     (line present only when there is one)
//! photo=9f86d081…              (one line per attached photo's SHA-256, in order; none when none)
//! ```
//! Integers are plain decimal ASCII. String values are UTF-8 byte-exact (no Unicode
//! normalisation: store what was signed, exactly) with `\` → `\\`, LF → `\n`, CR → `\r`, so a
//! value can never fake another line and the encoding is injective. A change to the layout gets a
//! new tag; old documents keep verifying under theirs.
//!
//! Receipt versions (core/tests/it/receipt_document_versions.rs pins each one's bytes against
//! core/tests/golden/receipt-v*.txt):
//! - `gridbook-receipt/1`: the lines above. A receipt without billing months, collector name
//!   and staff number is still written as version 1, byte for byte as before they existed.
//! - `gridbook-receipt/2`: version 1's lines up to `zone_offset_min`, then `billing_months=`,
//!   `collector_name=`, `collector_staff_no=` (each always present, possibly empty), then
//!   `place`, `payment_ref` and `photo` lines as in version 1.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DocumentError {
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("{field} must not be negative, got {value} fen")]
    NegativeAmount { field: &'static str, value: i64 },
    #[error("paid amount must be more than zero: a receipt records money taken")]
    NothingPaid,
    #[error("paid {paid_fen} fen is more than the cash received, {cash_received_fen} fen")]
    PaidMoreThanReceived { paid_fen: i64, cash_received_fen: i64 },
    #[error("change {change_fen} fen does not equal cash received minus paid ({expected_fen} fen)")]
    WrongChange { change_fen: i64, expected_fen: i64 },
    #[error("zone offset {0} min is outside ±14 h")]
    BadZoneOffset(i32),
    #[error("照片引用无效：{0} / a photo reference is not valid: {0}")]
    BadPhoto(String),
    #[error("{field} 无效：{rule} / {field} is not valid: {rule}")]
    BadField { field: &'static str, rule: String },
}

/// The most photos one signed document refers to.
pub const MAX_DOCUMENT_PHOTOS: usize = 12;

/// Each reference a photo address, none twice, at most [`MAX_DOCUMENT_PHOTOS`].
fn photos(list: &[String]) -> Result<(), DocumentError> {
    match super::photo_address::photo_list_problem(list, MAX_DOCUMENT_PHOTOS) {
        Some(problem) => Err(DocumentError::BadPhoto(problem)),
        None => Ok(()),
    }
}

/// A payment receipt against a pre-reserved, numbered receipt (正式话费收据).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptDocument {
    pub receipt_no: String,
    pub household_id: String,
    pub account_id: String,
    pub owed_before_fen: i64,
    pub paid_fen: i64,
    pub cash_received_fen: i64,
    pub change_fen: i64,
    /// e.g. "cash", "wechat", "alipay"; for non-cash, cash_received = paid and change = 0.
    pub method: String,
    pub collector_id: String,
    pub device_id: String,
    /// Device wall time (business data, not a merge key), UTC ms.
    pub issued_at_ms: i64,
    pub zone_offset_min: i32,
    /// "lat,lon" or an address.
    pub place: Option<String>,
    /// 交易单号 of a WeChat Pay, Alipay or card payment. Absent when there is none, and then the
    /// document's bytes are exactly those of receipts made before the field existed.
    #[serde(default)]
    pub payment_ref: Option<String>,
    /// Photos attached to what is signed (the paper form, the meter, the shop front): the
    /// lower-case hex SHA-256 of each prepared photo (`photo_address::photo_sha256`), in the order taken,
    /// one `photo=` line each at the end of the canonical document, so a swapped photo breaks the
    /// seal. Absent when empty, and then the bytes are exactly those of documents made before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<String>,
    /// The billing months paid: `YYYY-MM` or `YYYY-MM/YYYY-MM` (version 2; empty in version 1).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub billing_months: String,
    /// The collector's name as printed (version 2).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub collector_name: String,
    /// The collector's staff number, 工号 (version 2).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub collector_staff_no: String,
}

/// The longest collector name a receipt carries.
pub const MAX_COLLECTOR_NAME: usize = 50;
/// The longest staff number a receipt carries.
pub const MAX_STAFF_NO: usize = 32;

/// `YYYY-MM` → (year, month) for a real month of years 2000–2099.
fn month(text: &str) -> Option<(u32, u32)> {
    let b = text.as_bytes();
    if b.len() != 7 || b[4] != b'-' || !text.bytes().enumerate().all(|(i, c)| i == 4 || c.is_ascii_digit()) {
        return None;
    }
    let (year, month) = (text[..4].parse::<u32>().ok()?, text[5..].parse::<u32>().ok()?);
    ((2000..=2099).contains(&year) && (1..=12).contains(&month)).then_some((year, month))
}

/// The first and last month of a `billing_months` value (`YYYY-MM` or `YYYY-MM/YYYY-MM`, first
/// not after last); None when it is not one.
pub fn billing_month_range(text: &str) -> Option<((u32, u32), (u32, u32))> {
    let (first, last) = match text.split_once('/') {
        Some((a, b)) => (month(a)?, month(b)?),
        None => (month(text)?, month(text)?),
    };
    (first <= last).then_some((first, last))
}

/// Why a receipt's billing months, collector name or staff number cannot be signed; None when
/// they can (each may be empty).
pub fn receipt_copy_problem(billing_months: &str, collector_name: &str, staff_no: &str) -> Option<DocumentError> {
    let bad = |field, rule: &str| Some(DocumentError::BadField { field, rule: rule.to_string() });
    if !billing_months.is_empty() && billing_month_range(billing_months).is_none() {
        return bad(
            "billing_months",
            "写作 YYYY-MM 或 YYYY-MM/YYYY-MM（起不晚于止）/ YYYY-MM or YYYY-MM/YYYY-MM, first not after last",
        );
    }
    if collector_name.chars().count() > MAX_COLLECTOR_NAME || collector_name.chars().any(char::is_control) {
        return bad("collector_name", "最多 50 个字符，不含控制字符 / at most 50 characters, no control characters");
    }
    if staff_no.len() > MAX_STAFF_NO || !staff_no.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return bad("collector_staff_no", "最多 32 个字母、数字、- 或 _ / at most 32 letters, digits, '-' or '_'");
    }
    None
}

/// A visit's work order (工作单) that the customer signs personally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkOrderDocument {
    pub visit_id: String,
    pub household_id: String,
    pub purpose: String,
    pub outcome: String,
    /// The text the customer reads and signs.
    pub summary: String,
    pub manager_id: String,
    pub device_id: String,
    pub visited_at_ms: i64,
    pub zone_offset_min: i32,
    /// Photos attached to what is signed (the paper form, the meter, the shop front): the
    /// lower-case hex SHA-256 of each prepared photo (`photo_address::photo_sha256`), in the order taken,
    /// one `photo=` line each at the end of the canonical document, so a swapped photo breaks the
    /// seal. Absent when empty, and then the bytes are exactly those of documents made before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<String>,
}

/// Builds the canonical byte string; see the module docs.
struct Canon(Vec<u8>);

impl Canon {
    fn new(tag: &str) -> Self {
        let mut v = Vec::with_capacity(512);
        v.extend_from_slice(tag.as_bytes());
        v.push(b'\n');
        Canon(v)
    }
    fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.0.extend_from_slice(key.as_bytes());
        self.0.push(b'=');
        for b in value.bytes() {
            match b {
                b'\\' => self.0.extend_from_slice(b"\\\\"),
                b'\n' => self.0.extend_from_slice(b"\\n"),
                b'\r' => self.0.extend_from_slice(b"\\r"),
                _ => self.0.push(b),
            }
        }
        self.0.push(b'\n');
        self
    }
    fn int(&mut self, key: &str, value: impl ToString) -> &mut Self {
        self.str(key, &value.to_string())
    }
    fn done(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

fn required(name: &'static str, v: &str) -> Result<(), DocumentError> {
    if v.trim().is_empty() {
        Err(DocumentError::Empty(name))
    } else {
        Ok(())
    }
}

fn zone(offset: i32) -> Result<(), DocumentError> {
    if (-14 * 60..=14 * 60).contains(&offset) {
        Ok(())
    } else {
        Err(DocumentError::BadZoneOffset(offset))
    }
}

impl ReceiptDocument {
    /// The first layout: receipts without billing months, collector name or staff number.
    pub const TAG: &'static str = "gridbook-receipt/1";
    /// Version 1 with the billing months, the collector's name and staff number.
    pub const TAG_V2: &'static str = "gridbook-receipt/2";

    /// The version this document is written in: 2 when it has any of version 2's fields.
    pub fn version(&self) -> u32 {
        if self.billing_months.is_empty() && self.collector_name.is_empty() && self.collector_staff_no.is_empty() {
            1
        } else {
            2
        }
    }

    pub fn validate(&self) -> Result<(), DocumentError> {
        required("receipt_no", &self.receipt_no)?;
        required("household_id", &self.household_id)?;
        required("account_id", &self.account_id)?;
        required("method", &self.method)?;
        required("collector_id", &self.collector_id)?;
        required("device_id", &self.device_id)?;
        for (field, value) in [
            ("owed_before_fen", self.owed_before_fen),
            ("paid_fen", self.paid_fen),
            ("cash_received_fen", self.cash_received_fen),
            ("change_fen", self.change_fen),
        ] {
            if value < 0 {
                return Err(DocumentError::NegativeAmount { field, value });
            }
        }
        if self.paid_fen == 0 {
            return Err(DocumentError::NothingPaid);
        }
        if self.paid_fen > self.cash_received_fen {
            return Err(DocumentError::PaidMoreThanReceived {
                paid_fen: self.paid_fen,
                cash_received_fen: self.cash_received_fen,
            });
        }
        // Both non-negative and paid <= cash, so this cannot overflow.
        let expected_fen = self.cash_received_fen - self.paid_fen;
        if self.change_fen != expected_fen {
            return Err(DocumentError::WrongChange { change_fen: self.change_fen, expected_fen });
        }
        photos(&self.photos)?;
        if let Some(problem) =
            receipt_copy_problem(&self.billing_months, &self.collector_name, &self.collector_staff_no)
        {
            return Err(problem);
        }
        zone(self.zone_offset_min)
    }

    pub fn canonical_bytes(&self) -> Vec<u8> {
        let v2 = self.version() == 2;
        let mut c = Canon::new(if v2 { Self::TAG_V2 } else { Self::TAG });
        c.str("receipt_no", &self.receipt_no)
            .str("household_id", &self.household_id)
            .str("account_id", &self.account_id)
            .int("owed_before_fen", self.owed_before_fen)
            .int("paid_fen", self.paid_fen)
            .int("cash_received_fen", self.cash_received_fen)
            .int("change_fen", self.change_fen)
            .str("method", &self.method)
            .str("collector_id", &self.collector_id)
            .str("device_id", &self.device_id)
            .int("issued_at_ms", self.issued_at_ms)
            .int("zone_offset_min", self.zone_offset_min);
        if v2 {
            c.str("billing_months", &self.billing_months)
                .str("collector_name", &self.collector_name)
                .str("collector_staff_no", &self.collector_staff_no);
        }
        if let Some(place) = &self.place {
            c.str("place", place);
        }
        if let Some(reference) = &self.payment_ref {
            c.str("payment_ref", reference);
        }
        for photo in &self.photos {
            c.str("photo", photo);
        }
        c.done()
    }

    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.canonical_bytes()).into()
    }
}

impl WorkOrderDocument {
    pub const TAG: &'static str = "gridbook-workorder/1";

    pub fn validate(&self) -> Result<(), DocumentError> {
        required("visit_id", &self.visit_id)?;
        required("household_id", &self.household_id)?;
        required("purpose", &self.purpose)?;
        required("summary", &self.summary)?;
        required("manager_id", &self.manager_id)?;
        required("device_id", &self.device_id)?;
        photos(&self.photos)?;
        zone(self.zone_offset_min)
    }

    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut c = Canon::new(Self::TAG);
        c.str("visit_id", &self.visit_id)
            .str("household_id", &self.household_id)
            .str("purpose", &self.purpose)
            .str("outcome", &self.outcome)
            .str("summary", &self.summary)
            .str("manager_id", &self.manager_id)
            .str("device_id", &self.device_id)
            .int("visited_at_ms", self.visited_at_ms)
            .int("zone_offset_min", self.zone_offset_min);
        for photo in &self.photos {
            c.str("photo", photo);
        }
        c.done()
    }

    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.canonical_bytes()).into()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn receipt() -> ReceiptDocument {
        ReceiptDocument {
            receipt_no: "R-0007-000123".into(),
            household_id: "hh-42".into(),
            account_id: "acct-9001".into(),
            owed_before_fen: 15_800,
            paid_fen: 15_800,
            cash_received_fen: 20_000,
            change_fen: 4_200,
            method: "cash".into(),
            collector_id: "mgr-17".into(),
            device_id: "dev-a1".into(),
            issued_at_ms: 1_714_543_380_000, // 2024-05-01T06:03:00Z
            zone_offset_min: 480,
            place: Some("39.9042,116.4074".into()),
            payment_ref: None,
            photos: Vec::new(),
            billing_months: String::new(),
            collector_name: String::new(),
            collector_staff_no: String::new(),
        }
    }

    pub(crate) fn work_order() -> WorkOrderDocument {
        WorkOrderDocument {
            visit_id: "v-1".into(),
            household_id: "hh-42".into(),
            purpose: "complaint".into(),
            outcome: "resolved".into(),
            summary: "宽带已修复 Broadband repaired".into(),
            manager_id: "mgr-17".into(),
            device_id: "dev-a1".into(),
            visited_at_ms: 1_714_543_380_000,
            zone_offset_min: 480,
            photos: Vec::new(),
        }
    }

    #[test]
    fn receipt_validation() {
        assert_eq!(receipt().validate(), Ok(()));
        let bad = |f: fn(&mut ReceiptDocument)| {
            let mut r = receipt();
            f(&mut r);
            r.validate().unwrap_err()
        };
        assert_eq!(bad(|r| r.receipt_no = "  ".into()), DocumentError::Empty("receipt_no"));
        assert_eq!(
            bad(|r| r.owed_before_fen = -1),
            DocumentError::NegativeAmount { field: "owed_before_fen", value: -1 }
        );
        assert_eq!(bad(|r| r.paid_fen = 0), DocumentError::NothingPaid);
        assert!(matches!(bad(|r| r.paid_fen = 20_001), DocumentError::PaidMoreThanReceived { .. }));
        assert_eq!(
            bad(|r| r.change_fen = 4_100),
            DocumentError::WrongChange { change_fen: 4_100, expected_fen: 4_200 }
        );
        assert_eq!(bad(|r| r.zone_offset_min = 900), DocumentError::BadZoneOffset(900));
        assert_eq!(work_order().validate(), Ok(()));
        let mut w = work_order();
        w.summary = String::new();
        assert_eq!(w.validate(), Err(DocumentError::Empty("summary")));
    }

    #[test]
    fn every_receipt_field_changes_the_hash() {
        let base = receipt().hash();
        let edits: [fn(&mut ReceiptDocument); 19] = [
            |r| r.receipt_no.push('x'),
            |r| r.household_id.push('x'),
            |r| r.account_id.push('x'),
            |r| r.owed_before_fen += 1,
            |r| r.paid_fen += 1,
            |r| r.cash_received_fen += 1,
            |r| r.change_fen += 1,
            |r| r.method.push('x'),
            |r| r.collector_id.push('x'),
            |r| r.device_id.push('x'),
            |r| r.issued_at_ms += 1,
            |r| r.zone_offset_min += 1,
            |r| r.place = None,
            |r| r.place = Some(String::new()),
            |r| r.payment_ref = Some("4200001234".into()),
            |r| r.photos = vec![crate::evidence::photo_address::photo_sha256(b"door plate")],
            |r| r.billing_months = "2024-03".into(),
            |r| r.collector_name = "张伟".into(),
            |r| r.collector_staff_no = "HN0731".into(),
        ];
        for (i, edit) in edits.iter().enumerate() {
            let mut r = receipt();
            edit(&mut r);
            assert_ne!(r.hash(), base, "edit {i} did not change the hash");
        }
    }

    #[test]
    fn every_work_order_field_changes_the_hash() {
        let base = work_order().hash();
        let edits: [fn(&mut WorkOrderDocument); 10] = [
            |w| w.visit_id.push('x'),
            |w| w.household_id.push('x'),
            |w| w.purpose.push('x'),
            |w| w.outcome.push('x'),
            |w| w.summary.push('。'),
            |w| w.manager_id.push('x'),
            |w| w.device_id.push('x'),
            |w| w.visited_at_ms -= 1,
            |w| w.zone_offset_min -= 1,
            |w| w.photos = vec![crate::evidence::photo_address::photo_sha256(b"meter")],
        ];
        for (i, edit) in edits.iter().enumerate() {
            let mut w = work_order();
            edit(&mut w);
            assert_ne!(w.hash(), base, "edit {i} did not change the hash");
        }
    }

    #[test]
    fn a_value_cannot_forge_the_next_line() {
        // Without escaping both would encode as "...receipt_no=R1\nhousehold_id=H\nhousehold_id=X\n...".
        let mut a = receipt();
        a.receipt_no = "R1\nhousehold_id=H".into();
        a.household_id = "X".into();
        let mut b = receipt();
        b.receipt_no = "R1".into();
        b.household_id = "H\nhousehold_id=X".into();
        assert_ne!(a.canonical_bytes(), b.canonical_bytes());
        let text = String::from_utf8(a.canonical_bytes()).unwrap();
        assert!(text.starts_with("gridbook-receipt/1\nreceipt_no=R1\\nhousehold_id=H\nhousehold_id=X\n"));
        assert!(text.ends_with("zone_offset_min=480\nplace=39.9042,116.4074\n"));
    }

    /// A receipt without a payment reference is encoded exactly as before the field existed (the
    /// seals of receipts already issued keep verifying); one with a reference ends with its line.
    #[test]
    fn the_payment_reference_is_one_more_line_only_when_there_is_one() {
        let before = concat!(
            "gridbook-receipt/1\nreceipt_no=R-0007-000123\nhousehold_id=hh-42\naccount_id=acct-9001\n",
            "owed_before_fen=15800\npaid_fen=15800\ncash_received_fen=20000\nchange_fen=4200\nmethod=cash\n",
            "collector_id=mgr-17\ndevice_id=dev-a1\nissued_at_ms=1714543380000\nzone_offset_min=480\n",
            "place=39.9042,116.4074\n",
        );
        assert_eq!(String::from_utf8(receipt().canonical_bytes()).unwrap(), before);
        let mut paid = receipt();
        paid.method = "wechat".into();
        paid.payment_ref = Some("4200001234202611181234567890".into());
        let text = String::from_utf8(paid.canonical_bytes()).unwrap();
        assert!(text.ends_with("place=39.9042,116.4074\npayment_ref=4200001234202611181234567890\n"), "{text}");
    }

    /// Attached photos are lines of what is signed: none leaves the bytes as before, a swapped or
    /// reordered photo changes the hash, and a reference must be a photo address.
    #[test]
    fn attached_photos_are_inside_the_signed_bytes() {
        let (a, b) = (
            crate::evidence::photo_address::photo_sha256(b"form front"),
            crate::evidence::photo_address::photo_sha256(b"form back"),
        );
        let mut w = work_order();
        let plain = w.canonical_bytes();
        w.photos = vec![a.clone(), b.clone()];
        w.validate().unwrap();
        let text = String::from_utf8(w.canonical_bytes()).unwrap();
        assert_eq!(text, format!("{}photo={a}\nphoto={b}\n", String::from_utf8(plain).unwrap()));
        let signed = w.hash();
        w.photos.reverse();
        assert_ne!(w.hash(), signed, "order is part of what is signed");
        w.photos[0] = crate::evidence::photo_address::photo_sha256(b"another form");
        assert_ne!(w.hash(), signed);

        let mut r = receipt();
        for (bad, why) in [
            (vec!["not-a-hash".to_string()], "not a lower-case hex"),
            (vec![a.to_uppercase()], "not a lower-case hex"),
            (vec![a.clone(), a.clone()], "twice"),
            ((0..13).map(|i| crate::evidence::photo_address::photo_sha256(&[i])).collect(), "at most 12"),
        ] {
            r.photos = bad;
            let err = r.validate().unwrap_err();
            assert!(matches!(&err, DocumentError::BadPhoto(m) if m.contains(why)), "{err}");
        }
    }

    /// Version 2's fields each change the hash, move between lines only with their key, and are
    /// checked before anything is signed.
    #[test]
    fn version_two_signs_the_months_and_the_collector() {
        let mut r = receipt();
        assert_eq!(r.version(), 1);
        r.collector_staff_no = "HN0731".into();
        assert_eq!(r.version(), 2);
        let text = String::from_utf8(r.canonical_bytes()).unwrap();
        assert!(text.starts_with("gridbook-receipt/2\nreceipt_no=R-0007-000123\n"), "{text}");
        assert!(
            text.contains("zone_offset_min=480\nbilling_months=\ncollector_name=\ncollector_staff_no=HN0731\nplace="),
            "{text}"
        );
        // the same value under another key is another document
        let mut other = receipt();
        other.collector_name = "HN0731".into();
        assert_ne!(other.hash(), r.hash());

        for (months, ok) in [
            ("2024-03", true),
            ("2024-01/2024-03", true),
            ("2023-11/2024-02", true),
            ("2024-03/2024-01", false),
            ("2024-13", false),
            ("2024-3", false),
            ("24-03", false),
            ("2024-03/", false),
            ("1999-12", false),
        ] {
            r.billing_months = months.into();
            assert_eq!(r.validate().is_ok(), ok, "{months}");
        }
        r.billing_months = String::new();
        r.collector_name = "张".repeat(51);
        assert!(matches!(r.validate(), Err(DocumentError::BadField { field: "collector_name", .. })));
        r.collector_name = "张伟".into();
        r.collector_staff_no = "HN 0731".into();
        assert!(matches!(r.validate(), Err(DocumentError::BadField { field: "collector_staff_no", .. })));
        assert_eq!(billing_month_range("2023-11/2024-02"), Some(((2023, 11), (2024, 2))));
    }
}
