-- A cookie session that changes without ending — a new id after a privilege
-- change, or its user's role or status — and a user whose profile (what
-- GET /api/me shows) changes are stamped with the database's clock (ms).
-- Every replica's revocation feed reads the stamps and drops the cached
-- reads the change made stale, whichever code path (or hand-written SQL)
-- made it; so a server may keep such a read for many seconds.
ALTER TABLE sessions ADD COLUMN changed_at BIGINT;
CREATE INDEX sessions_changed_at ON sessions (changed_at) WHERE changed_at IS NOT NULL;

-- Stamps the row being updated (BEFORE triggers of sessions and users).
CREATE FUNCTION latchkey_stamp_changed() RETURNS trigger AS $$
BEGIN
    NEW.changed_at := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER sessions_rekeyed
    BEFORE UPDATE OF secret_hash ON sessions
    FOR EACH ROW
    WHEN (NEW.kind = 'cookie' AND NEW.secret_hash IS DISTINCT FROM OLD.secret_hash)
    EXECUTE FUNCTION latchkey_stamp_changed();

CREATE FUNCTION latchkey_user_sessions_changed() RETURNS trigger AS $$
BEGIN
    UPDATE sessions
       SET changed_at = (extract(epoch FROM clock_timestamp()) * 1000)::bigint
     WHERE user_id = NEW.id AND kind = 'cookie' AND revoked_at IS NULL;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER users_role_or_status_changed
    AFTER UPDATE OF role, disabled_at ON users
    FOR EACH ROW
    WHEN (NEW.role IS DISTINCT FROM OLD.role OR NEW.disabled_at IS DISTINCT FROM OLD.disabled_at)
    EXECUTE FUNCTION latchkey_user_sessions_changed();

ALTER TABLE users ADD COLUMN changed_at BIGINT;
CREATE INDEX users_changed_at ON users (changed_at) WHERE changed_at IS NOT NULL;

CREATE TRIGGER users_profile_changed
    BEFORE UPDATE OF email, display_name, role, email_verified_at ON users
    FOR EACH ROW
    WHEN (NEW.email IS DISTINCT FROM OLD.email OR NEW.display_name IS DISTINCT FROM OLD.display_name
      OR NEW.role IS DISTINCT FROM OLD.role OR NEW.email_verified_at IS DISTINCT FROM OLD.email_verified_at)
    EXECUTE FUNCTION latchkey_stamp_changed();
