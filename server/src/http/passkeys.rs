//! Passkeys over HTTP: adding, renaming and removing the caller's passkeys,
//! username-less sign-in (either mode), the passkey ceremonies for the
//! second step of a sign-in and for step-up. Thin responders over
//! `auth::passkeys`. Every `…/options` answers a ceremony for the browser;
//! its answer comes back with the `ceremony_id`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use latchkey_types::{
    ErrorBody, ErrorCode, MfaPasskeyOptionsRequest, PasskeyAdded, PasskeyAssertion, PasskeyOptions,
    PasskeyRegistration, PasskeyRename, SessionLoginResponse, TokenResponse,
};
use serde::de::IgnoredAny;

use super::auth::signed_in_response;
use super::client::ClientInfo;
use super::error::ApiError;
use super::extract::AuthUser;
use super::json::ApiJson;
use super::{ApiResult, AppState};
use crate::store::sessions::SessionKind;

/// Starts adding a passkey: creation options for
/// `navigator.credentials.create` (a discoverable credential, user
/// verification required).
#[utoipa::path(
    post, path = "/me/mfa/passkeys/options", tag = "mfa",
    request_body(content = Object, description = "`{}`"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The ceremony (5 minutes).", body = PasskeyOptions),
        (status = 401, description = "`reauth_required`: authenticate again first", body = ErrorBody),
        (status = 404, description = "`not_found`: passkeys are off (the public origin has no domain name)", body = ErrorBody),
        (status = 409, description = "`conflict`: the account has 20 passkeys", body = ErrorBody),
    )
)]
pub async fn registration_options(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(_): ApiJson<IgnoredAny>,
) -> ApiResult<Json<PasskeyOptions>> {
    Ok(Json(state.begin_passkey_registration(&auth).await?))
}

/// Adds the passkey the browser created. The account's first second
/// factor comes with ten recovery codes, shown this once.
#[utoipa::path(
    post, path = "/me/mfa/passkeys", tag = "mfa",
    request_body = PasskeyRegistration,
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "Added.", body = PasskeyAdded),
        (status = 400, description = "`invalid_token`: the ceremony is used, expired or unknown", body = ErrorBody),
        (status = 401, description = "`reauth_required`", body = ErrorBody),
        (status = 409, description = "`conflict`: this passkey is registered already, or there are 20", body = ErrorBody),
        (status = 422, description = "`validation_failed`: the name, or an answer that does not check out", body = ErrorBody),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    auth: AuthUser,
    client: ClientInfo,
    ApiJson(body): ApiJson<PasskeyRegistration>,
) -> ApiResult<(StatusCode, Json<PasskeyAdded>)> {
    let added = state.finish_passkey_registration(&auth, &body, &client).await?;
    Ok((StatusCode::CREATED, Json(added)))
}

fn no_such_passkey() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "There is no such passkey.")
}

