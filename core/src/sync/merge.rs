//! Last-writer-wins per field, by HLC: the one merge rule of the system, used by the device for
//! pulled state and by the server for pushed ops. Pure: no I/O.
//!
//! Representation: `base` is the stamp of the latest create (a create sets every field), and
//! `clocks` holds only the fields written later. This keeps sync metadata small (docs/field.md,
//! sync 12) and canonical: replicas that saw the same ops hold the same state, whatever the order.

use serde_json::{Map, Value};

use crate::model::EntityKind;
use crate::sync::hlc::Hlc;
use crate::sync::wire::{EntityState, Op, OpAction};

/// A field value replaced by a newer one, or an incoming value that lost to a newer one already
/// held. The server logs these so a supervisor can see what was overwritten, by whom, when.
#[derive(Debug, Clone, PartialEq)]
pub struct Overwrite {
    pub field: String,
    /// The value that lost.
    pub old_value: Value,
    pub old_hlc: Hlc,
    /// The value that won.
    pub new_value: Value,
    pub new_hlc: Hlc,
}

#[derive(Debug, Clone, PartialEq, Eq, Copy)]
pub enum MergeOutcome {
    /// At least one field took the op's value.
    Applied,
    /// The op was seen before (an insert-only record that exists, or the same stamp).
    AlreadyHad,
    /// Every field the op sets already holds a later value.
    Superseded,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Merge {
    pub outcome: MergeOutcome,
    pub overwrites: Vec<Overwrite>,
}

impl EntityState {
    pub fn empty(kind: EntityKind, id: impl Into<String>) -> Self {
        Self { kind, id: id.into(), values: Default::default(), base: None, clocks: Default::default() }
    }

    /// A fact's state from the fields of the op that recorded it, stamped with its stamp: the
    /// fields of its kind that hold a value (a fact is never merged, so it has no field clocks).
    pub fn fact(kind: EntityKind, id: impl Into<String>, mut fields: Map<String, Value>, stamp: Hlc) -> Self {
        fields.retain(|name, value| kind.field(name).is_some() && !value.is_null());
        Self { kind, id: id.into(), values: fields, base: Some(stamp), clocks: Default::default() }
    }

    /// Whether any op has reached this entity yet.
    pub fn exists(&self) -> bool {
        self.base.is_some() || !self.clocks.is_empty()
    }

    pub fn value(&self, field: &str) -> &Value {
        self.values.get(field).unwrap_or(&Value::Null)
    }

    /// The stamp of the write that set `field`, if any did.
    pub fn clock(&self, field: &str) -> Option<&Hlc> {
        self.clocks.get(field).or(self.base.as_ref())
    }

    pub fn deleted(&self) -> bool {
        self.value("deleted").as_bool().unwrap_or(false)
    }

    /// The newest stamp of any field.
    pub fn max_clock(&self) -> Option<&Hlc> {
        self.clocks.values().chain(self.base.as_ref()).max()
    }

    /// Applies one op. Applying it again, or applying ops in another order, gives the same state.
    pub fn apply(&mut self, op: &Op) -> Merge {
        if self.kind.insert_only() {
            return self.apply_fact(op);
        }
        let mut overwrites = Vec::new();
        let mut applied = false;
        let mut newest_seen = false;
        match op.action {
            OpAction::Create => {
                for spec in self.kind.fields() {
                    let incoming = op.fields.get(spec.name).cloned().unwrap_or(Value::Null);
                    match self.set_if_newer(spec.name, incoming, &op.hlc, &mut overwrites) {
                        Some(true) => applied = true,
                        Some(false) => {}
                        None => newest_seen = true,
                    }
                }
                if self.base.as_ref().is_none_or(|b| op.hlc > *b) {
                    self.base = Some(op.hlc.clone());
                }
                self.normalise();
            }
            OpAction::Update => {
                for (field, incoming) in &op.fields {
                    if self.kind.field(field).is_none() {
                        continue; // validated before merge; an unknown field is never stored
                    }
                    match self.set_if_newer(field, incoming.clone(), &op.hlc, &mut overwrites) {
                        Some(true) => {
                            applied = true;
                            self.clocks.insert(field.clone(), op.hlc.clone());
                        }
                        Some(false) => {}
                        None => newest_seen = true,
                    }
                }
                self.normalise();
            }
        }
        let outcome = if applied {
            MergeOutcome::Applied
        } else if newest_seen || op.fields.is_empty() {
            MergeOutcome::AlreadyHad
        } else {
            MergeOutcome::Superseded
        };
        Merge { outcome, overwrites }
    }

