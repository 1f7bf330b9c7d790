//! Every reveal of personal data leaves a row in the audit trail: who, what, when. One receipt's
//! evidence shows the customer's name, the signature image and the verification code in full, so
//! it is read only through `receipt_evidence` here (the back office's HTTP and the admin command
//! alike); exports that carry customer names are audited where they are written (`export.rs`).

use crate::http::error::AppResult;
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
