-- Proof of visit by place (issue 20): each household's and premises' reference position — the
-- first good fix of a visit there (not mocked, within 50 m, fresh) or one the back office set
-- (audited); `place_id` is the household's or the premises' id — and
-- each visit's position checked against it by the server (core's `location::check`, haversine):
-- the distance, and the flags the back office lists per manager and day (far beyond
-- max(accuracy, the server's distance), a mock location, no fix). `unknown`: the app sent no
-- position (older than issue 20), not judged. Positions are WGS-84 micro-degrees.
CREATE TABLE reference_positions (
    place_id TEXT PRIMARY KEY,
    lat_e6 INTEGER NOT NULL,
    lon_e6 INTEGER NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('first_fix', 'back_office')),
    visit_id TEXT,
    set_by TEXT NOT NULL,
    set_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE visit_locations (
    visit_id TEXT PRIMARY KEY,
    grid_id TEXT NOT NULL,
    household_id TEXT NOT NULL,
    manager_id TEXT NOT NULL,
    arrived_at_ms INTEGER NOT NULL,
    zone_offset_min INTEGER NOT NULL,
    lat_e6 INTEGER,
    lon_e6 INTEGER,
    accuracy_m INTEGER,
    distance_m INTEGER,
    far INTEGER NOT NULL,
    mock INTEGER NOT NULL,
    no_fix INTEGER NOT NULL,
    unknown INTEGER NOT NULL,
    checked_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX visit_locations_flagged ON visit_locations (arrived_at_ms) WHERE far = 1 OR mock = 1 OR no_fix = 1;
