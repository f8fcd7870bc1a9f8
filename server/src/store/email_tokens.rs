//! The `email_tokens` table: single-use tokens mailed to prove control of
//! an address (verification, password reset, email change), stored only as
//! SHA-256 hashes. A token is consumed by one conditional `UPDATE`, so two
//! clicks (or two tabs) cannot both use it.

use sqlx::AnyConnection;
use uuid::Uuid;

use super::{StoreError, parse_uuid};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailPurpose {
    Verify,
    Reset,
    Change,
}

impl EmailPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailPurpose::Verify => "verify",
            EmailPurpose::Reset => "reset",
            EmailPurpose::Change => "change",
        }
    }
}

pub struct NewEmailToken<'a> {
    pub token_hash: &'a str,
    pub user_id: Uuid,
    pub purpose: EmailPurpose,
    /// The address the link goes to.
    pub email: &'a str,
    pub expires_at: i64,
}

/// Inserts a token in the caller's transaction, first ending the user's
/// unused tokens of the same purpose: only the newest link works.
pub(super) async fn insert_in(conn: &mut AnyConnection, token: NewEmailToken<'_>, now: i64) -> Result<(), StoreError> {
    invalidate_in(conn, token.user_id, token.purpose, now).await?;
    sqlx::query(
        "INSERT INTO email_tokens (token_hash, user_id, purpose, email, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token.token_hash)
    .bind(token.user_id.to_string())
    .bind(token.purpose.as_str())
    .bind(token.email)
    .bind(now)
    .bind(token.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ends every unused token of this purpose for the user.
pub(super) async fn invalidate_in(
    conn: &mut AnyConnection,
    user_id: Uuid,
    purpose: EmailPurpose,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE email_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL")
        .bind(now)
        .bind(user_id.to_string())
        .bind(purpose.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Uses a token: succeeds once, for an unused, unexpired token of this
/// purpose; returns its user and address.
pub(super) async fn consume_in(
    conn: &mut AnyConnection,
    token_hash: &str,
    purpose: EmailPurpose,
    now: i64,
) -> Result<Option<(Uuid, String)>, StoreError> {
    let row: Option<(String, String)> = sqlx::query_as(
        "UPDATE email_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
         RETURNING user_id, email",
    )
    .bind(now)
    .bind(token_hash)
    .bind(purpose.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(user_id, email)| Ok((parse_uuid(&user_id)?, email)))
        .transpose()
}
