//! The `users` table.

use latchkey_types::{Role, User};
use sqlx::{AnyConnection, FromRow};
use uuid::Uuid;

use super::{Db, StoreError};
use crate::core::clock::{from_ms, now_ms};
use crate::core::identity::{DisplayName, Email};

/// A user row as stored, including what never leaves the server.
#[derive(Debug, Clone, FromRow)]
pub struct UserRecord {
    pub id: String,
    pub email: String,
    pub display_name: Option<String>,
    pub password_hash: String,
    pub role: String,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
}

impl UserRecord {
    pub fn id(&self) -> Uuid {
        Uuid::parse_str(&self.id).unwrap_or_default()
    }

    pub fn role(&self) -> Role {
        // The CHECK constraint allows only these two; anything else is
        // treated as the least privilege.
        Role::parse(&self.role).unwrap_or(Role::User)
    }

    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }

    pub fn to_api(&self) -> User {
        User {
            id: self.id(),
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            role: self.role(),
            created_at: from_ms(self.created_at),
        }
    }
}

/// The columns `UserRecord` reads, as a literal so queries stay `'static`.
macro_rules! user_columns {
    () => {
        "id, email, display_name, password_hash, role, disabled_at, created_at"
    };
}

pub struct NewUser<'a> {
    pub email: &'a Email,
    pub display_name: Option<&'a DisplayName>,
    pub password_hash: &'a str,
    pub role: Role,
}

/// Inserts a user inside the caller's transaction; `StoreError::Conflict`
/// when the email is taken.
pub(crate) async fn insert_user(conn: &mut AnyConnection, new: NewUser<'_>) -> Result<UserRecord, StoreError> {
    let id = Uuid::now_v7().to_string();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO users (id, email, email_key, display_name, display_name_key, password_hash, role, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(&id)
    .bind(new.email.as_str())
    .bind(new.email.key())
    .bind(new.display_name.map(|n| n.as_str().to_string()))
    .bind(new.display_name.map(|n| n.as_str().to_lowercase()))
    .bind(new.password_hash)
    .bind(new.role.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(UserRecord {
        id,
        email: new.email.as_str().to_string(),
        display_name: new.display_name.map(|n| n.as_str().to_string()),
        password_hash: new.password_hash.to_string(),
        role: new.role.as_str().to_string(),
        disabled_at: None,
        created_at: now,
    })
}

impl Db {
    /// Inserts a user and its audit event (naming the new user) in one
    /// transaction; `StoreError::Conflict` when the email is taken.
    pub async fn create_user(
        &self,
        new: NewUser<'_>,
        mut audit: super::audit::NewAuditEvent<'_>,
        now: i64,
    ) -> Result<UserRecord, StoreError> {
        let mut tx = self.pool.begin().await?;
        let user = insert_user(&mut tx, new).await?;
        audit.user_id = Some(user.id());
        super::audit::insert_audit(&mut tx, audit, now).await?;
        tx.commit().await?;
        Ok(user)
    }

    pub async fn find_user(&self, id: Uuid) -> Result<Option<UserRecord>, StoreError> {
        Ok(
            sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1"))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn set_display_name(&self, id: Uuid, name: Option<&DisplayName>) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET display_name = $1, display_name_key = $2, updated_at = $3 WHERE id = $4")
            .bind(name.map(|n| n.as_str().to_string()))
            .bind(name.map(|n| n.as_str().to_lowercase()))
            .bind(now_ms())
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores a new password hash and revokes every other session of the
    /// user in one transaction; returns the revoked session ids.
    pub async fn change_password(&self, id: Uuid, hash: &str, keep: Uuid, now: i64) -> Result<Vec<Uuid>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let revoked = super::sessions::revoke_user_sessions_in(
            &mut tx,
            id,
            Some(keep),
            super::sessions::RevokeReason::PasswordChanged,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(revoked)
    }

    pub async fn find_user_by_email(&self, email: &Email) -> Result<Option<UserRecord>, StoreError> {
        Ok(
            sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users WHERE email_key = $1"))
                .bind(email.key())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn count_users(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }
}
