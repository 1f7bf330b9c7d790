//! The supervisor's day (issue 18), computed in one place from the synced facts of the grids a
//! staff member may see: per grid and per manager, for today, this week and this month, visits done
//! against the appointments planned, appointments kept on time (±10 minutes, core's workday rule),
//! money collected (and handed in, once hand-ins are recorded), reminders (预警) closed with their
//! outcomes, first-ask tickets taken; and as things stand now: reminders open today (the phone's
//! own rules, core's `open_reminders_of`, run over the synced records: phones sync only the
//! closures), tickets open and overdue, arrears outstanding by months overdue, households with no
//! visit in N days and the tier mix; with a
//! daily trend of visits and money over the month. Read through `RecordStorage` only, so both
//! backends answer the same; money is integer fen with checked sums.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use gridbook_core::field::reminders::open_reminders_of;
use gridbook_core::field::workday::{day_bounds, punctuality, Punctuality};
use gridbook_core::model::{
    Appointment, AppointmentStatus, ArrearsAccount, ArrearsNotice, BillingProfile, EntityKind, Household, Receipt,
    ReminderOutcome, Ticket, TicketStatus, Visit,
};
use gridbook_core::sync::wire::EntityState;
use serde::Serialize;

use super::error::{DomainError, DomainResult};
use super::report_day::{report_day, REPORT_ZONE_OFFSET_MIN};
use super::spreadsheets::archives::record;
use crate::storage::records::RecordStorage;

/// The periods the home page reports, in this order.
pub const PERIODS: [&str; 3] = ["today", "week", "month"];
/// Days of the trend charts (ending today).
pub const TREND_DAYS: i64 = 30;

/// A reporting period: [start_ms, end_ms) in the report zone, from its first day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    pub key: &'static str,
    pub from_day: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// Today, this week (from Monday) and this month (from the 1st), each up to the end of today.
pub fn periods(now_ms: i64) -> DomainResult<Vec<Period>> {
    let today = report_day(now_ms, 0);
    let date = NaiveDate::parse_from_str(&today, "%Y-%m-%d")
        .map_err(|e| DomainError::internal(format!("report day {today}: {e}")))?;
    let monday = date - chrono::Days::new(u64::from(date.weekday().num_days_from_monday()));
    let first = date.with_day(1).unwrap_or(date);
    let (_, end) = bounds(&today)?;
    [("today", date), ("week", monday), ("month", first)]
        .into_iter()
        .map(|(key, from)| {
            let from_day = from.format("%Y-%m-%d").to_string();
            let (start, _) = bounds(&from_day)?;
            Ok(Period { key, from_day, start_ms: start, end_ms: end })
        })
        .collect()
}

fn bounds(day: &str) -> DomainResult<(i64, i64)> {
    day_bounds(day, REPORT_ZONE_OFFSET_MIN).map_err(|e| DomainError::internal(format!("day {day}: {e}")))
}

/// What happened in one period, for a grid or a manager.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// Visits recorded (走访).
    pub visits: i64,
    /// Appointments agreed for the period and not cancelled: the plan.
    pub planned: i64,
    /// Of them, kept with a visit within ±10 minutes of the agreed time.
    pub kept_on_time: i64,
    /// Kept, but outside the ±10 minutes.
    pub kept_late: i64,
    /// Agreed for a time already past and never kept.
    pub missed: i64,
    /// Receipts uploaded and their sum.
    pub receipts: i64,
    pub collected_fen: i64,
    /// Of the money collected in the period, what has been handed in to the business hall (交款,
    /// `hand_in_receipts`); None when the facts carry no hand-ins (a backend without them).
    pub handed_in_fen: Option<i64>,
    /// Reminders (预警) closed, by outcome.
    pub reminders_closed: i64,
    pub reminder_outcomes: BTreeMap<String, i64>,
    /// First-ask tickets taken.
    pub tickets_taken: i64,
    /// Arrears notices given (催缴).
    pub notices: i64,
}

/// Arrears accounts owing, by months overdue ("0", "1", "2", "3+").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ArrearsBucket {
    pub months: String,
    pub accounts: i64,
    pub owed_fen: i64,
}

