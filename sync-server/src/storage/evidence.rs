//! What the back office sees of signed evidence (issue 4): receipt blocks issued to devices,
//! voids waiting for approval and their decisions, the audit trail, and one receipt with its
//! signature and the result of checking it again — that check itself (`verify`, `evidence`), the
//! same on every backend over the few reads `EvidenceReads` asks of it.

use gridbook_core::evidence::{self, Relation, RenderOptions};
use gridbook_core::field::receipts;
use gridbook_core::model::{CustomerSignature, EntityKind, Receipt};
use gridbook_core::sync::wire::{EntityState, VerifyResponse};
use serde::{Deserialize, Serialize};

use super::error::{StorageError, StorageResult};
use crate::domain::signed::{typed, under_any_key};

/// A receipt book issued to a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptBlockRow {
    pub prefix: String,
    pub device_id: String,
    pub first: u32,
    pub last: u32,
    pub issued_at_ms: i64,
    /// Numbers of the block on receipts the server accepted.
    pub used: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoidDecision {
    Approve,
    Refuse,
}

impl VoidDecision {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "approve" | "approved" => Some(VoidDecision::Approve),
            "refuse" | "refused" => Some(VoidDecision::Refuse),
            _ => None,
        }
    }
}

/// Which voids a page of `SyncStorage::void_reviews_page` lists; None: any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VoidFilter {
    /// "pending", "approved" or "refused".
    pub status: Option<String>,
    /// The voids of this receipt (its id).
    pub receipt_id: Option<String>,
    /// This one void.
    pub void_id: Option<String>,
}

/// A phone's request to void a receipt, and what the back office decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VoidReviewRow {
    pub void_id: String,
    pub receipt_id: String,
    pub receipt_no: Option<String>,
    pub amount_fen: Option<i64>,
    pub grid_id: Option<String>,
    pub reason: String,
    pub requested_by_device: String,
    pub requested_at_ms: i64,
    /// "pending", "approved" or "refused".
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at_ms: Option<i64>,
    pub note: Option<String>,
}

/// One row of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

/// Which rows of the audit trail to list: each filter left None matches every row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Rows about this record (a void, a receipt number, a manager, a grid …).
    pub subject: Option<String>,
    /// Rows of this action (`grid_renamed`, `void_approved` …).
    pub action: Option<String>,
    /// Rows of what this staff member or device did.
    pub actor: Option<String>,
    /// Rows at or after this instant.
    pub since_ms: Option<i64>,
    /// Rows before this instant.
    pub until_ms: Option<i64>,
}

/// A receipt as the back office checks it: the facts, the signature, and the seal checked again
/// against what is stored now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReceiptEvidence {
    pub receipt: gridbook_core::model::Receipt,
    pub signer_name: Option<String>,
    /// "户主 Householder" …
    pub signer_relation: Option<String>,
    /// Plausibility warnings on the strokes (drawn too fast, too few points, a dot).
    pub flags: Vec<String>,
    pub signature_duration_ms: Option<u32>,
    pub signature_svg: Option<String>,
    /// "verified" or "failed: <why>" (or "unsigned").
    pub verification: String,
    pub verification_code: Option<String>,
    /// The void's status when one was requested: "pending", "approved", "refused".
    pub void_status: Option<String>,
    /// The signature record itself, to print the customer's copy from (not sent: the fields
    /// above say what the back office shows of it).
    #[serde(skip)]
    pub signature: Option<CustomerSignature>,
}

/// What checking a stored receipt again reads, on one consistent view of a backend.
pub trait EvidenceReads {
    /// The receipt that holds a number, if any.
    fn receipt_no_holder(&mut self, receipt_no: &str) -> StorageResult<Option<String>>;
    /// A record as stored now.
    fn load(&mut self, kind: EntityKind, id: &str) -> StorageResult<Option<EntityState>>;
    /// Every public key (hex) the device registered.
    fn device_public_keys(&mut self, device_id: &str) -> StorageResult<Vec<String>>;
    /// The status of the receipt's void, an approved one first, then the newest.
    fn void_status(&mut self, receipt_id: &str) -> StorageResult<Option<String>>;
}

/// A stored receipt, its signature, and the seal checked again against what is stored now.
struct Stored {
    receipt: Receipt,
    signature: Option<CustomerSignature>,
    /// The verification code when the seal checks out; why not otherwise.
    checked: Result<String, String>,
}

