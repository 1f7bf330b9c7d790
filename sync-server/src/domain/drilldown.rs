//! Finding things in the back office (issue 18): a grid's buildings in door-number order (1, 2 …
//! 10号楼) with their units and figures (core's `GridSummary`, shares rounded), the households of
//! a building, a unit or a search (the phone's own search rules, core's `household_matches`) one
//! page at a time with the total, and one household's page: its archive, tier, billing figures,
//! arrears and history (visits, notices, receipts, voids, tickets, appointments, reminders).
//! Personal data leaves here masked as the back office's screens and exports mask it
//! (`mask_household`); only an audited reveal (reveals.rs) shows more.

use std::collections::BTreeMap;

use gridbook_core::field::archive::household_matches;
use gridbook_core::field::reports::GridSummary;
use gridbook_core::field::workday::natural_cmp;
use gridbook_core::model::{
    Appointment, ArrearsAccount, ArrearsNotice, BillingProfile, EntityKind, Household, Premises, Receipt, ReceiptVoid,
    ReminderOutcome, Ticket, Visit,
};
use gridbook_core::sync::wire::EntityState;
use serde::Serialize;

use super::error::DomainResult;
use super::photos::{facts, recording_device, unsettled, PhotoRef};
use super::privacy::{mask_digit_runs, mask_name};
use super::spreadsheets::archives::record;
use crate::storage::records::RecordStorage;

/// The most rows one page of households carries.
pub const MAX_PAGE: u32 = 200;

fn live<R: gridbook_core::model::Record>(states: Vec<EntityState>) -> Vec<R> {
    states.iter().filter(|s| !s.deleted()).filter_map(record).collect()
}

/// Who paid a receipt, as a customer's copy prints them (core's printable masks each): the
/// household's name and the account's number and service number, as the archive holds them now;
/// empty when the household or the account is no longer in `grid_id` (handed over, removed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payer {
    pub name: String,
    pub account_no: String,
    pub service_number: String,
}

pub fn payer(
    storage: &(impl RecordStorage + ?Sized),
    grid_id: &str,
    household_id: &str,
    account_id: &str,
) -> DomainResult<Payer> {
    let households: Vec<Household> = live(storage.grid_records(EntityKind::Household, grid_id)?);
    let name = households.into_iter().find(|h| h.id == household_id).map(|h| h.customer_name).unwrap_or_default();
    let accounts: Vec<ArrearsAccount> =
        live(storage.household_records(EntityKind::ArrearsAccount, grid_id, household_id)?);
    let account = accounts.into_iter().find(|a| a.id == account_id);
    Ok(Payer {
        name,
        account_no: account.as_ref().map(|a| a.account_no.clone()).unwrap_or_default(),
        service_number: account.map(|a| a.service_number).unwrap_or_default(),
    })
}

/// The one masking rule of the back office's screens and exports for staff who have not revealed
/// a household: the surname only, phone and ID numbers masked, digit runs in free text masked.
pub fn mask_household(mut h: Household) -> Household {
    h.customer_name = mask_name(&h.customer_name);
    h.mobile = gridbook_core::mask::phone(&h.mobile);
    h.landline = gridbook_core::mask::phone(&h.landline);
    h.id_number = gridbook_core::mask::id_number(&h.id_number);
    h.other_contact = mask_digit_runs(&h.other_contact);
    h.notes = mask_digit_runs(&h.notes);
    h.opinions = mask_digit_runs(&h.opinions);
    h.work_unit = mask_digit_runs(&h.work_unit);
    h.birthday = String::new();
    for s in &mut h.services {
        s.service_number = gridbook_core::mask::phone(&s.service_number);
    }
    h
}

/// A unit of a building and its households.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitLine {
    pub unit: String,
    pub households: i64,
}

/// A building (or bungalow, shop) of a grid with its units and figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildingLine {
    pub id: String,
    pub name: String,
    pub premises_type: String,
    pub address: String,
    pub units: Vec<UnitLine>,
    pub summary: GridSummary,
}

/// A grid's buildings by number, then the households in no building.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Buildings {
    pub grid_id: String,
    pub summary: GridSummary,
    pub buildings: Vec<BuildingLine>,
    /// Households whose building is unknown here.
    pub loose: i64,
}

