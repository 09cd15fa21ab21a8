-- Foundation schema. Portable SQL: the same file runs on PostgreSQL and SQLite.
-- Conventions: ids are UUIDv7 text (time-ordered, so `ORDER BY id` is creation order);
-- timestamps are BIGINT milliseconds since the Unix epoch (UTC); JSON is TEXT.

CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    CONSTRAINT accounts_name_key UNIQUE (name)
);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    prefix        TEXT NOT NULL,
    key_hash      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    expires_at    BIGINT,
    revoked_at    BIGINT,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
);
CREATE INDEX api_keys_account_idx ON api_keys (account_id, id);

CREATE TABLE bots (
    id                          TEXT PRIMARY KEY,
    account_id                  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    meeting_url                 TEXT NOT NULL,
    meeting_id                  TEXT NOT NULL,
    platform                    TEXT NOT NULL CHECK (platform IN ('google_meet', 'microsoft_teams', 'zoom')),
    bot_name                    TEXT NOT NULL,
    recording_mode              TEXT NOT NULL,
    status                      TEXT NOT NULL,
    join_at                     BIGINT,
    waiting_room_timeout_secs   BIGINT NOT NULL,
    noone_joined_timeout_secs   BIGINT NOT NULL,
    everyone_left_timeout_secs  BIGINT NOT NULL,
    max_duration_secs           BIGINT NOT NULL,
    webhook_url                 TEXT,
    metadata                    TEXT NOT NULL,
    deduplication_key           TEXT,
    deployment_platform         TEXT,
    deployment_identifier       TEXT,
    created_at                  BIGINT NOT NULL,
    updated_at                  BIGINT NOT NULL,
    ended_at                    BIGINT
);
-- Newest-first listing per account, optionally by status.
CREATE INDEX bots_account_id_idx ON bots (account_id, id);
CREATE INDEX bots_account_status_idx ON bots (account_id, status, id);
-- At most one live bot per (account, deduplication key); terminal bots free the key.
CREATE UNIQUE INDEX bots_active_dedup_key ON bots (account_id, deduplication_key)
    WHERE deduplication_key IS NOT NULL AND status NOT IN ('ENDED', 'FATAL');

CREATE TABLE bot_status_changes (
    id        TEXT PRIMARY KEY,
    bot_id    TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    status    TEXT NOT NULL,
    sub_code  TEXT,
    message   TEXT,
    at        BIGINT NOT NULL
);
CREATE INDEX bot_status_changes_bot_idx ON bot_status_changes (bot_id, id);

-- Stored responses for `Idempotency-Key`, kept 24 hours.
CREATE TABLE idempotency_keys (
    account_id       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    idempotency_key  TEXT NOT NULL,
    request_hash     TEXT NOT NULL,
    response_status  BIGINT NOT NULL,
    response_body    TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (account_id, idempotency_key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Server-wide values generated once (e.g. the secret that mints bot tokens).
CREATE TABLE server_settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
