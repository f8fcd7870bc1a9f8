//! Second factors: the TOTP factor (sealed secret, last step used), the
//! recovery codes (hashes), the sign-in challenges that sit between a right
//! password and a session (hashes), and each session's time of last full
//! authentication (step-up).
//!
//! Every use of a factor is one conditional `UPDATE` (a newer step, an
//! unused code, an unused and unexpired challenge), so two requests racing
//! with one code cannot both succeed.

use sqlx::AnyConnection;
use uuid::Uuid;

use super::audit::{Event, NewAuditEvent, insert_audit};
use super::sessions::{RevokeReason, SessionKind, kind_columns, revoke_user_sessions_in};
use super::users::lock_user;
use super::{Db, Revoked, StoreError, parse_uuid};

/// A user's TOTP factor as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TotpRow {
    /// `sealed1:…` under the key-encryption key, bound to the user.
    pub sealed_secret: String,
    /// `None` while enrolling.
    pub confirmed_at: Option<i64>,
    pub last_step: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// What a second factor proved, as the engine checked it before the
/// transaction; the transaction makes the use count once.
#[derive(Debug, Clone, Copy)]
pub enum FactorProof<'a> {
    /// A TOTP code right for this step (newer than the last one used).
    Totp { step: i64 },
    /// The hash of a recovery code.
    RecoveryCode { code_hash: &'a str },
    /// A passkey's checked answer to a ceremony.
    Passkey(super::passkeys::PasskeyUse<'a>),
}

/// A new sign-in challenge.
pub struct NewChallenge<'a> {
    pub id_hash: &'a str,
    pub user_id: Uuid,
    pub kind: SessionKind,
    /// The hash the password was verified against: the session is refused
    /// if the password changed meanwhile.
    pub password_hash: &'a str,
    pub expires_at: i64,
}

/// A step-up: the password verified against `expected_hash`, and the
/// second factor when the account has one.
pub struct Reauth<'a> {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub expected_hash: &'a str,
    pub proof: Option<FactorProof<'a>>,
}

