//! `AuthUser`: the whole authentication boundary. A handler that takes it is
//! protected; nothing else in the server reads tokens.
//!
//! A Bearer token is accepted only from the `Authorization` header (never a
//! query string or body), verified by `core::tokens`, then checked against
//! the revoked-session set. If that set has fallen behind the database, the
//! request is refused rather than risk admitting a revoked session.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use latchkey_types::{ErrorCode, Role};
use uuid::Uuid;

use super::{ApiError, AppState};
use crate::auth::revocations::MAX_LAG_MS;
use crate::core::clock::now_ms;

#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub role: Role,
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

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or_else(invalid_token)?;
        authenticate_bearer(state, token)
    }
}

pub fn authenticate_bearer(state: &AppState, token: &str) -> Result<AuthUser, ApiError> {
    let now = now_ms();
    let claims = state.tokens.current().verify(token, now / 1000).map_err(|err| {
        tracing::debug!(%err, "access token refused");
        invalid_token()
    })?;
    if !state.revocations.is_fresh(now, MAX_LAG_MS) {
        tracing::warn!("revocation set is stale; refusing Bearer tokens until it catches up");
        return Err(ApiError::unavailable(1));
    }
    if state.revocations.is_revoked(&claims.sid) {
        return Err(invalid_token());
    }
    Ok(AuthUser {
        user_id: claims.sub,
        session_id: claims.sid,
        role: claims.role,
    })
}

/// `Option<AuthUser>` for routes that take several credentials (logout).
pub struct MaybeAuthUser(pub Option<AuthUser>);

impl FromRequestParts<AppState> for MaybeAuthUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(MaybeAuthUser(
            bearer_token(parts).and_then(|t| authenticate_bearer(state, t).ok()),
        ))
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
}
