-- Replicas refresh their in-memory directory of live bots from rows changed since their
-- last refresh.
CREATE INDEX bots_updated_at_idx ON bots (updated_at);
