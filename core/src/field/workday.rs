//! The manager's day (issue 7): appointments (预约) booked, confirmed, rescheduled, cancelled and
//! kept by a visit; punctuality (±10 minutes is on time); late appointments that need a notice and
//! a new time; the customer absent (a follow-up on the visit); the daily sign-in (签到); the day's
//! plan in walking order (appointments, follow-ups due, arrears) and the day's summary
//! (日工作总结), computed from the records on the phone and submitted for the back office as an
//! insert-only `day_summary` record.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use rusqlite::{params, Connection};

use serde::{Deserialize, Serialize};

use crate::error::{invalid, Error, Result, ValidationError};
use crate::field::reminders::Reminder;
use crate::field::reports::ArrearsLine;
pub use crate::model::DaySummary;
use crate::model::{Appointment, AppointmentStatus, EntityKind, Record, SignIn, Visit};
use crate::store::entity_table::{self, fields_of, record_of};
use crate::store::{new_id, record_change, Store, Transaction};
use crate::sync::hlc::{Hlc, HlcClock};
use crate::sync::wire::OpAction;
use crate::validate;

/// Arriving within this many minutes either side of the agreed time is on time.
pub const ON_TIME_MINUTES: i64 = 10;
const MINUTE_MS: i64 = 60_000;

/// How an arrival compares with the agreed time: within ±10 minutes is on time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Punctuality {
    /// 准时: within ±10 minutes.
    OnTime,
    /// 早到: arrived this many whole minutes (rounded up) before the agreed time.
    Early {
        /// Minutes early.
        minutes: i64,
    },
    /// 迟到: arrived this many whole minutes (rounded up) after the agreed time.
    Late {
        /// Minutes late.
        minutes: i64,
    },
}

/// Within ±10 minutes of the agreed time is on time; outside it, early or late by the minutes
/// started (10 min 30 s late is 11 minutes late).
pub fn punctuality(agreed_at_ms: i64, arrived_at_ms: i64) -> Punctuality {
    let diff = arrived_at_ms.saturating_sub(agreed_at_ms);
    if diff.abs() <= ON_TIME_MINUTES * MINUTE_MS {
        return Punctuality::OnTime;
    }
    let minutes = (diff.abs() + MINUTE_MS - 1) / MINUTE_MS;
    if diff < 0 {
        Punctuality::Early { minutes }
    } else {
        Punctuality::Late { minutes }
    }
}

impl Visit {
    /// Early or late against the appointment it kept; None for a visit without an appointment.
    pub fn punctuality(&self) -> Option<Punctuality> {
        self.appointment_at_ms.map(|agreed| punctuality(agreed, self.arrived_at_ms))
    }
}

/// The UTC milliseconds [start, end) of a local calendar day (YYYY-MM-DD at `zone_offset_min`).
pub fn day_bounds(date: &str, zone_offset_min: i64) -> Result<(i64, i64)> {
    let day = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|_| Error::Invalid(ValidationError::new("date", "must be a date written YYYY-MM-DD")))?;
    if !(-14 * 60..=14 * 60).contains(&zone_offset_min) {
        return invalid("zone_offset_min", "must be between -840 and 840 minutes");
    }
    let midnight = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis()).unwrap_or_default();
    let start = midnight - zone_offset_min * MINUTE_MS;
    Ok((start, start + 86_400_000))
}

/// One thing to do at a door. The variants are not named after the records they carry, and
/// their fields are named: in Kotlin a variant is a class nested in the enum's, and one named
/// `Appointment` would hide the record `Appointment` (so the bindings export this enum as it is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PlanItem {
    /// An appointment today.
    AppointmentItem {
        /// The appointment.
        appointment: Appointment,
    },
    /// A promise made on an earlier visit, due today or before.
    FollowUpItem {
        /// The visit that made the promise.
        visit: Visit,
    },
    /// Money to collect.
    ArrearsItem {
        /// The arrears line.
        line: ArrearsLine,
    },
    /// An open reminder (预警) of the day: expiry, spend drop, arrears, suspension, birthday.
    ReminderItem {
        /// The reminder; the store's `close_reminder` closes it.
        reminder: Reminder,
    },
}

