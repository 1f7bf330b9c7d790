//! The reconcile rules' storage primitives (`EntityTx`, storage/entity_tx.rs) on one PostgreSQL
//! write transaction, safe when other replicas write the same records at the same moment:
//!
//! - a record is locked by its key (`pg_advisory_xact_lock`) before it is read for a merge, so two
//!   pushes editing one record merge one after the other, never both from the same old state,
//!   and a record that does not exist yet is locked as well (two creates of one id);
//! - an op id is claimed by inserting it (`ON CONFLICT DO NOTHING`) before the op is judged: the
//!   same op pushed on two connections at once waits on the key and is then "already had" — no
//!   read-then-write, so it is applied once and its conflicts are logged once;
//! - a new fact is one insert that says whether the record was there; receipt numbers are claimed
//!   by their key.
//!
//! A push runs batched (`PgTx::begin_batch`, docs/postgres.md "Ingest"): before its first op it
//! locks every record its ops edit (one statement, in key order, so two pushes never deadlock on
//! each other), reads them and the records they name, and claims every op id it can, in a few
//! statements; its writes wait in memory and go out as `UNNEST` batches in `flush`, a handful of
//! statements for the whole push instead of several round trips per op. What it reads stays what
//! it will commit: a record is read from the cache only once it is locked (or written by this
//! transaction), and anything that reads other rows of the tables it buffers flushes first. A
//! buffered write that finds the row changed under it (a fact another push stored meanwhile) fails
//! the push with a retry, as the unbatched write does.

use std::collections::{HashMap, HashSet};

use gridbook_core::model::EntityKind;
use gridbook_core::sync::hlc::Hlc;
use gridbook_core::sync::merge::Overwrite;
use gridbook_core::sync::wire::{EntityState, Op, ReceiptBlock, RejectCode};
use serde_json::{Map, Value};

use super::cursor::Numbers;
use super::pool::{Db, RowExt};
use crate::domain::prepared::PreparedFact;
use crate::storage::entity_tx::EntityTx;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::handover::DeviceHandover;
use crate::storage::sqlite::entity_from_row;

/// A record's key: its kind and id.
type Key = (EntityKind, String);

/// `EntityTx` over one PostgreSQL write transaction.
pub(super) struct PgTx<'a> {
    db: &'a Db,
    tx: &'a deadpool_postgres::Transaction<'a>,
    numbers: Numbers,
    /// Op ids recorded by this transaction (a batch may carry an op twice).
    recorded: HashSet<String>,
    /// The pushing device's rejections waiting for someone, read once per batch.
    device_rejections: HashSet<String>,
    /// Records this transaction holds the lock of.
    locked: HashSet<Key>,
    /// The pushing device's handovers, read once per push (every op asks, domain/handover.rs).
    device_handovers: Option<(String, Vec<DeviceHandover>)>,
    /// Batched (a push): writes wait in `pending` for `flush`, reads come from `cache`.
    batched: bool,
    /// Records as this transaction will commit them (None: not there), batched only.
    cache: HashMap<Key, Option<Cached>>,
    /// The grid of records the batch's ops name (read unlocked, as `served_grid` reads).
    named_grids: HashMap<Key, Option<String>>,
    /// Op ids claimed before the first op: true when this transaction claimed it, false when it
    /// was recorded before (or by a push that committed meanwhile).
    claims: HashMap<String, bool>,
    pending: Pending,
}

/// A record read (or written) by a batch.
#[derive(Clone)]
struct Cached {
    state: EntityState,
    grid: String,
    /// The op that stored it, for a fact.
    op_id: Option<String>,
}

/// How a buffered record is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Write {
    /// Inserted or overwritten (a mergeable record).
    Upsert,
    /// Inserted; there already means another push raced this one (a fact judged the long way).
    Insert,
    /// A new fact with the op that carried it; checked absent when buffered.
    Fact,
}

struct PendingRecord {
    write: Write,
    grid: String,
    vals: String,
    base: Option<String>,
    clocks: String,
    seq: i64,
    now_ms: i64,
    op_id: Option<String>,
    device_id: Option<String>,
}

