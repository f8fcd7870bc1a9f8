//! Server settings the browser app must agree on: one definition of each,
//! parsed the same way by the server's configuration and the page.

use serde::{Deserialize, Serialize};

/// Which credential the browser app signs in with (`LATCHKEY_AUTH_MODE`).
/// The API serves both whatever this says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    /// A short-lived access token in memory, renewed through the refresh cookie.
    #[default]
    Jwt,
    /// An opaque session-id cookie plus a CSRF token in memory.
    Session,
}

impl AuthMode {
    pub const ALL: [AuthMode; 2] = [AuthMode::Jwt, AuthMode::Session];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Jwt => "jwt",
            AuthMode::Session => "session",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// How a Bearer access token is checked (`LATCHKEY_ACCESS_CHECK`): the
/// article's trade-off as one setting. Session cookies are always looked up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccessCheck {
    /// Signature and claims only: a revoked session's token works until `exp`.
    Stateless,
    /// Signature plus the in-memory revoked-session set: refused within a second.
    #[default]
    RevocationCache,
    /// Signature plus a read of the session row: refused at once.
    SessionLookup,
}

impl AccessCheck {
    pub const ALL: [AccessCheck; 3] = [
        AccessCheck::Stateless,
        AccessCheck::RevocationCache,
        AccessCheck::SessionLookup,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccessCheck::Stateless => "stateless",
            AccessCheck::RevocationCache => "revocation-cache",
            AccessCheck::SessionLookup => "session-lookup",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// What the admin area takes (`LATCHKEY_ADMIN_AUTH`): the article's "sessions
/// for the admin dashboard, tokens for the app".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdminAuth {
    /// Whatever the rest of the API takes (a Bearer token or a session cookie).
    #[default]
    Same,
    /// A session cookie only, entered with a fresh full authentication and
    /// ended by a short idle timeout (`LATCHKEY_ADMIN_IDLE_SECS`), even when
    /// the app uses tokens.
    Session,
}

impl AdminAuth {
    pub const ALL: [AdminAuth; 2] = [AdminAuth::Same, AdminAuth::Session];

    pub fn as_str(self) -> &'static str {
        match self {
            AdminAuth::Same => "same",
            AdminAuth::Session => "session",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for mode in AuthMode::ALL {
            assert_eq!(AuthMode::parse(mode.as_str()), Some(mode));
        }
        for check in AccessCheck::ALL {
            assert_eq!(AccessCheck::parse(check.as_str()), Some(check));
        }
        for admin in AdminAuth::ALL {
            assert_eq!(AdminAuth::parse(admin.as_str()), Some(admin));
        }
        assert_eq!(AuthMode::parse("JWT"), None);
        assert_eq!(AccessCheck::parse(""), None);
    }
}
