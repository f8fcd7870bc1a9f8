//! Proving control of an address: verification links mailed on
//! registration (and on request), and their use. Links carry their token in
//! the fragment (`#token=…`), so it never reaches a server log or a
//! `Referer`; the token is 256 random bits, stored only as a hash, single
//! use, and the newest link of a purpose is the only one that works.

use secrecy::ExposeSecret;

use super::access::Principal;
use super::client::ClientInfo;
use super::engine::{Engine, event_by};
use super::error::{AuthError, AuthResult};
use crate::core::identity::Email;
use crate::core::secrets::{hash_token, random_token};
use crate::store::audit::Event;
use crate::store::email_tokens::{EmailPurpose, NewEmailToken};
use crate::store::outbox::NewMail;
use crate::store::users::UserRecord;

const HOUR_MS: i64 = 3_600_000;
/// Mails one mailbox may receive per hour: the server is no mail cannon.
const MAILS_PER_RECIPIENT_PER_HOUR: i64 = 5;

/// Where a single-use link goes and what it is for.
struct Link<'a> {
    user_id: uuid::Uuid,
    purpose: EmailPurpose,
    to: &'a Email,
    /// The app page the link opens.
    page: &'static str,
    ttl: std::time::Duration,
}

/// A mail's two bodies. Only what the reader needs: no name, no account
/// details beyond the address it was sent to.
struct Body {
    subject: &'static str,
    text: String,
    html: String,
}

fn verification_mail(link: &str) -> Body {
    Body {
        subject: "Confirm your email address",
        text: format!(
            "Confirm that this address is yours by opening this link:\n\n{link}\n\n\
             It works once, for a limited time. If you did not create an account, ignore this mail.\n"
        ),
        html: format!(
            "<!doctype html><html><body><p>Confirm that this address is yours:</p>\
             <p><a href=\"{link}\">Confirm my email address</a></p>\
             <p>It works once, for a limited time. If you did not create an account, ignore this mail.</p>\
             </body></html>"
        ),
    }
}

fn change_mail(link: &str) -> Body {
    Body {
        subject: "Confirm your new email address",
        text: format!(
            "Confirm that this address should become the one your account signs in with:\n\n{link}\n\n\
             It works once, for a limited time. If you did not ask for this, ignore this mail.\n"
        ),
        html: format!(
            "<!doctype html><html><body><p>Confirm that this address should become the one your account \
             signs in with:</p><p><a href=\"{link}\">Confirm my new email address</a></p><p>It works once, \
             for a limited time. If you did not ask for this, ignore this mail.</p></body></html>"
        ),
    }
}

/// To the old address: no link, nothing to click.
fn change_notice() -> Body {
    let text = "Someone signed in to your account asked to change its email address. The change happens \
                only if the new address confirms it. If it was not you, sign in and change your password \
                now: that signs everyone else out.";
    Body {
        subject: "Your account's email address is about to change",
        text: format!("{text}\n"),
        html: format!("<!doctype html><html><body><p>{text}</p></body></html>"),
    }
}

fn reset_mail(link: &str, minutes: u64) -> Body {
    Body {
        subject: "Reset your password",
        text: format!(
            "Someone asked to reset the password of the account with this address. To choose a new \
             password, open this link within {minutes} minutes:\n\n{link}\n\n\
             It works once, and signs you out everywhere else. If it was not you, ignore this mail: \
             your password stays as it is.\n"
        ),
        html: format!(
            "<!doctype html><html><body><p>Someone asked to reset the password of the account with \
             this address.</p><p><a href=\"{link}\">Choose a new password</a> (within {minutes} \
             minutes)</p><p>It works once, and signs you out everywhere else. If it was not you, \
             ignore this mail: your password stays as it is.</p></body></html>"
        ),
    }
}

impl Engine {
    /// Counts a mail against the client's address and the recipient; past
    /// either limit the mail is refused (and the caller decides whether
    /// to say so: forgot-password never does).
    async fn limit_mail(&self, client: &ClientInfo, recipient: &Email) -> AuthResult<()> {
        let now = self.now();
        for (bucket, limit) in [
            (
                format!("mail-from:{}", client.ip),
                i64::from(self.settings.rate_mail_per_hour),
            ),
            (format!("mail-to:{}", recipient.key()), MAILS_PER_RECIPIENT_PER_HOUR),
        ] {
            let hit = self.db.hit_rate_limit(&bucket, HOUR_MS, now).await?;
            if hit.count > limit {
                return Err(AuthError::RateLimited {
                    retry_after_secs: ((hit.resets_at - now + 999) / 1000).max(1) as u64,
                });
            }
        }
        Ok(())
    }

