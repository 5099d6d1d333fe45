-- Tracing reads identifiers in a look-alike-folded form (0/O/Q/D, 1/I/L,
-- 2/Z, 5/S, 6/G, 8/B each fold to one character), indexed for exact and
-- look-alike lookups, and by trigrams (an FTS5 trigram table kept in step
-- by triggers) for patterns with obliterated parts.
ALTER TABLE firearm_identifiers ADD COLUMN canonical TEXT NOT NULL DEFAULT '';
UPDATE firearm_identifiers SET canonical =
    replace(replace(replace(replace(replace(replace(replace(replace(replace(normalized,
        'O', '0'), 'Q', '0'), 'D', '0'), 'I', '1'), 'L', '1'), 'Z', '2'), 'S', '5'), 'G', '6'), 'B', '8');
CREATE INDEX firearm_identifiers_canonical ON firearm_identifiers (canonical);
CREATE VIRTUAL TABLE identifier_trigrams USING fts5(
    canonical, firearm_id UNINDEXED, position UNINDEXED, tokenize = 'trigram'
);
INSERT INTO identifier_trigrams (canonical, firearm_id, position)
    SELECT canonical, firearm_id, position FROM firearm_identifiers;
CREATE TRIGGER identifier_trigrams_insert AFTER INSERT ON firearm_identifiers BEGIN
    INSERT INTO identifier_trigrams (canonical, firearm_id, position)
        VALUES (new.canonical, new.firearm_id, new.position);
END;
CREATE TRIGGER identifier_trigrams_update AFTER UPDATE ON firearm_identifiers BEGIN
    DELETE FROM identifier_trigrams WHERE firearm_id = old.firearm_id AND position = old.position;
    INSERT INTO identifier_trigrams (canonical, firearm_id, position)
        VALUES (new.canonical, new.firearm_id, new.position);
END;

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
