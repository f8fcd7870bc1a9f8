//! The HTTP contract of `shared/design/API.md` as Rust types.
//!
//! One definition used by both sides: the axum server serialises these, the
//! WASM client deserialises the very same structs. Serde only: no leptos, no
//! axum, nothing that would pull a runtime into the browser bundle.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod email;
pub mod error;
pub mod settings;

pub use email::check_email_syntax;
pub use error::{ErrorBody, ErrorCode};
pub use settings::{AccessCheck, AdminAuth, AuthMode};

/// What a user may do. Unknown roles never deserialise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: Option<String>,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    /// When the address was proven by a mailed link; `null` until then.
    #[serde(default)]
    pub email_verified_at: Option<DateTime<Utc>>,
}

/// `GET /api/admin/users` rows: a `User` plus whether the account is disabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUser {
    #[serde(flatten)]
    pub user: User,
    pub disabled: bool,
    /// The user's second factors.
    pub factors: MfaStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUserList {
    pub users: Vec<AdminUser>,
    pub total: u64,
}

/// The body of every token-issuing response (register, login, refresh).
/// `Debug` leaves the tokens out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `"Bearer"`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub user: User,
    /// Native clients only (`"client": "native"`): the refresh token, to
    /// keep in the platform's secure storage and send back in the body of
    /// `POST /api/auth/refresh`. Browsers get it in the HttpOnly cookie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Native clients only: seconds the refresh token stays usable unused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_expires_in: Option<u64>,
}

/// The body of `POST /api/session/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionLoginResponse {
    pub user: User,
    pub csrf_token: String,
}

/// How a session's holder proves it on each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SessionKind {
    /// The browser app in JWT mode: access tokens, the refresh token in
    /// the HttpOnly cookie.
    Jwt,
    /// The classic model: an opaque session id in the HttpOnly cookie.
    Cookie,
    /// A mobile or desktop app, or a CLI: access tokens, the refresh token
    /// in request and response bodies.
    Native,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Jwt => "jwt",
            SessionKind::Cookie => "cookie",
            SessionKind::Native => "native",
        }
    }

    /// Whether the session renews through refresh tokens (and its requests
    /// carry access tokens).
    pub fn uses_refresh_tokens(self) -> bool {
        matches!(self, SessionKind::Jwt | SessionKind::Native)
    }
}

/// Who signs in on `/api/auth/*`: the browser app (the refresh token in the
/// HttpOnly cookie, the default) or a native client (the refresh token in
/// the response body, and back in the body of `POST /api/auth/refresh`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ClientKind {
    #[default]
    Browser,
    Native,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub id: Uuid,
    /// `jwt` (the browser app with tokens), `cookie` (the browser app with
    /// a session cookie) or `native` (an app or CLI with tokens).
    pub kind: SessionKind,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// True for the session that made the request.
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub event: String,
    /// Who did it (the admin, for `admin.*` events; the user themself
    /// otherwise). An addition to API.md's list: an audit log must say who.
    #[serde(default)]
    pub actor_id: Option<Uuid>,
    /// Whom it concerns.
    pub user_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
    pub db: String,
    /// PostgreSQL only: the LISTEN link that brings other replicas'
    /// revocations at once (`ok` or `down`; the 250 ms re-read covers a
    /// link that is down).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
}

/// `POST /api/auth/register`. Unknown fields (`role`, `id`, …) are ignored:
/// there is no field through which a client could choose its privileges.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "email": "ada@example.com",
    "password": "vivid-otter-maps-the-quiet-dune",
    "display_name": "Ada"
})))]
pub struct RegisterRequest {
    #[cfg_attr(feature = "openapi", schema(format = Email, max_length = 254))]
    pub email: String,
    /// At least the configured number of characters (15 by default; counted
    /// after NFKC normalisation), at most 1024 bytes, not a common or
    /// breached password, not the email or its local part.
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub password: String,
    /// At most 64 characters once trimmed, no control characters.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = display_name_schema))]
    pub display_name: Option<String>,
}

