//! What the server tells the page about its configuration: which
//! credential the app uses (`LATCHKEY_AUTH_MODE`) and how Bearer tokens are
//! checked (`LATCHKEY_ACCESS_CHECK`).
//!
//! The server provides [`ServerFacts`] as context while rendering; the shell
//! writes them into `<meta>` tags, and the browser reads them back from
//! there, so both sides render the same thing.

use leptos::prelude::*;

/// Which credential the browser app signs in with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthMode {
    /// A short-lived access token in memory, renewed through the refresh cookie.
    #[default]
    Jwt,
    /// An opaque session-id cookie plus a CSRF token in memory.
    Session,
}

impl AuthMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Jwt => "jwt",
            AuthMode::Session => "session",
        }
    }

    pub fn parse(s: &str) -> Self {
        if s == "session" {
            AuthMode::Session
        } else {
            AuthMode::Jwt
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerFacts {
    pub auth_mode: AuthMode,
    /// `stateless`, `revocation-cache` or `session-lookup`.
    pub access_check: String,
}

impl Default for ServerFacts {
    fn default() -> Self {
        ServerFacts {
            auth_mode: AuthMode::Jwt,
            access_check: "revocation-cache".into(),
        }
    }
}

const MODE_META: &str = "latchkey-auth-mode";
const CHECK_META: &str = "latchkey-access-check";

/// The facts of the server that rendered this page.
pub fn server_facts() -> ServerFacts {
    #[cfg(feature = "hydrate")]
    {
        read_meta()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        use_context::<ServerFacts>().unwrap_or_default()
    }
}

/// The `<meta>` tags the shell puts in `<head>`.
#[component]
pub fn FactsMeta() -> impl IntoView {
    let facts = server_facts();
    view! {
        <meta name=MODE_META content=facts.auth_mode.as_str()/>
        <meta name=CHECK_META content=facts.access_check/>
    }
}

#[cfg(feature = "hydrate")]
fn read_meta() -> ServerFacts {
    let read = |name: &str| {
        document()
            .query_selector(&format!("meta[name=\"{name}\"]"))
            .ok()
            .flatten()
            .and_then(|el| el.get_attribute("content"))
    };
    let defaults = ServerFacts::default();
    ServerFacts {
        auth_mode: read(MODE_META).map_or(defaults.auth_mode, |m| AuthMode::parse(&m)),
        access_check: read(CHECK_META).unwrap_or(defaults.access_check),
    }
}
