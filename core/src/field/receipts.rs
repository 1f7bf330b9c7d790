//! Signed receipts (收据) and signed work orders (工作单), captured on site.
//!
//! The customer signs on the phone's pad; the core keeps the strokes, binds them to exactly what
//! was signed (the document's canonical hash, `evidence::document`) and has the device seal both
//! with its Ed25519 key (`evidence::seal`). The seal, the strokes and the signer's name and
//! relation are one insert-only record, [`CustomerSignature`], written in the same transaction as
//! the receipt or visit that points at it, and pushed before it.
//!
//! Receipt numbers come only from blocks the server issued to this device, like paper receipt
//! books (docs/field.md, field work 4): the device allocates from them offline, asks for a new
//! block during sync when fewer than [`ReceiptBlock::REFILL_BELOW`] are left, and never makes a
//! number up.
//!
//! The device key. [`DeviceSigner`] is the one seam: on a phone the app implements it over the
//! Android Keystore / iOS Keychain, so the private key never leaves the platform's key store, and
//! passes it to [`Store::record_signed_receipt`] / [`Store::record_signed_visit`]. Until the app
//! does, [`Store::device_key`] is an in-memory key whose secret is kept in the device database:
//! fine for tests, desktops and the simulator, not for production phones.
//!
//! The checks here ([`check_signature`], [`check_receipt_signature`],
//! [`check_visit_signature`]) are the ones the server runs on every push.

use std::collections::HashSet;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::{invalid, Error, Result, ValidationError};
use crate::evidence::{
    self, check_receipt, check_work_order, printable, seal, DeviceKey, DeviceSigner, DocumentError, Flag,
    ReceiptDocument, Relation, RenderOptions, SealError, SignError, Signature, SignatureRecord, Stroke, StrokeError,
    WorkOrderDocument,
};
use crate::model::{Appointment, CustomerSignature, EntityKind, Receipt, SignedDocument, Visit};
use crate::store::entity_table::{self, fields_of};
use crate::store::{meta_get, meta_set, new_id, record_change, Store};
use crate::sync::wire::{OpAction, ReceiptBlock};
use crate::validate;

const KEY_SECRET: &str = "device_key_secret";
const KEY_REGISTERED: &str = "device_public_key";
/// Device meta keys of the collector profile (`Store::set_collector_profile`).
pub(crate) const COLLECTOR_NAME: &str = "collector_name";
const COLLECTOR_STAFF_NO: &str = "collector_staff_no";

/// Who collects on this device, as the receipts print it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CollectorProfile {
    /// 收款人姓名
    pub name: String,
    /// 工号: letters, digits, '-' or '_', at most 32.
    pub staff_no: String,
}

/// The longest signer name we keep (a name, not a paragraph).
pub const MAX_SIGNER_NAME: usize = 50;

/// What the customer gave on the pad: the strokes, and who they said they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignatureCapture {
    pub strokes: Signature,
    /// The signer's name as they gave it (签字人姓名). Required.
    pub signer_name: String,
    /// Their relation to the household (户主 / 家属 / 店员 / 其他). Required.
    pub relation: Relation,
}

/// A receipt recorded with its signature, and the code printed on the customer's copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedReceipt {
    pub receipt: Receipt,
    pub signature: CustomerSignature,
    /// `XXXX-XXXX-XX`: the back office and the verification endpoint check it.
    pub verification_code: String,
}

/// A visit recorded with the customer's signature on its work order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedVisit {
    pub visit: Visit,
    pub signature: CustomerSignature,
    /// The appointment the visit kept, now done; None for a visit without one.
    pub appointment: Option<Appointment>,
}

/// The customer's copy of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReceiptPrintout {
    /// A self-contained printable page: company header, amounts in figures and in capitals
    /// (大写金额), the receipt number, the signature and the verification code.
    pub html: String,
    /// The signature as a PNG carrying the receipt's facts as text chunks (company, number,
    /// amount in figures and in capitals, verification code, document hash). A picture of the
    /// whole page needs a CJK font: the app renders `html` (WebView / WKWebView) for that.
    pub png: Vec<u8>,
    /// The signature alone as SVG.
    pub signature_svg: String,
    /// `XXXX-XXXX-XX`
    pub verification_code: String,
    /// The public check's address the QR code carries (`…/verify?no=…&code=…`); None when the
    /// copy has no base address (not enrolled, none configured).
    pub verify_url: Option<String>,
}

/// How the company's receipts look, from configuration (what its server names, kept by the store:
/// `Store::receipt_branding`): never written into the code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReceiptBranding {
    /// The company's name, the copy's header.
    pub company_name: String,
    /// The company's seal (印章) as a PNG (at most 512 KB and 1024 px a side); None: no seal.
    pub seal_png: Option<Vec<u8>>,
    /// Where the public check lives (`https://…`); None: the server this device is enrolled
    /// with; an empty text: no QR code.
    pub verify_base_url: Option<String>,
}

impl ReceiptBranding {
    /// The company's name only; the QR code leads to the enrolled server.
    pub fn company(name: &str) -> Self {
        ReceiptBranding { company_name: name.to_string(), seal_png: None, verify_base_url: None }
    }
}

/// One receipt book on this device and how much of it is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReceiptBlockStatus {
    /// The book as the server issued it.
    pub block: ReceiptBlock,
    /// Numbers used on this device.
    pub used: u32,
    /// Numbers left.
    pub left: u32,
}

/// Why a signature does not prove its document. The server turns these into typed rejections.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EvidenceProblem {
    #[error("the signature record is malformed: {0}")]
    Malformed(String),
    #[error("the signature was given for {0}, not for this document")]
    OtherDocument(String),
    #[error("the document differs from what the customer signed (an amount, the number, the time …)")]
    DocumentAltered,
    #[error("the strokes differ from the ones that were signed")]
    StrokesAltered,
    #[error("the plausibility flags do not match the strokes")]
    FlagsAltered,
    #[error("sealed on device {sealed_by}, but the document names device {named}")]
    WrongDevice { sealed_by: String, named: String },
    #[error("the device seal does not verify under the device's registered key")]
    BadSeal,
}

