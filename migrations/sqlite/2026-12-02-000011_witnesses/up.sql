-- What each configured witness last cosigned of this log, and why it last
-- refused, if it did (docs/audit.md, "Witnesses").
CREATE TABLE audit_witnesses (
    name TEXT PRIMARY KEY NOT NULL,
    size BIGINT NOT NULL,
    last_error TEXT,
    updated_at TIMESTAMP NOT NULL
);

-- The cosignature lines witnesses returned, per signed head.
CREATE TABLE audit_cosignatures (
    size BIGINT NOT NULL,
    witness TEXT NOT NULL,
    line TEXT NOT NULL,
    cosigned_at TIMESTAMP NOT NULL,
    PRIMARY KEY (size, witness)
);
