//! The archive: premises (楼宇/平房/商铺) and household archives (客户档案) — their writes, and the
//! queries a manager runs in a stairwell: a building's households in door order, search by name,
//! phone, address or service number, and the duplicate check before a new archive.

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use crate::error::{invalid, Error, Result};
use crate::mask;
use crate::model::{EntityKind, Household, Premises};
use crate::store::entity_table::{self, fields_of};
use crate::store::search_index;
use crate::store::{new_id, record_change, Store};
use crate::sync::wire::OpAction;
use crate::validate;

/// Whether a household answers a search the way the phone's search (`search_households`) decides:
/// the query's search key (NFKC, lower case: full-width digits find plain ones) within the search
/// key of the name, a phone number, the address or a service number. The back office's search
/// uses this, so both find the same households.
pub fn household_matches(h: &Household, query: &str) -> bool {
    let q = search_index::search_key(query.trim());
    let q = q.trim();
    if q.is_empty() {
        return false;
    }
    let holds = |text: &str| search_index::search_key(text).contains(q);
    holds(&h.customer_name)
        || holds(&h.mobile)
        || holds(&h.landline)
        || holds(&h.address)
        || h.services.iter().any(|s| holds(&s.service_number))
}

/// Why an existing household may be the one being created again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum DuplicateReason {
    /// Same door: premises, unit and room (or the same full address).
    SameAddress,
    /// Same ID document number.
    SameIdNumber,
    /// Same mobile or landline number.
    SamePhone,
}

/// An archive that may be the one being created again, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PossibleDuplicate {
    /// The existing archive, masked.
    pub household: Household,
    /// What it has in common with the new one.
    pub reasons: Vec<DuplicateReason>,
}

/// Whether personal data comes back in full. Full is for roles that need it, and is logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reveal {
    Masked,
    Full { purpose: String },
}

pub(crate) fn masked(mut h: Household) -> Household {
    h.id_number = mask::id_number(&h.id_number);
    h.mobile = mask::phone(&h.mobile);
    h.landline = mask::phone(&h.landline);
    h
}

/// The trail of who saw personal data in full, and why (docs/field.md, job 8, 保密).
fn log_access(conn: &Connection, household_id: &str, purpose: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO access_log (at_ms, household_id, purpose) VALUES (?1, ?2, ?3)",
        params![chrono::Utc::now().timestamp_millis(), household_id, purpose],
    )?;
    Ok(())
}

/// Null, "" and [] all mean "nothing recorded": moving between them is no change worth syncing.
fn same_value(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    let blank = |v: &serde_json::Value| match v {
        serde_json::Value::Null => true,
        serde_json::Value::String(s) => s.is_empty(),
        serde_json::Value::Array(a) => a.is_empty(),
        _ => false,
    };
    a == b || (blank(a) && blank(b))
}

/// An edit form filled from a masked archive sends the masked value back: that means "unchanged",
/// never "overwrite the real number with stars".
fn is_masked_echo(field: &str, sent: &serde_json::Value, stored: &serde_json::Value) -> bool {
    let (Some(sent), Some(stored)) = (sent.as_str(), stored.as_str()) else { return false };
    match field {
        "id_number" => sent == mask::id_number(stored),
        "mobile" | "landline" => sent == mask::phone(stored),
        _ => false,
    }
}

impl Store {
    pub fn create_premises(&self, mut p: Premises) -> Result<Premises> {
        validate::premises(&p)?;
        if p.id.is_empty() {
            p.id = new_id();
        }
        let fields = fields_of(&p)?;
        self.write(|tx, clock| {
            record_change(tx, clock, EntityKind::Premises, &p.id, &p.grid_id, OpAction::Create, fields)
        })?;
        Ok(p)
    }

    pub fn premises_in_grid(&self, grid_id: &str) -> Result<Vec<Premises>> {
        self.read(|c| {
            entity_table::query(c, "grid_id = ?1 AND coalesce(deleted, 0) = 0 ORDER BY premises_type, name", [grid_id])
        })
    }

