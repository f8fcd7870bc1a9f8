//! The session flows: start a JWT session, refresh it, end it. Handlers
//! call these; the rotation rules themselves are `core::refresh`.

use latchkey_types::ErrorCode;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::core::clock::now_ms;
use crate::core::refresh::{RefreshDecision, SessionState, decide};
use crate::core::secrets::{hash_token, open_sealed, random_token, seal_under};
use crate::http::client::ClientInfo;
use crate::http::{ApiError, ApiResult, AppState};
use crate::store::sessions::{NewSession, RevokeReason, Rotation, SessionKind, SessionRecord, SwapOutcome};
use crate::store::users::{NewUser, UserRecord};

/// What a successful sign-in or refresh hands to the client.
pub struct Issued {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: SecretString,
    /// Seconds the refresh cookie should live: until the session's idle or
    /// absolute end, whichever is first.
    pub refresh_max_age: i64,
    pub session_id: Uuid,
}

/// Lifetimes of a session starting now.
pub(crate) struct Window {
    pub now: i64,
    pub idle_expires_at: i64,
    pub expires_at: i64,
}

pub(crate) fn window(state: &AppState) -> Window {
    let now = now_ms();
    Window {
        now,
        idle_expires_at: now + state.settings.refresh_idle.as_millis() as i64,
        expires_at: now + state.settings.session_max.as_millis() as i64,
    }
}

fn refresh_max_age(now: i64, idle_expires_at: i64, expires_at: i64) -> i64 {
    (idle_expires_at.min(expires_at) - now) / 1000
}

fn issue_access(state: &AppState, user: &UserRecord, session_id: Uuid, now: i64) -> (String, u64) {
    let tokens = state.tokens.current();
    let (token, claims) = tokens.issue(user.id(), session_id, user.role(), now / 1000);
    (token, (claims.exp - claims.iat).max(0) as u64)
}

fn new_jwt_session<'a>(
    user_id: Uuid,
    secret_hash: &'a str,
    w: &Window,
    client: &'a ClientInfo,
    ip: &'a str,
) -> NewSession<'a> {
    NewSession {
        id: Uuid::now_v7(),
        user_id,
        kind: SessionKind::Jwt,
        secret_hash,
        csrf_hash: None,
        sealed_csrf: None,
        now: w.now,
        idle_expires_at: w.idle_expires_at,
        expires_at: w.expires_at,
        user_agent: client.user_agent.as_deref(),
        ip: Some(ip),
    }
}

/// Starts a JWT session for a user who just proved who they are.
pub async fn start_jwt_session(state: &AppState, user: &UserRecord, client: &ClientInfo) -> ApiResult<Issued> {
    let refresh_token = random_token();
    let secret_hash = hash_token(refresh_token.expose_secret());
    let w = window(state);
    let ip = client.ip_string();
    let new = new_jwt_session(user.id(), &secret_hash, &w, client, &ip);
    let session_id = new.id;
    let evicted = state.db.create_session(new, state.settings.max_sessions).await?;
    state.note_revoked(&evicted, w.now);
    let (access_token, expires_in) = issue_access(state, user, session_id, w.now);
    Ok(Issued {
        access_token,
        expires_in,
        refresh_token,
        refresh_max_age: refresh_max_age(w.now, w.idle_expires_at, w.expires_at),
        session_id,
    })
}

/// Creates the account and its first session in one transaction.
pub async fn register(
    state: &AppState,
    user: NewUser<'_>,
    client: &ClientInfo,
) -> Result<(UserRecord, Issued), crate::store::StoreError> {
    let refresh_token = random_token();
    let secret_hash = hash_token(refresh_token.expose_secret());
    let w = window(state);
    let ip = client.ip_string();
    let new = new_jwt_session(Uuid::nil(), &secret_hash, &w, client, &ip);
    let session_id = new.id;
    let record = state
        .db
        .create_user_with_session(user, new, state.settings.max_sessions)
        .await?;
    let (access_token, expires_in) = issue_access(state, &record, session_id, w.now);
    let issued = Issued {
        access_token,
        expires_in,
        refresh_token,
        refresh_max_age: refresh_max_age(w.now, w.idle_expires_at, w.expires_at),
        session_id,
    };
    Ok((record, issued))
}

fn invalid_refresh() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidRefreshToken,
        "Your session has ended; please sign in again.",
    )
}

