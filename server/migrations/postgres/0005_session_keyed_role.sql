-- The role a session id was issued (or last re-keyed) under. A cookie
-- session acts with at most this role: a raised role takes effect only
-- under a new id (`GET /api/session` re-keys), so an id that was fixated
-- or copied before a promotion never carries the new privilege.
ALTER TABLE sessions ADD COLUMN keyed_role TEXT CHECK (keyed_role IN ('user', 'admin'));
UPDATE sessions SET keyed_role = (SELECT role FROM users WHERE users.id = sessions.user_id);
