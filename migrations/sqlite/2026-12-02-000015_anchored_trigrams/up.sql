-- The trigram table becomes an index of firearm_identifiers alone: it
-- holds no copy of the rows (contentless), its rowid is the identifier's
-- rowid, and it indexes each folded identifier between anchors,
-- '^' || canonical || '$', so that a pattern's first and last characters
-- give trigrams of their own. `00*01A` once read every identifier holding
-- `01A` (9,324 at a million firearms), each from the table's own copy,
-- to check it against the pattern; now `^00` and `01A$` together name
-- the 481 that begin and end so, read once each from firearm_identifiers.
-- Rebuilt here from the rows.
DROP TRIGGER identifier_trigrams_update;
DROP TRIGGER identifier_trigrams_insert;
DROP TABLE identifier_trigrams;
CREATE VIRTUAL TABLE identifier_trigrams USING fts5(
    anchored, content = '', tokenize = 'trigram'
);
INSERT INTO identifier_trigrams (rowid, anchored)
    SELECT rowid, '^' || canonical || '$' FROM firearm_identifiers;
CREATE TRIGGER identifier_trigrams_insert AFTER INSERT ON firearm_identifiers BEGIN
    INSERT INTO identifier_trigrams (rowid, anchored)
        VALUES (new.rowid, '^' || new.canonical || '$');
END;
CREATE TRIGGER identifier_trigrams_update AFTER UPDATE ON firearm_identifiers BEGIN
    INSERT INTO identifier_trigrams (identifier_trigrams, rowid, anchored)
        VALUES ('delete', old.rowid, '^' || old.canonical || '$');
    INSERT INTO identifier_trigrams (rowid, anchored)
        VALUES (new.rowid, '^' || new.canonical || '$');
END;
