-- A cookie session that changes without ending — a new id after a privilege
-- change, or its user's role or status — is stamped with the database's
-- clock (ms). Every replica's revocation feed reads the stamps and drops the
-- cached reads the change made stale, whichever code path (or hand-written
-- SQL) made it; so a server may keep a session read for many seconds.
ALTER TABLE sessions ADD COLUMN changed_at BIGINT;
CREATE INDEX sessions_changed_at ON sessions (changed_at) WHERE changed_at IS NOT NULL;

CREATE FUNCTION latchkey_session_rekeyed() RETURNS trigger AS $$
BEGIN
    NEW.changed_at := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER sessions_rekeyed
    BEFORE UPDATE OF secret_hash ON sessions
    FOR EACH ROW
    WHEN (NEW.kind = 'cookie' AND NEW.secret_hash IS DISTINCT FROM OLD.secret_hash)
    EXECUTE FUNCTION latchkey_session_rekeyed();

CREATE FUNCTION latchkey_user_changed() RETURNS trigger AS $$
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
    EXECUTE FUNCTION latchkey_user_changed();
