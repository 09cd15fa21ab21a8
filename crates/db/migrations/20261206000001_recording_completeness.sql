-- What the bot said about its recording's completeness in `recording/finish`:
-- `{"complete": bool, "missing": [{part, fromSeq, toSeq, startMs?, durationMs?}]}`, or NULL
-- when it did not say (an older bot, or one that died). The assembled recording is
-- `partial` (alongside `ready`) when the bot said it is incomplete or chunks are missing.
ALTER TABLE bots ADD COLUMN recording_report TEXT;
