//! The device database schema, versioned with `PRAGMA user_version`: one upgrade step per version,
//! a fresh database made at the latest version directly, and a refusal to open a database newer
//! than this code (an old app must not scribble on a newer app's data).
//!
//! Synced tables carry no SQL foreign keys on purpose: remote changes arrive in any order (a visit
//! can arrive before its household), so references are checked on local writes and by the server.

use rusqlite::Connection;

use crate::error::{Error, Result};

pub const LATEST_VERSION: i64 = 18;

/// Version 1: the archive, visits, arrears, receipts, the outbox and device metadata.
const V1_TABLES: &str = r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- Who saw personal data in full, and why. Local only.
CREATE TABLE access_log (at_ms INTEGER NOT NULL, household_id TEXT NOT NULL, purpose TEXT NOT NULL);

CREATE TABLE premises (
    id TEXT PRIMARY KEY, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}',
    grid_id TEXT, premises_type TEXT, name TEXT, community TEXT, street TEXT, address TEXT,
    floors INTEGER, notes TEXT, deleted INTEGER
);
CREATE INDEX premises_by_grid ON premises (grid_id, premises_type, name);

CREATE TABLE households (
    id TEXT PRIMARY KEY, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}',
    grid_id TEXT, premises_id TEXT, unit TEXT, floor INTEGER, room TEXT, address TEXT,
    customer_name TEXT, landline TEXT, mobile TEXT, other_contact TEXT, id_type TEXT,
    id_number TEXT, work_unit TEXT, services TEXT, competitor_services TEXT, area TEXT,
    segment TEXT, tier TEXT, opinions TEXT, birthday TEXT, notes TEXT, deleted INTEGER
);
CREATE INDEX households_by_premises ON households (premises_id, unit, floor, room);
CREATE INDEX households_by_grid ON households (grid_id);

CREATE TABLE arrears_accounts (
    id TEXT PRIMARY KEY, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}',
    grid_id TEXT, household_id TEXT, account_no TEXT, service_number TEXT, payment_type TEXT,
    owed_fen INTEGER, months_overdue INTEGER, balance_fen INTEGER, as_of_ms INTEGER, deleted INTEGER
);
CREATE INDEX arrears_by_grid ON arrears_accounts (grid_id, owed_fen DESC, months_overdue DESC);
CREATE INDEX arrears_by_household ON arrears_accounts (household_id);

CREATE TABLE arrears_notices (
    id TEXT PRIMARY KEY, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}',
    grid_id TEXT, account_id TEXT, household_id TEXT, channel TEXT, given_at_ms INTEGER,
    zone_offset_min INTEGER, outcome TEXT, promised_pay_at_ms INTEGER, notes TEXT, manager_id TEXT
);
CREATE INDEX notices_by_household ON arrears_notices (household_id, given_at_ms);

CREATE TABLE visits (
    id TEXT PRIMARY KEY, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}',
    grid_id TEXT, household_id TEXT, appointment_at_ms INTEGER, arrived_at_ms INTEGER,
    zone_offset_min INTEGER, lat_e6 INTEGER, lon_e6 INTEGER, purpose TEXT, outcome TEXT,
    needs TEXT, competitor_info TEXT, opinions TEXT, open_question TEXT, follow_up TEXT,
    follow_up_due TEXT, signature_id TEXT, manager_id TEXT
);
CREATE INDEX visits_by_household ON visits (household_id, arrived_at_ms);
CREATE INDEX visits_by_follow_up ON visits (grid_id, follow_up_due) WHERE follow_up_due <> '';

CREATE TABLE receipts (
    id TEXT PRIMARY KEY, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}',
    grid_id TEXT, receipt_no TEXT, account_id TEXT, household_id TEXT, owed_before_fen INTEGER,
    amount_fen INTEGER, cash_received_fen INTEGER, change_fen INTEGER, method TEXT,
    collected_at_ms INTEGER, zone_offset_min INTEGER, collector_id TEXT, device_id TEXT,
    lat_e6 INTEGER, lon_e6 INTEGER, signature_id TEXT
);
-- Not unique: the server enforces uniqueness across phones; a duplicate pulled from another
-- phone must never wedge the pull (docs/field.md, sync 4). Local writes check it themselves.
CREATE INDEX receipts_by_number ON receipts (receipt_no);
CREATE INDEX receipts_by_household ON receipts (household_id, collected_at_ms);
CREATE INDEX receipts_by_account ON receipts (account_id);

CREATE TABLE receipt_voids (
    id TEXT PRIMARY KEY, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}',
    grid_id TEXT, receipt_id TEXT, reason TEXT, voided_at_ms INTEGER, voided_by TEXT
);
CREATE INDEX voids_by_receipt ON receipt_voids (receipt_id);

-- Every local change, until the server acknowledges it. Rejected ops stay, with the reason.
CREATE TABLE outbox (
    -- rowid order is creation order (new rows always get max + 1); no AUTOINCREMENT, which
    -- would write sqlite_sequence on every change
    seq INTEGER PRIMARY KEY,
    op_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    hlc TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'rejected')),
    reject_code TEXT,
    reject_reason TEXT,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX outbox_by_entity ON outbox (entity_id, status);
"#;