impl Db {
    pub async fn totp_factor(&self, user_id: Uuid) -> Result<Option<TotpRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT sealed_secret, confirmed_at, last_step, last_used_at FROM totp_factors WHERE user_id = $1",
        )
        .bind(user_id.to_string())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// What can answer a sign-in challenge for the user: `totp`,
    /// `recovery_code`, `passkey`; empty without a second factor.
    pub async fn second_factor_methods(&self, user_id: Uuid) -> Result<Vec<&'static str>, StoreError> {
        let (totp, passkeys): (i64, i64) = sqlx::query_as(concat!("SELECT ", factor_count_columns!("$1")))
            .bind(user_id.to_string())
            .fetch_one(&self.pool)
            .await?;
        Ok(super::users::FactorCounts { totp, passkeys }.methods())
    }

    /// Unused recovery codes of the user.
    pub async fn recovery_codes_left(&self, user_id: Uuid) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
                .bind(user_id.to_string())
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Starts (or restarts) an enrolment with a new sealed secret. `false`,
    /// with nothing changed, when a confirmed factor exists: it has to be
    /// removed first.
    pub async fn begin_totp(
        &self,
        user_id: Uuid,
        sealed_secret: &str,
        now: i64,
        audit: NewAuditEvent<'_>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let written = sqlx::query(
            "INSERT INTO totp_factors (user_id, sealed_secret, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET sealed_secret = excluded.sealed_secret, \
             created_at = excluded.created_at, last_step = NULL WHERE totp_factors.confirmed_at IS NULL",
        )
        .bind(user_id.to_string())
        .bind(sealed_secret)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if written == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_audit(&mut tx, audit, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Confirms the enrolment with the step of a right code, and stores the
    /// first recovery codes (replacing any). `false` when there was no
    /// enrolment to confirm (or it was confirmed meanwhile).
    pub async fn confirm_totp(
        &self,
        user_id: Uuid,
        step: i64,
        code_hashes: &[String],
        now: i64,
        audit: NewAuditEvent<'_>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let confirmed = sqlx::query(
            "UPDATE totp_factors SET confirmed_at = $1, last_step = $2, last_used_at = $1 \
             WHERE user_id = $3 AND confirmed_at IS NULL",
        )
        .bind(now)
        .bind(step)
        .bind(user_id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if confirmed == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_recovery_codes_in(&mut tx, user_id, code_hashes, now).await?;
        insert_audit(&mut tx, audit, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Removes the TOTP factor (and the recovery codes, unless a passkey
    /// remains), and ends every session of the user but `keep`. `false`
    /// when there was no factor.
    pub async fn remove_totp(
        &self,
        user_id: Uuid,
        keep: Option<Uuid>,
        now: i64,
        audit: NewAuditEvent<'_>,
    ) -> Result<Revoked<bool>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let removed = sqlx::query("DELETE FROM totp_factors WHERE user_id = $1")
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed == 0 {
            tx.rollback().await?;
            return Ok(Revoked::new(false, Vec::new(), now));
        }
        forget_codes_without_factor_in(&mut tx, user_id).await?;
        sqlx::query("DELETE FROM mfa_challenges WHERE user_id = $1")
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?;
        let revoked = end_other_sessions_in(&mut tx, user_id, keep, audit, now).await?;
        tx.commit().await?;
        Ok(Revoked::new(true, revoked, now))
    }

    /// Removes every second factor of the user (TOTP, passkeys, recovery
    /// codes, pending challenges) and ends every session but `keep`.
    /// `false` (nothing changed) when there was none.
    pub async fn remove_all_factors(
        &self,
        user_id: Uuid,
        keep: Option<Uuid>,
        now: i64,
        audit: NewAuditEvent<'_>,
    ) -> Result<Revoked<bool>, StoreError> {
        let mut tx = self.pool.begin().await?;
        if !has_second_factor_in(&mut tx, user_id).await? {
            tx.rollback().await?;
            return Ok(Revoked::new(false, Vec::new(), now));
        }
        for table in [
            "totp_factors",
            "passkeys",
            "recovery_codes",
            "mfa_challenges",
            "passkey_ceremonies",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE user_id = $1")))
                .bind(user_id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        let revoked = end_other_sessions_in(&mut tx, user_id, keep, audit, now).await?;
        tx.commit().await?;
        Ok(Revoked::new(true, revoked, now))
    }

    /// New recovery codes in place of the old ones, for a user with a
    /// confirmed factor; every session but `keep` ends. `false` (nothing
    /// changed) without a factor.
    pub async fn replace_recovery_codes(
        &self,
        user_id: Uuid,
        code_hashes: &[String],
        keep: Option<Uuid>,
        now: i64,
        audit: NewAuditEvent<'_>,
    ) -> Result<Revoked<bool>, StoreError> {
        let mut tx = self.pool.begin().await?;
        if !has_second_factor_in(&mut tx, user_id).await? {
            tx.rollback().await?;
            return Ok(Revoked::new(false, Vec::new(), now));
        }
        insert_recovery_codes_in(&mut tx, user_id, code_hashes, now).await?;
        let revoked = end_other_sessions_in(&mut tx, user_id, keep, audit, now).await?;
        tx.commit().await?;
        Ok(Revoked::new(true, revoked, now))
    }

    /// Records a challenge after a right password.
    pub async fn create_challenge(
        &self,
        challenge: NewChallenge<'_>,
        now: i64,
        audit: NewAuditEvent<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // Spent and expired challenges of anyone are of no further use.
        sqlx::query("DELETE FROM mfa_challenges WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO mfa_challenges (id_hash, user_id, kind, client, password_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(challenge.id_hash)
        .bind(challenge.user_id.to_string())
        .bind(kind_columns(challenge.kind).0)
        .bind(kind_columns(challenge.kind).1)
        .bind(challenge.password_hash)
        .bind(now)
        .bind(challenge.expires_at)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user a live (unused, unexpired) challenge of this kind is for.
    pub async fn peek_challenge(&self, id_hash: &str, kind: SessionKind, now: i64) -> Result<Option<Uuid>, StoreError> {
        let user: Option<String> = sqlx::query_scalar(
            "SELECT user_id FROM mfa_challenges \
             WHERE id_hash = $1 AND kind = $2 AND client = $3 AND used_at IS NULL AND expires_at > $4",
        )
        .bind(id_hash)
        .bind(kind_columns(kind).0)
        .bind(kind_columns(kind).1)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        user.as_deref().map(parse_uuid).transpose()
    }

    /// The user a live challenge (of either kind) is for.
    pub async fn peek_challenge_user(&self, id_hash: &str, now: i64) -> Result<Option<Uuid>, StoreError> {
        let user: Option<String> = sqlx::query_scalar(
            "SELECT user_id FROM mfa_challenges WHERE id_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        user.as_deref().map(parse_uuid).transpose()
    }

    /// When the session's holder last authenticated in full.
    pub async fn session_authenticated_at(&self, session_id: Uuid) -> Result<Option<i64>, StoreError> {
        let at: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT COALESCE(authenticated_at, created_at) FROM sessions WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(session_id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        Ok(at.flatten())
    }

    /// A step-up: the factor's use counted, the password still the one
    /// verified, then the session's authentication time is now. `false`
    /// (nothing changed) when the code was used meanwhile, the password
    /// changed or the session ended.
    pub async fn reauthenticate(
        &self,
        reauth: Reauth<'_>,
        now: i64,
        audit: NewAuditEvent<'_>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let factor_ok = match reauth.proof {
            Some(proof) => use_factor_in(&mut tx, reauth.user_id, proof, now, &audit).await?,
            None => true,
        };
        let user_ok = factor_ok
            && lock_user(&mut tx, reauth.user_id)
                .await?
                .is_some_and(|u| u.password_hash == reauth.expected_hash && !u.is_disabled());
        let stamped = user_ok
            && sqlx::query(
                "UPDATE sessions SET authenticated_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(reauth.session_id.to_string())
            .bind(reauth.user_id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
        if !stamped {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_audit(&mut tx, audit, now).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Whether the user has a second factor (a confirmed TOTP factor or a
/// passkey), inside a transaction: a password alone then signs in no more.
pub(super) async fn has_second_factor_in(conn: &mut AnyConnection, user_id: Uuid) -> Result<bool, StoreError> {
    let (totp, passkeys): (i64, i64) = sqlx::query_as(concat!("SELECT ", factor_count_columns!("$1")))
        .bind(user_id.to_string())
        .fetch_one(&mut *conn)
        .await?;
    Ok(totp + passkeys > 0)
}

/// Recovery codes stand in for a second factor: without one left, they go.
pub(super) async fn forget_codes_without_factor_in(conn: &mut AnyConnection, user_id: Uuid) -> Result<(), StoreError> {
    if !has_second_factor_in(conn, user_id).await? {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Replaces the user's recovery codes.
pub(super) async fn insert_recovery_codes_in(
    conn: &mut AnyConnection,
    user_id: Uuid,
    code_hashes: &[String],
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id.to_string())
        .execute(&mut *conn)
        .await?;
    for hash in code_hashes {
        sqlx::query("INSERT INTO recovery_codes (code_hash, user_id, created_at) VALUES ($1, $2, $3)")
            .bind(hash)
            .bind(user_id.to_string())
            .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Uses a challenge: once, unexpired, for the kind of session it was made
/// for. Returns its user and the password hash it followed.
pub(super) async fn consume_challenge_in(
    conn: &mut AnyConnection,
    id_hash: &str,
    kind: SessionKind,
    now: i64,
) -> Result<Option<(Uuid, String)>, StoreError> {
    let row: Option<(String, String)> = sqlx::query_as(
        "UPDATE mfa_challenges SET used_at = $1 \
         WHERE id_hash = $2 AND kind = $3 AND client = $4 AND used_at IS NULL AND expires_at > $1 \
         RETURNING user_id, password_hash",
    )
    .bind(now)
    .bind(id_hash)
    .bind(kind_columns(kind).0)
    .bind(kind_columns(kind).1)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(user_id, hash)| Ok((parse_uuid(&user_id)?, hash))).transpose()
}

/// Counts one use of a factor: a TOTP step newer than the last one, or an
/// unused recovery code (audited as such). `false` when it was used
/// already — by a racing request, say.
pub(super) async fn use_factor_in(
    conn: &mut AnyConnection,
    user_id: Uuid,
    proof: FactorProof<'_>,
    now: i64,
    audit: &NewAuditEvent<'_>,
) -> Result<bool, StoreError> {
    match proof {
        FactorProof::Totp { step } => Ok(sqlx::query(
            "UPDATE totp_factors SET last_step = $1, last_used_at = $2 \
             WHERE user_id = $3 AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < $1)",
        )
        .bind(step)
        .bind(now)
        .bind(user_id.to_string())
        .execute(&mut *conn)
        .await?
        .rows_affected()
            == 1),
        FactorProof::RecoveryCode { code_hash } => {
            let used = sqlx::query(
                "UPDATE recovery_codes SET used_at = $1 WHERE code_hash = $2 AND user_id = $3 AND used_at IS NULL",
            )
            .bind(now)
            .bind(code_hash)
            .bind(user_id.to_string())
            .execute(&mut *conn)
            .await?
            .rows_affected()
                == 1;
            if used {
                let left: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
                        .bind(user_id.to_string())
                        .fetch_one(&mut *conn)
                        .await?;
                let event = NewAuditEvent {
                    event: Event::RecoveryCodeUsed,
                    user_id: Some(user_id),
                    actor_id: Some(user_id),
                    detail: Some(serde_json::json!({ "left": left })),
                    ..audit.clone()
                };
                insert_audit(conn, event, now).await?;
            }
            Ok(used)
        }
        FactorProof::Passkey(used) => super::passkeys::use_passkey_in(conn, user_id, used, now).await,
    }
}

/// A change to the factors ends every session of the user but `keep`; its
/// audit record says how many.
pub(super) async fn end_other_sessions_in(
    conn: &mut AnyConnection,
    user_id: Uuid,
    keep: Option<Uuid>,
    mut audit: NewAuditEvent<'_>,
    now: i64,
) -> Result<Vec<Uuid>, StoreError> {
    let revoked = revoke_user_sessions_in(conn, user_id, keep, RevokeReason::UserRevoked, now).await?;
    let mut detail = audit.detail.take().unwrap_or_else(|| serde_json::json!({}));
    if let Some(map) = detail.as_object_mut() {
        map.insert("sessions_revoked".into(), revoked.len().into());
    }
    audit.detail = Some(detail);
    insert_audit(conn, audit, now).await?;
    Ok(revoked)
}
