-- Dashboard sign-ins: a browser session opened with an API key. Only the SHA-256 of the
-- cookie's token is stored; the session dies with its key (revoked keys are checked on
-- every request) and at `expires_at`. `csrf_token` is echoed by the dashboard's forms.
CREATE TABLE dashboard_sessions (
    token_hash    TEXT PRIMARY KEY,
    key_id        TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX dashboard_sessions_expires_idx ON dashboard_sessions (expires_at);
