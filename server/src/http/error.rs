//! The one error type of the HTTP layer. Every failure becomes
//! `{"error", "message", "fields"?}` with the contract's status; internal
//! causes are logged here and never sent to the client.

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_types::{ErrorBody, ErrorCode, FieldErrors};

use crate::auth::AuthError;
use crate::core::password::HashError;
use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
    pub fields: Option<FieldErrors>,
    pub retry_after_secs: Option<u64>,
    /// A cookie to set with the error (a removal, when a credential died).
    /// Boxed: errors travel in every `Result` and should stay small.
    pub set_cookie: Option<Box<axum_extra::extract::cookie::Cookie<'static>>>,
    /// A status other than the code's usual one (400 `invalid_token` for a
    /// mailed link, per the contract).
    pub status: Option<StatusCode>,
    /// The challenge of a 401 `mfa_required`.
    pub mfa: Option<Box<latchkey_types::MfaChallenge>>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError {
            code,
            message: message.into(),
            fields: None,
            retry_after_secs: None,
            set_cookie: None,
            status: None,
            mfa: None,
        }
    }

    /// The same error, also setting (usually clearing) `cookie`.
    pub fn with_cookie(mut self, cookie: axum_extra::extract::cookie::Cookie<'static>) -> Self {
        self.set_cookie = Some(Box::new(cookie));
        self
    }

    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "There is nothing here.")
    }

    pub fn validation(fields: FieldErrors) -> Self {
        ApiError {
            fields: Some(fields),
            ..Self::new(ErrorCode::ValidationFailed, "Some fields are not valid.")
        }
    }

    pub fn unavailable(retry_after_secs: u64) -> Self {
        ApiError {
            retry_after_secs: Some(retry_after_secs),
            ..Self::new(ErrorCode::Unavailable, "The server is busy; try again shortly.")
        }
    }

    /// Logs the cause with the request's span and answers a bare 500.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(ErrorCode::Internal, "Something went wrong on our side.")
    }
}

/// Every answer of the engine, as the contract words it: the one mapping.
impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::InvalidCredentials => {
                ApiError::new(ErrorCode::InvalidCredentials, "The email or password is not right.")
            }
            AuthError::InvalidRefreshToken => ApiError::new(
                ErrorCode::InvalidRefreshToken,
                "Your session has ended; please sign in again.",
            ),
            AuthError::InvalidToken => ApiError::new(
                ErrorCode::InvalidToken,
                "Your access token is missing, expired or no longer valid.",
            ),
            AuthError::InvalidEmailToken => ApiError {
                status: Some(StatusCode::BAD_REQUEST),
                ..ApiError::new(
                    ErrorCode::InvalidToken,
                    "This link does not work: it was used already, has expired, or is not ours.",
                )
            },
            AuthError::AccountChanged => ApiError::new(
                ErrorCode::Conflict,
                "Your account changed while this was in progress; please try again.",
            ),
            AuthError::RateLimited { retry_after_secs } => ApiError {
                retry_after_secs: Some(retry_after_secs),
                ..ApiError::new(
                    ErrorCode::RateLimited,
                    "Too many attempts; please wait before trying again.",
                )
            },
            AuthError::EmailUnverified => ApiError::new(
                ErrorCode::EmailUnverified,
                "Please confirm your email address first: use the link we mailed you, or ask for a new one.",
            ),
            AuthError::MfaRequired {
                challenge,
                expires_in,
                methods,
            } => ApiError {
                mfa: Some(Box::new(latchkey_types::MfaChallenge {
                    challenge_id: secrecy::ExposeSecret::expose_secret(&challenge).to_string(),
                    methods: methods.iter().map(|m| m.to_string()).collect(),
                    expires_in,
                })),
                ..ApiError::new(
                    ErrorCode::MfaRequired,
                    if methods.contains(&"totp") {
                        "Enter the code from your authenticator app (or a recovery code)."
                    } else {
                        "Use your passkey (or a recovery code)."
                    },
                )
            },
            AuthError::InvalidChallenge => ApiError {
                status: Some(StatusCode::BAD_REQUEST),
                ..ApiError::new(
                    ErrorCode::InvalidToken,
                    "This sign-in has expired or was used already; please sign in again.",
                )
            },
            AuthError::InvalidCode => ApiError::new(
                ErrorCode::InvalidCredentials,
                "That code is not right, or it was used already.",
            ),
            AuthError::FactorExists => ApiError::new(
                ErrorCode::Conflict,
                "An authenticator app is set up already; remove it first to set up another.",
            ),
            AuthError::ReauthRequired => ApiError::new(
                ErrorCode::ReauthRequired,
                "Please confirm it is you: enter your password again.",
            ),
            AuthError::EmailTaken => ApiError::new(ErrorCode::EmailTaken, "An account with this email already exists."),
            AuthError::Validation(fields) => ApiError::validation(fields),
            AuthError::Conflict(what) => ApiError::new(ErrorCode::Conflict, what),
            AuthError::Forbidden(what) => ApiError::new(ErrorCode::Forbidden, what),
            AuthError::NotFound(what) => ApiError::new(ErrorCode::NotFound, what),
            AuthError::LastAdmin => ApiError::new(
                ErrorCode::Conflict,
                "This is the last enabled administrator; promote someone else first.",
            ),
            AuthError::Unavailable { retry_after_secs } => ApiError::unavailable(retry_after_secs),
            AuthError::Store(err) => err.into(),
            AuthError::Hash(err) => err.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict => ApiError::new(ErrorCode::Conflict, "That conflicts with existing data."),
            StoreError::Database(e) if is_unavailable(&e) => {
                tracing::warn!(cause = %e, "database unavailable");
                ApiError::unavailable(2)
            }
            StoreError::Database(e) => ApiError::internal(e),
            StoreError::Corrupt(what) => ApiError::internal(what),
        }
    }
}

fn is_unavailable(err: &sqlx::Error) -> bool {
    matches!(
        err,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
    )
}

impl From<HashError> for ApiError {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Busy => ApiError::unavailable(1),
            HashError::Internal(e) => ApiError::internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status.unwrap_or_else(|| {
            StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        });
        let body = ErrorBody {
            error: self.code,
            message: self.message.into_owned(),
            fields: self.fields,
            mfa: self.mfa,
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.code == ErrorCode::InvalidToken && status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer error="invalid_token""#),
            );
        }
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        if let Some(value) = self
            .set_cookie
            .and_then(|c| HeaderValue::try_from(c.encoded().to_string()).ok())
        {
            headers.append(header::SET_COOKIE, value);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
