-- Version 1: grids, managers and their grids, enrolment codes, devices; every record's current
-- state (`entities`), every op once (`ops`), the conflict log, rejected ops, receipt numbers
-- claimed, and sync events for the back office.
CREATE TABLE grids (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at_ms INTEGER NOT NULL);
CREATE TABLE managers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('field', 'supervisor', 'admin')),
    password_hash TEXT, created_at_ms INTEGER NOT NULL
);
CREATE TABLE manager_grids (
    manager_id TEXT NOT NULL REFERENCES managers (id), grid_id TEXT NOT NULL REFERENCES grids (id),
    PRIMARY KEY (manager_id, grid_id)
) WITHOUT ROWID;
CREATE TABLE enrol_codes (
    code_hash TEXT PRIMARY KEY, manager_id TEXT NOT NULL REFERENCES managers (id),
    created_at_ms INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL, used_at_ms INTEGER, used_by_device TEXT
);
CREATE TABLE devices (
    id TEXT PRIMARY KEY, manager_id TEXT NOT NULL REFERENCES managers (id),
    token_hash TEXT NOT NULL UNIQUE, public_key TEXT, app_version TEXT NOT NULL DEFAULT '',
    enrolled_at_ms INTEGER NOT NULL, revoked_at_ms INTEGER,
    last_seen_ms INTEGER, last_push_ms INTEGER, last_pull_ms INTEGER, pull_cursor INTEGER NOT NULL DEFAULT 0,
    pending_count INTEGER NOT NULL DEFAULT 0, oldest_pending_age_s INTEGER, rejected_count INTEGER NOT NULL DEFAULT 0,
    db_size_bytes INTEGER NOT NULL DEFAULT 0, clock_offset_ms INTEGER, zone_offset_min INTEGER,
    unsynced_receipts_fen INTEGER NOT NULL DEFAULT 0, unsynced_receipts_count INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
-- Current state of every entity; `seq` orders changes for pulls (a snapshot and a change feed at once).
CREATE TABLE entities (
    kind TEXT NOT NULL, id TEXT NOT NULL, grid_id TEXT NOT NULL,
    vals TEXT NOT NULL, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}',
    seq INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX entities_by_grid_seq ON entities (grid_id, seq);
CREATE INDEX entities_by_seq ON entities (seq);
-- Every op once, as received, with the stamp it was merged under and the server's receive time.
-- `body` holds the op's fields; it is '' for an insert-only record (visit, receipt …), whose
-- fields are stored once, as the entity's values, which never change.
CREATE TABLE ops (
    op_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, kind TEXT NOT NULL, entity_id TEXT NOT NULL,
    grid_id TEXT NOT NULL, hlc TEXT NOT NULL, merged_hlc TEXT NOT NULL, received_at_ms INTEGER NOT NULL,
    outcome TEXT NOT NULL, body TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE conflicts (
    id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, kind TEXT NOT NULL, entity_id TEXT NOT NULL,
    grid_id TEXT NOT NULL, field TEXT NOT NULL, old_value TEXT NOT NULL, new_value TEXT NOT NULL,
    old_hlc TEXT NOT NULL, new_hlc TEXT NOT NULL, old_device TEXT NOT NULL, new_device TEXT NOT NULL
);
CREATE INDEX conflicts_by_time ON conflicts (at_ms);
CREATE TABLE rejections (
    op_id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL, device_id TEXT NOT NULL, kind TEXT NOT NULL,
    entity_id TEXT NOT NULL, grid_id TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL, body TEXT NOT NULL
);
CREATE INDEX rejections_by_time ON rejections (at_ms);
CREATE TABLE receipt_numbers (receipt_no TEXT PRIMARY KEY, receipt_id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE sync_events (
    id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, device_id TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('push', 'pull')),
    ops INTEGER NOT NULL, rejected INTEGER NOT NULL, duration_ms INTEGER NOT NULL
);
CREATE INDEX sync_events_by_time ON sync_events (at_ms);
