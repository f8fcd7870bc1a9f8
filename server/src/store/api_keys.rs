//! The `api_keys` table: personal API keys, kept as the SHA-256 hash of the
//! key (the lookup key) and the few characters a list shows. Revoked keys
//! stay for the list and the audit trail; nothing brings one back.

use latchkey_types::{ApiKeyScope, Role};
use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{NewAuditEvent, insert_audit};
use super::{Db, StoreError, parse_uuid};

/// One key as stored (never the key itself).
#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub scope: ApiKeyScope,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl ApiKeyRecord {
    /// Usable now: not revoked, not past its expiry.
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now_ms < at)
    }
}

/// A key with its user's current role and status, as a request checks it.
#[derive(Debug, Clone)]
pub struct ApiKeyWithUser {
    pub key: ApiKeyRecord,
    pub role: Role,
    pub user_disabled: bool,
}

/// A key to store.
pub struct NewApiKey<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: &'a str,
    pub prefix: &'a str,
    pub secret_hash: &'a str,
    pub scope: ApiKeyScope,
    pub expires_at: Option<i64>,
}

#[derive(FromRow)]
struct ApiKeyRow {
    id: String,
    user_id: String,
    name: String,
    prefix: String,
    scope: String,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

#[derive(FromRow)]
struct ApiKeyWithUserRow {
    #[sqlx(flatten)]
    key: ApiKeyRow,
    role: String,
    disabled_at: Option<i64>,
}

fn scope_str(scope: ApiKeyScope) -> &'static str {
    match scope {
        ApiKeyScope::Full => "full",
        ApiKeyScope::Read => "read",
    }
}

impl TryFrom<ApiKeyRow> for ApiKeyRecord {
    type Error = StoreError;

    fn try_from(r: ApiKeyRow) -> Result<Self, StoreError> {
        let scope = match r.scope.as_str() {
            "full" => ApiKeyScope::Full,
            "read" => ApiKeyScope::Read,
            other => return Err(StoreError::Corrupt(format!("api key scope {other:?}"))),
        };
        Ok(ApiKeyRecord {
            id: parse_uuid(&r.id)?,
            user_id: parse_uuid(&r.user_id)?,
            name: r.name,
            prefix: r.prefix,
            scope,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        })
    }
}

impl TryFrom<ApiKeyWithUserRow> for ApiKeyWithUser {
    type Error = StoreError;

    fn try_from(r: ApiKeyWithUserRow) -> Result<Self, StoreError> {
        Ok(ApiKeyWithUser {
            key: r.key.try_into()?,
            role: Role::parse(&r.role).ok_or_else(|| StoreError::Corrupt(format!("role {:?}", r.role)))?,
            user_disabled: r.disabled_at.is_some(),
        })
    }
}

macro_rules! key_columns {
    () => {
        "k.id, k.user_id, k.name, k.prefix, k.scope, k.created_at, k.expires_at, k.last_used_at, k.revoked_at"
    };
}

impl Db {
    /// Stores a new key with its audit record, unless the user already has
    /// `max_live` live keys (`Ok(None)`, nothing written). `Conflict` if the
    /// user is gone.
    pub async fn create_api_key(
        &self,
        new: NewApiKey<'_>,
        max_live: u32,
        now: i64,
        audit: NewAuditEvent<'_>,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The user row is the lock that serialises a user's key creations
        // (the count below cannot race another insert).
        if super::users::lock_user(&mut tx, new.user_id).await?.is_none() {
            tx.rollback().await?;
            return Err(StoreError::Conflict);
        }
        let live: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(new.user_id.to_string())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        if live >= i64::from(max_live) {
            tx.rollback().await?;
            return Ok(None);
        }
        sqlx::query(
            "INSERT INTO api_keys (id, user_id, name, prefix, secret_hash, scope, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(new.id.to_string())
        .bind(new.user_id.to_string())
        .bind(new.name)
        .bind(new.prefix)
        .bind(new.secret_hash)
        .bind(scope_str(new.scope))
        .bind(now)
        .bind(new.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        insert_audit(&mut tx, audit, now).await?;
        tx.commit().await?;
        Ok(Some(ApiKeyRecord {
            id: new.id,
            user_id: new.user_id,
            name: new.name.to_string(),
            prefix: new.prefix.to_string(),
            scope: new.scope,
            created_at: now,
            expires_at: new.expires_at,
            last_used_at: None,
            revoked_at: None,
        }))
    }

    /// A user's keys that are not revoked (expired ones included: the list
    /// says so), newest first.
    pub async fn list_api_keys(&self, user_id: Uuid) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let rows: Vec<ApiKeyRow> = sqlx::query_as(concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys k WHERE k.user_id = $1 AND k.revoked_at IS NULL ORDER BY k.created_at DESC, k.id DESC"
        ))
        .bind(user_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(ApiKeyRecord::try_from).collect()
    }

    /// The key whose hash is `secret_hash`, with its user: one indexed read,
    /// on every request that presents a key (never cached, so a revocation
    /// holds on the next request on every server).
    pub async fn find_api_key(&self, secret_hash: &str) -> Result<Option<ApiKeyWithUser>, StoreError> {
        let row: Option<ApiKeyWithUserRow> = sqlx::query_as(concat!(
            "SELECT ",
            key_columns!(),
            ", u.role, u.disabled_at FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.secret_hash = $1"
        ))
        .bind(secret_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(ApiKeyWithUser::try_from).transpose()
    }

    /// Records a use, at most once per `every_ms` per key.
    pub async fn touch_api_key(&self, id: Uuid, now: i64, every_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $1 \
             WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)",
        )
        .bind(now)
        .bind(id.to_string())
        .bind(now - every_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Revokes a key (of `owner`, when given) with its audit record; the
    /// key as it was, or `None` if there was no such unrevoked key. The
    /// audit record's subject is the key's owner.
    pub async fn revoke_api_key(
        &self,
        id: Uuid,
        owner: Option<Uuid>,
        now: i64,
        mut audit: NewAuditEvent<'_>,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row: Option<ApiKeyRow> = sqlx::query_as(
            "UPDATE api_keys SET revoked_at = $1 \
             WHERE id = $2 AND revoked_at IS NULL AND ($3 IS NULL OR user_id = $3) \
             RETURNING id, user_id, name, prefix, scope, created_at, expires_at, last_used_at, revoked_at",
        )
        .bind(now)
        .bind(id.to_string())
        .bind(owner.map(|u| u.to_string()))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let key = ApiKeyRecord::try_from(row)?;
        audit.user_id = Some(key.user_id);
        audit.detail = Some(serde_json::json!({ "key_id": key.id, "name": key.name }));
        insert_audit(&mut tx, audit, now).await?;
        tx.commit().await?;
        Ok(Some(key))
    }
}
