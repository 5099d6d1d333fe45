-- Ids are UUIDv7 as text and times are UTC TIMESTAMP on both backends, so one
-- diesel code path reads and writes them (see docs/architecture.md).
CREATE TABLE agencies (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    -- name folded to lower case with whitespace collapsed: one agency per name and country
    name_key TEXT NOT NULL,
    country TEXT NOT NULL,
    kind TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (country, name_key)
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL,
    -- lower-cased username: "Alice" and "alice" are one account
    username_key TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    -- null only for the bootstrap system administrator, who belongs to no agency
    agency_id TEXT REFERENCES agencies (id),
    -- comma-separated, sorted role names
    roles TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP
);
CREATE INDEX users_agency ON users (agency_id, id);

-- Failed logins, kept in the database so that throttling survives a restart
-- and is shared by every process serving the registry.
CREATE TABLE login_failures (
    id TEXT PRIMARY KEY NOT NULL,
    username_key TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_username ON login_failures (username_key, at);
CREATE INDEX login_failures_ip ON login_failures (client_ip, at);

-- Idempotency-Key reservations and the responses they replay.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    status_code INTEGER,
    response_headers TEXT,
    response_body BYTEA,
    created_at TIMESTAMP NOT NULL,
    completed_at TIMESTAMP,
    PRIMARY KEY (scope, idem_key)
);
