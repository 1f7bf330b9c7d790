-- Issue 18, the receipt a customer accepts: each manager's staff number (工号), set in the back
-- office's administration page and printed on every receipt their phones record. Empty: none yet.
ALTER TABLE managers ADD COLUMN staff_no TEXT NOT NULL DEFAULT '';
