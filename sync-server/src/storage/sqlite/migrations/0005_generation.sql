-- The database's generation (docs/operations.md, "Backups and restore"): one row. A restore gives
-- the restored copy a new `id`, so that every phone learns from its next sync answer that the
-- server forgot what it acknowledged after the backup, and sends that again.
-- restored_from_ms / restored_cursor: when the restored backup was taken and the last change
-- number it held (0 / 0: never restored). backup_taken_ms / backup_cursor are written into a
-- backup's own copy when it is taken. book_tag goes into the prefix of every receipt book issued
-- in this generation, so that no book of a lost generation is issued again.
CREATE TABLE server_generation (
    single INTEGER PRIMARY KEY CHECK (single = 1),
    id TEXT NOT NULL,
    restored_from_ms INTEGER NOT NULL DEFAULT 0,
    restored_cursor INTEGER NOT NULL DEFAULT 0,
    backup_taken_ms INTEGER NOT NULL DEFAULT 0,
    backup_cursor INTEGER NOT NULL DEFAULT 0,
    book_tag TEXT NOT NULL DEFAULT ''
);
INSERT INTO server_generation (single, id) VALUES (1, lower(hex(randomblob(8))));
