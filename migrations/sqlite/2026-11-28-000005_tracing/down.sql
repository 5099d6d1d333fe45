DROP TABLE trace_requests;
DROP TABLE notifications;
DROP TRIGGER identifier_trigrams_update;
DROP TRIGGER identifier_trigrams_insert;
DROP TABLE identifier_trigrams;
DROP INDEX firearm_identifiers_canonical;
ALTER TABLE firearm_identifiers DROP COLUMN canonical;