fn malformed(e: impl std::fmt::Display) -> EvidenceProblem {
    EvidenceProblem::Malformed(e.to_string())
}

/// A GPS fix in micro-degrees as the receipt document's place, "lat,lon" with six decimals.
pub fn place(lat_e6: Option<i64>, lon_e6: Option<i64>) -> Option<String> {
    fn deg(v: i64) -> String {
        let sign = if v < 0 { "-" } else { "" };
        let a = v.unsigned_abs();
        format!("{sign}{}.{:06}", a / 1_000_000, a % 1_000_000)
    }
    match (lat_e6, lon_e6) {
        (Some(lat), Some(lon)) => Some(format!("{},{}", deg(lat), deg(lon))),
        _ => None,
    }
}

fn zone(offset_min: i64) -> i32 {
    // Out-of-range offsets become a value the document's validation refuses.
    i32::try_from(offset_min).unwrap_or(i32::MAX)
}

/// The canonical receipt document of a receipt record: what the customer signs and the seal binds.
pub fn receipt_document(r: &Receipt) -> ReceiptDocument {
    ReceiptDocument {
        receipt_no: r.receipt_no.clone(),
        household_id: r.household_id.clone(),
        account_id: r.account_id.clone(),
        owed_before_fen: r.owed_before_fen,
        paid_fen: r.amount_fen,
        cash_received_fen: r.cash_received_fen,
        change_fen: r.change_fen,
        method: r.method.as_str().to_string(),
        collector_id: r.collector_id.clone(),
        device_id: r.device_id.clone(),
        issued_at_ms: r.collected_at_ms,
        zone_offset_min: zone(r.zone_offset_min),
        place: place(r.lat_e6, r.lon_e6),
        payment_ref: Some(r.payment_ref.clone()).filter(|p| !p.is_empty()),
        photos: r.photos.clone(),
        billing_months: r.billing_months.clone(),
        collector_name: r.collector_name.clone(),
        collector_staff_no: r.collector_staff_no.clone(),
    }
}

/// The billing months whose arrears an account holds (缴费月份), as a receipt's `billing_months`:
/// an account `months_overdue` months overdue as of a day owes the bills of the months before
/// that day's month (in the zone `offset_min` east of UTC), e.g. 3 months as of 2026-11-02 →
/// `2026-08/2026-10`; one month → `2026-10`; none → empty.
pub fn billing_months_owed(months_overdue: i64, as_of_ms: i64, offset_min: i64) -> String {
    if months_overdue <= 0 {
        return String::new();
    }
    let local_ms = as_of_ms.saturating_add(offset_min.saturating_mul(60_000));
    let Some(day) = chrono::DateTime::from_timestamp_millis(local_ms) else { return String::new() };
    use chrono::Datelike;
    // months counted from year 0: the as-of month, then back
    let now = i64::from(day.year()) * 12 + i64::from(day.month0());
    let last = now - 1;
    let first = now - months_overdue.min(1200);
    let text = |m: i64| format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1);
    let months = if first == last { text(last) } else { format!("{}/{}", text(first), text(last)) };
    // outside the years a receipt prints (2000–2099): leave it to the collector
    if crate::evidence::document::billing_month_range(&months).is_some() {
        months
    } else {
        String::new()
    }
}

/// The text of a visit's work order that the customer reads before signing: the outcome, what
/// was asked, and what was promised by when. (Competitor notes are the manager's, not shown.)
pub fn work_order_summary(v: &Visit) -> String {
    let mut lines =
        vec![format!("处理结果 Outcome: {}", if v.outcome.trim().is_empty() { "—" } else { v.outcome.trim() })];
    for (label, text) in [
        ("客户需求 Needs", &v.needs),
        ("客户意见 Opinions", &v.opinions),
        ("待答复问题 Open question", &v.open_question),
    ] {
        if !text.trim().is_empty() {
            lines.push(format!("{label}: {}", text.trim()));
        }
    }
    if !v.follow_up.trim().is_empty() {
        let by =
            if v.follow_up_due.is_empty() { String::new() } else { format!(" (承诺时限 by {})", v.follow_up_due) };
        lines.push(format!("承诺 Promise: {}{by}", v.follow_up.trim()));
    }
    lines.join("\n")
}

/// The canonical work order of a visit, as sealed on `device_id`.
pub fn work_order_document(v: &Visit, device_id: &str) -> WorkOrderDocument {
    WorkOrderDocument {
        visit_id: v.id.clone(),
        household_id: v.household_id.clone(),
        purpose: v.purpose.as_str().to_string(),
        outcome: v.outcome.clone(),
        summary: work_order_summary(v),
        manager_id: v.manager_id.clone(),
        device_id: device_id.to_string(),
        visited_at_ms: v.arrived_at_ms,
        zone_offset_min: zone(v.zone_offset_min),
        photos: v.photos.clone(),
    }
}

/// The strokes as they are hashed: coordinates in tenths of a pixel, pressure in thousandths.
/// Stored in this form, so the JSON kept is exactly what the seal covers.
pub fn canonical_strokes(sig: &Signature) -> std::result::Result<Signature, StrokeError> {
    sig.validate()?;
    let q = |v: f32, scale: f64| ((f64::from(v) * scale).round() / scale) as f32;
    let canonical = Signature {
        width: sig.width,
        height: sig.height,
        strokes: sig
            .strokes
            .iter()
            .map(|s| Stroke {
                points: s
                    .points
                    .iter()
                    .map(|p| evidence::Point {
                        x: q(p.x, 10.0),
                        y: q(p.y, 10.0),
                        t_ms: p.t_ms,
                        pressure: p.pressure.map(|v| q(v, 1000.0)),
                    })
                    .collect(),
            })
            .collect(),
    };
    // Rounding never moves a point off the pad or changes its quantum, so the hash is the same.
    debug_assert_eq!(canonical.hash().ok(), sig.hash().ok());
    Ok(canonical)
}

