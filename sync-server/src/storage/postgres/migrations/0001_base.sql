-- Version 1 of the PostgreSQL schema: the tables of the SQLite schema's version 5, laid out for
-- several writers at once. Change numbers (`seq`) are not a sequence: each is the writing
-- transaction's id shifted left by 20 bits plus a number counted within the transaction, and a
-- pull serves only numbers below the oldest running transaction's (docs/postgres.md). Values,
-- stamps and clocks are the JSON text the SQLite backend stores, served byte for byte.
CREATE TABLE grids (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at_ms BIGINT NOT NULL);
CREATE TABLE managers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('field', 'supervisor', 'admin')),
    password_hash TEXT, created_at_ms BIGINT NOT NULL
);
CREATE TABLE manager_grids (
    manager_id TEXT NOT NULL REFERENCES managers (id), grid_id TEXT NOT NULL REFERENCES grids (id),
    PRIMARY KEY (manager_id, grid_id)
);
CREATE TABLE enrol_codes (
    code_hash TEXT PRIMARY KEY, manager_id TEXT NOT NULL REFERENCES managers (id),
    created_at_ms BIGINT NOT NULL, expires_at_ms BIGINT NOT NULL, used_at_ms BIGINT, used_by_device TEXT
);
CREATE TABLE devices (
    id TEXT PRIMARY KEY, manager_id TEXT NOT NULL REFERENCES managers (id),
    token_hash TEXT NOT NULL UNIQUE, public_key TEXT, app_version TEXT NOT NULL DEFAULT '',
    enrolled_at_ms BIGINT NOT NULL, revoked_at_ms BIGINT,
    last_seen_ms BIGINT, last_push_ms BIGINT, last_pull_ms BIGINT, pull_cursor BIGINT NOT NULL DEFAULT 0,
    pending_count BIGINT NOT NULL DEFAULT 0, oldest_pending_age_s BIGINT, rejected_count BIGINT NOT NULL DEFAULT 0,
    db_size_bytes BIGINT NOT NULL DEFAULT 0, clock_offset_ms BIGINT, zone_offset_min BIGINT,
    unsynced_receipts_fen BIGINT NOT NULL DEFAULT 0, unsynced_receipts_count BIGINT NOT NULL DEFAULT 0,
    last_error TEXT
);
-- Every record's current state. A new fact keeps the op that carried it in its own row (op_id,
-- device_id, received_at_ms), as SQLite's version 4 does.
CREATE TABLE entities (
    kind TEXT NOT NULL, id TEXT NOT NULL, grid_id TEXT NOT NULL,
    vals TEXT NOT NULL, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}',
    seq BIGINT NOT NULL, updated_at_ms BIGINT NOT NULL,
    op_id TEXT, device_id TEXT, received_at_ms BIGINT,
    PRIMARY KEY (kind, id)
);
CREATE INDEX entities_by_grid_seq ON entities (grid_id, seq);
-- Every op of a mutable record once. The op id is claimed first (outcome 'claimed', seen only by
-- the claiming transaction): a second push of the same op waits on the key and then finds it.
CREATE TABLE ops (
    op_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, kind TEXT NOT NULL, entity_id TEXT NOT NULL,
    grid_id TEXT NOT NULL, hlc TEXT NOT NULL, merged_hlc TEXT NOT NULL, received_at_ms BIGINT NOT NULL,
    outcome TEXT NOT NULL, body TEXT NOT NULL
);
CREATE VIEW op_log (op_id, device_id, kind, entity_id, grid_id, hlc, merged_hlc, received_at_ms, outcome) AS
    SELECT op_id, device_id, kind, entity_id, grid_id, hlc, merged_hlc, received_at_ms, outcome FROM ops
    UNION ALL
    SELECT op_id, device_id, kind, id, grid_id, base_hlc, base_hlc, received_at_ms, 'applied' FROM entities
    WHERE op_id IS NOT NULL;
