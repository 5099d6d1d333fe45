DROP TABLE audit_cosignatures;
DROP TABLE audit_witnesses;