/// How things stand now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Standing {
    pub tickets_open: i64,
    pub tickets_overdue: i64,
    /// Households (live) and those with no visit in the last `no_visit_days` days.
    pub households: i64,
    pub not_visited: i64,
    /// Households by tier: "high", "middle", "low", "none".
    pub tiers: BTreeMap<String, i64>,
    pub arrears: Vec<ArrearsBucket>,
    pub owed_fen: i64,
    /// Reminders (预警) open today, by the phone's own rules run over the grid's records
    /// (core's `open_reminders_of`): in all and by kind. An open reminder is the grid's (every
    /// manager of it has it on the phone), so managers' blocks leave these at zero; a closed one
    /// counts to whoever closed it, per period (`Figures::reminders_closed`).
    pub reminders_open: i64,
    pub reminders_open_by_kind: BTreeMap<String, i64>,
}

/// A grid's or a manager's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Block {
    pub id: String,
    pub name: String,
    /// One per period, in `PERIODS` order.
    pub periods: BTreeMap<String, Figures>,
    pub standing: Standing,
}

/// One day of the trend.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrendDay {
    pub day: String,
    pub visits: i64,
    pub collected_fen: i64,
}

/// A grid with its managers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GridBlock {
    #[serde(flatten)]
    pub grid: Block,
    pub managers: Vec<Block>,
}

/// The home page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Home {
    pub today: String,
    pub periods: Vec<Period>,
    pub no_visit_days: i64,
    pub total: Block,
    pub grids: Vec<GridBlock>,
    pub trend: Vec<TrendDay>,
}

/// The facts of one grid the figures are computed from (live records only).
#[derive(Debug, Clone, Default)]
pub struct GridFacts {
    pub grid_id: String,
    pub grid_name: String,
    pub households: Vec<Household>,
    pub visits: Vec<Visit>,
    pub appointments: Vec<Appointment>,
    pub receipts: Vec<Receipt>,
    pub tickets: Vec<Ticket>,
    pub accounts: Vec<ArrearsAccount>,
    /// The back office's billing figures per service, which the reminder rules read.
    pub profiles: Vec<BillingProfile>,
    pub reminders: Vec<ReminderOutcome>,
    pub notices: Vec<ArrearsNotice>,
    /// Of the money collected in each period (by `Period::key`), what each collector has handed
    /// in, fen, as storage sums it (`MoneyStorage::handed_in_fen`); None: not known.
    pub handed_in: Option<HandedIn>,
}

/// Period key → collector id → fen handed in of the money collected in that period.
pub type HandedIn = BTreeMap<String, BTreeMap<String, i64>>;

fn live<R: gridbook_core::model::Record>(states: Vec<EntityState>) -> Vec<R> {
    states.iter().filter(|s| !s.deleted()).filter_map(record).collect()
}

impl GridFacts {
    /// A grid's facts as the server holds them now.
    pub fn load(storage: &(impl RecordStorage + ?Sized), grid_id: &str, grid_name: &str) -> DomainResult<GridFacts> {
        let get = |kind| storage.grid_records(kind, grid_id);
        Ok(GridFacts {
            grid_id: grid_id.to_string(),
            grid_name: grid_name.to_string(),
            households: live(get(EntityKind::Household)?),
            visits: live(get(EntityKind::Visit)?),
            appointments: live(get(EntityKind::Appointment)?),
            receipts: live(get(EntityKind::Receipt)?),
            tickets: live(get(EntityKind::Ticket)?),
            accounts: live(get(EntityKind::ArrearsAccount)?),
            profiles: live(get(EntityKind::BillingProfile)?),
            reminders: live(get(EntityKind::ReminderOutcome)?),
            notices: live(get(EntityKind::ArrearsNotice)?),
            handed_in: None,
        })
    }
}

fn add(a: &mut i64, b: i64) -> DomainResult<()> {
    *a = a.checked_add(b).ok_or_else(|| DomainError::internal("a sum of fen overflowed"))?;
    Ok(())
}

fn within(t: i64, p: &Period) -> bool {
    t >= p.start_ms && t < p.end_ms
}

