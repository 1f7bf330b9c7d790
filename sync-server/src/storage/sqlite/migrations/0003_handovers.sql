-- Version 3: handovers (issue 7). A grid or a building handed over to another manager; the
-- records that left the old managers' scope, each with the change number under which it left
-- (what the old devices' pulls page their removals by); and each old device's state: waiting until
-- it reports the scope removed, then done.
CREATE TABLE handovers (
    id TEXT PRIMARY KEY, scope TEXT NOT NULL CHECK (scope IN ('grid', 'building')),
    from_grid TEXT NOT NULL, premises_id TEXT, to_grid TEXT NOT NULL,
    from_managers TEXT NOT NULL, to_manager TEXT NOT NULL, records INTEGER NOT NULL,
    by TEXT NOT NULL, created_at_ms INTEGER NOT NULL
);
CREATE INDEX handovers_by_time ON handovers (created_at_ms);
CREATE TABLE handover_records (
    handover_id TEXT NOT NULL REFERENCES handovers (id), kind TEXT NOT NULL, entity_id TEXT NOT NULL,
    seq INTEGER NOT NULL, PRIMARY KEY (handover_id, kind, entity_id)
) WITHOUT ROWID;
CREATE INDEX handover_records_by_seq ON handover_records (handover_id, seq);
CREATE INDEX handover_records_by_entity ON handover_records (entity_id);
CREATE TABLE handover_devices (
    device_id TEXT NOT NULL REFERENCES devices (id), handover_id TEXT NOT NULL REFERENCES handovers (id),
    removed_at_ms INTEGER, PRIMARY KEY (device_id, handover_id)
) WITHOUT ROWID;