    /// Mails a single-use link to `to`: a fresh token for `purpose`, the
    /// body `compose` makes around the link (to a page of the app, the
    /// token in the fragment), any `notices` beside it, and `audit` — one
    /// transaction — then wakes the sender.
    async fn mail_link(
        &self,
        link: Link<'_>,
        compose: impl FnOnce(&str) -> Body,
        notices: &[(&Email, &Body)],
        audit: crate::store::audit::NewAuditEvent<'_>,
    ) -> AuthResult<()> {
        let token = random_token();
        let token_hash = hash_token(token.expose_secret());
        let body = compose(&format!(
            "{}/{}#token={}",
            self.settings.public_origin,
            link.page,
            token.expose_secret()
        ));
        let now = self.now();
        let mut mails = vec![NewMail {
            to: link.to.as_str(),
            subject: body.subject,
            text: &body.text,
            html: &body.html,
        }];
        mails.extend(notices.iter().map(|(to, notice)| NewMail {
            to: to.as_str(),
            subject: notice.subject,
            text: &notice.text,
            html: &notice.html,
        }));
        let token = NewEmailToken {
            token_hash: &token_hash,
            user_id: link.user_id,
            purpose: link.purpose,
            email: link.to.as_str(),
            expires_at: now + link.ttl.as_millis() as i64,
        };
        self.db.mail_token(token, mails, now, audit).await?;
        self.mailer.queued();
        Ok(())
    }

    /// Mails a verification link to the user's address (rate limited).
    pub(crate) async fn send_verification(&self, user: &UserRecord, client: &ClientInfo) -> AuthResult<()> {
        let email = user.stored_email()?;
        self.limit_mail(client, &email).await?;
        let ip = client.ip_string();
        let link = Link {
            user_id: user.id,
            purpose: EmailPurpose::Verify,
            to: &email,
            page: "verify-email",
            ttl: self.settings.verify_ttl,
        };
        let audit = event_by(client, &ip, Event::EmailVerificationSent, Some(user.id), None);
        self.mail_link(link, verification_mail, &[], audit).await?;
        Ok(())
    }

    /// After a registration: the first verification mail. A failure here
    /// (the mail limits, say) does not undo the account; the account page
    /// can ask again.
    pub(crate) async fn welcome(&self, user: &UserRecord, client: &ClientInfo) {
        if let Err(err) = self.send_verification(user, client).await {
            tracing::warn!(user = %user.id, error = %err, "verification mail not queued");
        }
    }

    /// The signed-in user asks for a new verification link; nothing is sent
    /// for an address that is verified already.
    pub async fn resend_verification(&self, auth: &Principal, client: &ClientInfo) -> AuthResult<()> {
        let user = self.current_user(auth).await?;
        if user.email_verified_at.is_some() {
            return Ok(());
        }
        self.send_verification(&user, client).await
    }

    /// Someone who cannot sign in yet (sign-in needs a verified address)
    /// asks for a new link by address. As with a forgotten password, the
    /// caller answers the same at once whatever this finds; a link goes
    /// only to an enabled account whose address is not verified yet.
    pub async fn resend_verification_to(&self, raw_email: &str, client: &ClientInfo) {
        let user = match Email::existing(raw_email) {
            Ok(email) => self.db.find_user_by_email(&email).await,
            Err(_) => Ok(None),
        };
        let sent = match user {
            Ok(Some(user)) if !user.is_disabled() && user.email_verified_at.is_none() => {
                self.send_verification(&user, client).await
            }
            Ok(_) => Ok(()),
            Err(err) => Err(err.into()),
        };
        if let Err(err) = sent {
            tracing::warn!(error = %err, "verification mail not queued");
        }
    }

    /// Uses a verification or email-change link. Refused alike when the
    /// token is unknown, used or expired; `EmailTaken` when the new address
    /// went to another account meanwhile.
    pub async fn verify_email(&self, token: &str, client: &ClientInfo) -> AuthResult<UserRecord> {
        let ip = client.ip_string();
        let audit = event_by(client, &ip, Event::EmailVerified, None, None);
        let user = match self.db.confirm_email(&hash_token(token), self.now(), audit).await {
            Err(crate::store::StoreError::Conflict) => return Err(AuthError::EmailTaken),
            other => other?,
        }
        .ok_or(AuthError::InvalidEmailToken)?;
        self.user_changed(user.id);
        Ok(user)
    }
}

impl Engine {
    /// `forgot password`: mails a reset link if the address belongs to an
    /// enabled account. The caller answers the same at once whatever this
    /// finds (run it in the background): the answer says nothing about who
    /// has an account, and takes no longer for one.
    pub async fn forgot_password(&self, raw_email: &str, client: &ClientInfo) {
        if let Err(err) = self.try_forgot_password(raw_email, client).await {
            tracing::warn!(error = %err, "password reset not mailed");
        }
    }

