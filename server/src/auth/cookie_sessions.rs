//! Session mode, the article's other half: an opaque session id in a
//! `__Host-` cookie, a server-side row read on every request, and a CSRF
//! synchronizer token bound to that row.
//!
//! The row lives in the same `sessions` table as JWT sessions (kind
//! `cookie`), so listing, revoking, the session cap and the admin views work
//! the same. The database holds only hashes of the id and of the CSRF token,
//! plus the CSRF token sealed under the id: a reload can be told its token
//! again by whoever holds the cookie, and by nobody who only reads the table.

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::sessions::{Window, window};
use crate::core::clock::now_ms;
use crate::core::secrets::{constant_time_eq, hash_token, open_sealed, random_token, seal_under};
use crate::http::client::ClientInfo;
use crate::http::{ApiResult, AppState};
use crate::store::StoreError;
use crate::store::sessions::{CookieSessionRow, NewSession, RevokeReason, SessionKind};
use crate::store::users::{NewUser, UserRecord};

/// A new cookie session: what the browser gets.
pub struct CookieIssued {
    /// The session id: the cookie's value, never stored.
    pub secret: SecretString,
    pub csrf_token: SecretString,
    /// Seconds until the session's absolute end.
    pub max_age: i64,
    pub session_id: Uuid,
}

/// Fresh secrets and the row that stores only their hashes.
struct Minted {
    secret: SecretString,
    secret_hash: String,
    csrf_token: SecretString,
    csrf_hash: String,
    sealed_csrf: String,
}

fn mint() -> Minted {
    let secret = random_token();
    let csrf_token = random_token();
    Minted {
        secret_hash: hash_token(secret.expose_secret()),
        csrf_hash: hash_token(csrf_token.expose_secret()),
        sealed_csrf: seal_under(secret.expose_secret(), csrf_token.expose_secret()),
        secret,
        csrf_token,
    }
}

fn new_row<'a>(user_id: Uuid, m: &'a Minted, w: &Window, client: &'a ClientInfo, ip: &'a str) -> NewSession<'a> {
    NewSession {
        id: Uuid::now_v7(),
        user_id,
        kind: SessionKind::Cookie,
        secret_hash: &m.secret_hash,
        csrf_hash: Some(&m.csrf_hash),
        sealed_csrf: Some(&m.sealed_csrf),
        now: w.now,
        idle_expires_at: w.idle_expires_at,
        expires_at: w.expires_at,
        user_agent: client.user_agent.as_deref(),
        ip: Some(ip),
    }
}

fn issued(m: Minted, session_id: Uuid, w: &Window) -> CookieIssued {
    CookieIssued {
        secret: m.secret,
        csrf_token: m.csrf_token,
        max_age: (w.expires_at - w.now) / 1000,
        session_id,
    }
}

/// Starts a cookie session for a user who just proved who they are. The id
/// is always new: nothing the client sent is ever adopted (no fixation).
pub async fn start(state: &AppState, user: &UserRecord, client: &ClientInfo) -> ApiResult<CookieIssued> {
    let minted = mint();
    let w = window(state);
    let ip = client.ip_string();
    let row = new_row(user.id(), &minted, &w, client, &ip);
    let session_id = row.id;
    let evicted = state.db.create_session(row, state.settings.max_sessions).await?;
    state.note_revoked(&evicted, w.now);
    Ok(issued(minted, session_id, &w))
}

/// Creates the account and its first cookie session in one transaction.
pub async fn register(
    state: &AppState,
    user: NewUser<'_>,
    client: &ClientInfo,
) -> Result<(UserRecord, CookieIssued), StoreError> {
    let minted = mint();
    let w = window(state);
    let ip = client.ip_string();
    let row = new_row(Uuid::nil(), &minted, &w, client, &ip);
    let session_id = row.id;
    let record = state
        .db
        .create_user_with_session(user, row, state.settings.max_sessions)
        .await?;
    Ok((record, issued(minted, session_id, &w)))
}

/// A live cookie session, as the extractor found it.
#[derive(Debug, Clone)]
pub struct LiveCookieSession {
    pub row: CookieSessionRow,
}

impl LiveCookieSession {
    /// Whether `presented` is this session's CSRF token (compared as
    /// hashes, in constant time).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        let Some(expected) = self.row.csrf_hash.as_deref() else {
            return false;
        };
        !presented.is_empty() && constant_time_eq(hash_token(presented).as_bytes(), expected.as_bytes())
    }
}

/// The live session a cookie names; `None` for a forged, expired or revoked
/// id, a disabled user, or a JWT session's secret.
pub async fn find_live(state: &AppState, secret: &SecretString) -> ApiResult<Option<LiveCookieSession>> {
    let row = state
        .db
        .find_cookie_session(&hash_token(secret.expose_secret()))
        .await?;
    Ok(row.filter(|r| r.is_live(now_ms())).map(|row| LiveCookieSession { row }))
}

/// Sliding renewal: pushes the idle end forward, at most once per tenth of
/// the idle lifetime (and at least once a minute) so a busy session does
/// not cost a write per request.
pub async fn touch_if_due(state: &AppState, session: &LiveCookieSession) -> ApiResult<()> {
    let now = now_ms();
    let idle_ms = state.settings.refresh_idle.as_millis() as i64;
    if now - session.row.last_seen_at < (idle_ms / 10).clamp(1, 60_000) {
        return Ok(());
    }
    let idle_expires_at = (now + idle_ms).min(session.row.expires_at);
    state.db.touch_session(session.row.id(), now, idle_expires_at).await?;
    Ok(())
}

/// The CSRF token of the session `secret` names, for a page that reloaded.
pub fn reveal_csrf(secret: &SecretString, session: &LiveCookieSession) -> Option<SecretString> {
    open_sealed(secret.expose_secret(), session.row.sealed_csrf.as_deref()?)
}

/// Gives the session a new id (after a privilege change such as a new
/// password); the old cookie stops working at once, the CSRF token stays.
/// `None` if the session ended meanwhile.
pub async fn rekey(
    state: &AppState,
    secret: &SecretString,
    session: &LiveCookieSession,
) -> ApiResult<Option<SecretString>> {
    let Some(csrf) = reveal_csrf(secret, session) else {
        return Ok(None);
    };
    let new_secret = random_token();
    let sealed = seal_under(new_secret.expose_secret(), csrf.expose_secret());
    let rekeyed = state
        .db
        .rekey_cookie_session(
            session.row.id(),
            &hash_token(new_secret.expose_secret()),
            &sealed,
            now_ms(),
        )
        .await?;
    Ok(rekeyed.then_some(new_secret))
}

/// Seconds the cookie should still live.
pub fn remaining_secs(session: &LiveCookieSession) -> i64 {
    (session.row.expires_at - now_ms()) / 1000
}

/// Ends whatever live cookie session `secret` names (a sign-in replacing
/// it); true if there was one.
pub async fn end_presented(state: &AppState, secret: &SecretString) -> ApiResult<bool> {
    match find_live(state, secret).await? {
        Some(session) => super::sessions::end_session(state, session.row.id(), RevokeReason::Logout).await,
        None => Ok(false),
    }
}