/// Version 2: search over the archive (FTS5 trigram: substrings of Chinese names, phone digits,
/// addresses and service numbers) and the indexes of the duplicate check.
const V2_SEARCH: &str = r#"
CREATE VIRTUAL TABLE household_search USING fts5(
    customer_name, mobile, landline, address, service_numbers,
    tokenize = 'trigram', content = '', contentless_delete = 1
);
-- Kept up to date by the write path (search_index.rs), not by triggers.
CREATE INDEX households_by_id_number ON households (id_number) WHERE id_number <> '';
CREATE INDEX households_by_mobile ON households (mobile) WHERE mobile <> '';
CREATE INDEX households_by_landline ON households (landline) WHERE landline <> '';
"#;

/// Fills the search index from households that existed before version 2.
const V2_BACKFILL: &str = r#"
INSERT INTO household_search (rowid, customer_name, mobile, landline, address, service_numbers)
SELECT rowid, customer_name, mobile, landline, address,
    (SELECT group_concat(json_extract(value, '$.service_number'), ' ') FROM json_each(services))
FROM households;
"#;

/// Version 3: signed evidence. The customers' signatures (synced, insert-only) and the receipt
/// number blocks the server issued to this device (local only, like the paper receipt books a
/// manager carries: docs/field.md, field work 4). A block's `next` is where allocation resumes;
/// numbers already on a receipt are skipped.
const V3_EVIDENCE: &str = r#"
CREATE TABLE signatures (
    id TEXT PRIMARY KEY, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}',
    grid_id TEXT, document_kind TEXT, document_id TEXT, document_hash TEXT, strokes TEXT,
    strokes_hash TEXT, signer_name TEXT, relation TEXT, hlc TEXT, device_id TEXT,
    device_signature TEXT, flags TEXT
);
CREATE INDEX signatures_by_document ON signatures (document_id);

CREATE TABLE receipt_blocks (
    prefix TEXT PRIMARY KEY,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    next INTEGER NOT NULL,
    issued_at_ms INTEGER NOT NULL,
    received_at_ms INTEGER NOT NULL,
    CHECK (first >= 1 AND first <= last AND next >= first)
);
"#;

/// Version 4: field workflows (issue 7). Appointments (预约, mutable), sign-ins (签到,
/// insert-only), first-ask tickets (首问负责制, mutable) and submitted day summaries (日工作总结,
/// insert-only), all synced.
const V4_FIELD_WORKFLOWS: &str = r#"
CREATE TABLE appointments (
    id TEXT PRIMARY KEY, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}',
    grid_id TEXT, household_id TEXT, manager_id TEXT, agreed_at_ms INTEGER, zone_offset_min INTEGER,
    purpose TEXT, status TEXT, note TEXT, visit_id TEXT, deleted INTEGER
);
CREATE INDEX appointments_by_grid ON appointments (grid_id, agreed_at_ms);
CREATE INDEX appointments_by_household ON appointments (household_id, agreed_at_ms);

CREATE TABLE sign_ins (
    id TEXT PRIMARY KEY, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}',
    grid_id TEXT, manager_id TEXT, at_ms INTEGER, zone_offset_min INTEGER, lat_e6 INTEGER,
    lon_e6 INTEGER, note TEXT
);
CREATE INDEX sign_ins_by_grid ON sign_ins (grid_id, at_ms);

CREATE TABLE tickets (
    id TEXT PRIMARY KEY, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}',
    grid_id TEXT, household_id TEXT, owner_manager_id TEXT, taken_at_ms INTEGER, channel TEXT,
    kind TEXT, text TEXT, promised_reply_by TEXT, status TEXT, escalated_to TEXT, reply TEXT,
    closed_at_ms INTEGER, closure_confirmed_by_customer INTEGER, deleted INTEGER
);
CREATE INDEX tickets_by_grid ON tickets (grid_id, status, promised_reply_by);
CREATE INDEX tickets_by_household ON tickets (household_id, taken_at_ms);

CREATE TABLE day_summaries (
    id TEXT PRIMARY KEY, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}',
    grid_id TEXT, manager_id TEXT, date TEXT, zone_offset_min INTEGER, made_at_ms INTEGER,
    signed_in_at_ms INTEGER, visits INTEGER, appointments_kept INTEGER, appointments_on_time INTEGER,
    appointments_missed INTEGER, households_created INTEGER, households_updated INTEGER,
    receipts INTEGER, collected_fen INTEGER, notices INTEGER, open_promises INTEGER,
    open_tickets INTEGER, note TEXT
);
CREATE INDEX day_summaries_by_grid ON day_summaries (grid_id, date, made_at_ms);
"#;

/// Version 5: a leaner outbox. Every local write appends one outbox row, so each of its indexes
/// is one more page written per commit. Acknowledgements are settled by sequence number (the
/// device knows which op it sent under which number) and the few lookups by entity scan the
/// outbox, which holds only what is not yet acknowledged; so the op id's unique index and the
/// entity index go. SQLite cannot drop a UNIQUE constraint in place: the table is rebuilt.
const V5_LEAN_OUTBOX: &str = r#"
CREATE TABLE outbox_v5 (
    seq INTEGER PRIMARY KEY,
    op_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    hlc TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'rejected')),
    reject_code TEXT,
    reject_reason TEXT,
    created_at_ms INTEGER NOT NULL
);
INSERT INTO outbox_v5 (seq, op_id, kind, entity_id, hlc, body, status, reject_code, reject_reason, created_at_ms)
    SELECT seq, op_id, kind, entity_id, hlc, body, status, reject_code, reject_reason, created_at_ms FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v5 RENAME TO outbox;
