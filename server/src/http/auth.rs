//! `/api/auth/*`: register, login, refresh, logout, logout-all (JWT mode):
//! thin responders over the engine's flows.
//!
//! Every cookie route here is refused from another origin (the `csrf`
//! layer on these routes in `http::router`), takes only a
//! JSON body (so a cross-site form post cannot reach it), is rate-limited
//! per client address, and answers with `Cache-Control: no-store`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use latchkey_types::{ErrorBody, LoginRequest, RegisterRequest, SessionLoginResponse, TokenResponse, User};
use secrecy::ExposeSecret;
use serde::de::IgnoredAny;

use super::client::ClientInfo;
use super::cookies::{
    cleared_refresh_cookie, cleared_session_cookie, read_refresh_token, refresh_cookie, session_cookie,
};
use super::extract::{AuthUser, MaybeAuthUser};
use super::json::ApiJson;
use super::{ApiError, ApiResult, AppState};
use crate::auth::{AuthError, Issued, Registered, SignedIn};
use crate::store::sessions::SessionKind;

/// The answer to a sign-in, a registration or a refresh, in either mode:
/// the credential's cookie and the body that goes with it.
pub fn signed_in_response(state: &AppState, status: StatusCode, jar: CookieJar, signed_in: SignedIn) -> Response {
    let user = signed_in.user.to_api();
    match signed_in.issued {
        Issued::Tokens {
            access_token,
            expires_in,
            refresh_token,
            refresh_max_age,
        } => {
            let jar = jar.add(refresh_cookie(&state.settings, &refresh_token, refresh_max_age));
            let body = TokenResponse {
                access_token,
                token_type: "Bearer".into(),
                expires_in,
                user,
            };
            (status, jar, axum::Json(body)).into_response()
        }
        Issued::Cookie {
            secret,
            csrf_token,
            max_age,
        } => {
            let jar = jar.add(session_cookie(&state.settings, &secret, max_age));
            let body = SessionLoginResponse {
                user,
                csrf_token: csrf_token.expose_secret().to_string(),
            };
            (status, jar, axum::Json(body)).into_response()
        }
    }
}

/// An error that also drops the browser's refresh cookie.
fn with_cleared_cookie(state: &AppState, jar: CookieJar, err: ApiError) -> Response {
    (jar.add(cleared_refresh_cookie(&state.settings)), err).into_response()
}

/// The answer to a registration in either mode: signed in (201), or, where
/// sign-in needs a verified address, 202 with the new account and no
/// credential.
pub fn registered_response(state: &AppState, jar: CookieJar, registered: Registered) -> Response {
    match registered {
        Registered::SignedIn(signed_in) => signed_in_response(state, StatusCode::CREATED, jar, signed_in),
        Registered::Pending(user) => (StatusCode::ACCEPTED, axum::Json(user.to_api())).into_response(),
    }
}

/// Creates an account and signs it in (JWT mode).
#[utoipa::path(
    post, path = "/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created and signed in; the refresh cookie is set.", body = TokenResponse,
            headers(("Set-Cookie" = String, description = "The refresh cookie (HttpOnly, Secure, SameSite=Strict, Path=/api/auth)."))),
        (status = 202, description = "Account created, not signed in: this server requires a verified address (`LATCHKEY_REQUIRE_VERIFIED_EMAIL`) and the link is on its way.", body = User),
        (status = 409, description = "`email_taken`", body = ErrorBody),
        (status = 422, description = "`validation_failed`, with `fields`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> ApiResult<Response> {
    let registered = state.register(&body, SessionKind::Jwt, &client).await?;
    Ok(registered_response(&state, jar, registered))
}

/// Signs in (JWT mode): an access token in the body, the refresh cookie set.
#[utoipa::path(
    post, path = "/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; the refresh cookie is set.", body = TokenResponse,
            headers(("Set-Cookie" = String, description = "The refresh cookie."))),
        (status = 401, description = "`invalid_credentials`: unknown email, wrong password or disabled account alike", body = ErrorBody),
        (status = 403, description = "`email_unverified`: the password is right, but this server signs in only verified addresses (ask for a link with `POST /api/auth/email/resend`)", body = ErrorBody),
        (status = 429, description = "`rate_limited` (per account and per address)", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let signed_in = state.sign_in(&body, SessionKind::Jwt, &client).await?;
    Ok(signed_in_response(&state, StatusCode::OK, jar, signed_in))
}

