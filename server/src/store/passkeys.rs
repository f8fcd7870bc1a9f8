//! Passkeys: the registered credentials (public keys only) and the WebAuthn
//! ceremonies between an options response and the browser's answer.
//!
//! A ceremony is used up by the same transaction that acts on its answer
//! (adds the passkey, starts the session, stamps the step-up), with one
//! conditional `UPDATE`, so one answer cannot be used twice.

use sqlx::AnyConnection;
use uuid::Uuid;

use super::audit::{NewAuditEvent, insert_audit};
use super::factors::{end_other_sessions_in, has_second_factor_in, insert_recovery_codes_in};
use super::{Db, Revoked, StoreError, parse_uuid};

/// At most this many passkeys per account.
pub const MAX_PASSKEYS: i64 = 20;

/// What a ceremony is for; each answers one route only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Register,
    SignIn,
    SecondFactor,
    Reauth,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::SignIn => "sign_in",
            Purpose::SecondFactor => "second_factor",
            Purpose::Reauth => "reauth",
        }
    }
}

/// A passkey as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PasskeyRow {
    pub id: String,
    pub user_id: String,
    /// base64url of the credential id.
    pub credential_id: String,
    pub name: String,
    /// webauthn-rs's `Passkey` as JSON.
    pub passkey: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A live ceremony.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CeremonyRow {
    pub user_id: Option<String>,
    pub challenge_hash: Option<String>,
    /// webauthn-rs's ceremony state as JSON.
    pub state: String,
}

pub struct NewCeremony<'a> {
    pub id_hash: &'a str,
    pub purpose: Purpose,
    pub user_id: Option<Uuid>,
    pub challenge_hash: Option<&'a str>,
    pub state: &'a str,
    pub expires_at: i64,
}

pub struct NewPasskey<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub credential_id: &'a str,
    pub name: &'a str,
    pub passkey: &'a str,
}

/// A checked answer to a sign-in, second-factor or step-up ceremony: the
/// ceremony to use up and the passkey's new state (its signature counter).
#[derive(Debug, Clone, Copy)]
pub struct PasskeyUse<'a> {
    pub ceremony_hash: &'a str,
    pub purpose: Purpose,
    pub credential_id: &'a str,
    pub passkey: &'a str,
    /// For a second factor: the sign-in challenge the ceremony was made for.
    pub challenge_hash: Option<&'a str>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum AddOutcome {
    /// Added; `true` when the recovery codes given were stored (the
    /// account had no second factor before).
    Added {
        codes_stored: bool,
    },
    /// The ceremony was used, expired or not this user's.
    CeremonyGone,
    /// The credential is registered already (to anyone).
    Duplicate,
    TooMany,
}

const COLUMNS: &str = "id, user_id, credential_id, name, passkey, created_at, last_used_at";

