//! Reminders (预警, issue 7): what needs a manager's attention today, worked out on the phone from
//! the archive and the figures the back office syncs (billing profiles, arrears accounts):
//! contracts and plans ending within two months (到期预警), spend falling month on month (话务预警:
//! stage 1 more than 30 %, stage 2 up to 30 %), prepaid balances under 10 yuan and postpaid bills
//! unpaid for two months (欠费), services at risk of suspension or suspended (停机预警), and
//! birthdays in the coming week (生日关怀). A reminder is closed with an outcome, recorded as an
//! insert-only `reminder_outcome` that syncs to every phone and the back office.
//!
//! Every reminder has a key `kind:subject:period`. The period is what makes the same matter come
//! back when it recurs: the birthday's year, the billing month of a drop or a suspension risk,
//! the end date of a contract (a renewed contract ends on a new date), the current month for
//! arrears (remind again next month if still unpaid: docs/field.md, job 5.4).

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, Duration, Months, NaiveDate};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, ValidationError};
use crate::mask;
use crate::model::{
    ArrearsAccount, BillingProfile, EntityKind, Household, PaymentType, ReminderKind, ReminderOutcome,
    ReminderResolution, Tier,
};
use crate::store::entity_table::{self, fields_of};
use crate::store::{new_id, record_change, Store};
use crate::sync::wire::OpAction;
use crate::validate;

/// Contracts and plans are warned this many calendar months before they end (到期预警).
pub const EXPIRY_WARNING_MONTHS: u32 = 2;
/// A spend that fell by more than this share of the baseline is stage 1; less, stage 2.
pub const STAGE1_DROP_PERCENT: i64 = 30;
/// A prepaid balance below this (10 yuan) is a reminder.
pub const LOW_BALANCE_FEN: i64 = 1_000;
/// A postpaid bill unpaid for this many months is a reminder.
pub const OVERDUE_MONTHS: i64 = 2;
/// Birthdays from today to six days ahead: a week is what a manager plans a walk over (the
/// weekly plan at the morning meeting), so a greeting visit fits the route; further ahead would
/// bury the week's real work under greetings.
pub const BIRTHDAY_WINDOW_DAYS: i64 = 7;

impl ReminderKind {
    /// The label the apps show, zh-CN first with English beside.
    pub fn label(self) -> &'static str {
        match self {
            ReminderKind::ContractExpiry => "合同到期 Contract ending",
            ReminderKind::PlanExpiry => "套餐到期 Plan ending",
            ReminderKind::SpendDropStage1 => "话务下降一级 Spend down over 30%",
            ReminderKind::SpendDropStage2 => "话务下降二级 Spend down up to 30%",
            ReminderKind::LowBalance => "余额不足 Prepaid balance under 10 yuan",
            ReminderKind::PostpaidOverdue => "欠费两月 Bill unpaid two months",
            ReminderKind::SuspensionRisk => "停机预警 Suspension risk",
            ReminderKind::Birthday => "生日关怀 Birthday",
        }
    }

    /// Most urgent first: money and service at stake before greetings.
    fn urgency(self) -> u8 {
        match self {
            ReminderKind::SuspensionRisk => 0,
            ReminderKind::PostpaidOverdue => 1,
            ReminderKind::LowBalance => 2,
            ReminderKind::SpendDropStage1 => 3,
            ReminderKind::ContractExpiry => 4,
            ReminderKind::PlanExpiry => 5,
            ReminderKind::SpendDropStage2 => 6,
            ReminderKind::Birthday => 7,
        }
    }
}

