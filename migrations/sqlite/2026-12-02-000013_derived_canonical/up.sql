-- An entry keeps what its canonical text says beyond the other columns
-- (the content and state digests, the purpose, the detail) as columns, and
-- its canonical text is derived from its columns when read: the leaf hash,
-- in the signed tree, proves the derivation gives the text it was made
-- from. `canonical` is '' for derived entries; entries written before keep
-- their text, and verification checks that their columns still derive it.
ALTER TABLE audit_entries ADD COLUMN content_digest TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_entries ADD COLUMN state_digest TEXT;
ALTER TABLE audit_entries ADD COLUMN purpose TEXT;
ALTER TABLE audit_entries ADD COLUMN detail TEXT;
DROP TRIGGER audit_entries_sequenced;
UPDATE audit_entries SET
    content_digest = json_extract(canonical, '$.content_digest'),
    state_digest = json_extract(canonical, '$.state_digest'),
    purpose = json_extract(canonical, '$.purpose'),
    detail = CASE
        WHEN json_type(canonical, '$.detail') IS NULL THEN NULL
        WHEN json_type(canonical, '$.detail') IN ('object', 'array') THEN json_extract(canonical, '$.detail')
        ELSE json_quote(json_extract(canonical, '$.detail'))
    END;
CREATE TRIGGER audit_entries_sequenced BEFORE UPDATE ON audit_entries
WHEN NOT (OLD.seq IS NULL AND NEW.seq IS NOT NULL AND NEW.id IS OLD.id AND NEW.at IS OLD.at AND NEW.actor_user_id IS OLD.actor_user_id AND NEW.actor_username IS OLD.actor_username AND NEW.actor_agency_id IS OLD.actor_agency_id AND NEW.action IS OLD.action AND NEW.target IS OLD.target AND NEW.request_id IS OLD.request_id AND NEW.event_id IS OLD.event_id AND NEW.subject IS OLD.subject AND NEW.canonical IS OLD.canonical AND NEW.leaf_hash IS OLD.leaf_hash AND NEW.content_digest IS OLD.content_digest AND NEW.state_digest IS OLD.state_digest AND NEW.purpose IS OLD.purpose AND NEW.detail IS OLD.detail)
BEGIN SELECT RAISE(ABORT, 'registry: UPDATE on audit_entries refused: only a queued entry''s seq is ever set'); END;
