-- Native clients (a mobile or desktop app, a CLI) cannot hold an HttpOnly
-- cookie: they get the refresh token in the response body and send it back
-- in the request body. A session remembers which way it was started, and
-- its refresh token is accepted only that way, so the two cannot be mixed.
-- A second-factor challenge remembers it too, for the session it leads to.
ALTER TABLE sessions ADD COLUMN client TEXT NOT NULL DEFAULT 'browser'
    CHECK (client IN ('browser', 'native'));
-- LATCHKEY_ADMIN_AUTH=session: the session's last admin-area request, for
-- the admin area's own idle timeout.
ALTER TABLE sessions ADD COLUMN admin_seen_at BIGINT;
ALTER TABLE mfa_challenges ADD COLUMN client TEXT NOT NULL DEFAULT 'browser'
    CHECK (client IN ('browser', 'native'));

-- Personal API keys: `lk_` and 256 random bits, shown once, kept only as a
-- SHA-256 hash (the lookup key). `prefix` is the start of the key, shown in
-- lists so a user can tell keys apart. `scope` 'read' allows safe methods
-- only. Revoked keys stay, for the audit trail and the list.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    scope        TEXT NOT NULL CHECK (scope IN ('full', 'read')),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_keys_user ON api_keys (user_id);
