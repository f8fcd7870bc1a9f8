//! What the engine can answer besides success. The HTTP edge maps each
//! variant to the contract's status and code in one place
//! (`http::error`); nothing here knows about HTTP.

use latchkey_types::FieldErrors;

use crate::core::password::HashError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown email, wrong password or disabled account, alike.
    #[error("the email or password is not right")]
    InvalidCredentials,
    /// A refresh token (or a session to end) that is missing, unknown,
    /// expired, revoked or reused.
    #[error("no live session for this refresh token")]
    InvalidRefreshToken,
    /// An access token or session cookie that does not name a live session.
    #[error("the credential is missing, expired or no longer valid")]
    InvalidToken,
    /// A mailed link's token that is unknown, used or expired.
    #[error("the link is not valid (used, expired or unknown)")]
    InvalidEmailToken,
    /// The account changed (password, status) while this request was in
    /// flight; nothing was done.
    #[error("the account changed meanwhile")]
    AccountChanged,
    #[error("too many attempts")]
    RateLimited { retry_after_secs: u64 },
    /// The password was right but the address is not verified, and this
    /// server requires it.
    #[error("the email address is not verified")]
    EmailUnverified,
    /// The password was right; a second factor must follow, answering
    /// this challenge (secret, single use) within `expires_in` seconds.
    #[error("a second factor is needed")]
    MfaRequired {
        challenge: secrecy::SecretString,
        expires_in: u64,
        /// What may answer it: `totp`, `passkey`, `recovery_code`.
        methods: Vec<&'static str>,
    },
    /// A sign-in challenge that is unknown, used or expired.
    #[error("the sign-in challenge is not valid (used, expired or unknown)")]
    InvalidChallenge,
    /// A second-factor code that is wrong or was used already.
    #[error("the code is not right")]
    InvalidCode,
    /// An authenticator app is set up already.
    #[error("a second factor exists")]
    FactorExists,
    /// A passkey that is registered already, or one too many; one API key
    /// too many.
    #[error("{0}")]
    Conflict(&'static str),
    /// The credential is good but may not do this (an API key outside its
    /// scope, or on a route keys do not reach).
    #[error("{0}")]
    Forbidden(&'static str),
    /// A sensitive action, and the last full authentication is too old.
    #[error("a fresh authentication is needed")]
    ReauthRequired,
    #[error("the email is taken")]
    EmailTaken,
    #[error("some fields are not valid")]
    Validation(FieldErrors),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("the last enabled administrator")]
    LastAdmin,
    #[error("busy")]
    Unavailable { retry_after_secs: u64 },
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

impl From<StoreError> for AuthError {
    fn from(err: StoreError) -> Self {
        AuthError::Store(err)
    }
}

impl AuthError {
    pub fn field(field: &str, problem: impl Into<String>) -> Self {
        AuthError::Validation(FieldErrors::from([(field.to_string(), vec![problem.into()])]))
    }
}

pub type AuthResult<T> = Result<T, AuthError>;
