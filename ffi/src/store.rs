//! `GridbookStore`: the device store for the apps. Each method calls one core method and converts
//! its errors (and the few records the app sees in its own shape, records.rs); nothing is decided
//! here.

use std::sync::{Arc, Mutex};

use gridbook_core as core;

use crate::error::Result;
use crate::evidence::{CoreSigner, DeviceSigner, MemoryKey, SignatureCapture};
use crate::records::*;
use crate::vault::{CoreVault, KeyVault};

/// The device's local store: one SQLite file holding the archives, visits, arrears and receipts
/// of the manager's grids, every change logged until the server acknowledges it. Safe to use
/// from any thread; writes are serialised. Calls are quick local database work: call them off
/// the UI thread all the same.
#[derive(uniffi::Object)]
pub struct GridbookStore {
    pub(crate) inner: Arc<core::Store>,
    /// The vault the store was opened (or last unlocked) with: a remote wipe destroys its key.
    vault: Mutex<Arc<dyn KeyVault>>,
}

impl GridbookStore {
    /// The core store for a call on its data: `Locked` while the store is locked. Every exported
    /// method but the lock's own goes through here (a test walks them all).
    pub(crate) fn store(&self) -> Result<&core::Store> {
        self.inner.ensure_unlocked()?;
        Ok(&self.inner)
    }

