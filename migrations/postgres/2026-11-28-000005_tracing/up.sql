-- Tracing reads identifiers in a look-alike-folded form (0/O/Q/D, 1/I/L,
-- 2/Z, 5/S, 6/G, 8/B each fold to one character), indexed for exact and
-- look-alike lookups, and by trigrams for patterns with obliterated parts.
ALTER TABLE firearm_identifiers ADD COLUMN canonical TEXT NOT NULL DEFAULT '';
UPDATE firearm_identifiers SET canonical = translate(normalized, 'OQDILZSGB', '000112568');
CREATE INDEX firearm_identifiers_canonical ON firearm_identifiers (canonical);
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX firearm_identifiers_trigrams ON firearm_identifiers USING gin (canonical gin_trgm_ops);

-- Who traced which firearm: left for the responsible agency when a trace
-- matches a firearm reported lost or stolen (as INTERPOL iARMS does).
CREATE TABLE notifications (
    id TEXT PRIMARY KEY NOT NULL,
    agency_id TEXT NOT NULL REFERENCES agencies (id),
    firearm_id TEXT NOT NULL REFERENCES firearms (id),
    kind TEXT NOT NULL,
    traced_by_user_id TEXT NOT NULL,
    traced_by_username TEXT NOT NULL,
    traced_by_agency_id TEXT,
    query TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX notifications_agency ON notifications (agency_id, id);

-- Formal tracing requests between agencies (ITI).
CREATE TABLE trace_requests (
    id TEXT PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    from_agency_id TEXT NOT NULL REFERENCES agencies (id),
    to_agency_id TEXT NOT NULL REFERENCES agencies (id),
    created_by_user_id TEXT NOT NULL,
    firearm TEXT NOT NULL,
    circumstances TEXT NOT NULL,
    urgency TEXT NOT NULL,
    respond_by TIMESTAMP,
    status TEXT NOT NULL,
    candidates TEXT NOT NULL,
    acknowledged_at TIMESTAMP,
    acknowledged_by TEXT,
    response TEXT,
    responded_at TIMESTAMP,
    responded_by TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX trace_requests_inbox ON trace_requests (to_agency_id, id);
CREATE INDEX trace_requests_outbox ON trace_requests (from_agency_id, id);
