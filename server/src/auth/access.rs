//! Checking a credential on a request: a Bearer access token (verified,
//! then its session checked as `LATCHKEY_ACCESS_CHECK` says) or a session
//! cookie (its row read, live, its user enabled). The HTTP edge extracts
//! the raw credential and asks here; `Principal` is the answer.

use std::sync::Arc;

use latchkey_types::{AccessCheck, AdminAuth, ApiKeyScope, Role};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::caches::{SessionRead, VerifiedClaims};
use super::engine::Engine;
use super::error::{AuthError, AuthResult};
use super::revocations::MAX_LAG_MS;
use super::touches::Touch;
use crate::core::clock::now_ms;
use crate::core::secrets::{constant_time_eq, hash_token, open_sealed, random_token, seal_under, to_hex, token_digest};
use crate::store::sessions::SessionWithUser;

/// Who a request is, once its credential checked out.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: Uuid,
    /// The session the credential belongs to; the nil id for an API key,
    /// which belongs to none (`session()` says so).
    pub session_id: Uuid,
    pub role: Role,
    pub credential: Credential,
}

/// What the request authenticated with.
#[derive(Debug, Clone)]
pub enum Credential {
    Bearer,
    /// The session cookie's value and the row it named.
    SessionCookie(SecretString, Arc<SessionWithUser>),
    /// A personal API key (`auth::api_keys`).
    ApiKey {
        key_id: Uuid,
        scope: ApiKeyScope,
    },
}

impl Engine {
    /// Verifies an access token, then checks its session as
    /// `LATCHKEY_ACCESS_CHECK` says.
    pub async fn authenticate_bearer(&self, token: &str) -> AuthResult<Principal> {
        let now = self.now();
        let cached = self.verified.as_ref().and_then(|cache| cache.get(token, now / 1000));
        let claims = match cached {
            Some(claims) => claims,
            None => {
                let claims = self.tokens.current().verify(token, now / 1000).map_err(|err| {
                    tracing::debug!(%err, "access token refused");
                    AuthError::InvalidToken
                })?;
                if let Some(cache) = &self.verified {
                    cache.insert(token, &claims);
                }
                VerifiedClaims::from(&claims)
            }
        };
        match self.settings.access_check {
            AccessCheck::Stateless => {}
            // The feed's freshness is about real elapsed time, not the
            // session clock.
            AccessCheck::RevocationCache => match self.revocations.check(&claims.sid, now_ms(), MAX_LAG_MS) {
                Some(false) => {}
                Some(true) => return Err(AuthError::InvalidToken),
                None => {
                    tracing::warn!("revocation set is stale; refusing Bearer tokens until it catches up");
                    return Err(AuthError::Unavailable { retry_after_secs: 1 });
                }
            },
            // Classic semantics: the row decides, and so does the user as
            // stored now — a token whose role the user no longer has is
            // refused, not honoured until it expires. The row as read
            // lately, while the feed stands behind it, as for a cookie.
            AccessCheck::SessionLookup => {
                let found = self.token_session(claims.sid, now).await?;
                let live = found.is_some_and(|s| {
                    s.is_live(now)
                        && s.session.user_id == claims.sub
                        && s.session.kind.uses_refresh_tokens()
                        && s.role == claims.role
                });
                if !live {
                    return Err(AuthError::InvalidToken);
                }
            }
        }
        Ok(Principal {
            user_id: claims.sub,
            session_id: claims.sid,
            role: claims.role,
            credential: Credential::Bearer,
        })
    }

    /// The session a Bearer token names, under `session-lookup`: a read
    /// kept by id while the revocation feed stands behind it (see
    /// `still_current`), otherwise the row, kept for the next request if
    /// live. `None` if there is no such session.
    async fn token_session(&self, id: Uuid, now: i64) -> AuthResult<Option<Arc<SessionWithUser>>> {
        if let Some(read) = self.sessions.by_id(&id, now).filter(|read| self.still_current(read)) {
            return Ok(Some(read.found));
        }
        // Taken before the read, as for a cookie.
        let read_at = now_ms();
        let Some(found) = self.db.find_session_with_user(id).await? else {
            return Ok(None);
        };
        let found = Arc::new(found);
        if found.is_live(now) {
            self.sessions.keep_by_id(found.clone(), read_at, now);
        }
        Ok(Some(found))
    }

    /// The live cookie session `secret` names, with its user enabled;
    /// `InvalidToken` for a forged, expired or revoked id, a disabled user,
    /// or a JWT session's secret. Slides the idle expiry when due.
    pub async fn authenticate_session_cookie(&self, secret: SecretString) -> AuthResult<Principal> {
        let now = self.now();
        let secret_digest = token_digest(secret.expose_secret());
        let (found, read_at) = match self
            .sessions
            .cookie(&secret_digest, now)
            .filter(|read| self.still_current(read))
        {
            Some(read) => (read.found, read.read_at),
            None => {
                // Taken before the read: a change the feed sees from now on
                // may be one this read missed.
                let read_at = now_ms();
                let mut found = self
                    .db
                    .find_cookie_session(&to_hex(&secret_digest))
                    .await?
                    .ok_or(AuthError::InvalidToken)?;
                // A renewal this server has not written yet still counts.
                self.touches.merge_into(&mut found.session);
                if !found.is_live(now) {
                    return Err(AuthError::InvalidToken);
                }
                let found = Arc::new(found);
                self.sessions.keep_cookie(&secret_digest, found.clone(), read_at, now);
                (found, read_at)
            }
        };
        let found = self.touch_if_due(&secret_digest, found, read_at);
        Ok(Principal {
            user_id: found.session.user_id,
            session_id: found.session.id,
            role: effective_role(&found),
            credential: Credential::SessionCookie(secret, found),
        })
    }

