-- Pool platforms (Coolify): pre-provisioned bot containers, one bot at a time each.
CREATE TABLE pool_slots (
    id                 TEXT PRIMARY KEY,
    platform           TEXT NOT NULL,
    name               TEXT NOT NULL,
    application_uuid   TEXT,
    image              TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('CREATING', 'IDLE', 'DEPLOYING', 'BUSY', 'ERROR')),
    bot_id             TEXT,
    deployment_uuid    TEXT,
    error              TEXT,
    recovery_attempts  BIGINT NOT NULL DEFAULT 0,
    last_used_at       BIGINT,
    status_at          BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    CONSTRAINT pool_slots_name_key UNIQUE (name)
);
-- One slot per bot (and a slot row holds one bot): enforced by the database.
CREATE UNIQUE INDEX pool_slots_bot_key ON pool_slots (bot_id) WHERE bot_id IS NOT NULL;
CREATE UNIQUE INDEX pool_slots_application_key ON pool_slots (application_uuid) WHERE application_uuid IS NOT NULL;
CREATE INDEX pool_slots_idle_idx ON pool_slots (platform, status, last_used_at);