/// The buildings of a grid (its live premises and households).
pub fn buildings(grid_id: &str, premises: &[Premises], households: &[Household]) -> Buildings {
    let mut list: Vec<&Premises> = premises.iter().collect();
    list.sort_by(|a, b| natural_cmp(&a.name, &b.name).then_with(|| a.id.cmp(&b.id)));
    let buildings = list
        .into_iter()
        .map(|p| {
            let inside: Vec<Household> =
                households.iter().filter(|h| h.premises_id.as_deref() == Some(p.id.as_str())).cloned().collect();
            let mut units: BTreeMap<String, i64> = BTreeMap::new();
            for h in &inside {
                *units.entry(h.unit.clone()).or_default() += 1;
            }
            let mut units: Vec<UnitLine> =
                units.into_iter().map(|(unit, households)| UnitLine { unit, households }).collect();
            units.sort_by(|a, b| natural_cmp(&a.unit, &b.unit));
            BuildingLine {
                id: p.id.clone(),
                name: p.name.clone(),
                premises_type: p.premises_type.as_str().to_string(),
                address: p.address.clone(),
                units,
                summary: GridSummary::of(grid_id, std::slice::from_ref(p), &inside),
            }
        })
        .collect();
    let known = |h: &&Household| h.premises_id.as_deref().is_some_and(|id| premises.iter().any(|p| p.id == id));
    Buildings {
        grid_id: grid_id.to_string(),
        summary: GridSummary::of(grid_id, premises, households),
        buildings,
        loose: households.iter().filter(|h| !known(h)).count() as i64,
    }
}

/// Which households a list shows.
#[derive(Debug, Clone, Default)]
pub struct HouseholdFilter {
    pub premises: Option<String>,
    pub unit: Option<String>,
    /// A name fragment, an address, a phone tail, a service number, or an archive number (the
    /// household's id or its beginning).
    pub query: Option<String>,
}

/// A household as a list shows it (masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HouseholdLine {
    pub id: String,
    pub grid_id: String,
    pub premises_id: Option<String>,
    pub building: String,
    pub unit: String,
    pub floor: Option<i64>,
    pub room: String,
    pub address: String,
    pub customer_name: String,
    pub mobile: String,
    pub tier: Option<String>,
}

/// One page of a list and how many there are in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    pub rows: Vec<T>,
}

impl<T> Page<T> {
    pub fn of(all: Vec<T>, offset: u32, limit: u32) -> Page<T> {
        let total = all.len();
        let limit = limit.clamp(1, MAX_PAGE) as usize;
        let offset = (offset as usize).min(total);
        let rows = all.into_iter().skip(offset).take(limit).collect();
        Page { total, offset, limit, rows }
    }
}

/// The households of one grid that pass `filter`, in door order (building by number, unit, floor,
/// room), masked.
pub fn households(
    premises: &[Premises],
    households: Vec<Household>,
    filter: &HouseholdFilter,
    offset: u32,
    limit: u32,
) -> Page<HouseholdLine> {
    let building = |id: Option<&str>| -> String {
        id.and_then(|id| premises.iter().find(|p| p.id == id)).map(|p| p.name.clone()).unwrap_or_default()
    };
    let mut rows: Vec<Household> = households
        .into_iter()
        .filter(|h| filter.premises.as_deref().is_none_or(|p| h.premises_id.as_deref() == Some(p)))
        .filter(|h| filter.unit.as_deref().is_none_or(|u| h.unit == u))
        .filter(|h| {
            filter.query.as_deref().map(str::trim).filter(|q| !q.is_empty()).is_none_or(|q| {
                household_matches(h, q) || h.id.eq_ignore_ascii_case(q) || (q.len() >= 6 && h.id.starts_with(q))
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        natural_cmp(&building(a.premises_id.as_deref()), &building(b.premises_id.as_deref()))
            .then_with(|| natural_cmp(&a.unit, &b.unit))
            .then_with(|| a.floor.cmp(&b.floor))
            .then_with(|| natural_cmp(&a.room, &b.room))
            .then_with(|| a.id.cmp(&b.id))
    });
    let lines = rows
        .into_iter()
        .map(|h| {
            let building = building(h.premises_id.as_deref());
            let h = mask_household(h);
            HouseholdLine {
                id: h.id,
                grid_id: h.grid_id,
                premises_id: h.premises_id,
                building,
                unit: h.unit,
                floor: h.floor,
                room: h.room,
                address: h.address,
                customer_name: h.customer_name,
                mobile: h.mobile,
                tier: h.tier.map(|t| t.as_str().to_string()),
            }
        })
        .collect();
    Page::of(lines, offset, limit)
}

/// One event of a household's history, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryLine {
    pub at_ms: i64,
    /// "visit", "notice", "receipt", "void", "ticket", "appointment", "reminder".
    pub kind: &'static str,
    pub id: String,
    /// Who: the manager's id.
    pub by: String,
    /// The code the page translates: a visit's purpose, a ticket's or appointment's status, a
    /// reminder's outcome; empty for the others.
    pub code: String,
    /// What, in a few words (masked where free text).
    pub text: String,
    pub amount_fen: Option<i64>,
    /// The photos a visit or a receipt names, each with where it stands (`photos::settle`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<PhotoRef>,
}

/// A household's page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HouseholdPage {
    pub household: Household,
    pub building: String,
    pub billing: Vec<BillingProfile>,
    pub accounts: Vec<ArrearsAccount>,
    pub history: Vec<HistoryLine>,
}

