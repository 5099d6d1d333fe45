-- Armouries: the places an agency keeps firearms, and the stock checks
-- that count what is really there against the records (docs/stockpiles.md).
CREATE TABLE armouries (
    id TEXT PRIMARY KEY NOT NULL,
    agency_id TEXT NOT NULL REFERENCES agencies (id),
    name TEXT NOT NULL,
    -- name folded: one armoury of a name per agency
    name_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    location TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (agency_id, name_key)
);
CREATE INDEX armouries_agency ON armouries (agency_id, id);

-- The armoury that holds the firearm now (its custodian's, or its owner's
-- when it has none), kept with every change of holder so that a store of
-- 100,000 firearms is listed from an index.
-- No REFERENCES: SQLite cannot drop a column that has one (down.sql).
ALTER TABLE firearms ADD COLUMN armoury_id TEXT;
CREATE INDEX firearms_armoury ON firearms (armoury_id, id) WHERE armoury_id IS NOT NULL;
-- A sighting gives a serial and perhaps no maker.
CREATE INDEX firearms_serial ON firearms (serial_normalized);

CREATE TABLE stock_checks (
    id TEXT PRIMARY KEY NOT NULL,
    armoury_id TEXT NOT NULL REFERENCES armouries (id),
    agency_id TEXT NOT NULL REFERENCES agencies (id),
    reference TEXT NOT NULL,
    status TEXT NOT NULL,
    expected BIGINT NOT NULL,
    sightings BIGINT NOT NULL,
    -- how many firearms were sighted, each once (rows of stock_check_seen)
    seen BIGINT NOT NULL,
    opened_by TEXT NOT NULL,
    opened_by_username TEXT NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    closed_by TEXT,
    closed_by_username TEXT,
    closed_at TIMESTAMP,
    missing_action TEXT,
    notes TEXT,
    -- the report as it stood when the check closed (JSON)
    report TEXT,
    version BIGINT NOT NULL
);
-- One open check per armoury.
CREATE UNIQUE INDEX stock_checks_open ON stock_checks (armoury_id) WHERE status = 'open';
CREATE INDEX stock_checks_armoury ON stock_checks (armoury_id, id);

-- What the check expects: the firearms held there when it opened.
CREATE TABLE stock_check_expected (
    check_id TEXT NOT NULL REFERENCES stock_checks (id),
    firearm_id TEXT NOT NULL REFERENCES firearms (id),
    PRIMARY KEY (check_id, firearm_id)
);

CREATE TABLE stock_check_sightings (
    id TEXT PRIMARY KEY NOT NULL,
    check_id TEXT NOT NULL REFERENCES stock_checks (id),
    position BIGINT NOT NULL,
    -- the item as sighted (JSON)
    item TEXT NOT NULL,
    result TEXT NOT NULL,
    firearm_id TEXT REFERENCES firearms (id),
    -- the firearms an ambiguous sighting matches (JSON list of ids)
    candidates TEXT,
    sighted_by TEXT NOT NULL,
    sighted_at TIMESTAMP NOT NULL,
    UNIQUE (check_id, position)
);
CREATE INDEX stock_check_sightings_firearm ON stock_check_sightings (check_id, firearm_id);

-- Each firearm sighted in a check, once: a batch inserts its firearms here
-- and what the insert skips was seen before (a duplicate). The primary
-- key decides, whatever the planner knows of a table that fills during
-- the check.
CREATE TABLE stock_check_seen (
    check_id TEXT NOT NULL REFERENCES stock_checks (id),
    firearm_id TEXT NOT NULL REFERENCES firearms (id),
    PRIMARY KEY (check_id, firearm_id)
);

-- What a check expected and what was sighted are never changed or removed.
CREATE TRIGGER stock_check_expected_no_update BEFORE UPDATE ON stock_check_expected
BEGIN SELECT RAISE(ABORT, 'registry: UPDATE on stock_check_expected refused: the table is append-only'); END;
CREATE TRIGGER stock_check_expected_no_delete BEFORE DELETE ON stock_check_expected
BEGIN SELECT RAISE(ABORT, 'registry: DELETE on stock_check_expected refused: the table is append-only'); END;
CREATE TRIGGER stock_check_sightings_no_update BEFORE UPDATE ON stock_check_sightings
BEGIN SELECT RAISE(ABORT, 'registry: UPDATE on stock_check_sightings refused: the table is append-only'); END;
CREATE TRIGGER stock_check_sightings_no_delete BEFORE DELETE ON stock_check_sightings
BEGIN SELECT RAISE(ABORT, 'registry: DELETE on stock_check_sightings refused: the table is append-only'); END;
CREATE TRIGGER stock_check_seen_no_update BEFORE UPDATE ON stock_check_seen
BEGIN SELECT RAISE(ABORT, 'registry: UPDATE on stock_check_seen refused: the table is append-only'); END;
CREATE TRIGGER stock_check_seen_no_delete BEFORE DELETE ON stock_check_seen
BEGIN SELECT RAISE(ABORT, 'registry: DELETE on stock_check_seen refused: the table is append-only'); END;
