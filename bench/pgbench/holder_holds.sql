-- The statements GET /v1/holders/{id}/firearms runs: the caller's
-- account, the holder, the latest link of each firearm naming it, the
-- firearms, and the read's audit entry.
\set i random(1, :n)
SELECT id, username, agency_id, roles, disabled FROM users WHERE id = :uid::text;
SELECT * FROM holders WHERE id = '00000000-0000-4000-8000-' || lpad(:i::text, 12, '0');
SELECT l.* FROM holder_links l
 WHERE (l.owner_holder_id = '00000000-0000-4000-8000-' || lpad(:i::text, 12, '0')
     OR l.custodian_holder_id = '00000000-0000-4000-8000-' || lpad(:i::text, 12, '0'))
   AND l.occurred_at <= '9999-12-31 23:59:59'
   AND NOT EXISTS (SELECT 1 FROM holder_links n WHERE n.firearm_id = l.firearm_id AND n.sequence > l.sequence
                   AND n.occurred_at <= '9999-12-31 23:59:59')
 ORDER BY l.firearm_id LIMIT 51;
SELECT * FROM firearms WHERE id IN (SELECT firearm_id FROM bench_firearms WHERE n = :i);
INSERT INTO audit_entries VALUES (gen_random_uuid()::text, NULL, now(), :uid::text, 'bench', NULL, 'holder.read',
  'holder:' || :i::text, 'bench', NULL, NULL, '', md5(:i::text) || md5(:i::text),
  md5(:i::text) || md5(:i::text), NULL, NULL, '{"holder":"' || :i::text || '"}');