impl CustomerSignature {
    /// The seal record stored in this row.
    pub fn seal_record(&self) -> std::result::Result<SignatureRecord, EvidenceProblem> {
        Ok(SignatureRecord {
            document_hash: evidence::from_hex::<32>(&self.document_hash)
                .map_err(|e| malformed(format!("document_hash: {e}")))?,
            strokes_hash: evidence::from_hex::<32>(&self.strokes_hash)
                .map_err(|e| malformed(format!("strokes_hash: {e}")))?,
            signer_name: self.signer_name.clone(),
            signer_relation: self.relation().ok_or_else(|| malformed(format!("relation {:?}", self.relation)))?,
            hlc: self.hlc.clone(),
            device_id: self.device_id.clone(),
            device_signature: evidence::from_hex::<64>(&self.device_signature)
                .map_err(|e| malformed(format!("device_signature: {e}")))?,
        })
    }

    pub fn relation(&self) -> Option<Relation> {
        Relation::from_code(&self.relation)
    }

    /// Milliseconds from the first touch to the last.
    pub fn duration_ms(&self) -> u32 {
        self.strokes.stats().duration_ms
    }
}

/// Checks a signature on its own: well formed, strokes and flags as hashed, name and relation
/// given, and the device seal good under `public_key`. The binding to a document is checked by
/// [`check_receipt_signature`] and [`check_visit_signature`].
pub fn check_signature(
    sig: &CustomerSignature,
    public_key: &[u8; 32],
) -> std::result::Result<SignatureRecord, EvidenceProblem> {
    let record = sig.seal_record()?;
    let strokes_hash = sig.strokes.hash().map_err(malformed)?;
    if strokes_hash != record.strokes_hash {
        return Err(EvidenceProblem::StrokesAltered);
    }
    if sig.flags != sig.strokes.flags() {
        return Err(EvidenceProblem::FlagsAltered);
    }
    if sig.signer_name.chars().count() > MAX_SIGNER_NAME {
        return Err(malformed(format!("signer name longer than {MAX_SIGNER_NAME} characters")));
    }
    seal::verify(&record, public_key).map_err(|e| match e {
        SealError::BadSignature | SealError::BadPublicKey => EvidenceProblem::BadSeal,
        other => malformed(other),
    })?;
    Ok(record)
}

fn document_check(e: SealError) -> EvidenceProblem {
    match e {
        SealError::DocumentMismatch | SealError::Document(_) => EvidenceProblem::DocumentAltered,
        SealError::StrokesMismatch => EvidenceProblem::StrokesAltered,
        SealError::DeviceMismatch { record, document } => {
            EvidenceProblem::WrongDevice { sealed_by: record, named: document }
        }
        SealError::BadSignature | SealError::BadPublicKey => EvidenceProblem::BadSeal,
        other => malformed(other),
    }
}

/// Checks that `sig` is a good signature of exactly this receipt.
pub fn check_receipt_signature(
    r: &Receipt,
    sig: &CustomerSignature,
    public_key: &[u8; 32],
) -> std::result::Result<(), EvidenceProblem> {
    if sig.document_kind != SignedDocument::Receipt
        || sig.document_id != r.id
        || r.signature_id.as_deref() != Some(&sig.id)
    {
        return Err(EvidenceProblem::OtherDocument(format!("{} {}", sig.document_kind.as_str(), sig.document_id)));
    }
    let record = check_signature(sig, public_key)?;
    check_receipt(&receipt_document(r), &sig.strokes, &record, public_key).map_err(document_check)
}

/// Checks that `sig` is a good signature of exactly this visit's work order.
pub fn check_visit_signature(
    v: &Visit,
    sig: &CustomerSignature,
    public_key: &[u8; 32],
) -> std::result::Result<(), EvidenceProblem> {
    if sig.document_kind != SignedDocument::WorkOrder
        || sig.document_id != v.id
        || v.signature_id.as_deref() != Some(&sig.id)
    {
        return Err(EvidenceProblem::OtherDocument(format!("{} {}", sig.document_kind.as_str(), sig.document_id)));
    }
    let record = check_signature(sig, public_key)?;
    check_work_order(&work_order_document(v, &sig.device_id), &sig.strokes, &record, public_key).map_err(document_check)
}

/// The verification code printed on the receipt (`evidence::verify_code`).
pub fn receipt_verification_code(r: &Receipt, sig: &CustomerSignature) -> std::result::Result<String, EvidenceProblem> {
    Ok(evidence::verification_code(&sig.seal_record()?, &r.receipt_no))
}

fn seal_error(e: SealError) -> Error {
    let field = match &e {
        // locked, missing, or the user cancelled: may work later, and the app says so
        SealError::Sign(SignError::Unavailable(detail)) => return Error::KeyUnavailable(detail.clone()),
        SealError::EmptySignerName => "signer_name",
        SealError::EmptyRelation => "relation",
        SealError::EmptyField(f) => f,
        SealError::Strokes(_) => "strokes",
        SealError::Sign(_) => "device_key",
        SealError::Document(d) => match d {
            DocumentError::Empty(f) => f,
            DocumentError::NegativeAmount { field, .. } => field,
            DocumentError::NothingPaid => "amount_fen",
            DocumentError::PaidMoreThanReceived { .. } => "cash_received_fen",
            DocumentError::WrongChange { .. } => "change_fen",
            DocumentError::BadZoneOffset(_) => "zone_offset_min",
            DocumentError::BadPhoto(_) => "photos",
            DocumentError::BadField { field, .. } => field,
        },
        _ => return Error::Corrupt(e.to_string()),
    };
    Error::Invalid(ValidationError::new(field, e.to_string()))
}

fn check_capture(c: &SignatureCapture) -> Result<()> {
    if c.signer_name.trim().is_empty() {
        return invalid("signer_name", "the customer's name is required: the manager never signs for the customer");
    }
    if c.signer_name.trim().chars().count() > MAX_SIGNER_NAME {
        return invalid("signer_name", format!("must be at most {MAX_SIGNER_NAME} characters"));
    }
    if matches!(&c.relation, Relation::Other(s) if s.trim().is_empty()) {
        return invalid("relation", "\"other\" needs the relation as told");
    }
    c.strokes.validate().map_err(|e| Error::Invalid(ValidationError::new("strokes", e.to_string())))
}

