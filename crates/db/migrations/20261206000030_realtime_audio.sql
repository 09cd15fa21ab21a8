-- Real-time transcription (issue 18): short audio segments a bot streams while the call
-- runs (`PUT /api/bot/v1/audio/{seq}`), transcribed in order by the real-time worker.
--
-- The audio itself is in the storage backend (`bots/<bot>/audio/<seq>.wav`), like the
-- recording's chunks, so every replica reads what any replica received and the database
-- holds only TEXT/BIGINT. A row is the segment's receipt: `state` pending → done (its
-- utterances stored, the object deleted) | dropped (the transcript failed or expired,
-- the object deleted). Rows stay as tombstones so a retried PUT of a transcribed segment
-- is still a no-op; they go with the bot.
CREATE TABLE bot_audio_segments (
    bot_id          TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    seq             BIGINT NOT NULL,
    start_epoch_ms  BIGINT NOT NULL,
    duration_ms     BIGINT NOT NULL,
    size_bytes      BIGINT NOT NULL,
    sha256          TEXT NOT NULL,
    storage_key     TEXT NOT NULL,
    state           TEXT NOT NULL,
    received_at     BIGINT NOT NULL,
    done_at         BIGINT,
    PRIMARY KEY (bot_id, seq)
);
CREATE INDEX bot_audio_segments_pending_idx ON bot_audio_segments (state, bot_id, seq);

-- The real-time worker's per-bot claim and pacing (the post-call worker uses
-- `lease_until`/`attempts`/`next_attempt_at`; both never run for one bot: a real-time
-- bot is created with `pending_audio = 0`). `rt_failures` counts consecutive failed
-- rounds against the provider (reset by a success); `audio_finished_at` is when the bot
-- said it sent its last segment (`POST /api/bot/v1/audio/finish`), `audio_dropped_ms` the
-- audio it had to drop (its queue was full) and reported.
ALTER TABLE bot_transcripts ADD COLUMN rt_lease_until BIGINT;
ALTER TABLE bot_transcripts ADD COLUMN rt_next_attempt_at BIGINT;
ALTER TABLE bot_transcripts ADD COLUMN rt_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE bot_transcripts ADD COLUMN rt_last_error TEXT;
ALTER TABLE bot_transcripts ADD COLUMN audio_finished_at BIGINT;
ALTER TABLE bot_transcripts ADD COLUMN audio_dropped_ms BIGINT NOT NULL DEFAULT 0;
-- 1 for a bot whose transcript the real-time worker makes (`realtime: true` with an
-- audio provider that takes streamed segments).
ALTER TABLE bot_transcripts ADD COLUMN realtime_audio BIGINT NOT NULL DEFAULT 0;
