//! Receipt books on PostgreSQL (issue 4): blocks of receipt numbers issued to devices — a retried
//! request (same id) gets the same book, a device holds at most `MAX_OPEN_NUMBERS` unused numbers,
//! and book numbers stay dense and unique while several replicas issue at once (issuing takes one
//! advisory lock: books are asked for rarely, a few a day per phone) — the audit-log query, and
//! the reads of the public receipt check and of a receipt's evidence (storage/evidence.rs checks).
//! The rules and texts are the SQLite backend's (sqlite/receipts.rs).

use deadpool_postgres::GenericClient;
use gridbook_core::sync::wire::{ErrorCode, ReceiptBlock, ReceiptBlockRequest};

use super::pool::{Db, RowExt};
use super::PostgresStorage;
use crate::domain::auth::DeviceAuth;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::evidence::{AuditFilter, AuditRow, EvidenceReads, ReceiptBlockRow, ReceiptEvidence};
use crate::storage::generation::{forgotten_book, reclaim_note};
use crate::storage::sqlite::MAX_OPEN_NUMBERS;
use gridbook_core::model::EntityKind;
use gridbook_core::sync::wire::{EntityState, VerifyResponse};

/// The advisory lock that issuing a book holds ("books" in ASCII).
const ISSUING_LOCK: i64 = 0x0062_6f6f_6b73;

fn block_of(r: &tokio_postgres::Row, at: usize) -> StorageResult<ReceiptBlock> {
    let number = |i: usize| -> StorageResult<u32> {
        u32::try_from(r.at::<i64>(i)?).map_err(|_| StorageError::internal("stored receipt number out of range"))
    };
    Ok(ReceiptBlock { prefix: r.at(at)?, first: number(at + 1)?, last: number(at + 2)?, issued_at_ms: r.at(at + 3)? })
}

/// Numbers of a block on receipts the server accepted.
fn used_in<C: GenericClient + Sync>(db: &Db, c: &C, block: &ReceiptBlock) -> StorageResult<u32> {
    let rows = db.query(
        c,
        "SELECT receipt_no FROM receipt_numbers WHERE receipt_no > $1 COLLATE \"C\" AND receipt_no < ($1 || ':') COLLATE \"C\"",
        &[&block.prefix],
    )?;
    let mut used = 0;
    for r in rows {
        if block.contains(&r.at::<String>(0)?) {
            used += 1;
        }
    }
    Ok(used)
}

pub(super) fn issue_block(
    s: &PostgresStorage,
    device: &DeviceAuth,
    req: &ReceiptBlockRequest,
    now_ms: i64,
) -> StorageResult<ReceiptBlock> {
    let db = &s.db;
    let request_id = req.request_id.to_string();
    let block = db.write(|tx| {
        db.execute(tx, "SELECT pg_advisory_xact_lock($1)", &[&ISSUING_LOCK])?;
        let existing = db.query_opt(
            tx,
            "SELECT device_id, prefix, first, last, issued_at_ms FROM receipt_blocks WHERE request_id = $1",
            &[&request_id],
        )?;
        if let Some(r) = existing {
            if r.at::<String>(0)? != device.device_id {
                return Err(StorageError::conflict(
                    ErrorCode::RequestTaken,
                    "this request id was used by another device",
                ));
            }
            return block_of(&r, 1); // a retry: the same book
        }
        let mut open = 0u32;
        let held = db.query(
            tx,
            "SELECT prefix, first, last, issued_at_ms FROM receipt_blocks WHERE device_id = $1
             ORDER BY issued_at_ms, prefix COLLATE \"C\"",
            &[&device.device_id],
        )?;
        for r in &held {
            let block = block_of(r, 0)?;
            open += block.len().saturating_sub(used_in(db, tx, &block)?);
        }
        if open >= MAX_OPEN_NUMBERS {
            return Err(StorageError::conflict(
                ErrorCode::TooManyOpenNumbers,
                format!("this device still holds {open} unused receipt numbers; use them first"),
            ));
        }
        let book_no: i64 = db.query_one(tx, "SELECT coalesce(max(book_no), 0) + 1 FROM receipt_blocks", &[])?.at(0)?;
        let block = ReceiptBlock {
            prefix: format!("SJ{}{book_no:06}-", s.book_tag),
            first: 1,
            last: ReceiptBlock::SIZE,
            issued_at_ms: now_ms,
        };
        db.execute(
            tx,
            "INSERT INTO receipt_blocks (prefix, book_no, device_id, first, last, issued_at_ms, request_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &block.prefix,
                &book_no,
                &device.device_id,
                &i64::from(block.first),
                &i64::from(block.last),
                &now_ms,
                &request_id,
            ],
        )?;
        super::records::audit(
            db,
            tx,
            &device.device_id,
            "receipt_block_issued",
            &block.prefix,
            &format!("numbers {}..={} (device had {} left)", block.first, block.last, req.numbers_left),
            now_ms,
        )?;
        Ok(block)
    })?;
    tracing::info!(device = %device.device_id, prefix = %block.prefix, "receipt block issued");
    Ok(block)
}