/// The field a receipt for more than the debt is refused on ([`not_more_than_owed`]).
pub const OVERPAYMENT_FIELD: &str = "amount_fen";

/// A receipt pays a debt and nothing more (docs/money.md): its amount may not exceed what the
/// account still owes — the debt the phone holds less what this phone collected on it and has
/// not synced yet (the figure the arrears list shows). More is refused with a typed
/// `Invalid { field: "amount_fen" }` in the receipt's transaction, so nothing is written and no
/// number is used up; the cash over the amount is change (唱收唱付), never a credit. Runs after
/// the reference check, which refuses an account the phone does not hold or of another grid.
fn not_more_than_owed(tx: &Connection, r: &Receipt) -> Result<()> {
    let yuan = |fen: i64| format!("¥{}", evidence::format_yuan(fen));
    let account: Option<crate::model::ArrearsAccount> =
        entity_table::query(tx, "id = ?1 AND coalesce(deleted, 0) = 0", [&r.account_id])?.into_iter().next();
    let Some(account) = account else { return Ok(()) };
    let collected = super::reports::collected_unsynced(tx, Some(&r.account_id))?.get(&r.account_id).copied();
    let owed = super::reports::remaining(account.owed_fen, collected.unwrap_or(0));
    if r.amount_fen > owed {
        return invalid(
            OVERPAYMENT_FIELD,
            format!(
                "收款金额 {} 超过尚欠金额 {}，多收的钱不记为预存款 / the amount paid, {}, is more than the {} still \
                 owed on this account; money beyond the debt is not taken as credit",
                yuan(r.amount_fen),
                yuan(owed),
                yuan(r.amount_fen),
                yuan(owed),
            ),
        );
    }
    Ok(())
}

/// The receipt blocks on this device, oldest first.
fn blocks(conn: &Connection) -> Result<Vec<(ReceiptBlock, u32)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT prefix, first, last, next, issued_at_ms FROM receipt_blocks ORDER BY issued_at_ms, prefix",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            ReceiptBlock { prefix: r.get(0)?, first: r.get(1)?, last: r.get(2)?, issued_at_ms: r.get(4)? },
            r.get::<_, u32>(3)?,
        ))
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// The numbers of a block that are on a receipt already.
fn used_in(conn: &Connection, block: &ReceiptBlock) -> Result<HashSet<u32>> {
    // ':' sorts right after '9': the range holds every number that starts with the prefix.
    let mut stmt =
        conn.prepare_cached("SELECT receipt_no FROM receipts WHERE receipt_no > ?1 AND receipt_no < ?1 || ':'")?;
    let rows = stmt.query_map([&block.prefix], |r| r.get::<_, String>(0))?;
    let mut used = HashSet::new();
    for no in rows {
        if let Some(seq) = block.seq_of(&no?) {
            used.insert(seq);
        }
    }
    Ok(used)
}

fn number_taken(conn: &Connection, receipt_no: &str) -> Result<bool> {
    Ok(conn.prepare_cached("SELECT 1 FROM receipts WHERE receipt_no = ?1 LIMIT 1")?.exists([receipt_no])?)
}

/// The next free number, oldest block first.
fn next_free(conn: &Connection) -> Result<Option<String>> {
    for (block, next) in blocks(conn)? {
        if next > block.last {
            continue;
        }
        let used = used_in(conn, &block)?;
        if let Some(seq) = (next.max(block.first)..=block.last).find(|s| !used.contains(s)) {
            return Ok(block.number(seq));
        }
    }
    Ok(None)
}

/// Checks that a number is from this device's blocks and unused; moves the block's `next` on.
pub(crate) fn take_number(conn: &Connection, receipt_no: &str) -> Result<()> {
    let found = blocks(conn)?.into_iter().find_map(|(b, next)| b.seq_of(receipt_no).map(|seq| (b, next, seq)));
    let Some((block, next, seq)) = found else {
        return invalid("receipt_no", "not a number from a receipt block issued to this device");
    };
    if number_taken(conn, receipt_no)? {
        return invalid("receipt_no", "this receipt number was already used");
    }
    if seq == next {
        conn.prepare_cached("UPDATE receipt_blocks SET next = ?2 WHERE prefix = ?1")?
            .execute(params![block.prefix, seq + 1])?;
    }
    Ok(())
}

fn no_number() -> Error {
    Error::Invalid(ValidationError::new(
        "receipt_no",
        "no receipt numbers left on this device: sync to get a new block from the server",
    ))
}

impl Store {
    /// The in-memory device key, made on first use and kept in the device database.
    ///
    /// For tests, desktops and the simulator. A phone keeps its key in the Android Keystore /
    /// iOS Keychain behind [`DeviceSigner`] and never calls this (the secret would sit in the
    /// database file).
    pub fn device_key(&self) -> Result<DeviceKey> {
        let hex = match self.read(|c| meta_get(c, KEY_SECRET))? {
            Some(hex) => hex,
            None => self.make_device_key()?,
        };
        let seed = evidence::from_hex::<32>(&hex).map_err(|e| Error::Corrupt(format!("device key: {e}")))?;
        Ok(DeviceKey::from_bytes(&seed))
    }

    fn make_device_key(&self) -> Result<String> {
        self.write(|tx, _| {
            if let Some(hex) = meta_get(tx, KEY_SECRET)? {
                return Ok(hex);
            }
            let mut seed = [0u8; 32];
            rand_core::RngCore::try_fill_bytes(&mut rand_core::OsRng, &mut seed)
                .map_err(|e| Error::Invalid(ValidationError::new("device_key", format!("no OS randomness: {e}"))))?;
            let hex = evidence::to_hex(&seed);
            meta_set(tx, KEY_SECRET, &hex)?;
            Ok(hex)
        })
    }

    /// The public key (hex) this device registered with the server at enrolment, if enrolled.
    pub fn registered_public_key(&self) -> Result<Option<String>> {
        self.read(|c| meta_get(c, KEY_REGISTERED))
    }

