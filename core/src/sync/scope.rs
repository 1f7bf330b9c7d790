//! What belongs together when a building or a grid moves to another manager (docs/sync-protocol.md,
//! "Handovers"): every record belongs with the record it refers to — a household with its
//! building, a visit, receipt, account, appointment or ticket with its household, a void with its
//! receipt, a signature with the document it signed. The server uses this to compute what a
//! building handover moves; the phone uses it to remove its whole copy of a moved scope.

use crate::model::EntityKind;

/// A field of a record that names the record it belongs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParentRef {
    pub field: &'static str,
    /// The kinds the field may name (a signature names a receipt or a visit).
    pub kinds: &'static [EntityKind],
}

const fn parent(field: &'static str, kinds: &'static [EntityKind]) -> ParentRef {
    ParentRef { field, kinds }
}

const OF_PREMISES: &[ParentRef] = &[parent("premises_id", &[EntityKind::Premises])];
const OF_HOUSEHOLD: &[ParentRef] = &[parent("household_id", &[EntityKind::Household])];
const OF_HOUSEHOLD_AND_ACCOUNT: &[ParentRef] =
    &[parent("household_id", &[EntityKind::Household]), parent("account_id", &[EntityKind::ArrearsAccount])];
const OF_RECEIPT: &[ParentRef] = &[parent("receipt_id", &[EntityKind::Receipt])];
const OF_DOCUMENT: &[ParentRef] = &[parent("document_id", &[EntityKind::Receipt, EntityKind::Visit])];

impl EntityKind {
    /// The records this kind belongs with. `EntityKind::ALL` lists every parent kind before its
    /// children, so one pass in that order follows a whole tree.
    pub fn parents(self) -> &'static [ParentRef] {
        match self {
            EntityKind::Premises | EntityKind::SignIn | EntityKind::DaySummary => &[],
            EntityKind::Household => OF_PREMISES,
            EntityKind::ArrearsAccount
            | EntityKind::Visit
            | EntityKind::Appointment
            | EntityKind::Ticket
            | EntityKind::BillingProfile
            | EntityKind::ReminderOutcome => OF_HOUSEHOLD,
            EntityKind::ArrearsNotice | EntityKind::Receipt => OF_HOUSEHOLD_AND_ACCOUNT,
            EntityKind::ReceiptVoid => OF_RECEIPT,
            EntityKind::Signature => OF_DOCUMENT,
        }
    }

    /// The kinds that may belong with a record of this kind, and through which field.
    pub fn children(self) -> impl Iterator<Item = (EntityKind, &'static str)> {
        EntityKind::ALL.into_iter().flat_map(move |child| {
            child.parents().iter().filter(move |p| p.kinds.contains(&self)).map(move |p| (child, p.field))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_before_their_children_and_name_real_fields() {
        for (i, kind) in EntityKind::ALL.iter().enumerate() {
            for p in kind.parents() {
                assert!(kind.field(p.field).is_some(), "{}.{}", kind.as_str(), p.field);
                for parent in p.kinds {
                    let at = EntityKind::ALL.iter().position(|k| k == parent).unwrap();
                    assert!(at < i, "{} must come before {}", parent.as_str(), kind.as_str());
                }
            }
        }
        let of_household: Vec<_> = EntityKind::Household.children().map(|(k, _)| k).collect();
        assert!(of_household.contains(&EntityKind::Visit) && of_household.contains(&EntityKind::Ticket));
        assert_eq!(
            EntityKind::Receipt.children().collect::<Vec<_>>(),
            vec![(EntityKind::ReceiptVoid, "receipt_id"), (EntityKind::Signature, "document_id")]
        );
    }
}
