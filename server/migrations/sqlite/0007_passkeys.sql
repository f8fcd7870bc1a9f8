-- Passkeys (WebAuthn discoverable credentials). A passkey holds only
-- public key material (webauthn-rs's `Passkey`, as JSON: the COSE key, the
-- signature counter, the backup flags); its credential id is unique across
-- every account, so one authenticator answer names one user.
CREATE TABLE passkeys (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    passkey       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- A WebAuthn ceremony between its options and the browser's answer: the
-- server-side state webauthn-rs needs to check the answer (the challenge
-- it signed), single use and short lived, keyed by the hash of the id the
-- client holds. `user_id` is NULL for a username-less sign-in;
-- `challenge_hash` ties a second-factor ceremony to its sign-in challenge.
CREATE TABLE passkey_ceremonies (
    id_hash        TEXT PRIMARY KEY,
    purpose        TEXT NOT NULL CHECK (purpose IN ('register', 'sign_in', 'second_factor', 'reauth')),
    user_id        TEXT REFERENCES users (id) ON DELETE CASCADE,
    challenge_hash TEXT,
    state          TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT
);
CREATE INDEX passkey_ceremonies_expiry ON passkey_ceremonies (expires_at);