    pub(crate) fn set_registered_public_key(&self, hex: &str) -> Result<()> {
        self.write(|tx, _| meta_set(tx, KEY_REGISTERED, hex))
    }

    /// Adds a block of receipt numbers the server issued to this device (the sync does this).
    /// Adding the same block again changes nothing.
    pub fn add_receipt_block(&self, block: &ReceiptBlock) -> Result<()> {
        if !block.is_valid() {
            return invalid("receipt_block", "a block has a prefix of letters, digits and '-' and numbers 1 to 999");
        }
        let now = self.wall_ms();
        self.write(|tx, _| {
            let existing: Option<(u32, u32)> = tx
                .prepare_cached("SELECT first, last FROM receipt_blocks WHERE prefix = ?1")?
                .query_row([&block.prefix], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            match existing {
                Some(bounds) if bounds == (block.first, block.last) => Ok(()),
                Some(_) => invalid("receipt_block", format!("block {} is already here with other numbers", block.prefix)),
                None => {
                    tx.prepare_cached(
                        "INSERT INTO receipt_blocks (prefix, first, last, next, issued_at_ms, received_at_ms) VALUES (?1, ?2, ?3, ?2, ?4, ?5)",
                    )?
                    .execute(params![block.prefix, block.first, block.last, block.issued_at_ms, now])?;
                    Ok(())
                }
            }
        })
    }

    /// This device's receipt books, oldest first, with what is used and what is left.
    pub fn receipt_blocks(&self) -> Result<Vec<ReceiptBlockStatus>> {
        self.read(|c| {
            let mut out = Vec::new();
            for (block, _) in blocks(c)? {
                let used = used_in(c, &block)?.len() as u32;
                let left = block.len().saturating_sub(used);
                out.push(ReceiptBlockStatus { block, used, left });
            }
            Ok(out)
        })
    }

    /// Unused receipt numbers left on this device.
    pub fn receipt_numbers_left(&self) -> Result<u64> {
        Ok(self.receipt_blocks()?.iter().map(|b| u64::from(b.left)).sum())
    }

    /// The number the next receipt will get, if any is left (the app shows it on the form).
    pub fn next_receipt_no(&self) -> Result<Option<String>> {
        self.read(next_free)
    }

    /// Checks the signing key against the one registered at enrolment (when enrolled), so that
    /// a receipt is not sealed with a key the server would refuse.
    fn check_signer(&self, signer: &dyn DeviceSigner) -> Result<()> {
        if let Some(registered) = self.registered_public_key()? {
            if !registered.eq_ignore_ascii_case(&evidence::to_hex(&signer.public_key())) {
                return invalid(
                    "device_key",
                    "this is not the key this device registered with the server at enrolment",
                );
            }
        }
        Ok(())
    }

    /// Fills what the device knows of a receipt and checks it: number (the next one when empty),
    /// device, collector (the enrolled manager when empty).
    fn prepare_receipt(&self, mut r: Receipt) -> Result<Receipt> {
        if r.id.is_empty() {
            r.id = new_id();
        }
        if r.receipt_no.trim().is_empty() {
            r.receipt_no = self.next_receipt_no()?.ok_or_else(no_number)?;
        }
        r.device_id = self.device_id().to_string();
        if r.collector_id.trim().is_empty() {
            r.collector_id = self.read(|c| meta_get(c, "manager_id"))?.unwrap_or_default();
        }
        // what the customer's copy prints, signed with the receipt (document version 2)
        let profile = self.collector_profile()?;
        if r.collector_name.trim().is_empty() {
            r.collector_name = profile.name;
        }
        if r.collector_staff_no.trim().is_empty() {
            r.collector_staff_no = profile.staff_no;
        }
        if r.billing_months.trim().is_empty() {
            if let Some(account) = self.arrears_account(&r.account_id)? {
                r.billing_months = billing_months_owed(account.months_overdue, account.as_of_ms, r.zone_offset_min);
            }
        }
        crate::location::fill_coordinates(r.location.as_ref(), &mut r.lat_e6, &mut r.lon_e6);
        validate::receipt(&r)?;
        Ok(r)
    }

    /// Writes a receipt (and its signature, first) in one transaction, after checking its number
    /// and account.
    fn write_receipt(&self, r: &Receipt, signature: Option<&CustomerSignature>) -> Result<()> {
        let receipt_fields = fields_of(r)?;
        let signature_fields = signature.map(fields_of).transpose()?;
        self.write(|tx, clock| {
            take_number(tx, &r.receipt_no)?;
            if let (Some(sig), Some(fields)) = (signature, signature_fields) {
                record_change(tx, clock, EntityKind::Signature, &sig.id, &sig.grid_id, OpAction::Create, fields)?;
            }
            // its account, household and signature (just written, or recorded before), in its grid
            super::field_references_hold(tx, EntityKind::Receipt, &r.grid_id, &receipt_fields)?;
            not_more_than_owed(tx, r)?;
            record_change(tx, clock, EntityKind::Receipt, &r.id, &r.grid_id, OpAction::Create, receipt_fields)?;
            Ok(())
        })
    }

    /// Records money collected against a receipt number from this device's blocks, without a
    /// customer signature. The app records receipts with [`Store::record_signed_receipt`]; the
    /// server refuses an unsigned receipt unless it is configured to accept them.
    pub(crate) fn record_unsigned_receipt(&self, r: Receipt) -> Result<Receipt> {
        let r = self.prepare_receipt(r)?;
        self.write_receipt(&r, None)?;
        Ok(r)
    }

    /// Seals a document's hash and the strokes with the device key, outside the database lock
    /// (a key store may ask the user to authenticate).
    fn seal_capture(
        &self,
        document_hash: [u8; 32],
        capture: &SignatureCapture,
        signer: &dyn DeviceSigner,
    ) -> Result<(Signature, SignatureRecord)> {
        check_capture(capture)?;
        self.check_signer(signer)?;
        let strokes = canonical_strokes(&capture.strokes).map_err(|e| seal_error(SealError::Strokes(e)))?;
        let strokes_hash = strokes.hash().map_err(|e| seal_error(SealError::Strokes(e)))?;
        let hlc = self.next_stamp().to_string();
        let record = seal::seal(
            document_hash,
            strokes_hash,
            &capture.signer_name,
            capture.relation.clone(),
            &hlc,
            self.device_id(),
            signer,
        )
        .map_err(seal_error)?;
        Ok((strokes, record))
    }

    fn signature_row(
        grid_id: &str,
        kind: SignedDocument,
        document_id: &str,
        id: String,
        strokes: Signature,
        record: &SignatureRecord,
    ) -> CustomerSignature {
        CustomerSignature {
            id,
            grid_id: grid_id.to_string(),
            document_kind: kind,
            document_id: document_id.to_string(),
            document_hash: evidence::to_hex(&record.document_hash),
            flags: strokes.flags(),
            strokes,
            strokes_hash: evidence::to_hex(&record.strokes_hash),
            signer_name: record.signer_name.clone(),
            relation: record.signer_relation.code(),
            hlc: record.hlc.clone(),
            device_id: record.device_id.clone(),
            device_signature: evidence::to_hex(&record.device_signature),
        }
    }

    /// Records money collected, signed by the customer, in one call: takes the next receipt
    /// number from this device's blocks (or checks the one given), seals the receipt document
    /// and the strokes with `signer`, and writes the signature and the receipt in one
    /// transaction. The flags in the answer's signature say whether to ask the customer to sign
    /// again (drawn too fast, a dot …); they are kept for the back office either way.
    pub fn record_signed_receipt(
        &self,
        r: Receipt,
        capture: SignatureCapture,
        signer: &dyn DeviceSigner,
    ) -> Result<SignedReceipt> {
        // money: the person holding the phone proved who they are recently (docs/at-rest.md)
        self.ensure_fresh_unlock()?;
        let mut r = self.prepare_receipt(r)?;
        let signature_id = new_id();
        r.signature_id = Some(signature_id.clone());
        let doc = receipt_document(&r);
        doc.validate().map_err(|e| seal_error(SealError::Document(e)))?;
        let (strokes, record) = self.seal_capture(doc.hash(), &capture, signer)?;
        let signature = Self::signature_row(&r.grid_id, SignedDocument::Receipt, &r.id, signature_id, strokes, &record);
        self.write_receipt(&r, Some(&signature))?;
        let verification_code = evidence::verification_code(&record, &r.receipt_no);
        Ok(SignedReceipt { receipt: r, signature, verification_code })
    }

    /// Records a visit whose work order the customer signed, in one call: seals the work order
    /// (`receipts::work_order_document`: what the app showed the customer) and the strokes, and
    /// writes the signature and the visit in one transaction. With `appointment_id` the visit
    /// keeps that appointment (as `record_appointment_visit`): it carries the agreed time and the
    /// appointment is marked done in the same transaction.
    pub fn record_signed_visit(
        &self,
        mut v: Visit,
        capture: SignatureCapture,
        signer: &dyn DeviceSigner,
        appointment_id: Option<&str>,
    ) -> Result<SignedVisit> {
        if v.id.is_empty() {
            v.id = new_id();
        }
        if v.manager_id.trim().is_empty() {
            v.manager_id = self.read(|c| meta_get(c, "manager_id"))?.unwrap_or_default();
        }
        let appointment = match appointment_id {
            Some(id) => Some(self.keep_appointment(id, &mut v)?),
            None => None,
        };
        crate::location::fill_coordinates(v.location.as_ref(), &mut v.lat_e6, &mut v.lon_e6);
        validate::visit(&v)?;
        let signature_id = new_id();
        v.signature_id = Some(signature_id.clone());
        let doc = work_order_document(&v, self.device_id());
        doc.validate().map_err(|e| seal_error(SealError::Document(e)))?;
        let (strokes, record) = self.seal_capture(doc.hash(), &capture, signer)?;
        let signature =
            Self::signature_row(&v.grid_id, SignedDocument::WorkOrder, &v.id, signature_id, strokes, &record);
        let (visit_fields, signature_fields) = (fields_of(&v)?, fields_of(&signature)?);
        self.write(|tx, clock| {
            record_change(
                tx,
                clock,
                EntityKind::Signature,
                &signature.id,
                &signature.grid_id,
                OpAction::Create,
                signature_fields,
            )?;
            super::field_references_hold(tx, EntityKind::Visit, &v.grid_id, &visit_fields)?;
            record_change(tx, clock, EntityKind::Visit, &v.id, &v.grid_id, OpAction::Create, visit_fields)?;
            if let Some(done) = &appointment {
                crate::field::workday::record_kept(tx, clock, done)?;
            }
            Ok(())
        })?;
        Ok(SignedVisit { visit: v, signature, appointment })
    }

    /// Who collects on this device, as its receipts print it: the name (the manager's at
    /// enrolment, until set here) and staff number. Both may be empty.
    pub fn collector_profile(&self) -> Result<CollectorProfile> {
        self.read(|c| {
            Ok(CollectorProfile {
                name: meta_get(c, COLLECTOR_NAME)?.unwrap_or_default(),
                staff_no: meta_get(c, COLLECTOR_STAFF_NO)?.unwrap_or_default(),
            })
        })
    }

    /// Sets who collects on this device (the app's profile screen, or the staff record it holds):
    /// every receipt recorded afterwards signs and prints this name and staff number.
    pub fn set_collector_profile(&self, profile: &CollectorProfile) -> Result<()> {
        let (name, staff_no) = (profile.name.trim(), profile.staff_no.trim());
        if let Some(problem) = crate::evidence::document::receipt_copy_problem("", name, staff_no) {
            let field = match &problem {
                DocumentError::BadField { field, .. } => *field,
                _ => "collector_profile",
            };
            return invalid(field, problem.to_string());
        }
        self.write(|tx, _| {
            meta_set(tx, COLLECTOR_NAME, name)?;
            meta_set(tx, COLLECTOR_STAFF_NO, staff_no)
        })
    }

    pub fn signature(&self, id: &str) -> Result<Option<CustomerSignature>> {
        Ok(self.read(|c| entity_table::query(c, "id = ?1", [id]))?.into_iter().next())
    }

    /// The customer's copy of a signed receipt: printable page, PNG, SVG and verification code,
    /// with the company's name; the QR code leads to the enrolled server's public check.
    pub fn receipt_printout(&self, receipt_id: &str, company_name: &str) -> Result<ReceiptPrintout> {
        self.receipt_copy(receipt_id, &ReceiptBranding::company(company_name))
    }

    /// The customer's copy of a signed receipt as configured: the company's name and seal and the
    /// public check's address from `branding`, the payer's name and the account from this store
    /// (printed masked), the rest from the signed document.
    pub fn receipt_copy(&self, receipt_id: &str, branding: &ReceiptBranding) -> Result<ReceiptPrintout> {
        let (r, sig, record, doc) = self.signed_receipt_evidence(receipt_id)?;
        let copy = self.customer_copy(&r, branding)?;
        let print_err = |e: printable::PrintError| {
            let field = if matches!(e, printable::PrintError::Seal(_)) { "seal_png" } else { "receipt" };
            Error::Invalid(ValidationError::new(field, e.to_string()))
        };
        let html = printable::receipt_copy_html(&doc, &sig.strokes, &record, &copy).map_err(print_err)?;
        let code = evidence::verification_code(&record, &r.receipt_no);
        Ok(ReceiptPrintout {
            html,
            png: printable::receipt_png_with_company(&doc, &sig.strokes, &record, &copy.company_name)
                .map_err(print_err)?,
            signature_svg: sig
                .strokes
                .to_svg(&RenderOptions::default())
                .map_err(|e| Error::Invalid(ValidationError::new("strokes", e.to_string())))?,
            verify_url: copy
                .verify_base_url
                .as_deref()
                .and_then(|base| evidence::qr::verify_link(base, &r.receipt_no, &code)),
            verification_code: code,
        })
    }

    /// The customer's copy of a signed receipt as one PNG page (header, amounts in figures and
    /// in capitals, signature, verification code), drawn with `font_bytes`: a CJK font or font
    /// collection the caller supplies (see `evidence::receipt_image`).
    pub fn receipt_image(&self, receipt_id: &str, company_name: &str, font_bytes: &[u8]) -> Result<Vec<u8>> {
        self.receipt_copy_image(receipt_id, &ReceiptBranding::company(company_name), font_bytes)
    }

    /// [`Store::receipt_copy`] as one PNG page drawn with `font_bytes` (the seal over the header,
    /// the QR code at the foot); `evidence::receipt_copy_image`.
    pub fn receipt_copy_image(
        &self,
        receipt_id: &str,
        branding: &ReceiptBranding,
        font_bytes: &[u8],
    ) -> Result<Vec<u8>> {
        let (r, sig, record, doc) = self.signed_receipt_evidence(receipt_id)?;
        let copy = self.customer_copy(&r, branding)?;
        evidence::receipt_image::receipt_copy_image(&doc, &sig.strokes, &record, &copy, font_bytes).map_err(|e| {
            let field = match &e {
                evidence::ReceiptImageError::Font(_) => "font",
                evidence::ReceiptImageError::Print(printable::PrintError::Seal(_)) => "seal_png",
                _ => "receipt",
            };
            Error::Invalid(ValidationError::new(field, e.to_string()))
        })
    }

    /// What a copy prints beyond the signed document: `branding`, the verification link's base
    /// (the enrolled server when `branding` names none), the payer and the account.
    fn customer_copy(&self, r: &Receipt, branding: &ReceiptBranding) -> Result<printable::CustomerCopy> {
        let verify_base_url = match &branding.verify_base_url {
            Some(base) => Some(base.clone()).filter(|b| !b.trim().is_empty()),
            None => self.read(|c| meta_get(c, "server_url"))?.filter(|b| !b.is_empty()),
        };
        let payer_name = match self.household(&r.household_id, crate::field::archive::Reveal::Masked) {
            Ok(h) => h.customer_name,
            // handed over or removed since: the copy prints without the name
            Err(Error::NotFound { .. }) => String::new(),
            Err(e) => return Err(e),
        };
        let account = self.arrears_account(&r.account_id)?;
        Ok(printable::CustomerCopy {
            company_name: branding.company_name.clone(),
            seal_png: branding.seal_png.clone().filter(|p| !p.is_empty()),
            verify_base_url,
            payer_name,
            account_no: account.as_ref().map(|a| a.account_no.clone()).unwrap_or_default(),
            service_number: account.map(|a| a.service_number).unwrap_or_default(),
            // the phone signs its own collector profile into every receipt it prints
            ..Default::default()
        })
    }

    /// A receipt with its signature and seal record, and the document that was signed.
    fn signed_receipt_evidence(
        &self,
        receipt_id: &str,
    ) -> Result<(Receipt, CustomerSignature, evidence::SignatureRecord, ReceiptDocument)> {
        let r =
            self.receipt(receipt_id)?.ok_or_else(|| Error::NotFound { kind: "receipt", id: receipt_id.to_string() })?;
        let Some(signature_id) = &r.signature_id else {
            return invalid("signature_id", "this receipt has no customer signature to print");
        };
        let sig = self
            .signature(signature_id)?
            .ok_or_else(|| Error::NotFound { kind: "signature", id: signature_id.clone() })?;
        let record = sig.seal_record().map_err(|e| Error::Corrupt(e.to_string()))?;
        let doc = receipt_document(&r);
        Ok((r, sig, record, doc))
    }
}

/// The flags of a capture, for the app to decide whether to ask for the signature again before
/// anything is recorded.
pub fn capture_flags(capture: &SignatureCapture) -> Vec<Flag> {
    capture.strokes.flags()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    /// A store holding one household with an account owing `owed_fen`, and a receipt book.
    fn store_with_account(owed_fen: i64) -> (tempfile::TempDir, Store, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("device.db")).unwrap();
        let h = store.create_household(testing::household_n("g1", 1)).unwrap();
        let mut fields =
            serde_json::to_value(testing::account("g1", &h.id, owed_fen)).unwrap().as_object().unwrap().clone();
        fields.remove("id");
        let acc = new_id();
        let op = crate::sync::wire::Op {
            id: uuid::Uuid::now_v7(),
            kind: EntityKind::ArrearsAccount,
            entity: acc.clone(),
            grid: "g1".into(),
            action: OpAction::Create,
            fields,
            hlc: crate::sync::hlc::Hlc::new(1_700_000_000_000, 0, "backoffice"),
        };
        assert_eq!(store.apply_remote_ops(&[op]).unwrap().applied, 1);
        store.add_receipt_block(&testing::receipt_block("SJ000001-")).unwrap();
        (dir, store, h.id, acc)
    }

