//! What the server tells the page about its configuration: which
//! credential the app uses (`LATCHKEY_AUTH_MODE`), how Bearer tokens are
//! checked (`LATCHKEY_ACCESS_CHECK`) and what the admin area takes
//! (`LATCHKEY_ADMIN_AUTH`).
//!
//! The server provides [`ServerFacts`] as context while rendering; the shell
//! writes them into `<meta>` tags, and the browser reads them back from
//! there, so both sides render the same thing.

pub use latchkey_types::{AccessCheck, AdminAuth, AuthMode};
use leptos::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerFacts {
    pub auth_mode: AuthMode,
    pub access_check: AccessCheck,
    /// `LATCHKEY_PASSWORD_MIN_CHARS`: what the forms tell people.
    pub password_min_chars: usize,
    /// The session cookie's name (`__Host-latchkey-session` with `Secure`).
    pub session_cookie: String,
    /// Whether this server offers passkeys (its public origin has a domain
    /// name; browsers refuse passkeys on an IP address).
    pub passkeys: bool,
    /// What the admin area takes (`LATCHKEY_ADMIN_AUTH`).
    pub admin_auth: AdminAuth,
}

impl Default for ServerFacts {
    fn default() -> Self {
        ServerFacts {
            auth_mode: AuthMode::default(),
            access_check: AccessCheck::default(),
            password_min_chars: 15,
            session_cookie: "__Host-latchkey-session".into(),
            passkeys: false,
            admin_auth: AdminAuth::default(),
        }
    }
}

const MODE_META: &str = "latchkey-auth-mode";
const CHECK_META: &str = "latchkey-access-check";
const MIN_CHARS_META: &str = "latchkey-password-min-chars";
const COOKIE_META: &str = "latchkey-session-cookie";
const PASSKEYS_META: &str = "latchkey-passkeys";
const ADMIN_META: &str = "latchkey-admin-auth";

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
        <meta name=CHECK_META content=facts.access_check.as_str()/>
        <meta name=MIN_CHARS_META content=facts.password_min_chars.to_string()/>
        <meta name=COOKIE_META content=facts.session_cookie/>
        <meta name=PASSKEYS_META content=if facts.passkeys { "on" } else { "off" }/>
        <meta name=ADMIN_META content=facts.admin_auth.as_str()/>
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
        auth_mode: read(MODE_META)
            .and_then(|m| AuthMode::parse(&m))
            .unwrap_or(defaults.auth_mode),
        access_check: read(CHECK_META)
            .and_then(|c| AccessCheck::parse(&c))
            .unwrap_or(defaults.access_check),
        password_min_chars: read(MIN_CHARS_META)
            .and_then(|n| n.parse().ok())
            .unwrap_or(defaults.password_min_chars),
        session_cookie: read(COOKIE_META).unwrap_or(defaults.session_cookie),
        passkeys: read(PASSKEYS_META).is_some_and(|p| p == "on"),
        admin_auth: read(ADMIN_META)
            .and_then(|a| AdminAuth::parse(&a))
            .unwrap_or(defaults.admin_auth),
    }
}
