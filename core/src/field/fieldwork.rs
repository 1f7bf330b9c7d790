//! What happens at the door: visits (走访), arrears notices (欠费通知), receipts for money collected
//! (收据) and their voids. All insert-only facts: recorded once, never edited.

use rusqlite::params;

use crate::error::Result;
use crate::model::{ArrearsAccount, ArrearsNotice, Receipt, ReceiptVoid, Record, Visit};
use crate::store::entity_table;
use crate::store::{new_id, record_fact_change, Store};
use crate::validate;

impl Store {
    /// Records a fact and its op in one transaction, after checking that what it refers to
    /// exists in its grid (sync/references.rs); `field` reads a reference field of the record.
    fn record_fact<R: Record>(
        &self,
        mut record: R,
        grid: &str,
        field: for<'r> fn(&'r R, &str) -> Option<&'r str>,
    ) -> Result<R> {
        if record.id().is_empty() {
            record.set_id(new_id());
        }
        self.write(|tx, clock| {
            super::references_hold(tx, R::KIND, grid, |f| field(&record, f))?;
            record_fact_change(tx, clock, &record, grid)
        })?;
        Ok(record)
    }

    pub fn record_visit(&self, mut v: Visit) -> Result<Visit> {
        crate::location::fill_coordinates(v.location.as_ref(), &mut v.lat_e6, &mut v.lon_e6);
        validate::visit(&v)?;
        let grid = v.grid_id.clone();
        self.record_fact(v, &grid, |v, f| match f {
            "household_id" => Some(&v.household_id),
            "signature_id" => v.signature_id.as_deref(),
            _ => None,
        })
    }

    pub fn record_notice(&self, n: ArrearsNotice) -> Result<ArrearsNotice> {
        validate::notice(&n)?;
        let grid = n.grid_id.clone();
        self.record_fact(n, &grid, |n, f| match f {
            "account_id" => Some(&n.account_id),
            "household_id" => Some(&n.household_id),
            _ => None,
        })
    }

    /// Records money collected against a numbered receipt, without the customer's signature.
    /// The number must come from a receipt block the server issued to this device and be unused
    /// (an empty number takes the next one); a `signature_id`, if given, must be recorded already.
    /// The app records receipts with `record_signed_receipt` (receipts.rs): by default the server
    /// rejects a receipt without a signature.
    pub fn record_receipt(&self, r: Receipt) -> Result<Receipt> {
        self.record_unsigned_receipt(r)
    }

    /// Voids a mistaken receipt with a reason. The receipt itself stays as it was.
    pub fn void_receipt(&self, receipt_id: &str, reason: &str, voided_by: &str) -> Result<ReceiptVoid> {
        let receipt: Receipt = self
            .read(|c| entity_table::query(c, "id = ?1", [receipt_id]))?
            .into_iter()
            .next()
            .ok_or_else(|| crate::error::Error::NotFound { kind: "receipt", id: receipt_id.to_string() })?;
        let void = ReceiptVoid {
            id: String::new(),
            grid_id: receipt.grid_id.clone(),
            receipt_id: receipt_id.to_string(),
            reason: reason.trim().to_string(),
            voided_at_ms: self.wall_ms(),
            voided_by: voided_by.to_string(),
        };
        validate::receipt_void(&void)?;
        self.record_fact(void, &receipt.grid_id, |v, f| (f == "receipt_id").then_some(v.receipt_id.as_str()))
    }

    pub fn visit(&self, id: &str) -> Result<Option<Visit>> {
        Ok(self.read(|c| entity_table::query(c, "id = ?1", [id]))?.into_iter().next())
    }

    pub fn receipt(&self, id: &str) -> Result<Option<Receipt>> {
        Ok(self.read(|c| entity_table::query(c, "id = ?1", [id]))?.into_iter().next())
    }

    pub fn arrears_account(&self, id: &str) -> Result<Option<ArrearsAccount>> {
        Ok(self.read(|c| entity_table::query(c, "id = ?1 AND coalesce(deleted, 0) = 0", [id]))?.into_iter().next())
    }

    /// Visits with a promised follow-up due on or before `date` (YYYY-MM-DD), oldest first.
    pub fn follow_ups_due(&self, grid_id: &str, date: &str) -> Result<Vec<Visit>> {
        self.read(|c| {
            entity_table::query(
                c,
                // a visit keeps the grid it was made in; a household handed over to another grid
                // brings its open promises with it (docs/sync-protocol.md, Handovers)
                "(grid_id = ?1 OR household_id IN (SELECT id FROM households WHERE grid_id = ?1))
                 AND follow_up_due <> '' AND follow_up_due <= ?2 ORDER BY follow_up_due",
                params![grid_id, date],
            )
        })
    }
}
