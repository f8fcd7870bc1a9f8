//! Sessions of both kinds through one core: every sign-in (password,
//! registration, and the flows still to come) calls [`Engine::start_session`],
//! and only what the client is handed differs by kind — an access token and
//! a refresh token (JWT mode) or a session id and a CSRF token (session
//! mode). Refresh, sign-out and revocation live here too; the rotation
//! rules themselves are `core::refresh`.

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::access::Principal;
use super::client::ClientInfo;
use super::engine::{Engine, event_by};
use super::error::{AuthError, AuthResult};
use crate::core::refresh::{RefreshDecision, SessionState, decide};
use crate::core::secrets::{hash_token, open_sealed, random_token, seal_under};
use crate::store::accounts::Entrant;
use crate::store::audit::Event;
use crate::store::sessions::{NewSession, RevokeReason, Rotation, SessionKind, SessionRecord, SwapOutcome};
use crate::store::users::UserRecord;

/// What a new or renewed session hands the client.
pub enum Issued {
    /// JWT mode: an access token for memory, a refresh token for the
    /// HttpOnly cookie — or, for a native client, for the response body.
    Tokens {
        access_token: String,
        expires_in: u64,
        refresh_token: SecretString,
        /// The refresh token goes in the body, not a cookie.
        native: bool,
        /// Seconds the refresh cookie should live: until the session's idle
        /// or absolute end, whichever is first.
        refresh_max_age: i64,
    },
    /// Session mode: the session id for the cookie (never stored) and the
    /// session's CSRF token.
    Cookie {
        secret: SecretString,
        csrf_token: SecretString,
        /// Seconds until the session's absolute end.
        max_age: i64,
    },
}

/// A signed-in user and what their client holds now.
pub struct SignedIn {
    pub user: UserRecord,
    pub session_id: Uuid,
    pub issued: Issued,
}

/// A sign-in's audit record: the event and what else to say about it.
pub(crate) struct StartAudit {
    pub event: Event,
    pub detail: Option<serde_json::Value>,
}

/// Fresh secrets for a new session and the hashes that are all the row keeps.
struct Minted {
    secret: SecretString,
    secret_hash: String,
    /// Cookie sessions: the CSRF token, its hash, and it sealed under the id.
    csrf: Option<(SecretString, String, String)>,
}

impl Minted {
    fn new(kind: SessionKind) -> Self {
        let secret = random_token();
        let csrf = (kind == SessionKind::Cookie).then(|| {
            let token = random_token();
            let hash = hash_token(token.expose_secret());
            let sealed = seal_under(secret.expose_secret(), token.expose_secret());
            (token, hash, sealed)
        });
        Minted {
            secret_hash: hash_token(secret.expose_secret()),
            secret,
            csrf,
        }
    }
}

/// A sign-in's mode as the audit log names it.
pub(crate) fn mode_name(kind: SessionKind) -> &'static str {
    match kind {
        SessionKind::Jwt => "jwt",
        SessionKind::Cookie => "session",
        SessionKind::Native => "native",
    }
}

/// A password sign-in's audit detail: the mode, where it is not the
/// default JWT browser sign-in.
pub(crate) fn mode_detail(kind: SessionKind) -> Option<serde_json::Value> {
    (kind != SessionKind::Jwt).then(|| serde_json::json!({ "mode": mode_name(kind) }))
}

fn seconds_until(now: i64, end: i64) -> i64 {
    (end - now) / 1000
}

impl Engine {
    /// Signs `entrant` in with a new session of `kind`, in one transaction
    /// with its audit record and the clearing of `clear_bucket`. The token's
    /// role comes from the user row as locked in that transaction.
    pub(crate) async fn start_session(
        &self,
        entrant: Entrant<'_>,
        kind: SessionKind,
        client: &ClientInfo,
        clear_bucket: Option<&str>,
        audit: StartAudit,
    ) -> AuthResult<SignedIn> {
        let now = self.now();
        let minted = Minted::new(kind);
        let ip = client.ip_string();
        let idle_expires_at = now + self.settings.refresh_idle.as_millis() as i64;
        let expires_at = now + self.settings.session_max.as_millis() as i64;
        let session = NewSession {
            id: Uuid::now_v7(),
            // Set from the user row inside the transaction.
            user_id: Uuid::nil(),
            kind,
            secret_hash: &minted.secret_hash,
            csrf_hash: minted.csrf.as_ref().map(|(_, hash, _)| hash.as_str()),
            sealed_csrf: minted.csrf.as_ref().map(|(_, _, sealed)| sealed.as_str()),
            now,
            idle_expires_at,
            expires_at,
            user_agent: client.user_agent.as_deref(),
            ip: Some(&ip),
        };
        let session_id = session.id;
        let mut record = event_by(client, &ip, audit.event, None, None);
        record.detail = audit.detail;
        let started = self
            .db
            .start_session(entrant, session, self.settings.max_sessions, clear_bucket, record)
            .await;
        let user = match started {
            Ok(revoked) => self.publish(revoked).ok_or(AuthError::AccountChanged)?,
            Err(crate::store::StoreError::Conflict) => return Err(AuthError::EmailTaken),
            Err(err) => return Err(err.into()),
        };
        let issued = match minted.csrf {
            None => {
                let (access_token, expires_in) = self.issue_access(&user, session_id, now);
                Issued::Tokens {
                    access_token,
                    expires_in,
                    refresh_token: minted.secret,
                    native: kind == SessionKind::Native,
                    refresh_max_age: seconds_until(now, idle_expires_at.min(expires_at)),
                }
            }
            Some((csrf_token, _, _)) => Issued::Cookie {
                secret: minted.secret,
                csrf_token,
                max_age: seconds_until(now, expires_at),
            },
        };
        Ok(SignedIn {
            user,
            session_id,
            issued,
        })
    }