fn stored(r: &mut dyn EvidenceReads, receipt_no: &str) -> StorageResult<Option<Stored>> {
    let Some(receipt_id) = r.receipt_no_holder(receipt_no)? else { return Ok(None) };
    let Some(state) = r.load(EntityKind::Receipt, &receipt_id)? else { return Ok(None) };
    let receipt: Receipt = typed(&state).map_err(StorageError::internal)?;
    let signature = match receipt.signature_id.as_deref() {
        Some(id) => r
            .load(EntityKind::Signature, id)?
            .map(|s| typed::<CustomerSignature>(&s))
            .transpose()
            .map_err(StorageError::internal)?,
        None => None,
    };
    let checked = match &signature {
        None => Err("unsigned".to_string()),
        Some(sig) => {
            let keys: Vec<[u8; 32]> =
                r.device_public_keys(&sig.device_id)?.iter().filter_map(|k| evidence::from_hex::<32>(k).ok()).collect();
            under_any_key(&keys, |k| receipts::check_receipt_signature(&receipt, sig, k))
                .and_then(|()| receipts::receipt_verification_code(&receipt, sig))
                .map_err(|e| e.to_string())
        }
    };
    Ok(Some(Stored { receipt, signature, checked }))
}

/// "YYYY-MM-DD" on the collecting phone's calendar.
pub(crate) fn local_day(utc_ms: i64, zone_offset_min: i64) -> Option<String> {
    let local = utc_ms.checked_add(zone_offset_min.checked_mul(60_000)?)?;
    chrono::DateTime::from_timestamp_millis(local).map(|t| t.date_naive().format("%Y-%m-%d").to_string())
}

/// The public check of a paper receipt: its number and the code printed on it.
pub(crate) fn verify(r: &mut dyn EvidenceReads, receipt_no: &str, code: &str) -> StorageResult<VerifyResponse> {
    let mut answer = VerifyResponse::invalid(receipt_no);
    let Some(found) = stored(r, receipt_no)? else { return Ok(answer) };
    let Ok(expected) = &found.checked else { return Ok(answer) };
    // Both sides parsed into the code's 50 bits: lower case, O/0, I/L/1 and dashes do not matter.
    match (evidence::parse_verification_code(code), evidence::parse_verification_code(expected)) {
        (Ok(given), Ok(want)) if given == want => {}
        _ => return Ok(answer),
    }
    let voided = r.void_status(&found.receipt.id)?.as_deref() == Some("approved");
    answer.valid = !voided;
    answer.status = if voided { "voided" } else { "valid" }.into();
    answer.amount_fen = Some(found.receipt.amount_fen);
    answer.collected_on = local_day(found.receipt.collected_at_ms, found.receipt.zone_offset_min);
    answer.grid_id = Some(found.receipt.grid_id.clone());
    Ok(answer)
}

/// One receipt with its signature, checked again against what is stored now.
pub(crate) fn evidence(r: &mut dyn EvidenceReads, receipt_no: &str) -> StorageResult<Option<ReceiptEvidence>> {
    let Some(found) = stored(r, receipt_no)? else { return Ok(None) };
    let void_status = r.void_status(&found.receipt.id)?;
    let sig = found.signature.as_ref();
    Ok(Some(ReceiptEvidence {
        signer_name: sig.map(|s| s.signer_name.clone()),
        signer_relation: sig.map(|s| s.relation().map_or_else(|| s.relation.clone(), |r: Relation| r.label())),
        flags: sig.map(|s| s.flags.iter().map(|f| format!("{f:?}")).collect()).unwrap_or_default(),
        signature_duration_ms: sig.map(CustomerSignature::duration_ms),
        signature_svg: sig.and_then(|s| s.strokes.to_svg(&RenderOptions::default()).ok()),
        verification: match &found.checked {
            Ok(_) => "verified".into(),
            Err(why) if why == "unsigned" => "unsigned".into(),
            Err(why) => format!("failed: {why}"),
        },
        verification_code: found.checked.as_ref().ok().cloned(),
        void_status,
        receipt: found.receipt,
        signature: found.signature,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_days_follow_the_phone_zone() {
        // 2024-05-01 17:30 UTC is 2024-05-02 01:30 in UTC+8
        assert_eq!(local_day(1_714_584_600_000, 480).as_deref(), Some("2024-05-02"));
        assert_eq!(local_day(1_714_584_600_000, 0).as_deref(), Some("2024-05-01"));
        assert_eq!(local_day(i64::MAX, 840), None);
    }
}