    fn paying(acc: &str, household: &str, amount_fen: i64) -> Receipt {
        let mut r = testing::receipt("g1", acc, household, "");
        r.amount_fen = amount_fen;
        r.owed_before_fen = amount_fen;
        r.cash_received_fen = (amount_fen + 9_999) / 10_000 * 10_000;
        r.change_fen = r.cash_received_fen - amount_fen;
        r
    }

    #[test]
    fn a_receipt_for_more_than_is_still_owed_is_refused_before_a_number_is_used() {
        let (_dir, store, household, acc) = store_with_account(30_000);
        let key = store.device_key().unwrap();
        let first = store.record_signed_receipt(paying(&acc, &household, 12_800), testing::capture("王芳"), &key);
        let first = first.unwrap().receipt;
        assert_eq!(store.grid_arrears("g1").unwrap()[0].remaining_fen, 17_200);
        let next = store.next_receipt_no().unwrap();
        // the debt was ¥300.00; ¥128.00 is collected and not synced: ¥172.01 is a fen too much
        match store.record_signed_receipt(paying(&acc, &household, 17_201), testing::capture("王芳"), &key) {
            Err(Error::Invalid(e)) => {
                assert_eq!(e.field, OVERPAYMENT_FIELD);
                assert!(e.rule.contains("¥172.01") && e.rule.contains("¥172.00"), "{}", e.rule);
            }
            other => panic!("expected the overpayment refusal, got {other:?}"),
        }
        assert_eq!(store.next_receipt_no().unwrap(), next, "the refused receipt used no number");
        assert!(matches!(store.record_receipt(paying(&acc, &household, 17_201)), Err(Error::Invalid(_))));
        // a voided receipt no longer counts: its amount may be collected again
        store.void_receipt(&first.id, "金额录错 wrong amount", "mgr-1").unwrap();
        assert_eq!(store.grid_arrears("g1").unwrap()[0].remaining_fen, 30_000);
        let all = store.record_signed_receipt(paying(&acc, &household, 30_000), testing::capture("王芳"), &key);
        assert_eq!(all.unwrap().receipt.amount_fen, 30_000, "the whole debt may be paid");
        let refused = store.record_receipt(paying(&acc, &household, 1));
        assert!(matches!(refused, Err(Error::Invalid(e)) if e.field == OVERPAYMENT_FIELD), "nothing is owed any more");
    }

