//! `/api/auth/*`: register, login, refresh, logout, logout-all (JWT mode).
//!
//! Every cookie route here is refused from another origin (the `csrf`
//! layer on these routes in `http::router`), takes only a
//! JSON body (so a cross-site form post cannot reach it), is rate-limited
//! per client address, and answers with `Cache-Control: no-store`.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use latchkey_types::{ErrorBody, ErrorCode, FieldErrors, LoginRequest, RegisterRequest, TokenResponse};
use serde::de::IgnoredAny;

use super::client::ClientInfo;
use super::cookies::{cleared_refresh_cookie, cleared_session_cookie, read_refresh_token, refresh_cookie};
use super::extract::{AuthUser, MaybeAuthUser};
use super::json::ApiJson;
use super::rate::{limit_account, limit_address};
use super::{ApiError, ApiResult, AppState};
use crate::auth::sessions::{self, Issued};
use crate::core::clock::now_ms;
use crate::core::identity::{DisplayName, Email};
use crate::core::refresh::RefreshDecision;
use crate::core::secrets::hash_token;
use crate::store::StoreError;
use crate::store::sessions::RevokeReason;
use crate::store::users::{NewUser, UserRecord};
use secrecy::ExposeSecret;

/// 200/201 with the token body, the refresh cookie, and no caching.
fn token_response(state: &AppState, status: StatusCode, jar: CookieJar, user: &UserRecord, issued: Issued) -> Response {
    let jar = jar.add(refresh_cookie(
        &state.settings,
        &issued.refresh_token,
        issued.refresh_max_age,
    ));
    let body = TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer".into(),
        expires_in: issued.expires_in,
        user: user.to_api(),
    };
    no_store((status, jar, axum::Json(body)).into_response())
}

pub fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// An error that also drops the browser's refresh cookie.
fn with_cleared_cookie(state: &AppState, jar: CookieJar, err: ApiError) -> Response {
    (jar.add(cleared_refresh_cookie(&state.settings)), err).into_response()
}

pub fn invalid_credentials() -> ApiError {
    ApiError::new(ErrorCode::InvalidCredentials, "The email or password is not right.")
}

/// Creates an account and signs it in (JWT mode).
#[utoipa::path(
    post, path = "/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created and signed in; the refresh cookie is set.", body = TokenResponse,
            headers(("Set-Cookie" = String, description = "The refresh cookie (HttpOnly, Secure, SameSite=Strict, Path=/api/auth)."))),
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
    let (user, issued) = sessions::register(&state, account.new_user(), &client)
        .await
        .map_err(registration_failed)?;
    audit_registered(&state, &client, &user, issued.session_id).await;
    Ok(token_response(&state, StatusCode::CREATED, jar, &user, issued))
}

/// A registration that passed every check, ready to insert.
pub struct NewAccount {
    email: Email,
    display_name: Option<DisplayName>,
    password_hash: String,
}

impl NewAccount {
    pub fn new_user(&self) -> NewUser<'_> {
        NewUser {
            email: &self.email,
            display_name: self.display_name.as_ref(),
            password_hash: &self.password_hash,
            // Never from the request: `role` in the body is ignored.
            role: latchkey_types::Role::User,
        }
    }
}

/// Rate limit, then every field checked (all problems reported at once),
/// then the argon2 hash. Shared by both registration routes.
pub async fn validate_registration(
    state: &AppState,
    client: &ClientInfo,
    body: &RegisterRequest,
) -> ApiResult<NewAccount> {
    limit_address(state, client).await?;
    let mut fields = FieldErrors::new();
    let email = Email::parse(&body.email)
        .map_err(|e| fields.insert("email".into(), vec![e.into()]))
        .ok();
    let display_name = match body.display_name.as_deref().map(DisplayName::parse) {
        Some(Ok(name)) => name,
        Some(Err(e)) => {
            fields.insert("display_name".into(), vec![e.into()]);
            None
        }
        None => None,
    };
    let password = state
        .check_password(&body.password, email.as_ref())
        .await?
        .map_err(|problems| fields.insert("password".into(), problems))
        .ok();
    let (Some(email), Some(password), true) = (email, password, fields.is_empty()) else {
        return Err(ApiError::validation(fields));
    };
    let password_hash = state.hasher.hash(&password).await?;
    Ok(NewAccount {
        email,
        display_name,
        password_hash,
    })
}

