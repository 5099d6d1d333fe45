-- The statements GET /v1/trace runs for a wildcard query: the caller's
-- account, the candidate identifiers through the index, the firearms of the
-- 20 it answers (the default limit; the service ranks a bare pattern on the
-- identifiers and reads only those, by the ids found), and the audit entry
-- of the query
-- (plus one lookup of a random seeded firearm, which the service does not).
\set n random(1, :records)
SELECT id AS fid, normalized AS norm, canonical AS canon, wildcard AS wild FROM bench_ids WHERE n = :n \gset
SELECT id, username, agency_id, roles, disabled FROM users WHERE id = :tid::text;
SELECT coalesce(array_agg(firearm_id), '{}') AS cands FROM (SELECT firearm_id, position, source, kind, text, normalized
  FROM firearm_identifiers WHERE canonical LIKE :wild::text LIMIT 2001) found \gset
SELECT * FROM firearms WHERE id = ANY((:cands::text[])[1:20]);
BEGIN;
INSERT INTO audit_entries VALUES (gen_random_uuid()::text, NULL, now(), :tid::text, 'bench', :aid::text, 'trace.query',
  'trace', 'bench', NULL, NULL, '{"action":"trace.query"}', md5(:fid::text) || md5(:n::text));
COMMIT;
