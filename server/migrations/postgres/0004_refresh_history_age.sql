-- Housekeeping deletes refresh-token history older than a day (except a
-- live session's current token and its parent) by age.
CREATE INDEX refresh_tokens_issued_at ON refresh_tokens (issued_at);
