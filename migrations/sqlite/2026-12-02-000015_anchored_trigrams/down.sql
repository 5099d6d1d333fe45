DROP TRIGGER identifier_trigrams_update;
DROP TRIGGER identifier_trigrams_insert;
DROP TABLE identifier_trigrams;
CREATE VIRTUAL TABLE identifier_trigrams USING fts5(
    canonical, firearm_id UNINDEXED, position UNINDEXED, tokenize = 'trigram'
);
INSERT INTO identifier_trigrams (canonical, firearm_id, position)
    SELECT canonical, firearm_id, position FROM firearm_identifiers;
CREATE TRIGGER identifier_trigrams_insert AFTER INSERT ON firearm_identifiers BEGIN
    INSERT INTO identifier_trigrams (canonical, firearm_id, position)
        VALUES (new.canonical, new.firearm_id, new.position);
END;
CREATE TRIGGER identifier_trigrams_update AFTER UPDATE ON firearm_identifiers BEGIN
    DELETE FROM identifier_trigrams WHERE firearm_id = old.firearm_id AND position = old.position;
    INSERT INTO identifier_trigrams (canonical, firearm_id, position)
        VALUES (new.canonical, new.firearm_id, new.position);
END;