/// Rotates a refresh token (or, for a racing tab, hands out the successor
/// it already got), per `core::refresh`. A detected reuse revokes the
/// whole session before answering.
pub async fn refresh(
    state: &AppState,
    presented: &SecretString,
    client: &ClientInfo,
) -> ApiResult<(UserRecord, Issued)> {
    let presented_hash = hash_token(presented.expose_secret());
    let Some(mut session) = state.db.find_session_by_refresh_hash(&presented_hash).await? else {
        return Err(invalid_refresh());
    };
    if session.kind != SessionKind::Jwt.as_str() {
        return Err(invalid_refresh());
    }
    let Some(user) = state.db.find_user(session.user_id()).await? else {
        return Err(invalid_refresh());
    };
    // Losing the swap to a concurrent refresh means the session row moved
    // on; read it again and decide again (at most a couple of times).
    for _ in 0..3 {
        let now = now_ms();
        if user.is_disabled() {
            revoke(state, &session, RevokeReason::AccountChanged, now).await?;
            return Err(invalid_refresh());
        }
        let decision = decide(
            &session_state(&session),
            &presented_hash,
            now,
            state.settings.refresh_grace.as_millis() as i64,
        );
        match decision {
            RefreshDecision::Rotate => {
                let successor = random_token();
                let successor_hash = hash_token(successor.expose_secret());
                let sealed = seal_under(presented.expose_secret(), successor.expose_secret());
                let idle_expires_at = (now + state.settings.refresh_idle.as_millis() as i64).min(session.expires_at);
                let outcome = state
                    .db
                    .rotate_refresh_token(Rotation {
                        session_id: session.id(),
                        presented_hash: &presented_hash,
                        successor_hash: &successor_hash,
                        sealed_successor: &sealed,
                        generation: session.generation,
                        now,
                        idle_expires_at,
                    })
                    .await?;
                if outcome == SwapOutcome::Rotated {
                    let (access_token, expires_in) = issue_access(state, &user, session.id(), now);
                    let issued = Issued {
                        access_token,
                        expires_in,
                        refresh_token: successor,
                        refresh_max_age: refresh_max_age(now, idle_expires_at, session.expires_at),
                        session_id: session.id(),
                    };
                    return Ok((user, issued));
                }
            }
            RefreshDecision::ReturnSuccessor => {
                let successor = session
                    .sealed_successor
                    .as_deref()
                    .and_then(|sealed| open_sealed(presented.expose_secret(), sealed))
                    .ok_or_else(invalid_refresh)?;
                let (access_token, expires_in) = issue_access(state, &user, session.id(), now);
                let issued = Issued {
                    access_token,
                    expires_in,
                    refresh_token: successor,
                    refresh_max_age: refresh_max_age(now, session.idle_expires_at, session.expires_at),
                    session_id: session.id(),
                };
                return Ok((user, issued));
            }
            RefreshDecision::Reuse => {
                let revoked = revoke(state, &session, RevokeReason::RefreshReuse, now).await?;
                if revoked {
                    state
                        .audit_by(
                            client,
                            "refresh.reuse_detected",
                            Some(session.user_id()),
                            Some(session.id()),
                            None,
                        )
                        .await;
                    tracing::warn!(session = %session.id(), "refresh token reuse: session revoked");
                }
                return Err(invalid_refresh());
            }
            RefreshDecision::Ended => return Err(invalid_refresh()),
        }
        session = state.db.find_session(session.id()).await?.ok_or_else(invalid_refresh)?;
    }
    Err(ApiError::unavailable(1))
}

/// What presenting `presented_hash` for this session means, per the
/// rotation rules (used by logout to tell a stale token from the live one).
pub fn classify(session: &SessionRecord, presented_hash: &str, now: i64, grace_ms: i64) -> RefreshDecision {
    decide(&session_state(session), presented_hash, now, grace_ms)
}

fn session_state(session: &SessionRecord) -> SessionState<'_> {
    SessionState {
        live_hash: &session.secret_hash,
        parent_hash: session.parent_hash.as_deref(),
        rotated_at: session.rotated_at,
        revoked: session.revoked_at.is_some(),
        idle_expires_at: session.idle_expires_at,
        expires_at: session.expires_at,
    }
}

/// Revokes one session and tells this server's revocation set at once.
/// True if it was live until now.
async fn revoke(state: &AppState, session: &SessionRecord, reason: RevokeReason, now: i64) -> ApiResult<bool> {
    let revoked = state.db.revoke_session(session.id(), reason, now).await?;
    state.note_revoked(&[session.id()], now);
    Ok(revoked)
}

/// Ends a session by id (logout, a user's or admin's revoke).
pub async fn end_session(state: &AppState, session_id: Uuid, reason: RevokeReason) -> ApiResult<bool> {
    let now = now_ms();
    let revoked = state.db.revoke_session(session_id, reason, now).await?;
    state.note_revoked(&[session_id], now);
    Ok(revoked)
}

/// Ends every session of a user except `keep`.
pub async fn end_user_sessions(
    state: &AppState,
    user_id: Uuid,
    keep: Option<Uuid>,
    reason: RevokeReason,
) -> ApiResult<Vec<Uuid>> {
    let now = now_ms();
    let revoked = state.db.revoke_user_sessions(user_id, keep, reason, now).await?;
    state.note_revoked(&revoked, now);
    Ok(revoked)
}
