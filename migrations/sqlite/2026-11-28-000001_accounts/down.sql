DROP TABLE idempotency_keys;
DROP TABLE login_failures;
DROP TABLE users;
DROP TABLE agencies;
