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
use latchkey_types::{ErrorBody, LoginRequest, RegisterRequest, SessionLoginResponse};
use secrecy::ExposeSecret;
use serde::de::IgnoredAny;

use super::auth::{
    audit_login, audit_registered, audit_session_event, no_store, registration_failed, validate_registration,
    verify_credentials,
};
use super::client::ClientInfo;
use super::cookies::{cleared_session_cookie, read_session_secret, session_cookie};
use super::extract::{AuthUser, Credential, invalid_token};
use super::json::ApiJson;
use super::{ApiResult, AppState};
use crate::auth::cookie_sessions::{self, CookieIssued};
use crate::auth::sessions;
use crate::store::sessions::RevokeReason;
use crate::store::users::UserRecord;

fn session_response(
    state: &AppState,
    status: StatusCode,
    jar: CookieJar,
    user: &UserRecord,
    issued: CookieIssued,
) -> Response {
    let jar = jar.add(session_cookie(&state.settings, &issued.secret, issued.max_age));
    let body = SessionLoginResponse {
        user: user.to_api(),
        csrf_token: issued.csrf_token.expose_secret().to_string(),
    };
    no_store((status, jar, axum::Json(body)).into_response())
}

/// Signs in (session mode): the session cookie and the CSRF token.
#[utoipa::path(
    post, path = "/session/login", tag = "session",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; the session cookie is set.", body = SessionLoginResponse,
            headers(("Set-Cookie" = String, description = "The session cookie (HttpOnly, Secure, SameSite=Strict, Path=/)."))),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let user = verify_credentials(&state, &client, &body).await?;
    // A session id the browser already had is never adopted (fixation);
    // if it named a live session, that session is over now.
    if let Some(presented) = read_session_secret(&jar, &state.settings) {
        cookie_sessions::end_presented(&state, &presented).await?;
    }
    let issued = cookie_sessions::start(&state, &user, &client).await?;
    let detail = serde_json::json!({ "mode": "session" });
    audit_login(
        &state,
        &client,
        Some(&user),
        Some(issued.session_id),
        "login.succeeded",
        Some(detail),
    )
    .await;
    Ok(session_response(&state, StatusCode::OK, jar, &user, issued))
}

/// Creates an account and signs it in (session mode). Not in API.md's
/// table: the session-mode twin of `POST /api/auth/register`.
#[utoipa::path(
    post, path = "/session/register", tag = "session",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created and signed in; the session cookie is set.", body = SessionLoginResponse,
            headers(("Set-Cookie" = String, description = "The session cookie."))),
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
    let account = validate_registration(&state, &client, &body).await?;
    let (user, issued) = cookie_sessions::register(&state, account.new_user(), &client)
        .await
        .map_err(registration_failed)?;
    audit_registered(&state, &client, &user, issued.session_id).await;
    Ok(session_response(&state, StatusCode::CREATED, jar, &user, issued))
}

/// `GET /api/session`: `{user, csrf_token}` for the session cookie sent;
/// 401 (and the cookie cleared) when there is no live one.
#[utoipa::path(
    get, path = "/session", tag = "session",
    security(("session" = [])),
    responses((status = 200, description = "Who is signed in, and the session's CSRF token.", body = SessionLoginResponse))
)]
pub async fn current(State(state): State<AppState>, auth: AuthUser) -> ApiResult<Response> {
    let Credential::SessionCookie(secret, session) = &auth.credential else {
        return Err(invalid_token());
    };
    let csrf_token = cookie_sessions::reveal_csrf(secret, session).ok_or_else(invalid_token)?;
    let user = state.db.find_user(auth.user_id).await?.ok_or_else(invalid_token)?;
    let body = SessionLoginResponse {
        user: user.to_api(),
        csrf_token: csrf_token.expose_secret().to_string(),
    };
    Ok(no_store(axum::Json(body).into_response()))
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
    if sessions::end_session(&state, auth.session_id, RevokeReason::Logout).await? {
        audit_session_event(&state, &client, "logout", auth.user_id, Some(auth.session_id)).await;
    }
    let jar = jar.add(cleared_session_cookie(&state.settings));
    Ok(no_store((StatusCode::NO_CONTENT, jar).into_response()))
}
