//! The error shape every failing response carries.

use serde::{Deserialize, Serialize};

use crate::FieldErrors;

/// Machine-readable error codes of API.md. Clients match on these, never on
/// the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    InvalidCredentials,
    InvalidToken,
    InvalidRefreshToken,
    Forbidden,
    CsrfRejected,
    /// The password was right, but this server signs in only verified
    /// addresses (`LATCHKEY_REQUIRE_VERIFIED_EMAIL`).
    EmailUnverified,
    /// The password was right; a second factor must follow (the body's
    /// `mfa` carries the challenge).
    MfaRequired,
    /// A sensitive action needs a recent full authentication
    /// (`POST /api/me/reauth`).
    ReauthRequired,
    NotFound,
    MethodNotAllowed,
    EmailTaken,
    Conflict,
    ValidationFailed,
    RateLimited,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::InvalidCredentials
            | ErrorCode::InvalidToken
            | ErrorCode::InvalidRefreshToken
            | ErrorCode::MfaRequired
            | ErrorCode::ReauthRequired => 401,
            ErrorCode::Forbidden | ErrorCode::CsrfRejected | ErrorCode::EmailUnverified => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::EmailTaken | ErrorCode::Conflict => 409,
            ErrorCode::ValidationFailed => 422,
            ErrorCode::RateLimited => 429,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
        }
    }
}

/// `{"error": code, "message": text, "fields"?: {...}}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<FieldErrors>,
    /// With `mfa_required`: the challenge to answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<Box<crate::MfaChallenge>>,
}