/// A ticket not yet answered whose promised reply date has passed.
fn ticket_open(t: &Ticket) -> bool {
    matches!(t.status, TicketStatus::Open | TicketStatus::Escalated)
}

/// The figures of one period over facts, keeping those `mine` says belong to the block.
fn figures(f: &GridFacts, p: &Period, now_ms: i64, mine: &dyn Fn(&str) -> bool) -> DomainResult<Figures> {
    let mut out = Figures::default();
    let visits: HashMap<&str, &Visit> = f.visits.iter().map(|v| (v.id.as_str(), v)).collect();
    out.visits = f.visits.iter().filter(|v| mine(&v.manager_id) && within(v.arrived_at_ms, p)).count() as i64;
    for a in f.appointments.iter().filter(|a| mine(&a.manager_id) && within(a.agreed_at_ms, p)) {
        if a.status == AppointmentStatus::Cancelled {
            continue;
        }
        out.planned += 1;
        let kept = a.visit_id.as_deref().and_then(|id| visits.get(id));
        match kept {
            Some(v) => match punctuality(a.agreed_at_ms, v.arrived_at_ms) {
                Punctuality::OnTime => out.kept_on_time += 1,
                _ => out.kept_late += 1,
            },
            None if a.status != AppointmentStatus::Done && a.agreed_at_ms < now_ms => out.missed += 1,
            None => {}
        }
    }
    for r in f.receipts.iter().filter(|r| mine(&r.collector_id) && within(r.collected_at_ms, p)) {
        out.receipts += 1;
        add(&mut out.collected_fen, r.amount_fen)?;
    }
    out.handed_in_fen = match f.handed_in.as_ref().and_then(|by_period| by_period.get(p.key)) {
        Some(by_collector) => {
            let mut sum = 0;
            for (_, fen) in by_collector.iter().filter(|(who, _)| mine(who)) {
                add(&mut sum, *fen)?;
            }
            Some(sum)
        }
        None => None,
    };
    for r in f.reminders.iter().filter(|r| mine(&r.manager_id) && within(r.closed_at_ms, p)) {
        out.reminders_closed += 1;
        *out.reminder_outcomes.entry(r.outcome.as_str().to_string()).or_default() += 1;
    }
    out.tickets_taken =
        f.tickets.iter().filter(|t| mine(&t.owner_manager_id) && within(t.taken_at_ms, p)).count() as i64;
    Ok(out)
}

fn months_bucket(months: i64) -> &'static str {
    match months {
        i64::MIN..=0 => "0",
        1 => "1",
        2 => "2",
        _ => "3+",
    }
}

/// How a grid stands now (`mine` None) or a manager's tickets (`mine` Some).
fn standing(
    f: &GridFacts,
    today: &str,
    now_ms: i64,
    no_visit_days: i64,
    grid_wide: bool,
    mine: &dyn Fn(&str) -> bool,
) -> DomainResult<Standing> {
    let mut out = Standing::default();
    for t in f.tickets.iter().filter(|t| mine(&t.owner_manager_id) && ticket_open(t)) {
        out.tickets_open += 1;
        if t.promised_reply_by.as_str() < today {
            out.tickets_overdue += 1;
        }
    }
    if !grid_wide {
        return Ok(out);
    }
    let since = now_ms.saturating_sub(no_visit_days.saturating_mul(86_400_000));
    let visited: BTreeSet<&str> =
        f.visits.iter().filter(|v| v.arrived_at_ms >= since).map(|v| v.household_id.as_str()).collect();
    out.households = f.households.len() as i64;
    out.not_visited = f.households.iter().filter(|h| !visited.contains(h.id.as_str())).count() as i64;
    for h in &f.households {
        let tier = h.tier.map(|t| t.as_str()).unwrap_or("none");
        *out.tiers.entry(tier.to_string()).or_default() += 1;
    }
    let mut buckets: BTreeMap<&str, ArrearsBucket> = BTreeMap::new();
    for a in f.accounts.iter().filter(|a| a.owed_fen > 0) {
        let key = months_bucket(a.months_overdue);
        let b = buckets.entry(key).or_insert_with(|| ArrearsBucket { months: key.to_string(), ..Default::default() });
        b.accounts += 1;
        add(&mut b.owed_fen, a.owed_fen)?;
        add(&mut out.owed_fen, a.owed_fen)?;
    }
    out.arrears = buckets.into_values().collect();
    let day = NaiveDate::parse_from_str(today, "%Y-%m-%d")
        .map_err(|e| DomainError::internal(format!("report day {today}: {e}")))?;
    let closed: HashSet<String> = f.reminders.iter().map(|r| r.reminder_key.clone()).collect();
    for r in open_reminders_of(&f.grid_id, day, &f.households, &f.profiles, &f.accounts, &closed) {
        out.reminders_open += 1;
        *out.reminders_open_by_kind.entry(r.kind.as_str().to_string()).or_default() += 1;
    }
    Ok(out)
}

