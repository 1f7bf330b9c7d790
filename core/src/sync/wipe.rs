//! The remote wipe on the device (docs/sync-protocol.md, "Remote wipe"). The back office orders a
//! device wiped; the server tells it in a push answer (`PushResponse::wipe`) or in the
//! `wipe_ordered` refusal of any other request. The phone notes the order in its store (a phone
//! killed half-way goes on at its next sync, with or without a network) and then:
//!
//! 1. uploads: `lost`, one push of what it holds, whatever its outcome; `retire`, push after push
//!    until no op is pending (each acknowledged, or refused and set aside with its reason). A
//!    retiring phone that cannot reach the server keeps its store and the order, and tries again
//!    at its next sync; one the server no longer accepts (revoked meanwhile) wipes with what is left;
//! 2. counts what was uploaded (the pushes whose answers carried the order) and what is lost (ops
//!    still pending or refused, receipts not on the server and their total), and signs that with
//!    the device key, while the store (a desktop's key is in it) is still there;
//! 3. destroys the vault's key, closes the store and deletes every file of it (`Store::destroy`);
//! 4. sends the signed report, a bounded number of times. A report that cannot be sent changes
//!    nothing of the wipe: the phone's data is gone either way; the back office then shows the
//!    device as told, not wiped.
//!
//! The app gets `Wiped {report, reported}` from that sync and from every later call on the store,
//! and returns to enrolment: a new store is a new device.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::evidence::DeviceSigner;
use crate::model::EntityKind;
use crate::store::encryption::KeyVault;
use crate::store::{meta_get, meta_set, Store};
use crate::sync::client::{is_retryable, SyncConfig, SyncEngine};
use crate::sync::wire::{
    OpAction, OpOutcome, PushRequest, PushResponse, WipeMode, WipeOrder, WipeReport, WipeReportRequest,
    WipeReportResponse, PATH_WIPE_REPORT, PROTOCOL_VERSION,
};
use crate::validate::MAX_FEN;

/// The order as the store keeps it until the wipe is done.
const ORDER_KEY: &str = "wipe_order";
/// What the pushes whose answers carried the order uploaded, added up across syncs.
const UPLOADED_KEY: &str = "wipe_uploaded";
/// How many times the report is sent before the phone gives up on it (the wipe is done by then).
const REPORT_ATTEMPTS: u32 = 3;
/// The wait before the second attempt; it doubles for the third.
const REPORT_RETRY_MS: u64 = 500;

/// What a remote wipe needs from the app: the vault whose platform key it destroys (the one the
/// store was opened with) and the device key the report is signed with (the one registered at
/// enrolment). Without a signer the store's own key signs, when that is the registered one (tests,
/// desktops); without either the report is not sent. Without a vault the key record is still
/// deleted with the store.
#[derive(Clone, Default)]
pub struct WipeKeys {
    pub vault: Option<Arc<dyn KeyVault>>,
    pub signer: Option<Arc<dyn DeviceSigner>>,
}

/// Ops (and receipts among them) the server acknowledged in pushes whose answers carried the order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Uploaded {
    ops: u64,
    receipts: u64,
    receipts_fen: i64,
}

impl Uploaded {
    /// Adds what one push uploaded: each op the answer acknowledged (applied, already had,
    /// superseded), and each receipt created among them with its amount.
    fn add(&mut self, request: &PushRequest, response: &PushResponse) -> Result<()> {
        let sent: HashMap<uuid::Uuid, &crate::sync::wire::Op> = request.ops.iter().map(|op| (op.id, op)).collect();
        for result in &response.results {
            if matches!(result.outcome, OpOutcome::Rejected { .. }) {
                continue;
            }
            // the server may answer for part of a batch; an id it names that was not sent is not ours
            let Some(op) = sent.get(&result.op_id) else { continue };
            self.ops = self.ops.checked_add(1).ok_or_else(overflow)?;
            if op.kind == EntityKind::Receipt && op.action == OpAction::Create {
                self.receipts = self.receipts.checked_add(1).ok_or_else(overflow)?;
                self.receipts_fen = self.receipts_fen.checked_add(amount_of(&op.fields)).ok_or_else(overflow)?;
            }
        }
        Ok(())
    }
}

fn overflow() -> Error {
    Error::Corrupt("the wipe report's sums overflow".into())
}

/// A receipt's amount in fen, when it is one a receipt may hold (0 to the money bound); anything
/// else counts 0, as the device's facts count it.
fn amount_of(fields: &serde_json::Map<String, Value>) -> i64 {
    fields.get("amount_fen").and_then(Value::as_i64).filter(|fen| (0..=MAX_FEN).contains(fen)).unwrap_or(0)
}

impl Store {
    /// The wipe order this store noted and has not carried out yet.
    pub fn wipe_order(&self) -> Result<Option<WipeOrder>> {
        // an order that no longer reads would be a store damaged on purpose: it is met again at
        // the next contact, as every answer to the device carries it
        self.read(|c| Ok(meta_get(c, ORDER_KEY)?.and_then(|json| serde_json::from_str(&json).ok())))
    }

