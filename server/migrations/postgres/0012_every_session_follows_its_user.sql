-- Bearer tokens under `session-lookup` are checked against a cached read of
-- their session too (by id), so a change of the user's role or status must
-- stamp every live session of the user, not only cookie sessions.
CREATE OR REPLACE FUNCTION latchkey_user_sessions_changed() RETURNS trigger AS $$
BEGIN
    UPDATE sessions
       SET changed_at = (extract(epoch FROM clock_timestamp()) * 1000)::bigint
     WHERE user_id = NEW.id AND revoked_at IS NULL;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
