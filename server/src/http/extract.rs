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
use latchkey_types::ErrorCode;
use secrecy::SecretString;

use super::cookies::{cleared_session_cookie, read_session_secret};
use super::{ApiError, AppState, csrf};
use crate::auth::access::csrf_matches;
use crate::auth::api_keys::is_api_key;
use crate::auth::{AuthError, ClientInfo, Credential, Principal};

/// The authenticated caller: the engine's `Principal`.
#[derive(Debug, Clone)]
pub struct AuthUser(pub Principal);

impl std::ops::Deref for AuthUser {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}

pub fn invalid_token() -> ApiError {
    AuthError::InvalidToken.into()
}

/// `Bearer <token>`, scheme case-insensitive (RFC 7235), nothing else.
/// Read on every authenticated request, so byte-wise: one pass over the
/// token with a table lookup per byte.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.as_bytes();
    let space = value.iter().position(|&b| b == b' ')?;
    let (scheme, rest) = (&value[..space], &value[space + 1..]);
    let token = &rest[rest.iter().position(|&b| b != b' ')?..];
    // No early exit: a plain fold the compiler unrolls.
    let well_formed = token.iter().fold(true, |ok, &b| ok & TOKEN68[usize::from(b)]);
    if !(scheme.eq_ignore_ascii_case(b"bearer") && well_formed) {
        return None;
    }
    // Only ASCII got this far.
    std::str::from_utf8(token).ok()
}

/// The token68 characters (RFC 7235 §2.1): letters, digits, `-._~+/=`.
static TOKEN68: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~' | b'+' | b'/' | b'=');
        b += 1;
    }
    table
};

/// The `Authorization` header as this boundary reads it: `None` without
/// one, `Some(None)` for one that is not a well-formed Bearer token.
fn authorization(parts: &Parts) -> Option<Option<&str>> {
    parts
        .headers
        .contains_key(header::AUTHORIZATION)
        .then(|| bearer_token(parts))
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    /// An `Authorization` header decides alone (a bad one is not rescued
    /// by a cookie); without one, the session cookie is the credential.
    /// A personal API key is refused here: the routes a key reaches take
    /// [`KeyOrUser`].
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        authenticate_user(parts, state, authorization(parts)).await
    }
}

/// [`AuthUser`]'s check, given the `Authorization` header as read once.
async fn authenticate_user(
    parts: &Parts,
    state: &AppState,
    authorization: Option<Option<&str>>,
) -> Result<AuthUser, ApiError> {
    if let Some(token) = authorization {
        let token = token.ok_or_else(invalid_token)?;
        if is_api_key(token) {
            return Err(AuthError::Forbidden("API keys do not reach this route: it needs a signed-in session.").into());
        }
        return Ok(AuthUser(state.authenticate_bearer(token).await?));
    }
    match read_session_secret(&parts.headers, &state.settings) {
        Some(secret) => authenticate_session_cookie(state, parts, secret).await,
        None => Err(invalid_token()),
    }
}

/// The classic path: the cookie names a row that must be live now. A dead
/// cookie is cleared; a cross-site request, or an unsafe method without
/// the session's CSRF token, is refused before anything changes.
async fn authenticate_session_cookie(
    state: &AppState,
    parts: &Parts,
    secret: SecretString,
) -> Result<AuthUser, ApiError> {
    // Same-origin first: a cross-site request learns nothing, not even
    // whether the cookie is live, and slides no idle expiry.
    csrf::check_same_origin(&parts.headers, &state.settings.public_origin)?;
    let principal = match state.authenticate_session_cookie(secret).await {
        Ok(principal) => principal,
        Err(AuthError::InvalidToken) => {
            return Err(invalid_token().with_cookie(cleared_session_cookie(&state.settings)));
        }
        Err(err) => return Err(err.into()),
    };
    if !parts.method.is_safe() {
        let presented = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        let matches = match &principal.credential {
            Credential::SessionCookie(_, found) => presented.is_some_and(|token| csrf_matches(found, token)),
            Credential::Bearer | Credential::ApiKey { .. } => false,
        };
        if !matches {
            return Err(ApiError::new(
                ErrorCode::CsrfRejected,
                "This request lacks the session's CSRF token and was refused.",
            ));
        }
    }
    Ok(AuthUser(principal))
}

/// The header that carries a cookie session's CSRF token (API.md).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The caller of a route that personal API keys reach too (the profile,
/// the session list, the key list): a key as `Authorization: Bearer lk_…`
/// (a read-only key on safe methods only), or whatever [`AuthUser`] takes.
#[derive(Debug, Clone)]
pub struct KeyOrUser(pub Principal);

impl std::ops::Deref for KeyOrUser {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl FromRequestParts<AppState> for KeyOrUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let read = authorization(parts);
        if let Some(key) = read.flatten().filter(|token| is_api_key(token)).map(str::to_string) {
            let Ok(client) = ClientInfo::from_request_parts(parts, state).await;
            let safe = parts.method.is_safe();
            return Ok(KeyOrUser(state.authenticate_api_key(&key, safe, &client).await?));
        }
        Ok(KeyOrUser(authenticate_user(parts, state, read).await?.0))
    }
}

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
