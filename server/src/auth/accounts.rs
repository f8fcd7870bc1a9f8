//! Account flows: registration, password sign-in, password change and the
//! administrator's role/status change. Each ends in the store's one
//! transaction for it; sessions start through `Engine::start_session`.

use latchkey_types::{FieldErrors, LoginRequest, RegisterRequest, Role};
use uuid::Uuid;

use super::access::Principal;
use super::client::ClientInfo;
use super::engine::{Engine, event_by};
use super::error::{AuthError, AuthResult};
use super::rate::AddressBudget;
use super::revocations::MAX_LAG_MS;
use super::sessions::{SignedIn, StartAudit};
use crate::core::clock::now_ms;
use crate::core::identity::{DisplayName, Email};
use crate::store::accounts::{Entrant, PasswordChange, UserChange, UserChangeOutcome};
use crate::store::audit::Event;
use crate::store::sessions::SessionKind;
use crate::store::users::{NewUser, UserRecord};

/// What a registration ends in.
pub enum Registered {
    /// The account and its first session.
    SignedIn(SignedIn),
    /// The account, with no session: this server signs in only verified
    /// addresses, and the verification link is on its way.
    Pending(UserRecord),
}

impl Engine {
    /// Rate limit, then every field checked (all problems reported at
    /// once), then the argon2 hash, then the account and its first session
    /// of `kind` in one transaction — or, when sign-in needs a verified
    /// address, the account alone.
    pub async fn register(
        &self,
        body: &RegisterRequest,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> AuthResult<Registered> {
        self.limit_address(client, AddressBudget::SignIn).await?;
        let mut fields = FieldErrors::new();
        let email = Email::parse(&body.email)
            .map_err(|e| fields.insert("email".into(), vec![e.into()]))
            .ok();
        let display_name = match body.display_name.as_deref().map(DisplayName::parse) {
            Some(Ok(name)) => name,
            Some(Err(e)) => {
                fields.insert("display_name".into(), vec![e.into()]);
                None
            }
            None => None,
        };
        let password = self
            .check_password(&body.password, email.as_ref())
            .await?
            .map_err(|problems| fields.insert("password".into(), problems))
            .ok();
        let (Some(email), Some(password), true) = (email, password, fields.is_empty()) else {
            return Err(AuthError::Validation(fields));
        };
        let password_hash = self.hasher.hash(&password).await?;
        let new = NewUser {
            email: &email,
            display_name: display_name.as_ref(),
            password_hash: &password_hash,
            // Never from the request: `role` in the body is ignored.
            role: Role::User,
            email_verified: false,
        };
        if self.settings.require_verified_email {
            let ip = client.ip_string();
            let audit = event_by(client, &ip, Event::UserRegistered, None, None);
            let user = match self.db.create_user(new, audit, self.now()).await {
                Err(crate::store::StoreError::Conflict) => return Err(AuthError::EmailTaken),
                other => other?,
            };
            self.welcome(&user, client).await;
            return Ok(Registered::Pending(user));
        }
        let audit = StartAudit {
            event: Event::UserRegistered,
            detail: None,
        };
        let signed_in = self.start_session(Entrant::New(new), kind, client, None, audit).await?;
        self.welcome(&signed_in.user, client).await;
        Ok(Registered::SignedIn(signed_in))
    }

    /// Password sign-in with a new session of `kind`. Rate limits first (so
    /// a locked-out account costs no argon2 work and says nothing about the
    /// password), then the same argon2 work whether or not the account
    /// exists, then the session — which the store refuses if the password
    /// or the account's status changed while argon2 ran. Where sign-in needs
    /// a verified address, an unverified one is refused only after the
    /// password matched (so the refusal tells nothing to whoever lacks it).
    pub async fn sign_in(&self, body: &LoginRequest, kind: SessionKind, client: &ClientInfo) -> AuthResult<SignedIn> {
        self.limit_address(client, AddressBudget::SignIn).await?;
        let Ok(email) = Email::existing(&body.email) else {
            return Err(AuthError::InvalidCredentials);
        };
        let (user, factors) = self.db.find_sign_in(&email).await?.unzip();
        let bucket = self.limit_account(&email, client, user.as_ref().map(|u| u.id)).await?;
        let matched = self
            .hasher
            .verify(&body.password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await?;
        let unverified = |u: &UserRecord| self.settings.require_verified_email && u.email_verified_at.is_none();
        let user = match user {
            Some(user) if matched && !user.is_disabled() && !unverified(&user) => user,
            user => {
                let (reason, refusal) = match &user {
                    None => ("unknown_email", AuthError::InvalidCredentials),
                    Some(u) if u.is_disabled() && matched => ("account_disabled", AuthError::InvalidCredentials),
                    Some(u) if matched && unverified(u) => ("email_unverified", AuthError::EmailUnverified),
                    Some(_) => ("wrong_password", AuthError::InvalidCredentials),
                };
                let ip = client.ip_string();
                let mut event = event_by(client, &ip, Event::LoginFailed, user.as_ref().map(|u| u.id), None);
                event.detail = Some(serde_json::json!({ "reason": reason }));
                self.audit(event).await;
                return Err(refusal);
            }
        };
        // With a second factor, the sign-in stops at a challenge.
        let methods = factors.unwrap_or_default().methods();
        self.challenge_if_enrolled(&user, methods, kind, client).await?;
        let entrant = Entrant::Verified {
            user_id: user.id,
            password_hash: &user.password_hash,
        };
        let audit = StartAudit {
            event: Event::LoginSucceeded,
            detail: super::sessions::mode_detail(kind),
        };
        match self.start_session(entrant, kind, client, Some(&bucket), audit).await {
            // The password that matched is no longer the account's, or the
            // account was disabled meanwhile: as if it had not matched.
            Err(AuthError::AccountChanged) => Err(AuthError::InvalidCredentials),
            other => other,
        }
    }

    /// The signed-in user as stored; a valid credential for a user that no
    /// longer exists is no credential.
    pub async fn current_user(&self, auth: &Principal) -> AuthResult<UserRecord> {
        self.db.find_user(auth.user_id).await?.ok_or(AuthError::InvalidToken)
    }

    /// The caller's public profile as JSON (`GET /api/me`): the cached read
    /// while the revocation feed is current and has seen no change of it
    /// since, else a fresh one.
    pub async fn profile_json(&self, auth: &Principal) -> AuthResult<bytes::Bytes> {
        let now = self.now();
        if let Some(read) = self.users.get(auth.user_id, now) {
            let current = self
                .revocations
                .profile_is_current(&auth.user_id, read.read_at, now_ms(), MAX_LAG_MS);
            if current == Some(true) {
                return Ok(read.json);
            }
        }
        // Taken before the read: a change the feed sees from now on may be
        // one this read missed.
        let read_at = now_ms();
        let user = self.current_user(auth).await?.to_api();
        Ok(self.users.insert(&user, read_at, now))
    }

    /// Needs the current password (rate-limited like a sign-in: a stolen
    /// access token must not become a password-guessing oracle); revokes
    /// every other session in the same transaction as the new hash. A
    /// cookie session gets a new id: whoever copied the old cookie holds
    /// nothing now (the new id is returned for the cookie).
    pub async fn change_password(
        &self,
        auth: &Principal,
        current_password: &str,
        new_password: &str,
        client: &ClientInfo,
    ) -> AuthResult<Option<secrecy::SecretString>> {
        self.require_recent_auth(auth).await?;
        let user = self.current_user(auth).await?;
        let email = Email::existing(&user.email)
            .map_err(|why| crate::store::StoreError::Corrupt(format!("stored email of {} {why}", user.id)))?;
        let bucket = self.limit_account(&email, client, Some(user.id)).await?;
        let ip = client.ip_string();
        if !self.hasher.verify(current_password, Some(&user.password_hash)).await? {
            let event = event_by(
                client,
                &ip,
                Event::PasswordChangeFailed,
                Some(user.id),
                Some(auth.session_id),
            );
            self.audit(event).await;
            return Err(AuthError::field("current_password", "is not your current password"));
        }
        let new_password = self
            .check_password(new_password, Some(&email))
            .await?
            .map_err(|problems| AuthError::Validation(FieldErrors::from([("new_password".to_string(), problems)])))?;
        let hash = self.hasher.hash(&new_password).await?;
        let audit = event_by(
            client,
            &ip,
            Event::PasswordChanged,
            Some(user.id),
            Some(auth.session_id),
        );
        let changed = self
            .db
            .change_password(
                PasswordChange {
                    user_id: user.id,
                    expected_hash: &user.password_hash,
                    new_hash: &hash,
                    keep: Some(auth.session_id),
                    clear_bucket: Some(&bucket),
                },
                self.now(),
                audit,
            )
            .await?;
        if !self.publish(changed) {
            return Err(AuthError::AccountChanged);
        }
        self.rekey_if_cookie(auth).await
    }

    /// Sets or clears the display name.
    pub async fn set_display_name(&self, auth: &Principal, name: Option<&DisplayName>) -> AuthResult<UserRecord> {
        self.db.set_display_name(auth.user_id, name, self.now()).await?;
        self.user_changed(auth.user_id);
        self.current_user(auth).await
    }

    /// An administrator changes a user's role or status. Demoting or
    /// disabling ends every session of the user at once.
    pub async fn change_user(
        &self,
        admin: &Principal,
        id: Uuid,
        change: UserChange,
        client: &ClientInfo,
    ) -> AuthResult<UserRecord> {
        // Granting or taking a role is a sensitive act: the administrator
        // proves it is them, recently.
        if change.role.is_some() {
            self.require_recent_auth(admin).await?;
        }
        let ip = client.ip_string();
        let mut audit = event_by(client, &ip, Event::AdminUserUpdated, Some(admin.user_id), None);
        audit.user_id = Some(id);
        audit.detail = Some(serde_json::json!({
            "role": change.role.map(Role::as_str),
            "disabled": change.disabled,
        }));
        let outcome = self.db.change_user(id, change, self.now(), audit).await?;
        self.user_changed(id);
        match self.publish(outcome) {
            UserChangeOutcome::Updated(user) => Ok(user),
            UserChangeOutcome::NotFound => Err(AuthError::NotFound("No such user.")),
            UserChangeOutcome::LastAdmin => Err(AuthError::LastAdmin),
        }
    }
}
