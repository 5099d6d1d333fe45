-- The statements an ownership transfer to {"holder_id"} runs: the
-- caller's account, then one transaction that takes the firearm, reads
-- the holder and its identifiers, takes its licences in force with a
-- shared lock, writes the firearm, the event, the holder link and the
-- audit entry.
\set h random(1, :n)
\set f random(1, :nf)
SELECT id, username, agency_id, roles, disabled FROM users WHERE id = :uid::text;
BEGIN;
SELECT firearm_id AS fid FROM bench_firearms WHERE n = :f \gset
SELECT * FROM firearms WHERE id = :fid::text FOR UPDATE;
SELECT * FROM holders WHERE id = '00000000-0000-4000-8000-' || lpad(:h::text, 12, '0');
SELECT * FROM holder_identifiers WHERE holder_id = '00000000-0000-4000-8000-' || lpad(:h::text, 12, '0') ORDER BY position;
SELECT * FROM licences WHERE holder_id = '00000000-0000-4000-8000-' || lpad(:h::text, 12, '0') AND status = 'valid'
  AND valid_from <= current_date AND valid_until >= current_date ORDER BY id FOR SHARE;
UPDATE firearms SET version = version + 1, updated_at = now(),
  owner = '{"kind":"individual","name":"Kofi Mensah","reference":"GHA-1","country":"GH","agency_id": null,"holder_id":"00000000-0000-4000-8000-' || lpad(:h::text, 12, '0') || '"}'
  WHERE id = :fid::text RETURNING version AS v \gset
INSERT INTO firearm_events VALUES (gen_random_uuid()::text, :fid::text, :v::bigint, 'ownership_transfer', now(), now(), :uid::text, 'bench', NULL,
  '{"from":{"kind":"agency","name":"Ghana Police Service"},"to":{"kind":"individual","name":"Kofi Mensah","reference":"GHA-1","country":"GH","holder_id":"x"},"authorization":"permit","licence_id":"x","previous_custodian": null}',
  NULL, NULL, NULL, md5(:f::text), NULL) RETURNING id AS eid \gset
INSERT INTO holder_links VALUES (:fid::text, :v::bigint, now(), '00000000-0000-4000-8000-' || lpad(:h::text, 12, '0'), NULL);
INSERT INTO audit_entries VALUES (gen_random_uuid()::text, NULL, now(), :uid::text, 'bench', NULL, 'firearm.ownership_transfer',
  'firearm:' || :fid::text, 'bench', :eid::text, 'firearm:' || :fid::text, '', md5(:f::text) || md5(:h::text),
  md5(:f::text) || md5(:h::text), md5(:h::text) || md5(:f::text), NULL, NULL);
COMMIT;
