DROP TABLE role_grants;
ALTER TABLE users DROP COLUMN token_epoch;
ALTER TABLE users DROP COLUMN must_change_password;
