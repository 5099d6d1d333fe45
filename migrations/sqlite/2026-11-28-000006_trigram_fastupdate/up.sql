-- PostgreSQL only (its GIN trigram index); SQLite's FTS5 table has no
-- pending list. Kept so the two trees keep matching names.
SELECT 1;