CREATE TABLE conflicts (
    id BIGSERIAL PRIMARY KEY, at_ms BIGINT NOT NULL, kind TEXT NOT NULL, entity_id TEXT NOT NULL,
    grid_id TEXT NOT NULL, field TEXT NOT NULL, old_value TEXT NOT NULL, new_value TEXT NOT NULL,
    old_hlc TEXT NOT NULL, new_hlc TEXT NOT NULL, old_device TEXT NOT NULL, new_device TEXT NOT NULL
);
CREATE INDEX conflicts_by_time ON conflicts (at_ms);
CREATE TABLE rejections (
    op_id TEXT PRIMARY KEY, at_ms BIGINT NOT NULL, device_id TEXT NOT NULL, kind TEXT NOT NULL,
    entity_id TEXT NOT NULL, grid_id TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL, body TEXT NOT NULL
);
CREATE INDEX rejections_by_time ON rejections (at_ms);
CREATE INDEX rejections_by_device ON rejections (device_id);
CREATE TABLE receipt_numbers (receipt_no TEXT PRIMARY KEY, receipt_id TEXT NOT NULL);
CREATE TABLE sync_events (
    id BIGSERIAL PRIMARY KEY, at_ms BIGINT NOT NULL, device_id TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('push', 'pull')),
    ops BIGINT NOT NULL, rejected BIGINT NOT NULL, duration_ms BIGINT NOT NULL
);
CREATE INDEX sync_events_by_time ON sync_events (at_ms);
CREATE TABLE device_keys (
    device_id TEXT NOT NULL REFERENCES devices (id), public_key TEXT NOT NULL, registered_at_ms BIGINT NOT NULL,
    PRIMARY KEY (device_id, public_key)
);
CREATE TABLE receipt_blocks (
    prefix TEXT PRIMARY KEY, book_no BIGINT NOT NULL UNIQUE, device_id TEXT NOT NULL REFERENCES devices (id),
    first BIGINT NOT NULL, last BIGINT NOT NULL, issued_at_ms BIGINT NOT NULL, request_id TEXT NOT NULL UNIQUE
);
CREATE INDEX receipt_blocks_by_device ON receipt_blocks (device_id, issued_at_ms);
CREATE TABLE void_reviews (
    void_id TEXT PRIMARY KEY, receipt_id TEXT NOT NULL, device_id TEXT NOT NULL, requested_at_ms BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'refused')),
    decided_by TEXT, decided_at_ms BIGINT, note TEXT
);
CREATE INDEX void_reviews_by_status ON void_reviews (status, requested_at_ms);
CREATE INDEX void_reviews_by_receipt ON void_reviews (receipt_id);
CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY, at_ms BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    subject TEXT NOT NULL, detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_by_subject ON audit_log (subject, at_ms);
CREATE TABLE handovers (
    id TEXT PRIMARY KEY, scope TEXT NOT NULL CHECK (scope IN ('grid', 'building')),
    from_grid TEXT NOT NULL, premises_id TEXT, to_grid TEXT NOT NULL,
    from_managers TEXT NOT NULL, to_manager TEXT NOT NULL, records BIGINT NOT NULL,
    by TEXT NOT NULL, created_at_ms BIGINT NOT NULL
);
CREATE INDEX handovers_by_time ON handovers (created_at_ms);
CREATE TABLE handover_records (
    handover_id TEXT NOT NULL REFERENCES handovers (id), kind TEXT NOT NULL, entity_id TEXT NOT NULL,
    seq BIGINT NOT NULL, PRIMARY KEY (handover_id, kind, entity_id)
);
CREATE INDEX handover_records_by_seq ON handover_records (handover_id, seq);
CREATE INDEX handover_records_by_entity ON handover_records (entity_id);
CREATE TABLE handover_devices (
    device_id TEXT NOT NULL REFERENCES devices (id), handover_id TEXT NOT NULL REFERENCES handovers (id),
    removed_at_ms BIGINT, PRIMARY KEY (device_id, handover_id)
);
-- The database's generation (docs/operations.md, "Backups and restore"): one row.
CREATE TABLE server_generation (
    single INTEGER PRIMARY KEY CHECK (single = 1),
    id TEXT NOT NULL,
    restored_from_ms BIGINT NOT NULL DEFAULT 0,
    restored_cursor BIGINT NOT NULL DEFAULT 0,
    book_tag TEXT NOT NULL DEFAULT ''
);
INSERT INTO server_generation (single, id) VALUES (1, substr(md5(random()::text || clock_timestamp()::text), 1, 16));
