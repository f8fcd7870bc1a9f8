-- Rate-limit counters are short-lived (a minute, an account window) and
-- worth nothing after a crash, which empties an unlogged table: they skip
-- the write-ahead log, so the counter a sign-in bumps before argon2 costs
-- no WAL flush of its own. Everything else a sign-in writes commits in one
-- logged transaction.
ALTER TABLE rate_limits SET UNLOGGED;