    /// Notes a push whose answer carried the wipe order: the order, and what the push uploaded.
    pub(crate) fn note_wipe_push(
        &self,
        order: &WipeOrder,
        request: &PushRequest,
        response: &PushResponse,
    ) -> Result<()> {
        self.write(|tx, _| {
            let mut uploaded = uploaded_in(tx)?;
            uploaded.add(request, response)?;
            meta_set(tx, UPLOADED_KEY, &serde_json::to_string(&uploaded)?)?;
            meta_set(tx, ORDER_KEY, &serde_json::to_string(order)?)
        })
    }

    /// Notes an order met in a refusal (no push carried it yet).
    fn note_wipe_order(&self, order: &WipeOrder) -> Result<()> {
        self.write(|tx, _| meta_set(tx, ORDER_KEY, &serde_json::to_string(order)?))
    }

    /// Receipts not on the server (their create pending or refused) and their total in fen.
    fn receipts_not_on_server(&self) -> Result<(u64, i64)> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT r.amount_fen FROM receipts r WHERE r.id IN (SELECT entity_id FROM outbox WHERE kind = 'receipt')",
            )?;
            let mut rows = stmt.query([])?;
            let (mut count, mut fen) = (0u64, 0i64);
            while let Some(row) = rows.next()? {
                let amount: Option<i64> = row.get(0)?;
                count = count.checked_add(1).ok_or_else(overflow)?;
                fen = fen.checked_add(amount.filter(|f| (0..=MAX_FEN).contains(f)).unwrap_or(0)).ok_or_else(overflow)?;
            }
            Ok((count, fen))
        })
    }

    /// The report of the wipe about to happen: what the order's pushes uploaded, what is left.
    fn wipe_report(&self, order: WipeOrder) -> Result<WipeReport> {
        let uploaded = self.read(uploaded_in)?;
        let counts = self.outbox_counts()?;
        let (receipts_lost, receipts_lost_fen) = self.receipts_not_on_server()?;
        Ok(WipeReport {
            device_id: self.device_id().to_string(),
            mode: order.mode,
            ordered_at_ms: order.ordered_at_ms,
            wiped_at_ms: self.wall_ms(),
            ops_uploaded: uploaded.ops,
            receipts_uploaded: uploaded.receipts,
            receipts_uploaded_fen: uploaded.receipts_fen,
            ops_rejected: counts.rejected,
            ops_lost: counts.pending,
            receipts_lost,
            receipts_lost_fen,
        })
    }
}

fn uploaded_in(conn: &rusqlite::Connection) -> Result<Uploaded> {
    Ok(meta_get(conn, UPLOADED_KEY)?.and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default())
}

/// Lower-case hex, as the wire carries a signature.
fn hex(bytes: &[u8]) -> String {
    crate::evidence::to_hex(bytes)
}

impl SyncEngine {
    /// Carries out `order` (the steps in this file's head). Answers the error the sync ends with:
    /// `Wiped`, or what held a retiring phone's upload up (its store and the order stay).
    pub(crate) async fn carry_out_wipe(&self, order: WipeOrder) -> Error {
        let store = self.store().clone();
        if let Err(e) = store.note_wipe_order(&order) {
            return e;
        }
        tracing::warn!(mode = order.mode.as_str(), "the back office ordered this phone wiped");
        let config = self.config();
        match order.mode {
            WipeMode::Lost => {
                // one push, whatever its outcome: a lost phone may never reach the server again
                let pushed = async { self.push_once(&config, store.pending_ops(config.push_batch)?).await }.await;
                if let Err(e) = pushed {
                    tracing::warn!(error = %e, "the lost phone's last push failed; wiping all the same");
                }
            }
            WipeMode::Retire => match self.upload_all(&config).await {
                Ok(()) => {}
                // revoked meanwhile: nothing more will ever be taken, and the order stands
                Err(Error::Unauthorized(why)) => {
                    tracing::warn!(why, "the retiring phone is no longer accepted; wiping with what is left");
                }
                Err(e) => return e,
            },
        }
        let report = store.wipe_report(order);
        let signature = match &report {
            Ok(report) => self.sign(report),
            Err(e) => {
                tracing::warn!(error = %e, "the wipe's figures could not be counted; wiping without a report");
                None
            }
        };
        store.destroy(self.wipe_keys().vault.as_deref());
        tracing::warn!("this phone's store was wiped on the back office's order");
        let report = report.ok();
        let reported = match (&report, signature) {
            (Some(report), Some(signature)) => self.send_report(&config, report, signature).await,
            _ => false,
        };
        let report = report.map(Box::new);
        store.note_wiped(report.clone(), reported);
        Error::Wiped { report, reported }
    }