    /// Creates an archive. Run `possible_duplicates` first and show the result: duplicates are the
    /// top data-quality complaint of field apps (docs/field.md, field work 3).
    pub fn create_household(&self, mut h: Household) -> Result<Household> {
        if let Some(canonical) = validate::canonical_id_number(h.id_type, &h.id_number) {
            h.id_number = canonical;
        }
        validate::household(&h)?;
        if h.id.is_empty() {
            h.id = new_id();
        }
        let fields = fields_of(&h)?;
        self.write(|tx, clock| {
            super::field_references_hold(tx, EntityKind::Household, &h.grid_id, &fields)?;
            record_change(tx, clock, EntityKind::Household, &h.id, &h.grid_id, OpAction::Create, fields)
        })?;
        Ok(h)
    }

    /// Saves an edited archive; only the fields that changed are recorded (and synced).
    pub fn update_household(&self, edited: Household) -> Result<Household> {
        self.write(|tx, clock| {
            let current = entity_table::load(tx, EntityKind::Household, &edited.id)?
                .filter(|s| !s.deleted())
                .ok_or_else(|| Error::NotFound { kind: "household", id: edited.id.clone() })?;
            let mut wanted = fields_of(&edited)?;
            for (field, sent) in wanted.iter_mut() {
                if is_masked_echo(field, sent, current.value(field)) {
                    *sent = current.value(field).clone();
                }
            }
            // after the echo check: a masked echo is compared with the stored text as it is
            let id_type = wanted.get("id_type").and_then(|t| t.as_str()).and_then(crate::model::IdType::parse);
            let number = wanted.get("id_number").and_then(|n| n.as_str()).unwrap_or_default();
            if let Some(canonical) = validate::canonical_id_number(id_type, number) {
                wanted.insert("id_number".into(), canonical.into());
            }
            let effective: Household = serde_json::from_value(serde_json::Value::Object({
                let mut m = wanted.clone();
                m.insert("id".into(), edited.id.clone().into());
                m
            }))?;
            validate::household(&effective)?;
            let changed: serde_json::Map<_, _> = wanted
                .iter()
                .filter(|(k, v)| !same_value(current.value(k), v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if changed.contains_key("premises_id") || changed.contains_key("grid_id") {
                // a household moved to another building or grid: the building is in its grid
                super::field_references_hold(tx, EntityKind::Household, &effective.grid_id, &wanted)?;
            }
            if !changed.is_empty() {
                let grid = current.value("grid_id").as_str().unwrap_or(&effective.grid_id).to_string();
                record_change(tx, clock, EntityKind::Household, &effective.id, &grid, OpAction::Update, changed)?;
            }
            Ok(masked(effective))
        })
    }

    /// Deletes an archive: a tombstone that syncs like any other change.
    pub fn delete_household(&self, id: &str) -> Result<()> {
        self.write(|tx, clock| {
            let current = entity_table::load(tx, EntityKind::Household, id)?
                .filter(|s| !s.deleted())
                .ok_or_else(|| Error::NotFound { kind: "household", id: id.to_string() })?;
            let grid = current.value("grid_id").as_str().unwrap_or_default().to_string();
            let mut fields = serde_json::Map::new();
            fields.insert("deleted".into(), true.into());
            record_change(tx, clock, EntityKind::Household, id, &grid, OpAction::Update, fields)?;
            Ok(())
        })
    }

    /// One archive. `Reveal::Full` shows ID and phone numbers and leaves a trail of the access.
    pub fn household(&self, id: &str, reveal: Reveal) -> Result<Household> {
        self.read(|c| {
            let state = entity_table::load(c, EntityKind::Household, id)?
                .filter(|s| !s.deleted())
                .ok_or_else(|| Error::NotFound { kind: "household", id: id.to_string() })?;
            let h: Household = entity_table::record_of(&state)?;
            match reveal {
                Reveal::Masked => Ok(masked(h)),
                Reveal::Full { purpose } => {
                    if purpose.trim().is_empty() {
                        return invalid("purpose", "say why the full personal data is needed");
                    }
                    log_access(c, id, &purpose)?;
                    Ok(h)
                }
            }
        })
    }

    /// The households of one building in door order: unit, floor, room (masked).
    pub fn households_in_premises(&self, premises_id: &str) -> Result<Vec<Household>> {
        let rows: Vec<Household> = self.read(|c| {
            entity_table::query(
                c,
                "premises_id = ?1 AND coalesce(deleted, 0) = 0 ORDER BY unit, floor, room",
                [premises_id],
            )
        })?;
        Ok(rows.into_iter().map(masked).collect())
    }

    /// Search by name, phone, address or service number; Chinese text included (masked results).
    /// Three characters or more narrow the candidates with the trigram index first; shorter
    /// queries (a two-character name such as 张伟) scan the grid's households, which the grid index
    /// keeps small. Either way the household's own columns decide (search_index::TEXT_HOLDS).
    /// Full-width and half-width forms, and upper and lower case, find each other (search keys).
    pub fn search_households(&self, grid_id: &str, query: &str, limit: u32) -> Result<Vec<Household>> {
        // the query in the form the index holds: full-width digits and letters as plain ones, lower case
        let key = search_index::search_key(query.trim());
        let q = key.trim();
        if q.is_empty() {
            return invalid("query", "must not be empty");
        }
        let like = format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let terms = search_index::match_expression(q);
        let rows: Vec<Household> = self.read(|c| {
            let candidates = if terms.is_some() {
                "rowid IN (SELECT rowid FROM household_search WHERE household_search MATCH ?4) AND"
            } else {
                ""
            };
            let sql = format!(
                "{candidates} grid_id = ?1 AND coalesce(deleted, 0) = 0 AND {} ORDER BY customer_name LIMIT ?3",
                search_index::TEXT_HOLDS
            );
            match &terms {
                Some(terms) => entity_table::query(c, &sql, params![grid_id, like, limit, terms]),
                None => entity_table::query(c, &sql, params![grid_id, like, limit]),
            }
        })?;
        Ok(rows.into_iter().map(masked).collect())
    }

    /// Archives that may be the same household as `candidate`: the same door (premises, unit,
    /// room), the same ID number, or the same phone number. Masked.
    pub fn possible_duplicates(&self, candidate: &Household) -> Result<Vec<PossibleDuplicate>> {
        let mut found: Vec<PossibleDuplicate> = Vec::new();
        let mut add = |rows: Vec<Household>, reason: DuplicateReason| {
            for h in rows.into_iter().filter(|h| h.id != candidate.id) {
                match found.iter_mut().find(|d| d.household.id == h.id) {
                    Some(d) => d.reasons.push(reason),
                    None => found.push(PossibleDuplicate { household: masked(h), reasons: vec![reason] }),
                }
            }
        };
        const LIVE: &str = "coalesce(deleted, 0) = 0";
        self.read(|c| {
            if let Some(p) = candidate.premises_id.as_deref().filter(|_| !candidate.room.is_empty()) {
                let sql = format!("premises_id = ?1 AND unit = ?2 AND room = ?3 AND {LIVE}");
                add(
                    entity_table::query(c, &sql, params![p, candidate.unit, candidate.room])?,
                    DuplicateReason::SameAddress,
                );
            } else if !candidate.address.trim().is_empty() {
                let sql = format!("grid_id = ?1 AND address = ?2 AND {LIVE}");
                add(
                    entity_table::query(c, &sql, params![candidate.grid_id, candidate.address.trim()])?,
                    DuplicateReason::SameAddress,
                );
            }
            if !candidate.id_number.is_empty() {
                let sql = format!("id_number = ?1 AND {LIVE}");
                add(
                    entity_table::query(c, &sql, [candidate.id_number.to_ascii_uppercase()])?,
                    DuplicateReason::SameIdNumber,
                );
            }
            for phone in [&candidate.mobile, &candidate.landline].into_iter().filter(|p| !p.is_empty()) {
                let sql = format!("(mobile = ?1 OR landline = ?1) AND {LIVE}");
                add(entity_table::query(c, &sql, [phone])?, DuplicateReason::SamePhone);
            }
            Ok(())
        })?;
        for d in &mut found {
            d.reasons.dedup();
        }
        Ok(found)
    }
}

#[cfg(test)]
mod matches_tests {
    use super::household_matches;
    use crate::testing;

    #[test]
    fn the_back_offices_search_follows_the_phones_rules() {
        let h = testing::household_n("g1", 5_678);
        let name: String = h.customer_name.chars().skip(1).collect();
        assert!(household_matches(&h, &name), "a name fragment");
        assert!(household_matches(&h, "5678"), "a phone tail");
        assert!(household_matches(&h, "５６７８"), "full-width digits find plain ones");
        assert!(household_matches(&h, "0731-00005678"), "a service number");
        assert!(!household_matches(&h, "9999999"));
        assert!(!household_matches(&h, "  "), "an empty query finds nothing");
    }
}
