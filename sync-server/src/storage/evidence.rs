//! What the back office sees of signed evidence (issue 4): receipt blocks issued to devices,
//! voids waiting for approval and their decisions, the audit trail, and one receipt with its
//! signature and the result of checking it again.

use serde::{Deserialize, Serialize};

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
}
