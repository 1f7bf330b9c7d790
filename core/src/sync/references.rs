//! References between records (issue 21, defect 7): every field of `model.rs` that names another
//! record, and the rule both sides apply when a record is made — the phone when it records it
//! (field/), the server when it is pushed (sync-server's domain/references.rs): the record named
//! exists, and it is in the grid the new record is in. A visit in grid A naming a household of
//! grid B is refused. Pulled records are never refused for their references: the server decided.
//!
//! `scope.rs` lists what belongs together (a subset: the parents); this file lists every reference.

use std::fmt;

use crate::error::ValidationError;
use crate::model::EntityKind;

/// A field that names another record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference {
    pub field: &'static str,
    /// The kinds the field may name (a signature names a receipt or a visit, by `document_kind`).
    pub kinds: &'static [EntityKind],
    /// False when the record named is made after this one: a customer's signature is recorded and
    /// pushed before the receipt or visit it signs, so only its grid is checked when that is
    /// there; the document itself names its signature, and the server binds the two.
    pub made_before: bool,
}

const fn named(field: &'static str, kinds: &'static [EntityKind]) -> Reference {
    Reference { field, kinds, made_before: true }
}

const HOUSEHOLD: &[EntityKind] = &[EntityKind::Household];
const ACCOUNT: &[EntityKind] = &[EntityKind::ArrearsAccount];
const SIGNATURE: &[EntityKind] = &[EntityKind::Signature];

const OF_HOUSEHOLD: &[Reference] = &[named("household_id", HOUSEHOLD)];
const OF_NOTICE: &[Reference] = &[named("account_id", ACCOUNT), named("household_id", HOUSEHOLD)];
const OF_VISIT: &[Reference] = &[named("household_id", HOUSEHOLD), named("signature_id", SIGNATURE)];
const OF_RECEIPT: &[Reference] =
    &[named("account_id", ACCOUNT), named("household_id", HOUSEHOLD), named("signature_id", SIGNATURE)];
const OF_VOID: &[Reference] = &[named("receipt_id", &[EntityKind::Receipt])];
const OF_SIGNATURE: &[Reference] =
    &[Reference { field: "document_id", kinds: &[EntityKind::Receipt, EntityKind::Visit], made_before: false }];
const OF_APPOINTMENT: &[Reference] = &[named("household_id", HOUSEHOLD), named("visit_id", &[EntityKind::Visit])];
const OF_HOUSEHOLD_RECORD: &[Reference] = &[named("premises_id", &[EntityKind::Premises])];

impl EntityKind {
    /// Every field of this kind that names another record. An empty or absent value names none
    /// (a ticket without an archive, a household outside any building, a visit without a signed
    /// work order); every other value is checked.
    pub fn references(self) -> &'static [Reference] {
        match self {
            EntityKind::Premises | EntityKind::SignIn | EntityKind::DaySummary => &[],
            EntityKind::Household => OF_HOUSEHOLD_RECORD,
            EntityKind::ArrearsAccount
            | EntityKind::Ticket
            | EntityKind::BillingProfile
            | EntityKind::ReminderOutcome => OF_HOUSEHOLD,
            EntityKind::ArrearsNotice => OF_NOTICE,
            EntityKind::Visit => OF_VISIT,
            EntityKind::Receipt => OF_RECEIPT,
            EntityKind::ReceiptVoid => OF_VOID,
            EntityKind::Signature => OF_SIGNATURE,
            EntityKind::Appointment => OF_APPOINTMENT,
        }
    }
}

/// What is wrong with a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// No such record.
    Missing,
    /// The record is in this other grid.
    OtherGrid(String),
}

/// A reference that breaks the rule: the field, the record it names, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadReference {
    pub field: &'static str,
    pub kind: EntityKind,
    pub id: String,
    /// The grid the referring record is in.
    pub grid: String,
    pub problem: Problem,
}

/// A kind in the users' words, Chinese first.
fn words(kind: EntityKind) -> (&'static str, &'static str) {
    match kind {
        EntityKind::Premises => ("楼宇", "premises"),
        EntityKind::Household => ("客户档案", "household"),
        EntityKind::ArrearsAccount => ("欠费账户", "arrears account"),
        EntityKind::ArrearsNotice => ("欠费通知", "arrears notice"),
        EntityKind::Visit => ("走访", "visit"),
        EntityKind::Receipt => ("收据", "receipt"),
        EntityKind::ReceiptVoid => ("收据作废", "receipt void"),
        EntityKind::Signature => ("客户签名", "signature"),
        EntityKind::Appointment => ("预约", "appointment"),
        EntityKind::SignIn => ("签到", "sign-in"),
        EntityKind::Ticket => ("工单", "ticket"),
        EntityKind::DaySummary => ("日工作总结", "day summary"),
        EntityKind::BillingProfile => ("计费资料", "billing profile"),
        EntityKind::ReminderOutcome => ("预警处理", "reminder outcome"),
    }
}

impl fmt::Display for BadReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (zh, en) = words(self.kind);
        let (field, id, grid) = (self.field, &self.id, &self.grid);
        match &self.problem {
            Problem::Missing => write!(f, "{field}: 没有{zh} {id} / there is no {en} {id}"),
            Problem::OtherGrid(other) => {
                write!(f, "{field}: {zh} {id} 在网格 {other}，不在网格 {grid} / {en} {id} is in grid {other}, not grid {grid}")
            }
        }
    }
}

