-- The recording's time 0 (issue 18): epoch ms of the first audio sample the bot's capture
-- took, as the bot reports it (`recording_started` event). Transcript times, speaking
-- marks and the dashboard's seek are on this clock; NULL (bots that do not report it, or
-- no recording) falls back to `in_call_at`, which is 1–2 s earlier than what was recorded.
ALTER TABLE bots ADD COLUMN capture_started_at BIGINT;