/// One open reminder. Personal data masked: the service number, and no birth year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Reminder {
    /// `kind:subject:period`; what a closure refers to (the store's `close_reminder` takes it).
    pub key: String,
    /// What it is about.
    pub kind: ReminderKind,
    /// 网格
    pub grid_id: String,
    /// The household.
    pub household_id: String,
    /// Its customer name.
    pub customer_name: String,
    /// Its address.
    pub address: String,
    /// 高/中/低端, when the back office has ranked it.
    pub tier: Option<Tier>,
    /// The service or account concerned, masked; empty for a birthday.
    pub service_number: String,
    /// fixed / broadband / mobile … for billing reminders.
    pub product: String,
    /// The date concerned, YYYY-MM-DD: the contract's or plan's end, this year's birthday.
    pub date: String,
    /// This month's spend, the prepaid balance, or the amount owed, in fen.
    pub amount_fen: Option<i64>,
    /// The spend of earlier months a drop is measured against, in fen.
    pub baseline_fen: Option<i64>,
    /// How far the spend fell, in whole percent (rounded down).
    pub drop_percent: Option<i64>,
    /// Months a postpaid bill is unpaid.
    pub months_overdue: Option<i64>,
    /// Suspension: already suspended (已停机) rather than at risk.
    pub suspended: bool,
}

/// Which spend-drop stage, if any: stage 1 when the spend fell by more than 30 % of the
/// baseline, stage 2 when it fell by more than nothing and at most 30 %. No baseline, no drop.
pub fn spend_drop(spend_fen: i64, baseline_fen: i64) -> Option<ReminderKind> {
    if baseline_fen <= 0 || spend_fen >= baseline_fen {
        return None;
    }
    let fall = i128::from(baseline_fen) - i128::from(spend_fen.max(0));
    if fall * 100 > i128::from(STAGE1_DROP_PERCENT) * i128::from(baseline_fen) {
        Some(ReminderKind::SpendDropStage1)
    } else {
        Some(ReminderKind::SpendDropStage2)
    }
}

/// The last day a contract or plan may end on to be warned today: two calendar months ahead
/// (an end on 22 January is warned from 22 November).
pub fn expiry_horizon(today: NaiveDate) -> NaiveDate {
    today.checked_add_months(Months::new(EXPIRY_WARNING_MONTHS)).unwrap_or(NaiveDate::MAX)
}

/// This year's (or next year's, near New Year) birthday if it falls within the window from
/// today. 29 February is kept on 28 February in other years.
pub fn upcoming_birthday(birthday: &str, today: NaiveDate) -> Option<NaiveDate> {
    let born = NaiveDate::parse_from_str(birthday, "%Y-%m-%d").ok()?;
    let on = |year: i32| {
        NaiveDate::from_ymd_opt(year, born.month(), born.day()).or_else(|| NaiveDate::from_ymd_opt(year, 2, 28))
    };
    let last = today + Duration::days(BIRTHDAY_WINDOW_DAYS - 1);
    [today.year(), today.year() + 1].into_iter().filter_map(on).find(|d| *d >= today && *d <= last)
}

fn parse_day(today: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(today, "%Y-%m-%d")
        .map_err(|_| Error::Invalid(ValidationError::new("date", "must be a date written YYYY-MM-DD")))
}

/// Name, address and tier of a live household of the grid; None when it is gone or elsewhere.
fn household_of(c: &Connection, grid_id: &str, household_id: &str) -> Result<Option<(String, String, Option<Tier>)>> {
    Ok(c.prepare_cached(
        "SELECT coalesce(customer_name, ''), coalesce(address, ''), tier FROM households
         WHERE id = ?1 AND grid_id = ?2 AND coalesce(deleted, 0) = 0",
    )?
    .query_row(params![household_id, grid_id], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get::<_, Option<String>>(2)?.as_deref().and_then(Tier::parse)))
    })
    .optional()?)
}

/// A reminder about `household_id` with everything but the household's own columns (filled by
/// [`settle`]) and the rule's figures.
fn reminder(grid_id: &str, household_id: &str, kind: ReminderKind, subject: &str, period: &str) -> Reminder {
    Reminder {
        key: format!("{}:{subject}:{period}", kind.as_str()),
        kind,
        grid_id: grid_id.to_string(),
        household_id: household_id.to_string(),
        customer_name: String::new(),
        address: String::new(),
        tier: None,
        service_number: String::new(),
        product: String::new(),
        date: String::new(),
        amount_fen: None,
        baseline_fen: None,
        drop_percent: None,
        months_overdue: None,
        suspended: false,
    }
}