/// The household `id` of `grid_id`, or None; masked unless `reveal` (which the caller audits:
/// reveals.rs).
pub fn household_page(
    storage: &(impl RecordStorage + ?Sized),
    grid_id: &str,
    id: &str,
    reveal: bool,
) -> DomainResult<Option<HouseholdPage>> {
    let get = |kind| storage.grid_records(kind, grid_id);
    let all: Vec<Household> = live(get(EntityKind::Household)?);
    let Some(household) = all.into_iter().find(|h| h.id == id) else { return Ok(None) };
    let premises: Vec<Premises> = live(get(EntityKind::Premises)?);
    let building = household
        .premises_id
        .as_deref()
        .and_then(|p| premises.iter().find(|x| x.id == p))
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let mine = |h: &str| h == id;
    let billing: Vec<BillingProfile> = live::<BillingProfile>(get(EntityKind::BillingProfile)?)
        .into_iter()
        .filter(|b| mine(&b.household_id))
        .map(|mut b| {
            b.service_number = gridbook_core::mask::phone(&b.service_number);
            b
        })
        .collect();
    let accounts: Vec<ArrearsAccount> = live::<ArrearsAccount>(get(EntityKind::ArrearsAccount)?)
        .into_iter()
        .filter(|a| mine(&a.household_id))
        .map(|mut a| {
            a.service_number = gridbook_core::mask::phone(&a.service_number);
            a
        })
        .collect();
    let mut history = Vec::new();
    for (state, v) in facts::<Visit>(get(EntityKind::Visit)?).into_iter().filter(|(_, v)| mine(&v.household_id)) {
        let photos = unsettled(&v.photos, &recording_device(&state));
        let text = [v.outcome.clone(), v.follow_up.clone()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" · ");
        history.push(HistoryLine {
            at_ms: v.arrived_at_ms,
            kind: "visit",
            id: v.id,
            by: v.manager_id,
            code: v.purpose.as_str().to_string(),
            text: mask_digit_runs(&text),
            amount_fen: None,
            photos,
        });
    }
    for n in live::<ArrearsNotice>(get(EntityKind::ArrearsNotice)?).into_iter().filter(|n| mine(&n.household_id)) {
        history.push(HistoryLine {
            at_ms: n.given_at_ms,
            kind: "notice",
            id: n.id,
            by: n.manager_id,
            code: String::new(),
            text: mask_digit_runs(&n.outcome),
            amount_fen: None,
            photos: Vec::new(),
        });
    }
    let receipts: Vec<(EntityState, Receipt)> =
        facts::<Receipt>(get(EntityKind::Receipt)?).into_iter().filter(|(_, r)| mine(&r.household_id)).collect();
    for v in live::<ReceiptVoid>(get(EntityKind::ReceiptVoid)?) {
        if receipts.iter().any(|(_, r)| r.id == v.receipt_id) {
            history.push(HistoryLine {
                at_ms: v.voided_at_ms,
                kind: "void",
                id: v.id,
                by: v.voided_by,
                code: String::new(),
                text: mask_digit_runs(&v.reason),
                amount_fen: None,
                photos: Vec::new(),
            });
        }
    }
    for (state, r) in receipts {
        let device = if r.device_id.is_empty() { recording_device(&state) } else { r.device_id.clone() };
        history.push(HistoryLine {
            at_ms: r.collected_at_ms,
            kind: "receipt",
            id: r.id,
            by: r.collector_id,
            code: String::new(),
            text: r.receipt_no,
            amount_fen: Some(r.amount_fen),
            photos: unsettled(&r.photos, &device),
        });
    }
    for t in live::<Ticket>(get(EntityKind::Ticket)?).into_iter().filter(|t| mine(&t.household_id)) {
        history.push(HistoryLine {
            at_ms: t.taken_at_ms,
            kind: "ticket",
            id: t.id,
            by: t.owner_manager_id,
            code: t.status.as_str().to_string(),
            text: format!("{} · {}", t.promised_reply_by, mask_digit_runs(&t.text)),
            amount_fen: None,
            photos: Vec::new(),
        });
    }
    for a in live::<Appointment>(get(EntityKind::Appointment)?).into_iter().filter(|a| mine(&a.household_id)) {
        history.push(HistoryLine {
            at_ms: a.agreed_at_ms,
            kind: "appointment",
            id: a.id,
            by: a.manager_id,
            code: a.status.as_str().to_string(),
            text: mask_digit_runs(&a.note),
            amount_fen: None,
            photos: Vec::new(),
        });
    }
    for r in live::<ReminderOutcome>(get(EntityKind::ReminderOutcome)?).into_iter().filter(|r| mine(&r.household_id)) {
        history.push(HistoryLine {
            at_ms: r.closed_at_ms,
            kind: "reminder",
            id: r.id,
            by: r.manager_id,
            code: r.outcome.as_str().to_string(),
            text: format!("{} {}", r.kind.as_str(), mask_digit_runs(&r.note)),
            amount_fen: None,
            photos: Vec::new(),
        });
    }
    history.sort_by(|a, b| b.at_ms.cmp(&a.at_ms).then_with(|| a.id.cmp(&b.id)));
    let household = if reveal { household } else { mask_household(household) };
    Ok(Some(HouseholdPage { household, building, billing, accounts, history }))
}

