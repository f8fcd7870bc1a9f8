//! `/api/admin/*`: authorization on top of authentication. `AdminUser` is
//! the gate: a handler that takes it runs only for an admin whose session
//! is live; everyone else gets 403 (or 401 without a valid credential).
//! With `LATCHKEY_ADMIN_AUTH=session` it also takes only a session cookie,
//! fresh within the area's idle timeout (`Engine::admit_to_admin_area`).

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use latchkey_types::{
    AdminUpdateUserRequest, AdminUser as AdminUserRow, AdminUserList, AuditEvent, ErrorBody, ErrorCode, FieldErrors,
    Role, Session, User,
};
use serde::Deserialize;
use uuid::Uuid;

use super::client::ClientInfo;
use super::extract::AuthUser;
use super::json::{ApiJson, ApiQuery};
use super::me::to_api_session;
use super::{ApiError, ApiResult, AppState};
use crate::store::accounts::UserChange;

/// An authenticated admin.
pub struct AdminUser(pub AuthUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let auth = AuthUser::from_request_parts(parts, state).await?;
        if auth.role != Role::Admin {
            return Err(ApiError::new(ErrorCode::Forbidden, "This needs an administrator."));
        }
        if state.settings.require_mfa_for_admins && state.db.second_factor_methods(auth.user_id).await?.is_empty() {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "Administrators need two-step sign-in: set up an authenticator app or a passkey on the Security page first.",
            ));
        }
        state.admit_to_admin_area(&auth).await?;
        Ok(AdminUser(auth))
    }
}

fn not_found(what: &'static str) -> ApiError {
    ApiError::new(ErrorCode::NotFound, what)
}

fn parse_id(raw: &str, what: &'static str) -> ApiResult<Uuid> {
    super::parse_id(raw).ok_or_else(|| not_found(what))
}

fn out_of_range(field: &str, problem: &str) -> ApiError {
    ApiError::validation(FieldErrors::from([(field.to_string(), vec![problem.to_string()])]))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Part of an email or display name (matched literally, any case); no
    /// control characters.
    #[serde(default)]
    #[param(max_length = 254, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    q: String,
    /// From 1 (the default).
    #[param(minimum = 1, maximum = 100_000)]
    page: Option<i64>,
    /// Users per page, 20 by default.
    #[param(minimum = 1, maximum = 100)]
    per_page: Option<i64>,
}

#[utoipa::path(
    get, path = "/admin/users", tag = "admin",
    params(UserQuery),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "One page of users, by email.", body = AdminUserList),
        (status = 422, description = "`validation_failed`: a parameter out of range or with control characters", body = ErrorBody),
    )
)]
pub async fn list_users(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(query): ApiQuery<UserQuery>,
) -> ApiResult<Json<AdminUserList>> {
    let page = query.page.unwrap_or(1);
    let per_page = query.per_page.unwrap_or(20);
    if !(1..=100_000).contains(&page) {
        return Err(out_of_range("page", "must be between 1 and 100000"));
    }
    if !(1..=100).contains(&per_page) {
        return Err(out_of_range("per_page", "must be between 1 and 100"));
    }
    if query.q.chars().count() > 254 {
        return Err(out_of_range("q", "must be at most 254 characters"));
    }
    // PostgreSQL text cannot hold NUL, and no email or name holds any
    // control character: refused here rather than failing in the database.
    if query.q.chars().any(char::is_control) {
        return Err(out_of_range("q", "must not contain control characters"));
    }
    let (users, total) = state
        .db
        .search_users(query.q.trim(), per_page, (page - 1) * per_page)
        .await?;
    let ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
    let mut factors = state.admin_factor_statuses(&ids).await?;
    let users = users
        .iter()
        .map(|u| AdminUserRow {
            user: u.to_api(),
            disabled: u.is_disabled(),
            factors: factors.remove(&u.id).unwrap_or_default(),
        })
        .collect();
    Ok(Json(AdminUserList {
        users,
        total: total.max(0) as u64,
    }))
}

#[utoipa::path(
    patch, path = "/admin/users/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "A user id")),
    request_body = AdminUpdateUserRequest,
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The user as it is now; a demotion or disabling has revoked their sessions.", body = User),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`conflict`: that would leave no enabled administrator", body = ErrorBody),
    )
)]
pub async fn update_user(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    client: ClientInfo,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AdminUpdateUserRequest>,
) -> ApiResult<Json<User>> {
    let id = parse_id(&id, "No such user.")?;
    let change = UserChange {
        role: body.role,
        disabled: body.disabled,
    };
    Ok(Json(state.change_user(&admin, id, change, &client).await?.to_api()))
}

/// Removes a user's second factors (a lost phone and no recovery codes,
/// say) and ends every session of theirs; needs a recent authentication.
#[utoipa::path(
    delete, path = "/admin/users/{id}/mfa", tag = "admin",
    params(("id" = Uuid, Path, description = "A user id")),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 204, description = "Removed; the user's sessions are revoked. They sign in with the password alone."),
        (status = 401, description = "`reauth_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user, or no second factor", body = ErrorBody),
    )
)]
pub async fn reset_factors(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id, "No such user.")?;
    state.admin_reset_factors(&admin, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/admin/users/{id}/sessions", tag = "admin",
    params(("id" = Uuid, Path, description = "A user id")),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The user's live sessions.", body = [Session]),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
pub async fn user_sessions(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Session>>> {
    let id = parse_id(&id, "No such user.")?;
    state
        .db
        .find_user(id)
        .await?
        .ok_or_else(|| not_found("No such user."))?;
    let sessions = state.db.live_sessions(id, state.now()).await?;
    Ok(Json(
        sessions.iter().map(|s| to_api_session(s, admin.session_id)).collect(),
    ))
}

#[utoipa::path(
    delete, path = "/admin/sessions/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "A session id")),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 204, description = "The session is revoked."),
        (status = 404, description = "`not_found`: no live session has this id", body = ErrorBody),
    )
)]
pub async fn delete_session(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id, "No such session.")?;
    state.admin_revoke_session(&admin, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Events per page, 50 by default.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Continue after this event id (the last one of the previous page).
    #[param(value_type = Option<Uuid>)]
    before: Option<String>,
    /// Only events of this name (`login.failed`, `admin.user_updated`, …).
    #[param(max_length = 64, pattern = "^[a-z0-9._]*$")]
    event: Option<String>,
    /// Only events about this user.
    #[param(value_type = Option<Uuid>)]
    user_id: Option<String>,
}

#[utoipa::path(
    get, path = "/admin/audit", tag = "admin",
    params(AuditQuery),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "Audit events, newest first.", body = [AuditEvent]),
        (status = 422, description = "`validation_failed`: a parameter out of range or not an id", body = ErrorBody),
    )
)]
pub async fn audit(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEvent>>> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(out_of_range("limit", "must be between 1 and 200"));
    }
    let uuid_param = |raw: &Option<String>, field: &str| -> ApiResult<Option<Uuid>> {
        raw.as_deref()
            .map(|s| super::parse_id(s).ok_or_else(|| out_of_range(field, "must be an id")))
            .transpose()
    };
    let before = uuid_param(&query.before, "before")?;
    let user_id = uuid_param(&query.user_id, "user_id")?;
    let event = query.event.as_deref().filter(|e| !e.is_empty());
    if event.is_some_and(|e| e.len() > 64 || !e.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_'))) {
        return Err(out_of_range(
            "event",
            "must be an event name: at most 64 of a-z, 0-9, '.' and '_'",
        ));
    }
    Ok(Json(state.db.audit_events(limit, before, event, user_id).await?))
}
