-- The statements GET /v1/trace runs for a wildcard query: the caller's
-- account, the candidate identifiers through the index, each candidate's
-- firearms (one query), and the audit entry of the query (plus one lookup of a random
-- seeded firearm, which the service does not).
\set n random(1, :records)
SELECT id AS fid, normalized AS norm, canonical AS canon, wildcard AS wild FROM bench_ids WHERE n = :n \gset
SELECT id, username, agency_id, roles, disabled FROM users WHERE id = :tid::text;
SELECT firearm_id, position, source, kind, text, normalized FROM firearm_identifiers WHERE canonical LIKE :wild::text LIMIT 2001;
SELECT * FROM firearms WHERE id IN (SELECT firearm_id FROM firearm_identifiers WHERE canonical LIKE :wild::text LIMIT 2001);
BEGIN;
INSERT INTO audit_entries VALUES (gen_random_uuid()::text, NULL, now(), :tid::text, 'bench', :aid::text, 'trace.query',
  'trace', 'bench', NULL, NULL, '{"action":"trace.query"}', md5(:fid::text) || md5(:n::text));
COMMIT;
