-- A derived entry has no stored text to fall back on: refuse rather than
-- lose what its leaf hash was made from (the CHECK fails when any exists).
CREATE TEMP TABLE derived_entries_guard (n INTEGER CHECK (n = 0));
INSERT INTO derived_entries_guard SELECT count(*) FROM audit_entries WHERE canonical = '';
DROP TABLE derived_entries_guard;
DROP TRIGGER audit_entries_sequenced;
ALTER TABLE audit_entries DROP COLUMN content_digest;
ALTER TABLE audit_entries DROP COLUMN state_digest;
ALTER TABLE audit_entries DROP COLUMN purpose;
ALTER TABLE audit_entries DROP COLUMN detail;
CREATE TRIGGER audit_entries_sequenced BEFORE UPDATE ON audit_entries
WHEN NOT (OLD.seq IS NULL AND NEW.seq IS NOT NULL AND NEW.id IS OLD.id AND NEW.at IS OLD.at AND NEW.actor_user_id IS OLD.actor_user_id AND NEW.actor_username IS OLD.actor_username AND NEW.actor_agency_id IS OLD.actor_agency_id AND NEW.action IS OLD.action AND NEW.target IS OLD.target AND NEW.request_id IS OLD.request_id AND NEW.event_id IS OLD.event_id AND NEW.subject IS OLD.subject AND NEW.canonical IS OLD.canonical AND NEW.leaf_hash IS OLD.leaf_hash)
BEGIN SELECT RAISE(ABORT, 'registry: UPDATE on audit_entries refused: only a queued entry''s seq is ever set'); END;
