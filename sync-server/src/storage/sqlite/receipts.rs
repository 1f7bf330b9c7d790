//! Signed evidence on SQLite (issue 4): device keys, receipt books, the public check of a paper
//! receipt, the back office's view of one receipt, voids and their decisions, the audit trail.

use gridbook_core::evidence::{self, seal};
use gridbook_core::model::EntityKind;
use gridbook_core::sync::wire::{EntityState, ErrorCode, ReceiptBlock, ReceiptBlockRequest, VerifyResponse};
use rusqlite::{params, Connection, OptionalExtension};

use super::entity_tx::SqliteTx;
use super::records::entity_from_row;
use crate::domain::auth::{DeviceAuth, Role};
use crate::domain::signed;
use crate::storage::entity_tx::EntityTx;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::evidence::{
    AuditFilter, AuditRow, EvidenceReads, ReceiptBlockRow, ReceiptEvidence, VoidDecision, VoidFilter, VoidReviewRow,
};
use crate::storage::generation::{forgotten_book, reclaim_note};
use crate::storage::ListPage;

/// A device may hold at most this many unused numbers; it asks for more below 50, so only a
/// device that hoards (or a bug) reaches it.
pub const MAX_OPEN_NUMBERS: u32 = 500;

/// The public key sent at enrolment, checked: 64 hex digits of a usable Ed25519 key, lower case.
pub(crate) fn checked_public_key(key: Option<&str>) -> StorageResult<Option<String>> {
    let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) else { return Ok(None) };
    let key = key.to_ascii_lowercase();
    match evidence::from_hex::<32>(&key) {
        Ok(bytes) if seal::is_valid_public_key(&bytes) => Ok(Some(key)),
        _ => Err(StorageError::invalid("public_key: an Ed25519 public key, 64 hex digits")),
    }
}

pub(super) fn receipt_no_holder(c: &Connection, receipt_no: &str) -> StorageResult<Option<String>> {
    Ok(c.prepare_cached("SELECT receipt_id FROM receipt_numbers WHERE receipt_no = ?1")?
        .query_row([receipt_no], |r| r.get(0))
        .optional()?)
}

