//! The `signing_keys` table: access-token signing keys shared by every
//! replica. The newest unretired key signs; retired keys keep verifying
//! until every token they signed has expired.

use sqlx::FromRow;

use super::{Db, StoreError};

/// A stored signing key. `Debug` leaves the private key out.
#[derive(Clone, FromRow)]
pub struct StoredKey {
    pub kid: String,
    pub algorithm: String,
    /// Sealed under the key-encryption key (`auth::vault`); PEM in the
    /// clear only in a database an older version wrote, until next start.
    pub private_key_pem: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("private_key_pem", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish()
    }
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

    /// Replaces a key stored in the clear with its sealed form (only if it
    /// is still the clear one: another replica may have sealed it already).
    pub async fn seal_signing_key(&self, kid: &str, plain: &str, sealed: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE signing_keys SET private_key_pem = $1 WHERE kid = $2 AND private_key_pem = $3")
            .bind(sealed)
            .bind(kid)
            .bind(plain)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Retires every key that still signs; returns how many.
    pub async fn retire_signing_keys(&self, now: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL")
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
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

#[cfg(test)]
mod tests {
    #[test]
    fn debug_output_leaves_the_private_key_out() {
        let key = super::StoredKey {
            kid: "k1".into(),
            algorithm: "EdDSA".into(),
            private_key_pem: crate::core::tokens::generate_ed25519_pem(),
            created_at: 0,
            retired_at: None,
        };
        let printed = format!("{key:?}");
        assert!(!printed.contains("PRIVATE KEY"), "{printed}");
        assert!(printed.contains("k1"), "{printed}");
    }
}
