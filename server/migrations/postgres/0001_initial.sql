-- Latchkey schema (PostgreSQL). Kept column-for-column equal to the SQLite
-- schema so that one set of queries serves both: ids are UUID text,
-- timestamps are Unix milliseconds, flags are nullable timestamps.

CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    email               TEXT NOT NULL,
    -- Lower-cased email: what uniqueness and login compare.
    email_key           TEXT NOT NULL UNIQUE,
    display_name        TEXT,
    password_hash       TEXT NOT NULL,
    role                TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    disabled_at         BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

-- One row per login of either kind (JWT refresh cookie or session cookie).
CREATE TABLE sessions (
    id                  TEXT PRIMARY KEY,
    user_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind                TEXT NOT NULL CHECK (kind IN ('jwt', 'cookie')),
    -- SHA-256 of the live secret: the current refresh token (jwt) or the
    -- session id cookie (cookie). Never the secret itself.
    secret_hash         TEXT NOT NULL UNIQUE,
    -- The immediate parent of the live refresh token, forgiven for the grace
    -- window, and the live token sealed under that parent so a racing tab
    -- that presents the parent receives the very same successor.
    parent_hash         TEXT,
    sealed_successor    TEXT,
    rotated_at          BIGINT,
    generation          BIGINT NOT NULL DEFAULT 0,
    -- SHA-256 of the CSRF synchronizer token (cookie sessions).
    csrf_hash           TEXT,
    created_at          BIGINT NOT NULL,
    last_seen_at        BIGINT NOT NULL,
    idle_expires_at     BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    revoked_at          BIGINT,
    revoked_reason      TEXT,
    user_agent          TEXT,
    ip                  TEXT
);
CREATE INDEX sessions_user_created ON sessions (user_id, created_at);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Every refresh token ever issued, by hash: what tells reuse of an old
-- token apart from an unknown one.
CREATE TABLE refresh_tokens (
    token_hash          TEXT PRIMARY KEY,
    session_id          TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    generation          BIGINT NOT NULL,
    issued_at           BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Access-token signing keys. A retired key no longer signs but keeps
-- verifying until the tokens it signed have expired.
CREATE TABLE signing_keys (
    kid                 TEXT PRIMARY KEY,
    algorithm           TEXT NOT NULL,
    private_key_pem     TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    retired_at          BIGINT
);

-- Append-only: nothing in the API updates or deletes these rows.
CREATE TABLE audit_events (
    id                  TEXT PRIMARY KEY,
    at                  BIGINT NOT NULL,
    event               TEXT NOT NULL,
    actor_id            TEXT,
    user_id             TEXT,
    session_id          TEXT,
    ip                  TEXT,
    user_agent          TEXT,
    detail              TEXT
);
CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX audit_events_user ON audit_events (user_id, at);

-- Fixed-window counters shared by every replica on the same database.
CREATE TABLE rate_limits (
    bucket              TEXT PRIMARY KEY,
    window_start        BIGINT NOT NULL,
    count               BIGINT NOT NULL
);
