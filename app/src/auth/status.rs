//! The states the auth store can be in, and the record of this tab's
//! refreshes.

use latchkey_types::{SessionLoginResponse, TokenResponse, User};
use serde::{Deserialize, Serialize};

use super::token::{DecodedToken, decode};
use crate::api::ApiFailure;

#[derive(Clone, Debug, PartialEq)]
pub enum AuthStatus {
    /// On the server, and in the browser until the first refresh answers:
    /// pages that need a session show a neutral "Loading…", never the
    /// sign-in form, so a signed-in reload does not flash it.
    Unknown,
    /// The first refresh got no usable answer; the user may retry.
    Unreachable(ApiFailure),
    /// Boxed: by far the largest variant, and the status is cloned often.
    SignedIn(Box<SignedIn>),
    SignedOut(SignedOutReason),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignedOutReason {
    /// No session when this tab started.
    NeverSignedIn,
    /// The user signed out, here or in another tab.
    SignedOut,
    /// The session was revoked elsewhere (another device, a password
    /// change, sign-out everywhere) or expired.
    SessionEnded,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SignedIn {
    pub user: User,
    pub credential: Credential,
}

/// What this tab holds to prove who it is, in memory only: never in Web
/// Storage, IndexedDB or a cookie a script can read.
#[derive(Clone, Debug, PartialEq)]
pub enum Credential {
    /// JWT mode: the access token, sent as `Authorization: Bearer`.
    Bearer(AccessToken),
    /// Session mode: the HttpOnly session cookie travels by itself; the
    /// page holds the session's CSRF token for unsafe requests.
    Cookie { csrf_token: String },
}

#[derive(Clone, Debug, PartialEq)]
pub struct AccessToken {
    pub token: String,
    /// Expiry on this machine's clock (ms), computed from `expires_in` when
    /// the token arrived, so a skewed clock cannot make it look fresh.
    pub expires_at_ms: f64,
    pub lifetime_ms: f64,
    pub decoded: DecodedToken,
}

impl Credential {
    /// The secret this credential sends: what a retry compares to tell a
    /// renewed credential from the one the server refused.
    pub fn secret(&self) -> &str {
        match self {
            Credential::Bearer(token) => &token.token,
            Credential::Cookie { csrf_token } => csrf_token,
        }
    }
}

/// What the server granted on sign-in or renewal, as tabs share it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Grant {
    Tokens {
        response: TokenResponse,
        expires_at_ms: f64,
    },
    Session {
        response: SessionLoginResponse,
    },
}

impl Grant {
    /// A token response that arrived just now.
    pub fn tokens(response: TokenResponse, now_ms: f64) -> Self {
        let expires_at_ms = now_ms + response.expires_in as f64 * 1000.0;
        Grant::Tokens {
            response,
            expires_at_ms,
        }
    }
}

impl SignedIn {
    pub fn new(grant: Grant) -> Self {
        match grant {
            Grant::Tokens {
                response,
                expires_at_ms,
            } => SignedIn {
                credential: Credential::Bearer(AccessToken {
                    decoded: decode(&response.access_token),
                    token: response.access_token,
                    expires_at_ms,
                    lifetime_ms: response.expires_in as f64 * 1000.0,
                }),
                user: response.user,
            },
            Grant::Session { response } => SignedIn {
                user: response.user,
                credential: Credential::Cookie {
                    csrf_token: response.csrf_token,
                },
            },
        }
    }

    /// Milliseconds the credential stays usable; a session cookie has no
    /// expiry the page can see (the server slides it).
    pub fn remaining_ms(&self, now_ms: f64) -> f64 {
        match &self.credential {
            Credential::Bearer(token) => token.expires_at_ms - now_ms,
            Credential::Cookie { .. } => f64::INFINITY,
        }
    }
}

/// What a page needs to know to decide what to render: changes only when
/// access itself changes, not on every token renewal.
#[derive(Clone, Debug, PartialEq)]
pub enum Access {
    Pending,
    Unreachable(String),
    Granted,
    Denied(SignedOutReason),
}

impl From<&AuthStatus> for Access {
    fn from(status: &AuthStatus) -> Self {
        match status {
            AuthStatus::Unknown => Access::Pending,
            AuthStatus::Unreachable(failure) => Access::Unreachable(failure.message()),
            AuthStatus::SignedIn(_) => Access::Granted,
            AuthStatus::SignedOut(reason) => Access::Denied(*reason),
        }
    }
}

/// Why this tab looked at its token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Startup,
    Scheduled,
    Rejected,
    Expired,
    Retry,
    OtherTab,
}

impl Trigger {
    pub fn label(self) -> &'static str {
        match self {
            Trigger::Startup => "page load",
            Trigger::Scheduled => "scheduled, ahead of expiry",
            Trigger::Rejected => "the server refused the token (401)",
            Trigger::Expired => "token expired before a call",
            Trigger::Retry => "retry after a failure",
            Trigger::OtherTab => "another tab renewed",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// This tab asked the server (`POST /api/auth/refresh`, or
    /// `GET /api/session` in session mode) and got a new credential.
    Renewed,
    /// Another tab had just renewed; this tab took its token, no request.
    Adopted,
    /// The session is over.
    Ended,
    Failed(String),
}

impl Outcome {
    pub fn label(&self) -> String {
        match self {
            Outcome::Renewed => "renewed by this tab".into(),
            Outcome::Adopted => "took the token another tab renewed".into(),
            Outcome::Ended => "session ended".into(),
            Outcome::Failed(why) => format!("failed: {why}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RefreshEvent {
    pub at_ms: f64,
    pub trigger: Trigger,
    pub outcome: Outcome,
}
