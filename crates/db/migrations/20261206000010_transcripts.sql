-- Transcription (issue 18). `bots.transcription` is the create request's option as JSON
-- (`{"provider","language","realtime"}`), NULL when the bot makes no transcript.
ALTER TABLE bots ADD COLUMN transcription TEXT;

-- One row per bot that makes a transcript, created with the bot.
-- state: none → live (captions arriving) → ready, or → processing (audio provider after
-- the call) → ready | failed. `source` is where the stored utterances come from
-- (meeting_captions | openai | deepgram); `error` the failure reason or a note such as
-- captions being unavailable; `attributed_permille` the share of words given a speaker.
-- `pending_audio` (0/1): an audio provider is still to run after the call (the bot's
-- provider, or the fallback when captions were unavailable). The worker claims a row by
-- setting `lease_until`; `attempts`/`next_attempt_at` pace its retries.
CREATE TABLE bot_transcripts (
    bot_id               TEXT PRIMARY KEY REFERENCES bots (id) ON DELETE CASCADE,
    provider             TEXT NOT NULL,
    state                TEXT NOT NULL DEFAULT 'none',
    source               TEXT,
    error                TEXT,
    attributed_permille  BIGINT,
    pending_audio        BIGINT NOT NULL DEFAULT 0,
    lease_until          BIGINT,
    attempts             BIGINT NOT NULL DEFAULT 0,
    next_attempt_at      BIGINT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX bot_transcripts_work_idx ON bot_transcripts (pending_audio, next_attempt_at);

-- Utterances, in ms from the call start (the bot's IN_CALL). Captions are upserted by
-- (bot, caption_id); audio-provider segments have no caption id (NULLs never collide).
-- `ORDER BY id` is the order lines were first seen, and ids are the paging cursor.
CREATE TABLE transcript_utterances (
    id              TEXT PRIMARY KEY,
    bot_id          TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    caption_id      TEXT,
    speaker         TEXT,
    participant_id  TEXT,
    start_ms        BIGINT NOT NULL,
    end_ms          BIGINT NOT NULL,
    text            TEXT NOT NULL,
    is_final        BIGINT NOT NULL,
    source          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX transcript_utterances_caption_key ON transcript_utterances (bot_id, caption_id);
CREATE INDEX transcript_utterances_bot_idx ON transcript_utterances (bot_id, id);