    /// A retiring phone's upload: pushes until no op is pending. Each push's answer settles its
    /// ops (acknowledged ones leave, refused ones are set aside), so the loop ends; a server that
    /// answers for none of a batch ends it with an error instead of a spin.
    async fn upload_all(&self, config: &SyncConfig) -> Result<()> {
        loop {
            let ops = self.store().pending_ops(config.push_batch)?;
            if ops.is_empty() {
                return Ok(());
            }
            let (_, response) = self.push_once(config, ops).await?;
            if response.results.is_empty() {
                return Err(Error::Interrupted("the server acknowledged no op of the batch".into()));
            }
        }
    }

    /// The report's signature with the device key (`WipeKeys`), hex; None when there is no key
    /// to sign with or it refuses (then the report is not sent).
    fn sign(&self, report: &WipeReport) -> Option<String> {
        let message = report.signed_message();
        let signed = match self.wipe_keys().signer {
            Some(signer) => signer.sign(&message),
            None => {
                let own = self.store().device_key().ok()?;
                let registered = self.store().registered_public_key().ok()??;
                if !registered.eq_ignore_ascii_case(&hex(&own.public_key_bytes())) {
                    tracing::warn!("no device key to sign the wipe report with; it is not sent");
                    return None;
                }
                own.sign(&message)
            }
        };
        match signed {
            Ok(signature) => Some(hex(&signature)),
            Err(e) => {
                tracing::warn!(error = %e, "the device key did not sign the wipe report; it is not sent");
                None
            }
        }
    }

    /// Sends the signed report, `REPORT_ATTEMPTS` times at most while the failure is one a retry
    /// may cure. `401` means the server has it already (an earlier attempt whose answer was lost)
    /// or revoked the device: either way there is nothing more to send.
    async fn send_report(&self, config: &SyncConfig, report: &WipeReport, signature: String) -> bool {
        let request = WipeReportRequest { protocol: PROTOCOL_VERSION, report: report.clone(), signature };
        let mut wait = Duration::from_millis(REPORT_RETRY_MS);
        for attempt in 1..=REPORT_ATTEMPTS {
            let post = self
                .device_request(self.http().post(format!("{}{PATH_WIPE_REPORT}", config.server_url)), config)
                .json(&request);
            match self.exchange::<WipeReportResponse>(post).await {
                Ok(_) => return true,
                Err(e) if is_retryable(&e) && attempt < REPORT_ATTEMPTS => {
                    tracing::warn!(error = %e, attempt, "the wipe report did not reach the server; trying again");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the wipe report was not taken; the back office shows the phone told, not wiped");
                    return false;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::hlc::Hlc;
    use crate::sync::wire::{DeviceFacts, Op, OpResult};
    use serde_json::json;

    fn op(n: u128, kind: EntityKind, fields: Value) -> Op {
        Op {
            id: uuid::Uuid::from_u128(n),
            kind,
            entity: format!("e{n}"),
            grid: "g1".into(),
            action: OpAction::Create,
            fields: fields.as_object().cloned().unwrap_or_default(),
            hlc: Hlc::new(1_700_000_000_000, n as u16, "dev1"),
        }
    }

    fn answer(results: Vec<(u128, OpOutcome)>) -> PushResponse {
        PushResponse {
            protocol: 1,
            results: results
                .into_iter()
                .map(|(n, outcome)| OpResult { op_id: uuid::Uuid::from_u128(n), outcome, clamped_to: None })
                .collect(),
            server_time_ms: 0,
            clock_offset_ms: 0,
            generation: None,
            update: None,
            policy: None,
            receipt: None,
            wipe: None,
        }
    }

    #[test]
    fn the_upload_counts_acknowledged_ops_and_receipts_with_their_amounts_only() {
        let request = PushRequest {
            protocol: 1,
            facts: DeviceFacts::default(),
            ops: vec![
                op(1, EntityKind::Visit, json!({})),
                op(2, EntityKind::Receipt, json!({"amount_fen": 12_800})),
                op(3, EntityKind::Receipt, json!({"amount_fen": 5_000})),
                op(4, EntityKind::Receipt, json!({"amount_fen": -3})),
            ],
        };
        let rejected = OpOutcome::Rejected { code: crate::sync::wire::RejectCode::Invalid, reason: "x".into() };
        let mut up = Uploaded::default();
        up.add(
            &request,
            &answer(vec![
                (1, OpOutcome::Applied),
                (2, OpOutcome::AlreadyHad),
                (3, rejected),
                (4, OpOutcome::Applied),
                (9, OpOutcome::Applied), // an id that was not sent
            ]),
        )
        .unwrap();
        // a negative amount is no receipt's: counted as a receipt, its amount as 0
        assert_eq!(up, Uploaded { ops: 3, receipts: 2, receipts_fen: 12_800 });
        up.add(&request, &answer(vec![(3, OpOutcome::Applied)])).unwrap();
        assert_eq!(up, Uploaded { ops: 4, receipts: 3, receipts_fen: 17_800 });
        let mut full = Uploaded { ops: 0, receipts: 0, receipts_fen: i64::MAX };
        assert!(matches!(full.add(&request, &answer(vec![(2, OpOutcome::Applied)])), Err(Error::Corrupt(_))));
    }
}
