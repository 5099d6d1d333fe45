CREATE TABLE firearms (
    id TEXT PRIMARY KEY NOT NULL,
    category TEXT NOT NULL,
    manufacturer TEXT NOT NULL,
    -- manufacturer folded: lower case, whitespace collapsed
    manufacturer_key TEXT NOT NULL,
    model TEXT,
    calibre TEXT,
    country_of_manufacture TEXT NOT NULL,
    year_of_manufacture INTEGER,
    serial_number TEXT NOT NULL,
    serial_normalized TEXT NOT NULL,
    -- JSON arrays and objects, as the API shows them
    markings TEXT NOT NULL,
    components TEXT NOT NULL,
    status TEXT NOT NULL,
    owner TEXT NOT NULL,
    custodian TEXT,
    responsible_agency_id TEXT NOT NULL REFERENCES agencies (id),
    notes TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    -- The unique marking (ITI): enforced here, so two concurrent
    -- registrations of one marking can never both commit.
    CONSTRAINT firearms_unique_marking UNIQUE (country_of_manufacture, manufacturer_key, serial_normalized)
);
CREATE INDEX firearms_status ON firearms (status, id);
CREATE INDEX firearms_category ON firearms (category, id);
CREATE INDEX firearms_manufacturer ON firearms (manufacturer_key, id);
CREATE INDEX firearms_country ON firearms (country_of_manufacture, id);
CREATE INDEX firearms_responsible ON firearms (responsible_agency_id, id);

-- Every identifying text on a firearm (its serial, component serials and
-- marking texts), normalised, so tracing can find the firearm from any.
CREATE TABLE firearm_identifiers (
    firearm_id TEXT NOT NULL REFERENCES firearms (id),
    position INTEGER NOT NULL,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    normalized TEXT NOT NULL,
    PRIMARY KEY (firearm_id, position)
);
CREATE INDEX firearm_identifiers_normalized ON firearm_identifiers (normalized);

-- The custody history: append-only, one gap-free sequence per firearm.
CREATE TABLE firearm_events (
    id TEXT PRIMARY KEY NOT NULL,
    firearm_id TEXT NOT NULL REFERENCES firearms (id),
    sequence BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    recorded_by_user_id TEXT NOT NULL,
    recorded_by_username TEXT NOT NULL,
    recorded_by_agency_id TEXT,
    details TEXT NOT NULL,
    CONSTRAINT firearm_events_sequence UNIQUE (firearm_id, sequence)
);
