//! `/api/me*`: the signed-in user's profile, password and sessions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use latchkey_types::{ChangePasswordRequest, ErrorBody, ErrorCode, FieldErrors, Session, UpdateMeRequest, User};

use super::client::ClientInfo;
use super::cookies::session_cookie;
use super::extract::{AuthUser, KeyOrUser};
use super::json::ApiJson;
use super::{ApiError, ApiResult, AppState};
use crate::core::clock::from_ms;
use crate::core::identity::DisplayName;
use crate::store::sessions::SessionRecord;

/// Served from the profile cache when it can be (`auth::caches`). API keys
/// reach this route.
#[utoipa::path(
    get, path = "/me", tag = "me",
    security(("bearer" = []), ("session" = []), ("api_key" = [])),
    responses((status = 200, description = "The signed-in user.", body = User))
)]
pub async fn get_me(State(state): State<AppState>, auth: KeyOrUser) -> ApiResult<axum::response::Response> {
    let json = state.profile_json(&auth).await?;
    let content_type = axum::http::HeaderValue::from_static("application/json");
    Ok(([(axum::http::header::CONTENT_TYPE, content_type)], json).into_response())
}

/// `{"display_name": "…"}` sets it; `null` or blank clears it; a body
/// without the field changes nothing. Other fields are ignored. API keys
/// with the `full` scope reach this route.
#[utoipa::path(
    patch, path = "/me", tag = "me",
    request_body = UpdateMeRequest,
    security(("bearer" = []), ("session" = [], "csrf" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The user as it is now.", body = User),
        (status = 422, description = "`validation_failed`", body = ErrorBody),
    )
)]
pub async fn patch_me(
    State(state): State<AppState>,
    auth: KeyOrUser,
    ApiJson(body): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<Json<User>> {
    let Some(value) = body.get("display_name") else {
        return Ok(Json(state.current_user(&auth).await?.to_api()));
    };
    let name = match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => DisplayName::parse(s).map_err(|why| field_error("display_name", why))?,
        _ => return Err(ApiError::bad_request("display_name must be a string or null.")),
    };
    Ok(Json(state.set_display_name(&auth, name.as_ref()).await?.to_api()))
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
    let rekeyed = state
        .change_password(&auth, &body.current_password, &body.new_password, &client)
        .await?;
    match rekeyed {
        Some(new_secret) => {
            let cookie = session_cookie(&state.settings, &new_secret, state.cookie_remaining_secs(&auth));
            Ok((StatusCode::NO_CONTENT, jar.add(cookie)).into_response())
        }
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

pub fn to_api_session(record: &SessionRecord, current: uuid::Uuid) -> Session {
    Session {
        id: record.id,
        kind: record.kind,
        created_at: from_ms(record.created_at),
        last_seen_at: from_ms(record.last_seen_at),
        expires_at: from_ms(record.idle_expires_at.min(record.expires_at)),
        user_agent: record.user_agent.clone(),
        ip: record.ip.clone(),
        current: record.id == current,
    }
}

#[utoipa::path(
    get, path = "/me/sessions", tag = "me",
    security(("bearer" = []), ("session" = []), ("api_key" = [])),
    responses((status = 200, description = "The user's live sessions.", body = [Session]))
)]
pub async fn list_sessions(State(state): State<AppState>, auth: KeyOrUser) -> ApiResult<Json<Vec<Session>>> {
    let sessions = state.db.live_sessions(auth.user_id, state.now()).await?;
    Ok(Json(
        sessions.iter().map(|s| to_api_session(s, auth.session_id)).collect(),
    ))
}

/// 404 for an id that is not one of the caller's sessions: whether it
/// exists for someone else is none of the caller's business.
#[utoipa::path(
    delete, path = "/me/sessions/{id}", tag = "me",
    params(("id" = Uuid, Path, description = "A session id")),
    security(("bearer" = []), ("session" = [], "csrf" = []), ("api_key" = [])),
    responses(
        (status = 204, description = "The session is revoked."),
        (status = 404, description = "`not_found`: no live session of the caller's has this id", body = ErrorBody),
    )
)]
pub async fn delete_session(
    State(state): State<AppState>,
    auth: KeyOrUser,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = super::parse_id(&id).ok_or_else(|| ApiError::new(ErrorCode::NotFound, "No such session."))?;
    state.revoke_own_session(&auth, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
