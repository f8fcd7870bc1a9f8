-- Second factors and step-up. A session remembers when its holder last
-- proved who they are in full (password, plus the second factor where
-- there is one): sensitive actions need that to be recent. A TOTP secret
-- is kept sealed under the key-encryption key (like the signing keys),
-- with the highest time step used so a code works once. Recovery codes
-- and sign-in challenges are stored only as SHA-256 hashes.
ALTER TABLE sessions ADD COLUMN authenticated_at BIGINT;
UPDATE sessions SET authenticated_at = created_at;

CREATE TABLE totp_factors (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sealed_secret TEXT NOT NULL,
    -- NULL while enrolling: the factor counts once a code confirms it.
    confirmed_at  BIGINT,
    last_step     BIGINT,
    last_used_at  BIGINT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE recovery_codes (
    code_hash  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- The step between a right password and a session: single use, short
-- lived, bound to the password hash it followed and the kind of session
-- it may start.
CREATE TABLE mfa_challenges (
    id_hash       TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('jwt', 'cookie')),
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT
);
CREATE INDEX mfa_challenges_user ON mfa_challenges (user_id);
