DROP TRIGGER firearm_events_append_only ON firearm_events;
CREATE TRIGGER firearm_events_append_only BEFORE UPDATE OR DELETE ON firearm_events
    FOR EACH ROW EXECUTE FUNCTION registry_refuse_change();
DROP FUNCTION registry_event_erased();
DROP INDEX firearm_events_destroyed;
ALTER TABLE firearms DROP COLUMN personal_erased_at;
ALTER TABLE firearm_events DROP COLUMN personal_seal;
ALTER TABLE firearm_events DROP COLUMN personal_salt;
DROP TABLE holder_links;
DROP TABLE licences;
DROP TABLE holder_name_words;
DROP TABLE holder_identifiers;
DROP TABLE holders;
