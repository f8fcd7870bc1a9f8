//! Second factors over HTTP: the second step of a sign-in (either mode),
//! the caller's authenticator app and recovery codes, and step-up. Thin
//! responders over `auth::factors`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use latchkey_types::{
    ErrorBody, MfaStatus, MfaVerifyRequest, ReauthRequest, RecoveryCodes, SessionLoginResponse, TokenResponse,
    TotpConfirmRequest, TotpEnrolment,
};
use serde::de::IgnoredAny;

use super::auth::signed_in_response;
use super::client::ClientInfo;
use super::extract::AuthUser;
use super::json::ApiJson;
use super::{ApiResult, AppState};
use crate::auth::error::AuthError;
use crate::auth::factors::FactorAnswer;
use crate::store::sessions::SessionKind;

/// The second step of a JWT-mode sign-in: the challenge of the 401
/// `mfa_required` and a code.
#[utoipa::path(
    post, path = "/auth/mfa/verify", tag = "mfa",
    request_body = MfaVerifyRequest,
    responses(
        (status = 200, description = "Signed in; the refresh cookie is set (with `\"client\": \"native\"`, as for the sign-in that made the challenge, `refresh_token` is in the body instead).", body = TokenResponse,
            headers(("Set-Cookie" = String, description = "The refresh cookie; none for a native client."))),
        (status = 400, description = "`invalid_token`: the challenge is used, expired (5 minutes), unknown, or was made for the other kind of client: sign in again", body = ErrorBody),
        (status = 401, description = "`invalid_credentials`: the code is wrong or was used already (the challenge still works)", body = ErrorBody),
        (status = 422, description = "`validation_failed`: neither or both of `code` and `passkey`, or a `passkey.credential` that is not a WebAuthn answer", body = ErrorBody),
        (status = 429, description = "`rate_limited` (codes count like passwords, per account)", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn verify_jwt(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    ApiJson(body): ApiJson<MfaVerifyRequest>,
) -> ApiResult<Response> {
    let kind = super::auth::token_kind(&state, &jar, body.client)?;
    verify(state, client, jar, body, kind).await
}

/// The second step of a session-mode sign-in.
#[utoipa::path(
    post, path = "/session/mfa/verify", tag = "mfa",
    request_body = MfaVerifyRequest,
    responses(
        (status = 200, description = "Signed in; the session cookie is set.", body = SessionLoginResponse,
            headers(("Set-Cookie" = String, description = "The session cookie."))),
        (status = 400, description = "`invalid_token`: the challenge is used, expired or unknown", body = ErrorBody),
        (status = 401, description = "`invalid_credentials`: the code is wrong or was used already", body = ErrorBody),
        (status = 422, description = "`validation_failed`: neither or both of `code` and `passkey`, or a malformed answer", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn verify_session(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    ApiJson(body): ApiJson<MfaVerifyRequest>,
) -> ApiResult<Response> {
    super::session::cookie_client(body.client)?;
    verify(state, client, jar, body, SessionKind::Cookie).await
}

async fn verify(
    state: AppState,
    client: ClientInfo,
    jar: CookieJar,
    body: MfaVerifyRequest,
    kind: SessionKind,
) -> ApiResult<Response> {
    let answer = match (&body.code, &body.passkey) {
        (Some(code), None) => FactorAnswer::Code(code),
        (None, Some(passkey)) => FactorAnswer::Passkey(passkey),
        _ => {
            return Err(AuthError::field("code", "send a code or a passkey's answer (`passkey`), one of them").into());
        }
    };
    let signed_in = state
        .complete_second_factor(&body.challenge_id, answer, kind, &client)
        .await?;
    Ok(signed_in_response(&state, StatusCode::OK, jar, signed_in))
}

/// The caller's second factors.
#[utoipa::path(
    get, path = "/me/mfa", tag = "mfa",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "What protects the account besides the password.", body = MfaStatus))
)]
pub async fn status(State(state): State<AppState>, auth: AuthUser) -> ApiResult<Json<MfaStatus>> {
    Ok(Json(state.mfa_status(&auth).await?))
}

