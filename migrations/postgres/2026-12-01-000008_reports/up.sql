-- Counts behind the statistics and the national reports (docs/reports.md),
-- kept in the transaction of each event so a report reads a few thousand
-- rows whatever the size of the registry. Derived data: the backfill at
-- the end of this file recomputes them from the records.
--
-- An event is counted on the UTC day (yyyymmdd) of its occurred_at, for
-- the agency that recorded it, under its firearm's current category.
-- `partner` is the other country of an export or import; `detail` is the
-- destruction method, `marked` for an import that applied a marking, and
-- `known` or `unknown` for a seizure of a firearm registered before or
-- after it was seized. Concurrent writers of one key spread over `slot`s,
-- so that one busy agency's registrations do not queue on one row.
CREATE TABLE event_counts (
    day INTEGER NOT NULL,
    agency_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    category TEXT NOT NULL,
    partner TEXT NOT NULL,
    detail TEXT NOT NULL,
    slot SMALLINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (day, agency_id, event_type, category, partner, detail, slot)
);

-- The same counts by month (yyyymm): a report for a year reads twelve
-- months instead of 365 days, and a period reads its whole months here
-- and only the days at its two ends from event_counts.
CREATE TABLE event_counts_monthly (
    month INTEGER NOT NULL,
    agency_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    category TEXT NOT NULL,
    partner TEXT NOT NULL,
    detail TEXT NOT NULL,
    slot SMALLINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (month, agency_id, event_type, category, partner, detail, slot)
);

-- The firearms each agency is responsible for now, by status and category.
CREATE TABLE firearm_counts (
    agency_id TEXT NOT NULL,
    status TEXT NOT NULL,
    category TEXT NOT NULL,
    slot SMALLINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (agency_id, status, category, slot)
);

-- A trace request's outcome as a column, so reports count answers by
-- outcome without reading each response; requests are counted by the
-- day they were sent.
ALTER TABLE trace_requests ADD COLUMN outcome TEXT;
UPDATE trace_requests SET outcome = (response::jsonb) ->> 'outcome' WHERE response IS NOT NULL;
CREATE INDEX trace_requests_created ON trace_requests (created_at);

-- backfill: begin
INSERT INTO event_counts (day, agency_id, event_type, category, partner, detail, slot, n)
SELECT CAST(to_char(e.occurred_at, 'YYYYMMDD') AS INTEGER),
       COALESCE(e.recorded_by_agency_id, ''),
       e.event_type,
       f.category,
       CASE e.event_type
           WHEN 'export' THEN COALESCE(e.details::jsonb ->> 'to_country', '')
           WHEN 'import' THEN COALESCE(e.details::jsonb ->> 'from_country', '')
           ELSE '' END,
       CASE e.event_type
           WHEN 'destroyed' THEN COALESCE(e.details::jsonb ->> 'method', '')
           WHEN 'import' THEN CASE WHEN COALESCE(jsonb_typeof(e.details::jsonb -> 'marking'), 'null') = 'null'
                                   THEN '' ELSE 'marked' END
           WHEN 'seized' THEN CASE WHEN r.occurred_at < e.occurred_at THEN 'known' ELSE 'unknown' END
           ELSE '' END,
       0,
       count(*)
FROM firearm_events e
JOIN firearms f ON f.id = e.firearm_id
LEFT JOIN firearm_events r ON e.event_type = 'seized' AND r.firearm_id = e.firearm_id AND r.sequence = 1
GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO event_counts_monthly (month, agency_id, event_type, category, partner, detail, slot, n)
SELECT day / 100, agency_id, event_type, category, partner, detail, 0, SUM(n)
FROM event_counts
GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO firearm_counts (agency_id, status, category, slot, n)
SELECT responsible_agency_id, status, category, 0, count(*)
FROM firearms
GROUP BY 1, 2, 3;
-- backfill: end