    /// Merges another replica's state of the same entity: per field, the newer stamp wins.
    pub fn merge_state(&mut self, other: &EntityState) -> Merge {
        let mut overwrites = Vec::new();
        let mut applied = false;
        for spec in self.kind.fields() {
            let Some(theirs) = other.clock(spec.name) else { continue };
            if self.clock(spec.name).is_none_or(|mine| theirs > mine) {
                let incoming = other.value(spec.name).clone();
                if let Some(mine) = self.clock(spec.name).cloned() {
                    let old = self.value(spec.name).clone();
                    if old != incoming {
                        overwrites.push(Overwrite {
                            field: spec.name.to_string(),
                            old_value: old,
                            old_hlc: mine,
                            new_value: incoming.clone(),
                            new_hlc: theirs.clone(),
                        });
                    }
                }
                self.values.insert(spec.name.to_string(), incoming);
                self.clocks.insert(spec.name.to_string(), theirs.clone());
                applied = true;
            }
        }
        if let Some(theirs) = &other.base {
            if self.base.as_ref().is_none_or(|mine| theirs > mine) {
                self.base = Some(theirs.clone());
            }
        }
        self.normalise();
        let outcome = if applied { MergeOutcome::Applied } else { MergeOutcome::AlreadyHad };
        Merge { outcome, overwrites }
    }

    /// Some(true): the value was taken; Some(false): an older stamp, it lost; None: the same stamp
    /// (this very write was already merged).
    fn set_if_newer(
        &mut self,
        field: &str,
        incoming: Value,
        hlc: &Hlc,
        overwrites: &mut Vec<Overwrite>,
    ) -> Option<bool> {
        match self.clock(field).cloned() {
            Some(current) if current == *hlc => None,
            Some(current) if current > *hlc => {
                let held = self.value(field);
                if *held != incoming {
                    overwrites.push(Overwrite {
                        field: field.to_string(),
                        old_value: incoming,
                        old_hlc: hlc.clone(),
                        new_value: held.clone(),
                        new_hlc: current,
                    });
                }
                Some(false)
            }
            current => {
                let old = self.values.insert(field.to_string(), incoming.clone()).unwrap_or(Value::Null);
                if let Some(old_hlc) = current {
                    if old != incoming {
                        overwrites.push(Overwrite {
                            field: field.to_string(),
                            old_value: old,
                            old_hlc,
                            new_value: incoming,
                            new_hlc: hlc.clone(),
                        });
                    }
                }
                Some(true)
            }
        }
    }

    /// Keeps in `clocks` only the fields written after the latest create: the canonical form.
    fn normalise(&mut self) {
        if let Some(base) = &self.base {
            self.clocks.retain(|_, c| &*c > base);
        }
        self.values.retain(|_, v| !v.is_null());
    }

