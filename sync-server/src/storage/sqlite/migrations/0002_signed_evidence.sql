-- Version 2: signed evidence (issue 4). The keys each device registered (kept when it enrols
-- again, so that what an old key sealed stays checkable), the receipt books issued to devices,
-- voids waiting for the back office, and the audit trail of decisions.
CREATE TABLE device_keys (
    device_id TEXT NOT NULL REFERENCES devices (id), public_key TEXT NOT NULL, registered_at_ms INTEGER NOT NULL,
    PRIMARY KEY (device_id, public_key)
) WITHOUT ROWID;
INSERT INTO device_keys (device_id, public_key, registered_at_ms)
    SELECT id, lower(public_key), enrolled_at_ms FROM devices WHERE coalesce(public_key, '') <> '';
CREATE TABLE receipt_blocks (
    prefix TEXT PRIMARY KEY, book_no INTEGER NOT NULL UNIQUE, device_id TEXT NOT NULL REFERENCES devices (id),
    first INTEGER NOT NULL, last INTEGER NOT NULL, issued_at_ms INTEGER NOT NULL, request_id TEXT NOT NULL UNIQUE
);
CREATE INDEX receipt_blocks_by_device ON receipt_blocks (device_id, issued_at_ms);
CREATE TABLE void_reviews (
    void_id TEXT PRIMARY KEY, receipt_id TEXT NOT NULL, device_id TEXT NOT NULL, requested_at_ms INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'refused')),
    decided_by TEXT, decided_at_ms INTEGER, note TEXT
);
CREATE INDEX void_reviews_by_status ON void_reviews (status, requested_at_ms);
CREATE INDEX void_reviews_by_receipt ON void_reviews (receipt_id);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    subject TEXT NOT NULL, detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_by_subject ON audit_log (subject, at_ms);