fn merge_figures(into: &mut Figures, from: &Figures) -> DomainResult<()> {
    into.visits += from.visits;
    into.planned += from.planned;
    into.kept_on_time += from.kept_on_time;
    into.kept_late += from.kept_late;
    into.missed += from.missed;
    into.receipts += from.receipts;
    add(&mut into.collected_fen, from.collected_fen)?;
    if let Some(h) = from.handed_in_fen {
        let mut sum = into.handed_in_fen.unwrap_or(0);
        add(&mut sum, h)?;
        into.handed_in_fen = Some(sum);
    }
    into.reminders_closed += from.reminders_closed;
    for (k, n) in &from.reminder_outcomes {
        *into.reminder_outcomes.entry(k.clone()).or_default() += n;
    }
    into.tickets_taken += from.tickets_taken;
    into.notices += from.notices;
    Ok(())
}

fn merge_standing(into: &mut Standing, from: &Standing) -> DomainResult<()> {
    into.tickets_open += from.tickets_open;
    into.tickets_overdue += from.tickets_overdue;
    into.households += from.households;
    into.not_visited += from.not_visited;
    into.reminders_open += from.reminders_open;
    for (k, n) in &from.reminders_open_by_kind {
        *into.reminders_open_by_kind.entry(k.clone()).or_default() += n;
    }
    for (k, n) in &from.tiers {
        *into.tiers.entry(k.clone()).or_default() += n;
    }
    for b in &from.arrears {
        match into.arrears.iter_mut().find(|x| x.months == b.months) {
            Some(x) => {
                x.accounts += b.accounts;
                add(&mut x.owed_fen, b.owed_fen)?;
            }
            None => into.arrears.push(b.clone()),
        }
    }
    into.arrears.sort_by(|a, b| a.months.cmp(&b.months));
    add(&mut into.owed_fen, from.owed_fen)
}

/// The home page over the grids' facts. `names` gives managers' names by id; the managers of a
/// grid are those `assigned` to it and anyone who recorded something in it.
pub fn home(
    facts: &[GridFacts],
    assigned: &BTreeMap<String, Vec<String>>,
    names: &HashMap<String, String>,
    now_ms: i64,
    no_visit_days: i64,
) -> DomainResult<Home> {
    let periods = periods(now_ms)?;
    let today = report_day(now_ms, 0);
    let mut total = Block { id: String::new(), name: "全部网格 / all grids".into(), ..Default::default() };
    let mut grids = Vec::with_capacity(facts.len());
    for f in facts {
        let all = |_: &str| true;
        let mut grid = Block { id: f.grid_id.clone(), name: f.grid_name.clone(), ..Default::default() };
        for p in &periods {
            grid.periods.insert(p.key.to_string(), figures(f, p, now_ms, &all)?);
        }
        grid.standing = standing(f, &today, now_ms, no_visit_days, true, &all)?;
        let mut people: BTreeSet<String> = assigned.get(&f.grid_id).cloned().unwrap_or_default().into_iter().collect();
        people.extend(f.visits.iter().map(|v| v.manager_id.clone()));
        people.extend(f.receipts.iter().map(|r| r.collector_id.clone()));
        people.extend(f.appointments.iter().map(|a| a.manager_id.clone()));
        people.extend(f.tickets.iter().map(|t| t.owner_manager_id.clone()));
        people.retain(|p| !p.is_empty());
        let mut managers = Vec::with_capacity(people.len());
        for id in people {
            let me = |m: &str| m == id;
            let mut block = Block {
                name: names.get(&id).cloned().unwrap_or_else(|| id.clone()),
                id: id.clone(),
                ..Default::default()
            };
            for p in &periods {
                block.periods.insert(p.key.to_string(), figures(f, p, now_ms, &me)?);
            }
            block.standing = standing(f, &today, now_ms, no_visit_days, false, &me)?;
            managers.push(block);
        }
        managers.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        for (key, fig) in &grid.periods {
            merge_figures(total.periods.entry(key.clone()).or_default(), fig)?;
        }
        merge_standing(&mut total.standing, &grid.standing)?;
        grids.push(GridBlock { grid, managers });
    }
    for p in &periods {
        total.periods.entry(p.key.to_string()).or_default();
    }
    let trend = trend(facts, now_ms)?;
    Ok(Home { today, periods, no_visit_days, total, grids, trend })
}

