-- Media a bot produced: screenshots, recording chunks (uploaded while recording) and the
-- assembled recording parts. Objects live in storage under bots/{botId}/…; these rows are
-- the index, so listing and retention never scan the store.
CREATE TABLE bot_media (
    id            TEXT PRIMARY KEY,
    bot_id        TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('screenshot', 'chunk', 'recording')),
    -- screenshot: when it was taken (waiting_room, in_call, failure); chunk: "part/seq";
    -- recording: the part number.
    label         TEXT NOT NULL,
    storage_key   TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size_bytes    BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    duration_ms   BIGINT,
    created_at    BIGINT NOT NULL,
    deleted_at    BIGINT
);
-- Unique among live rows: a deleted object's key may be written again (re-assembly).
CREATE UNIQUE INDEX bot_media_storage_key_key ON bot_media (storage_key) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX bot_media_bot_kind_label_key ON bot_media (bot_id, kind, label) WHERE deleted_at IS NULL;
CREATE INDEX bot_media_created_idx ON bot_media (created_at);

-- The recording's lifecycle on the bot: none → recording (chunks arriving) → finishing
-- (the bot said it is done, or it died) → assembling (claimed by a worker) → ready
-- (or failed / expired). `recording` holds the metadata once ready.
ALTER TABLE bots ADD COLUMN recording_state TEXT NOT NULL DEFAULT 'none';
ALTER TABLE bots ADD COLUMN recording TEXT;
ALTER TABLE bots ADD COLUMN recording_mode_used TEXT;
ALTER TABLE bots ADD COLUMN recording_parts BIGINT;
ALTER TABLE bots ADD COLUMN recording_state_at BIGINT;
CREATE INDEX bots_recording_state_idx ON bots (recording_state, recording_state_at);
