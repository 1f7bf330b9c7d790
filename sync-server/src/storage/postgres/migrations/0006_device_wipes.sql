-- Remote wipes (issue 16), as SQLite's version 7: the back office's order to wipe a device, when
-- the device was told, and what it reported once wiped. One row per device.
CREATE TABLE device_wipes (
    device_id TEXT PRIMARY KEY REFERENCES devices (id),
    mode TEXT NOT NULL CHECK (mode IN ('retire', 'lost')),
    ordered_at_ms BIGINT NOT NULL,
    ordered_by TEXT NOT NULL,
    told_at_ms BIGINT,
    wiped_at_ms BIGINT,
    device_wiped_at_ms BIGINT,
    ops_uploaded BIGINT,
    receipts_uploaded BIGINT,
    receipts_uploaded_fen BIGINT,
    ops_rejected BIGINT,
    ops_lost BIGINT,
    receipts_lost BIGINT,
    receipts_lost_fen BIGINT
);
