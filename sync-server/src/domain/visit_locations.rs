//! The server's check of where each fact was (issue 20): every visit, appointment arrival, receipt
//! and sign-in not checked yet is judged against its household's reference position — or, while
//! the household has none, its premises' (楼宇 / 商铺) — with core's rule (`location::check`:
//! haversine, far beyond max(accuracy, the server's distance), mock location, no fix), one rule
//! for every kind, in the order facts reached the server. A sign-in has no household, so only its
//! mock and no-fix flags count. A visit's good fix (`LocationFix::good_for_reference`) that is not
//! far becomes the reference of the household and of its premises where they have none; a
//! receipt's or a sign-in's never does, since money may be taken, and a day begun, away from the
//! door — which is what their flag is for. The checks and the references are stored in one
//! transaction per batch, so a check is computed once and the back office lists what is stored.

use std::collections::HashMap;

use gridbook_core::location::{self, Point, Position};
use gridbook_core::model::{Receipt, SignIn, Visit};
use serde::de::DeserializeOwned;

use crate::storage::error::StorageResult;
use crate::storage::locations::{LocatedKind, LocationStorage, ReferenceRow, UncheckedFact, VisitCheckRow};

/// Facts checked per transaction.
const BATCH: u32 = 500;

/// What the check needs of a fact that carries a position, whatever its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Located {
    id: String,
    kind: LocatedKind,
    grid_id: String,
    /// Empty for a sign-in.
    household_id: String,
    manager_id: String,
    at_ms: i64,
    zone_offset_min: i64,
    location: Option<Position>,
}

impl Located {
    /// Only a visit's fix (an appointment arrival is a visit) may become a reference.
    fn sets_reference(&self) -> bool {
        matches!(self.kind, LocatedKind::Visit | LocatedKind::AppointmentArrival)
    }
}

/// Checks every fact not checked yet; answers how many were checked.
pub fn catch_up(storage: &dyn LocationStorage, max_distance_m: i64, now_ms: i64) -> StorageResult<usize> {
    let mut done = 0;
    loop {
        let pending = storage.unchecked_facts(BATCH)?;
        if pending.is_empty() {
            return Ok(done);
        }
        let facts: Vec<(&UncheckedFact, Option<Located>)> = pending.iter().map(|p| (p, parse(p))).collect();
        let mut households: Vec<String> = facts
            .iter()
            .filter_map(|(_, f)| f.as_ref().map(|f| f.household_id.clone()))
            .filter(|h| !h.is_empty())
            .collect();
        households.sort();
        households.dedup();
        let premises: HashMap<String, String> = storage.premises_of(&households)?.into_iter().collect();
        let mut places: Vec<String> = households.iter().chain(premises.values()).cloned().collect();
        places.sort();
        places.dedup();
        let mut references: HashMap<String, Point> = storage
            .references(&places)?
            .into_iter()
            .map(|r| (r.place_id, Point { lat_e6: r.lat_e6, lon_e6: r.lon_e6 }))
            .collect();
        let mut new_references = Vec::new();
        let mut checks = Vec::with_capacity(facts.len());
        for (stored, fact) in &facts {
            checks.push(match fact {
                Some(f) => {
                    let at = Places { household: &f.household_id, premises: premises.get(&f.household_id) };
                    check_one(f, at, &mut references, &mut new_references, max_distance_m, now_ms)
                }
                // a fact the server accepted always parses; should one not, it is kept unjudged
                // rather than checked again on every call
                None => unjudged(stored, now_ms),
            });
        }
        storage.record_checks(&checks, &new_references)?;
        done += checks.len();
        if checks.len() < BATCH as usize {
            return Ok(done);
        }
    }
}

fn record<R: DeserializeOwned>(id: &str, vals: &str) -> Option<R> {
    let mut value: serde_json::Value = serde_json::from_str(vals).ok()?;
    value.as_object_mut()?.insert("id".into(), id.into());
    serde_json::from_value(value).ok()
}