impl From<BadReference> for ValidationError {
    /// The phone's words for it, as its forms have always said them.
    fn from(bad: BadReference) -> Self {
        let (_, en) = words(bad.kind);
        match bad.problem {
            Problem::Missing => ValidationError::new(bad.field, format!("unknown {en}")),
            Problem::OtherGrid(_) => ValidationError::new("grid_id", format!("the {en} belongs to another grid")),
        }
    }
}

/// The kinds a reference may name in this record: a signature names the kind its `document_kind`
/// says; other references name their one kind.
fn kinds_named<'a>(reference: &Reference, value: &impl Fn(&str) -> Option<&'a str>) -> &'static [EntityKind] {
    if reference.field == "document_id" {
        return match value("document_kind") {
            Some("receipt") => &[EntityKind::Receipt],
            Some("work_order") => &[EntityKind::Visit],
            _ => reference.kinds,
        };
    }
    reference.kinds
}

/// Checks every reference of a record of `kind` made in `grid`. `value` reads a field of the
/// record (None or empty: names nothing); `grid_of` says in which grid a record is, if it exists
/// (a storage error is passed through as the outer error).
pub fn check<'a, E>(
    kind: EntityKind,
    grid: &str,
    value: impl Fn(&str) -> Option<&'a str>,
    mut grid_of: impl FnMut(EntityKind, &str) -> Result<Option<String>, E>,
) -> Result<Result<(), BadReference>, E> {
    for reference in kind.references() {
        let Some(id) = value(reference.field).filter(|v| !v.is_empty()) else { continue };
        let kinds = kinds_named(reference, &value);
        let mut found = None;
        for &named in kinds {
            if let Some(g) = grid_of(named, id)? {
                found = Some((named, g));
                break;
            }
        }
        let bad = |kind, problem| BadReference {
            field: reference.field,
            kind,
            id: id.to_string(),
            grid: grid.to_string(),
            problem,
        };
        match found {
            None if reference.made_before => return Ok(Err(bad(kinds[0], Problem::Missing))),
            None => {}
            Some((named, g)) if g != grid => return Ok(Err(bad(named, Problem::OtherGrid(g)))),
            Some(_) => {}
        }
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn every_reference_names_a_real_field_and_covers_the_parents() {
        for kind in EntityKind::ALL {
            for r in kind.references() {
                assert!(kind.field(r.field).is_some(), "{}.{}", kind.as_str(), r.field);
            }
            // what belongs together is referenced too
            for p in kind.parents() {
                assert!(kind.references().iter().any(|r| r.field == p.field), "{}.{}", kind.as_str(), p.field);
            }
        }
        // every field ending in _id that names a record is listed (the rest are people and devices)
        let people = ["grid_id", "manager_id", "collector_id", "device_id", "owner_manager_id"];
        for kind in EntityKind::ALL {
            for f in kind.fields().iter().filter(|f| f.name.ends_with("_id") && !people.contains(&f.name)) {
                assert!(
                    kind.references().iter().any(|r| r.field == f.name),
                    "{}.{} is not checked",
                    kind.as_str(),
                    f.name
                );
            }
        }
    }

    fn run(
        kind: EntityKind,
        grid: &str,
        fields: &[(&str, &str)],
        held: &[(EntityKind, &str, &str)],
    ) -> Result<(), BadReference> {
        let fields: HashMap<&str, &str> = fields.iter().copied().collect();
        let held: HashMap<(EntityKind, &str), &str> = held.iter().map(|(k, id, g)| ((*k, *id), *g)).collect();
        check::<()>(kind, grid, |f| fields.get(f).copied(), |k, id| Ok(held.get(&(k, id)).map(|g| g.to_string())))
            .unwrap()
    }

    #[test]
    fn a_reference_to_another_grid_or_to_nothing_is_refused() {
        let held = [(EntityKind::Household, "h1", "A"), (EntityKind::Household, "h2", "B")];
        assert_eq!(run(EntityKind::Visit, "A", &[("household_id", "h1")], &held), Ok(()));
        let bad = run(EntityKind::Visit, "A", &[("household_id", "h2")], &held).unwrap_err();
        assert_eq!(bad.problem, Problem::OtherGrid("B".into()));
        assert!(bad.to_string().contains("household h2 is in grid B, not grid A"), "{bad}");
        assert!(bad.to_string().starts_with("household_id: 客户档案 h2 在网格 B"), "{bad}");
        let bad = run(EntityKind::Visit, "A", &[("household_id", "h9")], &held).unwrap_err();
        assert_eq!((bad.kind, bad.problem), (EntityKind::Household, Problem::Missing));
        // an empty optional reference names nothing
        assert_eq!(run(EntityKind::Ticket, "A", &[("household_id", "")], &held), Ok(()));
    }

    #[test]
    fn a_signature_is_made_before_its_document_and_names_the_kind_it_says() {
        let held = [(EntityKind::Visit, "v1", "A"), (EntityKind::Receipt, "r1", "B")];
        let sig = |kind, id| [("document_kind", kind), ("document_id", id)];
        assert_eq!(run(EntityKind::Signature, "A", &sig("receipt", "r-not-yet"), &held), Ok(()));
        assert_eq!(run(EntityKind::Signature, "A", &sig("work_order", "v1"), &held), Ok(()));
        let bad = run(EntityKind::Signature, "A", &sig("receipt", "r1"), &held).unwrap_err();
        assert_eq!((bad.kind, bad.problem), (EntityKind::Receipt, Problem::OtherGrid("B".into())));
        // a work order is a visit: the receipt r1 is not looked for
        assert_eq!(run(EntityKind::Signature, "A", &sig("work_order", "r1"), &held), Ok(()));
    }
}
