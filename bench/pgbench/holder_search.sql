-- The statements GET /v1/holders?name=<one word> runs: the caller's
-- account, the word index's range, the holders found and their
-- identifiers, and the read's audit entry.
\set i random(1, :n)
SELECT id, username, agency_id, roles, disabled FROM users WHERE id = :uid::text;
SELECT DISTINCT holder_id FROM holder_name_words WHERE word >= 'mensah' || lpad(:i::text, 7, '0')
  AND word < 'mensah' || lpad(:i::text, 7, '0') || chr(1114111) ORDER BY holder_id LIMIT 200;
SELECT * FROM holders WHERE id IN ('00000000-0000-4000-8000-' || lpad(:i::text, 12, '0')) ORDER BY id;
SELECT * FROM holder_identifiers WHERE holder_id = '00000000-0000-4000-8000-' || lpad(:i::text, 12, '0') ORDER BY position;
INSERT INTO audit_entries VALUES (gen_random_uuid()::text, NULL, now(), :uid::text, 'bench', NULL, 'holder.read',
  'holders', 'bench', NULL, NULL, '', md5(:i::text) || md5(:i::text),
  md5(:i::text) || md5(:i::text), NULL, NULL, '{"holder":"' || :i::text || '"}');
