-- A cookie session that changes without ending — a new id after a privilege
-- change, or its user's role or status — and a user whose profile (what
-- GET /api/me shows) changes are stamped with the database's clock (ms).
-- Every server's revocation feed reads the stamps and drops the cached
-- reads the change made stale, whichever code path (or hand-written SQL)
-- made it; so a server may keep such a read for many seconds.
ALTER TABLE sessions ADD COLUMN changed_at BIGINT;
CREATE INDEX sessions_changed_at ON sessions (changed_at) WHERE changed_at IS NOT NULL;

CREATE TRIGGER sessions_rekeyed
    AFTER UPDATE OF secret_hash ON sessions
    FOR EACH ROW
    WHEN NEW.kind = 'cookie' AND NEW.secret_hash IS NOT OLD.secret_hash
BEGIN
    UPDATE sessions
       SET changed_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
     WHERE id = NEW.id;
END;

CREATE TRIGGER users_role_or_status_changed
    AFTER UPDATE OF role, disabled_at ON users
    FOR EACH ROW
    WHEN NEW.role IS NOT OLD.role OR NEW.disabled_at IS NOT OLD.disabled_at
BEGIN
    UPDATE sessions
       SET changed_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
     WHERE user_id = NEW.id AND kind = 'cookie' AND revoked_at IS NULL;
END;

ALTER TABLE users ADD COLUMN changed_at BIGINT;
CREATE INDEX users_changed_at ON users (changed_at) WHERE changed_at IS NOT NULL;

CREATE TRIGGER users_profile_changed
    AFTER UPDATE OF email, display_name, role, email_verified_at ON users
    FOR EACH ROW
    WHEN NEW.email IS NOT OLD.email OR NEW.display_name IS NOT OLD.display_name
      OR NEW.role IS NOT OLD.role OR NEW.email_verified_at IS NOT OLD.email_verified_at
BEGIN
    UPDATE users
       SET changed_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
     WHERE id = NEW.id;
END;