"#;

/// Version 6: reminders (预警, issue 7). The back office's billing figures per service (synced,
/// written only by the back office) and reminders closed with their outcome (synced,
/// insert-only). Each reminder rule reads through its own index: contract and plan ends by date,
/// spend drops and suspension risk through partial indexes, prepaid balances, birthdays by
/// month-day.
const V6_REMINDERS: &str = r#"
CREATE TABLE billing_profiles (
    id TEXT PRIMARY KEY, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}',
    grid_id TEXT, household_id TEXT, service_number TEXT, product TEXT, contract_end TEXT, plan_end TEXT,
    period TEXT, spend_fen INTEGER, baseline_fen INTEGER, suspension_risk INTEGER, suspended INTEGER,
    as_of_ms INTEGER, deleted INTEGER
);
CREATE INDEX billing_by_contract_end ON billing_profiles (grid_id, contract_end);
CREATE INDEX billing_by_plan_end ON billing_profiles (grid_id, plan_end);
CREATE INDEX billing_spend_drops ON billing_profiles (grid_id) WHERE spend_fen < baseline_fen;
CREATE INDEX billing_at_risk ON billing_profiles (grid_id) WHERE suspension_risk = 1 OR suspended = 1;
CREATE INDEX billing_by_household ON billing_profiles (household_id);
CREATE INDEX arrears_prepaid_balance ON arrears_accounts (grid_id, balance_fen) WHERE payment_type = 'prepaid';
CREATE INDEX households_by_birthday ON households (grid_id, substr(birthday, 6)) WHERE birthday <> '';

CREATE TABLE reminder_outcomes (
    id TEXT PRIMARY KEY, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}',
    grid_id TEXT, household_id TEXT, reminder_key TEXT, kind TEXT, outcome TEXT, note TEXT,
    closed_at_ms INTEGER, zone_offset_min INTEGER, manager_id TEXT
);
CREATE INDEX reminder_outcomes_by_key ON reminder_outcomes (grid_id, reminder_key);
"#;

/// Version 7: handovers (issue 7). Removals the device put off because it still had unsent edits
/// to the record, and handovers whose whole scope it removed, to report on its next push.
const V7_HANDOVERS: &str = r#"
CREATE TABLE deferred_removals (kind TEXT NOT NULL, entity_id TEXT NOT NULL, PRIMARY KEY (kind, entity_id)) WITHOUT ROWID;
CREATE TABLE removed_handovers (handover_id TEXT PRIMARY KEY, removed_at_ms INTEGER NOT NULL) WITHOUT ROWID;
"#;

/// Version 8: a leaner search index (issue 3: the initial sync of 100k households). `detail =
/// none` keeps only which households hold a trigram, not where: 40 % less index to write and
/// a third smaller. A query asks for every trigram of the text and then checks the candidates
/// against the household's own columns (field/archive.rs), which is exact and also what a phrase
/// query over positions gave. Rebuilt from the households that are there.
const V8_LEAN_SEARCH: &str = r#"
DROP TABLE household_search;
CREATE VIRTUAL TABLE household_search USING fts5(
    customer_name, mobile, landline, address, service_numbers,
    tokenize = 'trigram', content = '', contentless_delete = 1, detail = none
);
"#;

/// Version 9: a fact's creation (a visit, a notice, a void …) is logged without its fields
/// (issue 2, benchmark (a)): they are the fact's own row, which is never edited, and writing them
/// twice was a sixth of recording a visit. `fact_grid` set means "body is empty, read the fields
/// from the row" (sync/outbox.rs); a row about to be removed by a handover gets its body written out
/// first (sync/scope_removal.rs).
const V9_FACT_OPS_IN_ROW: &str = r#"
ALTER TABLE outbox ADD COLUMN fact_grid TEXT;
"#;

/// Version 10: a receipt's payment reference (交易单号) for WeChat Pay, Alipay or a card. NULL on
/// every receipt before it, which reads as "none", as it is.
const V10_PAYMENT_REF: &str = r#"
ALTER TABLE receipts ADD COLUMN payment_ref TEXT;
"#;

/// Version 11: the search index holds search keys (issue 21, defect 12: NFKC and lower case,
/// `search_index::search_key`), so that `３号楼` finds `3号楼`. The same table as version 8's,
/// made again and filled from the households that are there (`V11_BACKFILL`); the rows keep
/// their text as typed.
const V11_SEARCH_KEYS: &str = V8_LEAN_SEARCH;

/// Fills the search index with the search keys of the live households (the write path indexes
/// only those too). Needs the `search_key` function (`search_index::register_functions`).
const V11_BACKFILL: &str = r#"
INSERT INTO household_search (rowid, customer_name, mobile, landline, address, service_numbers)
SELECT rowid, search_key(coalesce(customer_name, '')), search_key(coalesce(mobile, '')),
    search_key(coalesce(landline, '')), search_key(coalesce(address, '')),
    coalesce((SELECT group_concat(search_key(json_extract(value, '$.service_number')), ' ') FROM json_each(services)), '')
FROM households WHERE coalesce(deleted, 0) = 0;
"#;