/// Writes waiting for `flush`.
#[derive(Default)]
struct Pending {
    records: HashMap<Key, PendingRecord>,
    ops: Vec<[String; 9]>,
    ops_received_ms: Vec<i64>,
    conflicts: Vec<[String; 10]>,
    conflicts_at_ms: Vec<i64>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.records.is_empty() && self.ops.is_empty() && self.conflicts.is_empty()
    }
}

/// The advisory lock key of a record (64-bit hash of its kind and id).
const LOCK_KEY: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 0))";

/// Many records' locks, in the order of their keys (two batches never wait on each other in a
/// circle); the subquery sorts, the outer query takes them in its order.
const LOCK_KEYS: &str = "SELECT pg_advisory_xact_lock(h) FROM (
       SELECT DISTINCT hashtextextended(k || ':' || i, 0) AS h FROM unnest($1::text[], $2::text[]) AS t(k, i)
       ORDER BY h) AS keys";

fn retry(what: &str) -> StorageError {
    StorageError::Unavailable(format!("{what} was written by another request at the same moment; retry"))
}

/// Column `i` of every pending row.
fn column<const N: usize>(rows: &[[String; N]], i: usize) -> Vec<&str> {
    rows.iter().map(|r| r[i].as_str()).collect()
}

impl<'a> PgTx<'a> {
    /// Unbatched: every primitive is its own statement (the back office's few writes).
    pub(super) fn begin(
        db: &'a Db,
        tx: &'a deadpool_postgres::Transaction<'a>,
        device_id: &str,
        batch_ops: &[Op],
    ) -> StorageResult<Self> {
        let numbers = Numbers::begin(db, tx)?;
        let mut device_rejections = HashSet::new();
        if !batch_ops.is_empty() {
            for r in db.query(tx, "SELECT op_id FROM rejections WHERE device_id = $1", &[&device_id])? {
                device_rejections.insert(r.at::<String>(0)?);
            }
        }
        Ok(Self {
            db,
            tx,
            numbers,
            recorded: HashSet::new(),
            device_rejections,
            locked: HashSet::new(),
            device_handovers: None,
            batched: false,
            cache: HashMap::new(),
            named_grids: HashMap::new(),
            claims: HashMap::new(),
            pending: Pending::default(),
        })
    }

