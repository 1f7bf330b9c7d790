-- Version 4: where the database's generation was written (docs/postgres.md, "Backups and
-- restore"): the cluster's system identifier and WAL timeline, as `<system id>/<timeline>`. A
-- restore through recovery (a base backup, point-in-time recovery, a promoted standby) starts a
-- new timeline, a logical restore into another cluster has another system identifier: a server
-- that finds its database elsewhere than its generation says refuses to start until
-- `admin mark-restored` has given it a new generation. Empty until the first server start
-- records it.
ALTER TABLE server_generation ADD COLUMN cluster TEXT NOT NULL DEFAULT '';
