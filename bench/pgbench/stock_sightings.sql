-- The statements one batch of 1,000 sightings runs (stockpiles/checks.rs):
-- take the check, match the serials, which of the matches it expects,
-- mark them seen (what the insert skips was seen before), write the
-- sightings, count them on the check. bench_batches(batch, idx, serial,
-- firearm_id) holds the batches the registry was sent, and :check is the
-- registry's check (what it expected). Each transaction first makes a
-- check of its own, a copy of :check, so that every batch is seen for the
-- first time, as the registry's were: one small insert more than the
-- registry runs.
\set b random(0, :batches - 1)
BEGIN;
INSERT INTO stock_checks (id, armoury_id, agency_id, reference, status, expected, sightings, seen,
                          opened_by, opened_by_username, opened_at, version)
    SELECT gen_random_uuid()::text, armoury_id, agency_id, 'PGBENCH', 'closed', expected, 0, 0,
           opened_by, opened_by_username, opened_at, 1
    FROM stock_checks WHERE id = :check
    RETURNING id AS fresh \gset
SELECT * FROM stock_checks WHERE id = :fresh FOR UPDATE;
SELECT f.* FROM firearms f WHERE f.serial_normalized IN (SELECT serial FROM bench_batches WHERE batch = :b);
SELECT firearm_id FROM stock_check_expected WHERE check_id = :check AND firearm_id IN (SELECT firearm_id FROM bench_batches WHERE batch = :b);
INSERT INTO stock_check_seen (check_id, firearm_id)
    SELECT :fresh, firearm_id FROM bench_batches WHERE batch = :b
    ON CONFLICT DO NOTHING RETURNING firearm_id;
INSERT INTO stock_check_sightings (id, check_id, position, item, result, firearm_id, candidates, sighted_by, sighted_at)
    SELECT gen_random_uuid()::text, :fresh, idx + 1, '{"serial_number":"' || serial || '"}', 'found', firearm_id, NULL, 'pgbench', now()
    FROM bench_batches WHERE batch = :b;
UPDATE stock_checks SET sightings = sightings + 1000, seen = seen + 1000, version = version + 1 WHERE id = :fresh;
COMMIT;
