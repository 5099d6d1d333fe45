-- Most entries now record reads, which name no history event and vouch for
-- no row's state. Indexing their NULLs cost every read two index entries
-- when written and two more when the sequencer gave it its seq; the
-- lookups by event and by subject only ever ask for a value.
DROP INDEX audit_entries_event;
DROP INDEX audit_entries_subject;
CREATE INDEX audit_entries_event ON audit_entries (event_id) WHERE event_id IS NOT NULL;
CREATE INDEX audit_entries_subject ON audit_entries (subject, seq) WHERE subject IS NOT NULL;
