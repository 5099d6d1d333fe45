-- The statements GET /v1/firearms/{id}/history runs (plus one lookup of a
-- random seeded firearm, which the service does not).
\set n random(1, :records)
SELECT id AS fid FROM bench_ids WHERE n = :n \gset
SELECT id, username, agency_id, roles, disabled FROM users WHERE id = :uid::text;
SELECT * FROM firearms WHERE id = :fid::text;
SELECT e.*, a.seq FROM firearm_events e LEFT JOIN audit_entries a ON a.event_id = e.id
  WHERE e.firearm_id = :fid::text ORDER BY e.sequence;
