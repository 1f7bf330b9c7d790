//! Reminders (预警) for the apps: today's open reminders of a grid, closing one with its outcome,
//! the closures, and a household's billing figures. The records are core's (`Reminder`,
//! `ReminderOutcome`, `BillingProfile`); the rules live in the core.

use gridbook_core as core;

use crate::error::Result;
use crate::records::{BillingProfile, Reminder, ReminderKind, ReminderOutcome, ReminderResolution};
use crate::store::GridbookStore;

/// The label of a reminder kind, zh-CN with English beside (e.g. "合同到期 Contract ending").
#[uniffi::export]
pub fn reminder_label(kind: ReminderKind) -> String {
    kind.label().to_string()
}

#[uniffi::export]
impl GridbookStore {
    /// The grid's open reminders on the local day `date` (YYYY-MM-DD), most urgent first.
    pub fn reminders(&self, grid_id: String, date: String) -> Result<Vec<Reminder>> {
        Ok(self.store()?.reminders(&grid_id, &date)?)
    }

    /// Closes an open reminder of `date` with its outcome and a note, in the manager's name.
    /// An unknown or already closed key is a not-found error.
    #[allow(clippy::too_many_arguments)] // each is a part of the closure the manager gives
    pub fn close_reminder(
        &self,
        grid_id: String,
        date: String,
        key: String,
        outcome: ReminderResolution,
        note: String,
        manager_id: String,
        zone_offset_min: i64,
    ) -> Result<ReminderOutcome> {
        Ok(self.store()?.close_reminder(&grid_id, &date, &key, outcome, &note, &manager_id, zone_offset_min)?)
    }

    /// The grid's closed reminders, latest first.
    pub fn reminder_outcomes(&self, grid_id: String) -> Result<Vec<ReminderOutcome>> {
        Ok(self.store()?.reminder_outcomes(&grid_id)?)
    }

    /// A household's billing figures, one per service (service numbers masked).
    pub fn billing_profiles(&self, household_id: String) -> Result<Vec<BillingProfile>> {
        let mut profiles = self.store()?.billing_profiles(&household_id)?;
        // The phone shows the service number masked: the figures are the back office's, the
        // number is personal data the manager does not need to read them.
        for p in &mut profiles {
            p.service_number = core::mask::phone(&p.service_number);
        }
        Ok(profiles)
    }
}