/// Starts setting up an authenticator app: a new secret (as a QR code, an
/// `otpauth://` URI and base32), active once confirmed with a code.
#[utoipa::path(
    post, path = "/me/mfa/totp", tag = "mfa",
    request_body(content = Object, description = "`{}`"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The secret to add to the app; shown once.", body = TotpEnrolment),
        (status = 401, description = "`reauth_required`: authenticate again first (`POST /api/me/reauth`)", body = ErrorBody),
        (status = 409, description = "`conflict`: an authenticator app is set up already", body = ErrorBody),
    )
)]
pub async fn begin_totp(
    State(state): State<AppState>,
    auth: AuthUser,
    client: ClientInfo,
    ApiJson(_): ApiJson<IgnoredAny>,
) -> ApiResult<Json<TotpEnrolment>> {
    Ok(Json(state.begin_totp(&auth, &client).await?))
}

/// Confirms the authenticator app with the code it shows: from now on
/// sign-in asks for a code. Answers ten recovery codes, shown this once.
#[utoipa::path(
    post, path = "/me/mfa/totp/confirm", tag = "mfa",
    request_body = TotpConfirmRequest,
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "Active; the recovery codes, shown once.", body = RecoveryCodes),
        (status = 401, description = "`reauth_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: no set-up in progress", body = ErrorBody),
        (status = 422, description = "`validation_failed`: not the code the app shows now", body = ErrorBody),
    )
)]
pub async fn confirm_totp(
    State(state): State<AppState>,
    auth: AuthUser,
    client: ClientInfo,
    ApiJson(body): ApiJson<TotpConfirmRequest>,
) -> ApiResult<Json<RecoveryCodes>> {
    Ok(Json(state.confirm_totp(&auth, &body.code, &client).await?))
}

/// Removes the authenticator app and its recovery codes; every other
/// session of the account ends.
#[utoipa::path(
    delete, path = "/me/mfa/totp", tag = "mfa",
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 204, description = "Removed; other sessions are revoked."),
        (status = 401, description = "`reauth_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: there is none", body = ErrorBody),
    )
)]
pub async fn disable_totp(State(state): State<AppState>, auth: AuthUser, client: ClientInfo) -> ApiResult<StatusCode> {
    state.disable_totp(&auth, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ten new recovery codes; the old ones stop working and every other
/// session ends.
#[utoipa::path(
    post, path = "/me/mfa/recovery-codes", tag = "mfa",
    request_body(content = Object, description = "`{}`"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The new codes, shown once.", body = RecoveryCodes),
        (status = 401, description = "`reauth_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: no authenticator app is set up", body = ErrorBody),
    )
)]
pub async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    auth: AuthUser,
    client: ClientInfo,
    ApiJson(_): ApiJson<IgnoredAny>,
) -> ApiResult<Json<RecoveryCodes>> {
    Ok(Json(state.regenerate_recovery_codes(&auth, &client).await?))
}

/// Step-up: the password again (and a code when the account has a second
/// factor) makes this session's authentication recent, for the actions
/// that answer `reauth_required`.
#[utoipa::path(
    post, path = "/me/reauth", tag = "mfa",
    request_body = ReauthRequest,
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 204, description = "Recent for `LATCHKEY_REAUTH_SECS` (600 s)."),
        (status = 422, description = "`validation_failed`: the password (`password`) or the code (`code`) is wrong", body = ErrorBody),
        (status = 429, description = "`rate_limited` (counted like sign-in attempts)", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn reauth(
    State(state): State<AppState>,
    auth: AuthUser,
    client: ClientInfo,
    ApiJson(body): ApiJson<ReauthRequest>,
) -> ApiResult<StatusCode> {
    state
        .reauthenticate(&auth, &body.password, body.code.as_deref(), &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
