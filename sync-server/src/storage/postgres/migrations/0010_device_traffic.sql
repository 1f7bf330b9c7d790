-- Photos and traffic in the device facts (issue 20), as SQLite's version 11: the day (China time)
-- a phone last reported its bytes on the wire for, those bytes each way, its photos waiting.
ALTER TABLE devices ADD COLUMN traffic_day TEXT;
ALTER TABLE devices ADD COLUMN bytes_sent_day BIGINT;
ALTER TABLE devices ADD COLUMN bytes_received_day BIGINT;
ALTER TABLE devices ADD COLUMN photos_waiting BIGINT;
ALTER TABLE devices ADD COLUMN photo_bytes_waiting BIGINT;