/// Version 12: acknowledged ops kept for a while (docs/sync-protocol.md, "Restores"): a server
/// restored from a backup has forgotten what it acknowledged after the backup, and the phone sends
/// those ops again. Kept apart from the outbox, which stays small (only what is not acknowledged),
/// each with its whole body and the server's clock at its acknowledgement.
const V12_ACKED_OPS: &str = r#"
CREATE TABLE acked_ops (
    seq INTEGER PRIMARY KEY,
    op_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    hlc TEXT NOT NULL,
    body TEXT NOT NULL,
    acked_at_ms INTEGER NOT NULL
);
CREATE INDEX acked_ops_by_time ON acked_ops (acked_at_ms);
"#;

/// Version 13: where the phone was (issue 20, `location::Position`) on visits, receipts and
/// sign-ins, as JSON. NULL on every fact before it, which reads as "not said" (an older app).
const V13_LOCATION: &str = r#"
ALTER TABLE visits ADD COLUMN location TEXT;
ALTER TABLE receipts ADD COLUMN location TEXT;
ALTER TABLE sign_ins ADD COLUMN location TEXT;
"#;

/// Version 14: photos. Visits and receipts name their photos (a JSON list of SHA-256 addresses);
/// the photos themselves are kept on the phone (store/photos.rs) inside the encrypted database, so
/// they are encrypted as the store is. Those two tables are local: photos travel on their own
/// upload channel.
const V14_PHOTOS: &str = r#"
ALTER TABLE visits ADD COLUMN photos TEXT;
ALTER TABLE receipts ADD COLUMN photos TEXT;
CREATE TABLE photo_blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    chunks INTEGER NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('taken', 'fetched')),
    added_at_ms INTEGER NOT NULL,
    uploaded_at_ms INTEGER,
    opened_at_ms INTEGER NOT NULL
);
CREATE INDEX photo_blobs_waiting ON photo_blobs (added_at_ms) WHERE origin = 'taken' AND uploaded_at_ms IS NULL;
CREATE TABLE photo_chunks (
    sha256 TEXT NOT NULL REFERENCES photo_blobs (sha256) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (sha256, idx)
) WITHOUT ROWID;
"#;

/// Version 15: what the customer's copy of a receipt prints and the receipt document (version 2)
/// signs: the billing months paid, the collector's name and staff number. NULL on receipts before
/// it, which read as empty: their documents stay version 1.
const V15_RECEIPT_COPY: &str = r#"
ALTER TABLE receipts ADD COLUMN billing_months TEXT;
ALTER TABLE receipts ADD COLUMN collector_name TEXT;
ALTER TABLE receipts ADD COLUMN collector_staff_no TEXT;
"#;

/// Version 16: how this company's receipts look, as the server configures it (issue 18): the
/// company's name, the public check's address and the seal image with its SHA-256 (fetched once
/// per seal, `sync/receipt_profile.rs`). One row at most; local, never synced as a record. The
/// collector's name and staff number stay in `meta` (`Store::collector_profile`).
const V16_RECEIPT_BRANDING: &str = r#"
CREATE TABLE receipt_branding (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    company_name TEXT NOT NULL,
    verify_base_url TEXT,
    seal_sha256 TEXT,
    seal_png BLOB,
    updated_at_ms INTEGER NOT NULL
);
"#;

/// Version 17: when this phone first sent a chunk of a photo (issue 20). A photo never started
/// goes without asking the server what it holds (each chunk's answer is the status); only a
/// started one asks first, so that a resumed upload sends just what the server lacks. NULL on every
/// photo before it: read as started, so an upload cut by the app's update still resumes by asking.
const V17_PHOTO_STARTED: &str = r#"
ALTER TABLE photo_blobs ADD COLUMN upload_started_at_ms INTEGER;
"#;

/// Photos waiting when version 17 arrives may have been cut mid-upload: marked as started.
const V17_BACKFILL: &str =
    "UPDATE photo_blobs SET upload_started_at_ms = 0 WHERE origin = 'taken' AND uploaded_at_ms IS NULL;";

/// Version 18: a photo's chunks in a rowid table, the (photo, index) key in an index of its own.
/// Version 14 kept them `WITHOUT ROWID`, where a row is its key: a chunk's 256 KiB was copied into
/// the tree's inner pages, and every lookup compared whole chunks read from their overflow pages,
/// several per chunk read (perf: the upload's lanes spent most of their time in those reads). Now
/// the index holds only the key and a row number, and a chunk's bytes are read once.
const V18_PHOTO_CHUNK_ROWS: &str = r#"
CREATE TABLE photo_chunk_rows (
    sha256 TEXT NOT NULL REFERENCES photo_blobs (sha256) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    UNIQUE (sha256, idx)
);
INSERT INTO photo_chunk_rows (sha256, idx, bytes) SELECT sha256, idx, bytes FROM photo_chunks ORDER BY sha256, idx;
DROP TABLE photo_chunks;
ALTER TABLE photo_chunk_rows RENAME TO photo_chunks;
"#;

/// Connection settings: WAL so readers never block the one writer, NORMAL sync (durable at each
/// checkpoint, never corrupt), foreign keys on for the local-only tables that declare them.
pub fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Every kind has its own load, upsert and query statements: keep them all prepared.
    conn.set_prepared_statement_cache_capacity(128);
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // 16 MB of page cache (default 2 MB): a page of a snapshot touches more than 2 MB of table,
    // index and search-index pages, which then spilled to the WAL mid-transaction.
    conn.pragma_update(None, "cache_size", -16_384)?;
    crate::store::search_index::register_functions(conn)
}

