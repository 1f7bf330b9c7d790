//! The manager's day for the apps (issue 7): appointments (预约) booked, confirmed, rescheduled,
//! cancelled and kept by an arrival that shows on time, early or late; the customer absent (a
//! follow-up to re-book); sign-in (签到); the day's plan in walking order (日工作计划); the day's
//! summary (日工作总结) made and submitted for the back office. Each method calls one core method
//! (core/src/field/workday.rs) and converts; the rules are the core's.

use gridbook_core as core;

use crate::error::Result;
use crate::records::*;
use crate::store::{not_found, GridbookStore};

#[uniffi::export]
impl GridbookStore {
    // ---- appointments --------------------------------------------------------------------------

    /// Books an appointment at the time the customer chose; it starts as booked.
    pub fn book_appointment(&self, appointment: Appointment) -> Result<Appointment> {
        Ok(self.store()?.book_appointment(appointment)?)
    }

    /// One appointment.
    pub fn appointment(&self, appointment_id: String) -> Result<Appointment> {
        self.store()?.appointment(&appointment_id)?.ok_or(not_found("appointment", appointment_id))
    }

    /// The customer confirmed the time.
    pub fn confirm_appointment(&self, appointment_id: String) -> Result<Appointment> {
        Ok(self.store()?.confirm_appointment(&appointment_id)?)
    }

    /// A new time agreed with the customer (after a late notice, an absence, or their request).
    pub fn reschedule_appointment(
        &self,
        appointment_id: String,
        agreed_at_ms: i64,
        zone_offset_min: i64,
        note: String,
    ) -> Result<Appointment> {
        Ok(self.store()?.reschedule_appointment(&appointment_id, agreed_at_ms, zone_offset_min, &note)?)
    }

    /// Cancels an appointment; `reason` must say why.
    pub fn cancel_appointment(&self, appointment_id: String, reason: String) -> Result<Appointment> {
        Ok(self.store()?.cancel_appointment(&appointment_id, &reason)?)
    }

    /// The manager arrived: records the visit that kept an appointment and marks it done, in one
    /// transaction. The visit carries the agreed time; the answer says on time, early or late
    /// (with the minutes). A visit the customer signs keeps its appointment through
    /// `record_signed_visit(…, appointment_id)` instead.
    pub fn record_appointment_visit(&self, appointment_id: String, visit: Visit) -> Result<AppointmentVisit> {
        Ok(self.store()?.record_appointment_visit(&appointment_id, visit)?.into())
    }

    /// The manager came and the customer was not in: a visit with a follow-up due by
    /// `follow_up_due` (YYYY-MM-DD) to re-book; the appointment counts as kept.
    pub fn record_customer_absent(
        &self,
        appointment_id: String,
        visit: Visit,
        follow_up_due: String,
    ) -> Result<AppointmentVisit> {
        Ok(self.store()?.record_customer_absent(&appointment_id, visit, &follow_up_due)?.into())
    }

    /// The grid's appointments on a local day (YYYY-MM-DD at `zone_offset_min`), cancelled ones
    /// left out, by time.
    pub fn appointments_on(&self, grid_id: String, date: String, zone_offset_min: i64) -> Result<Vec<Appointment>> {
        Ok(self.store()?.appointments_on(&grid_id, &date, zone_offset_min)?)
    }

    /// Appointments whose on-time window passed with no visit: tell the customer, agree a new time.
    pub fn late_appointments(&self, grid_id: String, now_ms: i64) -> Result<Vec<Appointment>> {
        Ok(self.store()?.late_appointments(&grid_id, now_ms)?)
    }

    // ---- the day --------------------------------------------------------------------------------

    /// Signs in for the day (签到) with the time and, when the phone has a fix, the place.
    /// Returns the sign-in with its id.
    pub fn sign_in(&self, sign_in: SignIn) -> Result<SignIn> {
        Ok(self.store()?.sign_in(sign_in)?)
    }

    /// The grid's sign-ins on a local day (YYYY-MM-DD at `zone_offset_min`), earliest first: the
    /// Today screen shows whether (and when) the manager signed in.
    pub fn sign_ins_on(&self, grid_id: String, date: String, zone_offset_min: i64) -> Result<Vec<SignIn>> {
        Ok(self.store()?.sign_ins_on(&grid_id, &date, zone_offset_min)?)
    }

    /// 日工作计划: the day's appointments, follow-ups due and arrears, door by door in walking order.
    pub fn day_plan(&self, grid_id: String, date: String, zone_offset_min: i64) -> Result<DayPlan> {
        Ok(self.store()?.day_plan(&grid_id, &date, zone_offset_min)?)
    }

    /// 日工作总结 of the grid for a local day, computed now from the records on this phone (sync
    /// first to count the other phones' work too). Not recorded: a preview for the summary screen.
    pub fn day_summary(&self, grid_id: String, date: String, zone_offset_min: i64) -> Result<DaySummary> {
        Ok(self.store()?.day_summary(&grid_id, &date, zone_offset_min)?)
    }

    /// Computes the day's summary again and records it in the manager's name with their note
    /// (tomorrow's plan, problems met); it reaches the back office with the next sync. Submitting
    /// again records a newer summary, which is the one that counts.
    pub fn submit_day_summary(
        &self,
        grid_id: String,
        manager_id: String,
        date: String,
        zone_offset_min: i64,
        note: String,
    ) -> Result<DaySummary> {
        Ok(self.store()?.submit_day_summary(&grid_id, &manager_id, &date, zone_offset_min, &note)?)
    }

    /// The submitted summaries of the grid for a date, latest first (the first is the one that counts).
    pub fn day_summaries(&self, grid_id: String, date: String) -> Result<Vec<DaySummary>> {
        Ok(self.store()?.day_summaries(&grid_id, &date)?)
    }
}

/// How an arrival compares with the agreed time (within ±10 minutes is on time).
#[uniffi::export]
pub fn punctuality(agreed_at_ms: i64, arrived_at_ms: i64) -> Punctuality {
    core::punctuality(agreed_at_ms, arrived_at_ms)
}
