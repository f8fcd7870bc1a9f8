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

    /// A link to a page of the app, with the token in the fragment.
    fn link(&self, page: &str, token: &str) -> String {
        format!("{}/{page}#token={token}", self.settings.public_origin)
    }

    /// Mails a verification link to the user's address (rate limited).
    pub(crate) async fn send_verification(&self, user: &UserRecord, client: &ClientInfo) -> AuthResult<()> {
        let email = Email::existing(&user.email)
            .map_err(|why| crate::store::StoreError::Corrupt(format!("stored email of {} {why}", user.id)))?;
        self.limit_mail(client, &email).await?;
        let token = random_token();
        let token_hash = hash_token(token.expose_secret());
        let body = verification_mail(&self.link("verify-email", token.expose_secret()));
        let now = self.now();
        let ip = client.ip_string();
        self.db
            .mail_token(
                NewEmailToken {
                    token_hash: &token_hash,
                    user_id: user.id,
                    purpose: EmailPurpose::Verify,
                    email: email.as_str(),
                    expires_at: now + self.settings.verify_ttl.as_millis() as i64,
                },
                NewMail {
                    to: email.as_str(),
                    subject: body.subject,
                    text: &body.text,
                    html: &body.html,
                },
                now,
                event_by(client, &ip, Event::EmailVerificationSent, Some(user.id), None),
            )
            .await?;
        self.mailer.queued();
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

    /// Uses a verification link. Refused alike when the token is unknown,
    /// used or expired.
    pub async fn verify_email(&self, token: &str, client: &ClientInfo) -> AuthResult<UserRecord> {
        let ip = client.ip_string();
        let audit = event_by(client, &ip, Event::EmailVerified, None, None);
        let user = self
            .db
            .verify_email(&hash_token(token), self.now(), audit)
            .await?
            .ok_or(AuthError::InvalidEmailToken)?;
        self.users.forget(user.id);
        Ok(user)
    }
}