    /// Batched, for the ops of one push (`prepared`: their facts, built before the
    /// transaction): their records locked and read, the records they name read, their op ids
    /// claimed, in a few statements. `flush` must follow the last op.
    pub(super) fn begin_batch(
        db: &'a Db,
        tx: &'a deadpool_postgres::Transaction<'a>,
        device_id: &str,
        ops: &[Op],
        prepared: &[Option<PreparedFact>],
    ) -> StorageResult<Self> {
        let mut me = Self::begin(db, tx, device_id, ops)?;
        me.batched = true;
        if ops.is_empty() {
            return Ok(me);
        }
        // edited records are locked before they are read; facts are not (their insert decides)
        let mut edited: Vec<(&str, &str)> = Vec::new();
        let mut facts: Vec<(&str, &str)> = Vec::new();
        let mut named: Vec<(EntityKind, &str)> = Vec::new();
        let mut op_ids: Vec<String> = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            let fact = prepared.get(i).and_then(Option::as_ref);
            if op.kind.insert_only() {
                facts.push((op.kind.as_str(), op.entity.as_str()));
            } else {
                edited.push((op.kind.as_str(), op.entity.as_str()));
                op_ids.push(op.id.to_string());
            }
            let values: &Map<String, Value> = fact.map_or(&op.fields, |f| &f.state.values);
            for reference in op.kind.references() {
                if let Some(id) = values.get(reference.field).and_then(Value::as_str) {
                    named.extend(reference.kinds.iter().map(|k| (*k, id)));
                }
            }
        }
        for keys in [&mut edited, &mut facts] {
            keys.sort_unstable();
            keys.dedup();
        }
        named.sort_unstable();
        named.dedup();
        let (kinds, ids): (Vec<&str>, Vec<&str>) = edited.iter().copied().unzip();
        if !edited.is_empty() {
            db.execute(tx, LOCK_KEYS, &[&kinds, &ids])?;
        }
        let kind_of: HashMap<&str, EntityKind> = ops.iter().map(|op| (op.kind.as_str(), op.kind)).collect();
        let (mut all_kinds, mut all_ids) = (kinds.clone(), ids.clone());
        all_kinds.extend(facts.iter().map(|k| k.0));
        all_ids.extend(facts.iter().map(|k| k.1));
        let rows = db.query(
            tx,
            "SELECT e.kind, e.id, e.vals, e.base_hlc, e.clocks, e.grid_id, e.op_id
             FROM unnest($1::text[], $2::text[]) AS t(k, i) JOIN entities e ON e.kind = t.k AND e.id = t.i",
            &[&all_kinds, &all_ids],
        )?;
        for (k, id) in edited.iter().chain(&facts) {
            if let Some(kind) = kind_of.get(k) {
                me.cache.insert((*kind, id.to_string()), None);
            }
        }
        for r in rows {
            let kind_name: String = r.at(0)?;
            let Some(kind) = kind_of.get(kind_name.as_str()).copied() else { continue };
            let id: String = r.at(1)?;
            let state = entity_from_row(kind, id.clone(), &r.at::<String>(2)?, r.at(3)?, &r.at::<String>(4)?)?;
            me.cache.insert((kind, id), Some(Cached { state, grid: r.at(5)?, op_id: r.at(6)? }));
        }
        for (kind, id) in &edited {
            if let Some(kind) = kind_of.get(kind) {
                me.locked.insert((*kind, id.to_string()));
            }
        }
        if !named.is_empty() {
            let (kinds, ids): (Vec<&str>, Vec<&str>) = named.iter().map(|(k, id)| (k.as_str(), *id)).unzip();
            let mut found: HashMap<(String, String), String> = HashMap::new();
            for r in db.query(
                tx,
                "SELECT e.kind, e.id, e.grid_id
                 FROM unnest($1::text[], $2::text[]) AS t(k, i) JOIN entities e ON e.kind = t.k AND e.id = t.i",
                &[&kinds, &ids],
            )? {
                found.insert((r.at(0)?, r.at(1)?), r.at(2)?);
            }
            for (kind, id) in named {
                let grid = found.get(&(kind.as_str().to_string(), id.to_string())).cloned();
                me.named_grids.insert((kind, id.to_string()), grid);
            }
        }
        if !op_ids.is_empty() {
            op_ids.sort_unstable();
            op_ids.dedup();
            // the claim of each (`op_seen`), in op-id order: a concurrent push of the same ops
            // waits here for this transaction's end, then finds them recorded
            let claimed = db.query(
                tx,
                "INSERT INTO ops (op_id, device_id, kind, entity_id, grid_id, hlc, merged_hlc, received_at_ms, outcome, body)
                 SELECT o, '', '', '', '', '', '', 0, 'claimed', '' FROM unnest($1::text[]) AS t(o) ORDER BY o
                 ON CONFLICT (op_id) DO NOTHING RETURNING op_id",
                &[&op_ids],
            )?;
            me.claims = op_ids.into_iter().map(|id| (id, false)).collect();
            for r in claimed {
                me.claims.insert(r.at(0)?, true);
            }
        }
        Ok(me)
    }

    /// `n` consecutive change numbers of this transaction; the first.
    pub(super) fn reserve(&mut self, n: i64) -> StorageResult<i64> {
        self.numbers.reserve(n)
    }

    fn settle_rejection(&mut self, op_id: &str) -> StorageResult<()> {
        if self.device_rejections.remove(op_id) {
            self.db.execute(self.tx, "DELETE FROM rejections WHERE op_id = $1", &[&op_id])?;
        }
        Ok(())
    }

    fn lock(&mut self, kind: EntityKind, id: &str) -> StorageResult<()> {
        if self.locked.insert((kind, id.to_string())) {
            self.db.execute(self.tx, LOCK_KEY, &[&kind.as_str(), &id])?;
        }
        Ok(())
    }

    /// Unbatched, a buffered write goes out at once.
    fn written(&mut self) -> StorageResult<()> {
        if self.batched {
            Ok(())
        } else {
            self.flush()
        }
    }

    /// Every buffered write, in one statement per table and kind of write.
    pub(super) fn flush(&mut self) -> StorageResult<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let (db, tx) = (self.db, self.tx);
        let mut by_write: [Vec<(&Key, &PendingRecord)>; 3] = Default::default();
        for (key, r) in &pending.records {
            let slot = match r.write {
                Write::Upsert => 0,
                Write::Insert => 1,
                Write::Fact => 2,
            };
            by_write[slot].push((key, r));
        }
        for (slot, rows) in by_write.iter().enumerate() {
            if rows.is_empty() {
                continue;
            }
            let kinds: Vec<&str> = rows.iter().map(|(k, _)| k.0.as_str()).collect();
            let ids: Vec<&str> = rows.iter().map(|(k, _)| k.1.as_str()).collect();
            let grids: Vec<&str> = rows.iter().map(|(_, r)| r.grid.as_str()).collect();
            let vals: Vec<&str> = rows.iter().map(|(_, r)| r.vals.as_str()).collect();
            let bases: Vec<Option<&str>> = rows.iter().map(|(_, r)| r.base.as_deref()).collect();
            let clocks: Vec<&str> = rows.iter().map(|(_, r)| r.clocks.as_str()).collect();
            let seqs: Vec<i64> = rows.iter().map(|(_, r)| r.seq).collect();
            let times: Vec<i64> = rows.iter().map(|(_, r)| r.now_ms).collect();
            let op_ids: Vec<Option<&str>> = rows.iter().map(|(_, r)| r.op_id.as_deref()).collect();
            let devices: Vec<Option<&str>> = rows.iter().map(|(_, r)| r.device_id.as_deref()).collect();
            let received: Vec<Option<i64>> =
                rows.iter().map(|(_, r)| (r.write == Write::Fact).then_some(r.now_ms)).collect();
            let on_conflict = if slot == 0 {
                "DO UPDATE SET grid_id = excluded.grid_id, vals = excluded.vals, base_hlc = excluded.base_hlc,
                   clocks = excluded.clocks, seq = excluded.seq, updated_at_ms = excluded.updated_at_ms"
            } else {
                "DO NOTHING"
            };
            let n = db.execute(
                tx,
                &format!(
                    "INSERT INTO entities (kind, id, grid_id, vals, base_hlc, clocks, seq, updated_at_ms, op_id, device_id,
                       received_at_ms)
                     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                       $7::bigint[], $8::bigint[], $9::text[], $10::text[], $11::bigint[])
                     ON CONFLICT (kind, id) {on_conflict}"
                ),
                &[&kinds, &ids, &grids, &vals, &bases, &clocks, &seqs, &times, &op_ids, &devices, &received],
            )?;
            // a fact is written once: one that appeared since it was read means this push raced
            // another carrying it, and is sent again
            if n != rows.len() as u64 {
                return Err(retry("a record of this push"));
            }
        }
        if !pending.ops.is_empty() {
            let c = |i| column(&pending.ops, i);
            // fills in this transaction's claims (or records ops judged without one)
            let n = db.execute(
                tx,
                "INSERT INTO ops (op_id, device_id, kind, entity_id, grid_id, hlc, merged_hlc, received_at_ms, outcome, body)
                 SELECT o, d, k, e, g, h, m, r, oc, b FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                   $5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[], $10::text[]) AS t(o, d, k, e, g, h, m, r, oc, b)
                 ON CONFLICT (op_id) DO UPDATE SET device_id = excluded.device_id, kind = excluded.kind,
                   entity_id = excluded.entity_id, grid_id = excluded.grid_id, hlc = excluded.hlc,
                   merged_hlc = excluded.merged_hlc, received_at_ms = excluded.received_at_ms,
                   outcome = excluded.outcome, body = excluded.body
                 WHERE ops.outcome = 'claimed'",
                &[&c(0), &c(1), &c(2), &c(3), &c(4), &c(5), &c(6), &pending.ops_received_ms, &c(7), &c(8)],
            )?;
            if n != pending.ops.len() as u64 {
                return Err(retry("an op of this push"));
            }
        }
        if !pending.conflicts.is_empty() {
            let c = |i| column(&pending.conflicts, i);
            db.execute(
                tx,
                "INSERT INTO conflicts (at_ms, kind, entity_id, grid_id, field, old_value, new_value, old_hlc, new_hlc,
                   old_device, new_device)
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                   $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])",
                &[&pending.conflicts_at_ms, &c(0), &c(1), &c(2), &c(3), &c(4), &c(5), &c(6), &c(7), &c(8), &c(9)],
            )?;
        }
        Ok(())
    }

    /// Buffers a record's write (the last of several to one record wins, as it would on disk)
    /// and keeps what the batch will read of it.
    fn buffer(&mut self, key: Key, record: PendingRecord, state: &EntityState) {
        let write = match self.pending.records.get(&key) {
            Some(earlier) if earlier.write != Write::Upsert => earlier.write,
            _ => record.write,
        };
        if self.batched {
            let op_id = record.op_id.clone();
            self.cache.insert(key.clone(), Some(Cached { state: state.clone(), grid: record.grid.clone(), op_id }));
        }
        self.pending.records.insert(key, PendingRecord { write, ..record });
    }
}