/// `POST /api/auth/login` and `POST /api/session/login`.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "email": "ada@example.com",
    "password": "vivid-otter-maps-the-quiet-dune"
})))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// `native` on `POST /api/auth/login`: the refresh token comes in the
    /// body, not a cookie. `browser` (the default) everywhere else.
    #[serde(default)]
    pub client: ClientKind,
}

/// What an API key may do: `full` (what the user may do through the API)
/// or `read` (safe methods only: `GET`, `HEAD`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ApiKeyScope {
    #[default]
    Full,
    Read,
}

/// A personal API key as lists show it (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    /// The key's first characters (`lk_` and a few more), to tell keys apart.
    pub prefix: String,
    pub scope: ApiKeyScope,
    pub created_at: DateTime<Utc>,
    /// `null`: the key does not expire.
    pub expires_at: Option<DateTime<Utc>>,
    /// To the minute; `null` if never used.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Past `expires_at`: listed, but refused.
    pub expired: bool,
}

/// `POST /api/me/api-keys`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "name": "backup script",
    "scope": "read",
    "expires_in_days": 90
})))]
pub struct CreateApiKeyRequest {
    /// 1 to 64 characters once trimmed, no control characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 256))]
    pub name: String,
    #[serde(default)]
    pub scope: ApiKeyScope,
    /// 1 to 365; absent or `null`: the key does not expire.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 365))]
    pub expires_in_days: Option<u32>,
}

/// The answer to `POST /api/me/api-keys`: the key, shown this once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedApiKey {
    /// `lk_` and 43 characters: send it as `Authorization: Bearer lk_…`.
    /// Only its hash is kept; it cannot be shown again.
    pub key: String,
    pub api_key: ApiKey,
}

impl std::fmt::Debug for CreatedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApiKey")
            .field("key", &REDACTED)
            .field("api_key", &self.api_key)
            .finish()
    }
}

/// `POST /api/auth/refresh` and `POST /api/auth/logout`: `{}` from the
/// browser (the refresh token is its cookie), `{"refresh_token": "…"}` from
/// a native client. Sending both is refused.
#[derive(Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshRequest")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| REDACTED))
            .finish()
    }
}

/// A display name as the server takes it: surrounding white space (Unicode
/// `White_Space`, which `str::trim` removes) is dropped, then at most 64
/// characters, none of them control characters (`char::is_control`). The
/// OpenAPI document carries it so that clients and fuzzers know the rule.
pub const DISPLAY_NAME_PATTERN: &str = concat!(
    "^[\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*",
    "[^\\u0000-\\u001F\\u007F-\\u009F]{0,64}",
    "[\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*$",
);

#[cfg(feature = "openapi")]
fn display_name_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some(DISPLAY_NAME_PATTERN))
        .build()
}

/// `POST /api/auth/email/verify`: the token from the mailed link.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailTokenRequest {
    /// The `token` of the link's fragment (`#token=…`).
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub token: String,
}

impl std::fmt::Debug for EmailTokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailTokenRequest").field("token", &REDACTED).finish()
    }
}

/// `POST /api/me/email`: the password again, and the address to move to.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeEmailRequest {
    #[cfg_attr(feature = "openapi", schema(format = Email, max_length = 254))]
    pub new_email: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub password: String,
}

impl std::fmt::Debug for ChangeEmailRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeEmailRequest")
            .field("new_email", &self.new_email)
            .field("password", &REDACTED)
            .finish()
    }
}

/// `POST /api/auth/password/forgot`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForgotPasswordRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub email: String,
}

/// `POST /api/auth/email/resend`: a new verification link for someone who
/// cannot sign in until the address is verified.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResendVerificationRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub email: String,
}

/// `POST /api/auth/password/reset` and `POST /api/session/password/reset`.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResetPasswordRequest {
    /// The `token` of the mailed link's fragment.
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub token: String,
    /// The same rules as a new account's password.
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub password: String,
    /// For an account with a second factor: a code from the app, or a
    /// recovery code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub code: Option<String>,
}

