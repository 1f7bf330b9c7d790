-- The back office's state shared by every server process (issue 15): its sessions (the SHA-256 of
-- the cookie's token, never the token), failed logins per account and per client address (the
-- login throttle), and the latest stamp any process's back-office clock wrote, seeded from the
-- back-office ops already stored so that a restart never stamps below them.
CREATE TABLE backoffice_sessions (
    token_hash TEXT PRIMARY KEY,
    staff_id TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX backoffice_sessions_by_last_seen ON backoffice_sessions (last_seen_ms);
CREATE TABLE login_failures (
    scope TEXT NOT NULL CHECK (scope IN ('account', 'address')),
    key TEXT NOT NULL,
    count INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX login_failures_by_last ON login_failures (last_ms);
CREATE TABLE backoffice_clock (
    single INTEGER PRIMARY KEY CHECK (single = 1),
    last_hlc TEXT NOT NULL
);
INSERT INTO backoffice_clock (single, last_hlc)
    SELECT 1, coalesce(max(merged_hlc), '0000000000000000-backoffice') FROM ops WHERE device_id = 'backoffice';
