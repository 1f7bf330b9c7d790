//! Signed evidence on push (issue 4): the customer's signature, the receipts and work orders it
//! signs, receipt numbers, voids, and the arrears a receipt pays off.
//!
//! Every check here is a typed rejection, never a 500: a signature that does not verify under the
//! device's registered key, a receipt or work order that differs from what was signed (amount,
//! number, time, strokes …), a receipt without a signature, a number not issued to the device or
//! already used. What a record names (a receipt's account, a void's receipt) is references.rs.
//! Rejected ops are kept in `rejections` with their body for the back office.
//!
//! What an accepted receipt does: it is immutable (insert-only), its number is claimed, and its
//! amount comes off the arrears account by a back-office update of `owed_fen` stamped by the
//! server, which the phones pull. A void from a phone is stored and waits for the back office.

use gridbook_core::field::receipts::{self, EvidenceProblem};
use gridbook_core::model::{CustomerSignature, EntityKind, Receipt, Record, Visit};
use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::wire::{EntityState, Op, OpAction, RejectCode};
use serde_json::{Map, Value};

use crate::domain::auth::DeviceAuth;
use crate::domain::prepared::Reject;
use crate::domain::reconcile::Decision;
use crate::storage::entity_tx::EntityTx;
use crate::storage::error::StorageResult;

/// The device id under which the server's own changes (arrears updates) are stamped and logged.
/// Not a replica's own node (authoring.rs): the stamp is made inside the record's lock, later than
/// every stamp the record holds, so it never equals another of its stamps on any replica.
pub const SERVER_NODE: &str = crate::domain::authoring::BACKOFFICE_DEVICE;

fn reject(code: RejectCode, reason: impl Into<String>) -> Decision {
    Decision::Reject(Reject(code, reason.into()))
}

/// The typed record held in a state (whole records only).
pub(crate) fn typed<R: Record>(state: &EntityState) -> Result<R, String> {
    crate::domain::prepared::typed(state).map_err(|e| format!("{} {}: {e}", state.kind.as_str(), state.id))
}

fn decode_keys(hex_keys: &[String]) -> Vec<[u8; 32]> {
    hex_keys.iter().filter_map(|k| gridbook_core::evidence::from_hex::<32>(k).ok()).collect()
}

/// Runs `check` under each key the device registered: good if one verifies. Otherwise the most
/// telling problem: an altered document or strokes says more than "no key verifies".
pub(crate) fn under_any_key(
    keys: &[[u8; 32]],
    check: impl Fn(&[u8; 32]) -> Result<(), EvidenceProblem>,
) -> Result<(), EvidenceProblem> {
    let mut worst = EvidenceProblem::BadSeal;
    for key in keys {
        match check(key) {
            Ok(()) => return Ok(()),
            Err(EvidenceProblem::BadSeal) => {}
            Err(other) => worst = other,
        }
    }
    Err(worst)
}

fn evidence_rejection(problem: EvidenceProblem) -> Decision {
    match problem {
        EvidenceProblem::Malformed(m) => reject(RejectCode::Invalid, format!("signature: {m}")),
        other => reject(RejectCode::BadSignature, other.to_string()),
    }
}

fn device_keys(tx: &mut dyn EntityTx, device_id: &str) -> Result<Vec<[u8; 32]>, Decision> {
    let keys = decode_keys(&tx.device_public_keys(device_id)?);
    if keys.is_empty() {
        return Err(reject(
            RejectCode::BadSignature,
            format!("device {device_id} registered no signing key at enrolment"),
        ));
    }
    Ok(keys)
}

/// The signature a receipt or visit points at: pushed earlier or earlier in this batch.
fn load_signature(tx: &mut dyn EntityTx, id: &str) -> Result<CustomerSignature, Decision> {
    let Some((state, _)) = tx.load(EntityKind::Signature, id)? else {
        return Err(reject(
            RejectCode::BadSignature,
            format!("signature {id} is not on the server: it is pushed before its document, or it was rejected"),
        ));
    };
    typed(&state).map_err(|e| reject(RejectCode::Invalid, e))
}

fn same_device(device: &DeviceAuth, named: &str, what: &str) -> Result<(), Decision> {
    if named != device.device_id {
        return Err(reject(
            RejectCode::BadSignature,
            format!("the {what} names device {named}, but device {} pushed it", device.device_id),
        ));
    }
    Ok(())
}

