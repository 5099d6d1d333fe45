ALTER TABLE trace_requests ADD COLUMN signed_response TEXT;
