//! Links mailed to an address: verification (the link's page posts its
//! token here; a signed-in user can ask for a new link) and password reset
//! (forgot → mail → reset, in either mode).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use latchkey_types::{
    ChangeEmailRequest, EmailTokenRequest, ErrorBody, ForgotPasswordRequest, ResendVerificationRequest,
    ResetPasswordRequest, SessionLoginResponse, TokenResponse, User,
};
use serde::de::IgnoredAny;

use super::auth::signed_in_response;
use super::client::ClientInfo;
use super::extract::AuthUser;
use super::json::ApiJson;
use super::{ApiResult, AppState};
use crate::auth::rate::AddressBudget;
use crate::store::sessions::SessionKind;

/// Uses a verification or email-change link's token (from the page's
/// `#token=…`).
#[utoipa::path(
    post, path = "/auth/email/verify", tag = "email",
    request_body = EmailTokenRequest,
    responses(
        (status = 200, description = "The address is verified (if it is still the account's).", body = User),
        (status = 400, description = "`invalid_token`: used, expired or unknown", body = ErrorBody),
        (status = 409, description = "`email_taken`: an email-change link whose address another account took meanwhile", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<EmailTokenRequest>,
) -> ApiResult<Json<User>> {
    state.limit_address(&client, AddressBudget::SignIn).await?;
    Ok(Json(state.verify_email(&body.token, &client).await?.to_api()))
}

/// Mails a new verification link to the signed-in user's address (nothing
/// when it is verified already).
#[utoipa::path(
    post, path = "/me/email/verify", tag = "email",
    request_body(content = Object, description = "`{}`"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 202, description = "A link is on its way (or the address is verified already)."),
        (status = 429, description = "`rate_limited`: too many mails to this address or from this client", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn resend(
    State(state): State<AppState>,
    auth: AuthUser,
    client: ClientInfo,
    ApiJson(_): ApiJson<IgnoredAny>,
) -> ApiResult<StatusCode> {
    state.resend_verification(&auth, &client).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Asks for a new verification link by address, for someone who cannot
/// sign in until the address is verified. Always 202 at once, like
/// `forgot`: the answer says nothing about who has an account.
#[utoipa::path(
    post, path = "/auth/email/resend", tag = "email",
    request_body = ResendVerificationRequest,
    responses(
        (status = 202, description = "If the address belongs to an account that is not verified yet, a link is on its way."),
        (status = 422, description = "`validation_failed`: longer than any address", body = ErrorBody),
        (status = 429, description = "`rate_limited` (per client address)", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn resend_public(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<ResendVerificationRequest>,
) -> ApiResult<StatusCode> {
    refuse_overlong(&body.email)?;
    state.limit_address(&client, AddressBudget::SignIn).await?;
    tokio::spawn(async move { state.resend_verification_to(&body.email, &client).await });
    Ok(StatusCode::ACCEPTED)
}

/// Longer than any address can be: refused as the contract says, which
/// tells nothing about any account.
fn refuse_overlong(email: &str) -> ApiResult<()> {
    if email.chars().count() > latchkey_types::email::EMAIL_MAX_LEN {
        return Err(super::ApiError::validation(latchkey_types::FieldErrors::from([(
            "email".to_string(),
            vec!["must be at most 254 characters".to_string()],
        )])));
    }
    Ok(())
}

/// Asks to change the account's address: needs the password; mails a
/// confirmation link to the new address and a notice to the old one. The
/// address changes only when the link is used.
#[utoipa::path(
    post, path = "/me/email", tag = "email",
    request_body = ChangeEmailRequest,
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 202, description = "A confirmation link is on its way to the new address."),
        (status = 409, description = "`email_taken`: another account has this address", body = ErrorBody),
        (status = 422, description = "`validation_failed`: the password is wrong, or the address is not one", body = ErrorBody),
        (status = 429, description = "`rate_limited` (password attempts, or mails)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn change(
    State(state): State<AppState>,
    auth: AuthUser,
    client: ClientInfo,
    ApiJson(body): ApiJson<ChangeEmailRequest>,
) -> ApiResult<StatusCode> {
    state
        .request_email_change(&auth, &body.new_email, &body.password, &client)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Asks for a password-reset link. Always 202 at once, with nothing in the
/// body, whether or not the address has an account: the work happens after
/// the answer, so neither the answer nor its timing tells anything.
#[utoipa::path(
    post, path = "/auth/password/forgot", tag = "email",
    request_body = ForgotPasswordRequest,
    responses(
        (status = 202, description = "If the address belongs to an account, a link is on its way."),
        (status = 422, description = "`validation_failed`: longer than any address", body = ErrorBody),
        (status = 429, description = "`rate_limited` (per client address)", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn forgot(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<ForgotPasswordRequest>,
) -> ApiResult<StatusCode> {
    refuse_overlong(&body.email)?;
    state.limit_address(&client, AddressBudget::SignIn).await?;
    tokio::spawn(async move { state.forgot_password(&body.email, &client).await });
    Ok(StatusCode::ACCEPTED)
}

/// Uses a reset link (JWT mode): new password, every session ended, this
/// device signed in.
#[utoipa::path(
    post, path = "/auth/password/reset", tag = "email",
    request_body = ResetPasswordRequest,
    responses(
        (status = 200, description = "Signed in with the new password; every other session is revoked.", body = TokenResponse,
            headers(("Set-Cookie" = String, description = "The refresh cookie."))),
        (status = 400, description = "`invalid_token`: used, expired or unknown", body = ErrorBody),
        (status = 422, description = "`validation_failed`: the new password is refused (the link still works)", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn reset_jwt(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    ApiJson(body): ApiJson<ResetPasswordRequest>,
) -> ApiResult<Response> {
    reset(state, client, jar, body, SessionKind::Jwt).await
}

/// Uses a reset link (session mode): as `/auth/password/reset`, signing in
/// with a session cookie.
#[utoipa::path(
    post, path = "/session/password/reset", tag = "email",
    request_body = ResetPasswordRequest,
    responses(
        (status = 200, description = "Signed in with the new password; every other session is revoked.", body = SessionLoginResponse,
            headers(("Set-Cookie" = String, description = "The session cookie."))),
        (status = 400, description = "`invalid_token`: used, expired or unknown", body = ErrorBody),
        (status = 422, description = "`validation_failed`: the new password is refused (the link still works)", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn reset_session(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    ApiJson(body): ApiJson<ResetPasswordRequest>,
) -> ApiResult<Response> {
    reset(state, client, jar, body, SessionKind::Cookie).await
}

/// Both reset routes: the mode decides only the credential handed out.
async fn reset(
    state: AppState,
    client: ClientInfo,
    jar: CookieJar,
    body: ResetPasswordRequest,
    kind: SessionKind,
) -> ApiResult<Response> {
    let signed_in = state
        .reset_password(&body.token, &body.password, body.code.as_deref(), kind, &client)
        .await?;
    Ok(signed_in_response(&state, StatusCode::OK, jar, signed_in))
}