/// A stored fact as the check sees it; None when its fields do not parse as its kind.
fn parse(fact: &UncheckedFact) -> Option<Located> {
    let (id, vals) = (fact.id.as_str(), fact.vals.as_str());
    Some(match fact.kind.as_str() {
        "visit" => {
            let v: Visit = record(id, vals)?;
            Located {
                kind: LocatedKind::of("visit", v.appointment_at_ms),
                id: v.id,
                grid_id: v.grid_id,
                household_id: v.household_id,
                manager_id: v.manager_id,
                at_ms: v.arrived_at_ms,
                zone_offset_min: v.zone_offset_min,
                location: v.location,
            }
        }
        "receipt" => {
            let r: Receipt = record(id, vals)?;
            Located {
                kind: LocatedKind::Receipt,
                id: r.id,
                grid_id: r.grid_id,
                household_id: r.household_id,
                manager_id: r.collector_id,
                at_ms: r.collected_at_ms,
                zone_offset_min: r.zone_offset_min,
                location: r.location,
            }
        }
        "sign_in" => {
            let s: SignIn = record(id, vals)?;
            Located {
                kind: LocatedKind::SignIn,
                id: s.id,
                grid_id: s.grid_id,
                household_id: String::new(),
                manager_id: s.manager_id,
                at_ms: s.at_ms,
                zone_offset_min: s.zone_offset_min,
                location: s.location,
            }
        }
        _ => return None,
    })
}

fn unjudged(fact: &UncheckedFact, now_ms: i64) -> VisitCheckRow {
    VisitCheckRow {
        visit_id: fact.id.clone(),
        kind: LocatedKind::of(&fact.kind, None),
        grid_id: fact.grid_id.clone(),
        household_id: String::new(),
        manager_id: String::new(),
        arrived_at_ms: 0,
        zone_offset_min: 0,
        lat_e6: None,
        lon_e6: None,
        accuracy_m: None,
        distance_m: None,
        far: false,
        mock: false,
        no_fix: false,
        unknown: true,
        checked_at_ms: now_ms,
    }
}

/// The household a fact was at, and its premises when it is in one (none for a sign-in).
#[derive(Clone, Copy)]
struct Places<'a> {
    household: &'a str,
    premises: Option<&'a String>,
}

