DROP TABLE destructions;
ALTER TABLE firearm_events DROP COLUMN notes;
ALTER TABLE firearm_events DROP COLUMN reference;
ALTER TABLE firearm_events DROP COLUMN location;
