DROP TABLE trace_requests;
DROP TABLE notifications;
DROP INDEX firearm_identifiers_trigrams;
DROP INDEX firearm_identifiers_canonical;
ALTER TABLE firearm_identifiers DROP COLUMN canonical;
