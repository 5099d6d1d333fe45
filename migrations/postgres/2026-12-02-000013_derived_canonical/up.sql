-- An entry keeps what its canonical text says beyond the other columns
-- (the content and state digests, the purpose, the detail) as columns, and
-- its canonical text is derived from its columns when read: the leaf hash,
-- in the signed tree, proves the derivation gives the text it was made
-- from. Storing the text beside the columns it repeats was a third of what
-- a firearm cost to keep. `canonical` is '' for derived entries; entries
-- written before keep their text, and verification checks that their
-- columns still derive it.
ALTER TABLE audit_entries
    ADD COLUMN content_digest TEXT NOT NULL DEFAULT '',
    ADD COLUMN state_digest TEXT,
    ADD COLUMN purpose TEXT,
    ADD COLUMN detail TEXT;
ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_sequenced;
UPDATE audit_entries SET
    content_digest = canonical::jsonb ->> 'content_digest',
    state_digest = canonical::jsonb ->> 'state_digest',
    purpose = canonical::jsonb ->> 'purpose',
    detail = (canonical::jsonb -> 'detail')::text;
ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_sequenced;
