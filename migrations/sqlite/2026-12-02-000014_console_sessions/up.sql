-- Sessions of the web console. The browser holds a signed token naming one
-- of these rows in an HttpOnly cookie; signing out ends the row, so the
-- cookie stops working on the server even if the browser kept a copy.
-- Ended sessions stay: who was signed in when is part of the record.
CREATE TABLE console_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP
);
CREATE INDEX console_sessions_user ON console_sessions (user_id, created_at);
