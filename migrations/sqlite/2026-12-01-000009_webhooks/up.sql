-- Webhook subscriptions, the durable outbox of their messages, and every
-- delivery attempt (docs/webhooks.md). A message is written in the same
-- transaction as the change it tells of, so a crash between the commit
-- and the delivery loses nothing.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    agency_id TEXT NOT NULL REFERENCES agencies (id),
    url TEXT NOT NULL,
    -- JSON array of event names, sorted
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    -- the secret before the last rotation, still signed with until then
    previous_secret TEXT,
    previous_secret_until TIMESTAMP,
    status TEXT NOT NULL,
    -- failed attempts since the last success, and the probe gate they set
    failures INTEGER NOT NULL DEFAULT 0,
    blocked_until TIMESTAMP,
    failing_since TIMESTAMP,
    version BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhooks_agency ON webhooks (agency_id, id);

CREATE TABLE webhook_messages (
    -- sent as `webhook-id`: the same on every attempt
    id TEXT PRIMARY KEY NOT NULL,
    -- a webhooks id; no foreign key: the check would lock the subscription's
    -- row in every change that tells it something (a MultiXact write on
    -- PostgreSQL, one hot row for all writers), and subscriptions are
    -- never deleted
    webhook_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    -- the node delivering it, and until when no other node may
    lease_owner TEXT,
    lease_until TIMESTAMP,
    last_status INTEGER,
    last_error TEXT,
    delivered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
-- Kept in its key's b-tree: a message written costs the registration's
-- commit one page fewer than a rowid table beside its key's index.
) WITHOUT ROWID;
-- what is due, per subscription: a dead receiver's backlog is never walked
-- while the subscription is held back
CREATE INDEX webhook_messages_due ON webhook_messages (webhook_id, next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_messages_webhook ON webhook_messages (webhook_id, id);

CREATE TABLE webhook_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    message_id TEXT NOT NULL REFERENCES webhook_messages (id),
    attempted_at TIMESTAMP NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_message ON webhook_attempts (message_id, id);

-- A notice of a failing webhook is about no firearm. SQLite alters no
-- column: the table is rebuilt with every row.
CREATE TABLE notifications_new (
    id TEXT PRIMARY KEY NOT NULL,
    agency_id TEXT NOT NULL REFERENCES agencies (id),
    firearm_id TEXT REFERENCES firearms (id),
    kind TEXT NOT NULL,
    traced_by_user_id TEXT NOT NULL,
    traced_by_username TEXT NOT NULL,
    traced_by_agency_id TEXT,
    query TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO notifications_new SELECT id, agency_id, firearm_id, kind, traced_by_user_id,
    traced_by_username, traced_by_agency_id, query, created_at FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;
CREATE INDEX notifications_agency ON notifications (agency_id, id);
