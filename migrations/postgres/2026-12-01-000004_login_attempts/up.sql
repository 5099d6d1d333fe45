-- Every login attempt is counted before its password is checked, in one
-- step, so concurrent guesses cannot slip past the limit; an attempt that
-- succeeds is marked so and stops counting. Throttling counts a username
-- and an address together, so a stranger's failures from elsewhere do not
-- lock the account's owner out.
ALTER TABLE login_failures ADD COLUMN succeeded BOOLEAN NOT NULL DEFAULT FALSE;
DROP INDEX login_failures_username;
CREATE INDEX login_failures_pair ON login_failures (username_key, client_ip, at);
CREATE INDEX login_failures_at ON login_failures (at);