fn for_service(mut r: Reminder, p: &BillingProfile) -> Reminder {
    r.service_number = mask::phone(&p.service_number);
    r.product = p.product.clone();
    r
}

/// The reminders one service's billing figures raise on `today`: its contract or plan ending
/// within two months, its spend falling, its suspension risk. The one statement of these rules,
/// for the phone and the back office alike (the phone's queries only narrow the rows read).
pub fn profile_reminders(p: &BillingProfile, today: NaiveDate) -> Vec<Reminder> {
    let (from, to) = (today.format("%Y-%m-%d").to_string(), expiry_horizon(today).format("%Y-%m-%d").to_string());
    let mut out = Vec::new();
    for (kind, end) in [(ReminderKind::ContractExpiry, &p.contract_end), (ReminderKind::PlanExpiry, &p.plan_end)] {
        // dates compare as text, YYYY-MM-DD; an empty one is never in the window
        if end.as_str() >= from.as_str() && end.as_str() <= to.as_str() {
            let mut r = reminder(&p.grid_id, &p.household_id, kind, &p.id, end);
            r.date = end.clone();
            out.push(for_service(r, p));
        }
    }
    if let Some(kind) = spend_drop(p.spend_fen, p.baseline_fen) {
        let mut r = reminder(&p.grid_id, &p.household_id, kind, &p.id, &p.period);
        r.amount_fen = Some(p.spend_fen);
        r.baseline_fen = Some(p.baseline_fen);
        r.drop_percent = Some((p.baseline_fen - p.spend_fen.max(0)) * 100 / p.baseline_fen);
        out.push(for_service(r, p));
    }
    if p.suspension_risk || p.suspended {
        let mut r = reminder(&p.grid_id, &p.household_id, ReminderKind::SuspensionRisk, &p.id, &p.period);
        r.suspended = p.suspended;
        out.push(for_service(r, p));
    }
    out
}

/// The reminder an arrears account raises in the month of `today`, if any: a prepaid balance
/// under 10 yuan, or a postpaid bill unpaid two months or more.
pub fn account_reminder(a: &ArrearsAccount, today: NaiveDate) -> Option<Reminder> {
    let kind = if a.payment_type == PaymentType::Prepaid && a.balance_fen.is_some_and(|b| b < LOW_BALANCE_FEN) {
        ReminderKind::LowBalance
    } else if a.payment_type == PaymentType::Postpaid && a.owed_fen > 0 && a.months_overdue >= OVERDUE_MONTHS {
        ReminderKind::PostpaidOverdue
    } else {
        return None;
    };
    let month = today.format("%Y-%m").to_string();
    let mut r = reminder(&a.grid_id, &a.household_id, kind, &a.id, &month);
    r.service_number = mask::phone(if a.service_number.is_empty() { &a.account_no } else { &a.service_number });
    if kind == ReminderKind::LowBalance {
        r.amount_fen = a.balance_fen;
    } else {
        r.amount_fen = Some(a.owed_fen);
        r.months_overdue = Some(a.months_overdue);
    }
    Some(r)
}

/// The birthday reminder of a household whose birthday falls in the coming week.
pub fn birthday_reminder(grid_id: &str, household_id: &str, birthday: &str, today: NaiveDate) -> Option<Reminder> {
    let on = upcoming_birthday(birthday, today)?;
    let mut r = reminder(grid_id, household_id, ReminderKind::Birthday, household_id, &on.year().to_string());
    r.date = on.format("%Y-%m-%d").to_string();
    Some(r)
}