pub fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Each version's schema as a fresh database takes it, in order: version n is the first n steps.
/// (An upgrade runs the same step, with a backfill where the step needs one: `upgrade_from`.)
const FRESH_STEPS: [&str; LATEST_VERSION as usize] = [
    V1_TABLES,
    V2_SEARCH,
    V3_EVIDENCE,
    V4_FIELD_WORKFLOWS,
    V5_LEAN_OUTBOX,
    V6_REMINDERS,
    V7_HANDOVERS,
    V8_LEAN_SEARCH,
    V9_FACT_OPS_IN_ROW,
    V10_PAYMENT_REF,
    V11_SEARCH_KEYS,
    V12_ACKED_OPS,
    V13_LOCATION,
    V14_PHOTOS,
    V15_RECEIPT_COPY,
    V16_RECEIPT_BRANDING,
    V17_PHOTO_STARTED,
    V18_PHOTO_CHUNK_ROWS,
];

/// Brings the database to the latest version, in one transaction.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let found = version(conn)?;
    if found > LATEST_VERSION {
        return Err(Error::SchemaTooNew { found, supported: LATEST_VERSION });
    }
    if found == LATEST_VERSION {
        return Ok(());
    }
    // a backfill computes search keys in SQL (version 11)
    crate::store::search_index::register_functions(conn)?;
    let tx = conn.transaction()?;
    if found == 0 {
        for step in FRESH_STEPS {
            tx.execute_batch(step)?;
        }
    } else {
        for from in found..LATEST_VERSION {
            upgrade_from(&tx, from)?;
        }
    }
    tx.pragma_update(None, "user_version", LATEST_VERSION)?;
    tx.commit()?;
    Ok(())
}

fn upgrade_from(conn: &Connection, version: i64) -> Result<()> {
    match version {
        1 => {
            conn.execute_batch(V2_SEARCH)?;
            conn.execute_batch(V2_BACKFILL)?;
        }
        2 => conn.execute_batch(V3_EVIDENCE)?,
        3 => conn.execute_batch(V4_FIELD_WORKFLOWS)?,
        4 => conn.execute_batch(V5_LEAN_OUTBOX)?,
        5 => conn.execute_batch(V6_REMINDERS)?,
        6 => conn.execute_batch(V7_HANDOVERS)?,
        7 => {
            conn.execute_batch(V8_LEAN_SEARCH)?;
            conn.execute_batch(V2_BACKFILL)?;
        }
        8 => conn.execute_batch(V9_FACT_OPS_IN_ROW)?,
        9 => conn.execute_batch(V10_PAYMENT_REF)?,
        10 => {
            conn.execute_batch(V11_SEARCH_KEYS)?;
            conn.execute_batch(V11_BACKFILL)?;
        }
        11 => conn.execute_batch(V12_ACKED_OPS)?,
        12 => conn.execute_batch(V13_LOCATION)?,
        13 => conn.execute_batch(V14_PHOTOS)?,
        14 => conn.execute_batch(V15_RECEIPT_COPY)?,
        15 => conn.execute_batch(V16_RECEIPT_BRANDING)?,
        16 => {
            conn.execute_batch(V17_PHOTO_STARTED)?;
            // photos waiting before the upgrade may have been started: they ask first
            conn.execute_batch(V17_BACKFILL)?;
        }
        17 => conn.execute_batch(V18_PHOTO_CHUNK_ROWS)?,
        v => return Err(Error::Corrupt(format!("no upgrade step from schema version {v}"))),
    }
    Ok(())
}