/// One door of the day's walk, with everything to do there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PlanStop {
    /// The household.
    pub household_id: String,
    /// Its customer name.
    pub customer_name: String,
    /// Its address.
    pub address: String,
    /// The building's (or bungalow's, or shop's) name; empty when the archive names none.
    pub premises_name: String,
    /// 单元
    pub unit: String,
    /// 楼层
    pub floor: Option<i64>,
    /// 门牌号
    pub room: String,
    /// Appointments first, by time; then follow-ups; then arrears; then reminders, most urgent first.
    pub items: Vec<PlanItem>,
}

/// 日工作计划: the day's stops ordered by building, then unit, floor and room, so the walk is short.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DayPlan {
    /// The grid.
    pub grid_id: String,
    /// The local day, YYYY-MM-DD.
    pub date: String,
    /// The zone offset of the day, minutes east of UTC.
    pub zone_offset_min: i64,
    /// The doors to go to, in walking order.
    pub stops: Vec<PlanStop>,
}

impl DayPlan {
    pub fn appointments(&self) -> impl Iterator<Item = &Appointment> {
        self.stops.iter().flat_map(|s| &s.items).filter_map(|i| match i {
            PlanItem::AppointmentItem { appointment } => Some(appointment),
            _ => None,
        })
    }
}