/// After a restore, a receipt sent again may carry a number from a book the server issued after
/// the restore point and then forgot: the book is re-claimed for the device that used it, once
/// (storage/generation.rs; the same rule as sqlite/receipts.rs). It takes the issuing lock, so a
/// book is re-claimed once and its row number below zero is taken once.
pub(super) fn reclaimed<C: GenericClient + Sync>(
    db: &Db,
    c: &C,
    receipt_no: &str,
    device_id: &str,
) -> StorageResult<bool> {
    let row = db.query_one(c, "SELECT restored_from_ms, book_tag FROM server_generation WHERE single = 1", &[])?;
    if row.at::<i64>(0)? == 0 {
        return Ok(false); // never restored: nothing was forgotten
    }
    let Some((block, book_no)) = forgotten_book(receipt_no, &row.at::<String>(1)?) else { return Ok(false) };
    db.execute(c, "SELECT pg_advisory_xact_lock($1)", &[&ISSUING_LOCK])?;
    if db.query_opt(c, "SELECT 1 FROM receipt_blocks WHERE prefix = $1", &[&block.prefix])?.is_some() {
        return Ok(false); // issued in this generation, or before the restore point: its owner is known
    }
    let now_ms = crate::now_ms();
    // book_no is unique and this generation counts on from the restored last: a re-claimed book
    // takes the next free number below zero instead
    let row_no: i64 =
        db.query_one(c, "SELECT least(coalesce(min(book_no), 0), 0) - 1 FROM receipt_blocks", &[])?.at(0)?;
    db.execute(
        c,
        "INSERT INTO receipt_blocks (prefix, book_no, device_id, first, last, issued_at_ms, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &block.prefix,
            &row_no,
            &device_id,
            &i64::from(block.first),
            &i64::from(block.last),
            &now_ms,
            &format!("reclaimed:{}", block.prefix),
        ],
    )?;
    super::records::audit(
        db,
        c,
        device_id,
        "receipt_block_reclaimed",
        &block.prefix,
        &reclaim_note(book_no, receipt_no),
        now_ms,
    )?;
    tracing::warn!(device = %device_id, prefix = %block.prefix, "receipt book re-claimed after a restore");
    Ok(true)
}

pub(super) fn blocks(s: &PostgresStorage, device_id: Option<&str>) -> StorageResult<Vec<ReceiptBlockRow>> {
    s.db.read(|tx| {
        let rows = s.db.query(
            tx,
            "SELECT device_id, prefix, first, last, issued_at_ms FROM receipt_blocks
             WHERE $1::text IS NULL OR device_id = $1 ORDER BY book_no",
            &[&device_id],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let block = block_of(r, 1)?;
            let used = used_in(&s.db, tx, &block)?;
            out.push(ReceiptBlockRow {
                device_id: r.at(0)?,
                prefix: block.prefix,
                first: block.first,
                last: block.last,
                issued_at_ms: block.issued_at_ms,
                used,
            });
        }
        Ok(out)
    })
}

pub(super) fn audit_log(s: &PostgresStorage, subject: Option<&str>, limit: u32) -> StorageResult<Vec<AuditRow>> {
    let conn = s.db.conn()?;
    let rows = s.db.query(
        &conn,
        "SELECT at_ms, actor, action, subject, detail FROM audit_log WHERE $1::text IS NULL OR subject = $1
         ORDER BY id DESC LIMIT $2",
        &[&subject, &i64::from(limit)],
    )?;
    rows.iter()
        .map(|r| {
            Ok(AuditRow { at_ms: r.at(0)?, actor: r.at(1)?, action: r.at(2)?, subject: r.at(3)?, detail: r.at(4)? })
        })
        .collect()
}

