-- Version 4: the change feed laid out for ingest. `entities` becomes a rowid table keyed by its
-- change number (`seq`): a new record is appended at the end of the table instead of placed by
-- its text key, and the separate `seq` index goes (what a pull pages by is the table's own
-- order; `(grid_id)` entries carry it). A new fact (visit, notice …) is recorded in its own row,
-- not twice: the op that carried it — its id, the device, the receive time (its stamp is the
-- record's `base_hlc`) — is kept in the fact's row instead of a second row in `ops`, and the
-- insert itself says whether the fact was there (no op-id look-up). `op_log` lists every op
-- either way. A device's waiting rejections are found by device, once per push.
CREATE TABLE entities_v4 (
    seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, id TEXT NOT NULL, grid_id TEXT NOT NULL,
    vals TEXT NOT NULL, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}', updated_at_ms INTEGER NOT NULL,
    op_id TEXT, device_id TEXT, received_at_ms INTEGER
);
INSERT INTO entities_v4 (seq, kind, id, grid_id, vals, base_hlc, clocks, updated_at_ms)
    SELECT seq, kind, id, grid_id, vals, base_hlc, clocks, updated_at_ms FROM entities;
DROP TABLE entities;
ALTER TABLE entities_v4 RENAME TO entities;
CREATE UNIQUE INDEX entities_by_kind_id ON entities (kind, id);
CREATE INDEX entities_by_grid ON entities (grid_id);
CREATE INDEX rejections_by_device ON rejections (device_id);
CREATE VIEW op_log (op_id, device_id, kind, entity_id, grid_id, hlc, merged_hlc, received_at_ms, outcome) AS
    SELECT op_id, device_id, kind, entity_id, grid_id, hlc, merged_hlc, received_at_ms, outcome FROM ops
    UNION ALL
    SELECT op_id, device_id, kind, id, grid_id, base_hlc, base_hlc, received_at_ms, 'applied' FROM entities
    WHERE op_id IS NOT NULL;
