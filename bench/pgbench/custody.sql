-- The statements POST /v1/firearms/{id}/events runs for a custody transfer
-- (plus one lookup of a random seeded firearm, which the service does not),
-- with the report counts it adds to in one of eight slots.
\set n random(1, :records)
\set slot random(0, 7)
SELECT id AS fid FROM bench_ids WHERE n = :n \gset
SELECT id, username, agency_id, roles, disabled FROM users WHERE id = :uid::text;
BEGIN;
SELECT * FROM firearms WHERE id = :fid::text FOR UPDATE;
UPDATE firearms SET custodian = '{"kind":"dealer","name":"PG dealer","reference": null,"country": null,"agency_id": null}',
  status = 'active', version = version + 1, updated_at = now() WHERE id = :fid::text;
INSERT INTO firearm_events SELECT gen_random_uuid()::text, :fid::text, version, 'custody_transfer', now(), now(), :uid::text, 'bench', :aid::text,
  '{"from":{},"to":{},"reason":"benchmark"}', NULL, NULL, NULL FROM firearms WHERE id = :fid::text;
INSERT INTO event_counts VALUES (CAST(to_char(now(), 'YYYYMMDD') AS INTEGER), :aid::text, 'custody_transfer', 'assault_rifle', '', '', :slot, 1)
  ON CONFLICT (day, agency_id, event_type, category, partner, detail, slot) DO UPDATE SET n = event_counts.n + 1;
INSERT INTO event_counts_monthly VALUES (CAST(to_char(now(), 'YYYYMM') AS INTEGER), :aid::text, 'custody_transfer', 'assault_rifle', '', '', :slot, 1)
  ON CONFLICT (month, agency_id, event_type, category, partner, detail, slot) DO UPDATE SET n = event_counts_monthly.n + 1;
INSERT INTO audit_entries VALUES (gen_random_uuid()::text, NULL, now(), :uid::text, 'bench', :aid::text, 'firearm.custody_transfer',
  'firearm:' || :fid::text, 'bench', NULL, 'firearm:' || :fid::text, '', md5(:fid::text) || md5(:n::text),
  md5(:fid::text) || md5(:n::text), md5(:uid::text) || md5(:aid::text), NULL, NULL);
COMMIT;
