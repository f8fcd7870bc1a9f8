//! The two cookies Latchkey sets. The refresh cookie: `HttpOnly; Secure; SameSite=Strict; Path=/api/auth;
//! Max-Age=<lifetime>`. JavaScript cannot read it, other sites cannot send
//! it, and it travels only to the routes that renew or end a session.

use axum::http::{HeaderMap, header};
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
    jar.get(name).and_then(|cookie| plausible_secret(cookie.value()))
}

fn plausible_secret(value: &str) -> Option<SecretString> {
    (!value.is_empty() && value.len() <= 128).then(|| SecretString::from(value.to_string()))
}

/// The cookie `name` of a request, as a [`CookieJar`] would find it (the
/// last one of that name), parsed in place: no jar, no copy of the cookies
/// the browser sends besides it. The session cookie is read on every
/// request of a cookie session.
fn request_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<Cookie<'h>> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse_encoded)
        .filter_map(Result::ok)
        .filter(|cookie| cookie.name() == name)
        .last()
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
pub fn read_session_secret(headers: &HeaderMap, settings: &Settings) -> Option<SecretString> {
    request_cookie(headers, &settings.session_cookie).and_then(|cookie| plausible_secret(cookie.value()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookie_header: &str) -> Option<HeaderMap> {
        let mut headers = HeaderMap::new();
        headers.insert("cookie", axum::http::HeaderValue::from_str(cookie_header).ok()?);
        Some(headers)
    }

    const NAME: &str = "__Host-latchkey-session";

    #[test]
    fn our_cookie_is_found_among_others() {
        let headers = headers("a=1; __Host-latchkey-session=abc_DEF-123; b=2").unwrap();
        let found = read_secret(&CookieJar::from_headers(&headers), NAME).unwrap();
        assert_eq!(found.expose_secret(), "abc_DEF-123");
        let read = request_cookie(&headers, NAME).unwrap();
        assert_eq!(read.value(), "abc_DEF-123");
        assert!(read_secret(&CookieJar::from_headers(&headers), "__Secure-latchkey-refresh").is_none());
        assert!(request_cookie(&headers, "__Secure-latchkey-refresh").is_none());
    }

    #[test]
    fn a_request_cookie_is_read_as_a_jar_reads_it() {
        let mut headers = headers("__Host-latchkey-session=first").unwrap();
        // Several headers, a repeated name, encoding, a near-miss name.
        headers.append(
            "cookie",
            "x=1;  __Host-latchkey-session=%61b ; __host-latchkey-session=c"
                .parse()
                .unwrap(),
        );
        let jar = CookieJar::from_headers(&headers);
        assert_eq!(jar.get(NAME).unwrap().value(), "ab");
        assert_eq!(request_cookie(&headers, NAME).unwrap().value(), "ab");
    }

    proptest::proptest! {
        /// Whatever the Cookie header holds: no panic, only a plausible
        /// secret comes back, and the same one a jar would find.
        #[test]
        fn any_cookie_header_is_read_safely(header in "[ -~]{0,400}") {
            let Some(headers) = headers(&header) else { return Ok(()); };
            let jar = CookieJar::from_headers(&headers);
            let read = request_cookie(&headers, NAME).and_then(|cookie| plausible_secret(cookie.value()));
            proptest::prop_assert_eq!(
                read.as_ref().map(|s| s.expose_secret().to_string()),
                read_secret(&jar, NAME).map(|s| s.expose_secret().to_string())
            );
            if let Some(secret) = read {
                let value = secret.expose_secret();
                proptest::prop_assert!(!value.is_empty() && value.len() <= 128);
                proptest::prop_assert!(header.contains("__Host-latchkey-session="));
            }
        }

        /// Cookie headers made of `name=value` pairs, ours among them.
        #[test]
        fn cookie_lists_are_read_as_a_jar_reads_them(
            pairs in proptest::collection::vec(("(__Host-latchkey-session|a|b)", "[!-:<-~]{0,20}"), 0..6),
            separator in "; ?",
        ) {
            let header = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join(&separator);
            let Some(headers) = headers(&header) else { return Ok(()); };
            let jar = CookieJar::from_headers(&headers);
            proptest::prop_assert_eq!(
                request_cookie(&headers, NAME).map(|c| c.value().to_string()),
                jar.get(NAME).map(|c| c.value().to_string())
            );
        }
    }
}
