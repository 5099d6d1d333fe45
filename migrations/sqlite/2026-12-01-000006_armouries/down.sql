DROP TABLE stock_check_seen;
DROP TABLE stock_check_sightings;
DROP TABLE stock_check_expected;
DROP TABLE stock_checks;
DROP INDEX firearms_serial;
DROP INDEX firearms_armoury;
ALTER TABLE firearms DROP COLUMN armoury_id;
DROP TABLE armouries;