    #[test]
    fn the_store_draws_a_signed_receipt_as_one_image() {
        let font = std::fs::read("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
            .expect("the CJK test font is missing: run .ci/install-tools (Debian package fonts-noto-cjk)");
        let (_dir, store, household, acc) = store_with_account(30_000);
        let key = store.device_key().unwrap();
        let signed = store
            .record_signed_receipt(testing::receipt("g1", &acc, &household, ""), testing::capture("王芳"), &key)
            .unwrap();

        let png = store.receipt_image(&signed.receipt.id, "中国电信 幸福里营业部", &font).unwrap();
        let reader = png::Decoder::new(std::io::Cursor::new(png)).read_info().unwrap();
        assert_eq!(reader.info().width, evidence::receipt_image::PAGE_WIDTH);
        assert!(reader
            .info()
            .utf8_text
            .iter()
            .any(|t| t.keyword == "Verification-Code" && t.get_text().unwrap() == signed.verification_code));
        match store.receipt_image(&signed.receipt.id, "X", b"no font") {
            Err(Error::Invalid(e)) => assert_eq!(e.field, "font"),
            other => panic!("expected a font error, got {other:?}"),
        }
        let unsigned = store.record_receipt(testing::receipt("g1", &acc, &household, "")).unwrap();
        assert!(
            matches!(store.receipt_image(&unsigned.id, "X", &font), Err(Error::Invalid(e)) if e.field == "signature_id")
        );
    }

    #[test]
    fn place_is_written_with_six_decimals_and_its_sign() {
        assert_eq!(place(Some(28_228_000), Some(112_938_800)).as_deref(), Some("28.228000,112.938800"));
        assert_eq!(place(Some(-500_000), Some(5)).as_deref(), Some("-0.500000,0.000005"));
        assert_eq!(place(Some(1), None), None);
    }

    #[test]
    fn canonical_strokes_keep_the_hash_and_round_to_the_quantum() {
        let mut s = testing::signature_strokes();
        s.strokes[0].points[1].x += 0.0123;
        s.strokes[0].points[2].pressure = Some(0.123_456);
        let c = canonical_strokes(&s).unwrap();
        assert_eq!(c.hash().unwrap(), s.hash().unwrap());
        assert_eq!(canonical_strokes(&c).unwrap(), c, "canonical form is a fixed point");
        let json = serde_json::to_string(&c).unwrap();
        let back: Signature = serde_json::from_str(&json).unwrap();
        assert_eq!(back.hash().unwrap(), c.hash().unwrap());
    }

    #[test]
    fn the_work_order_summary_shows_what_was_promised() {
        let mut v = testing::visit("g1", "h1");
        v.follow_up = "周五前回复提速方案".into();
        v.follow_up_due = "2024-05-10".into();
        let s = work_order_summary(&v);
        assert!(s.starts_with("处理结果 Outcome: 完成普查建档"), "{s}");
        assert!(s.contains("客户需求 Needs: 想提速到千兆宽带"));
        assert!(s.contains("承诺 Promise: 周五前回复提速方案 (承诺时限 by 2024-05-10)"));
        assert!(!s.contains("移动"), "competitor notes are not on the customer's copy");
    }
}
