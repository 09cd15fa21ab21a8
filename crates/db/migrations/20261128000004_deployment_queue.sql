-- Durable deployment queue and per-platform capacity.

ALTER TABLE bots ADD COLUMN priority BIGINT NOT NULL DEFAULT 0;
ALTER TABLE bots ADD COLUMN queued_at BIGINT;
ALTER TABLE bots ADD COLUMN deploy_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE bots ADD COLUMN next_deploy_at BIGINT;
UPDATE bots SET queued_at = status_at WHERE status = 'QUEUED';
-- Queue order: priority first, then first-come first-served.
CREATE INDEX bots_queue_idx ON bots (status, priority, queued_at, id);
-- Capacity: active bots per platform.
CREATE INDEX bots_platform_status_idx ON bots (deployment_platform, status);

-- One row per platform; a dispatcher locks its platform's row (PostgreSQL) while it
-- counts active bots and claims queued ones, so capacity is never exceeded, whatever
-- the number of replicas.
CREATE TABLE platform_locks (
    name TEXT PRIMARY KEY
);
INSERT INTO platform_locks (name) VALUES ('local'), ('coolify'), ('aws'), ('kubernetes'), ('docker'), ('test');

ALTER TABLE deployment_jobs ADD COLUMN finished_at BIGINT;