/// A database as schema `version` left it, for the migration tests.
#[cfg(test)]
pub(crate) fn create_version(conn: &Connection, version: i64) -> Result<()> {
    for step in &FRESH_STEPS[..version as usize] {
        conn.execute_batch(step)?;
    }
    conn.pragma_update(None, "user_version", version)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EntityKind;

    fn schema_of(conn: &Connection) -> Vec<(String, String, String)> {
        let mut stmt = conn
            .prepare("SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(|r| r.unwrap()).collect()
    }

    /// A database made at version `n` holding what `seed` wrote, migrated to the latest version,
    /// and checked to have the schema of a fresh one (the directory lives while it is held).
    fn migrated_from(n: i64, seed: &str) -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let mut old = Connection::open(dir.path().join("old.db")).unwrap();
        create_version(&old, n).unwrap();
        old.execute_batch(seed).unwrap();
        migrate(&mut old).unwrap();
        let mut fresh = Connection::open(dir.path().join("fresh.db")).unwrap();
        migrate(&mut fresh).unwrap();
        assert_eq!(version(&old).unwrap(), LATEST_VERSION);
        assert_eq!(schema_of(&old), schema_of(&fresh), "migrated from version {n}");
        (dir, old)
    }

    #[test]
    fn a_database_migrated_from_version_1_equals_a_fresh_one() {
        let (_dir, old) = migrated_from(
            1,
            "INSERT INTO households (id, customer_name, mobile, services)
             VALUES ('h1', '李娜', '13812345678', '[{\"service_number\":\"0731-8888\"}]');",
        );
        // the household that existed before the upgrade is searchable
        let hits: i64 = old
            .query_row(
                "SELECT count(*) FROM household_search WHERE household_search MATCH ?1",
                [crate::store::search_index::match_expression("0731-8888")],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(hits, 1);
    }

    #[test]
    fn a_database_migrated_from_version_2_equals_a_fresh_one_and_keeps_its_data() {
        let (_dir, old) =
            migrated_from(2, "INSERT INTO receipts (id, receipt_no, amount_fen) VALUES ('r1', 'SJ000001-001', 500);");
        let kept: i64 = old.query_row("SELECT amount_fen FROM receipts WHERE id = 'r1'", [], |r| r.get(0)).unwrap();
        assert_eq!(kept, 500);
        // the new tables are there and usable
        old.execute("INSERT INTO receipt_blocks (prefix, first, last, next, issued_at_ms, received_at_ms) VALUES ('SJ000001-', 1, 100, 2, 0, 0)", [])
            .unwrap();
        assert!(old
            .execute("INSERT INTO receipt_blocks (prefix, first, last, next, issued_at_ms, received_at_ms) VALUES ('X', 5, 1, 5, 0, 0)", [])
            .is_err());
    }

    #[test]
    fn a_database_migrated_from_version_3_equals_a_fresh_one_and_keeps_its_data() {
        let (_dir, old) = migrated_from(
            3,
            "INSERT INTO visits (id, household_id, arrived_at_ms) VALUES ('v1', 'h1', 1700000000000);
             INSERT INTO signatures (id, signer_name) VALUES ('s1', '王芳');",
        );
        let kept: i64 = old.query_row("SELECT arrived_at_ms FROM visits WHERE id = 'v1'", [], |r| r.get(0)).unwrap();
        assert_eq!(kept, 1_700_000_000_000);
        let signer: String =
            old.query_row("SELECT signer_name FROM signatures WHERE id = 's1'", [], |r| r.get(0)).unwrap();
        assert_eq!(signer, "王芳");
        // the new tables are there and usable
        old.execute("INSERT INTO appointments (id, household_id, visit_id) VALUES ('a1', 'h1', 'v1')", []).unwrap();
        old.execute("INSERT INTO sign_ins (id, at_ms) VALUES ('s1', 1)", []).unwrap();
        old.execute("INSERT INTO tickets (id, status) VALUES ('t1', 'open')", []).unwrap();
    }

    #[test]
    fn a_database_migrated_from_version_4_equals_a_fresh_one_and_keeps_its_outbox() {
        let (_dir, old) = migrated_from(
            4,
            "INSERT INTO outbox (op_id, kind, entity_id, hlc, body, created_at_ms) VALUES ('o1', 'visit', 'v1', 'x', '{}', 5);
             INSERT INTO outbox (op_id, kind, entity_id, hlc, body, status, reject_code, reject_reason, created_at_ms)
             VALUES ('o2', 'visit', 'v2', 'y', '{}', 'rejected', 'invalid', 'why', 6);",
        );
        let kept: Vec<(i64, String, String, Option<String>)> = old
            .prepare("SELECT seq, op_id, status, reject_reason FROM outbox ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(
            kept,
            vec![(1, "o1".into(), "pending".into(), None), (2, "o2".into(), "rejected".into(), Some("why".into()))]
        );
    }

    #[test]
    fn a_database_migrated_from_version_5_equals_a_fresh_one_and_keeps_its_data() {
        let (_dir, old) =
            migrated_from(5, "INSERT INTO households (id, grid_id, birthday) VALUES ('h1', 'g1', '1980-11-25');");
        // the birthday index covers the household that was there before
        let found: String = old
            .query_row(
                "SELECT id FROM households WHERE grid_id = 'g1' AND birthday <> '' AND substr(birthday, 6) = '11-25'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(found, "h1");
        old.execute(
            "INSERT INTO billing_profiles (id, grid_id, spend_fen, baseline_fen) VALUES ('b1', 'g1', 1, 2)",
            [],
        )
        .unwrap();
        old.execute(
            "INSERT INTO reminder_outcomes (id, grid_id, reminder_key) VALUES ('o1', 'g1', 'birthday:h1:2026')",
            [],
        )
        .unwrap();
    }

    #[test]
    fn a_database_migrated_from_version_6_equals_a_fresh_one_and_keeps_its_data() {
        let (_dir, old) = migrated_from(6, "INSERT INTO tickets (id, status) VALUES ('t1', 'open');");
        let kept: String = old.query_row("SELECT status FROM tickets WHERE id = 't1'", [], |r| r.get(0)).unwrap();
        assert_eq!(kept, "open");
        old.execute("INSERT INTO deferred_removals (kind, entity_id) VALUES ('household', 'h1')", []).unwrap();
        old.execute("INSERT INTO removed_handovers (handover_id, removed_at_ms) VALUES ('x', 1)", []).unwrap();
    }

    #[test]
    fn a_database_migrated_from_version_7_equals_a_fresh_one_and_its_households_stay_searchable() {
        let household = "INSERT INTO households (id, customer_name, mobile, address, services)
             VALUES ('h1', '欧阳秀英', '13812345678', '人民路88号', '[{\"service_number\":\"0731-8888\"}]');";
        let (_dir, old) = migrated_from(7, &[household, V2_BACKFILL].concat());
        for trigram in ["阳秀英", "234", "88号", "-88"] {
            let hits: i64 = old
                .query_row(
                    "SELECT count(*) FROM household_search WHERE household_search MATCH ?1",
                    [format!("\"{trigram}\"")],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(hits, 1, "{trigram}");
        }
    }

    #[test]
    fn a_database_migrated_from_version_8_equals_a_fresh_one_and_keeps_its_outbox() {
        let (_dir, old) = migrated_from(8, "INSERT INTO outbox (op_id, kind, entity_id, hlc, body, created_at_ms) VALUES ('o1', 'visit', 'v1', 'x', '{}', 5);");
        // an op logged before version 9 keeps its whole body: its fields are not read from the row
        let (body, fact_grid): (String, Option<String>) = old
            .query_row("SELECT body, fact_grid FROM outbox WHERE op_id = 'o1'", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!((body.as_str(), fact_grid), ("{}", None));
    }

    #[test]
    fn a_database_migrated_from_version_12_equals_a_fresh_one_and_keeps_photos_in_chunks() {
        let (_dir, old) = migrated_from(
            12,
            "INSERT INTO acked_ops (seq, op_id, kind, entity_id, hlc, body, acked_at_ms) VALUES (1, 'o', 'visit', 'v', 'h', '{}', 5);",
        );
        let acked: i64 = old.query_row("SELECT count(*) FROM acked_ops", [], |r| r.get(0)).unwrap();
        assert_eq!(acked, 1);
        old.execute_batch(
            "INSERT INTO photo_blobs (sha256, size, chunks, origin, added_at_ms, opened_at_ms) VALUES ('a', 3, 1, 'taken', 1, 1);
             INSERT INTO photo_chunks (sha256, idx, bytes) VALUES ('a', 0, x'010203');",
        )
        .unwrap();
        // a chunk of a photo the store does not list, and an unknown origin, are refused
        assert!(old.execute("INSERT INTO photo_chunks (sha256, idx, bytes) VALUES ('b', 0, x'00')", []).is_err());
        assert!(old
            .execute("INSERT INTO photo_blobs (sha256, size, chunks, origin, added_at_ms, opened_at_ms) VALUES ('c', 1, 1, 'x', 1, 1)", [])
            .is_err());
    }

    #[test]
    fn a_database_migrated_from_version_9_equals_a_fresh_one_and_keeps_its_receipts() {
        let (_dir, old) = migrated_from(
            9,
            "INSERT INTO receipts (id, receipt_no, method, amount_fen) VALUES ('r1', 'SJ000001-001', 'wechat', 500);",
        );
        // the receipt from before has no reference, and a new one can carry one
        let (amount, reference): (i64, Option<String>) = old
            .query_row("SELECT amount_fen, payment_ref FROM receipts WHERE id = 'r1'", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((amount, reference), (500, None));
        old.execute(
            "INSERT INTO receipts (id, receipt_no, payment_ref) VALUES ('r2', 'SJ000001-002', '4200001234')",
            [],
        )
        .unwrap();
    }

    #[test]
    fn a_database_migrated_from_version_12_equals_a_fresh_one_and_its_facts_have_no_location() {
        let (_dir, old) = migrated_from(
            12,
            "INSERT INTO visits (id, grid_id, lat_e6) VALUES ('v1', 'g1', 28228000);
             INSERT INTO sign_ins (id, grid_id) VALUES ('s1', 'g1');",
        );
        let (lat, location): (Option<i64>, Option<String>) = old
            .query_row("SELECT lat_e6, location FROM visits WHERE id = 'v1'", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!((lat, location), (Some(28_228_000), None));
        old.execute("UPDATE sign_ins SET location = '{\"no_fix\":{\"waited_ms\":30000}}' WHERE id = 's1'", []).unwrap();
        old.execute("INSERT INTO receipts (id, location) VALUES ('r1', '{\"no_fix\":{\"waited_ms\":30000}}')", [])
            .unwrap();
    }

    #[test]
    fn a_database_migrated_from_version_10_equals_a_fresh_one_and_finds_full_width_text_by_half_width_and_back() {
        // indexed as typed before version 11: full-width digits in one, half-width in the other
        let households = "INSERT INTO households (id, grid_id, customer_name, address, mobile, services)
             VALUES ('h1', 'g1', '王芳', '人民路３号楼２单元', '13812345678', '[{\"service_number\":\"ＡＤＳＬ５６７８\"}]'),
                    ('h2', 'g1', 'Zhang Wei', '解放路3号楼', '', '[]');";
        let (_dir, old) = migrated_from(10, &[households, V2_BACKFILL].concat());
        let hits = |query: &str| -> Vec<String> {
            let key = crate::store::search_index::search_key(query);
            let terms = crate::store::search_index::match_expression(&key).unwrap();
            let sql = format!(
                "SELECT id FROM households WHERE rowid IN (SELECT rowid FROM household_search WHERE household_search MATCH ?4)
                 AND grid_id = ?1 AND {} ORDER BY id LIMIT ?3",
                crate::store::search_index::TEXT_HOLDS
            );
            let mut stmt = old.prepare(&sql).unwrap();
            let rows = stmt.query_map(rusqlite::params!["g1", format!("%{key}%"), 10, terms], |r| r.get(0)).unwrap();
            rows.map(|r| r.unwrap()).collect()
        };
        assert_eq!(hits("3号楼"), ["h1", "h2"]);
        assert_eq!(hits("３号楼"), ["h1", "h2"]);
        assert_eq!(hits("adsl5678"), ["h1"]);
        assert_eq!(hits("zhang"), ["h2"]);
        // the text itself stays as typed
        let address: String =
            old.query_row("SELECT address FROM households WHERE id = 'h1'", [], |r| r.get(0)).unwrap();
        assert_eq!(address, "人民路３号楼２单元");
    }

    #[test]
    fn a_database_migrated_from_version_15_equals_a_fresh_one_and_keeps_its_collector() {
        let (_dir, old) = migrated_from(
            15,
            "INSERT INTO meta (key, value) VALUES ('collector_staff_no', 'GZ-0042');
             INSERT INTO receipts (id, receipt_no, collector_staff_no) VALUES ('r1', 'SJ000001-001', 'GZ-0042');",
        );
        let kept: String =
            old.query_row("SELECT value FROM meta WHERE key = 'collector_staff_no'", [], |r| r.get(0)).unwrap();
        assert_eq!(kept, "GZ-0042");
        // no branding until a server sends one; then exactly one row
        let rows: i64 = old.query_row("SELECT count(*) FROM receipt_branding", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 0);
        old.execute(
            "INSERT INTO receipt_branding (id, company_name, updated_at_ms) VALUES (1, '中国电信 幸福里营业部', 5)",
            [],
        )
        .unwrap();
        assert!(old
            .execute("INSERT INTO receipt_branding (id, company_name, updated_at_ms) VALUES (2, 'x', 5)", [])
            .is_err());
    }

    #[test]
    fn a_database_migrated_from_version_16_equals_a_fresh_one_and_its_waiting_photos_resume_by_asking() {
        let (_dir, old) = migrated_from(
            16,
            "INSERT INTO photo_blobs (sha256, size, chunks, origin, added_at_ms, uploaded_at_ms, opened_at_ms)
             VALUES ('a', 300000, 2, 'taken', 1, NULL, 1), ('b', 300000, 2, 'taken', 1, 7, 1),
                    ('c', 300000, 2, 'fetched', 1, NULL, 1);",
        );
        let started: Vec<(String, Option<i64>)> = old
            .prepare("SELECT sha256, upload_started_at_ms FROM photo_blobs ORDER BY sha256")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        // a photo waiting may have been cut mid-upload by the update: it asks the server first
        assert_eq!(started, [("a".to_string(), Some(0)), ("b".into(), None), ("c".into(), None)]);
    }

    #[test]
    fn a_database_migrated_from_version_17_equals_a_fresh_one_and_keeps_its_photo_chunks() {
        let (_dir, old) = migrated_from(
            17,
            "INSERT INTO photo_blobs (sha256, size, chunks, origin, added_at_ms, opened_at_ms)
             VALUES ('a', 4, 2, 'taken', 1, 1), ('b', 1, 1, 'fetched', 1, 1);
             INSERT INTO photo_chunks (sha256, idx, bytes) VALUES ('a', 1, x'0304'), ('a', 0, x'0102'), ('b', 0, x'ff');",
        );
        let chunks: Vec<(String, i64, Vec<u8>)> = old
            .prepare("SELECT sha256, idx, bytes FROM photo_chunks ORDER BY sha256, idx")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(
            chunks,
            [("a".to_string(), 0, vec![1, 2]), ("a".into(), 1, vec![3, 4]), ("b".into(), 0, vec![0xff])]
        );
        // a rowid table now: the chunk's bytes stay out of the key's tree
        let sql: String =
            old.query_row("SELECT sql FROM sqlite_master WHERE name = 'photo_chunks'", [], |r| r.get(0)).unwrap();
        assert!(!sql.contains("WITHOUT ROWID"), "{sql}");
        // a chunk is still one per (photo, index), and goes with its photo
        assert!(old.execute("INSERT INTO photo_chunks (sha256, idx, bytes) VALUES ('a', 0, x'00')", []).is_err());
        old.pragma_update(None, "foreign_keys", "ON").unwrap();
        assert!(old.execute("INSERT INTO photo_chunks (sha256, idx, bytes) VALUES ('z', 0, x'00')", []).is_err());
        old.execute("DELETE FROM photo_blobs WHERE sha256 = 'a'", []).unwrap();
        let left: i64 = old.query_row("SELECT count(*) FROM photo_chunks", [], |r| r.get(0)).unwrap();
        assert_eq!(left, 1);
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", LATEST_VERSION + 1).unwrap();
        match migrate(&mut conn) {
            Err(Error::SchemaTooNew { found, supported }) => {
                assert_eq!((found, supported), (LATEST_VERSION + 1, LATEST_VERSION))
            }
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }

    #[test]
    fn every_table_has_exactly_the_fields_of_its_kind() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        for kind in EntityKind::ALL {
            let mut stmt = conn.prepare(&format!("SELECT name FROM pragma_table_info('{}')", kind.table())).unwrap();
            let cols: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
            let mut expected = vec!["id".to_string(), "base_hlc".into(), "clocks".into()];
            expected.extend(kind.fields().iter().map(|f| f.name.to_string()));
            assert_eq!(cols, expected, "{}", kind.table());
        }
    }
}
