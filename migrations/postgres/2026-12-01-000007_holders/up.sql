-- Holders and licences (docs/holders.md), and personal data kept only as
-- long as the law says (docs/audit.md, "Erasure").
CREATE TABLE holders (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    country TEXT,
    date_of_birth DATE,
    address TEXT,
    -- the agency the holder is, for holders of kind agency
    agency_id TEXT REFERENCES agencies (id),
    recorded_by_agency_id TEXT NOT NULL REFERENCES agencies (id),
    erased_at TIMESTAMP,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- An identifier belongs to one holder: (type, country, folded value).
CREATE TABLE holder_identifiers (
    holder_id TEXT NOT NULL REFERENCES holders (id),
    position INTEGER NOT NULL,
    id_type TEXT NOT NULL,
    country TEXT NOT NULL,
    value TEXT NOT NULL,
    value_key TEXT NOT NULL,
    PRIMARY KEY (holder_id, position)
);
CREATE UNIQUE INDEX holder_identifiers_key ON holder_identifiers (id_type, country, value_key);

-- Each word of a holder's folded name, so that a search by any word of a
-- name is an index range. Byte order, so that a prefix is a range.
CREATE TABLE holder_name_words (
    word TEXT COLLATE "C" NOT NULL,
    holder_id TEXT NOT NULL REFERENCES holders (id),
    PRIMARY KEY (word, holder_id)
);

CREATE TABLE licences (
    id TEXT PRIMARY KEY NOT NULL,
    holder_id TEXT NOT NULL REFERENCES holders (id),
    number TEXT NOT NULL,
    licence_type TEXT NOT NULL,
    categories TEXT NOT NULL,
    valid_from DATE NOT NULL,
    valid_until DATE NOT NULL,
    issued_by TEXT NOT NULL,
    number_key TEXT NOT NULL,
    status TEXT NOT NULL,
    revoked_at TIMESTAMP,
    revoked_by TEXT,
    revocation_reason TEXT,
    recorded_by_agency_id TEXT NOT NULL REFERENCES agencies (id),
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (valid_until >= valid_from)
);
CREATE INDEX licences_holder ON licences (holder_id);
CREATE UNIQUE INDEX licences_number ON licences (number_key);

-- Who owns and who keeps a firearm after each event that changed either
-- of them to or from a holder record: "what does X hold", now or at a past
-- moment, is the latest row of each firearm at that moment.
CREATE TABLE holder_links (
    firearm_id TEXT NOT NULL REFERENCES firearms (id),
    sequence BIGINT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    owner_holder_id TEXT REFERENCES holders (id),
    custodian_holder_id TEXT REFERENCES holders (id),
    PRIMARY KEY (firearm_id, sequence)
);
CREATE INDEX holder_links_owner ON holder_links (owner_holder_id) WHERE owner_holder_id IS NOT NULL;
CREATE INDEX holder_links_custodian ON holder_links (custodian_holder_id) WHERE custodian_holder_id IS NOT NULL;

-- An event's entry commits to its personal fields through a salted seal;
-- erasure replaces the fields, drops the salt and keeps the seal, so the
-- entry still verifies and the erased values cannot be guessed from it.
ALTER TABLE firearm_events ADD COLUMN personal_salt TEXT;
ALTER TABLE firearm_events ADD COLUMN personal_seal TEXT;
ALTER TABLE firearms ADD COLUMN personal_erased_at TIMESTAMP;
-- What retention erases, found from the destructions alone (a few rows),
-- not from every event.
CREATE INDEX firearm_events_destroyed ON firearm_events (occurred_at) WHERE event_type = 'destroyed';

-- The history stays append-only; the one change allowed is an erasure:
-- only the details, the salt going and the seal coming.
CREATE FUNCTION registry_event_erased() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.personal_seal IS NULL AND NEW.personal_seal IS NOT NULL
        AND NEW.personal_salt IS NULL
        AND to_jsonb(NEW) - 'details' - 'personal_salt' - 'personal_seal'
            = to_jsonb(OLD) - 'details' - 'personal_salt' - 'personal_seal' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'registry: % on firearm_events refused: the table is append-only', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
DROP TRIGGER firearm_events_append_only ON firearm_events;
CREATE TRIGGER firearm_events_append_only BEFORE UPDATE OR DELETE ON firearm_events
    FOR EACH ROW EXECUTE FUNCTION registry_event_erased();
