CREATE TABLE notifications_old (
    id TEXT PRIMARY KEY NOT NULL,
    agency_id TEXT NOT NULL REFERENCES agencies (id),
    firearm_id TEXT NOT NULL REFERENCES firearms (id),
    kind TEXT NOT NULL,
    traced_by_user_id TEXT NOT NULL,
    traced_by_username TEXT NOT NULL,
    traced_by_agency_id TEXT,
    query TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO notifications_old SELECT * FROM notifications WHERE firearm_id IS NOT NULL;
DROP TABLE notifications;
ALTER TABLE notifications_old RENAME TO notifications;
CREATE INDEX notifications_agency ON notifications (agency_id, id);
DROP TABLE webhook_attempts;
DROP TABLE webhook_messages;
DROP TABLE webhooks;