/// A manager's day in a grid as the server computes it from the synced facts (the phone's own
/// submitted summary stays the manager's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComputedDay {
    pub date: String,
    pub grid_id: String,
    pub manager_id: String,
    pub manager_name: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// Each manager's days over the last `days` days (newest first) in the grids of `facts`: the
/// days on which they recorded anything.
pub fn computed_days(
    facts: &[GridFacts],
    names: &HashMap<String, String>,
    now_ms: i64,
    days: i64,
) -> DomainResult<Vec<ComputedDay>> {
    let mut out = Vec::new();
    for back in 0..days.clamp(1, 366) {
        let date = report_day(now_ms, back);
        let (start_ms, end_ms) = bounds(&date)?;
        let day = Period { key: "day", from_day: date.clone(), start_ms, end_ms };
        for f in facts {
            let mut people: BTreeSet<&str> = BTreeSet::new();
            people.extend(f.visits.iter().filter(|v| within(v.arrived_at_ms, &day)).map(|v| v.manager_id.as_str()));
            people
                .extend(f.receipts.iter().filter(|r| within(r.collected_at_ms, &day)).map(|r| r.collector_id.as_str()));
            people
                .extend(f.appointments.iter().filter(|a| within(a.agreed_at_ms, &day)).map(|a| a.manager_id.as_str()));
            people.extend(f.notices.iter().filter(|n| within(n.given_at_ms, &day)).map(|n| n.manager_id.as_str()));
            people
                .extend(f.tickets.iter().filter(|t| within(t.taken_at_ms, &day)).map(|t| t.owner_manager_id.as_str()));
            for id in people.into_iter().filter(|p| !p.is_empty()) {
                let figures = figures(f, &day, now_ms, &|m: &str| m == id)?;
                out.push(ComputedDay {
                    date: date.clone(),
                    grid_id: f.grid_id.clone(),
                    manager_id: id.to_string(),
                    manager_name: names.get(id).cloned().unwrap_or_else(|| id.to_string()),
                    figures,
                });
            }
        }
    }
    Ok(out)
}