impl std::fmt::Debug for ResetPasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetPasswordRequest")
            .field("token", &REDACTED)
            .field("password", &REDACTED)
            .field("code", &self.code.as_ref().map(|_| REDACTED))
            .finish()
    }
}

/// `PATCH /api/me`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateMeRequest {
    /// A name sets it; `null` or blank clears it; leaving the field out
    /// changes nothing.
    #[cfg_attr(feature = "openapi", schema(schema_with = display_name_schema))]
    pub display_name: Option<String>,
}

/// `POST /api/me/password`.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// The same rules as a new account's password.
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub new_password: String,
}

/// `PATCH /api/admin/users/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUpdateUserRequest {
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// Claims of an access token (RFC 9068 profile). No email, no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: Uuid,
    /// The session id: what revocation is keyed on.
    pub sid: Uuid,
    pub role: Role,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub exp: i64,
    pub jti: Uuid,
}

/// Field name → list of problems, as carried by a 422.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Passwords never reach a log through `{:?}`.
const REDACTED: &str = "[redacted]";

impl std::fmt::Debug for RegisterRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterRequest")
            .field("email", &self.email)
            .field("password", &REDACTED)
            .field("display_name", &self.display_name)
            .finish()
    }
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &REDACTED)
            .field("expires_in", &self.expires_in)
            .field("user", &self.user)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| REDACTED))
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("email", &self.email)
            .field("password", &REDACTED)
            .field("client", &self.client)
            .finish()
    }
}

impl std::fmt::Debug for ChangePasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangePasswordRequest")
            .field("current_password", &REDACTED)
            .field("new_password", &REDACTED)
            .finish()
    }
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn debug_never_prints_a_password() {
        let secret = "vivid-otter-maps-the-quiet-dune";
        let printed = [
            format!(
                "{:?}",
                RegisterRequest {
                    email: "a@b.example".into(),
                    password: secret.into(),
                    display_name: None
                }
            ),
            format!(
                "{:?}",
                LoginRequest {
                    email: "a@b.example".into(),
                    password: secret.into(),
                    client: ClientKind::Native,
                }
            ),
            format!(
                "{:?}",
                RefreshRequest {
                    refresh_token: Some(secret.into())
                }
            ),
            format!(
                "{:?}",
                TokenResponse {
                    access_token: secret.into(),
                    token_type: "Bearer".into(),
                    expires_in: 300,
                    user: User {
                        id: Uuid::nil(),
                        email: "a@b.example".into(),
                        display_name: None,
                        role: Role::User,
                        created_at: DateTime::<Utc>::UNIX_EPOCH,
                        email_verified_at: None,
                    },
                    refresh_token: Some(secret.into()),
                    refresh_expires_in: Some(600),
                }
            ),
            format!(
                "{:?}",
                ChangePasswordRequest {
                    current_password: secret.into(),
                    new_password: secret.into()
                }
            ),
        ];
        for p in printed {
            assert!(!p.contains(secret), "{p}");
            assert!(p.contains(REDACTED), "{p}");
        }
    }
}

/// In a 401 `mfa_required`: the password was right, and this challenge
/// (secret, single use, `expires_in` seconds) goes with the second factor
/// to `POST /api/auth/mfa/verify` (or `/api/session/mfa/verify`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaChallenge {
    pub challenge_id: String,
    /// What may answer it: `totp`, `recovery_code`.
    pub methods: Vec<String>,
    pub expires_in: u64,
}

impl std::fmt::Debug for MfaChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaChallenge")
            .field("challenge_id", &REDACTED)
            .field("methods", &self.methods)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// `POST /api/auth/mfa/verify` and `POST /api/session/mfa/verify`.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaVerifyRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub challenge_id: String,
    /// A six-digit code from the authenticator app, or a recovery code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub code: Option<String>,
    /// Or a passkey's answer to `POST /api/auth/mfa/passkey/options`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passkey: Option<PasskeyAssertion>,
    /// As the sign-in that made the challenge said (`native` or the
    /// default `browser`): a challenge is finished the way it began.
    #[serde(default)]
    pub client: ClientKind,
}

