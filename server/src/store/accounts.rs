//! Writes that span tables — users, sessions, refresh tokens, rate limits,
//! the audit log — each one transaction, so an action and its record
//! happen together or not at all. Every write here that ends sessions
//! returns [`Revoked`], which only the auth engine unwraps.

use latchkey_types::Role;
use uuid::Uuid;

use super::audit::{Event, NewAuditEvent, insert_audit};
use super::email_tokens::{EmailPurpose, NewEmailToken};
use super::outbox::NewMail;
use super::sessions::{NewSession, RevokeReason, insert_session, revoke_session_in, revoke_user_sessions_in};
use super::users::{NewUser, UserRecord, insert_user, lock_sign_in, lock_user};
use super::{Db, Revoked, StoreError};

/// Who a new session is for, as the engine established it before the
/// transaction.
pub enum Entrant<'a> {
    /// Registration: the user is created in the same transaction.
    New(NewUser<'a>),
    /// A sign-in whose password matched `password_hash`. Refused if, by the
    /// time the row is locked, the password changed or the user was
    /// disabled: argon2 takes milliseconds, and a login that overlapped a
    /// password change or a disable must not outlive it.
    Verified { user_id: Uuid, password_hash: &'a str },
    /// A password reset: the mailed token is used up, the new hash set, the
    /// address marked verified (the mail reached it), every other reset
    /// link and every session of the user ended — then the new session.
    /// Refused (nothing changes) for a used, expired or unknown token or a
    /// disabled account.
    Reset {
        token_hash: &'a str,
        new_password_hash: &'a str,
        /// The second factor, for an account that has one (its use is
        /// counted here, once).
        proof: Option<super::factors::FactorProof<'a>>,
    },
    /// The second step of a sign-in: the challenge a right password earned
    /// is used up, the factor's use counted, and the password must still
    /// be the one verified. Refused (nothing changes) if any of that fails.
    SecondFactor {
        challenge_hash: &'a str,
        proof: super::factors::FactorProof<'a>,
    },
    /// A username-less sign-in: the passkey's answer names the user; the
    /// ceremony is used up, the passkey's counter stored, and the account
    /// must be enabled. A passkey with user verification is both factors.
    Passkey {
        user_id: Uuid,
        used: super::passkeys::PasskeyUse<'a>,
    },
}

/// A new password hash for a user.
pub struct PasswordChange<'a> {
    pub user_id: Uuid,
    /// The hash the caller verified the current password against: the
    /// change is refused if the row no longer holds it.
    pub expected_hash: &'a str,
    pub new_hash: &'a str,
    /// The session that made the change, which stays signed in.
    pub keep: Option<Uuid>,
    /// The account's failed-attempt bucket, cleared by the success.
    pub clear_bucket: Option<&'a str>,
}

