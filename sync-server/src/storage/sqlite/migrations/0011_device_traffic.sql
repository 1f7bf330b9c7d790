-- Photos and traffic in the device facts (issue 20): the day (China time) a phone last reported
-- its bytes on the wire for, those bytes each way, and its photos still waiting to upload.
ALTER TABLE devices ADD COLUMN traffic_day TEXT;
ALTER TABLE devices ADD COLUMN bytes_sent_day INTEGER;
ALTER TABLE devices ADD COLUMN bytes_received_day INTEGER;
ALTER TABLE devices ADD COLUMN photos_waiting INTEGER;
ALTER TABLE devices ADD COLUMN photo_bytes_waiting INTEGER;
