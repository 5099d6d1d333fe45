-- The custody history and the audit log are append-only: a row once
-- written is never changed or removed, by the registry or by anyone with a
-- connection to its database. The sequencer's one change, giving a queued
-- entry its seq, is the only update allowed. (The service can run as a
-- role that cannot drop these triggers at all: docs/operations.md.)
CREATE FUNCTION registry_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'registry: % on % refused: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE FUNCTION registry_audit_entry_sequenced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.seq IS NULL AND NEW.seq IS NOT NULL
        AND to_jsonb(NEW) - 'seq' = to_jsonb(OLD) - 'seq' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'registry: UPDATE on audit_entries refused: only a queued entry''s seq is ever set'
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER firearm_events_append_only BEFORE UPDATE OR DELETE ON firearm_events
    FOR EACH ROW EXECUTE FUNCTION registry_refuse_change();
CREATE TRIGGER firearm_events_no_truncate BEFORE TRUNCATE ON firearm_events
    FOR EACH STATEMENT EXECUTE FUNCTION registry_refuse_change();
CREATE TRIGGER destructions_append_only BEFORE UPDATE OR DELETE ON destructions
    FOR EACH ROW EXECUTE FUNCTION registry_refuse_change();
CREATE TRIGGER destructions_no_truncate BEFORE TRUNCATE ON destructions
    FOR EACH STATEMENT EXECUTE FUNCTION registry_refuse_change();
CREATE TRIGGER audit_entries_sequenced BEFORE UPDATE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION registry_audit_entry_sequenced();
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION registry_refuse_change();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION registry_refuse_change();
CREATE TRIGGER audit_nodes_append_only BEFORE UPDATE OR DELETE ON audit_nodes
    FOR EACH ROW EXECUTE FUNCTION registry_refuse_change();
CREATE TRIGGER audit_nodes_no_truncate BEFORE TRUNCATE ON audit_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION registry_refuse_change();
CREATE TRIGGER audit_heads_append_only BEFORE UPDATE OR DELETE ON audit_heads
    FOR EACH ROW EXECUTE FUNCTION registry_refuse_change();
CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads
    FOR EACH STATEMENT EXECUTE FUNCTION registry_refuse_change();