/// What the rules found, made open reminders: each given its household's name, address and tier
/// (`household` answers None for one gone or of another grid: its reminders go too), the closed
/// ones left out, most urgent first.
fn settle(
    found: Vec<Reminder>,
    closed: &HashSet<String>,
    mut household: impl FnMut(&str) -> Result<Option<(String, String, Option<Tier>)>>,
) -> Result<Vec<Reminder>> {
    let mut out = Vec::with_capacity(found.len());
    for mut r in found {
        if closed.contains(&r.key) {
            continue;
        }
        let Some((customer_name, address, tier)) = household(&r.household_id)? else { continue };
        (r.customer_name, r.address, r.tier) = (customer_name, address, tier);
        out.push(r);
    }
    out.sort_by(|a, b| {
        (a.kind.urgency(), &a.date, &a.household_id, &a.key).cmp(&(b.kind.urgency(), &b.date, &b.household_id, &b.key))
    });
    Ok(out)
}

/// A grid's open reminders on `today` over its live records as given (the back office runs the
/// phone's rules on what it holds): `closed` the keys of its reminder outcomes.
pub fn open_reminders_of(
    grid_id: &str,
    today: NaiveDate,
    households: &[Household],
    profiles: &[BillingProfile],
    accounts: &[ArrearsAccount],
    closed: &HashSet<String>,
) -> Vec<Reminder> {
    let mut found: Vec<Reminder> = Vec::new();
    for p in profiles.iter().filter(|p| p.grid_id == grid_id) {
        found.extend(profile_reminders(p, today));
    }
    found.extend(accounts.iter().filter(|a| a.grid_id == grid_id).filter_map(|a| account_reminder(a, today)));
    let homes: HashMap<&str, &Household> =
        households.iter().filter(|h| h.grid_id == grid_id).map(|h| (h.id.as_str(), h)).collect();
    found.extend(homes.values().filter_map(|h| birthday_reminder(grid_id, &h.id, &h.birthday, today)));
    let settled =
        settle(found, closed, |id| Ok(homes.get(id).map(|h| (h.customer_name.clone(), h.address.clone(), h.tier))));
    // the lookup above never fails
    settled.unwrap_or_default()
}

const LIVE: &str = "coalesce(deleted, 0) = 0";

