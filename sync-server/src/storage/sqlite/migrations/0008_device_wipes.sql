-- Remote wipes (issue 16, docs/sync-protocol.md "Remote wipe"): the back office's order to wipe a
-- device (retire: upload everything, then wipe; lost: one push, then wipe), who gave it and when;
-- when the device was told (its first contact after the order); and what it reported once wiped
-- (its clock when the store went, ops and receipts uploaded at the end, ops refused, ops and
-- receipts lost with their total in fen). One row per device: a device is wiped once, and its id
-- never enrols again. An order is deleted only when cancelled before the device was told.
CREATE TABLE device_wipes (
    device_id TEXT PRIMARY KEY REFERENCES devices (id),
    mode TEXT NOT NULL CHECK (mode IN ('retire', 'lost')),
    ordered_at_ms INTEGER NOT NULL,
    ordered_by TEXT NOT NULL,
    told_at_ms INTEGER,
    wiped_at_ms INTEGER,
    device_wiped_at_ms INTEGER,
    ops_uploaded INTEGER,
    receipts_uploaded INTEGER,
    receipts_uploaded_fen INTEGER,
    ops_rejected INTEGER,
    ops_lost INTEGER,
    receipts_lost INTEGER,
    receipts_lost_fen INTEGER
) WITHOUT ROWID;
