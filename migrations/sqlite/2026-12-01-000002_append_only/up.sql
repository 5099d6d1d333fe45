-- The custody history and the audit log are append-only: a row once
-- written is never changed or removed, by the registry or by anyone who
-- opens its file without dropping these triggers first (which verify then
-- catches). The sequencer's one change, giving a queued entry its seq, is
-- the only update allowed.
CREATE TRIGGER firearm_events_no_update BEFORE UPDATE ON firearm_events
BEGIN SELECT RAISE(ABORT, 'registry: UPDATE on firearm_events refused: the table is append-only'); END;
CREATE TRIGGER firearm_events_no_delete BEFORE DELETE ON firearm_events
BEGIN SELECT RAISE(ABORT, 'registry: DELETE on firearm_events refused: the table is append-only'); END;
CREATE TRIGGER destructions_no_update BEFORE UPDATE ON destructions
BEGIN SELECT RAISE(ABORT, 'registry: UPDATE on destructions refused: the table is append-only'); END;
CREATE TRIGGER destructions_no_delete BEFORE DELETE ON destructions
BEGIN SELECT RAISE(ABORT, 'registry: DELETE on destructions refused: the table is append-only'); END;
CREATE TRIGGER audit_nodes_no_update BEFORE UPDATE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'registry: UPDATE on audit_nodes refused: the table is append-only'); END;
CREATE TRIGGER audit_nodes_no_delete BEFORE DELETE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'registry: DELETE on audit_nodes refused: the table is append-only'); END;
CREATE TRIGGER audit_heads_no_update BEFORE UPDATE ON audit_heads
BEGIN SELECT RAISE(ABORT, 'registry: UPDATE on audit_heads refused: the table is append-only'); END;
CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
BEGIN SELECT RAISE(ABORT, 'registry: DELETE on audit_heads refused: the table is append-only'); END;
CREATE TRIGGER audit_entries_sequenced BEFORE UPDATE ON audit_entries
WHEN NOT (OLD.seq IS NULL AND NEW.seq IS NOT NULL AND NEW.id IS OLD.id AND NEW.at IS OLD.at AND NEW.actor_user_id IS OLD.actor_user_id AND NEW.actor_username IS OLD.actor_username AND NEW.actor_agency_id IS OLD.actor_agency_id AND NEW.action IS OLD.action AND NEW.target IS OLD.target AND NEW.request_id IS OLD.request_id AND NEW.event_id IS OLD.event_id AND NEW.subject IS OLD.subject AND NEW.canonical IS OLD.canonical AND NEW.leaf_hash IS OLD.leaf_hash)
BEGIN SELECT RAISE(ABORT, 'registry: UPDATE on audit_entries refused: only a queued entry''s seq is ever set'); END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'registry: DELETE on audit_entries refused: the table is append-only'); END;
