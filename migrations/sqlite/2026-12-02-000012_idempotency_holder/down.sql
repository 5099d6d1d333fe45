ALTER TABLE idempotency_keys DROP COLUMN holder;
