-- Every replica LISTENs on `latchkey_revoked`: a session's revocation is
-- announced when its transaction commits, whichever code path revoked it
-- (logout, password change, admin action, reuse, the session cap). The
-- payload is `<session id>:<revoked_at ms>`. Replicas still re-read the
-- revocations every 250 ms, which covers anything sent while a listener
-- was disconnected.
CREATE FUNCTION latchkey_notify_revoked() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('latchkey_revoked', NEW.id || ':' || NEW.revoked_at);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER sessions_revoked_notify
    AFTER UPDATE OF revoked_at ON sessions
    FOR EACH ROW
    WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION latchkey_notify_revoked();