fn check_one(
    v: &Located,
    at: Places,
    references: &mut HashMap<String, Point>,
    new_references: &mut Vec<ReferenceRow>,
    max_distance_m: i64,
    now_ms: i64,
) -> VisitCheckRow {
    let fix = v.location.as_ref().and_then(Position::fix);
    let reference = |references: &HashMap<String, Point>| {
        references.get(at.household).or_else(|| at.premises.and_then(|p| references.get(p))).copied()
    };
    let mut judged = location::check(v.location.as_ref(), reference(references), max_distance_m);
    let sets_reference = v.sets_reference() && !at.household.is_empty();
    if let Some(f) = fix.filter(|f| sets_reference && f.good_for_reference() && !judged.far) {
        for place in std::iter::once(at.household).chain(at.premises.map(String::as_str)) {
            if !references.contains_key(place) {
                references.insert(place.to_string(), f.point());
                new_references.push(ReferenceRow {
                    place_id: place.to_string(),
                    lat_e6: f.lat_e6,
                    lon_e6: f.lon_e6,
                    source: "first_fix".into(),
                    visit_id: Some(v.id.clone()),
                    set_by: v.manager_id.clone(),
                    set_at_ms: now_ms,
                });
            }
        }
        // the first fix at a place is its own reference: judged again, it is 0 m away
        judged = location::check(v.location.as_ref(), reference(references), max_distance_m);
    }
    VisitCheckRow {
        visit_id: v.id.clone(),
        kind: v.kind,
        grid_id: v.grid_id.clone(),
        household_id: v.household_id.clone(),
        manager_id: v.manager_id.clone(),
        arrived_at_ms: v.at_ms,
        zone_offset_min: v.zone_offset_min,
        lat_e6: fix.map(|f| f.lat_e6),
        lon_e6: fix.map(|f| f.lon_e6),
        accuracy_m: fix.map(|f| f.accuracy_m),
        distance_m: judged.distance_m,
        far: judged.far,
        mock: judged.mock,
        no_fix: judged.no_fix,
        unknown: v.location.is_none(),
        checked_at_ms: now_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridbook_core::location::{LocationFix, LocationProvider};

    /// A fact as the server stores it (its fields without the id), read back by `parse`.
    fn stored(kind: &str, id: &str, record: &impl serde::Serialize) -> UncheckedFact {
        let vals = serde_json::to_string(record).unwrap();
        UncheckedFact { kind: kind.into(), id: id.into(), grid_id: "g1".into(), vals }
    }

    fn visit(id: &str, household: &str, location: Option<Position>) -> Located {
        let mut v = gridbook_core::testing::visit("g1", household);
        (v.id, v.location, v.appointment_at_ms) = (String::new(), location, None);
        parse(&stored("visit", id, &v)).unwrap()
    }

    fn receipt(id: &str, household: &str, location: Option<Position>) -> Located {
        let mut r = gridbook_core::testing::receipt("g1", "acc1", household, "R-0001");
        (r.location, r.collector_id) = (location, "zhang".into());
        parse(&stored("receipt", id, &r)).unwrap()
    }

    fn fix(lat_e6: i64, accuracy_m: i64, mock: bool) -> Option<Position> {
        Some(Position::Fix(LocationFix {
            lat_e6,
            lon_e6: 112_938_000,
            accuracy_m,
            age_ms: 1_000,
            provider: LocationProvider::Gps,
            mock,
        }))
    }

    #[test]
    fn the_first_good_fix_sets_the_reference_and_later_visits_are_judged_against_it() {
        let (mut refs, mut new_refs) = (HashMap::new(), Vec::new());
        // a vague first fix (300 m) does not set the reference
        let vague =
            check_one(&visit("v0", "h1", fix(28_240_000, 300, false)), at("h1"), &mut refs, &mut new_refs, 200, 1);
        assert!(!vague.flagged() && vague.distance_m.is_none() && new_refs.is_empty());
        let first =
            check_one(&visit("v1", "h1", fix(28_228_000, 10, false)), at("h1"), &mut refs, &mut new_refs, 200, 1);
        assert_eq!((first.distance_m, first.flagged()), (Some(0), false));
        assert_eq!(new_refs.len(), 1);
        assert_eq!(new_refs[0].visit_id.as_deref(), Some("v1"));
        let far = check_one(&visit("v2", "h1", fix(28_231_000, 10, false)), at("h1"), &mut refs, &mut new_refs, 200, 1);
        assert_eq!((far.distance_m, far.far), (Some(334), true));
        // a mocked fix never becomes a reference, and is flagged
        let mocked =
            check_one(&visit("v3", "h2", fix(28_228_000, 5, true)), at("h2"), &mut refs, &mut new_refs, 200, 1);
        assert!(mocked.mock && mocked.flagged() && mocked.distance_m.is_none());
        assert_eq!(new_refs.len(), 1);
        let none = check_one(&visit("v4", "h1", Some(Position::no_fix())), at("h1"), &mut refs, &mut new_refs, 200, 1);
        assert!(none.no_fix && none.flagged() && !none.unknown);
        let old_app = check_one(&visit("v5", "h1", None), at("h1"), &mut refs, &mut new_refs, 200, 1);
        assert!(old_app.unknown && !old_app.flagged());
    }

    fn at(household: &str) -> Places<'_> {
        Places { household, premises: None }
    }

    #[test]
    fn a_household_without_a_reference_is_judged_against_its_premises() {
        let (mut refs, mut new_refs) = (HashMap::new(), Vec::new());
        let building = "p1".to_string();
        let in_building = |household| Places { household, premises: Some(&building) };
        // the first good fix in the building sets the household's and the building's reference
        let v1 = visit("v1", "h3", fix(28_228_000, 10, false));
        let first = check_one(&v1, in_building("h3"), &mut refs, &mut new_refs, 200, 1);
        assert!(!first.flagged());
        let places: Vec<&str> = new_refs.iter().map(|r| r.place_id.as_str()).collect();
        assert_eq!(places, ["h3", "p1"]);
        // a neighbour never visited before, claimed from 334 m away: far from the building
        let v2 = visit("v2", "h4", fix(28_231_000, 10, false));
        let far = check_one(&v2, in_building("h4"), &mut refs, &mut new_refs, 200, 1);
        assert_eq!((far.distance_m, far.far), (Some(334), true));
        assert_eq!(new_refs.len(), 2, "a far fix becomes no reference");
        // at the building's door (56 m from where the first fix was): the neighbour's own reference
        let v3 = visit("v3", "h4", fix(28_228_500, 10, false));
        let near = check_one(&v3, in_building("h4"), &mut refs, &mut new_refs, 200, 1);
        assert_eq!((near.distance_m, near.flagged()), (Some(0), false));
        assert_eq!(new_refs.last().map(|r| r.place_id.as_str()), Some("h4"));
    }

    #[test]
    fn receipts_and_sign_ins_are_judged_by_the_same_rule_but_set_no_reference() {
        let (mut refs, mut new_refs) = (HashMap::new(), Vec::new());
        // a receipt with a good fix before any visit: no reference to judge it by, and none made
        let first = receipt("r0", "h1", fix(28_228_000, 10, false));
        let unjudged = check_one(&first, at("h1"), &mut refs, &mut new_refs, 200, 1);
        assert!(!unjudged.flagged() && unjudged.distance_m.is_none() && new_refs.is_empty());
        assert_eq!(unjudged.kind, LocatedKind::Receipt);
        assert_eq!(unjudged.manager_id, "zhang", "a receipt's manager is its collector");
        check_one(&visit("v1", "h1", fix(28_228_000, 10, false)), at("h1"), &mut refs, &mut new_refs, 200, 1);
        // money taken 334 m from the door: far, as a visit would be
        let far =
            check_one(&receipt("r1", "h1", fix(28_231_000, 10, false)), at("h1"), &mut refs, &mut new_refs, 200, 1);
        assert_eq!((far.kind, far.distance_m, far.far), (LocatedKind::Receipt, Some(334), true));
        let no_fix =
            check_one(&receipt("r2", "h1", Some(Position::no_fix())), at("h1"), &mut refs, &mut new_refs, 200, 1);
        assert!(no_fix.no_fix && no_fix.flagged());
        // a sign-in has no household: mocked is flagged, distance is never known
        let mut s = gridbook_core::testing::sign_in("g1", "zhang", 1_700_000_000_000);
        s.location = fix(28_231_000, 5, true);
        let signed = parse(&stored("sign_in", "s1", &s)).unwrap();
        let at_nowhere = Places { household: &signed.household_id, premises: None };
        let judged = check_one(&signed, at_nowhere, &mut refs, &mut new_refs, 200, 1);
        assert_eq!((judged.kind, judged.mock, judged.far, judged.distance_m), (LocatedKind::SignIn, true, false, None));
        assert_eq!(judged.arrived_at_ms, 1_700_000_000_000);
        assert_eq!(new_refs.len(), 1, "only the visit's fix became a reference");
    }

    #[test]
    fn an_appointment_arrival_is_a_visit_of_its_own_kind() {
        let mut v = gridbook_core::testing::visit("g1", "h1");
        v.appointment_at_ms = Some(1_700_000_000_000);
        assert_eq!(parse(&stored("visit", "v1", &v)).unwrap().kind, LocatedKind::AppointmentArrival);
        assert_eq!(LocatedKind::of("visit", None), LocatedKind::Visit);
    }

    #[test]
    fn stored_facts_parse_with_their_id_and_garbage_does_not() {
        let v = visit("v9", "h1", fix(28_228_000, 10, false));
        assert_eq!(v.id, "v9");
        assert_eq!(v.location, fix(28_228_000, 10, false));
        let garbage = |kind: &str, vals: &str| UncheckedFact {
            kind: kind.into(),
            id: "v9".into(),
            grid_id: "g1".into(),
            vals: vals.into(),
        };
        assert!(parse(&garbage("visit", "[1]")).is_none());
        assert!(parse(&garbage("visit", "{\"grid_id\":1}")).is_none());
        assert!(parse(&garbage("receipt", "{}")).is_none());
        assert!(parse(&garbage("household", "{}")).is_none());
    }
}
