DELETE FROM notifications WHERE firearm_id IS NULL;
ALTER TABLE notifications ALTER COLUMN firearm_id SET NOT NULL;
DROP TABLE webhook_attempts;
DROP TABLE webhook_messages;
DROP TABLE webhooks;