/// Every open reminder of the grid on `today`, most urgent first. The queries read only the rows
/// a rule may speak of (through the indexes); the rules themselves decide.
fn open_reminders(c: &Connection, grid_id: &str, today: NaiveDate) -> Result<Vec<Reminder>> {
    let mut found: Vec<Reminder> = Vec::new();
    let (from, to) = (today.format("%Y-%m-%d").to_string(), expiry_horizon(today).format("%Y-%m-%d").to_string());

    let mut profiles: HashMap<String, BillingProfile> = HashMap::new();
    for column in ["contract_end", "plan_end"] {
        let ending: Vec<BillingProfile> = entity_table::query(
            c,
            &format!("grid_id = ?1 AND {column} >= ?2 AND {column} <= ?3 AND {LIVE} ORDER BY {column}, id"),
            params![grid_id, from, to],
        )?;
        profiles.extend(ending.into_iter().map(|p| (p.id.clone(), p)));
    }
    for filter in ["spend_fen < baseline_fen", "(suspension_risk = 1 OR suspended = 1)"] {
        let flagged: Vec<BillingProfile> =
            entity_table::query(c, &format!("grid_id = ?1 AND {filter} AND {LIVE} ORDER BY id"), [grid_id])?;
        profiles.extend(flagged.into_iter().map(|p| (p.id.clone(), p)));
    }
    // a profile read by several queries raises each of its reminders once
    for p in profiles.values() {
        found.extend(profile_reminders(p, today));
    }

    let low: Vec<ArrearsAccount> = entity_table::query(
        c,
        &format!("grid_id = ?1 AND payment_type = 'prepaid' AND balance_fen < ?2 AND {LIVE} ORDER BY balance_fen, id"),
        params![grid_id, LOW_BALANCE_FEN],
    )?;
    let overdue: Vec<ArrearsAccount> = entity_table::query(
        c,
        &format!(
            "grid_id = ?1 AND owed_fen > 0 AND payment_type = 'postpaid' AND months_overdue >= ?2 AND {LIVE}
             ORDER BY owed_fen DESC, id"
        ),
        params![grid_id, OVERDUE_MONTHS],
    )?;
    found.extend(low.iter().chain(&overdue).filter_map(|a| account_reminder(a, today)));

    // birthdays by month-day through the expression index; 29 February is looked up when its
    // stand-in, 28 February, is in the window
    let mut days: Vec<String> =
        (0..BIRTHDAY_WINDOW_DAYS).map(|n| (today + Duration::days(n)).format("%m-%d").to_string()).collect();
    if days.iter().any(|d| d == "02-28") {
        days.push("02-29".into());
    }
    let marks = (0..days.len()).map(|n| format!("?{}", n + 2)).collect::<Vec<_>>().join(", ");
    let mut stmt = c.prepare_cached(&format!(
        "SELECT id, birthday FROM households
         WHERE grid_id = ?1 AND birthday <> '' AND substr(birthday, 6) IN ({marks}) AND {LIVE} ORDER BY id"
    ))?;
    let mut args: Vec<&dyn rusqlite::ToSql> = vec![&grid_id];
    args.extend(days.iter().map(|d| d as &dyn rusqlite::ToSql));
    let born: Vec<(String, String)> =
        stmt.query_map(args.as_slice(), |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<std::result::Result<_, _>>()?;
    found.extend(born.iter().filter_map(|(id, birthday)| birthday_reminder(grid_id, id, birthday, today)));

    let closed: HashSet<String> = c
        .prepare_cached("SELECT reminder_key FROM reminder_outcomes WHERE grid_id = ?1")?
        .query_map([grid_id], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    settle(found, &closed, |id| household_of(c, grid_id, id))
}

impl Store {
    /// The grid's open reminders on the local day `today` (YYYY-MM-DD), most urgent first;
    /// closed ones are left out.
    pub fn reminders(&self, grid_id: &str, today: &str) -> Result<Vec<Reminder>> {
        let day = parse_day(today)?;
        self.read(|c| open_reminders(c, grid_id, day))
    }

    /// Closes an open reminder of `today` with its outcome, in the manager's name; the closure
    /// syncs to every phone of the grid and to the back office.
    #[allow(clippy::too_many_arguments)] // each is a part of the closure the manager gives
    pub fn close_reminder(
        &self,
        grid_id: &str,
        today: &str,
        key: &str,
        outcome: ReminderResolution,
        note: &str,
        manager_id: &str,
        zone_offset_min: i64,
    ) -> Result<ReminderOutcome> {
        let open = self
            .reminders(grid_id, today)?
            .into_iter()
            .find(|r| r.key == key)
            .ok_or_else(|| Error::NotFound { kind: "open reminder", id: key.to_string() })?;
        let closure = ReminderOutcome {
            id: new_id(),
            grid_id: grid_id.to_string(),
            household_id: open.household_id,
            reminder_key: open.key,
            kind: open.kind,
            outcome,
            note: note.trim().to_string(),
            closed_at_ms: self.wall_ms(),
            zone_offset_min,
            manager_id: manager_id.trim().to_string(),
        };
        validate::reminder_outcome(&closure)?;
        let fields = fields_of(&closure)?;
        self.write(|tx, clock| {
            crate::field::field_references_hold(tx, EntityKind::ReminderOutcome, grid_id, &fields)?;
            record_change(tx, clock, EntityKind::ReminderOutcome, &closure.id, grid_id, OpAction::Create, fields)
        })?;
        Ok(closure)
    }

    /// The grid's closed reminders, latest first.
    pub fn reminder_outcomes(&self, grid_id: &str) -> Result<Vec<ReminderOutcome>> {
        self.read(|c| entity_table::query(c, "grid_id = ?1 ORDER BY closed_at_ms DESC, id DESC", [grid_id]))
    }

    /// The billing figures of one household's services, by service number.
    pub fn billing_profiles(&self, household_id: &str) -> Result<Vec<BillingProfile>> {
        self.read(|c| {
            entity_table::query(c, &format!("household_id = ?1 AND {LIVE} ORDER BY service_number, id"), [household_id])
        })
    }
}

#[cfg(test)]
mod tests;
