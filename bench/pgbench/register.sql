-- The statements POST /v1/firearms runs: the caller's account, then one
-- transaction with the holder's agency, the firearm, its identifier, its
-- registered event, the report counts it adds to (one of eight slots) and
-- its audit entry.
\set r random(1, 1000000000000)
\set slot random(0, 7)
SELECT id, username, agency_id, roles, disabled FROM users WHERE id = :uid::text;
BEGIN;
SELECT id, name, name_key, country, kind, version, created_at, updated_at FROM agencies WHERE id = :aid::text;
INSERT INTO firearms VALUES (gen_random_uuid()::text, 'assault_rifle', 'Izhmash', 'izhmash', 'AKM', '7.62x39mm', 'RU', 1978,
  'PGB-' || :client_id::text || '-' || :r::text, 'PGB' || :client_id::text || :r::text, '[]', '[]', 'active',
  '{"kind":"agency","name":"Ghana Police Service","reference": null,"country": null,"agency_id":"' || :aid::text || '"}', NULL,
  :aid::text, NULL, 1, now(), now()) RETURNING id AS fid \gset
INSERT INTO firearm_identifiers VALUES (:fid::text, 0, 'serial', 'serial', 'PGB-' || :client_id::text || '-' || :r::text, 'PGB' || :client_id::text || :r::text, 'P68' || :client_id::text || :r::text);
INSERT INTO firearm_events VALUES (gen_random_uuid()::text, :fid::text, 1, 'registered', now(), now(), :uid::text, 'bench', :aid::text,
  '{"category":"assault_rifle","manufacturer":"Izhmash"}', NULL, NULL, NULL);
INSERT INTO event_counts VALUES (CAST(to_char(now(), 'YYYYMMDD') AS INTEGER), :aid::text, 'registered', 'assault_rifle', '', '', :slot, 1)
  ON CONFLICT (day, agency_id, event_type, category, partner, detail, slot) DO UPDATE SET n = event_counts.n + 1;
INSERT INTO event_counts_monthly VALUES (CAST(to_char(now(), 'YYYYMM') AS INTEGER), :aid::text, 'registered', 'assault_rifle', '', '', :slot, 1)
  ON CONFLICT (month, agency_id, event_type, category, partner, detail, slot) DO UPDATE SET n = event_counts_monthly.n + 1;
INSERT INTO firearm_counts VALUES (:aid::text, 'active', 'assault_rifle', :slot, 1)
  ON CONFLICT (agency_id, status, category, slot) DO UPDATE SET n = firearm_counts.n + 1;
INSERT INTO audit_entries VALUES (gen_random_uuid()::text, NULL, now(), :uid::text, 'bench', :aid::text, 'firearm.registered',
  'firearm:' || :fid::text, 'bench', NULL, 'firearm:' || :fid::text, '', md5(:r::text) || md5(:fid::text),
  md5(:r::text) || md5(:fid::text), md5(:uid::text) || md5(:aid::text), NULL, NULL);
COMMIT;