    fn apply_fact(&mut self, op: &Op) -> Merge {
        if self.base.is_some() {
            return Merge { outcome: MergeOutcome::AlreadyHad, overwrites: vec![] };
        }
        *self = Self::fact(self.kind, std::mem::take(&mut self.id), op.fields.clone(), op.hlc.clone());
        Merge { outcome: MergeOutcome::Applied, overwrites: vec![] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use uuid::Uuid;

    fn op(action: OpAction, fields: Value, millis: u64, node: &str) -> Op {
        Op {
            id: Uuid::now_v7(),
            kind: EntityKind::Household,
            entity: "h1".into(),
            grid: "g1".into(),
            action,
            fields: fields.as_object().cloned().unwrap_or_default(),
            hlc: Hlc::new(millis, 0, node),
        }
    }

    #[test]
    fn edits_to_different_fields_both_survive() {
        let mut s = EntityState::empty(EntityKind::Household, "h1");
        s.apply(&op(OpAction::Create, json!({"customer_name": "王芳", "mobile": "13800000000"}), 1, "a"));
        s.apply(&op(OpAction::Update, json!({"mobile": "13900000000"}), 5, "a"));
        s.apply(&op(OpAction::Update, json!({"notes": "门口有狗"}), 3, "b"));
        assert_eq!(s.value("mobile"), &json!("13900000000"));
        assert_eq!(s.value("notes"), &json!("门口有狗"));
        assert_eq!(s.value("customer_name"), &json!("王芳"));
    }

    #[test]
    fn the_later_stamp_wins_and_the_loser_is_reported() {
        let mut s = EntityState::empty(EntityKind::Household, "h1");
        s.apply(&op(OpAction::Create, json!({"customer_name": "王芳"}), 1, "a"));
        let late = s.apply(&op(OpAction::Update, json!({"mobile": "139"}), 9, "b"));
        assert_eq!(late.outcome, MergeOutcome::Applied);
        let early = s.apply(&op(OpAction::Update, json!({"mobile": "138"}), 5, "a"));
        assert_eq!(early.outcome, MergeOutcome::Superseded);
        assert_eq!(s.value("mobile"), &json!("139"));
        assert_eq!(early.overwrites.len(), 1);
        assert_eq!(early.overwrites[0].old_value, json!("138"));
        assert_eq!(early.overwrites[0].new_value, json!("139"));
    }

    #[test]
    fn an_update_before_its_create_still_wins() {
        let mut s = EntityState::empty(EntityKind::Household, "h1");
        s.apply(&op(OpAction::Update, json!({"mobile": "139"}), 9, "b"));
        s.apply(&op(OpAction::Create, json!({"customer_name": "王芳", "mobile": "138"}), 1, "a"));
        assert_eq!(s.value("mobile"), &json!("139"));
        assert_eq!(s.value("customer_name"), &json!("王芳"));
        assert_eq!(s.base, Some(Hlc::new(1, 0, "a")));
        assert_eq!(s.clocks.len(), 1);
    }

    #[test]
    fn applying_twice_changes_nothing() {
        let mut s = EntityState::empty(EntityKind::Household, "h1");
        let o = op(OpAction::Create, json!({"customer_name": "王芳"}), 1, "a");
        assert_eq!(s.apply(&o).outcome, MergeOutcome::Applied);
        let before = s.clone();
        assert_eq!(s.apply(&o).outcome, MergeOutcome::AlreadyHad);
        assert_eq!(s, before);
    }

    #[test]
    fn facts_are_never_overwritten() {
        let mut s = EntityState::empty(EntityKind::Visit, "v1");
        let mut first = op(OpAction::Create, json!({"outcome": "done"}), 1, "a");
        first.kind = EntityKind::Visit;
        let mut second = op(OpAction::Create, json!({"outcome": "forged"}), 9, "b");
        second.kind = EntityKind::Visit;
        s.apply(&first);
        assert_eq!(s.apply(&second).outcome, MergeOutcome::AlreadyHad);
        assert_eq!(s.value("outcome"), &json!("done"));
    }

    #[test]
    fn state_merge_equals_op_merge() {
        let ops = [
            op(OpAction::Create, json!({"customer_name": "甲", "mobile": "1"}), 1, "a"),
            op(OpAction::Update, json!({"mobile": "2"}), 4, "b"),
            op(OpAction::Update, json!({"deleted": true}), 6, "a"),
        ];
        let mut by_ops = EntityState::empty(EntityKind::Household, "h1");
        for o in &ops {
            by_ops.apply(o);
        }
        // replica 1 saw the first two ops, replica 2 the last: merging their states
        let mut r1 = EntityState::empty(EntityKind::Household, "h1");
        r1.apply(&ops[0]);
        r1.apply(&ops[1]);
        let mut r2 = EntityState::empty(EntityKind::Household, "h1");
        r2.apply(&ops[2]);
        r2.merge_state(&r1);
        assert_eq!(r2, by_ops);
        assert!(r2.deleted());
    }
}
