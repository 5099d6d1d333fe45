-- A derived entry has no stored text to fall back on: refuse rather than
-- lose what its leaf hash was made from.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_entries WHERE canonical = '') THEN
        RAISE EXCEPTION 'audit entries with derived canonical text exist; this migration cannot be reverted';
    END IF;
END
$$;
ALTER TABLE audit_entries
    DROP COLUMN content_digest,
    DROP COLUMN state_digest,
    DROP COLUMN purpose,
    DROP COLUMN detail;
