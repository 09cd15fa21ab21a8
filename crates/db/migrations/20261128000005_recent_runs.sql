-- Queue wait estimates read the most recently ended bots. Partial, so a backward scan
-- starts at the newest ended bot instead of walking every live bot's NULL first.
CREATE INDEX bots_ended_at_idx ON bots (ended_at) WHERE ended_at IS NOT NULL;
