-- Where and under which reference an event happened, and free notes: shown
-- in every custody history, so they are columns rather than details.
ALTER TABLE firearm_events ADD COLUMN location TEXT;
ALTER TABLE firearm_events ADD COLUMN reference TEXT;
ALTER TABLE firearm_events ADD COLUMN notes TEXT;

-- Public destruction ceremonies destroy weapons in batches; each batch is
-- one record, and each firearm's `destroyed` event names it.
CREATE TABLE destructions (
    id TEXT PRIMARY KEY NOT NULL,
    method TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    location TEXT,
    certificate_reference TEXT,
    witnesses TEXT NOT NULL,
    firearm_count BIGINT NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    recorded_by_user_id TEXT NOT NULL,
    recorded_by_agency_id TEXT NOT NULL
);
