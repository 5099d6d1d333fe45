DROP TRIGGER firearm_events_no_update;
CREATE TRIGGER firearm_events_no_update BEFORE UPDATE ON firearm_events
BEGIN SELECT RAISE(ABORT, 'registry: UPDATE on firearm_events refused: the table is append-only'); END;
DROP INDEX firearm_events_destroyed;
ALTER TABLE firearms DROP COLUMN personal_erased_at;
ALTER TABLE firearm_events DROP COLUMN personal_seal;
ALTER TABLE firearm_events DROP COLUMN personal_salt;
DROP TABLE holder_links;
DROP TABLE licences;
DROP TABLE holder_name_words;
DROP TABLE holder_identifiers;
DROP TABLE holders;
