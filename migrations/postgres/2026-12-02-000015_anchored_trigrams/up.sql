-- SQLite only (its FTS5 trigram table); pg_trgm already pads each value
-- with blanks, which anchors a pattern's ends. Kept so the two trees keep
-- matching names.
SELECT 1;
