//! `/api/me*`: the signed-in user's profile, password and sessions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use latchkey_types::{ChangePasswordRequest, ErrorBody, ErrorCode, FieldErrors, Session, UpdateMeRequest, User};

use super::auth::{audit_session_event, no_store};
use super::client::ClientInfo;
use super::cookies::session_cookie;
use super::extract::{AuthUser, Credential, invalid_token};
use super::json::ApiJson;
use super::rate::limit_account;
use super::{ApiError, ApiResult, AppState};
use crate::auth::{cookie_sessions, sessions};
use crate::core::clock::{from_ms, now_ms};
use crate::core::identity::{DisplayName, Email};
use crate::store::sessions::{RevokeReason, SessionRecord};
use crate::store::users::UserRecord;

async fn current_user(state: &AppState, auth: &AuthUser) -> ApiResult<UserRecord> {
    // A valid token for a user that no longer exists is no credential.
    state.db.find_user(auth.user_id).await?.ok_or_else(invalid_token)
}

/// Served from the profile cache when it can be (`auth::caches`).
#[utoipa::path(
    get, path = "/me", tag = "me",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The signed-in user.", body = User))
)]
pub async fn get_me(State(state): State<AppState>, auth: AuthUser) -> ApiResult<Json<User>> {
    let now = now_ms();
    if let Some(user) = state.users.get(auth.user_id, now) {
        return Ok(Json(user));
    }
    let user = current_user(&state, &auth).await?.to_api();
    state.users.insert(user.clone(), now);
    Ok(Json(user))
}

/// `{"display_name": "…"}` sets it; `null` or blank clears it; a body
/// without the field changes nothing. Other fields are ignored.
#[utoipa::path(
    patch, path = "/me", tag = "me",
    request_body = UpdateMeRequest,
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The user as it is now.", body = User),
        (status = 422, description = "`validation_failed`", body = ErrorBody),
    )
)]
pub async fn patch_me(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<Json<User>> {
    let user = current_user(&state, &auth).await?;
    let Some(value) = body.get("display_name") else {
        return Ok(Json(user.to_api()));
    };
    let name = match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => DisplayName::parse(s).map_err(|why| field_error("display_name", why))?,
        _ => return Err(ApiError::bad_request("display_name must be a string or null.")),
    };
    state.db.set_display_name(auth.user_id, name.as_ref()).await?;
    state.users.forget(auth.user_id);
    Ok(Json(current_user(&state, &auth).await?.to_api()))
}

fn field_error(field: &str, problem: impl Into<String>) -> ApiError {
    ApiError::validation(FieldErrors::from([(field.to_string(), vec![problem.into()])]))
}

/// Needs the current password (rate-limited like a login: a stolen access
/// token must not become a password-guessing oracle); revokes every other
/// session in the same transaction as the new hash.
#[utoipa::path(
    post, path = "/me/password", tag = "me",
    request_body = ChangePasswordRequest,
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 204, description = "Changed; every other session is revoked."),
        (status = 422, description = "`validation_failed`: the current password is wrong or the new one is refused", body = ErrorBody),
        (status = 429, description = "`rate_limited` (wrong current passwords count as failed logins)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    auth: AuthUser,
    client: ClientInfo,
    jar: CookieJar,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> ApiResult<Response> {
    let user = current_user(&state, &auth).await?;
    let email = Email::parse(&user.email).map_err(ApiError::internal)?;
    let bucket = limit_account(&state, &email).await?;
    if !state
        .hasher
        .verify(&body.current_password, Some(&user.password_hash))
        .await?
    {
        return Err(field_error("current_password", "is not your current password"));
    }
    state.db.clear_rate_limit(&bucket).await?;
    let new_password = state
        .check_password(&body.new_password, Some(&email))
        .await?
        .map_err(|problems| ApiError::validation(FieldErrors::from([("new_password".to_string(), problems)])))?;
    let hash = state.hasher.hash(&new_password).await?;
    let now = now_ms();
    let revoked = state
        .db
        .change_password(auth.user_id, &hash, auth.session_id, now)
        .await?;
    state.note_revoked(&revoked, now);
    audit_session_event(&state, &client, "password.changed", auth.user_id, Some(auth.session_id)).await;
    // A cookie session gets a new id with the new password: whoever copied
    // the old cookie holds nothing now.
    if let Credential::SessionCookie(secret, session) = &auth.credential
        && let Some(new_secret) = cookie_sessions::rekey(&state, secret, session).await?
    {
        let cookie = session_cookie(&state.settings, &new_secret, cookie_sessions::remaining_secs(session));
        return Ok(no_store((StatusCode::NO_CONTENT, jar.add(cookie)).into_response()));
    }
    Ok(no_store(StatusCode::NO_CONTENT.into_response()))
}

pub fn to_api_session(record: &SessionRecord, current: uuid::Uuid) -> Session {
    Session {
        id: record.id(),
        created_at: from_ms(record.created_at),
        last_seen_at: from_ms(record.last_seen_at),
        expires_at: from_ms(record.idle_expires_at.min(record.expires_at)),
        user_agent: record.user_agent.clone(),
        ip: record.ip.clone(),
        current: record.id() == current,
    }
}

#[utoipa::path(
    get, path = "/me/sessions", tag = "me",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The user's live sessions.", body = [Session]))
)]
pub async fn list_sessions(State(state): State<AppState>, auth: AuthUser) -> ApiResult<Json<Vec<Session>>> {
    let sessions = state.db.live_sessions(auth.user_id, now_ms()).await?;
    Ok(Json(
        sessions.iter().map(|s| to_api_session(s, auth.session_id)).collect(),
    ))
}

/// 404 for an id that is not one of the caller's sessions: whether it
/// exists for someone else is none of the caller's business.
#[utoipa::path(
    delete, path = "/me/sessions/{id}", tag = "me",
    params(("id" = Uuid, Path, description = "A session id")),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 204, description = "The session is revoked."),
        (status = 404, description = "`not_found`: no live session of the caller's has this id", body = ErrorBody),
    )
)]
pub async fn delete_session(
    State(state): State<AppState>,
    auth: AuthUser,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let not_found = || ApiError::new(ErrorCode::NotFound, "No such session.");
    let id = super::parse_id(&id).ok_or_else(not_found)?;
    let session = state.db.find_session(id).await?.ok_or_else(not_found)?;
    if session.user_id() != auth.user_id || !session.is_live(now_ms()) {
        return Err(not_found());
    }
    if sessions::end_session(&state, id, RevokeReason::UserRevoked).await? {
        audit_session_event(&state, &client, "session.revoked", auth.user_id, Some(id)).await;
    }
    Ok(StatusCode::NO_CONTENT)
}
