//! Change numbers that pulls can page by without skipping a row while many transactions on many
//! replicas write at once (docs/postgres.md, "The change cursor").
//!
//! A plain sequence skips rows: number 8 can commit before number 7, and a phone that paged past
//! 8 never sees 7. Here a change number is the writing transaction's id (`pg_current_xact_id()`,
//! 64 bits, never reused) shifted left by `PER_TX_BITS`, plus a count within that transaction; a
//! pull serves only numbers below the watermark: the oldest transaction id still running in its
//! snapshot (`pg_snapshot_xmin(pg_current_snapshot())`), shifted the same way. Every transaction
//! below it has ended, so every row numbered below it is final in the snapshot, and every
//! transaction that commits later has an id at or above it: its rows number above the cursor of
//! anyone who paged up to the watermark. Writers never wait for each other for this; a long
//! transaction holds the watermark back (pulls lag behind it; it is what to monitor), never
//! forward.

use super::pool::Db;
use crate::storage::error::{StorageError, StorageResult};

/// Bits of a change number counted within one transaction: a transaction writes at most about a
/// million changes (a push takes at most 10,000 ops).
pub(super) const PER_TX_BITS: u32 = 20;

/// Transaction ids up to this fit a change number in 63 bits (a `BIGINT`, and the wire's u64).
const MAX_XID: i64 = i64::MAX >> PER_TX_BITS;

/// The change numbers of one write transaction, handed out in order.
#[derive(Debug)]
pub(super) struct Numbers {
    next: i64,
    end: i64,
}

impl Numbers {
    /// The first number of transaction `xid`.
    pub(super) fn of_transaction(xid: i64) -> StorageResult<Self> {
        if !(0..=MAX_XID).contains(&xid) {
            return Err(StorageError::internal(format!("transaction id {xid} does not fit a change number")));
        }
        let first = xid << PER_TX_BITS;
        Ok(Self { next: first, end: first + (1 << PER_TX_BITS) })
    }

    /// The writing transaction's numbers: this assigns it its id now, if it had none.
    pub(super) fn begin<C: deadpool_postgres::GenericClient + Sync>(db: &Db, tx: &C) -> StorageResult<Self> {
        let xid: i64 = db.query_one(tx, "SELECT pg_current_xact_id()::text::bigint", &[])?.get(0);
        Self::of_transaction(xid)
    }

    /// `n` consecutive numbers at once (a grid's records renumbered by a handover); the first.
    pub(super) fn reserve(&mut self, n: i64) -> StorageResult<i64> {
        if n < 0 || n > self.end - self.next {
            return Err(StorageError::invalid(format!(
                "一个事务最多写 {} 条变更 one transaction writes at most {} changes",
                1u64 << PER_TX_BITS,
                1u64 << PER_TX_BITS
            )));
        }
        self.next += n;
        Ok(self.next - n)
    }

    pub(super) fn next(&mut self) -> StorageResult<i64> {
        self.reserve(1)
    }
}

/// The watermark as an SQL expression, for a statement that reads below it in its own snapshot.
/// (`xmin` is at most `MAX_XID` for as long as change numbers fit: `Numbers` refuses beyond it.)
pub(super) const WATERMARK_SQL: &str = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 20";

/// The watermark of the reading transaction's snapshot: every change number below it is final.
pub(super) fn watermark<C: deadpool_postgres::GenericClient + Sync>(db: &Db, tx: &C) -> StorageResult<i64> {
    let xmin: i64 = db.query_one(tx, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint", &[])?.get(0);
    Ok(xmin.clamp(0, MAX_XID) << PER_TX_BITS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watermark_in_sql_shifts_as_the_numbers_do() {
        assert!(WATERMARK_SQL.ends_with(&format!("<< {PER_TX_BITS}")));
    }

    #[test]
    fn numbers_of_a_transaction_stay_between_its_id_and_the_next() {
        let mut a = Numbers::of_transaction(741).unwrap();
        let first = a.next().unwrap();
        let second = a.next().unwrap();
        assert_eq!((first, second), (741 << PER_TX_BITS, (741 << PER_TX_BITS) + 1));
        let next_tx = Numbers::of_transaction(742).unwrap().next().unwrap();
        assert!(second < next_tx);
        assert!(Numbers::of_transaction(MAX_XID + 1).is_err());
        assert!(Numbers::of_transaction(-1).is_err());
    }

    #[test]
    fn a_transaction_cannot_spill_into_the_next_ones_numbers() {
        let mut a = Numbers::of_transaction(5).unwrap();
        a.next = a.end - 1;
        assert!(a.next().is_ok());
        assert!(a.next().is_err());
        let mut b = Numbers::of_transaction(6).unwrap();
        assert_eq!(b.reserve(3).unwrap(), 6 << PER_TX_BITS);
        assert_eq!(b.next().unwrap(), (6 << PER_TX_BITS) + 3, "after the reserved ones");
        assert!(b.reserve(1 << PER_TX_BITS).is_err());
        assert!(b.reserve(-1).is_err());
    }
}