/// Checks a complete record before it is stored. Kinds without evidence pass.
pub(crate) fn check(tx: &mut dyn EntityTx, device: &DeviceAuth, state: &EntityState) -> Result<(), Decision> {
    let bad = |e: String| reject(RejectCode::Invalid, e);
    match state.kind {
        EntityKind::Signature => {
            let sig: CustomerSignature = typed(state).map_err(bad)?;
            same_device(device, &sig.device_id, "signature")?;
            if sig.document_id.trim().is_empty() {
                return Err(reject(RejectCode::Invalid, "document_id: must not be empty"));
            }
            let keys = device_keys(tx, &sig.device_id)?;
            under_any_key(&keys, |k| receipts::check_signature(&sig, k).map(drop)).map_err(evidence_rejection)
        }
        EntityKind::Receipt => {
            let r: Receipt = typed(state).map_err(bad)?;
            same_device(device, &r.device_id, "receipt")?;
            let Some(signature_id) = r.signature_id.as_deref().filter(|s| !s.is_empty()) else {
                return Err(reject(
                    RejectCode::BadSignature,
                    "a receipt needs the customer's signature; this one has none",
                ));
            };
            let sig = load_signature(tx, signature_id)?;
            let keys = device_keys(tx, &sig.device_id)?;
            under_any_key(&keys, |k| receipts::check_receipt_signature(&r, &sig, k)).map_err(evidence_rejection)?;
            if let Some(holder) = tx.receipt_no_holder(&r.receipt_no)? {
                if holder != r.id {
                    return Err(reject(
                        RejectCode::DuplicateReceiptNo,
                        format!("receipt number {} was already used", r.receipt_no),
                    ));
                }
            }
            if !tx.receipt_no_issued_to(&r.receipt_no, &device.device_id)? {
                return Err(reject(
                    RejectCode::ReceiptNoNotIssued,
                    format!("receipt number {} is not in a block issued to this device", r.receipt_no),
                ));
            }
            // its account and household: references.rs
            Ok(())
        }
        EntityKind::Visit => {
            if state.value("signature_id").as_str().is_none_or(str::is_empty) {
                return Ok(()); // a visit without a signed work order (validated already)
            }
            let v: Visit = typed(state).map_err(bad)?;
            let Some(signature_id) = v.signature_id.as_deref().filter(|s| !s.is_empty()) else {
                return Ok(()); // a visit without a signed work order
            };
            let sig = load_signature(tx, signature_id)?;
            same_device(device, &sig.device_id, "work order's signature")?;
            let keys = device_keys(tx, &sig.device_id)?;
            under_any_key(&keys, |k| receipts::check_visit_signature(&v, &sig, k)).map_err(evidence_rejection)
        }
        _ => Ok(()),
    }
}

/// What an accepted record does besides being stored.
pub(crate) fn after_save(
    tx: &mut dyn EntityTx,
    device: &DeviceAuth,
    state: &EntityState,
    now_ms: i64,
) -> StorageResult<()> {
    match state.kind {
        EntityKind::Receipt => {
            let account = state.value("account_id").as_str().unwrap_or_default().to_string();
            let amount = state.value("amount_fen").as_i64().unwrap_or(0);
            let owed_before = adjust_owed(tx, &account, -amount, now_ms)?;
            tx.record_receipt_check(&state.id, &account, owed_before, now_ms)
        }
        EntityKind::ReceiptVoid => {
            let receipt = state.value("receipt_id").as_str().unwrap_or_default();
            tx.record_void_request(&state.id, receipt, &device.device_id, now_ms)?;
            tx.audit(&device.device_id, "void_requested", &state.id, &format!("receipt {receipt}"), now_ms)
        }
        _ => Ok(()),
    }
}

/// A stamp later than every stamp the entity holds, on the server's clock when it is ahead.
fn server_stamp(state: &EntityState, now_ms: i64) -> Hlc {
    let now = Hlc::new(now_ms.max(0) as u64, 0, SERVER_NODE);
    match state.max_clock() {
        Some(latest) if *latest >= now => match latest.counter.checked_add(1) {
            Some(counter) => Hlc::new(latest.millis, counter, SERVER_NODE),
            None => Hlc::new(latest.millis + 1, 0, SERVER_NODE),
        },
        _ => now,
    }
}

/// Moves an arrears account's `owed_fen` by `delta_fen` (never below zero) as a back-office
/// update under the server's stamp, so the phones of the grid pull the new balance. Logged like
/// any op. An account the server does not hold is left alone. Answers what it owed before, when
/// the server holds it.
pub(crate) fn adjust_owed(
    tx: &mut dyn EntityTx,
    account_id: &str,
    delta_fen: i64,
    now_ms: i64,
) -> StorageResult<Option<i64>> {
    let Some((mut state, grid)) = tx.load(EntityKind::ArrearsAccount, account_id)? else {
        return Ok(None);
    };
    let owed = state.value("owed_fen").as_i64().unwrap_or(0);
    let mut fields = Map::new();
    fields.insert("owed_fen".into(), Value::from(owed.saturating_add(delta_fen).max(0)));
    fields.insert("as_of_ms".into(), Value::from(now_ms));
    let op = Op {
        id: uuid::Uuid::now_v7(),
        kind: EntityKind::ArrearsAccount,
        entity: account_id.to_string(),
        grid: grid.clone(),
        action: OpAction::Update,
        fields,
        hlc: server_stamp(&state, now_ms),
    };
    state.apply(&op);
    tx.save(&state, &grid, now_ms)?;
    tx.record_op(SERVER_NODE, &op, &op.hlc, "applied", now_ms)?;
    Ok(Some(owed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_stamp_is_after_every_stamp_held() {
        let mut s = EntityState::empty(EntityKind::ArrearsAccount, "a1");
        assert_eq!(server_stamp(&s, 1_000), Hlc::new(1_000, 0, SERVER_NODE));
        s.base = Some(Hlc::new(5_000, 7, "phone1"));
        let stamp = server_stamp(&s, 1_000);
        assert!(stamp > Hlc::new(5_000, 7, "phone1"));
        s.base = Some(Hlc::new(5_000, u16::MAX, "phone1"));
        assert_eq!(server_stamp(&s, 1_000), Hlc::new(5_001, 0, SERVER_NODE));
    }

    #[test]
    fn the_most_telling_problem_is_reported() {
        let keys = [[1u8; 32], [2u8; 32]];
        let r = under_any_key(&keys, |k| {
            if k[0] == 1 {
                Err(EvidenceProblem::BadSeal)
            } else {
                Err(EvidenceProblem::DocumentAltered)
            }
        });
        assert_eq!(r, Err(EvidenceProblem::DocumentAltered));
        assert_eq!(under_any_key(&keys, |k| if k[0] == 2 { Ok(()) } else { Err(EvidenceProblem::BadSeal) }), Ok(()));
        assert_eq!(under_any_key(&[], |_| Ok(())), Err(EvidenceProblem::BadSeal));
    }
}
