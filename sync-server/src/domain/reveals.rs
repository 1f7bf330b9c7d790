//! Every reveal of personal data leaves a row in the audit trail: who, what, when. One receipt's
//! evidence shows the customer's name, the signature image and the verification code in full, so
//! it is read only through `receipt_evidence` here (the back office's HTTP and the admin command
//! alike); exports that carry customer names are audited where they are written (`export.rs`).

use crate::domain::drilldown::{household_page, HouseholdPage};
use crate::http::error::{AppError, AppResult};
use crate::storage::evidence::ReceiptEvidence;
use crate::storage::SyncStorage;

/// The audit action of a receipt's evidence shown in full.
pub const ACTION_REVEAL_RECEIPT: &str = "reveal_receipt";

/// One receipt's evidence for `actor`, audited when there is one to show (nothing is revealed by
/// a receipt number that is not there).
pub fn receipt_evidence(
    storage: &dyn SyncStorage,
    actor: &str,
    receipt_no: &str,
    now_ms: i64,
) -> AppResult<Option<ReceiptEvidence>> {
    let Some(evidence) = storage.receipt_evidence(receipt_no)? else {
        return Ok(None);
    };
    let detail = format!(
        "receipt {receipt_no} of grid {}: customer name, signature image, verification code",
        evidence.receipt.grid_id
    );
    storage.record_audit(actor, ACTION_REVEAL_RECEIPT, receipt_no, &detail, now_ms)?;
    Ok(Some(evidence))
}

/// The audit action of a household's archive shown in full.
pub const ACTION_REVEAL_HOUSEHOLD: &str = "reveal_household";

/// One household's page in full for `actor` (an admin: the caller checks), audited with the
/// purpose given; the purpose is required and bounded. Nothing is revealed, nor audited, for a
/// household that is not there.
pub fn household(
    storage: &dyn SyncStorage,
    actor: &str,
    grid_id: &str,
    household_id: &str,
    purpose: &str,
    now_ms: i64,
) -> AppResult<Option<HouseholdPage>> {
    let purpose = purpose.trim();
    if purpose.is_empty() || purpose.chars().count() > 200 {
        return Err(AppError::invalid(
            "请说明查看完整信息的理由（200 字以内） / give the purpose (up to 200 characters)",
        ));
    }
    let Some(page) = household_page(storage, grid_id, household_id, true)? else {
        return Ok(None);
    };
    let detail = format!("household {household_id} of grid {grid_id}: name, phone and ID numbers; purpose: {purpose}");
    storage.record_audit(actor, ACTION_REVEAL_HOUSEHOLD, household_id, &detail, now_ms)?;
    Ok(Some(page))
}
