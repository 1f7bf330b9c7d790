-- App versions in the field (issue 17). What each phone says of itself beyond its counts (model,
-- OS, free storage, its last sync's duration and bytes, battery saver); the builds of the app the
-- back office publishes (the file is `<database>.releases/<sha256>.apk`; grids and managers are
-- JSON arrays, empty for all); and the server's settings, of which the minimum app version is the
-- first (`min_app_version`; absent: every version syncs).
ALTER TABLE devices ADD COLUMN device_model TEXT;
ALTER TABLE devices ADD COLUMN os_version TEXT;
ALTER TABLE devices ADD COLUMN free_storage_bytes INTEGER;
ALTER TABLE devices ADD COLUMN last_sync_duration_ms INTEGER;
ALTER TABLE devices ADD COLUMN last_sync_bytes INTEGER;
ALTER TABLE devices ADD COLUMN battery_saver INTEGER;
CREATE TABLE app_releases (
    sha256 TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    rollout_percent INTEGER NOT NULL CHECK (rollout_percent BETWEEN 0 AND 100),
    grids TEXT NOT NULL DEFAULT '[]',
    managers TEXT NOT NULL DEFAULT '[]',
    published_at_ms INTEGER NOT NULL,
    published_by TEXT NOT NULL,
    withdrawn_at_ms INTEGER
);
CREATE TABLE server_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