    fn issue_access(&self, user: &UserRecord, session_id: Uuid, now: i64) -> (String, u64) {
        let (token, claims) = self.tokens.current().issue(user.id, session_id, user.role, now / 1000);
        (token, (claims.exp - claims.iat).max(0) as u64)
    }

    /// Rotates a refresh token (or, for a racing tab or a retry after a lost
    /// response, hands out the successor it already got), per
    /// `core::refresh`. A detected reuse revokes the whole session before
    /// answering. The token is issued from the user as stored now.
    ///
    /// `kind` is how the token came: from the browser's cookie (`Jwt`) or a
    /// native client's request body (`Native`). A token is accepted only the
    /// way its session was started, so a native token planted in a cookie,
    /// or a cookie's token replayed from a script's body, renews nothing.
    pub async fn refresh(
        &self,
        presented: &SecretString,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> AuthResult<SignedIn> {
        let presented_hash = hash_token(presented.expose_secret());
        let mut session = self
            .db
            .find_session_by_refresh_hash(&presented_hash)
            .await?
            .filter(|s| s.kind == kind && kind.uses_refresh_tokens())
            .ok_or(AuthError::InvalidRefreshToken)?;
        let user = self
            .db
            .find_user(session.user_id)
            .await?
            .ok_or(AuthError::InvalidRefreshToken)?;
        let ip = client.ip_string();
        // Losing the swap to a concurrent refresh means the session row moved
        // on; read it again and decide again (at most a couple of times).
        for _ in 0..3 {
            let now = self.now();
            if user.is_disabled() {
                let event = event_by(
                    client,
                    &ip,
                    Event::RefreshRefusedDisabled,
                    Some(user.id),
                    Some(session.id),
                );
                self.revoke(session.id, RevokeReason::AccountChanged, Some(event))
                    .await?;
                return Err(AuthError::InvalidRefreshToken);
            }
            match self.classify(&session, &presented_hash, now) {
                RefreshDecision::Rotate => {
                    let successor = random_token();
                    let successor_hash = hash_token(successor.expose_secret());
                    let sealed = seal_under(presented.expose_secret(), successor.expose_secret());
                    let idle_expires_at = (now + self.settings.refresh_idle.as_millis() as i64).min(session.expires_at);
                    let outcome = self
                        .db
                        .rotate_refresh_token(Rotation {
                            session_id: session.id,
                            presented_hash: &presented_hash,
                            successor_hash: &successor_hash,
                            sealed_successor: &sealed,
                            generation: session.generation,
                            now,
                            idle_expires_at,
                        })
                        .await?;
                    if outcome == SwapOutcome::Rotated {
                        return Ok(self.renewed(user, &session, successor, now, idle_expires_at));
                    }
                }
                RefreshDecision::ReturnSuccessor => {
                    let successor = session
                        .sealed_successor
                        .as_deref()
                        .and_then(|sealed| open_sealed(presented.expose_secret(), sealed))
                        .ok_or(AuthError::InvalidRefreshToken)?;
                    let idle_expires_at = session.idle_expires_at;
                    return Ok(self.renewed(user, &session, successor, now, idle_expires_at));
                }
                RefreshDecision::Reuse => {
                    let event = event_by(
                        client,
                        &ip,
                        Event::RefreshReuseDetected,
                        Some(user.id),
                        Some(session.id),
                    );
                    if self.revoke(session.id, RevokeReason::RefreshReuse, Some(event)).await? {
                        tracing::warn!(session = %session.id, "refresh token reuse: session revoked");
                    }
                    return Err(AuthError::InvalidRefreshToken);
                }
                RefreshDecision::Ended => return Err(AuthError::InvalidRefreshToken),
            }
            session = self
                .db
                .find_session(session.id)
                .await?
                .ok_or(AuthError::InvalidRefreshToken)?;
        }
        Err(AuthError::Unavailable { retry_after_secs: 1 })
    }

    fn renewed(
        &self,
        user: UserRecord,
        session: &SessionRecord,
        refresh_token: SecretString,
        now: i64,
        idle_expires_at: i64,
    ) -> SignedIn {
        let (access_token, expires_in) = self.issue_access(&user, session.id, now);
        SignedIn {
            user,
            session_id: session.id,
            issued: Issued::Tokens {
                access_token,
                expires_in,
                refresh_token,
                native: session.kind == SessionKind::Native,
                refresh_max_age: seconds_until(now, idle_expires_at.min(session.expires_at)),
            },
        }
    }

    /// What presenting `presented_hash` for this session means now.
    fn classify(&self, session: &SessionRecord, presented_hash: &str, now: i64) -> RefreshDecision {
        let state = SessionState {
            live_hash: &session.secret_hash,
            parent_hash: session.parent_hash.as_deref(),
            rotated_at: session.rotated_at,
            revoked: session.revoked_at.is_some(),
            idle_expires_at: session.idle_expires_at,
            expires_at: session.expires_at,
        };
        decide(
            &state,
            presented_hash,
            now,
            self.settings.refresh_grace.as_millis() as i64,
        )
    }

    /// Ends one session and records `audit` if it was live until now; true
    /// if it was.
    pub(crate) async fn revoke(
        &self,
        session_id: Uuid,
        reason: RevokeReason,
        audit: Option<crate::store::audit::NewAuditEvent<'_>>,
    ) -> AuthResult<bool> {
        let revoked = self.db.revoke_session(session_id, reason, self.now(), audit).await?;
        Ok(self.publish(revoked))
    }

    /// JWT sign-out: ends the session the refresh token names (from the
    /// cookie, or a native client's body: `kind` says which, and it must be
    /// the session's) or, failing that, the Bearer token's. A rotated-away
    /// refresh token ending its session is still reuse — someone other than
    /// the client holds it — and the audit log says so.
    pub async fn sign_out_jwt(
        &self,
        presented: Option<(&SecretString, SessionKind)>,
        bearer: Option<&Principal>,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        let presented_hash = presented.map(|(t, _)| hash_token(t.expose_secret()));
        let from_cookie = match (&presented_hash, presented) {
            (Some(hash), Some((_, kind))) => self
                .db
                .find_session_by_refresh_hash(hash)
                .await?
                .filter(|s| s.kind == kind),
            _ => None,
        };
        let (session_id, user_id, event, reason) = match (from_cookie, presented_hash, bearer) {
            (Some(session), Some(hash), _) => match self.classify(&session, &hash, self.now()) {
                RefreshDecision::Reuse => (
                    session.id,
                    session.user_id,
                    Event::RefreshReuseDetected,
                    RevokeReason::RefreshReuse,
                ),
                _ => (session.id, session.user_id, Event::Logout, RevokeReason::Logout),
            },
            (_, _, Some(auth)) => (auth.session_id, auth.user_id, Event::Logout, RevokeReason::Logout),
            _ => return Err(AuthError::InvalidRefreshToken),
        };
        let ip = client.ip_string();
        let audit = event_by(client, &ip, event, Some(user_id), Some(session_id));
        self.revoke(session_id, reason, Some(audit)).await?;
        Ok(())
    }

    /// Ends the session the request authenticated with (session mode's
    /// sign-out).
    pub async fn sign_out(&self, auth: &Principal, client: &ClientInfo) -> AuthResult<()> {
        let ip = client.ip_string();
        let audit = event_by(client, &ip, Event::Logout, Some(auth.user_id), Some(auth.session_id));
        self.revoke(auth.session_id, RevokeReason::Logout, Some(audit)).await?;
        Ok(())
    }

    /// Ends every session of the signed-in user, this one included; returns
    /// how many were live.
    pub async fn sign_out_everywhere(&self, auth: &Principal, client: &ClientInfo) -> AuthResult<usize> {
        let ip = client.ip_string();
        let audit = event_by(client, &ip, Event::LogoutAll, Some(auth.user_id), Some(auth.session_id));
        let revoked = self
            .db
            .revoke_user_sessions(auth.user_id, None, RevokeReason::LogoutAll, self.now(), audit)
            .await?;
        Ok(self.publish(revoked))
    }

    /// Ends one of the caller's own sessions. `NotFound` for an id that is
    /// not a live session of theirs: whether it exists for someone else is
    /// none of the caller's business.
    pub async fn revoke_own_session(&self, auth: &Principal, id: Uuid, client: &ClientInfo) -> AuthResult<()> {
        let session = self.db.find_session(id).await?;
        if !session.is_some_and(|s| s.user_id == auth.user_id && s.is_live(self.now())) {
            return Err(AuthError::NotFound("No such session."));
        }
        let ip = client.ip_string();
        let audit = event_by(client, &ip, Event::SessionRevoked, Some(auth.user_id), Some(id));
        self.revoke(id, RevokeReason::UserRevoked, Some(audit)).await?;
        Ok(())
    }

    /// An administrator ends anyone's live session.
    pub async fn admin_revoke_session(&self, admin: &Principal, id: Uuid, client: &ClientInfo) -> AuthResult<()> {
        let session = self
            .db
            .find_session(id)
            .await?
            .filter(|s| s.is_live(self.now()))
            .ok_or(AuthError::NotFound("No such session."))?;
        let ip = client.ip_string();
        let mut audit = event_by(client, &ip, Event::AdminSessionRevoked, Some(admin.user_id), Some(id));
        audit.user_id = Some(session.user_id);
        self.revoke(id, RevokeReason::AdminRevoked, Some(audit)).await?;
        Ok(())
    }
}
