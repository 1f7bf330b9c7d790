//! The server's check of where each visit was (issue 20): every visit not checked yet is judged
//! against its household's reference position — or, while the household has none, its
//! premises' (楼宇 / 商铺) — with core's rule (`location::check`: haversine, far beyond
//! max(accuracy, the server's distance), mock location, no fix), in the order visits reached the
//! server. A good fix (`LocationFix::good_for_reference`) that is not far becomes the reference
//! of the household and of its premises where they have none. The checks and the references are
//! stored in one transaction per batch, so a check is computed once and the back office lists
//! what is stored.

use std::collections::HashMap;

use gridbook_core::location::{self, Point, Position};
use gridbook_core::model::Visit;

use crate::storage::error::StorageResult;
use crate::storage::locations::{LocationStorage, ReferenceRow, VisitCheckRow};

/// Visits checked per transaction.
const BATCH: u32 = 500;

/// Checks every visit not checked yet; answers how many were checked.
pub fn catch_up(storage: &dyn LocationStorage, max_distance_m: i64, now_ms: i64) -> StorageResult<usize> {
    let mut done = 0;
    loop {
        let pending = storage.unchecked_visits(BATCH)?;
        if pending.is_empty() {
            return Ok(done);
        }
        let visits: Vec<(String, String, Option<Visit>)> =
            pending.into_iter().map(|p| (p.id.clone(), p.grid_id, parse(&p.id, &p.vals))).collect();
        let mut households: Vec<String> =
            visits.iter().filter_map(|(_, _, v)| v.as_ref().map(|v| v.household_id.clone())).collect();
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
        let mut checks = Vec::with_capacity(visits.len());
        for (id, grid_id, visit) in &visits {
            checks.push(match visit {
                Some(v) => {
                    let at = Places { household: &v.household_id, premises: premises.get(&v.household_id) };
                    check_one(v, at, &mut references, &mut new_references, max_distance_m, now_ms)
                }
                // a visit the server accepted always parses; should one not, it is kept unjudged
                // rather than checked again on every call
                None => unjudged(id, grid_id, now_ms),
            });
        }
        storage.record_checks(&checks, &new_references)?;
        done += checks.len();
        if checks.len() < BATCH as usize {
            return Ok(done);
        }
    }
}

fn parse(id: &str, vals: &str) -> Option<Visit> {
    let mut value: serde_json::Value = serde_json::from_str(vals).ok()?;
    value.as_object_mut()?.insert("id".into(), id.into());
    serde_json::from_value(value).ok()
}

fn unjudged(id: &str, grid_id: &str, now_ms: i64) -> VisitCheckRow {
    VisitCheckRow {
        visit_id: id.to_string(),
        grid_id: grid_id.to_string(),
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

/// The household a visit was to, and its premises when it is in one.
#[derive(Clone, Copy)]
struct Places<'a> {
    household: &'a str,
    premises: Option<&'a String>,
}

fn check_one(
    v: &Visit,
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
    if let Some(f) = fix.filter(|f| f.good_for_reference() && !judged.far) {
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
        grid_id: v.grid_id.clone(),
        household_id: v.household_id.clone(),
        manager_id: v.manager_id.clone(),
        arrived_at_ms: v.arrived_at_ms,
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

    fn visit(id: &str, household: &str, location: Option<Position>) -> Visit {
        let mut v = gridbook_core::testing::visit("g1", household);
        v.id = id.into();
        v.location = location;
        v
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
    fn stored_visits_parse_with_their_id_and_garbage_does_not() {
        let v = visit("", "h1", fix(28_228_000, 10, false));
        let vals = serde_json::to_string(&v).unwrap();
        let back = parse("v9", &vals).unwrap();
        assert_eq!(back.id, "v9");
        assert_eq!(back.location, v.location);
        assert!(parse("v9", "[1]").is_none());
        assert!(parse("v9", "{\"grid_id\":1}").is_none());
    }
}