    /// The vault the store was opened or last unlocked with.
    pub(crate) fn vault(&self) -> Arc<dyn KeyVault> {
        self.vault.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[uniffi::export]
impl GridbookStore {
    /// Opens (or creates) the store at `path`, always encrypted (SQLCipher): its data key is
    /// unwrapped by `vault` from `<path>-key` beside it, and a new store gets a fresh random key.
    /// A plaintext store of an older app is converted in place first. A file that fails to open is
    /// never deleted: `WrongKey`, `StoreCorrupted` or `NotAStore` says why, and the data stays for
    /// someone to rescue.
    #[uniffi::constructor]
    pub fn open(path: String, vault: Arc<dyn KeyVault>) -> Result<Arc<Self>> {
        let inner = Arc::new(core::Store::open_sealed(path, &CoreVault(vault.clone()))?);
        Ok(Arc::new(Self { inner, vault: Mutex::new(vault) }))
    }

    /// This device's id, made when the store was created.
    pub fn device_id(&self) -> Result<String> {
        Ok(self.store()?.device_id().to_string())
    }

    /// A fresh id for a record made on this device (time-ordered UUID), e.g. for a signature.
    pub fn new_id(&self) -> Result<String> {
        self.store()?;
        Ok(core::new_id())
    }

    /// The next stamp of this device's clock, as text: what a signature seal records as its time.
    pub fn next_stamp(&self) -> Result<String> {
        Ok(self.store()?.next_stamp().to_string())
    }

    // ---- the app lock ------------------------------------------------------------------------

    /// Locks the store now (the app sent to the background, the manager's lock button): the
    /// store's key leaves memory; every call but `unlock` and `lock_status` answers `Locked`.
    pub fn lock(&self) -> Result<()> {
        Ok(self.inner.lock_now()?)
    }

    /// Unlocks the store through `vault`: put the PIN or biometric prompt in front of the
    /// vault's `unwrap`. Another vault leaves it locked (`WrongKey`).
    pub fn unlock(&self, vault: Arc<dyn KeyVault>) -> Result<()> {
        self.inner.unlock(&CoreVault(vault.clone()))?;
        *self.vault.lock().unwrap_or_else(|p| p.into_inner()) = vault;
        Ok(())
    }

    /// Whether the store is locked, the server's policy (idle minutes, days offline, screenshot
    /// blocking) and whether the phone must sync before recording. Never `Locked`: the lock
    /// screen asks it on a timer, which does not count as use (the key leaves memory on time).
    pub fn lock_status(&self) -> SessionStatus {
        self.inner.session_status()
    }

    // ---- premises and households -------------------------------------------------------------

    /// Creates a building, bungalow or shop. Returns it with its id.
    pub fn create_premises(&self, premises: Premises) -> Result<Premises> {
        Ok(self.store()?.create_premises(premises)?)
    }

    /// The grid's premises: buildings, then bungalows, then shops, by name.
    pub fn premises_in_grid(&self, grid_id: String) -> Result<Vec<Premises>> {
        Ok(self.store()?.premises_in_grid(&grid_id)?)
    }

    /// Creates a household archive. Call `possible_duplicates` first and show what it finds.
    /// Returns the archive with its id (as entered).
    pub fn create_household(&self, household: Household) -> Result<Household> {
        Ok(self.store()?.create_household(household)?)
    }

    /// Saves an edited archive; only the fields that changed are recorded and synced. Masked
    /// values sent back unchanged keep the stored numbers. Returns the archive, masked.
    pub fn update_household(&self, household: Household) -> Result<Household> {
        Ok(self.store()?.update_household(household)?)
    }

    /// Deletes an archive (a tombstone that syncs like any change).
    pub fn delete_household(&self, household_id: String) -> Result<()> {
        Ok(self.store()?.delete_household(&household_id)?)
    }

    /// One archive with ID and phone numbers masked.
    pub fn household(&self, household_id: String) -> Result<Household> {
        Ok(self.store()?.household(&household_id, core::Reveal::Masked)?)
    }

    /// One archive in full. `purpose` says why the personal data is needed (e.g. "业务受理 核对
    /// 身份"); it must not be empty and is kept in the access trail.
    pub fn household_revealed(&self, household_id: String, purpose: String) -> Result<Household> {
        Ok(self.store()?.household(&household_id, core::Reveal::Full { purpose })?)
    }

    /// The households of one building in door order: unit, floor, room. Masked.
    pub fn households_in_premises(&self, premises_id: String) -> Result<Vec<Household>> {
        Ok(self.store()?.households_in_premises(&premises_id)?)
    }

    /// Search the grid by name, phone, address or service number (Chinese included). Masked.
    pub fn search_households(&self, grid_id: String, query: String, limit: u32) -> Result<Vec<Household>> {
        Ok(self.store()?.search_households(&grid_id, &query, limit)?)
    }

    /// Archives that may be the same household as `candidate` (same door, ID number or phone),
    /// for the duplicate warning before creating. Masked.
    pub fn possible_duplicates(&self, candidate: Household) -> Result<Vec<PossibleDuplicate>> {
        Ok(self.store()?.possible_duplicates(&candidate)?)
    }

    // ---- visits, arrears, receipts ------------------------------------------------------------

    /// Records a visit. Returns it with its id.
    pub fn record_visit(&self, visit: Visit) -> Result<Visit> {
        Ok(self.store()?.record_visit(visit)?)
    }

    /// One visit.
    pub fn visit(&self, visit_id: String) -> Result<Visit> {
        self.store()?.visit(&visit_id)?.ok_or(not_found("visit", visit_id))
    }

    /// One arrears account.
    pub fn arrears_account(&self, account_id: String) -> Result<ArrearsAccount> {
        self.store()?.arrears_account(&account_id)?.ok_or(not_found("arrears_account", account_id))
    }

    /// Records an arrears notice given to the customer. Returns it with its id.
    pub fn record_notice(&self, notice: ArrearsNotice) -> Result<ArrearsNotice> {
        Ok(self.store()?.record_notice(notice)?)
    }

    /// Records money collected, signed by the customer, in one call: takes the next receipt
    /// number from this device's books (leave `receipt_no` empty) or checks the one given, seals
    /// the receipt and the strokes with `signer`, and writes both in one transaction. Check the
    /// strokes with `check_signature` first and ask for the signature again if it is flagged.
    /// `signer` must be the key registered at enrolment. Unsigned receipts are not offered: the
    /// server refuses them.
    pub fn record_signed_receipt(
        &self,
        receipt: Receipt,
        capture: SignatureCapture,
        signer: Arc<dyn DeviceSigner>,
    ) -> Result<SignedReceipt> {
        let signer = CoreSigner::new(signer)?;
        Ok(self.store()?.record_signed_receipt(receipt, capture.into(), &signer)?.into())
    }

    /// Records a visit whose work order the customer signed (what `work_order_text` showed
    /// them), sealing it with `signer`, in one transaction. With `appointment_id` the visit keeps
    /// that appointment: it carries the agreed time (see `punctuality` in the answer) and the
    /// appointment is marked done in the same transaction.
    #[uniffi::method(default(appointment_id = None))]
    pub fn record_signed_visit(
        &self,
        visit: Visit,
        capture: SignatureCapture,
        signer: Arc<dyn DeviceSigner>,
        appointment_id: Option<String>,
    ) -> Result<SignedVisit> {
        let signer = CoreSigner::new(signer)?;
        Ok(self.store()?.record_signed_visit(visit, capture.into(), &signer, appointment_id.as_deref())?.into())
    }

    /// One customer signature (a receipt's or a visit's `signature_id`).
    pub fn signature(&self, signature_id: String) -> Result<CustomerSignature> {
        let found = self.store()?.signature(&signature_id)?;
        found.map(Into::into).ok_or(not_found("signature", signature_id))
    }

    /// The customer's copy of a signed receipt as the server configures it (`receipt_branding`):
    /// page, PNG, SVG, verification code and the check's address; the payer's name and the
    /// account masked, the billing months, the collector's name and staff number. Works on any
    /// device that holds the receipt and its signature.
    pub fn receipt_printout(&self, receipt_id: String) -> Result<ReceiptPrintout> {
        let store = self.store()?;
        Ok(store.receipt_copy(&receipt_id, &store.receipt_branding()?)?)
    }

    /// How this phone's receipts look, as its server last said: the company's name (the app's
    /// header), the seal, the check's address. Empty before the first sync.
    pub fn receipt_branding(&self) -> Result<ReceiptBranding> {
        Ok(self.store()?.receipt_branding()?)
    }

    /// Who collects on this device as its receipts sign and print it (name, staff number 工号),
    /// as the back office names the manager.
    pub fn collector_profile(&self) -> Result<CollectorProfile> {
        Ok(self.store()?.collector_profile()?)
    }

    /// The number the next receipt will get, or null when this device has none left (sync to
    /// get a new book from the server).
    pub fn next_receipt_no(&self) -> Result<Option<String>> {
        Ok(self.store()?.next_receipt_no()?)
    }

    /// Unused receipt numbers left on this device.
    pub fn receipt_numbers_left(&self) -> Result<u64> {
        Ok(self.store()?.receipt_numbers_left()?)
    }

    /// This device's receipt books, oldest first, with what is used and left.
    pub fn receipt_blocks(&self) -> Result<Vec<ReceiptBlockStatus>> {
        Ok(self.store()?.receipt_blocks()?)
    }

    /// The device key kept in this store's database: for tests, desktops and simulators only
    /// (a phone's key lives in the Keystore/Keychain behind its own `DeviceSigner`). Enrolling
    /// without a signer registers this key.
    pub fn device_key(&self) -> Result<Arc<dyn DeviceSigner>> {
        Ok(Arc::new(MemoryKey(self.store()?.device_key()?)))
    }

    /// The public key (hex) registered with the server at enrolment, if enrolled.
    pub fn registered_public_key(&self) -> Result<Option<String>> {
        Ok(self.store()?.registered_public_key()?)
    }

    /// One receipt.
    pub fn receipt(&self, receipt_id: String) -> Result<Receipt> {
        self.store()?.receipt(&receipt_id)?.ok_or(not_found("receipt", receipt_id))
    }

    /// Voids a mistaken receipt with a reason; the receipt stays as it was.
    pub fn void_receipt(&self, receipt_id: String, reason: String, voided_by: String) -> Result<ReceiptVoid> {
        Ok(self.store()?.void_receipt(&receipt_id, &reason, &voided_by)?)
    }

    // ---- views ---------------------------------------------------------------------------------

    /// Visits, notices and receipts of one household, oldest first.
    pub fn household_history(&self, household_id: String) -> Result<Vec<HistoryEntry>> {
        Ok(self.store()?.household_history(&household_id)?)
    }

    /// The grid's arrears, largest debt first, with what this phone collected and not yet synced.
    pub fn grid_arrears(&self, grid_id: String) -> Result<Vec<ArrearsLine>> {
        Ok(self.store()?.grid_arrears(&grid_id)?)
    }

    /// 网格信息档案汇总: households, premises, our products and other operators, penetration.
    pub fn grid_summary(&self, grid_id: String) -> Result<GridSummary> {
        Ok(self.store()?.grid_summary(&grid_id)?)
    }

    /// Visits with a promised follow-up due on or before `date` (YYYY-MM-DD), oldest first.
    pub fn follow_ups_due(&self, grid_id: String, date: String) -> Result<Vec<Visit>> {
        Ok(self.store()?.follow_ups_due(&grid_id, &date)?)
    }

    // ---- the outbox ----------------------------------------------------------------------------

    /// How many changes wait to be synced, and how many the server refused.
    pub fn outbox_counts(&self) -> Result<OutboxCounts> {
        Ok(self.store()?.outbox_counts()?)
    }

    /// The changes the server refused, oldest first, with the server's reasons.
    pub fn rejected_changes(&self) -> Result<Vec<RejectedChange>> {
        Ok(self.store()?.rejected_ops()?.into_iter().map(Into::into).collect())
    }

    /// Puts a refused change back in the queue once its cause is dealt with. False if there is
    /// no refused change with that id.
    pub fn retry_rejected(&self, op_id: String) -> Result<bool> {
        Ok(self.store()?.retry_rejected(&op_id)?)
    }

    /// Drops a refused change for good: a deliberate act, logged with who did it. False if there
    /// is no refused change with that id.
    pub fn discard_rejected(&self, op_id: String, by: String) -> Result<bool> {
        Ok(self.store()?.discard_rejected(&op_id, &by)?)
    }
}

/// The text of a visit's work order as the customer reads it before signing (outcome, needs,
/// opinions, the open question, what was promised by when), exactly as it will be sealed.
#[uniffi::export]
pub fn work_order_text(visit: Visit) -> String {
    core::field::receipts::work_order_summary(&visit)
}

pub(crate) fn not_found(kind: &str, id: String) -> crate::error::GridbookError {
    crate::error::GridbookError::NotFound { kind: kind.to_string(), id }
}
