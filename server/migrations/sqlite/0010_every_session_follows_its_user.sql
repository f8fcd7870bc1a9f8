-- Bearer tokens under `session-lookup` are checked against a cached read of
-- their session too (by id), so a change of the user's role or status must
-- stamp every live session of the user, not only cookie sessions.
DROP TRIGGER users_role_or_status_changed;

CREATE TRIGGER users_role_or_status_changed
    AFTER UPDATE OF role, disabled_at ON users
    FOR EACH ROW
    WHEN NEW.role IS NOT OLD.role OR NEW.disabled_at IS NOT OLD.disabled_at
BEGIN
    UPDATE sessions
       SET changed_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
     WHERE user_id = NEW.id AND revoked_at IS NULL;
END;
