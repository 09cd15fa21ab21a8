-- Bot lifecycle: control-channel tokens, heartbeats, events, participants, chat,
-- webhooks (endpoints + transactional outbox), worker leases, platform release jobs.

ALTER TABLE bots ADD COLUMN bot_token_hash TEXT;
ALTER TABLE bots ADD COLUMN status_at BIGINT;
ALTER TABLE bots ADD COLUMN deployment_started_at BIGINT;
ALTER TABLE bots ADD COLUMN last_heartbeat_at BIGINT;
ALTER TABLE bots ADD COLUMN in_call_at BIGINT;
ALTER TABLE bots ADD COLUMN leave_requested_at BIGINT;
ALTER TABLE bots ADD COLUMN leave_reason TEXT;
UPDATE bots SET status_at = updated_at;
CREATE UNIQUE INDEX bots_bot_token_hash_key ON bots (bot_token_hash);
-- Monitors scan live bots by status.
CREATE INDEX bots_status_idx ON bots (status, status_at);

ALTER TABLE accounts ADD COLUMN webhook_secret TEXT;

-- Everything that happened to a bot, in order: status changes, refused reports,
-- participants, chat, logs. Ids are UUIDv7, so they are also the cursor.
CREATE TABLE bot_events (
    id      TEXT PRIMARY KEY,
    bot_id  TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    type    TEXT NOT NULL,
    data    TEXT NOT NULL,
    at      BIGINT NOT NULL
);
CREATE INDEX bot_events_bot_idx ON bot_events (bot_id, id);

CREATE TABLE bot_participants (
    bot_id          TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    participant_id  TEXT NOT NULL,
    name            TEXT NOT NULL,
    is_bot          BIGINT NOT NULL DEFAULT 0,
    joined_at       BIGINT NOT NULL,
    left_at         BIGINT,
    PRIMARY KEY (bot_id, participant_id)
);

CREATE TABLE chat_messages (
    id          TEXT PRIMARY KEY,
    bot_id      TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    text        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    error       TEXT,
    created_at  BIGINT NOT NULL,
    claimed_at  BIGINT,
    done_at     BIGINT
);
CREATE INDEX chat_messages_bot_status_idx ON chat_messages (bot_id, status, id);

CREATE TABLE webhook_endpoints (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,   -- JSON array of event types; empty = all
    secret      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_account_idx ON webhook_endpoints (account_id, id);

-- The outbox: one row per (event, destination), written in the same transaction as
-- the change it reports. Its id is the Standard Webhooks `webhook-id`, stable across
-- retries. No foreign key to bots: a deleted bot's pending events are still delivered.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    endpoint_id      TEXT REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    bot_id           TEXT,
    url              TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    lease_until      BIGINT,
    last_status_code BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    delivered_at     BIGINT
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id);

CREATE TABLE webhook_attempts (
    id            TEXT PRIMARY KEY,
    delivery_id   TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    at            BIGINT NOT NULL,
    status_code   BIGINT,
    error         TEXT,
    duration_ms   BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);

-- Singleton background work (monitors, scheduler) runs under a named, expiring lease.
CREATE TABLE worker_leases (
    name         TEXT PRIMARY KEY,
    holder       TEXT NOT NULL,
    lease_until  BIGINT NOT NULL
);

-- Work for the deployment layer, enqueued with the status change that calls for it
-- (e.g. release a terminal bot's process, slot or task). Carries the platform and
-- identifier itself so it survives the bot's deletion.
CREATE TABLE deployment_jobs (
    id             TEXT PRIMARY KEY,
    bot_id         TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('deploy', 'release')),
    platform       TEXT,
    identifier     TEXT,
    reason         TEXT,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    attempts       BIGINT NOT NULL DEFAULT 0,
    run_after      BIGINT NOT NULL,
    lease_until    BIGINT,
    last_error     TEXT,
    created_at     BIGINT NOT NULL
);
CREATE INDEX deployment_jobs_due_idx ON deployment_jobs (status, run_after);
CREATE INDEX deployment_jobs_bot_idx ON deployment_jobs (bot_id);
