-- Proof of visit by place (issue 20), as SQLite's version 9: each household's and premises'
-- reference position (`place_id`; first good fix, or set by the back office, audited) and each visit's position checked against
-- it by the server: the distance and the flags (far, mock location, no fix). WGS-84 micro-degrees.
CREATE TABLE reference_positions (
    place_id TEXT PRIMARY KEY,
    lat_e6 BIGINT NOT NULL,
    lon_e6 BIGINT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('first_fix', 'back_office')),
    visit_id TEXT,
    set_by TEXT NOT NULL,
    set_at_ms BIGINT NOT NULL
);
CREATE TABLE visit_locations (
    visit_id TEXT PRIMARY KEY,
    grid_id TEXT NOT NULL,
    household_id TEXT NOT NULL,
    manager_id TEXT NOT NULL,
    arrived_at_ms BIGINT NOT NULL,
    zone_offset_min BIGINT NOT NULL,
    lat_e6 BIGINT,
    lon_e6 BIGINT,
    accuracy_m BIGINT,
    distance_m BIGINT,
    far BOOLEAN NOT NULL,
    mock BOOLEAN NOT NULL,
    no_fix BOOLEAN NOT NULL,
    unknown BOOLEAN NOT NULL,
    checked_at_ms BIGINT NOT NULL
);
CREATE INDEX visit_locations_flagged ON visit_locations (arrived_at_ms) WHERE far OR mock OR no_fix;
