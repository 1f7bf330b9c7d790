-- Money controls (issue 18, docs/money.md). receipt_checks: what the server's arrears account
-- owed when a receipt arrived, before the receipt lowered it (NULL when the server holds no such
-- account), so the back office flags a receipt beyond the debt or one whose owed_before differs.
-- hand_ins: a manager's cash handed in to the business hall (交款), in fen, who received it; each
-- receipt is handed in at most once (hand_in_receipts' key).
CREATE TABLE receipt_checks (
    receipt_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    owed_at_arrival_fen BIGINT,
    checked_at_ms BIGINT NOT NULL
);
CREATE TABLE hand_ins (
    id TEXT PRIMARY KEY,
    manager_id TEXT NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    received_by TEXT NOT NULL,
    handed_in_at_ms BIGINT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX hand_ins_by_time ON hand_ins (handed_in_at_ms);
CREATE TABLE hand_in_receipts (
    receipt_id TEXT PRIMARY KEY,
    hand_in_id TEXT NOT NULL REFERENCES hand_ins (id)
);
CREATE INDEX hand_in_receipts_by_hand_in ON hand_in_receipts (hand_in_id);
