DROP INDEX audit_entries_event;
DROP INDEX audit_entries_subject;
CREATE INDEX audit_entries_event ON audit_entries (event_id);
CREATE INDEX audit_entries_subject ON audit_entries (subject, seq);
