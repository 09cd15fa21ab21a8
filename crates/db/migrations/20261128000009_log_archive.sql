-- When a bot's log lines were archived to storage (bots/{id}/logs/{id}.jsonl.gz), once no
-- late line can arrive any more.
ALTER TABLE bots ADD COLUMN logs_archived_at BIGINT;
