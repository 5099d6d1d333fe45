-- Which attempt reserved a key: an attempt whose reservation's commit was
-- cut off releases its own reservation later, never another attempt's.
ALTER TABLE idempotency_keys ADD COLUMN holder TEXT;
