-- A released slot is `STOPPING` until Coolify confirms its application stopped and no
-- deployment of it is queued or running; only then is it `IDLE` again. The status check
-- changes, so the table is rebuilt (SQLite cannot alter a check constraint).
CREATE TABLE pool_slots_v2 (
    id                    TEXT PRIMARY KEY,
    platform              TEXT NOT NULL,
    name                  TEXT NOT NULL,
    application_uuid      TEXT,
    image                 TEXT NOT NULL,
    status                TEXT NOT NULL CHECK (status IN ('CREATING', 'IDLE', 'DEPLOYING', 'BUSY', 'STOPPING', 'ERROR')),
    bot_id                TEXT,
    deployment_uuid       TEXT,
    error                 TEXT,
    recovery_attempts     BIGINT NOT NULL DEFAULT 0,
    last_used_at          BIGINT,
    status_at             BIGINT NOT NULL,
    created_at            BIGINT NOT NULL,
    last_deployment_uuid  TEXT,
    CONSTRAINT pool_slots_v2_name_key UNIQUE (name)
);
INSERT INTO pool_slots_v2 (id, platform, name, application_uuid, image, status, bot_id, deployment_uuid, error,
                           recovery_attempts, last_used_at, status_at, created_at, last_deployment_uuid)
SELECT id, platform, name, application_uuid, image, status, bot_id, deployment_uuid, error,
       recovery_attempts, last_used_at, status_at, created_at, last_deployment_uuid
FROM pool_slots;
DROP TABLE pool_slots;
ALTER TABLE pool_slots_v2 RENAME TO pool_slots;
CREATE UNIQUE INDEX pool_slots_bot_key ON pool_slots (bot_id) WHERE bot_id IS NOT NULL;
CREATE UNIQUE INDEX pool_slots_application_key ON pool_slots (application_uuid) WHERE application_uuid IS NOT NULL;
CREATE INDEX pool_slots_idle_idx ON pool_slots (platform, status, last_used_at);