    /// Sliding renewal: pushes the idle end forward, at most once per tenth
    /// of the idle lifetime (and at least once a minute), written in the
    /// background (`touches`): a request never waits on it.
    fn touch_if_due(
        &self,
        secret_digest: &[u8; 32],
        found: Arc<SessionWithUser>,
        read_at: i64,
    ) -> Arc<SessionWithUser> {
        let now = self.now();
        let idle_ms = self.settings.refresh_idle.as_millis() as i64;
        if now - found.session.last_seen_at < (idle_ms / 10).clamp(1, 60_000) {
            return found;
        }
        let idle_expires_at = (now + idle_ms).min(found.session.expires_at);
        let touch = Touch {
            last_seen_at: now,
            idle_expires_at,
        };
        self.touches.defer(found.session.id, touch);
        // The cached read learns the write, so the next request does not
        // write again (it is still the read it was: the feed judges it by
        // when that began).
        let mut touched = SessionWithUser::clone(&found);
        touched.session.last_seen_at = now;
        touched.session.idle_expires_at = idle_expires_at;
        let touched = Arc::new(touched);
        self.sessions.keep_cookie(secret_digest, touched.clone(), read_at, now);
        touched
    }

    /// A cached session read may answer only while the revocation feed is
    /// current and names neither the session's revocation nor a change of
    /// it since the read began; otherwise the database decides.
    fn still_current(&self, read: &SessionRead) -> bool {
        self.revocations
            .read_is_current(&read.found.session.id, read.read_at, now_ms(), MAX_LAG_MS)
            == Some(true)
    }

    /// Gives the caller's cookie session a new id (after a privilege change
    /// such as a new password); the old cookie stops working at once, the
    /// CSRF token stays. `None` for a Bearer caller, or if the session
    /// ended meanwhile.
    pub(crate) async fn rekey_if_cookie(&self, auth: &Principal) -> AuthResult<Option<SecretString>> {
        let Credential::SessionCookie(secret, found) = &auth.credential else {
            return Ok(None);
        };
        let Some(csrf) = reveal_csrf(secret, found) else {
            return Ok(None);
        };
        let new_secret = random_token();
        let sealed = seal_under(new_secret.expose_secret(), csrf.expose_secret());
        let rekeyed = self
            .db
            .rekey_cookie_session(
                found.session.id,
                &hash_token(new_secret.expose_secret()),
                &sealed,
                found.role,
                self.now(),
            )
            .await?;
        // The old secret stops working at once here too.
        self.sessions.forget_cookie(&token_digest(secret.expose_secret()));
        Ok(rekeyed.then_some(new_secret))
    }

    /// Whether an administrator's request may enter the admin area, as
    /// `LATCHKEY_ADMIN_AUTH` says: with `session`, only with a session cookie
    /// (403 for a Bearer token, which keeps working everywhere else), and
    /// only while the area's own idle timeout (`LATCHKEY_ADMIN_IDLE_SECS`)
    /// has not run out since its last request there or the session's last
    /// full authentication (401 `reauth_required`: authenticate again, then
    /// enter). Each admitted request restarts the idle clock.
    pub async fn admit_to_admin_area(&self, auth: &Principal) -> AuthResult<()> {
        if self.settings.admin_auth == AdminAuth::Same {
            return Ok(());
        }
        if !matches!(auth.credential, Credential::SessionCookie(..)) {
            return Err(AuthError::Forbidden(
                "The admin area takes a session cookie on this server: enter it by signing in at /api/session/login.",
            ));
        }
        let now = self.now();
        let since = now - self.settings.admin_idle.as_millis() as i64;
        if self.db.touch_admin_area(auth.session_id, now, since).await? {
            Ok(())
        } else {
            Err(AuthError::ReauthRequired)
        }
    }

    /// Seconds the session cookie of `auth` should still live.
    pub fn cookie_remaining_secs(&self, auth: &Principal) -> i64 {
        match &auth.credential {
            Credential::SessionCookie(_, found) => (found.session.expires_at - self.now()) / 1000,
            Credential::Bearer | Credential::ApiKey { .. } => 0,
        }
    }
}

/// A cookie session acts with at most the role its id was issued under: a
/// promotion takes effect under a new id (`Principal::awaits_rekey`), so an
/// id someone fixated or copied before it never carries the new privilege.
/// A demotion takes effect at once (it also ends the sessions).
fn effective_role(found: &SessionWithUser) -> Role {
    match (found.session.keyed_role, found.role) {
        (Some(Role::User), Role::Admin) => Role::User,
        (_, current) => current,
    }
}

impl Principal {
    /// The session this request belongs to: none for an API key.
    pub fn session(&self) -> Option<Uuid> {
        (!matches!(self.credential, Credential::ApiKey { .. })).then_some(self.session_id)
    }

    /// A cookie session whose user's role was raised since its id was
    /// issued: it needs a new id before it acts with that role.
    pub fn awaits_rekey(&self) -> bool {
        matches!(&self.credential, Credential::SessionCookie(_, found) if found.role != self.role)
    }
}

/// Whether `presented` is the session's CSRF token (compared as hashes, in
/// constant time).
pub fn csrf_matches(found: &SessionWithUser, presented: &str) -> bool {
    let Some(expected) = found.session.csrf_hash.as_deref() else {
        return false;
    };
    !presented.is_empty() && constant_time_eq(hash_token(presented).as_bytes(), expected.as_bytes())
}

/// The CSRF token of the session `secret` names, for a page that reloaded:
/// sealed under the session id, so only whoever holds the cookie can
/// read it back.
pub fn reveal_csrf(secret: &SecretString, found: &SessionWithUser) -> Option<SecretString> {
    open_sealed(secret.expose_secret(), found.session.sealed_successor.as_deref()?)
}
