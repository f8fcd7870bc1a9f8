//! The two cookies Latchkey sets. The refresh cookie: `HttpOnly; Secure; SameSite=Strict; Path=/api/auth;
//! Max-Age=<lifetime>`. JavaScript cannot read it, other sites cannot send
//! it, and it travels only to the routes that renew or end a session.

use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use secrecy::{ExposeSecret, SecretString};

use crate::config::Settings;

pub const REFRESH_COOKIE_PATH: &str = "/api/auth";

/// Both cookies hold a secret: HttpOnly, SameSite=Strict, `Secure` unless
/// configured off; they differ in name and path only.
fn secret_cookie(
    settings: &Settings,
    name: &str,
    path: &'static str,
    value: &SecretString,
    max_age_secs: i64,
) -> Cookie<'static> {
    Cookie::build((name.to_string(), value.expose_secret().to_string()))
        .http_only(true)
        .secure(settings.cookie_secure)
        .same_site(SameSite::Strict)
        .path(path)
        .max_age(cookie::time::Duration::seconds(max_age_secs.max(0)))
        .build()
}

/// An expired cookie with the same name, path and attributes, so the
/// browser drops the one it has.
fn removal(mut cookie: Cookie<'static>) -> Cookie<'static> {
    cookie.make_removal();
    cookie
}

pub fn refresh_cookie(settings: &Settings, token: &SecretString, max_age_secs: i64) -> Cookie<'static> {
    secret_cookie(
        settings,
        &settings.refresh_cookie,
        REFRESH_COOKIE_PATH,
        token,
        max_age_secs,
    )
}

pub fn cleared_refresh_cookie(settings: &Settings) -> Cookie<'static> {
    removal(refresh_cookie(settings, &SecretString::from(String::new()), 0))
}

pub fn read_refresh_token(jar: &CookieJar, settings: &Settings) -> Option<SecretString> {
    read_secret(jar, &settings.refresh_cookie)
}

/// A cookie's value if it could be one of our secrets: present, not empty,
/// at most 128 bytes (ours are 43). Anything else is no credential.
pub fn read_secret(jar: &CookieJar, name: &str) -> Option<SecretString> {
    jar.get(name)
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(SecretString::from)
}

/// The session-mode cookie: an opaque id, `HttpOnly; Secure; SameSite=Strict;
/// Path=/` under the `__Host-` prefix, so no subdomain can set or shadow it.
/// It lives until the session's absolute end; the idle limit is the server's.
pub fn session_cookie(settings: &Settings, secret: &SecretString, max_age_secs: i64) -> Cookie<'static> {
    secret_cookie(settings, &settings.session_cookie, "/", secret, max_age_secs)
}

pub fn cleared_session_cookie(settings: &Settings) -> Cookie<'static> {
    removal(session_cookie(settings, &SecretString::from(String::new()), 0))
}

/// The session id from a request's cookies, if it is plausibly one of ours.
pub fn read_session_secret(jar: &CookieJar, settings: &Settings) -> Option<SecretString> {
    read_secret(jar, &settings.session_cookie)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jar(cookie_header: &str) -> Option<CookieJar> {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("cookie", axum::http::HeaderValue::from_str(cookie_header).ok()?);
        Some(CookieJar::from_headers(&headers))
    }

    #[test]
    fn our_cookie_is_found_among_others() {
        let jar = jar("a=1; __Host-latchkey-session=abc_DEF-123; b=2").unwrap();
        let found = read_secret(&jar, "__Host-latchkey-session").unwrap();
        assert_eq!(found.expose_secret(), "abc_DEF-123");
        assert!(read_secret(&jar, "__Secure-latchkey-refresh").is_none());
    }

    proptest::proptest! {
        /// Whatever the Cookie header holds: no panic, and only a plausible
        /// secret comes back.
        #[test]
        fn any_cookie_header_is_read_safely(header in "[ -~]{0,400}") {
            let Some(jar) = jar(&header) else { return Ok(()); };
            if let Some(secret) = read_secret(&jar, "__Host-latchkey-session") {
                let value = secret.expose_secret();
                proptest::prop_assert!(!value.is_empty() && value.len() <= 128);
                proptest::prop_assert!(header.contains("__Host-latchkey-session="));
            }
        }
    }
}
