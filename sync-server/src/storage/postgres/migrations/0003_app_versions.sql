-- App versions in the field (issue 17), as SQLite's version 6: what each phone says of itself,
-- the builds of the app the back office published, the server's settings (the minimum version).
ALTER TABLE devices ADD COLUMN device_model TEXT;
ALTER TABLE devices ADD COLUMN os_version TEXT;
ALTER TABLE devices ADD COLUMN free_storage_bytes BIGINT;
ALTER TABLE devices ADD COLUMN last_sync_duration_ms BIGINT;
ALTER TABLE devices ADD COLUMN last_sync_bytes BIGINT;
ALTER TABLE devices ADD COLUMN battery_saver BOOLEAN;
CREATE TABLE app_releases (
    sha256 TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    rollout_percent INTEGER NOT NULL CHECK (rollout_percent BETWEEN 0 AND 100),
    grids TEXT NOT NULL DEFAULT '[]',
    managers TEXT NOT NULL DEFAULT '[]',
    published_at_ms BIGINT NOT NULL,
    published_by TEXT NOT NULL,
    withdrawn_at_ms BIGINT
);
CREATE TABLE server_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