/// Visits and money per day over the last `TREND_DAYS` days, all grids together.
fn trend(facts: &[GridFacts], now_ms: i64) -> DomainResult<Vec<TrendDay>> {
    let mut days = Vec::with_capacity(TREND_DAYS as usize);
    for back in (0..TREND_DAYS).rev() {
        let day = report_day(now_ms, back);
        let (start, end) = bounds(&day)?;
        let mut d = TrendDay { day, ..Default::default() };
        for f in facts {
            d.visits += f.visits.iter().filter(|v| v.arrived_at_ms >= start && v.arrived_at_ms < end).count() as i64;
            for r in f.receipts.iter().filter(|r| r.collected_at_ms >= start && r.collected_at_ms < end) {
                add(&mut d.collected_fen, r.amount_fen)?;
            }
        }
        days.push(d);
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(text).map(|d| d.timestamp_millis()).unwrap_or_default()
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first_in_china_time() {
        // Wednesday 2026-03-04 01:00 in Beijing is still Tuesday in UTC
        let p = periods(at("2026-03-03T17:00:00Z")).unwrap();
        let days: Vec<&str> = p.iter().map(|p| p.from_day.as_str()).collect();
        assert_eq!(days, ["2026-03-04", "2026-03-02", "2026-03-01"]);
        assert_eq!(p[0].start_ms, at("2026-03-03T16:00:00Z"));
        assert!(p.iter().all(|x| x.end_ms == at("2026-03-04T16:00:00Z")));
    }

    /// A grid with known facts at `now`: receipts of zhang today and last month, accounts owing
    /// 1, 2 and 4 months, a reminder closed today.
    fn grid(now: i64) -> GridFacts {
        use gridbook_core::testing;
        let mut today = testing::receipt("g1", "acc-1", "h1", "R-1");
        today.collector_id = "zhang".into();
        today.amount_fen = 58_139;
        today.collected_at_ms = now - 1_000;
        let mut also = today.clone();
        also.receipt_no = "R-2".into();
        also.amount_fen = 1;
        let mut old = today.clone();
        old.receipt_no = "R-0".into();
        old.collected_at_ms = now - 40 * 86_400_000;
        let account = |id: &str, owed: i64, months: i64| {
            let mut a = testing::account("g1", "h1", owed);
            a.id = id.into();
            a.months_overdue = months;
            a
        };
        let mut closed = testing::reminder_outcome("g1", "h1", "contract_expiry:h1");
        closed.manager_id = "zhang".into();
        closed.closed_at_ms = now - 1_000;
        GridFacts {
            grid_id: "g1".into(),
            grid_name: "幸福里网格".into(),
            receipts: vec![today, also, old],
            accounts: vec![
                account("a", 10_000, 1),
                account("b", 20_000, 2),
                account("c", 30_000, 4),
                account("d", 0, 5),
            ],
            reminders: vec![closed],
            ..Default::default()
        }
    }

    #[test]
    fn money_arrears_and_reminders_are_summed_in_fen_per_period() {
        let now = at("2026-03-18T04:00:00Z");
        let names = HashMap::from([("zhang".to_string(), "张伟".to_string())]);
        let h = home(&[grid(now)], &BTreeMap::new(), &names, now, 30).unwrap();
        let g = &h.grids[0].grid;
        assert_eq!((g.periods["today"].collected_fen, g.periods["today"].receipts), (58_140, 2));
        assert_eq!(g.periods["month"].collected_fen, 58_140, "last month's receipt is not this month's");
        assert_eq!(g.periods["today"].handed_in_fen, None, "no hand-ins known");
        // the cash of one of today's receipts handed in: today's, this week's and month's figure
        let mut handed = grid(now);
        let first = handed.receipts[0].clone();
        // as storage sums them: zhang's first receipt of today, and an unnamed collector's
        let sums = |fen: i64| BTreeMap::from([("zhang".to_string(), first.amount_fen), ("".to_string(), fen)]);
        handed.handed_in = Some(BTreeMap::from([
            ("today".to_string(), sums(7)),
            ("week".to_string(), sums(7)),
            ("month".to_string(), sums(9)),
        ]));
        let with = home(&[handed], &BTreeMap::new(), &names, now, 30).unwrap();
        let g2 = &with.grids[0].grid;
        assert_eq!(g2.periods["today"].handed_in_fen, Some(first.amount_fen + 7));
        assert_eq!(g2.periods["month"].handed_in_fen, Some(first.amount_fen + 9));
        assert_eq!(with.grids[0].managers[0].periods["today"].handed_in_fen, Some(first.amount_fen));
        assert_eq!(with.total.periods["today"].handed_in_fen, Some(first.amount_fen + 7));
        assert_eq!(g.standing.owed_fen, 60_000);
        let buckets: Vec<(&str, i64, i64)> =
            g.standing.arrears.iter().map(|b| (b.months.as_str(), b.accounts, b.owed_fen)).collect();
        assert_eq!(buckets, [("1", 1, 10_000), ("2", 1, 20_000), ("3+", 1, 30_000)]);
        assert_eq!(g.periods["today"].reminders_closed, 1);
        let zhang = &h.grids[0].managers[0];
        assert_eq!((zhang.name.as_str(), zhang.periods["week"].collected_fen), ("张伟", 58_140));
        assert_eq!(h.total.periods["today"].collected_fen, 58_140);
        assert_eq!(h.trend.len(), TREND_DAYS as usize);
        assert_eq!(h.trend.last().map(|d| d.collected_fen), Some(58_140));
        assert_eq!(h.trend.iter().map(|d| d.collected_fen).sum::<i64>(), 58_140, "the old receipt is before the trend");
    }

    #[test]
    fn the_server_computes_each_managers_day_from_the_facts() {
        let now = at("2026-03-18T04:00:00Z");
        let names = HashMap::from([("zhang".to_string(), "张伟".to_string())]);
        let days = computed_days(&[grid(now)], &names, now, 60).unwrap();
        let dates: Vec<&str> = days.iter().map(|d| d.date.as_str()).collect();
        assert_eq!(dates, ["2026-03-18", "2026-02-06"], "the days zhang collected on, newest first");
        assert_eq!((days[0].manager_name.as_str(), days[0].figures.collected_fen), ("张伟", 58_140));
        assert_eq!((days[1].figures.receipts, days[1].figures.collected_fen), (1, 58_139));
    }

    #[test]
    fn open_reminders_are_the_phones_rules_over_the_grids_records_less_the_closed() {
        use gridbook_core::model::PaymentType;
        use gridbook_core::testing;
        // 2026-03-18 in Beijing: a contract ending within two months, a bill unpaid three months,
        // a prepaid balance of 5 yuan (closed today), a birthday in three days
        let now = at("2026-03-18T04:00:00Z");
        let mut f = grid(now);
        let mut h1 = testing::household_n("g1", 1);
        (h1.id, h1.birthday) = ("h1".into(), "1970-03-21".into());
        let mut h2 = testing::household_n("g1", 2);
        (h2.id, h2.birthday) = ("h2".into(), String::new());
        let mut ending = testing::billing_profile("g1", &h2.id, "2026-03");
        ending.id = "p1".into();
        ending.contract_end = "2026-04-30".into();
        let mut unpaid = testing::account("g1", &h1.id, 9_000);
        (unpaid.id, unpaid.payment_type, unpaid.months_overdue) = ("a-unpaid".into(), PaymentType::Postpaid, 3);
        let mut low = testing::account("g1", &h2.id, 0);
        (low.id, low.payment_type, low.balance_fen) = ("a-low".into(), PaymentType::Prepaid, Some(500));
        f.households = vec![h1, h2];
        f.profiles = vec![ending];
        f.accounts = vec![unpaid, low];
        f.reminders[0].reminder_key = "low_balance:a-low:2026-03".into();
        let h = home(&[f], &BTreeMap::new(), &HashMap::new(), now, 30).unwrap();
        let st = &h.grids[0].grid.standing;
        let by_kind: Vec<(&str, i64)> = st.reminders_open_by_kind.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        assert_eq!(by_kind, [("birthday", 1), ("contract_expiry", 1), ("postpaid_overdue", 1)], "{st:?}");
        assert_eq!(st.reminders_open, 3);
        assert_eq!(h.total.standing.reminders_open, 3);
        assert_eq!(h.grids[0].grid.periods["today"].reminders_closed, 1, "the low balance, closed today");
    }

    #[test]
    fn a_sum_beyond_i64_is_an_error_not_a_wrap() {
        let now = at("2026-03-18T04:00:00Z");
        let mut f = grid(now);
        for r in &mut f.receipts {
            r.amount_fen = i64::MAX;
        }
        assert!(home(&[f], &BTreeMap::new(), &HashMap::new(), now, 30).is_err());
    }

    #[test]
    fn arrears_buckets_by_months_overdue() {
        assert_eq!([0, 1, 2, 3, 9].map(months_bucket), ["0", "1", "2", "3+", "3+"]);
    }
}
