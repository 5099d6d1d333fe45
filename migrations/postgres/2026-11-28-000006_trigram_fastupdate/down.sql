ALTER INDEX firearm_identifiers_trigrams SET (fastupdate = on);
