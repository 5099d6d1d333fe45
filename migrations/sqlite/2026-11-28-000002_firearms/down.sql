DROP TABLE firearm_events;
DROP TABLE firearm_identifiers;
DROP TABLE firearms;
