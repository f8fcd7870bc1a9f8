//! `AuthUser`: the whole authentication boundary. A handler that takes it is
//! protected; nothing else in the server reads tokens.
//!
//! A Bearer token is accepted only from the `Authorization` header (never a
//! query string or body), verified by `core::tokens`, then its session is
//! checked as `LATCHKEY_ACCESS_CHECK` says: not at all, against the
//! revoked-session set (refusing everything if that set has fallen behind
//! the database), or by reading the session row. Without an
//! `Authorization` header the session cookie is read instead (session
//! mode): a database lookup, the same-origin check and, on unsafe methods,
//! the CSRF synchronizer token.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use latchkey_types::{ErrorCode, Role};
use secrecy::SecretString;
use uuid::Uuid;

use super::cookies::{cleared_session_cookie, read_session_secret};
use super::{ApiError, AppState, csrf};
use crate::auth::cookie_sessions::{self, LiveCookieSession};
use crate::auth::revocations::MAX_LAG_MS;
use crate::config::AccessCheck;
use crate::core::clock::now_ms;

#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub role: Role,
    pub credential: Credential,
}

/// What the request authenticated with.
#[derive(Debug, Clone)]
pub enum Credential {
    Bearer,
    /// The session cookie's value and the row it named.
    SessionCookie(SecretString, Box<LiveCookieSession>),
}

pub fn invalid_token() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidToken,
        "Your access token is missing, expired or no longer valid.",
    )
}

/// `Bearer <token>`, scheme case-insensitive (RFC 7235), nothing else.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim_start_matches(' ');
    let well_formed = !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'+' | b'/' | b'='));
    (scheme.eq_ignore_ascii_case("bearer") && well_formed).then_some(token)
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    /// An `Authorization` header decides alone (a bad one is not rescued
    /// by a cookie); without one, the session cookie is the credential.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            let token = bearer_token(parts).ok_or_else(invalid_token)?;
            return authenticate_bearer(state, token).await;
        }
        match read_session_secret(&CookieJar::from_headers(&parts.headers), &state.settings) {
            Some(secret) => authenticate_session_cookie(state, parts, secret).await,
            None => Err(invalid_token()),
        }
    }
}

/// Verifies an access token, then checks its session as
/// `LATCHKEY_ACCESS_CHECK` says.
pub async fn authenticate_bearer(state: &AppState, token: &str) -> Result<AuthUser, ApiError> {
    let now = now_ms();
    let cached = state.verified.as_ref().and_then(|cache| cache.get(token, now / 1000));
    let claims = match cached {
        Some(claims) => claims,
        None => {
            let claims = state.tokens.current().verify(token, now / 1000).map_err(|err| {
                tracing::debug!(%err, "access token refused");
                invalid_token()
            })?;
            if let Some(cache) = &state.verified {
                cache.insert(token, &claims);
            }
            claims
        }
    };
    match state.settings.access_check {
        AccessCheck::Stateless => {}
        AccessCheck::RevocationCache => match state.revocations.check(&claims.sid, now, MAX_LAG_MS) {
            Some(false) => {}
            Some(true) => return Err(invalid_token()),
            None => {
                tracing::warn!("revocation set is stale; refusing Bearer tokens until it catches up");
                return Err(ApiError::unavailable(1));
            }
        },
        AccessCheck::SessionLookup => {
            let session = state.db.find_session(claims.sid).await?;
            let live = session.is_some_and(|s| s.is_live(now) && s.user_id() == claims.sub && s.kind == "jwt");
            if !live {
                return Err(invalid_token());
            }
        }
    }
    Ok(AuthUser {
        user_id: claims.sub,
        session_id: claims.sid,
        role: claims.role,
        credential: Credential::Bearer,
    })
}

/// The classic path: the cookie names a row that must be live now. A dead
/// cookie is cleared; a cross-site request, or an unsafe method without
/// the session's CSRF token, is refused before anything changes.
async fn authenticate_session_cookie(
    state: &AppState,
    parts: &Parts,
    secret: SecretString,
) -> Result<AuthUser, ApiError> {
    let session = cookie_sessions::find_live(state, &secret)
        .await?
        .ok_or_else(|| invalid_token().with_cookie(cleared_session_cookie(&state.settings)))?;
    csrf::check_same_origin(&parts.headers, &state.settings.public_origin)?;
    if !parts.method.is_safe() {
        let presented = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if !presented.is_some_and(|token| session.csrf_matches(token)) {
            return Err(ApiError::new(
                ErrorCode::CsrfRejected,
                "This request lacks the session's CSRF token and was refused.",
            ));
        }
    }
    cookie_sessions::touch_if_due(state, &session).await?;
    Ok(AuthUser {
        user_id: session.row.user_id(),
        session_id: session.row.id(),
        role: Role::parse(&session.row.role).unwrap_or(Role::User),
        credential: Credential::SessionCookie(secret, Box::new(session)),
    })
}

/// The header that carries a cookie session's CSRF token (API.md).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// `Option<AuthUser>` for routes that take several credentials (logout).
pub struct MaybeAuthUser(pub Option<AuthUser>);

impl FromRequestParts<AppState> for MaybeAuthUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(MaybeAuthUser(AuthUser::from_request_parts(parts, state).await.ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(authorization: &str) -> Parts {
        let (parts, ()) = axum::http::Request::builder()
            .header("authorization", authorization)
            .body(())
            .unwrap()
            .into_parts();
        parts
    }

    #[test]
    fn only_the_bearer_scheme_is_read() {
        assert_eq!(bearer_token(&parts("Bearer abc.def.ghi")), Some("abc.def.ghi"));
        assert_eq!(bearer_token(&parts("bEaReR abc.def.ghi")), Some("abc.def.ghi"));
        assert_eq!(bearer_token(&parts("Basic abc")), None);
        assert_eq!(bearer_token(&parts("Bearer")), None);
        assert_eq!(bearer_token(&parts("Bearer ")), None);
        assert_eq!(bearer_token(&parts("Bearer a b")), None);
        assert_eq!(bearer_token(&parts("Bearerabc")), None);
    }

    proptest::proptest! {
        /// Whatever the header holds: no panic, and a token only when the
        /// scheme is Bearer and the token is made of token68 characters.
        #[test]
        fn any_authorization_header_is_parsed_safely(value in "[ -~]{0,300}") {
            let Ok(header) = axum::http::HeaderValue::from_str(&value) else { return Ok(()); };
            let (mut parts, ()) = axum::http::Request::builder().body(()).unwrap().into_parts();
            parts.headers.insert("authorization", header);
            if let Some(token) = bearer_token(&parts) {
                proptest::prop_assert!(value.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("bearer ")));
                proptest::prop_assert!(!token.is_empty());
                proptest::prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~+/=".contains(&b)));
            }
        }
    }
}