/// One page of the audit trail under `filter`, newest first, and how many rows match in all (one
/// snapshot for both).
pub(super) fn audit_page(
    s: &PostgresStorage,
    filter: &AuditFilter,
    offset: u32,
    limit: u32,
) -> StorageResult<(u64, Vec<AuditRow>)> {
    const WHERE: &str = "WHERE ($1::text IS NULL OR subject = $1) AND ($2::text IS NULL OR action = $2)
         AND ($3::text IS NULL OR actor = $3) AND ($4::bigint IS NULL OR at_ms >= $4) AND ($5::bigint IS NULL OR at_ms < $5)";
    let f = filter;
    s.db.read(|tx| {
        let total: i64 = s
            .db
            .query_one(
                tx,
                &format!("SELECT count(*) FROM audit_log {WHERE}"),
                &[&f.subject, &f.action, &f.actor, &f.since_ms, &f.until_ms],
            )?
            .at(0)?;
        let rows = s.db.query(
            tx,
            &format!(
                "SELECT at_ms, actor, action, subject, detail FROM audit_log {WHERE} ORDER BY id DESC LIMIT $6 OFFSET $7"
            ),
            &[&f.subject, &f.action, &f.actor, &f.since_ms, &f.until_ms, &i64::from(limit), &i64::from(offset)],
        )?;
        let rows = rows
            .iter()
            .map(|r| {
                Ok(AuditRow {
                    at_ms: r.at(0)?,
                    actor: r.at(1)?,
                    action: r.at(2)?,
                    subject: r.at(3)?,
                    detail: r.at(4)?,
                })
            })
            .collect::<StorageResult<Vec<_>>>()?;
        Ok((u64::try_from(total).unwrap_or(0), rows))
    })
}

/// Every Ed25519 public key (hex) the device registered, newest first.
pub(super) fn device_public_keys<C: GenericClient + Sync>(
    db: &Db,
    c: &C,
    device_id: &str,
) -> StorageResult<Vec<String>> {
    let rows = db.query(
        c,
        "SELECT public_key FROM device_keys WHERE device_id = $1 ORDER BY registered_at_ms DESC",
        &[&device_id],
    )?;
    rows.iter().map(|r| r.at(0)).collect()
}

/// The reads of the receipt check on one REPEATABLE READ snapshot.
struct Reads<'a> {
    db: &'a Db,
    tx: &'a deadpool_postgres::Transaction<'a>,
}

impl EvidenceReads for Reads<'_> {
    fn receipt_no_holder(&mut self, receipt_no: &str) -> StorageResult<Option<String>> {
        self.db
            .query_opt(self.tx, "SELECT receipt_id FROM receipt_numbers WHERE receipt_no = $1", &[&receipt_no])?
            .map(|r| r.at(0))
            .transpose()
    }
    fn load(&mut self, kind: EntityKind, id: &str) -> StorageResult<Option<EntityState>> {
        let row = self.db.query_opt(
            self.tx,
            "SELECT vals, base_hlc, clocks FROM entities WHERE kind = $1 AND id = $2",
            &[&kind.as_str(), &id],
        )?;
        row.map(|r| {
            crate::storage::sqlite::entity_from_row(
                kind,
                id.to_string(),
                &r.at::<String>(0)?,
                r.at(1)?,
                &r.at::<String>(2)?,
            )
        })
        .transpose()
    }
    fn device_public_keys(&mut self, device_id: &str) -> StorageResult<Vec<String>> {
        device_public_keys(self.db, self.tx, device_id)
    }
    fn void_status(&mut self, receipt_id: &str) -> StorageResult<Option<String>> {
        self.db
            .query_opt(
                self.tx,
                "SELECT status FROM void_reviews WHERE receipt_id = $1
                 ORDER BY status = 'approved' DESC, requested_at_ms DESC LIMIT 1",
                &[&receipt_id],
            )?
            .map(|r| r.at(0))
            .transpose()
    }
}

pub(super) fn verify(s: &PostgresStorage, receipt_no: &str, code: &str) -> StorageResult<VerifyResponse> {
    s.db.read(|tx| crate::storage::evidence::verify(&mut Reads { db: &s.db, tx }, receipt_no, code))
}

