-- The service forgets keys past their retention (housekeeping.rs); this
-- finds them without reading the table.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
