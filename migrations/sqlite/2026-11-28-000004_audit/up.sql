-- The tamper-evident audit log (RFC 9162 Merkle tree). Entries are queued
-- in the transaction of the change they record (seq null) and given their
-- gap-free seq by the sequencer, which also stores the tree's complete
-- nodes and a signed head per batch.
CREATE TABLE audit_entries (
    id TEXT PRIMARY KEY NOT NULL,
    seq BIGINT UNIQUE,
    at TIMESTAMP NOT NULL,
    actor_user_id TEXT,
    actor_username TEXT,
    actor_agency_id TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    request_id TEXT NOT NULL,
    -- the history event this entry records, if any
    event_id TEXT,
    -- the row whose state this entry vouches for ("firearm:<id>", "user:<id>", ...)
    subject TEXT,
    -- the exact text hashed into the leaf, and that hash (hex)
    canonical TEXT NOT NULL,
    leaf_hash TEXT NOT NULL
);
CREATE INDEX audit_entries_pending ON audit_entries (id) WHERE seq IS NULL;
CREATE INDEX audit_entries_event ON audit_entries (event_id);
CREATE INDEX audit_entries_subject ON audit_entries (subject, seq);

CREATE TABLE audit_nodes (
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TABLE audit_heads (
    size BIGINT PRIMARY KEY NOT NULL,
    root_hash TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    signature TEXT NOT NULL
);

-- One row: the integrated size. The sequencer updates it first, which
-- makes it the only sequencer at work even with several processes.
CREATE TABLE audit_state (
    id INTEGER PRIMARY KEY NOT NULL,
    size BIGINT NOT NULL
);
INSERT INTO audit_state (id, size) VALUES (1, 0);