pub fn registration_failed(err: StoreError) -> ApiError {
    match err {
        StoreError::Conflict => ApiError::new(ErrorCode::EmailTaken, "An account with this email already exists."),
        err => err.into(),
    }
}

pub async fn audit_registered(state: &AppState, client: &ClientInfo, user: &UserRecord, session_id: uuid::Uuid) {
    state
        .audit_by(client, "user.registered", Some(user.id()), Some(session_id), None)
        .await;
}

/// Signs in (JWT mode): an access token in the body, the refresh cookie set.
#[utoipa::path(
    post, path = "/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; the refresh cookie is set.", body = TokenResponse,
            headers(("Set-Cookie" = String, description = "The refresh cookie."))),
        (status = 401, description = "`invalid_credentials`: unknown email, wrong password or disabled account alike", body = ErrorBody),
        (status = 429, description = "`rate_limited` (per account and per address)", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let user = verify_credentials(&state, &client, &body).await?;
    let issued = sessions::start_jwt_session(&state, &user, &client).await?;
    audit_login(
        &state,
        &client,
        Some(&user),
        Some(issued.session_id),
        "login.succeeded",
        None,
    )
    .await;
    Ok(token_response(&state, StatusCode::OK, jar, &user, issued))
}

/// The password check shared by both login routes: rate limits first (so
/// a locked-out account costs no argon2 work and says nothing about the
/// password), then the same argon2 work whether or not the account exists.
pub async fn verify_credentials(state: &AppState, client: &ClientInfo, body: &LoginRequest) -> ApiResult<UserRecord> {
    limit_address(state, client).await?;
    let Ok(email) = Email::parse(&body.email) else {
        return Err(invalid_credentials());
    };
    let account_bucket = limit_account(state, &email).await?;
    let user = state.db.find_user_by_email(&email).await?;
    let matched = state
        .hasher
        .verify(&body.password, user.as_ref().map(|u| u.password_hash.as_str()))
        .await?;
    match user {
        Some(user) if matched && !user.is_disabled() => {
            state.db.clear_rate_limit(&account_bucket).await?;
            Ok(user)
        }
        user => {
            let reason = match &user {
                None => "unknown_email",
                Some(u) if u.is_disabled() && matched => "account_disabled",
                Some(_) => "wrong_password",
            };
            let detail = serde_json::json!({ "reason": reason });
            audit_login(state, client, user.as_ref(), None, "login.failed", Some(detail)).await;
            Err(invalid_credentials())
        }
    }
}

pub async fn audit_login(
    state: &AppState,
    client: &ClientInfo,
    user: Option<&UserRecord>,
    session_id: Option<uuid::Uuid>,
    event: &str,
    detail: Option<serde_json::Value>,
) {
    state
        .audit_by(client, event, user.map(UserRecord::id), session_id, detail)
        .await;
}

