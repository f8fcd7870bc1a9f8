//! Email verification: the link's page posts its token here; a signed-in
//! user can ask for a new link.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use latchkey_types::{EmailTokenRequest, ErrorBody, User};
use serde::de::IgnoredAny;

use super::client::ClientInfo;
use super::extract::AuthUser;
use super::json::ApiJson;
use super::{ApiResult, AppState};
use crate::auth::rate::AddressBudget;

/// Uses a verification link's token (from the page's `#token=…`).
#[utoipa::path(
    post, path = "/auth/email/verify", tag = "email",
    request_body = EmailTokenRequest,
    responses(
        (status = 200, description = "The address is verified (if it is still the account's).", body = User),
        (status = 400, description = "`invalid_token`: used, expired or unknown", body = ErrorBody),
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