impl EntityTx for PgTx<'_> {
    fn op_seen(&mut self, op: &Op) -> StorageResult<bool> {
        let op_id = op.id.to_string();
        if self.recorded.contains(&op_id) {
            return Ok(true);
        }
        if let Some(claimed) = self.claims.remove(&op_id) {
            return Ok(!claimed);
        }
        if op.kind.insert_only() {
            let key = (op.kind, op.entity.clone());
            let seen = match self.cache.get(&key).filter(|_| self.batched) {
                Some(cached) => cached.as_ref().and_then(|c| c.op_id.as_deref()) == Some(op_id.as_str()),
                None => self
                    .db
                    .query_opt(
                        self.tx,
                        "SELECT 1 FROM entities WHERE kind = $1 AND id = $2 AND op_id = $3",
                        &[&op.kind.as_str(), &op.entity, &op_id],
                    )?
                    .is_some(),
            };
            if seen {
                return Ok(true);
            }
        }
        // the claim: a concurrent push of this op waits here until this transaction ends
        let claimed = self.db.execute(
            self.tx,
            "INSERT INTO ops (op_id, device_id, kind, entity_id, grid_id, hlc, merged_hlc, received_at_ms, outcome, body)
             VALUES ($1, '', '', '', '', '', '', 0, 'claimed', '') ON CONFLICT (op_id) DO NOTHING",
            &[&op_id],
        )?;
        Ok(claimed == 0)
    }

    fn insert_fact(
        &mut self,
        fact: &PreparedFact,
        _op: &Op,
        grid: &str,
        device_id: &str,
        now_ms: i64,
    ) -> StorageResult<bool> {
        let key = (fact.state.kind, fact.state.id.clone());
        if !self.batched || !self.cache.contains_key(&key) {
            // unbatched (or a fact the batch did not read): one insert that says whether it was there
            self.flush()?;
            let seq = self.numbers.next()?;
            let inserted = self.db.execute(
                self.tx,
                "INSERT INTO entities (seq, kind, id, grid_id, vals, base_hlc, clocks, updated_at_ms, op_id, device_id, received_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, '{}', $7, $8, $9, $7)
                 ON CONFLICT (kind, id) DO NOTHING",
                &[
                    &seq,
                    &fact.state.kind.as_str(),
                    &fact.state.id,
                    &grid,
                    &fact.values_json,
                    &fact.stamp,
                    &now_ms,
                    &fact.op_id,
                    &device_id,
                ],
            )?;
            if inserted == 0 {
                return Ok(false);
            }
            if self.batched {
                let cached =
                    Cached { state: fact.state.clone(), grid: grid.to_string(), op_id: Some(fact.op_id.clone()) };
                self.cache.insert(key, Some(cached));
            }
            self.settle_rejection(&fact.op_id)?;
            return Ok(true);
        }
        if matches!(self.cache.get(&key), Some(Some(_))) {
            return Ok(false);
        }
        let record = PendingRecord {
            write: Write::Fact,
            grid: grid.to_string(),
            vals: fact.values_json.clone(),
            base: Some(fact.stamp.clone()),
            clocks: "{}".into(),
            seq: self.numbers.next()?,
            now_ms,
            op_id: Some(fact.op_id.clone()),
            device_id: Some(device_id.to_string()),
        };
        self.buffer(key, record, &fact.state);
        self.settle_rejection(&fact.op_id)?;
        Ok(true)
    }

    fn load(&mut self, kind: EntityKind, id: &str) -> StorageResult<Option<(EntityState, String)>> {
        let key = (kind, id.to_string());
        // locked first, read after: the read sees what the lock's last holder committed
        let was_locked = self.locked.contains(&key);
        self.lock(kind, id)?;
        if self.batched && (was_locked || self.pending.records.contains_key(&key)) {
            if let Some(cached) = self.cache.get(&key) {
                return Ok(cached.as_ref().map(|c| (c.state.clone(), c.grid.clone())));
            }
        }
        let row = self.db.query_opt(
            self.tx,
            "SELECT vals, base_hlc, clocks, grid_id, op_id FROM entities WHERE kind = $1 AND id = $2",
            &[&kind.as_str(), &id],
        )?;
        let found = match row {
            None => None,
            Some(r) => {
                let state = entity_from_row(kind, id.to_string(), &r.at::<String>(0)?, r.at(1)?, &r.at::<String>(2)?)?;
                Some(Cached { state, grid: r.at(3)?, op_id: r.at(4)? })
            }
        };
        let out = found.as_ref().map(|c| (c.state.clone(), c.grid.clone()));
        if self.batched {
            self.cache.insert(key, found);
        }
        Ok(out)
    }

    fn save(&mut self, state: &EntityState, grid: &str, now_ms: i64) -> StorageResult<()> {
        self.save_encoded(state, &serde_json::to_string(&state.values)?, grid, now_ms)
    }

    fn save_encoded(&mut self, state: &EntityState, values_json: &str, grid: &str, now_ms: i64) -> StorageResult<()> {
        let clocks = if state.clocks.is_empty() { "{}".to_string() } else { serde_json::to_string(&state.clocks)? };
        let record = PendingRecord {
            // a fact is written once (a race with another push is sent again, `flush`)
            write: if state.kind.insert_only() { Write::Insert } else { Write::Upsert },
            grid: grid.to_string(),
            vals: values_json.to_string(),
            base: state.base.as_ref().map(|h| h.to_string()),
            clocks,
            seq: self.numbers.next()?,
            now_ms,
            op_id: None,
            device_id: None,
        };
        self.buffer((state.kind, state.id.clone()), record, state);
        self.written()
    }

    fn record_op(
        &mut self,
        device_id: &str,
        op: &Op,
        merged_as: &Hlc,
        outcome: &str,
        now_ms: i64,
    ) -> StorageResult<()> {
        let op_id = op.id.to_string();
        let hlc = op.hlc.to_string();
        let merged = if *merged_as == op.hlc { hlc.clone() } else { merged_as.to_string() };
        let body = if op.kind.insert_only() { String::new() } else { serde_json::to_string(&op.fields)? };
        self.pending.ops.push([
            op_id.clone(),
            device_id.to_string(),
            op.kind.as_str().to_string(),
            op.entity.clone(),
            op.grid.clone(),
            hlc,
            merged,
            outcome.to_string(),
            body,
        ]);
        self.pending.ops_received_ms.push(now_ms);
        self.settle_rejection(&op_id)?;
        self.recorded.insert(op_id);
        self.written()
    }

    fn record_conflict(&mut self, op: &Op, grid: &str, o: &Overwrite, now_ms: i64) -> StorageResult<()> {
        self.pending.conflicts.push([
            op.kind.as_str().to_string(),
            op.entity.clone(),
            grid.to_string(),
            o.field.clone(),
            o.old_value.to_string(),
            o.new_value.to_string(),
            o.old_hlc.to_string(),
            o.new_hlc.to_string(),
            o.old_hlc.node.clone(),
            o.new_hlc.node.clone(),
        ]);
        self.pending.conflicts_at_ms.push(now_ms);
        self.written()
    }

    fn record_rejection(
        &mut self,
        device_id: &str,
        op: &Op,
        code: RejectCode,
        reason: &str,
        now_ms: i64,
    ) -> StorageResult<()> {
        let op_id = op.id.to_string();
        // a refused op is not recorded: its claim goes, and it is judged again when sent again
        self.db.execute(self.tx, "DELETE FROM ops WHERE op_id = $1 AND outcome = 'claimed'", &[&op_id])?;
        self.device_rejections.insert(op_id.clone());
        self.db.execute(
            self.tx,
            "INSERT INTO rejections (op_id, at_ms, device_id, kind, entity_id, grid_id, code, reason, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (op_id) DO UPDATE SET at_ms = excluded.at_ms, device_id = excluded.device_id,
               kind = excluded.kind, entity_id = excluded.entity_id, grid_id = excluded.grid_id,
               code = excluded.code, reason = excluded.reason, body = excluded.body",
            &[
                &op_id,
                &now_ms,
                &device_id,
                &op.kind.as_str(),
                &op.entity,
                &op.grid,
                &code.as_str(),
                &reason,
                &serde_json::to_string(op)?,
            ],
        )?;
        Ok(())
    }

    fn claim_receipt_no(&mut self, receipt_no: &str, receipt_id: &str) -> StorageResult<bool> {
        let n = self.db.execute(
            self.tx,
            "INSERT INTO receipt_numbers (receipt_no, receipt_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&receipt_no, &receipt_id],
        )?;
        if n == 1 {
            return Ok(true);
        }
        Ok(self.receipt_no_holder(receipt_no)?.as_deref() == Some(receipt_id))
    }

    fn receipt_no_holder(&mut self, receipt_no: &str) -> StorageResult<Option<String>> {
        self.db
            .query_opt(self.tx, "SELECT receipt_id FROM receipt_numbers WHERE receipt_no = $1", &[&receipt_no])?
            .map(|r| r.at(0))
            .transpose()
    }

    fn receipt_no_issued_to(&mut self, receipt_no: &str, device_id: &str) -> StorageResult<bool> {
        // ':' sorts right after '9' (byte order): the prefix is the number before its digits
        let rows = self.db.query(
            self.tx,
            "SELECT prefix, first, last, issued_at_ms FROM receipt_blocks
             WHERE device_id = $1 AND $2 > prefix COLLATE \"C\" AND $2 < (prefix || ':') COLLATE \"C\"",
            &[&device_id, &receipt_no],
        )?;
        for r in rows {
            let block = ReceiptBlock {
                prefix: r.at(0)?,
                first: u32::try_from(r.at::<i64>(1)?).map_err(|_| StorageError::internal("block start"))?,
                last: u32::try_from(r.at::<i64>(2)?).map_err(|_| StorageError::internal("block end"))?,
                issued_at_ms: r.at(3)?,
            };
            if block.contains(receipt_no) {
                return Ok(true);
            }
        }
        super::receipts::reclaimed(self.db, self.tx, receipt_no, device_id)
    }

    fn device_public_keys(&mut self, device_id: &str) -> StorageResult<Vec<String>> {
        super::receipts::device_public_keys(self.db, self.tx, device_id)
    }

    fn record_void_request(
        &mut self,
        void_id: &str,
        receipt_id: &str,
        device_id: &str,
        now_ms: i64,
    ) -> StorageResult<()> {
        self.db.execute(
            self.tx,
            "INSERT INTO void_reviews (void_id, receipt_id, device_id, requested_at_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
            &[&void_id, &receipt_id, &device_id, &now_ms],
        )?;
        Ok(())
    }

    fn record_receipt_check(
        &mut self,
        receipt_id: &str,
        account_id: &str,
        owed_at_arrival_fen: Option<i64>,
        now_ms: i64,
    ) -> StorageResult<()> {
        self.db.execute(
            self.tx,
            "INSERT INTO receipt_checks (receipt_id, account_id, owed_at_arrival_fen, checked_at_ms)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[&receipt_id, &account_id, &owed_at_arrival_fen, &now_ms],
        )?;
        Ok(())
    }

    fn audit(&mut self, actor: &str, action: &str, subject: &str, detail: &str, now_ms: i64) -> StorageResult<()> {
        super::records::audit(self.db, self.tx, actor, action, subject, detail, now_ms)
    }

    fn latest_backoffice_stamp(&mut self) -> StorageResult<Hlc> {
        latest_backoffice_stamp(self.db, self.tx)
    }

    fn raise_backoffice_stamp(&mut self, stamp: &Hlc) -> StorageResult<()> {
        raise_backoffice_stamp(self.db, self.tx, stamp)
    }

    fn served_grid(&mut self, kind: EntityKind, id: &str) -> StorageResult<Option<String>> {
        let key = (kind, id.to_string());
        if let Some(cached) = self.cache.get(&key) {
            return Ok(cached.as_ref().map(|c| c.grid.clone()));
        }
        if let Some(grid) = self.named_grids.get(&key) {
            return Ok(grid.clone());
        }
        self.db
            .query_opt(self.tx, "SELECT grid_id FROM entities WHERE kind = $1 AND id = $2", &[&kind.as_str(), &id])?
            .map(|r| r.at(0))
            .transpose()
    }

    fn device_handovers(&mut self, device_id: &str) -> StorageResult<Vec<DeviceHandover>> {
        match &self.device_handovers {
            Some((device, handovers)) if device == device_id => Ok(handovers.clone()),
            _ => {
                let handovers = super::handover::device_handovers(self.db, self.tx, device_id)?;
                self.device_handovers = Some((device_id.to_string(), handovers.clone()));
                Ok(handovers)
            }
        }
    }

    fn handovers_holding(&mut self, kind: EntityKind, id: &str) -> StorageResult<Vec<String>> {
        super::handover::handovers_holding(self.db, self.tx, kind, id)
    }

    fn rescope(&mut self, kind: EntityKind, id: &str, grid: &str, now_ms: i64) -> StorageResult<()> {
        // the row it moves may still be buffered
        self.flush()?;
        let key = (kind, id.to_string());
        if let Some(Some(cached)) = self.cache.get_mut(&key) {
            cached.grid = grid.to_string();
        }
        if let Some(named) = self.named_grids.get_mut(&key) {
            *named = Some(grid.to_string());
        }
        let seq = self.numbers.next()?;
        self.db.execute(
            self.tx,
            "UPDATE entities SET grid_id = $3, seq = $4, updated_at_ms = $5 WHERE kind = $1 AND id = $2",
            &[&kind.as_str(), &id, &grid, &seq, &now_ms],
        )?;
        Ok(())
    }

    fn join_handover(&mut self, handover_id: &str, kind: EntityKind, id: &str) -> StorageResult<()> {
        // it lists the record under its stored change number: written first
        self.flush()?;
        super::handover::join(self.db, self.tx, handover_id, kind, id)
    }
}

/// The latest back-office stamp any replica wrote (domain/authoring.rs), its row locked until the
/// transaction ends: back-office writes of all replicas stamp one after the other, in commit order.
/// The zero stamp when none (the migration writes the row, so there is always one to lock).
pub(super) fn latest_backoffice_stamp<C: deadpool_postgres::GenericClient + Sync>(
    db: &Db,
    c: &C,
) -> StorageResult<Hlc> {
    let row = db.query_opt(c, "SELECT last_hlc FROM backoffice_clock WHERE single = 1 FOR UPDATE", &[])?;
    crate::storage::parse_backoffice_stamp(row.map(|r| r.at::<String>(0)).transpose()?)
}

pub(super) fn raise_backoffice_stamp<C: deadpool_postgres::GenericClient + Sync>(
    db: &Db,
    c: &C,
    stamp: &Hlc,
) -> StorageResult<()> {
    db.execute(
        c,
        "INSERT INTO backoffice_clock (single, last_hlc) VALUES (1, $1)
         ON CONFLICT (single) DO UPDATE SET last_hlc = excluded.last_hlc",
        &[&stamp.to_string()],
    )?;
    Ok(())
}
