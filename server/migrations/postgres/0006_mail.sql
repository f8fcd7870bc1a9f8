-- Account recovery by email: whether an address is verified, the
-- single-use tokens mailed for verification, password reset and email
-- change (stored only as hashes), and the outbox a background sender
-- drains, so a slow or absent SMTP relay never blocks a request and a
-- mail survives a restart.
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;

CREATE TABLE email_tokens (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('verify', 'reset', 'change')),
    -- The address the link was sent to (for 'change': the new address).
    email       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);

CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    to_address      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- A sender's lease: another one skips the row until it ends.
    locked_until    BIGINT,
    sent_at         BIGINT,
    -- Given up after too many attempts.
    failed_at       BIGINT,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
