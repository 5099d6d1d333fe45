DROP TABLE audit_state;
DROP TABLE audit_heads;
DROP TABLE audit_nodes;
DROP TABLE audit_entries;