/// Renews the access token and rotates the refresh cookie. A rotated-away
/// cookie presented after the grace window is reuse: the session ends.
#[utoipa::path(
    post, path = "/auth/refresh", tag = "auth",
    request_body(content = Object, description = "`{}`"),
    security(("refresh" = [])),
    responses(
        (status = 200, description = "A new access token; the rotated refresh cookie is set.", body = TokenResponse,
            headers(("Set-Cookie" = String, description = "The rotated refresh cookie."))),
        (status = 401, description = "`invalid_refresh_token`: missing, unknown, expired, revoked or reused; the cookie is cleared", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    ApiJson(_): ApiJson<IgnoredAny>,
) -> Response {
    if let Err(err) = limit_address(&state, &client).await {
        return err.into_response();
    }
    let Some(presented) = read_refresh_token(&jar, &state.settings) else {
        let err = ApiError::new(
            ErrorCode::InvalidRefreshToken,
            "There is no session to renew; please sign in.",
        );
        return with_cleared_cookie(&state, jar, err);
    };
    match sessions::refresh(&state, &presented, &client).await {
        Ok((user, issued)) => token_response(&state, StatusCode::OK, jar, &user, issued),
        Err(err) if err.code == ErrorCode::InvalidRefreshToken => with_cleared_cookie(&state, jar, err),
        Err(err) => err.into_response(),
    }
}

/// Ends the session named by the refresh cookie or, failing that, by the
/// Bearer token; always drops the cookie.
/// Ends the session named by the refresh cookie or the Bearer token.
#[utoipa::path(
    post, path = "/auth/logout", tag = "auth",
    request_body(content = Object, description = "`{}`"),
    security(("refresh" = []), ("bearer" = [])),
    responses(
        (status = 204, description = "The session is revoked and the refresh cookie cleared."),
        (status = 401, description = "`invalid_refresh_token`: neither the cookie nor a valid Bearer token names a live session; the cookie is cleared", body = ErrorBody),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    MaybeAuthUser(bearer): MaybeAuthUser,
    ApiJson(_): ApiJson<IgnoredAny>,
) -> ApiResult<Response> {
    let presented_hash = read_refresh_token(&jar, &state.settings).map(|t| hash_token(t.expose_secret()));
    let from_cookie = match &presented_hash {
        Some(hash) => state.db.find_session_by_refresh_hash(hash).await?,
        None => None,
    };
    let grace_ms = state.settings.refresh_grace.as_millis() as i64;
    let (session_id, user_id, event, reason) = match (from_cookie, bearer) {
        // A rotated-away token ending its session is still reuse: someone
        // other than the browser holds it. The session ends either way, but
        // the audit log must say which.
        (Some(session), _) => match sessions::classify(
            &session,
            presented_hash.as_deref().unwrap_or_default(),
            now_ms(),
            grace_ms,
        ) {
            RefreshDecision::Reuse => (
                session.id(),
                session.user_id(),
                "refresh.reuse_detected",
                RevokeReason::RefreshReuse,
            ),
            _ => (session.id(), session.user_id(), "logout", RevokeReason::Logout),
        },
        (None, Some(auth)) => (auth.session_id, auth.user_id, "logout", RevokeReason::Logout),
        (None, None) => {
            let err = ApiError::new(ErrorCode::InvalidRefreshToken, "There is no session to end.");
            return Ok(with_cleared_cookie(&state, jar, err));
        }
    };
    if sessions::end_session(&state, session_id, reason).await? {
        audit_session_event(&state, &client, event, user_id, Some(session_id)).await;
    }
    Ok(no_store(
        (StatusCode::NO_CONTENT, jar.add(cleared_refresh_cookie(&state.settings))).into_response(),
    ))
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
    let revoked = sessions::end_user_sessions(&state, auth.user_id, None, RevokeReason::LogoutAll).await?;
    let detail = serde_json::json!({ "sessions_revoked": revoked.len() });
    state
        .audit_by(
            &client,
            "logout_all",
            Some(auth.user_id),
            Some(auth.session_id),
            Some(detail),
        )
        .await;
    let jar = jar
        .add(cleared_refresh_cookie(&state.settings))
        .add(cleared_session_cookie(&state.settings));
    Ok(no_store((StatusCode::NO_CONTENT, jar).into_response()))
}

pub async fn audit_session_event(
    state: &AppState,
    client: &ClientInfo,
    event: &str,
    user_id: uuid::Uuid,
    session_id: Option<uuid::Uuid>,
) {
    state.audit_by(client, event, Some(user_id), session_id, None).await;
}
