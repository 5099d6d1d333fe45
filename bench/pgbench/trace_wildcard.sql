-- The statements GET /v1/trace runs for a wildcard query: the caller's
-- account, the candidate identifiers through the index, the firearms of the
-- 20 it answers (the default limit; the service ranks a bare pattern on the
-- identifiers and reads only those, by the ids found), plus one lookup of a
-- random seeded firearm, which the service does not.
-- The query's audit entry is not here: the service writes read entries in
-- batches off the request's path (docs/audit.md), so the baseline is the
-- trace's own SELECTs.
\set n random(1, :records)
SELECT id AS fid, normalized AS norm, canonical AS canon, wildcard AS wild FROM bench_ids WHERE n = :n \gset
SELECT id, username, agency_id, roles, disabled FROM users WHERE id = :tid::text;
SELECT coalesce(array_agg(firearm_id), '{}') AS cands FROM (SELECT firearm_id, position, source, kind, text, normalized
  FROM firearm_identifiers WHERE canonical LIKE :wild::text LIMIT 2001) found \gset
SELECT * FROM firearms WHERE id = ANY((:cands::text[])[1:20]);
