-- Version 2: the running totals behind /metrics count each sync event and conflict once. Their
-- BIGSERIAL ids commit out of order (a later id can be visible before an earlier one), so a
-- scrape that resumed after "the largest id seen" would skip rows. Each row keeps the id of the
-- transaction that wrote it instead, and a scrape sums only the transactions below the watermark
-- of its snapshot (all ended), then resumes there (docs/postgres.md, "The change cursor").
ALTER TABLE sync_events ADD COLUMN xact BIGINT NOT NULL DEFAULT pg_current_xact_id()::text::bigint;
ALTER TABLE conflicts ADD COLUMN xact BIGINT NOT NULL DEFAULT pg_current_xact_id()::text::bigint;
CREATE INDEX sync_events_by_xact ON sync_events (xact);
CREATE INDEX conflicts_by_xact ON conflicts (xact);