/// What an admin asked to change.
#[derive(Debug, Clone, Copy)]
pub struct UserChange {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

#[derive(Debug)]
pub enum UserChangeOutcome {
    Updated(UserRecord),
    NotFound,
    /// The change would leave no enabled admin.
    LastAdmin,
}

/// Adds `sessions_revoked: n` to an audit event's detail object.
fn with_count(mut audit: NewAuditEvent<'_>, revoked: usize) -> NewAuditEvent<'_> {
    let mut detail = match audit.detail.take() {
        Some(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    detail.insert("sessions_revoked".into(), revoked.into());
    audit.detail = Some(serde_json::Value::Object(detail));
    audit
}

impl Db {
    /// Starts a session: (creates the user,) inserts the session, evicts the
    /// user's oldest sessions past `max_live`, clears `clear_bucket` (the
    /// account's failed-login count) and records `audit` — or nothing.
    /// `None` when a verified entrant's account changed meanwhile. The user
    /// returned is the row as locked now: its role is the one to issue.
    pub async fn start_session(
        &self,
        entrant: Entrant<'_>,
        mut session: NewSession<'_>,
        max_live: u32,
        clear_bucket: Option<&str>,
        mut audit: NewAuditEvent<'_>,
    ) -> Result<Revoked<Option<UserRecord>>, StoreError> {
        let now = session.now;
        let mut tx = self.pool.begin().await?;
        let mut revoked = Vec::new();
        let user = match entrant {
            Entrant::New(new) => insert_user(&mut tx, new, now).await?,
            Entrant::Reset {
                token_hash,
                new_password_hash,
                proof,
            } => {
                let used = super::email_tokens::consume_in(&mut tx, token_hash, EmailPurpose::Reset, now).await?;
                let mut user = match used {
                    Some((user_id, _)) => lock_user(&mut tx, user_id).await?,
                    None => None,
                };
                if let Some(u) = &user {
                    let factor_ok = match proof {
                        Some(proof) => super::factors::use_factor_in(&mut tx, u.id, proof, now, &audit).await?,
                        // Without a code only for an account without a factor.
                        None => !super::factors::has_second_factor_in(&mut tx, u.id).await?,
                    };
                    if !factor_ok {
                        user = None;
                    }
                }
                let Some(user) = user.filter(|u| !u.is_disabled()) else {
                    tx.rollback().await?;
                    return Ok(Revoked::new(None, Vec::new(), now));
                };
                sqlx::query(
                    "UPDATE users SET password_hash = $1, email_verified_at = COALESCE(email_verified_at, $2), \
                     updated_at = $2 WHERE id = $3",
                )
                .bind(new_password_hash)
                .bind(now)
                .bind(user.id.to_string())
                .execute(&mut *tx)
                .await?;
                super::email_tokens::invalidate_in(&mut tx, user.id, EmailPurpose::Reset, now).await?;
                revoked = revoke_user_sessions_in(&mut tx, user.id, None, RevokeReason::PasswordChanged, now).await?;
                let reset = NewAuditEvent {
                    event: Event::PasswordReset,
                    actor_id: Some(user.id),
                    user_id: Some(user.id),
                    session_id: None,
                    detail: Some(serde_json::json!({ "sessions_revoked": revoked.len() })),
                    ..audit.clone()
                };
                insert_audit(&mut tx, reset, now).await?;
                UserRecord {
                    password_hash: new_password_hash.to_string(),
                    email_verified_at: user.email_verified_at.or(Some(now)),
                    ..user
                }
            }
            Entrant::SecondFactor { challenge_hash, proof } => {
                let challenge =
                    super::factors::consume_challenge_in(&mut tx, challenge_hash, session.kind, now).await?;
                let mut user = None;
                if let Some((user_id, password_hash)) = challenge
                    && super::factors::use_factor_in(&mut tx, user_id, proof, now, &audit).await?
                {
                    user = lock_user(&mut tx, user_id)
                        .await?
                        .filter(|u| u.password_hash == password_hash && !u.is_disabled());
                }
                let Some(user) = user else {
                    tx.rollback().await?;
                    return Ok(Revoked::new(None, Vec::new(), now));
                };
                user
            }
            Entrant::Passkey { user_id, used } => {
                let user = if super::passkeys::use_passkey_in(&mut tx, user_id, used, now).await? {
                    lock_user(&mut tx, user_id).await?.filter(|u| !u.is_disabled())
                } else {
                    None
                };
                let Some(user) = user else {
                    tx.rollback().await?;
                    return Ok(Revoked::new(None, Vec::new(), now));
                };
                user
            }
            Entrant::Verified { user_id, password_hash } => {
                // A second factor confirmed while the password was checked:
                // a password alone no longer starts a session.
                let user = lock_sign_in(&mut tx, user_id)
                    .await?
                    .filter(|(u, factors)| u.password_hash == password_hash && !u.is_disabled() && factors.is_none())
                    .map(|(u, _)| u);
                let Some(user) = user else {
                    tx.rollback().await?;
                    return Ok(Revoked::new(None, Vec::new(), now));
                };
                user
            }
        };
        session.user_id = user.id;
        let session_id = session.id;
        let evicted = insert_session(&mut tx, session, user.role, max_live).await?;
        if let Some(bucket) = clear_bucket {
            super::rate_limits::clear_in(&mut tx, bucket).await?;
        }
        audit.actor_id = Some(user.id);
        audit.user_id = Some(user.id);
        audit.session_id = Some(session_id);
        for evicted_id in &evicted {
            let eviction = NewAuditEvent {
                event: Event::SessionEvicted,
                session_id: Some(*evicted_id),
                detail: None,
                ..audit.clone()
            };
            insert_audit(&mut tx, eviction, now).await?;
        }
        insert_audit(&mut tx, audit, now).await?;
        tx.commit().await?;
        revoked.extend(evicted);
        Ok(Revoked::new(Some(user), revoked, now))
    }

    /// Creates a user with no session (the CLI) and records `audit` about it.
    pub async fn create_user(
        &self,
        new: NewUser<'_>,
        mut audit: NewAuditEvent<'_>,
        now: i64,
    ) -> Result<UserRecord, StoreError> {
        let mut tx = self.pool.begin().await?;
        let user = insert_user(&mut tx, new, now).await?;
        audit.user_id = Some(user.id);
        insert_audit(&mut tx, audit, now).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Replaces the password hash — only if it is still the one the caller
    /// verified — and revokes every other session of the user. `false`
    /// (nothing changed) when the password changed meanwhile.
    pub async fn change_password(
        &self,
        change: PasswordChange<'_>,
        now: i64,
        audit: NewAuditEvent<'_>,
    ) -> Result<Revoked<bool>, StoreError> {
        let PasswordChange {
            user_id,
            expected_hash,
            new_hash,
            keep,
            clear_bucket,
        } = change;
        let mut tx = self.pool.begin().await?;
        match lock_user(&mut tx, user_id).await? {
            Some(user) if user.password_hash == expected_hash && !user.is_disabled() => {}
            _ => {
                tx.rollback().await?;
                return Ok(Revoked::new(false, Vec::new(), now));
            }
        }
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(new_hash)
            .bind(now)
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?;
        let revoked = revoke_user_sessions_in(&mut tx, user_id, keep, RevokeReason::PasswordChanged, now).await?;
        super::email_tokens::invalidate_in(&mut tx, user_id, EmailPurpose::Reset, now).await?;
        if let Some(bucket) = clear_bucket {
            super::rate_limits::clear_in(&mut tx, bucket).await?;
        }
        insert_audit(&mut tx, with_count(audit, revoked.len()), now).await?;
        tx.commit().await?;
        Ok(Revoked::new(true, revoked, now))
    }

    /// Applies a role/disabled change. Demotion or disabling revokes every
    /// session of the user in the same transaction, so a role in an access
    /// token never outlives it; the last enabled admin can be neither
    /// demoted nor disabled.
    pub async fn change_user(
        &self,
        id: Uuid,
        change: UserChange,
        now: i64,
        audit: NewAuditEvent<'_>,
    ) -> Result<Revoked<UserChangeOutcome>, StoreError> {
        let nothing = |outcome| Ok(Revoked::new(outcome, Vec::new(), now));
        let mut tx = self.pool.begin().await?;
        // Write first: on SQLite this takes the write lock before anything is
        // read; on PostgreSQL it locks the admin rows being counted.
        sqlx::query("UPDATE users SET updated_at = updated_at WHERE role = 'admin' OR id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let Some(user) = lock_user(&mut tx, id).await? else {
            return nothing(UserChangeOutcome::NotFound);
        };
        let was_admin = user.role == Role::Admin && !user.is_disabled();
        let demoted = change.role == Some(Role::User) && user.role == Role::Admin;
        let disabling = change.disabled == Some(true) && !user.is_disabled();
        if was_admin && (demoted || disabling) {
            let enabled_admins: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL")
                    .fetch_one(&mut *tx)
                    .await?;
            if enabled_admins <= 1 {
                return nothing(UserChangeOutcome::LastAdmin);
            }
        }
        let role = change.role.unwrap_or(user.role);
        let disabled_at = match change.disabled {
            Some(true) => user.disabled_at.or(Some(now)),
            Some(false) => None,
            None => user.disabled_at,
        };
        sqlx::query("UPDATE users SET role = $1, disabled_at = $2, updated_at = $3 WHERE id = $4")
            .bind(role.as_str())
            .bind(disabled_at)
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let revoked = if demoted || disabling {
            revoke_user_sessions_in(&mut tx, id, None, RevokeReason::AccountChanged, now).await?
        } else {
            Vec::new()
        };
        insert_audit(&mut tx, with_count(audit, revoked.len()), now).await?;
        tx.commit().await?;
        let user = UserRecord {
            role,
            disabled_at,
            ..user
        };
        Ok(Revoked::new(UserChangeOutcome::Updated(user), revoked, now))
    }

    /// Revokes one session and, if it was live until now, records `audit`.
    pub async fn revoke_session(
        &self,
        id: Uuid,
        reason: RevokeReason,
        now: i64,
        audit: Option<NewAuditEvent<'_>>,
    ) -> Result<Revoked<bool>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let revoked = revoke_session_in(&mut tx, id, reason, now).await?;
        if let (true, Some(audit)) = (revoked, audit) {
            insert_audit(&mut tx, audit, now).await?;
        }
        tx.commit().await?;
        Ok(Revoked::new(revoked, if revoked { vec![id] } else { Vec::new() }, now))
    }

    /// Revokes every live session of a user except `keep` and records
    /// `audit` with their count.
    pub async fn revoke_user_sessions(
        &self,
        user_id: Uuid,
        keep: Option<Uuid>,
        reason: RevokeReason,
        now: i64,
        audit: NewAuditEvent<'_>,
    ) -> Result<Revoked<usize>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let revoked = revoke_user_sessions_in(&mut tx, user_id, keep, reason, now).await?;
        insert_audit(&mut tx, with_count(audit, revoked.len()), now).await?;
        tx.commit().await?;
        Ok(Revoked::new(revoked.len(), revoked, now))
    }
}

impl Db {
    /// Adds a signing key and retires every other unretired one, with its
    /// audit record: after it, exactly one key signs.
    pub async fn rotate_signing_key(
        &self,
        kid: &str,
        pem: &str,
        now: i64,
        audit: NewAuditEvent<'_>,
    ) -> Result<(), StoreError> {
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
        insert_audit(&mut tx, audit, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Db {
    /// Mails a single-use link: the token (older unused ones of its purpose
    /// end), the mails in the outbox (the link, and any notice) and
    /// `audit`, in one transaction.
    pub async fn mail_token(
        &self,
        token: NewEmailToken<'_>,
        mails: Vec<NewMail<'_>>,
        now: i64,
        audit: NewAuditEvent<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        super::email_tokens::insert_in(&mut tx, token, now).await?;
        for mail in mails {
            super::outbox::enqueue_in(&mut tx, mail, now).await?;
        }
        insert_audit(&mut tx, audit, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Uses a mailed confirmation token. A verification link verifies the
    /// user's address if it is still the one the link was sent to; an
    /// email-change link makes its address the user's, verified
    /// (`Conflict` if another account took it meanwhile: nothing changes).
    /// `None` for a used, expired or unknown token (nothing changes).
    pub async fn confirm_email(
        &self,
        token_hash: &str,
        now: i64,
        mut audit: NewAuditEvent<'_>,
    ) -> Result<Option<UserRecord>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let consumed = match super::email_tokens::consume_in(&mut tx, token_hash, EmailPurpose::Verify, now).await? {
            Some(found) => Some((EmailPurpose::Verify, found)),
            None => super::email_tokens::consume_in(&mut tx, token_hash, EmailPurpose::Change, now)
                .await?
                .map(|found| (EmailPurpose::Change, found)),
        };
        let Some((purpose, (user_id, email))) = consumed else {
            tx.rollback().await?;
            return Ok(None);
        };
        if purpose == EmailPurpose::Change {
            sqlx::query(
                "UPDATE users SET email = $1, email_key = $2, email_verified_at = $3, updated_at = $3 WHERE id = $4",
            )
            .bind(&email)
            .bind(email.to_lowercase())
            .bind(now)
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
            audit.event = Event::EmailChanged;
        } else {
            sqlx::query(
                "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1), updated_at = $1 \
                 WHERE id = $2 AND email_key = $3",
            )
            .bind(now)
            .bind(user_id.to_string())
            .bind(email.to_lowercase())
            .execute(&mut *tx)
            .await?;
        }
        let user = lock_user(&mut tx, user_id).await?;
        audit.actor_id = Some(user_id);
        audit.user_id = Some(user_id);
        insert_audit(&mut tx, audit, now).await?;
        tx.commit().await?;
        Ok(user)
    }
}

impl Db {
    /// Who a reset token would sign in, without using it (the new password
    /// is checked against their address before anything changes).
    pub async fn peek_reset_token(&self, token_hash: &str, now: i64) -> Result<Option<UserRecord>, StoreError> {
        let user_id: Option<String> = sqlx::query_scalar(
            "SELECT user_id FROM email_tokens WHERE token_hash = $1 AND purpose = 'reset' \
             AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        match user_id {
            Some(id) => self.find_user(super::parse_uuid(&id)?).await,
            None => Ok(None),
        }
    }
}