impl std::fmt::Debug for MfaVerifyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaVerifyRequest")
            .field("challenge_id", &REDACTED)
            .field("code", &self.code.as_ref().map(|_| REDACTED))
            .field("passkey", &self.passkey)
            .field("client", &self.client)
            .finish()
    }
}

/// `GET /api/me/mfa`: the caller's second factors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaStatus {
    /// Set once an authenticator app is confirmed.
    pub totp_enabled_at: Option<DateTime<Utc>>,
    pub totp_last_used_at: Option<DateTime<Utc>>,
    pub recovery_codes_left: u32,
    /// The account's passkeys, oldest first.
    #[serde(default)]
    pub passkeys: Vec<PasskeyInfo>,
}

impl MfaStatus {
    /// Whether a password alone no longer signs in.
    pub fn has_second_factor(&self) -> bool {
        self.totp_enabled_at.is_some() || !self.passkeys.is_empty()
    }
}

/// A registered passkey (WebAuthn discoverable credential).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyInfo {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// The authenticator says the key is synced (backed up) elsewhere.
    pub backed_up: bool,
}

/// A WebAuthn ceremony for the browser: `public_key` is the
/// `PublicKeyCredentialCreationOptionsJSON` (registration) or
/// `PublicKeyCredentialRequestOptionsJSON` (sign-in) of WebAuthn Level 3,
/// for `PublicKeyCredential.parseCreationOptionsFromJSON` /
/// `parseRequestOptionsFromJSON`. The answer goes back with `ceremony_id`
/// (single use, 5 minutes).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyOptions {
    pub ceremony_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub public_key: serde_json::Value,
}

impl std::fmt::Debug for PasskeyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasskeyOptions { .. }")
    }
}

/// The browser's answer to a ceremony: `credential` is the
/// `PublicKeyCredential`'s `toJSON()`.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyAssertion {
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub ceremony_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: serde_json::Value,
}

impl std::fmt::Debug for PasskeyAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasskeyAssertion { .. }")
    }
}

/// `POST /api/me/mfa/passkeys`: a new passkey, named.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyRegistration {
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub ceremony_id: String,
    /// 1–64 characters; what the list shows.
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: serde_json::Value,
}

impl std::fmt::Debug for PasskeyRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyRegistration").field("name", &self.name).finish()
    }
}

/// The answer to a registration: the passkey, and — when it is the
/// account's first second factor — ten recovery codes, shown this once.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyAdded {
    pub passkey: PasskeyInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<RecoveryCodes>,
}

impl std::fmt::Debug for PasskeyAdded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyAdded").field("passkey", &self.passkey).finish()
    }
}

/// `PATCH /api/me/mfa/passkeys/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyRename {
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub name: String,
}

/// `POST /api/auth/mfa/passkey/options`: a passkey ceremony for the second
/// step of a sign-in.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaPasskeyOptionsRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub challenge_id: String,
}

impl std::fmt::Debug for MfaPasskeyOptionsRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaPasskeyOptionsRequest { .. }")
    }
}

/// `POST /api/me/mfa/totp`: an enrolment to confirm with a code.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpEnrolment {
    /// The secret in base32, for typing into an app.
    pub secret: String,
    /// `otpauth://totp/…`, what the QR code holds.
    pub otpauth_uri: String,
    /// The QR code as an SVG document.
    pub qr_svg: String,
}

impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrolment { .. }")
    }
}

/// `POST /api/me/mfa/totp/confirm`.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpConfirmRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 16))]
    pub code: String,
}

impl std::fmt::Debug for TotpConfirmRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpConfirmRequest { .. }")
    }
}

/// Recovery codes, shown once: each works once in place of a TOTP code.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
}

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveryCodes({} codes)", self.codes.len())
    }
}

/// `POST /api/me/reauth`: a fresh full authentication for sensitive
/// actions (the password, and a code when the account has a second factor).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReauthRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub password: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub code: Option<String>,
}

impl std::fmt::Debug for ReauthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReauthRequest { .. }")
    }
}