/// Renews the access token and rotates the refresh cookie. A rotated-away
/// cookie presented after the grace window is reuse: the session ends.
#[utoipa::path(
    post, path = "/auth/refresh", tag = "auth",
    request_body(content = Object, description = "`{}`"),
    security((), ("refresh" = [])),
    responses(
        (status = 200, description = "A new access token; the rotated refresh cookie is set.", body = TokenResponse,
            headers(("Set-Cookie" = String, description = "The rotated refresh cookie."))),
        (status = 204, description = "No refresh cookie was sent: nothing to renew (a signed-out browser's page load)."),
        (status = 401, description = "`invalid_refresh_token`: unknown, malformed, expired, revoked or reused; the cookie is cleared", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    ApiJson(_): ApiJson<IgnoredAny>,
) -> Response {
    // Nothing to renew and nothing wrong: a first visit, or a signed-out
    // browser, asks on every page load (no error in its console).
    if jar.get(&state.settings.refresh_cookie).is_none() {
        return StatusCode::NO_CONTENT.into_response();
    }
    if let Err(err) = state
        .limit_address(&client, crate::auth::rate::AddressBudget::Refresh)
        .await
    {
        return ApiError::from(err).into_response();
    }
    let Some(presented) = read_refresh_token(&jar, &state.settings) else {
        return with_cleared_cookie(&state, jar, AuthError::InvalidRefreshToken.into());
    };
    match state.refresh(&presented, &client).await {
        Ok(signed_in) => signed_in_response(&state, StatusCode::OK, jar, signed_in),
        Err(AuthError::InvalidRefreshToken) => with_cleared_cookie(&state, jar, AuthError::InvalidRefreshToken.into()),
        Err(err) => ApiError::from(err).into_response(),
    }
}

/// Ends the session named by the refresh cookie or the Bearer token.
#[utoipa::path(
    post, path = "/auth/logout", tag = "auth",
    request_body(content = Object, description = "`{}`"),
    security(("refresh" = []), ("bearer" = [])),
    responses(
        (status = 204, description = "The session is revoked and the refresh cookie cleared."),
        (status = 401, description = "`invalid_refresh_token`: neither the cookie nor a valid Bearer token names a live session; the cookie is cleared", body = ErrorBody),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    MaybeAuthUser(bearer): MaybeAuthUser,
    ApiJson(_): ApiJson<IgnoredAny>,
) -> ApiResult<Response> {
    let presented = read_refresh_token(&jar, &state.settings);
    match state.sign_out_jwt(presented.as_ref(), bearer.as_deref(), &client).await {
        Ok(()) => Ok((StatusCode::NO_CONTENT, jar.add(cleared_refresh_cookie(&state.settings))).into_response()),
        Err(AuthError::InvalidRefreshToken) => {
            let err = ApiError::new(
                latchkey_types::ErrorCode::InvalidRefreshToken,
                "There is no session to end.",
            );
            Ok(with_cleared_cookie(&state, jar, err))
        }
        Err(err) => Err(err.into()),
    }
}

/// Ends every session of the signed-in user, this one included.
#[utoipa::path(
    post, path = "/auth/logout-all", tag = "auth",
    request_body(content = Object, description = "`{}`"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses((status = 204, description = "Every session of the user is revoked; cookies cleared."))
)]
pub async fn logout_all(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    auth: AuthUser,
    ApiJson(_): ApiJson<IgnoredAny>,
) -> ApiResult<Response> {
    state.sign_out_everywhere(&auth, &client).await?;
    let jar = jar
        .add(cleared_refresh_cookie(&state.settings))
        .add(cleared_session_cookie(&state.settings));
    Ok((StatusCode::NO_CONTENT, jar).into_response())
}