/// The live premises and households of a grid.
pub fn grid_archive(
    storage: &(impl RecordStorage + ?Sized),
    grid_id: &str,
) -> DomainResult<(Vec<Premises>, Vec<Household>)> {
    Ok((
        live(storage.grid_records(EntityKind::Premises, grid_id)?),
        live(storage.grid_records(EntityKind::Household, grid_id)?),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridbook_core::testing;

    fn building(n: u64) -> Premises {
        let mut p = testing::premises("g1", n);
        p.id = format!("p{n}");
        p.name = format!("{n}号楼");
        p
    }

    #[test]
    fn buildings_come_by_number_and_households_in_door_order_one_page_at_a_time() {
        let premises: Vec<Premises> = [10, 2, 1].into_iter().map(building).collect();
        let mut homes = Vec::new();
        for (i, (p, unit, room)) in
            [("p10", "1", "101"), ("p2", "2", "201"), ("p2", "1", "1001"), ("p2", "1", "201"), ("p1", "1", "101")]
                .into_iter()
                .enumerate()
        {
            let mut h = testing::household_n("g1", i as u64 + 1);
            h.id = format!("h{i}");
            h.premises_id = Some(p.into());
            h.unit = unit.into();
            h.room = room.into();
            h.floor = None;
            homes.push(h);
        }
        let b = buildings("g1", &premises, &homes);
        let names: Vec<&str> = b.buildings.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["1号楼", "2号楼", "10号楼"]);
        let units: Vec<(&str, i64)> = b.buildings[1].units.iter().map(|u| (u.unit.as_str(), u.households)).collect();
        assert_eq!(units, [("1", 2), ("2", 1)]);
        assert_eq!((b.summary.households, b.loose), (5, 0));

        let all = households(&premises, homes.clone(), &HouseholdFilter::default(), 0, 2);
        assert_eq!((all.total, all.rows.len()), (5, 2));
        let order: Vec<&str> = all.rows.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(order, ["h4", "h3"], "1号楼 first, then 2号楼 unit 1 room 201 before 1001");
        let rest = households(&premises, homes.clone(), &HouseholdFilter::default(), 4, 2);
        assert_eq!((rest.total, rest.rows.len(), rest.rows[0].id.as_str()), (5, 1, "h0"));
        let unit = HouseholdFilter { premises: Some("p2".into()), unit: Some("1".into()), query: None };
        assert_eq!(households(&premises, homes.clone(), &unit, 0, 50).total, 2);

        // search: a phone tail, an archive number; names come out masked
        let tail = homes[1].mobile[7..].to_string();
        let found =
            households(&premises, homes.clone(), &HouseholdFilter { query: Some(tail), ..Default::default() }, 0, 50);
        assert!(found.rows.iter().any(|h| h.id == "h1"), "{found:?}");
        let by_id = HouseholdFilter { query: Some("h3".into()), ..Default::default() };
        assert_eq!(households(&premises, homes.clone(), &by_id, 0, 50).rows[0].id, "h3");
        assert!(found.rows.iter().all(|h| h.customer_name.ends_with('*') && h.mobile.contains('*')));
    }
}