/// Compares text the way people number doors: "3号楼" before "10号楼".
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    fn chunks(s: &str) -> Vec<(bool, String)> {
        let mut out: Vec<(bool, String)> = Vec::new();
        for c in s.chars() {
            let digit = c.is_ascii_digit();
            match out.last_mut() {
                Some((d, text)) if *d == digit => text.push(c),
                _ => out.push((digit, c.to_string())),
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for ((da, ta), (db, tb)) in ca.iter().zip(cb.iter()) {
        let ord = if *da && *db {
            let (na, nb) = (ta.trim_start_matches('0'), tb.trim_start_matches('0'));
            na.len().cmp(&nb.len()).then_with(|| na.cmp(nb))
        } else {
            ta.cmp(tb)
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    ca.len().cmp(&cb.len())
}

const LIVE_APPOINTMENT: &str = "coalesce(deleted, 0) = 0 AND status NOT IN ('cancelled', 'done') AND visit_id IS NULL";

impl Store {
    /// Loads a mutable record, lets `edit` change it, checks the result with `check`, and records
    /// only the fields that changed (one op, merged per field like any edit).
    pub(crate) fn edit_record<R: Record + Clone>(
        &self,
        id: &str,
        check: fn(&R) -> std::result::Result<(), ValidationError>,
        edit: impl FnOnce(&mut R) -> Result<()>,
    ) -> Result<R> {
        self.write(|tx, clock| {
            let state = entity_table::load(tx, R::KIND, id)?
                .filter(|s| !s.deleted())
                .ok_or_else(|| Error::NotFound { kind: R::KIND.as_str(), id: id.to_string() })?;
            let before: R = record_of(&state)?;
            let mut after = before.clone();
            edit(&mut after)?;
            after.set_id(id.to_string());
            check(&after)?;
            let (old, new) = (fields_of(&before)?, fields_of(&after)?);
            let changed: serde_json::Map<_, _> = new.into_iter().filter(|(k, v)| old.get(k) != Some(v)).collect();
            if !changed.is_empty() {
                let grid = state.value("grid_id").as_str().unwrap_or_default().to_string();
                record_change(tx, clock, R::KIND, id, &grid, OpAction::Update, changed)?;
            }
            Ok(after)
        })
    }

    /// Books an appointment at the time the customer chose. It starts as `booked`.
    pub fn book_appointment(&self, mut a: Appointment) -> Result<Appointment> {
        a.status = AppointmentStatus::Booked;
        a.visit_id = None;
        a.note = a.note.trim().to_string();
        validate::appointment(&a)?;
        if a.id.is_empty() {
            a.id = new_id();
        }
        let fields = fields_of(&a)?;
        self.write(|tx, clock| {
            household_in_grid(tx, &a.household_id, &a.grid_id)?;
            record_change(tx, clock, EntityKind::Appointment, &a.id, &a.grid_id, OpAction::Create, fields)
        })?;
        Ok(a)
    }

    pub fn appointment(&self, id: &str) -> Result<Option<Appointment>> {
        Ok(self.read(|c| entity_table::query(c, "id = ?1 AND coalesce(deleted, 0) = 0", [id]))?.into_iter().next())
    }

    fn change_appointment(&self, id: &str, edit: impl FnOnce(&mut Appointment) -> Result<()>) -> Result<Appointment> {
        self.edit_record(id, validate::appointment, |a: &mut Appointment| {
            match a.status {
                AppointmentStatus::Cancelled => return invalid("status", "the appointment was cancelled"),
                AppointmentStatus::Done => return invalid("status", "the appointment was already kept"),
                _ => {}
            }
            edit(a)
        })
    }

    /// The customer confirmed the time.
    pub fn confirm_appointment(&self, id: &str) -> Result<Appointment> {
        self.change_appointment(id, |a| {
            a.status = AppointmentStatus::Confirmed;
            Ok(())
        })
    }

    /// A new time agreed with the customer (after a late notice, an absence, or their request).
    pub fn reschedule_appointment(
        &self,
        id: &str,
        agreed_at_ms: i64,
        zone_offset_min: i64,
        note: &str,
    ) -> Result<Appointment> {
        self.change_appointment(id, |a| {
            a.status = AppointmentStatus::Rescheduled;
            a.agreed_at_ms = agreed_at_ms;
            a.zone_offset_min = zone_offset_min;
            if !note.trim().is_empty() {
                a.note = note.trim().to_string();
            }
            Ok(())
        })
    }

    pub fn cancel_appointment(&self, id: &str, reason: &str) -> Result<Appointment> {
        if reason.trim().is_empty() {
            return invalid("note", "say why the appointment is cancelled");
        }
        self.change_appointment(id, |a| {
            a.status = AppointmentStatus::Cancelled;
            a.note = reason.trim().to_string();
            Ok(())
        })
    }

    /// Records the visit that kept an appointment and marks the appointment done, in one
    /// transaction. The visit carries the agreed time, so it shows whether it was early or late.
    pub fn record_appointment_visit(&self, appointment_id: &str, mut v: Visit) -> Result<(Visit, Appointment)> {
        if v.id.is_empty() {
            v.id = new_id();
        }
        let done = self.keep_appointment(appointment_id, &mut v)?;
        crate::location::fill_coordinates(v.location.as_ref(), &mut v.lat_e6, &mut v.lon_e6);
        validate::visit(&v)?;
        let visit_fields = fields_of(&v)?;
        self.write(|tx, clock| {
            super::field_references_hold(tx, EntityKind::Visit, &v.grid_id, &visit_fields)?;
            record_change(tx, clock, EntityKind::Visit, &v.id, &v.grid_id, OpAction::Create, visit_fields)?;
            record_kept(tx, clock, &done)
        })?;
        Ok((v, done))
    }

    /// The appointment the visit `v` (its id already set) keeps, checked — same household, not
    /// cancelled or kept already — and returned marked done with the visit's id. The visit takes
    /// the agreed time, so it shows whether it was early or late. Nothing is written: the caller
    /// records the visit and then `record_kept` in one transaction.
    pub(crate) fn keep_appointment(&self, appointment_id: &str, v: &mut Visit) -> Result<Appointment> {
        let a = self
            .appointment(appointment_id)?
            .ok_or_else(|| Error::NotFound { kind: "appointment", id: appointment_id.to_string() })?;
        if v.household_id != a.household_id {
            return invalid("household_id", "the visit is to another household than the appointment");
        }
        match a.status {
            AppointmentStatus::Cancelled => return invalid("status", "the appointment was cancelled"),
            AppointmentStatus::Done => return invalid("status", "the appointment was already kept"),
            _ => {}
        }
        v.appointment_at_ms = Some(a.agreed_at_ms);
        let mut done = a;
        done.status = AppointmentStatus::Done;
        done.visit_id = Some(v.id.clone());
        validate::appointment(&done)?;
        Ok(done)
    }

    /// The manager came and the customer was not in: the visit is recorded with a follow-up due
    /// by `follow_up_due` (YYYY-MM-DD) to re-book, and the appointment counts as kept by the manager.
    pub fn record_customer_absent(
        &self,
        appointment_id: &str,
        mut v: Visit,
        follow_up_due: &str,
    ) -> Result<(Visit, Appointment)> {
        if follow_up_due.trim().is_empty() {
            return invalid("follow_up_due", "say by when to follow up with the absent customer");
        }
        if v.outcome.trim().is_empty() {
            v.outcome = "客户不在家".into();
        }
        if v.follow_up.trim().is_empty() {
            v.follow_up = "联系客户，重新预约上门时间".into();
        }
        v.follow_up_due = follow_up_due.trim().to_string();
        self.record_appointment_visit(appointment_id, v)
    }

    /// Appointments in the grid on a local day (cancelled ones excluded), by time.
    pub fn appointments_on(&self, grid_id: &str, date: &str, zone_offset_min: i64) -> Result<Vec<Appointment>> {
        let (start, end) = day_bounds(date, zone_offset_min)?;
        self.read(|c| {
            entity_table::query(
                c,
                "grid_id = ?1 AND agreed_at_ms >= ?2 AND agreed_at_ms < ?3 AND coalesce(deleted, 0) = 0
                 AND status <> 'cancelled' ORDER BY agreed_at_ms, id",
                params![grid_id, start, end],
            )
        })
    }

    /// Appointments whose on-time window has passed with no visit: the customer needs a notice
    /// (tell them beforehand) and a new time. Oldest first.
    pub fn late_appointments(&self, grid_id: &str, now_ms: i64) -> Result<Vec<Appointment>> {
        self.read(|c| {
            entity_table::query(
                c,
                &format!("grid_id = ?1 AND agreed_at_ms < ?2 AND {LIVE_APPOINTMENT} ORDER BY agreed_at_ms, id"),
                params![grid_id, now_ms - ON_TIME_MINUTES * MINUTE_MS],
            )
        })
    }

    /// Signs in for the day (签到) with the time and, when the phone has a fix, the place.
    pub fn sign_in(&self, mut s: SignIn) -> Result<SignIn> {
        s.note = s.note.trim().to_string();
        crate::location::fill_coordinates(s.location.as_ref(), &mut s.lat_e6, &mut s.lon_e6);
        validate::sign_in(&s)?;
        if s.id.is_empty() {
            s.id = new_id();
        }
        let fields = fields_of(&s)?;
        self.write(|tx, clock| {
            record_change(tx, clock, EntityKind::SignIn, &s.id, &s.grid_id, OpAction::Create, fields)
        })?;
        Ok(s)
    }

    /// The grid's sign-ins on a local day, earliest first.
    pub fn sign_ins_on(&self, grid_id: &str, date: &str, zone_offset_min: i64) -> Result<Vec<SignIn>> {
        let (start, end) = day_bounds(date, zone_offset_min)?;
        self.read(|c| {
            entity_table::query(
                c,
                "grid_id = ?1 AND at_ms >= ?2 AND at_ms < ?3 ORDER BY at_ms, id",
                params![grid_id, start, end],
            )
        })
    }

    /// 日工作计划: today's appointments, follow-ups due by today, arrears to collect and open
    /// reminders (reminders/), grouped
    /// by door and ordered by building (name, in door-number order), unit, floor and room.
    pub fn day_plan(&self, grid_id: &str, date: &str, zone_offset_min: i64) -> Result<DayPlan> {
        let appointments = self.appointments_on(grid_id, date, zone_offset_min)?;
        let follow_ups = self.follow_ups_due(grid_id, date)?;
        let arrears = self.grid_arrears(grid_id)?;
        let reminders = self.reminders(grid_id, date)?;
        let mut by_household: BTreeMap<String, Vec<PlanItem>> = BTreeMap::new();
        for a in appointments.into_iter().filter(|a| a.visit_id.is_none()) {
            by_household.entry(a.household_id.clone()).or_default().push(PlanItem::AppointmentItem { appointment: a });
        }
        for v in follow_ups {
            by_household.entry(v.household_id.clone()).or_default().push(PlanItem::FollowUpItem { visit: v });
        }
        for line in arrears.into_iter().filter(|l| l.remaining_fen > 0) {
            by_household.entry(line.account.household_id.clone()).or_default().push(PlanItem::ArrearsItem { line });
        }
        for r in reminders {
            by_household.entry(r.household_id.clone()).or_default().push(PlanItem::ReminderItem { reminder: r });
        }
        let mut stops = self.read(|c| {
            let mut out = Vec::with_capacity(by_household.len());
            for (household_id, items) in by_household {
                out.push(stop_for(c, household_id, items)?);
            }
            Ok(out)
        })?;
        stops.sort_by(|a, b| {
            // doors without a building go last, by address
            (a.premises_name.is_empty())
                .cmp(&b.premises_name.is_empty())
                .then_with(|| natural_cmp(&a.premises_name, &b.premises_name))
                .then_with(|| natural_cmp(&a.unit, &b.unit))
                .then_with(|| a.floor.cmp(&b.floor))
                .then_with(|| natural_cmp(&a.room, &b.room))
                .then_with(|| natural_cmp(&a.address, &b.address))
                .then_with(|| a.household_id.cmp(&b.household_id))
        });
        Ok(DayPlan { grid_id: grid_id.to_string(), date: date.to_string(), zone_offset_min, stops })
    }

    /// 日工作总结 of a grid for a local day, from the records on this phone (which, after a sync,
    /// include those of every phone in the grid). Kept on the device; not synced as a record.
    pub fn day_summary(&self, grid_id: &str, date: &str, zone_offset_min: i64) -> Result<DaySummary> {
        let (start, end) = day_bounds(date, zone_offset_min)?;
        let made_at_ms = self.wall_ms();
        let appointments = self.read(|c| {
            entity_table::query::<Appointment>(
                c,
                "grid_id = ?1 AND agreed_at_ms >= ?2 AND agreed_at_ms < ?3 AND coalesce(deleted, 0) = 0",
                params![grid_id, start, end],
            )
        })?;
        self.read(|c| {
            let count = |sql: &str| -> Result<i64> { Ok(c.query_row(sql, params![grid_id, start, end], |r| r.get(0))?) };
            let signed_in_at_ms: Option<i64> =
                c.query_row("SELECT min(at_ms) FROM sign_ins WHERE grid_id = ?1 AND at_ms >= ?2 AND at_ms < ?3", params![grid_id, start, end], |r| r.get(0))?;
            let visits = count("SELECT count(*) FROM visits WHERE grid_id = ?1 AND arrived_at_ms >= ?2 AND arrived_at_ms < ?3")?;
            let notices = count("SELECT count(*) FROM arrears_notices WHERE grid_id = ?1 AND given_at_ms >= ?2 AND given_at_ms < ?3")?;
            let (receipts, collected_fen): (i64, i64) = c.query_row(
                "SELECT count(*), coalesce(sum(CASE WHEN amount_fen BETWEEN -10000000000 AND 10000000000 THEN amount_fen END), 0) FROM receipts r
                 WHERE grid_id = ?1 AND collected_at_ms >= ?2 AND collected_at_ms < ?3
                   AND NOT EXISTS (SELECT 1 FROM receipt_voids v WHERE v.receipt_id = r.id)",
                params![grid_id, start, end],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let open_promises: i64 = c.query_row(
                "SELECT count(*) FROM visits WHERE grid_id = ?1 AND follow_up_due > ?2",
                params![grid_id, date],
                |r| r.get(0),
            )?;
            let open_tickets: i64 = c.query_row(
                "SELECT count(*) FROM tickets WHERE grid_id = ?1 AND status IN ('open', 'escalated') AND coalesce(deleted, 0) = 0",
                [grid_id],
                |r| r.get(0),
            )?;
            let (households_created, households_updated) = household_activity(c, grid_id, start, end)?;
            let mut kept = 0;
            let mut on_time = 0;
            let mut missed = 0;
            let mut visit_arrival = c.prepare_cached("SELECT arrived_at_ms FROM visits WHERE id = ?1")?;
            for a in &appointments {
                match a.visit_id.as_deref() {
                    Some(visit_id) => {
                        kept += 1;
                        let arrived: Option<i64> = visit_arrival.query_row([visit_id], |r| r.get(0)).ok();
                        if arrived.map(|t| punctuality(a.agreed_at_ms, t)) == Some(Punctuality::OnTime) {
                            on_time += 1;
                        }
                    }
                    None if a.status != AppointmentStatus::Cancelled => missed += 1,
                    None => {}
                }
            }
            Ok(DaySummary {
                id: String::new(),
                grid_id: grid_id.to_string(),
                manager_id: String::new(),
                date: date.to_string(),
                zone_offset_min,
                made_at_ms,
                signed_in_at_ms,
                visits,
                appointments_kept: kept,
                appointments_on_time: on_time,
                appointments_missed: missed,
                households_created,
                households_updated,
                receipts,
                collected_fen,
                notices,
                open_promises,
                open_tickets,
                note: String::new(),
            })
        })
    }

    /// Computes the day's summary and records it for the back office in the manager's name, with
    /// their note (tomorrow's plan, problems met). Submitting again records a newer summary.
    pub fn submit_day_summary(
        &self,
        grid_id: &str,
        manager_id: &str,
        date: &str,
        zone_offset_min: i64,
        note: &str,
    ) -> Result<DaySummary> {
        let mut d = self.day_summary(grid_id, date, zone_offset_min)?;
        d.id = new_id();
        d.manager_id = manager_id.trim().to_string();
        d.note = note.trim().to_string();
        validate::day_summary(&d)?;
        let fields = fields_of(&d)?;
        self.write(|tx, clock| {
            record_change(tx, clock, EntityKind::DaySummary, &d.id, &d.grid_id, OpAction::Create, fields)
        })?;
        Ok(d)
    }

    /// Submitted summaries of the grid for a date, latest first (the one that counts).
    pub fn day_summaries(&self, grid_id: &str, date: &str) -> Result<Vec<DaySummary>> {
        self.read(|c| {
            entity_table::query(
                c,
                "grid_id = ?1 AND date = ?2 ORDER BY made_at_ms DESC, id DESC",
                params![grid_id, date],
            )
        })
    }
}

/// Records an appointment from `keep_appointment` as done: only its status and visit change.
pub(crate) fn record_kept(tx: &Transaction, clock: &mut HlcClock, done: &Appointment) -> Result<()> {
    let mut changes = serde_json::Map::new();
    changes.insert("status".into(), AppointmentStatus::Done.as_str().into());
    changes.insert("visit_id".into(), done.visit_id.clone().into());
    record_change(tx, clock, EntityKind::Appointment, &done.id, &done.grid_id, OpAction::Update, changes)?;
    Ok(())
}

/// Households whose latest create stamp falls in [start, end), and others with a field written
/// then. Stamps are the writers' hybrid clocks: close to their wall time.
fn household_activity(c: &Connection, grid_id: &str, start: i64, end: i64) -> Result<(i64, i64)> {
    let in_day = |h: &Hlc| (start..end).contains(&(h.millis as i64));
    let mut stmt = c.prepare_cached("SELECT base_hlc, clocks FROM households WHERE grid_id = ?1")?;
    let mut rows = stmt.query([grid_id])?;
    let (mut created, mut updated) = (0, 0);
    while let Some(row) = rows.next()? {
        let base: Option<Hlc> = row.get::<_, Option<String>>(0)?.and_then(|b| b.parse().ok());
        let clocks: BTreeMap<String, Hlc> = serde_json::from_str(&row.get::<_, String>(1)?).unwrap_or_default();
        if base.as_ref().is_some_and(in_day) {
            created += 1;
        } else if clocks.values().any(in_day) {
            updated += 1;
        }
    }
    Ok((created, updated))
}

/// The household exists, is not deleted, and belongs to the grid the record is written in.
pub(crate) fn household_in_grid(c: &Connection, household_id: &str, grid_id: &str) -> Result<()> {
    let grid: Option<String> = c
        .prepare_cached("SELECT grid_id FROM households WHERE id = ?1 AND coalesce(deleted, 0) = 0")?
        .query_row([household_id], |r| r.get(0))
        .ok();
    match grid {
        None => invalid("household_id", "unknown household"),
        Some(g) if g != grid_id => invalid("grid_id", "the household belongs to another grid"),
        Some(_) => Ok(()),
    }
}

fn stop_for(c: &Connection, household_id: String, mut items: Vec<PlanItem>) -> Result<PlanStop> {
    let row = c
        .prepare_cached(
            "SELECT coalesce(h.customer_name, ''), coalesce(h.address, ''), coalesce(p.name, ''), coalesce(h.unit, ''),
                    h.floor, coalesce(h.room, '')
             FROM households h LEFT JOIN premises p ON p.id = h.premises_id WHERE h.id = ?1",
        )?
        .query_row([&household_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .ok();
    let (customer_name, address, premises_name, unit, floor, room) = row.unwrap_or_default();
    let rank = |i: &PlanItem| match i {
        PlanItem::AppointmentItem { appointment } => (0, appointment.agreed_at_ms),
        PlanItem::FollowUpItem { visit } => (1, visit.arrived_at_ms),
        PlanItem::ArrearsItem { .. } => (2, 0),
        PlanItem::ReminderItem { .. } => (3, 0),
    };
    items.sort_by_key(rank);
    Ok(PlanStop { household_id, customer_name, address, premises_name, unit, floor, room, items })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_minutes_either_side_is_on_time() {
        let t = 1_700_000_000_000;
        assert_eq!(punctuality(t, t), Punctuality::OnTime);
        assert_eq!(punctuality(t, t + 10 * MINUTE_MS), Punctuality::OnTime);
        assert_eq!(punctuality(t, t - 10 * MINUTE_MS), Punctuality::OnTime);
        assert_eq!(punctuality(t, t + 10 * MINUTE_MS + 1), Punctuality::Late { minutes: 11 });
        assert_eq!(punctuality(t, t - 10 * MINUTE_MS - 30_000), Punctuality::Early { minutes: 11 });
        assert_eq!(punctuality(t, t + 45 * MINUTE_MS), Punctuality::Late { minutes: 45 });
        assert_eq!(punctuality(t, t - 2 * 60 * MINUTE_MS), Punctuality::Early { minutes: 120 });
    }

    #[test]
    fn doors_sort_by_their_numbers() {
        assert_eq!(natural_cmp("3号楼", "10号楼"), Ordering::Less);
        assert_eq!(natural_cmp("10号楼", "3号楼"), Ordering::Greater);
        assert_eq!(natural_cmp("2单元", "2单元"), Ordering::Equal);
        assert_eq!(natural_cmp("901", "1001"), Ordering::Less);
        assert_eq!(natural_cmp("A栋", "B栋"), Ordering::Less);
        assert_eq!(natural_cmp("3", "3A"), Ordering::Less);
    }

    #[test]
    fn a_beijing_day_starts_at_16_utc_the_day_before() {
        let (start, end) = day_bounds("2026-11-23", 480).unwrap();
        assert_eq!(start, chrono::DateTime::parse_from_rfc3339("2026-11-22T16:00:00Z").unwrap().timestamp_millis());
        assert_eq!(end - start, 86_400_000);
        assert_eq!(
            day_bounds("23/11/2026", 480).unwrap_err().to_string(),
            "invalid input: date: must be a date written YYYY-MM-DD"
        );
        assert!(day_bounds("2026-11-23", 1000).is_err());
    }
}
