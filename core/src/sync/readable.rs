//! Whether a pulled record is one the phone can read back: a live record must have been created
//! (its `base` stamp) and hold every required field of its kind with the right types. A server
//! that stored an update of an unknown record (before those were refused) serves such a partial
//! record; the phone sets it aside with a reason instead of storing what it could never read.

use crate::error::ValidationError;
use crate::model::{self, EntityKind, Record};
use crate::sync::wire::EntityState;

/// The typed record a state holds, read straight from its values without copying them (this runs
/// for every pulled record, and on the server for every pushed one).
pub fn typed<R: Record>(state: &EntityState) -> Result<R, serde_json::Error> {
    use serde::de::value::MapDeserializer;
    use serde_json::Value;
    let id = Value::String(state.id.clone());
    let fields = state.values.iter().filter(|(k, v)| !matches!(k.as_str(), "deleted" | "id") && !v.is_null());
    R::deserialize(MapDeserializer::new(fields.map(|(k, v)| (k.as_str(), v)).chain([("id", &id)])))
}

/// Ok when the phone can store `state` and read it back as its kind's record.
pub fn check(state: &EntityState) -> Result<(), ValidationError> {
    if state.deleted() {
        return Ok(()); // a tombstone is never read as a record
    }
    if state.base.is_none() {
        return Err(ValidationError::new("base", "the record was never created (an update without its create)"));
    }
    fn readable_as<R: Record>(state: &EntityState) -> Result<(), ValidationError> {
        typed::<R>(state).map(drop).map_err(|e| ValidationError::new("record", format!("cannot be read: {e}")))
    }
    match state.kind {
        EntityKind::Premises => readable_as::<model::Premises>(state),
        EntityKind::Household => readable_as::<model::Household>(state),
        EntityKind::ArrearsAccount => readable_as::<model::ArrearsAccount>(state),
        EntityKind::ArrearsNotice => readable_as::<model::ArrearsNotice>(state),
        EntityKind::Visit => readable_as::<model::Visit>(state),
        EntityKind::Receipt => readable_as::<model::Receipt>(state),
        EntityKind::ReceiptVoid => readable_as::<model::ReceiptVoid>(state),
        EntityKind::Signature => readable_as::<model::CustomerSignature>(state),
        EntityKind::Appointment => readable_as::<model::Appointment>(state),
        EntityKind::SignIn => readable_as::<model::SignIn>(state),
        EntityKind::Ticket => readable_as::<model::Ticket>(state),
        EntityKind::DaySummary => readable_as::<model::DaySummary>(state),
        EntityKind::BillingProfile => readable_as::<model::BillingProfile>(state),
        EntityKind::ReminderOutcome => readable_as::<model::ReminderOutcome>(state),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::sync::hlc::Hlc;
    use crate::sync::wire::PullPage;
    use serde_json::{json, Map};

    fn page(changes: Vec<EntityState>) -> PullPage {
        PullPage {
            protocol: crate::sync::wire::PROTOCOL_VERSION,
            changes,
            removals: vec![],
            handovers_complete: vec![],
            next_cursor: 7,
            has_more: false,
            remaining: 0,
            server_time_ms: 1,
            generation: None,
            update: None,
            policy: None,
            receipt: None,
        }
    }

    #[test]
    fn a_partial_record_a_server_holds_is_set_aside_and_the_rest_syncs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("phone.db")).unwrap();
        let stamp = Hlc::new(1_700_000_000_000, 0, "phone1");
        let household = crate::testing::household("g1");
        let whole = EntityState {
            kind: EntityKind::Household,
            id: household.id.clone(),
            values: crate::testing::fields_of(&household).unwrap(),
            base: Some(stamp.clone()),
            clocks: Default::default(),
        };
        // what a server stored for an update of a household it had never seen: no create, no grid
        let partial = EntityState {
            kind: EntityKind::Household,
            id: "h-partial".into(),
            values: Map::from_iter([("notes".to_string(), json!("只改了备注"))]),
            base: None,
            clocks: [("notes".to_string(), stamp.clone())].into(),
        };
        // created, but missing a required field
        let mut broken = whole.clone();
        broken.id = "h-broken".into();
        broken.values.remove("grid_id");
        assert!(check(&whole).is_ok());
        assert_eq!(check(&partial).unwrap_err().field, "base");
        assert_eq!(check(&broken).unwrap_err().field, "record");

        let report = store.apply_pull_page(&page(vec![partial, whole, broken])).unwrap();
        let set_aside: Vec<&str> = report.invalid.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(set_aside, ["h-partial", "h-broken"]);
        assert_eq!(report.applied, 1);
        assert_eq!(store.pull_cursor().unwrap(), 7, "the page is applied and the cursor moves on");
        let stored = store.all_states(EntityKind::Household).unwrap();
        assert_eq!(stored.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [household.id.as_str()]);
        assert!(store.entity_state(EntityKind::Household, "h-partial").unwrap().is_none());
    }
}
