//! Fixed-window counters in the database, so a limit holds across every
//! replica that shares it. One upsert per hit: atomic on both backends.

use super::{Db, StoreError};

/// The state of a bucket after a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowCount {
    pub count: i64,
    /// When the current window ends (ms).
    pub resets_at: i64,
}

impl Db {
    /// Counts one hit in `bucket`'s current window of `window_ms`. A window
    /// only moves forward: a replica whose clock lags cannot reset it.
    pub async fn hit_rate_limit(&self, bucket: &str, window_ms: i64, now: i64) -> Result<WindowCount, StoreError> {
        let window_start = now - now.rem_euclid(window_ms);
        let (count, start): (i64, i64) = sqlx::query_as(
            "INSERT INTO rate_limits (bucket, window_start, count) VALUES ($1, $2, 1) \
             ON CONFLICT (bucket) DO UPDATE SET \
               count = CASE WHEN excluded.window_start > rate_limits.window_start \
                            THEN 1 ELSE rate_limits.count + 1 END, \
               window_start = CASE WHEN excluded.window_start > rate_limits.window_start \
                            THEN excluded.window_start ELSE rate_limits.window_start END \
             RETURNING count, window_start",
        )
        .bind(bucket)
        .bind(window_start)
        .fetch_one(&self.pool)
        .await?;
        Ok(WindowCount {
            count,
            resets_at: start + window_ms,
        })
    }

    /// Forgets a bucket (a right password clears its account's failures).
    pub async fn clear_rate_limit(&self, bucket: &str) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        clear_in(&mut conn, bucket).await
    }

    /// Drops buckets whose window ended long ago; keeps the table small.
    pub async fn prune_rate_limits(&self, older_than: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
            .bind(older_than)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}

/// Forgets a bucket in the caller's transaction (a successful login clears
/// its account's failures as part of starting the session).
pub(super) async fn clear_in(conn: &mut sqlx::AnyConnection, bucket: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM rate_limits WHERE bucket = $1")
        .bind(bucket)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