    async fn try_forgot_password(&self, raw_email: &str, client: &ClientInfo) -> AuthResult<()> {
        let ip = client.ip_string();
        let user = match Email::existing(raw_email) {
            Ok(email) => self.db.find_user_by_email(&email).await?,
            Err(_) => None,
        };
        let Some(user) = user.filter(|u| !u.is_disabled()) else {
            let mut event = event_by(client, &ip, Event::PasswordResetRequested, None, None);
            event.detail = Some(serde_json::json!({ "known": false }));
            self.audit(event).await;
            return Ok(());
        };
        let email = user.stored_email()?;
        if let Err(err) = self.limit_mail(client, &email).await {
            let mut event = event_by(client, &ip, Event::PasswordResetRefused, Some(user.id), None);
            event.detail = Some(serde_json::json!({ "reason": "mail_limit" }));
            self.audit(event).await;
            return Err(err);
        }
        let ttl = self.settings.reset_ttl;
        let link = Link {
            user_id: user.id,
            purpose: EmailPurpose::Reset,
            to: &email,
            page: "reset-password",
            ttl,
        };
        let audit = event_by(client, &ip, Event::PasswordResetRequested, Some(user.id), None);
        self.mail_link(link, |url| reset_mail(url, ttl.as_secs() / 60), &[], audit)
            .await?;
        Ok(())
    }

    /// Uses a reset link: the new password (same policy as registration)
    /// replaces the old, every session of the user ends (their access
    /// tokens die within a second, like any revocation), the address counts
    /// as verified, and this device is signed in with a session of `kind`.
    /// A mailbox is one factor: an account with a second one needs its
    /// code here too (422 on `code` without it), or whoever reads the mail
    /// would hold the account.
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: &str,
        code: Option<&str>,
        kind: crate::store::sessions::SessionKind,
        client: &ClientInfo,
    ) -> AuthResult<super::SignedIn> {
        self.limit_address(client, super::rate::AddressBudget::SignIn).await?;
        let token_hash = hash_token(token);
        let ip = client.ip_string();
        let Some(user) = self.db.peek_reset_token(&token_hash, self.now()).await? else {
            self.audit(event_by(client, &ip, Event::PasswordResetRefused, None, None))
                .await;
            return Err(AuthError::InvalidEmailToken);
        };
        let email = user.stored_email()?;
        let password = self
            .check_password(new_password, Some(&email))
            .await?
            .map_err(|problems| {
                AuthError::Validation(latchkey_types::FieldErrors::from([("password".to_string(), problems)]))
            })?;
        let proof = match self.check_factor(user.id, code).await? {
            super::factors::Checked::NotEnrolled => None,
            super::factors::Checked::Proof(proof) => Some(proof),
            super::factors::Checked::Wrong => {
                self.limit_account(&email, client, Some(user.id)).await?;
                if code.is_some() {
                    let mut event = event_by(client, &ip, Event::SecondFactorFailed, Some(user.id), None);
                    event.detail = Some(serde_json::json!({ "reason": "wrong_code", "via": "password_reset" }));
                    self.audit(event).await;
                }
                return Err(super::factors::code_needed());
            }
        };
        let hash = self.hasher.hash(&password).await?;
        let entrant = crate::store::accounts::Entrant::Reset {
            token_hash: &token_hash,
            new_password_hash: &hash,
            proof: proof.as_ref().map(super::factors::OwnedProof::as_proof),
        };
        let audit = super::sessions::StartAudit {
            event: Event::LoginSucceeded,
            detail: Some(serde_json::json!({ "via": "password_reset" })),
        };
        let signed_in = match self.start_session(entrant, kind, client, None, audit).await {
            // Used by a concurrent submit, expired meanwhile, or disabled.
            Err(AuthError::AccountChanged) => Err(AuthError::InvalidEmailToken),
            other => other,
        }?;
        self.user_changed(user.id);
        Ok(signed_in)
    }
}

impl Engine {
    /// Asks to change the account's address: the password again (counted
    /// like a sign-in attempt: a stolen access token is no way to take over
    /// the account's mail), then a link to the new address and a notice to
    /// the old one. The address changes only when the link is used.
    pub async fn request_email_change(
        &self,
        auth: &Principal,
        new_email: &str,
        password: &str,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        self.require_recent_auth(auth).await?;
        let user = self.current_user(auth).await?;
        let current = user.stored_email()?;
        let bucket = self.limit_account(&current, client, Some(user.id)).await?;
        let ip = client.ip_string();
        if !self.hasher.verify(password, Some(&user.password_hash)).await? {
            let mut event = event_by(
                client,
                &ip,
                Event::EmailChangeRefused,
                Some(user.id),
                Some(auth.session_id),
            );
            event.detail = Some(serde_json::json!({ "reason": "wrong_password" }));
            self.audit(event).await;
            return Err(AuthError::field("password", "is not your current password"));
        }
        self.db.clear_rate_limit(&bucket).await?;
        let new = Email::parse(new_email).map_err(|why| AuthError::field("new_email", why))?;
        if new.key() == current.key() {
            return Err(AuthError::field("new_email", "is your current address"));
        }
        if self.db.find_user_by_email(&new).await?.is_some() {
            return Err(AuthError::EmailTaken);
        }
        self.limit_mail(client, &new).await?;
        let link = Link {
            user_id: user.id,
            purpose: EmailPurpose::Change,
            to: &new,
            page: "verify-email",
            ttl: self.settings.verify_ttl,
        };
        let audit = event_by(
            client,
            &ip,
            Event::EmailChangeRequested,
            Some(user.id),
            Some(auth.session_id),
        );
        self.mail_link(link, change_mail, &[(&current, &change_notice())], audit)
            .await?;
        Ok(())
    }
}