pub(super) fn evidence(s: &PostgresStorage, receipt_no: &str) -> StorageResult<Option<ReceiptEvidence>> {
    s.db.read(|tx| crate::storage::evidence::evidence(&mut Reads { db: &s.db, tx }, receipt_no))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::auth::Role;
    use crate::storage::postgres::test_cluster::TestCluster;
    use crate::storage::SyncStorage;

    fn device(id: &str) -> DeviceAuth {
        DeviceAuth {
            device_id: id.into(),
            manager_id: "zhang".into(),
            role: Role::Field,
            grids: vec!["g1".into()],
            wipe: None,
            collector: Default::default(),
        }
    }

    #[test]
    fn books_issued_at_once_on_many_connections_are_numbered_once_each_and_a_retry_gets_its_book() {
        let cluster = TestCluster::shared().expect("PostgreSQL 15 for the tests (.ci/install-tools)");
        let s = PostgresStorage::open(&cluster.create_database().expect("database")).expect("storage");
        s.create_grid("g1", "一网格", 0).expect("grid");
        s.create_manager("zhang", "张伟", Role::Field, None, 0).expect("manager");
        s.assign_grid("zhang", "g1").expect("assign");
        let tokens: Vec<_> = (0..6)
            .map(|i| {
                let code = s.create_enrol_code("zhang", 0, 3_600_000).expect("code");
                let request = gridbook_core::sync::wire::EnrolRequest {
                    protocol: gridbook_core::sync::wire::PROTOCOL_VERSION,
                    code,
                    device_id: format!("phone{i}"),
                    app_version: "2.1.0".into(),
                    public_key: None,
                };
                s.enrol(&request, 1).expect("enrol").device_id
            })
            .collect();
        let requests: Vec<_> = tokens
            .iter()
            .map(|d| {
                (
                    d.clone(),
                    ReceiptBlockRequest {
                        protocol: gridbook_core::sync::wire::PROTOCOL_VERSION,
                        request_id: uuid::Uuid::now_v7(),
                        numbers_left: 0,
                    },
                )
            })
            .collect();
        let issued: Vec<ReceiptBlock> = std::thread::scope(|scope| {
            let runs: Vec<_> = requests
                .iter()
                .map(|(d, req)| scope.spawn(|| s.issue_receipt_block(&device(d), req, 5).expect("block")))
                .collect();
            runs.into_iter().map(|r| r.join().expect("thread")).collect()
        });
        let mut prefixes: Vec<&str> = issued.iter().map(|b| b.prefix.as_str()).collect();
        prefixes.sort();
        let expected: Vec<String> = (1..=6).map(|n| format!("SJ{n:06}-")).collect();
        assert_eq!(prefixes, expected, "dense and unique");

        let (d, req) = &requests[2];
        assert_eq!(s.issue_receipt_block(&device(d), req, 9).expect("retry"), issued[2], "a retry: the same book");
        let taken = s.issue_receipt_block(&device(&requests[3].0), req, 9).expect_err("another device's request id");
        assert_eq!(taken.code(), ErrorCode::RequestTaken);
        // 100 unused numbers a book: five more books reach the cap of 500
        for _ in 0..4 {
            let again = ReceiptBlockRequest {
                protocol: gridbook_core::sync::wire::PROTOCOL_VERSION,
                request_id: uuid::Uuid::now_v7(),
                numbers_left: 0,
            };
            s.issue_receipt_block(&device(d), &again, 9).expect("below the cap");
        }
        let over = ReceiptBlockRequest {
            protocol: gridbook_core::sync::wire::PROTOCOL_VERSION,
            request_id: uuid::Uuid::now_v7(),
            numbers_left: 0,
        };
        assert_eq!(s.issue_receipt_block(&device(d), &over, 9).expect_err("cap").code(), ErrorCode::TooManyOpenNumbers);

        let rows = s.receipt_blocks(Some(d)).expect("blocks");
        assert_eq!(rows.len(), 5);
        assert!(rows.iter().all(|r| r.device_id == *d && r.used == 0));
        assert_eq!(s.receipt_blocks(None).expect("all").len(), 10);
        let audit = s.audit_log(Some(&issued[2].prefix), 10).expect("audit");
        assert_eq!(audit.len(), 1);
        assert_eq!((audit[0].actor.as_str(), audit[0].action.as_str()), (d.as_str(), "receipt_block_issued"));
    }
}