fn device_blocks(c: &Connection, device_id: &str) -> StorageResult<Vec<ReceiptBlock>> {
    let mut stmt = c.prepare_cached(
        "SELECT prefix, first, last, issued_at_ms FROM receipt_blocks WHERE device_id = ?1 ORDER BY issued_at_ms, prefix",
    )?;
    let rows = stmt.query_map([device_id], |r| {
        Ok(ReceiptBlock { prefix: r.get(0)?, first: r.get(1)?, last: r.get(2)?, issued_at_ms: r.get(3)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn receipt_no_issued_to(c: &Connection, receipt_no: &str, device_id: &str) -> StorageResult<bool> {
    // ':' sorts right after '9': the prefix is the part of the number before its three digits.
    let mut stmt = c.prepare_cached(
        "SELECT prefix, first, last, issued_at_ms FROM receipt_blocks
         WHERE device_id = ?1 AND ?2 > prefix AND ?2 < prefix || ':'",
    )?;
    let rows = stmt.query_map(params![device_id, receipt_no], |r| {
        Ok(ReceiptBlock { prefix: r.get(0)?, first: r.get(1)?, last: r.get(2)?, issued_at_ms: r.get(3)? })
    })?;
    for block in rows {
        if block?.contains(receipt_no) {
            return Ok(true);
        }
    }
    reclaimed(c, receipt_no, device_id)
}

/// After a restore, a receipt sent again may carry a number from a book the server issued after
/// the backup and then forgot. Its book is re-claimed for the device that used it, once: the
/// books of this generation carry its own tag (`issue_block`), so a forgotten book is never
/// issued again, and the first device to use a number of it holds the whole book from then on.
fn reclaimed(c: &Connection, receipt_no: &str, device_id: &str) -> StorageResult<bool> {
    let (generation, tag) = super::backup::read_generation(c)?;
    if generation.restored_from_ms == 0 {
        return Ok(false); // never restored: nothing was forgotten
    }
    let Some((block, book_no)) = forgotten_book(receipt_no, &tag) else { return Ok(false) };
    let prefix = block.prefix.as_str();
    let known = c
        .prepare_cached("SELECT 1 FROM receipt_blocks WHERE prefix = ?1")?
        .query_row([prefix], |_| Ok(()))
        .optional()?
        .is_some();
    if known {
        return Ok(false); // issued in this generation, or before the backup: its owner is known
    }
    let now = crate::now_ms();
    // book_no is unique and this generation counts on from the backup's last: a re-claimed book
    // takes the next free number below zero instead
    let row_no: i64 =
        c.query_row("SELECT min(coalesce(min(book_no), 0), 0) - 1 FROM receipt_blocks", [], |r| r.get(0))?;
    c.prepare_cached(
        "INSERT INTO receipt_blocks (prefix, book_no, device_id, first, last, issued_at_ms, request_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![prefix, row_no, device_id, block.first, block.last, now, format!("reclaimed:{prefix}")])?;
    audit(c, device_id, "receipt_block_reclaimed", prefix, &reclaim_note(book_no, receipt_no), now)?;
    tracing::warn!(device = %device_id, prefix, "receipt book re-claimed after a restore");
    Ok(true)
}

pub(super) fn device_public_keys(c: &Connection, device_id: &str) -> StorageResult<Vec<String>> {
    let mut stmt =
        c.prepare_cached("SELECT public_key FROM device_keys WHERE device_id = ?1 ORDER BY registered_at_ms DESC")?;
    let rows = stmt.query_map([device_id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn audit(
    c: &Connection,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
    now_ms: i64,
) -> StorageResult<()> {
    c.prepare_cached("INSERT INTO audit_log (at_ms, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![now_ms, actor, action, subject, detail])?;
    Ok(())
}

/// Numbers of a block on receipts the server accepted.
fn used_in(c: &Connection, block: &ReceiptBlock) -> StorageResult<u32> {
    let mut stmt =
        c.prepare_cached("SELECT receipt_no FROM receipt_numbers WHERE receipt_no > ?1 AND receipt_no < ?1 || ':'")?;
    let rows = stmt.query_map([&block.prefix], |r| r.get::<_, String>(0))?;
    let mut used = 0;
    for no in rows {
        if block.contains(&no?) {
            used += 1;
        }
    }
    Ok(used)
}

/// Issues the device a new book. `book_tag` is the generation's (empty until the first restore):
/// a restored server's books never share a prefix with one it issued and then forgot.
pub(super) fn issue_block(
    c: &Connection,
    device: &DeviceAuth,
    req: &ReceiptBlockRequest,
    book_tag: &str,
    now_ms: i64,
) -> StorageResult<ReceiptBlock> {
    let request_id = req.request_id.to_string();
    let existing = c
        .prepare_cached(
            "SELECT prefix, device_id, first, last, issued_at_ms FROM receipt_blocks WHERE request_id = ?1",
        )?
        .query_row([&request_id], |r| {
            Ok((
                r.get::<_, String>(1)?,
                ReceiptBlock { prefix: r.get(0)?, first: r.get(2)?, last: r.get(3)?, issued_at_ms: r.get(4)? },
            ))
        })
        .optional()?;
    if let Some((owner, block)) = existing {
        if owner != device.device_id {
            return Err(StorageError::conflict(ErrorCode::RequestTaken, "this request id was used by another device"));
        }
        return Ok(block); // a retry: the same book
    }
    let mut open = 0u32;
    for block in device_blocks(c, &device.device_id)? {
        open += block.len().saturating_sub(used_in(c, &block)?);
    }
    if open >= MAX_OPEN_NUMBERS {
        return Err(StorageError::conflict(
            ErrorCode::TooManyOpenNumbers,
            format!("this device still holds {open} unused receipt numbers; use them first"),
        ));
    }
    let book_no: i64 = c.query_row("SELECT coalesce(max(book_no), 0) + 1 FROM receipt_blocks", [], |r| r.get(0))?;
    let block = ReceiptBlock {
        prefix: format!("SJ{book_tag}{book_no:06}-"),
        first: 1,
        last: ReceiptBlock::SIZE,
        issued_at_ms: now_ms,
    };
    c.prepare_cached(
        "INSERT INTO receipt_blocks (prefix, book_no, device_id, first, last, issued_at_ms, request_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![block.prefix, book_no, device.device_id, block.first, block.last, now_ms, request_id])?;
    audit(
        c,
        &device.device_id,
        "receipt_block_issued",
        &block.prefix,
        &format!("numbers {}..={} (device had {} left)", block.first, block.last, req.numbers_left),
        now_ms,
    )?;
    tracing::info!(device = %device.device_id, prefix = %block.prefix, "receipt block issued");
    Ok(block)
}

pub(super) fn blocks(c: &Connection, device_id: Option<&str>) -> StorageResult<Vec<ReceiptBlockRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT prefix, device_id, first, last, issued_at_ms FROM receipt_blocks
         WHERE ?1 IS NULL OR device_id = ?1 ORDER BY book_no",
    )?;
    let rows = stmt.query_map([device_id], |r| {
        Ok(ReceiptBlockRow {
            prefix: r.get(0)?,
            device_id: r.get(1)?,
            first: r.get(2)?,
            last: r.get(3)?,
            issued_at_ms: r.get(4)?,
            used: 0,
        })
    })?;
    let mut out: Vec<ReceiptBlockRow> = rows.collect::<Result<_, _>>()?;
    for row in &mut out {
        let block = ReceiptBlock {
            prefix: row.prefix.clone(),
            first: row.first,
            last: row.last,
            issued_at_ms: row.issued_at_ms,
        };
        row.used = used_in(c, &block)?;
    }
    Ok(out)
}

fn load(c: &Connection, kind: EntityKind, id: &str) -> StorageResult<Option<EntityState>> {
    let row = c
        .prepare_cached("SELECT vals, base_hlc, clocks FROM entities WHERE kind = ?1 AND id = ?2")?
        .query_row([kind.as_str(), id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, String>(2)?))
        })
        .optional()?;
    row.map(|(vals, base, clocks)| entity_from_row(kind, id.to_string(), &vals, base, &clocks)).transpose()
}

/// The reads of the receipt check (storage/evidence.rs) on one SQLite connection.
struct Reads<'c>(&'c Connection);

impl EvidenceReads for Reads<'_> {
    fn receipt_no_holder(&mut self, receipt_no: &str) -> StorageResult<Option<String>> {
        receipt_no_holder(self.0, receipt_no)
    }
    fn load(&mut self, kind: EntityKind, id: &str) -> StorageResult<Option<EntityState>> {
        load(self.0, kind, id)
    }
    fn device_public_keys(&mut self, device_id: &str) -> StorageResult<Vec<String>> {
        device_public_keys(self.0, device_id)
    }
    fn void_status(&mut self, receipt_id: &str) -> StorageResult<Option<String>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT status FROM void_reviews WHERE receipt_id = ?1 ORDER BY status = 'approved' DESC, requested_at_ms DESC LIMIT 1",
            )?
            .query_row([receipt_id], |r| r.get(0))
            .optional()?)
    }
}

pub(super) fn verify(c: &Connection, receipt_no: &str, code: &str) -> StorageResult<VerifyResponse> {
    crate::storage::evidence::verify(&mut Reads(c), receipt_no, code)
}

pub(super) fn evidence(c: &Connection, receipt_no: &str) -> StorageResult<Option<ReceiptEvidence>> {
    crate::storage::evidence::evidence(&mut Reads(c), receipt_no)
}

const VOID_SELECT: &str =
    "SELECT v.void_id, v.receipt_id, json_extract(r.vals, '$.receipt_no'), json_extract(r.vals, '$.amount_fen'),
        r.grid_id, coalesce(json_extract(e.vals, '$.reason'), ''), v.device_id, v.requested_at_ms, v.status,
        v.decided_by, v.decided_at_ms, v.note
    FROM void_reviews v
    LEFT JOIN entities r ON r.kind = 'receipt' AND r.id = v.receipt_id
    LEFT JOIN entities e ON e.kind = 'receipt_void' AND e.id = v.void_id";

fn void_row(r: &rusqlite::Row) -> rusqlite::Result<VoidReviewRow> {
    Ok(VoidReviewRow {
        void_id: r.get(0)?,
        receipt_id: r.get(1)?,
        receipt_no: r.get(2)?,
        amount_fen: r.get(3)?,
        grid_id: r.get(4)?,
        reason: r.get(5)?,
        requested_by_device: r.get(6)?,
        requested_at_ms: r.get(7)?,
        status: r.get(8)?,
        decided_by: r.get(9)?,
        decided_at_ms: r.get(10)?,
        note: r.get(11)?,
    })
}

pub(super) fn void_reviews(c: &Connection, status: Option<&str>, limit: u32) -> StorageResult<Vec<VoidReviewRow>> {
    let mut stmt = c.prepare_cached(&format!(
        "{VOID_SELECT} WHERE ?1 IS NULL OR v.status = ?1 ORDER BY v.requested_at_ms DESC, v.void_id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![status, limit], void_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One page of the voids of `page.grids`' receipts that `filter` names, with the count of all.
pub(super) fn void_reviews_page(
    c: &Connection,
    filter: &VoidFilter,
    page: &ListPage,
) -> StorageResult<(u64, Vec<VoidReviewRow>)> {
    const WHERE: &str = "WHERE (?1 IS NULL OR v.status = ?1)
          AND (?2 IS NULL OR r.grid_id IN (SELECT value FROM json_each(?2)))
          AND (?3 IS NULL OR v.receipt_id = ?3) AND (?4 IS NULL OR v.void_id = ?4)";
    let grids = page.grids_json();
    let (status, receipt, void) = (&filter.status, &filter.receipt_id, &filter.void_id);
    let total: i64 = c
        .prepare_cached(&format!(
            "SELECT count(*) FROM void_reviews v LEFT JOIN entities r ON r.kind = 'receipt' AND r.id = v.receipt_id {WHERE}"
        ))?
        .query_row(params![status, grids, receipt, void], |r| r.get(0))?;
    let mut stmt = c.prepare_cached(&format!(
        "{VOID_SELECT} {WHERE} ORDER BY v.requested_at_ms DESC, v.void_id LIMIT ?5 OFFSET ?6"
    ))?;
    let rows = stmt.query_map(params![status, grids, receipt, void, page.limit, page.offset], void_row)?;
    Ok((u64::try_from(total).unwrap_or(0), rows.collect::<Result<_, _>>()?))
}

fn void_review(c: &Connection, void_id: &str) -> StorageResult<Option<VoidReviewRow>> {
    Ok(c.prepare_cached(&format!("{VOID_SELECT} WHERE v.void_id = ?1"))?.query_row([void_id], void_row).optional()?)
}

pub(super) fn decide_void(
    etx: &mut SqliteTx,
    void_id: &str,
    decision: VoidDecision,
    by: &str,
    note: &str,
    now_ms: i64,
) -> StorageResult<VoidReviewRow> {
    let c: &Connection = etx.tx;
    let role: Option<String> =
        c.prepare_cached("SELECT role FROM managers WHERE id = ?1")?.query_row([by], |r| r.get(0)).optional()?;
    if !matches!(role.as_deref().and_then(Role::parse), Some(Role::Supervisor | Role::Admin)) {
        return Err(StorageError::denied(
            ErrorCode::Forbidden,
            format!("{by} is not a back-office supervisor or admin"),
        ));
    }
    let review = void_review(c, void_id)?.ok_or_else(|| StorageError::not_found(format!("no void {void_id}")))?;
    if review.status != "pending" {
        return Err(StorageError::conflict(
            ErrorCode::AlreadyDecided,
            format!("void {void_id} was already {}", review.status),
        ));
    }
    let note = note.trim();
    if note.chars().count() > 500 {
        return Err(StorageError::invalid("note: at most 500 characters"));
    }
    let (status, action) = match decision {
        VoidDecision::Approve => ("approved", "void_approved"),
        VoidDecision::Refuse => ("refused", "void_refused"),
    };
    if decision == VoidDecision::Approve {
        if Reads(c).void_status(&review.receipt_id)?.as_deref() == Some("approved") {
            return Err(StorageError::conflict(
                ErrorCode::AlreadyVoided,
                format!("receipt {} is already voided", review.receipt_id),
            ));
        }
        // The receipt no longer pays off the account: its amount is owed again.
        if let Some((receipt, _)) = etx.load(EntityKind::Receipt, &review.receipt_id)? {
            let account = receipt.value("account_id").as_str().unwrap_or_default().to_string();
            let amount = receipt.value("amount_fen").as_i64().unwrap_or(0);
            signed::adjust_owed(etx, &account, amount, now_ms)?;
        }
    }
    let c: &Connection = etx.tx;
    c.prepare_cached(
        "UPDATE void_reviews SET status = ?2, decided_by = ?3, decided_at_ms = ?4, note = ?5 WHERE void_id = ?1",
    )?
    .execute(params![void_id, status, by, now_ms, note])?;
    let detail = format!(
        "receipt {}{}",
        review.receipt_no.as_deref().unwrap_or(&review.receipt_id),
        if note.is_empty() { String::new() } else { format!(": {note}") }
    );
    audit(c, by, action, void_id, &detail, now_ms)?;
    void_review(c, void_id)?.ok_or_else(|| StorageError::internal("the void vanished"))
}

pub(super) fn audit_log(c: &Connection, subject: Option<&str>, limit: u32) -> StorageResult<Vec<AuditRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT at_ms, actor, action, subject, detail FROM audit_log WHERE ?1 IS NULL OR subject = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![subject, limit], |r| {
        Ok(AuditRow { at_ms: r.get(0)?, actor: r.get(1)?, action: r.get(2)?, subject: r.get(3)?, detail: r.get(4)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One page of the audit trail under `filter`, newest first, and how many rows match in all.
pub(super) fn audit_page(
    c: &Connection,
    filter: &AuditFilter,
    offset: u32,
    limit: u32,
) -> StorageResult<(u64, Vec<AuditRow>)> {
    const WHERE: &str =
        "WHERE (?1 IS NULL OR subject = ?1) AND (?2 IS NULL OR action = ?2) AND (?3 IS NULL OR actor = ?3)
         AND (?4 IS NULL OR at_ms >= ?4) AND (?5 IS NULL OR at_ms < ?5)";
    let f = filter;
    let args = params![f.subject, f.action, f.actor, f.since_ms, f.until_ms];
    let total: i64 =
        c.prepare_cached(&format!("SELECT count(*) FROM audit_log {WHERE}"))?.query_row(args, |r| r.get(0))?;
    let mut stmt = c.prepare_cached(&format!(
        "SELECT at_ms, actor, action, subject, detail FROM audit_log {WHERE} ORDER BY id DESC LIMIT ?6 OFFSET ?7"
    ))?;
    let rows = stmt.query_map(params![f.subject, f.action, f.actor, f.since_ms, f.until_ms, limit, offset], |r| {
        Ok(AuditRow { at_ms: r.get(0)?, actor: r.get(1)?, action: r.get(2)?, subject: r.get(3)?, detail: r.get(4)? })
    })?;
    Ok((u64::try_from(total).unwrap_or(0), rows.collect::<Result<_, _>>()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_of(c: &Connection) -> Vec<(String, String, String)> {
        let mut stmt = c
            .prepare("SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(|r| r.unwrap()).collect()
    }

    #[test]
    fn a_server_database_of_version_1_upgrades_to_the_fresh_schema_and_keeps_device_keys() {
        let dir = tempfile::tempdir().unwrap();
        let old_path = dir.path().join("old.db");
        {
            let c = Connection::open(&old_path).unwrap();
            c.execute_batch(&super::super::schema::steps_upto(1)).unwrap();
            c.execute_batch(
                "INSERT INTO managers (id, name, role, created_at_ms) VALUES ('m1', '张', 'field', 0);
                 INSERT INTO devices (id, manager_id, token_hash, public_key, enrolled_at_ms)
                 VALUES ('d1', 'm1', 't', 'ABCDEF', 5), ('d2', 'm1', 't2', NULL, 6);",
            )
            .unwrap();
            c.pragma_update(None, "user_version", 1).unwrap();
        }
        let old = super::super::SqliteStorage::open(&old_path).unwrap();
        let fresh = super::super::SqliteStorage::open(dir.path().join("fresh.db")).unwrap();
        let (a, b) = (old.read(|c| Ok(schema_of(c))).unwrap(), fresh.read(|c| Ok(schema_of(c))).unwrap());
        assert_eq!(a, b);
        let keys = old.read(|c| device_public_keys(c, "d1")).unwrap();
        assert_eq!(keys, vec!["abcdef".to_string()]);
        assert!(old.read(|c| device_public_keys(c, "d2")).unwrap().is_empty());
        let version: i64 = old.read(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?)).unwrap();
        assert_eq!(version, super::super::schema::SCHEMA_VERSION);
    }

    #[test]
    fn public_keys_are_checked_at_enrolment() {
        let good = evidence::to_hex(&evidence::DeviceKey::from_bytes(&[3; 32]).public_key_bytes());
        assert_eq!(checked_public_key(Some(&good.to_uppercase())).unwrap(), Some(good));
        assert_eq!(checked_public_key(None).unwrap(), None);
        assert_eq!(checked_public_key(Some(" ")).unwrap(), None);
        assert!(checked_public_key(Some("abc")).is_err());
        assert!(checked_public_key(Some(&"00".repeat(32))).is_err(), "a weak key");
    }
}
