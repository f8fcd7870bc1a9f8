//! What can go wrong with an API call, in a shape pages can show.

use latchkey_types::{ErrorBody, ErrorCode, FieldErrors};

#[derive(Clone, Debug, PartialEq)]
pub enum ApiFailure {
    /// The server answered with the contract's error body.
    Api {
        status: u16,
        body: ErrorBody,
        /// From `Retry-After` on a 429.
        retry_after_secs: Option<u64>,
    },
    /// The server answered something outside the contract (a proxy's error
    /// page, a body that is not the expected JSON).
    Unexpected { status: u16 },
    /// No answer at all: offline, DNS, connection refused.
    Network,
    /// The call needs a session and this tab has none.
    SignedOut,
    /// An admin request while the admin area's own session is closed
    /// (`LATCHKEY_ADMIN_AUTH=session`): enter it first.
    AdminClosed,
    /// Not the server: the browser could not do its part of the exchange
    /// (a passkey prompt cancelled, a browser without passkeys). The text
    /// says what happened, for the person.
    Browser(String),
}

impl ApiFailure {
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ApiFailure::Api { body, .. } => Some(body.error),
            _ => None,
        }
    }

    pub fn is(&self, code: ErrorCode) -> bool {
        self.code() == Some(code)
    }

    /// The challenge of a 401 `mfa_required`.
    pub fn mfa_challenge(&self) -> Option<latchkey_types::MfaChallenge> {
        match self {
            ApiFailure::Api {
                body: ErrorBody {
                    mfa: Some(challenge), ..
                },
                ..
            } => Some(challenge.as_ref().clone()),
            _ => None,
        }
    }

    pub fn fields(&self) -> FieldErrors {
        match self {
            ApiFailure::Api {
                body: ErrorBody {
                    fields: Some(fields), ..
                },
                ..
            } => fields.clone(),
            _ => FieldErrors::new(),
        }
    }

    /// Seconds to wait before trying again, for a rate-limited call.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiFailure::Api {
                retry_after_secs: Some(secs),
                body,
                ..
            } if body.error == ErrorCode::RateLimited => Some(*secs),
            _ => None,
        }
    }

    /// A sentence for a person. Field-level problems are shown next to
    /// their fields; this is the summary above the form.
    pub fn message(&self) -> String {
        match self {
            ApiFailure::Api { body, .. } if body.error == ErrorCode::ValidationFailed => {
                match body.fields.as_ref().and_then(|fields| fields.get("credential")) {
                    // A passkey's answer is no field on any form: say it here.
                    Some(problems) => format!("The passkey was not accepted: {}.", problems.join("; ")),
                    None => "Please correct the highlighted fields.".into(),
                }
            }
            ApiFailure::Api { body, .. } if body.error == ErrorCode::Internal => {
                "Something went wrong on our side. Please try again.".into()
            }
            ApiFailure::Api { body, .. } => body.message.clone(),
            ApiFailure::Unexpected { status } => {
                format!("The server gave an unexpected answer (HTTP {status}). Please try again.")
            }
            ApiFailure::Network => "Can't reach Latchkey. Check your connection and try again.".into(),
            ApiFailure::SignedOut => "You are signed out. Please sign in again.".into(),
            ApiFailure::AdminClosed => "Enter the admin area first.".into(),
            ApiFailure::Browser(text) => text.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: ErrorCode, retry: Option<u64>) -> ApiFailure {
        ApiFailure::Api {
            status: code.http_status(),
            body: ErrorBody {
                error: code,
                message: "server says".into(),
                fields: Some(FieldErrors::from([("email".into(), vec!["is taken".into()])])),
                mfa: None,
            },
            retry_after_secs: retry,
        }
    }

    #[test]
    fn retry_after_only_for_rate_limits() {
        assert_eq!(api(ErrorCode::RateLimited, Some(30)).retry_after(), Some(30));
        assert_eq!(api(ErrorCode::InvalidCredentials, Some(30)).retry_after(), None);
    }

    #[test]
    fn a_refused_passkey_answer_is_said_in_words() {
        let failure = ApiFailure::Api {
            status: 422,
            body: ErrorBody {
                error: ErrorCode::ValidationFailed,
                message: "server says".into(),
                fields: Some(FieldErrors::from([(
                    "credential".into(),
                    vec!["the passkey's answer does not check out".into()],
                )])),
                mfa: None,
            },
            retry_after_secs: None,
        };
        assert_eq!(
            failure.message(),
            "The passkey was not accepted: the passkey's answer does not check out."
        );
        assert_eq!(ApiFailure::Browser("cancelled".into()).message(), "cancelled");
    }

    #[test]
    fn messages_never_show_internals() {
        assert!(!api(ErrorCode::Internal, None).message().contains("server says"));
        assert_eq!(api(ErrorCode::InvalidCredentials, None).message(), "server says");
        assert_eq!(
            api(ErrorCode::ValidationFailed, None).fields()["email"],
            vec!["is taken"]
        );
    }
}
