//! `/api/session/*`: session mode (API.md "Session"). Sign-in sets the
//! opaque session-id cookie and answers `{user, csrf_token}`; every
//! protected route then accepts the cookie through `AuthUser`, which also
//! demands `X-CSRF-Token` on unsafe methods.
//!
//! Two routes beyond API.md's table, because the browser app needs them to
//! offer the same pages in both modes: `POST /api/session/register` (the
//! session-mode twin of `/api/auth/register`) and `GET /api/session`, which
//! tells a reloaded page who is signed in and the session's CSRF token
//! (readable only by same-origin script: CORS is off).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use latchkey_types::{ErrorBody, LoginRequest, RegisterRequest, SessionLoginResponse, User};
use secrecy::ExposeSecret;
use serde::de::IgnoredAny;

use super::auth::{registered_response, signed_in_response};
use super::client::ClientInfo;
use super::cookies::{cleared_session_cookie, read_secret, session_cookie};
use super::extract::{AuthUser, invalid_token};
use super::json::ApiJson;
use super::{ApiResult, AppState};
use crate::auth::Credential;
use crate::auth::access::reveal_csrf;
use crate::store::sessions::SessionKind;

/// Session mode is for browsers: a native client signs in at
/// `/api/auth/login`.
pub fn cookie_client(client: latchkey_types::ClientKind) -> ApiResult<()> {
    match client {
        latchkey_types::ClientKind::Browser => Ok(()),
        latchkey_types::ClientKind::Native => Err(crate::auth::AuthError::field(
            "client",
            "session cookies are for browsers; a native client signs in at /api/auth/login",
        )
        .into()),
    }
}

/// Signs in (session mode): the session cookie and the CSRF token.
#[utoipa::path(
    post, path = "/session/login", tag = "session",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; the session cookie is set.", body = SessionLoginResponse,
            headers(("Set-Cookie" = String, description = "The session cookie (HttpOnly, Secure, SameSite=Strict, Path=/)."))),
        (status = 422, description = "`validation_failed`: `\"client\": \"native\"` (session cookies are for browsers; native clients sign in at `/api/auth/login`)", body = ErrorBody),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 403, description = "`email_unverified`: the password is right, but this server signs in only verified addresses", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    cookie_client(body.client)?;
    let signed_in = state.sign_in(&body, SessionKind::Cookie, &client).await?;
    // A session id the browser already had is never adopted (fixation);
    // if it named a live session of anyone's, that session is over now.
    if let Some(presented) = read_secret(&jar, &state.settings.session_cookie)
        && let Ok(previous) = state.authenticate_session_cookie(presented).await
    {
        state.sign_out(&previous, &client).await?;
    }
    Ok(signed_in_response(&state, StatusCode::OK, jar, signed_in))
}

/// Creates an account and signs it in (session mode). Not in API.md's
/// table: the session-mode twin of `POST /api/auth/register`.
#[utoipa::path(
    post, path = "/session/register", tag = "session",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created and signed in; the session cookie is set.", body = SessionLoginResponse,
            headers(("Set-Cookie" = String, description = "The session cookie."))),
        (status = 202, description = "Account created, not signed in: this server requires a verified address and the link is on its way.", body = User),
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
    let registered = state.register(&body, SessionKind::Cookie, &client).await?;
    Ok(registered_response(&state, jar, registered))
}

/// `GET /api/session`: `{user, csrf_token}` for the session cookie sent
/// (re-keyed if the user was promoted since it was issued); 401 (and the
/// cookie cleared) when it names no live session; 204 without one.
#[utoipa::path(
    get, path = "/session", tag = "session",
    security((), ("session" = [])),
    responses(
        (status = 200, description = "Who is signed in, and the session's CSRF token.", body = SessionLoginResponse),
        (status = 204, description = "No session cookie was sent: nobody is signed in (a signed-out page load)."),
    )
)]
pub async fn current(
    State(state): State<AppState>,
    jar: CookieJar,
    auth: Result<AuthUser, super::ApiError>,
) -> ApiResult<Response> {
    // No session cookie at all: a signed-out page load, nothing wrong.
    if jar.get(&state.settings.session_cookie).is_none() && auth.is_err() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let auth = auth?;
    let Credential::SessionCookie(secret, found) = &auth.credential else {
        return Err(invalid_token());
    };
    let csrf_token = reveal_csrf(secret, found).ok_or_else(invalid_token)?;
    let user = state.current_user(&auth).await?;
    let body = SessionLoginResponse {
        user: user.to_api(),
        csrf_token: csrf_token.expose_secret().to_string(),
    };
    // Promoted since this id was issued: the new role comes with a new id
    // (the old cookie stops working at once).
    if auth.awaits_rekey()
        && let Some(new_secret) = state.rekey_if_cookie(&auth).await?
    {
        let cookie = session_cookie(&state.settings, &new_secret, state.cookie_remaining_secs(&auth));
        return Ok((jar.add(cookie), axum::Json(body)).into_response());
    }
    Ok(axum::Json(body).into_response())
}

/// Ends the session the request authenticated with (`AuthUser` has already
/// checked the cookie, the origin and the CSRF token) and drops the cookie.
#[utoipa::path(
    post, path = "/session/logout", tag = "session",
    request_body(content = Object, description = "`{}`"),
    security(("session" = [], "csrf" = [])),
    responses((status = 204, description = "The session is revoked and its cookie cleared."))
)]
pub async fn logout(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    auth: AuthUser,
    ApiJson(_): ApiJson<IgnoredAny>,
) -> ApiResult<Response> {
    state.sign_out(&auth, &client).await?;
    let jar = jar.add(cleared_session_cookie(&state.settings));
    Ok((StatusCode::NO_CONTENT, jar).into_response())
}
