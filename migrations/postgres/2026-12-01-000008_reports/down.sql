DROP INDEX trace_requests_created;
ALTER TABLE trace_requests DROP COLUMN outcome;
DROP TABLE firearm_counts;
DROP TABLE event_counts_monthly;
DROP TABLE event_counts;
