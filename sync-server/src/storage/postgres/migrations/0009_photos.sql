-- Photos (issue 20), when the server runs on PostgreSQL: every replica sees the same uploads, so a
-- phone resumes wherever the load balancer sends its next chunk. photo_chunks: the chunks of an
-- upload under way, one row per (photo, index), written once (a chunk sent again is not written
-- again unless its length differs: another declared size); dropped when the photo is whole.
-- photo_blobs: whole photos, only once their bytes hash to their address (deduplicated by it),
-- with the thumbnail the back office shows, made once on first request.
CREATE TABLE photo_chunks (
    sha256 TEXT NOT NULL,
    idx INTEGER NOT NULL CHECK (idx >= 0),
    bytes BYTEA NOT NULL,
    PRIMARY KEY (sha256, idx)
);
CREATE TABLE photo_blobs (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL CHECK (size > 0),
    bytes BYTEA NOT NULL,
    thumbnail BYTEA,
    arrived_at_ms BIGINT NOT NULL
);
