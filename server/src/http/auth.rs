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
use latchkey_types::{
    ClientKind, ErrorBody, ErrorCode, LoginRequest, RefreshRequest, RegisterRequest, SessionLoginResponse,
    TokenResponse, User,
};
use secrecy::{ExposeSecret, SecretString};
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
            native,
        } => {
            let mut body = TokenResponse {
                access_token,
                token_type: "Bearer".into(),
                expires_in,
                user,
                refresh_token: None,
                refresh_expires_in: None,
            };
            if native {
                body.refresh_token = Some(refresh_token.expose_secret().to_string());
                body.refresh_expires_in = Some(refresh_max_age.max(0) as u64);
                return (status, axum::Json(body)).into_response();
            }
            let jar = jar.add(refresh_cookie(&state.settings, &refresh_token, refresh_max_age));
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

/// Signs in (JWT mode): an access token in the body, the refresh cookie set
/// — or, with `"client": "native"`, the refresh token in the body too.
#[utoipa::path(
    post, path = "/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; the refresh cookie is set (a native client gets `refresh_token` in the body instead).", body = TokenResponse,
            headers(("Set-Cookie" = String, description = "The refresh cookie; none for a native client."))),
        (status = 400, description = "`bad_request`: a native sign-in that carries a Latchkey cookie", body = ErrorBody),
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
    let kind = token_kind(&state, &jar, body.client)?;
    let signed_in = state.sign_in(&body, kind, &client).await?;
    Ok(signed_in_response(&state, StatusCode::OK, jar, signed_in))
}

/// The kind of token session a `/api/auth/*` request asks for. A native
/// client's requests carry no cookies of ours: a request that holds both a
/// body token and a cookie is refused, so the two can never be mixed.
pub fn token_kind(state: &AppState, jar: &CookieJar, client: ClientKind) -> ApiResult<SessionKind> {
    match client {
        ClientKind::Browser => Ok(SessionKind::Jwt),
        ClientKind::Native if holds_our_cookie(state, jar) => Err(mixed_credentials()),
        ClientKind::Native => Ok(SessionKind::Native),
    }
}

fn holds_our_cookie(state: &AppState, jar: &CookieJar) -> bool {
    jar.get(&state.settings.refresh_cookie).is_some() || jar.get(&state.settings.session_cookie).is_some()
}

fn mixed_credentials() -> ApiError {
    ApiError::new(
        ErrorCode::BadRequest,
        "A native client's request carries its refresh token in the body and no cookies; this one had both.",
    )
}

/// Where a request's refresh token is: the browser's cookie, or a native
/// client's body (never both).
fn presented_refresh(
    state: &AppState,
    jar: &CookieJar,
    body: RefreshRequest,
) -> ApiResult<Option<(SecretString, SessionKind)>> {
    match body.refresh_token {
        Some(_) if holds_our_cookie(state, jar) => Err(mixed_credentials()),
        Some(token) if token.is_empty() || token.len() > 128 => Err(AuthError::InvalidRefreshToken.into()),
        Some(token) => Ok(Some((SecretString::from(token), SessionKind::Native))),
        None => Ok(read_refresh_token(jar, &state.settings).map(|t| (t, SessionKind::Jwt))),
    }
}

/// Renews the access token and rotates the refresh token: the browser's
/// cookie, or the `refresh_token` a native client sends in the body. A
/// rotated-away token presented after the grace window is reuse: the
/// session ends.
#[utoipa::path(
    post, path = "/auth/refresh", tag = "auth",
    request_body(content = RefreshRequest, description = "`{}` from the browser; `{\"refresh_token\": …}` from a native client"),
    security((), ("refresh" = [])),
    responses(
        (status = 200, description = "A new access token; the rotated refresh cookie is set (a native client gets the rotated `refresh_token` in the body).", body = TokenResponse,
            headers(("Set-Cookie" = String, description = "The rotated refresh cookie; none for a native client."))),
        (status = 204, description = "No refresh token was sent: nothing to renew (a signed-out browser's page load)."),
        (status = 400, description = "`bad_request`: a body token and a cookie together", body = ErrorBody),
        (status = 401, description = "`invalid_refresh_token`: unknown, malformed, expired, revoked or reused, or presented the other way than its session was started; the cookie is cleared", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Response {
    // Nothing to renew and nothing wrong: a first visit, or a signed-out
    // browser, asks on every page load (no error in its console).
    if body.refresh_token.is_none() && jar.get(&state.settings.refresh_cookie).is_none() {
        return StatusCode::NO_CONTENT.into_response();
    }
    if let Err(err) = state
        .limit_address(&client, crate::auth::rate::AddressBudget::Refresh)
        .await
    {
        return ApiError::from(err).into_response();
    }
    let (presented, kind) = match presented_refresh(&state, &jar, body) {
        Ok(Some(presented)) => presented,
        Ok(None) => return with_cleared_cookie(&state, jar, AuthError::InvalidRefreshToken.into()),
        Err(err) => return err.into_response(),
    };
    match state.refresh(&presented, kind, &client).await {
        Ok(signed_in) => signed_in_response(&state, StatusCode::OK, jar, signed_in),
        Err(AuthError::InvalidRefreshToken) if kind == SessionKind::Native => {
            ApiError::from(AuthError::InvalidRefreshToken).into_response()
        }
        Err(AuthError::InvalidRefreshToken) => with_cleared_cookie(&state, jar, AuthError::InvalidRefreshToken.into()),
        Err(err) => ApiError::from(err).into_response(),
    }
}

/// Ends the session named by the refresh token (the cookie, or a native
/// client's body) or the Bearer token.
#[utoipa::path(
    post, path = "/auth/logout", tag = "auth",
    request_body(content = RefreshRequest, description = "`{}` from the browser; `{\"refresh_token\": …}` from a native client"),
    security(("refresh" = []), ("bearer" = [])),
    responses(
        (status = 204, description = "The session is revoked and the refresh cookie cleared."),
        (status = 400, description = "`bad_request`: a body token and a cookie together", body = ErrorBody),
        (status = 401, description = "`invalid_refresh_token`: neither the refresh token nor a valid Bearer token names a live session; the cookie is cleared", body = ErrorBody),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    MaybeAuthUser(bearer): MaybeAuthUser,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> ApiResult<Response> {
    let presented = presented_refresh(&state, &jar, body)?;
    let presented = presented.as_ref().map(|(token, kind)| (token, *kind));
    match state.sign_out_jwt(presented, bearer.as_deref(), &client).await {
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