/// Renames one of the caller's passkeys.
#[utoipa::path(
    patch, path = "/me/mfa/passkeys/{id}", tag = "mfa",
    params(("id" = Uuid, Path, description = "A passkey id")),
    request_body = PasskeyRename,
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 204, description = "Renamed."),
        (status = 404, description = "`not_found`: not one of the caller's passkeys", body = ErrorBody),
        (status = 422, description = "`validation_failed`: the name", body = ErrorBody),
    )
)]
pub async fn rename(
    State(state): State<AppState>,
    auth: AuthUser,
    client: ClientInfo,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PasskeyRename>,
) -> ApiResult<StatusCode> {
    let id = super::parse_id(&id).ok_or_else(no_such_passkey)?;
    state.rename_passkey(&auth, id, &body.name, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes one of the caller's passkeys; every other session ends.
#[utoipa::path(
    delete, path = "/me/mfa/passkeys/{id}", tag = "mfa",
    params(("id" = Uuid, Path, description = "A passkey id")),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 204, description = "Removed; other sessions are revoked."),
        (status = 401, description = "`reauth_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: not one of the caller's passkeys", body = ErrorBody),
    )
)]
pub async fn remove(
    State(state): State<AppState>,
    auth: AuthUser,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = super::parse_id(&id).ok_or_else(no_such_passkey)?;
    state.remove_passkey(&auth, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts a username-less sign-in (either mode): request options with no
/// credentials listed, so the browser offers the passkeys it holds.
#[utoipa::path(
    post, path = "/auth/passkey/options", tag = "mfa",
    request_body(content = Object, description = "`{}`"),
    responses(
        (status = 200, description = "The ceremony (5 minutes).", body = PasskeyOptions),
        (status = 404, description = "`not_found`: passkeys are off", body = ErrorBody),
        (status = 429, description = "`rate_limited` (per address, like sign-in)", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn sign_in_options(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(_): ApiJson<IgnoredAny>,
) -> ApiResult<Json<PasskeyOptions>> {
    Ok(Json(state.begin_passkey_sign_in(&client).await?))
}

/// Username-less sign-in, JWT mode: the passkey's answer starts a session.
#[utoipa::path(
    post, path = "/auth/passkey/login", tag = "mfa",
    request_body = PasskeyAssertion,
    responses(
        (status = 200, description = "Signed in; the refresh cookie is set.", body = TokenResponse,
            headers(("Set-Cookie" = String, description = "The refresh cookie."))),
        (status = 400, description = "`invalid_token`: the ceremony is used, expired or unknown", body = ErrorBody),
        (status = 401, description = "`invalid_credentials`: an unknown passkey or an answer that does not check out", body = ErrorBody),
        (status = 403, description = "`email_unverified`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: `credential` is not a WebAuthn answer", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn login_jwt(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    ApiJson(body): ApiJson<PasskeyAssertion>,
) -> ApiResult<Response> {
    let signed_in = state.passkey_sign_in(&body, SessionKind::Jwt, &client).await?;
    Ok(signed_in_response(&state, StatusCode::OK, jar, signed_in))
}

/// Username-less sign-in, session mode.
#[utoipa::path(
    post, path = "/session/passkey/login", tag = "mfa",
    request_body = PasskeyAssertion,
    responses(
        (status = 200, description = "Signed in; the session cookie is set.", body = SessionLoginResponse,
            headers(("Set-Cookie" = String, description = "The session cookie."))),
        (status = 400, description = "`invalid_token`: the ceremony is used, expired or unknown", body = ErrorBody),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 403, description = "`email_unverified`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: `credential` is not a WebAuthn answer", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn login_session(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    ApiJson(body): ApiJson<PasskeyAssertion>,
) -> ApiResult<Response> {
    let signed_in = state.passkey_sign_in(&body, SessionKind::Cookie, &client).await?;
    Ok(signed_in_response(&state, StatusCode::OK, jar, signed_in))
}

/// A passkey ceremony for the second step of a password sign-in (either
/// mode); its answer goes to `…/mfa/verify` as `passkey`.
#[utoipa::path(
    post, path = "/auth/mfa/passkey/options", tag = "mfa",
    request_body = MfaPasskeyOptionsRequest,
    responses(
        (status = 200, description = "The ceremony, for the account's passkeys.", body = PasskeyOptions),
        (status = 400, description = "`invalid_token`: the challenge is used, expired or unknown", body = ErrorBody),
        (status = 404, description = "`not_found`: the account has no passkey, or passkeys are off", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn second_factor_options(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<MfaPasskeyOptionsRequest>,
) -> ApiResult<Json<PasskeyOptions>> {
    Ok(Json(
        state.begin_passkey_second_factor(&body.challenge_id, &client).await?,
    ))
}

/// A passkey ceremony for step-up.
#[utoipa::path(
    post, path = "/me/reauth/passkey/options", tag = "mfa",
    request_body(content = Object, description = "`{}`"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The ceremony, for the caller's passkeys.", body = PasskeyOptions),
        (status = 404, description = "`not_found`: the account has no passkey, or passkeys are off", body = ErrorBody),
    )
)]
pub async fn reauth_options(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(_): ApiJson<IgnoredAny>,
) -> ApiResult<Json<PasskeyOptions>> {
    Ok(Json(state.begin_passkey_reauth(&auth).await?))
}

/// Step-up with a passkey: its answer makes this session's authentication
/// recent.
#[utoipa::path(
    post, path = "/me/reauth/passkey", tag = "mfa",
    request_body = PasskeyAssertion,
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 204, description = "Recent for `LATCHKEY_REAUTH_SECS` (600 s)."),
        (status = 400, description = "`invalid_token`: the ceremony was used meanwhile", body = ErrorBody),
        (status = 422, description = "`validation_failed`: the answer does not check out (`credential`)", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn reauth(
    State(state): State<AppState>,
    auth: AuthUser,
    client: ClientInfo,
    ApiJson(body): ApiJson<PasskeyAssertion>,
) -> ApiResult<StatusCode> {
    state.reauthenticate_with_passkey(&auth, &body, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
