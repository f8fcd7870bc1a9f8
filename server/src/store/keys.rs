//! The `signing_keys` table: access-token signing keys shared by every
//! replica. The newest unretired key signs; retired keys keep verifying
//! until every token they signed has expired.

use sqlx::FromRow;

use super::{Db, StoreError};

#[derive(Debug, Clone, FromRow)]
pub struct StoredKey {
    pub kid: String,
    pub algorithm: String,
    pub private_key_pem: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

impl Db {
    /// Keys that still sign or verify: unretired, or retired after `since`.
    pub async fn usable_signing_keys(&self, since: i64) -> Result<Vec<StoredKey>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT kid, algorithm, private_key_pem, created_at, retired_at FROM signing_keys \
             WHERE retired_at IS NULL OR retired_at >= $1 ORDER BY created_at DESC, kid DESC",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Adds a key and retires every other unretired one, in one transaction:
    /// after it, exactly one key signs.
    pub async fn add_signing_key(&self, kid: &str, pem: &str, now: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, algorithm, private_key_pem, created_at) VALUES ($1, 'EdDSA', $2, $3) \
             ON CONFLICT (kid) DO UPDATE SET retired_at = NULL",
        )
        .bind(kid)
        .bind(pem)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a key only if no key signs yet (first start). Several replicas
    /// starting at once may race; the loser's insert is a no-op and it uses
    /// the winner's key after reloading.
    pub async fn add_first_signing_key(&self, kid: &str, pem: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, algorithm, private_key_pem, created_at) \
             SELECT $1, 'EdDSA', $2, $3 WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE retired_at IS NULL)",
        )
        .bind(kid)
        .bind(pem)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
