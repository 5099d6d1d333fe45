DROP INDEX login_failures_at;
DROP INDEX login_failures_pair;
CREATE INDEX login_failures_username ON login_failures (username_key, at);
ALTER TABLE login_failures DROP COLUMN succeeded;
