ALTER TABLE trace_requests DROP COLUMN signed_response;