impl Db {
    /// The user's passkeys, oldest first.
    pub async fn passkeys(&self, user_id: Uuid) -> Result<Vec<PasskeyRow>, StoreError> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id"
        )))
        .bind(user_id.to_string())
        .fetch_all(&self.pool)
        .await?)
    }

    /// The passkey with this credential id, whoever's it is.
    pub async fn passkey_by_credential(&self, credential_id: &str) -> Result<Option<PasskeyRow>, StoreError> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1"
        )))
        .bind(credential_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Records a ceremony (and sweeps everyone's expired ones).
    pub async fn create_ceremony(&self, ceremony: NewCeremony<'_>, now: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM passkey_ceremonies WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO passkey_ceremonies (id_hash, purpose, user_id, challenge_hash, state, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(ceremony.id_hash)
        .bind(ceremony.purpose.as_str())
        .bind(ceremony.user_id.map(|id| id.to_string()))
        .bind(ceremony.challenge_hash)
        .bind(ceremony.state)
        .bind(now)
        .bind(ceremony.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A live (unused, unexpired) ceremony for `purpose`.
    pub async fn peek_ceremony(
        &self,
        id_hash: &str,
        purpose: Purpose,
        now: i64,
    ) -> Result<Option<CeremonyRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT user_id, challenge_hash, state FROM passkey_ceremonies \
             WHERE id_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(id_hash)
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Adds a checked new passkey, using up its registration ceremony; with
    /// `codes`, stores them as the recovery codes if the account had no
    /// second factor yet.
    pub async fn add_passkey(
        &self,
        ceremony_hash: &str,
        passkey: NewPasskey<'_>,
        codes: &[String],
        now: i64,
        audit: NewAuditEvent<'_>,
    ) -> Result<AddOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        let owner = consume_ceremony_in(&mut tx, ceremony_hash, Purpose::Register, now).await?;
        if owner.and_then(|(user, _)| user) != Some(passkey.user_id) {
            tx.rollback().await?;
            return Ok(AddOutcome::CeremonyGone);
        }
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM passkeys WHERE user_id = $1")
            .bind(passkey.user_id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        if count >= MAX_PASSKEYS {
            tx.rollback().await?;
            return Ok(AddOutcome::TooMany);
        }
        let first_factor = !has_second_factor_in(&mut tx, passkey.user_id).await?;
        let inserted = sqlx::query(
            "INSERT INTO passkeys (id, user_id, credential_id, name, passkey, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(passkey.id.to_string())
        .bind(passkey.user_id.to_string())
        .bind(passkey.credential_id)
        .bind(passkey.name)
        .bind(passkey.passkey)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx);
        match inserted {
            Err(StoreError::Conflict) => {
                tx.rollback().await?;
                return Ok(AddOutcome::Duplicate);
            }
            other => {
                other?;
            }
        }
        let codes_stored = first_factor && !codes.is_empty();
        if codes_stored {
            insert_recovery_codes_in(&mut tx, passkey.user_id, codes, now).await?;
        }
        insert_audit(&mut tx, audit, now).await?;
        tx.commit().await?;
        Ok(AddOutcome::Added { codes_stored })
    }

    /// Renames one of the user's passkeys; `false` when there is none.
    pub async fn rename_passkey(
        &self,
        user_id: Uuid,
        id: Uuid,
        name: &str,
        now: i64,
        audit: NewAuditEvent<'_>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let renamed = sqlx::query("UPDATE passkeys SET name = $1 WHERE id = $2 AND user_id = $3")
            .bind(name)
            .bind(id.to_string())
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if renamed == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_audit(&mut tx, audit, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Removes one of the user's passkeys and ends every other session of
    /// the user; the recovery codes go too when no second factor is left.
    /// `false` (nothing changed) when there is no such passkey.
    pub async fn remove_passkey(
        &self,
        user_id: Uuid,
        id: Uuid,
        keep: Option<Uuid>,
        now: i64,
        audit: NewAuditEvent<'_>,
    ) -> Result<Revoked<bool>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let removed = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed == 0 {
            tx.rollback().await?;
            return Ok(Revoked::new(false, Vec::new(), now));
        }
        super::factors::forget_codes_without_factor_in(&mut tx, user_id).await?;
        let revoked = end_other_sessions_in(&mut tx, user_id, keep, audit, now).await?;
        tx.commit().await?;
        Ok(Revoked::new(true, revoked, now))
    }
}

/// Uses up a ceremony: once, unexpired, for its purpose. Returns whom it
/// was for and the sign-in challenge it belongs to.
pub(super) async fn consume_ceremony_in(
    conn: &mut AnyConnection,
    id_hash: &str,
    purpose: Purpose,
    now: i64,
) -> Result<Option<(Option<Uuid>, Option<String>)>, StoreError> {
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "UPDATE passkey_ceremonies SET used_at = $1 \
         WHERE id_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
         RETURNING user_id, challenge_hash",
    )
    .bind(now)
    .bind(id_hash)
    .bind(purpose.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(user, challenge)| Ok((user.as_deref().map(parse_uuid).transpose()?, challenge)))
        .transpose()
}

/// Counts one use of a passkey: its ceremony used up (for this user) and
/// its new state stored. `false` when the ceremony was used meanwhile or the
/// passkey removed. For a second factor, `challenge_hash` must be the
/// sign-in challenge the ceremony was made for.
pub(super) async fn use_passkey_in(
    conn: &mut AnyConnection,
    user_id: Uuid,
    used: PasskeyUse<'_>,
    now: i64,
) -> Result<bool, StoreError> {
    let Some((owner, challenge)) = consume_ceremony_in(conn, used.ceremony_hash, used.purpose, now).await? else {
        return Ok(false);
    };
    // A sign-in ceremony has no user until the answer names one.
    if owner.is_some_and(|owner| owner != user_id) || challenge.as_deref() != used.challenge_hash {
        return Ok(false);
    }
    Ok(
        sqlx::query("UPDATE passkeys SET passkey = $1, last_used_at = $2 WHERE credential_id = $3 AND user_id = $4")
            .bind(used.passkey)
            .bind(now)
            .bind(used.credential_id)
            .bind(user_id.to_string())
            .execute(&mut *conn)
            .await?
            .rows_affected()
            == 1,
    )
}
