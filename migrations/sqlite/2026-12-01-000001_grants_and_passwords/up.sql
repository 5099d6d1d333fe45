-- A user whose password an administrator set must choose their own before
-- doing anything else.
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
-- Raised by every password change and reset. A token carries the epoch it
-- was issued in; one from an earlier epoch is refused, so a password change
-- revokes every earlier token at the cost of no query (the account row is
-- read on every request anyway).
ALTER TABLE users ADD COLUMN token_epoch BIGINT NOT NULL DEFAULT 0;

-- Grants of auditor or system_admin wait here for a second system
-- administrator (four eyes). Decided grants stay, as everything does.
CREATE TABLE role_grants (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    -- the roles the grant adds, comma-separated and sorted
    roles TEXT NOT NULL,
    -- pending_approval, approved or rejected
    status TEXT NOT NULL,
    requested_by TEXT NOT NULL REFERENCES users (id),
    decided_by TEXT REFERENCES users (id),
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP
);
CREATE INDEX role_grants_status ON role_grants (status, id);
