//! `/api/me/api-keys` and the administrator's `/api/admin/…/api-keys`:
//! personal API keys, thin responders over `auth::api_keys`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_types::{ApiKey, CreateApiKeyRequest, CreatedApiKey, ErrorBody, ErrorCode};
use secrecy::ExposeSecret;

use super::admin::AdminUser;
use super::client::ClientInfo;
use super::extract::{AuthUser, KeyOrUser};
use super::json::ApiJson;
use super::{ApiError, ApiResult, AppState};
use crate::core::clock::from_ms;
use crate::store::api_keys::ApiKeyRecord;

pub fn to_api_key(record: &ApiKeyRecord, now: i64) -> ApiKey {
    ApiKey {
        id: record.id,
        name: record.name.clone(),
        prefix: record.prefix.clone(),
        scope: record.scope,
        created_at: from_ms(record.created_at),
        expires_at: record.expires_at.map(from_ms),
        last_used_at: record.last_used_at.map(from_ms),
        expired: !record.is_live(now),
    }
}

fn no_such_key() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "No such API key.")
}

/// The caller's keys (not the revoked ones), newest first. API keys reach
/// this route.
#[utoipa::path(
    get, path = "/me/api-keys", tag = "api-keys",
    security(("bearer" = []), ("session" = []), ("api_key" = [])),
    responses((status = 200, description = "The caller's API keys.", body = [ApiKey]))
)]
pub async fn list(State(state): State<AppState>, auth: KeyOrUser) -> ApiResult<Json<Vec<ApiKey>>> {
    let now = state.now();
    let keys = state.api_keys(auth.user_id).await?;
    Ok(Json(keys.iter().map(|k| to_api_key(k, now)).collect()))
}

/// Makes a key. It is in this answer once and never again (only its hash
/// is kept). Needs a session (not a key) whose last full authentication is
/// recent.
#[utoipa::path(
    post, path = "/me/api-keys", tag = "api-keys",
    request_body = CreateApiKeyRequest,
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "The key, shown this once.", body = CreatedApiKey),
        (status = 401, description = "`reauth_required`: authenticate again (`POST /api/me/reauth`), then repeat", body = ErrorBody),
        (status = 403, description = "`forbidden`: an API key cannot make keys", body = ErrorBody),
        (status = 409, description = "`conflict`: as many live keys as an account may hold (25)", body = ErrorBody),
        (status = 422, description = "`validation_failed`: the name (1–64 characters) or `expires_in_days` (1–365)", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    auth: AuthUser,
    client: ClientInfo,
    ApiJson(body): ApiJson<CreateApiKeyRequest>,
) -> ApiResult<(StatusCode, Json<CreatedApiKey>)> {
    let (record, key) = state.create_api_key(&auth, &body, &client).await?;
    let created = CreatedApiKey {
        key: key.expose_secret().to_string(),
        api_key: to_api_key(&record, state.now()),
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revokes one of the caller's keys at once, on every server (a key may
/// revoke itself). 404 for a key that is not the caller's.
#[utoipa::path(
    delete, path = "/me/api-keys/{id}", tag = "api-keys",
    params(("id" = Uuid, Path, description = "An API key id")),
    security(("bearer" = []), ("session" = [], "csrf" = []), ("api_key" = [])),
    responses(
        (status = 204, description = "The key is revoked."),
        (status = 404, description = "`not_found`: no unrevoked key of the caller's has this id", body = ErrorBody),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    auth: KeyOrUser,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = super::parse_id(&id).ok_or_else(no_such_key)?;
    state.revoke_own_api_key(&auth, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's keys (not the revoked ones).
#[utoipa::path(
    get, path = "/admin/users/{id}/api-keys", tag = "admin",
    params(("id" = Uuid, Path, description = "A user id")),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The user's API keys.", body = [ApiKey]),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
pub async fn admin_list(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<ApiKey>>> {
    let no_user = || ApiError::new(ErrorCode::NotFound, "No such user.");
    let id = super::parse_id(&id).ok_or_else(no_user)?;
    state.db.find_user(id).await?.ok_or_else(no_user)?;
    let now = state.now();
    let keys = state.api_keys(id).await?;
    Ok(Json(keys.iter().map(|k| to_api_key(k, now)).collect()))
}

/// Revokes anyone's key (audited as the administrator's act).
#[utoipa::path(
    delete, path = "/admin/api-keys/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "An API key id")),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 204, description = "The key is revoked."),
        (status = 404, description = "`not_found`: no unrevoked key has this id", body = ErrorBody),
    )
)]
pub async fn admin_revoke(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = super::parse_id(&id).ok_or_else(no_such_key)?;
    state.admin_revoke_api_key(&admin, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
