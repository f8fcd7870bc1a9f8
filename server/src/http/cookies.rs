//! The refresh cookie: `HttpOnly; Secure; SameSite=Strict; Path=/api/auth;
//! Max-Age=<lifetime>`. JavaScript cannot read it, other sites cannot send
//! it, and it travels only to the routes that renew or end a session.

use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use secrecy::{ExposeSecret, SecretString};

use crate::config::Settings;

pub const REFRESH_COOKIE_PATH: &str = "/api/auth";

pub fn refresh_cookie(settings: &Settings, token: &SecretString, max_age_secs: i64) -> Cookie<'static> {
    Cookie::build((settings.refresh_cookie.clone(), token.expose_secret().to_string()))
        .http_only(true)
        .secure(settings.cookie_secure)
        .same_site(SameSite::Strict)
        .path(REFRESH_COOKIE_PATH)
        .max_age(cookie::time::Duration::seconds(max_age_secs.max(0)))
        .build()
}

/// An expired cookie with the same name, path and attributes, so the
/// browser drops the one it has.
pub fn cleared_refresh_cookie(settings: &Settings) -> Cookie<'static> {
    let mut cookie = refresh_cookie(settings, &SecretString::from(String::new()), 0);
    cookie.make_removal();
    cookie
}

pub fn read_refresh_token(jar: &CookieJar, settings: &Settings) -> Option<SecretString> {
    jar.get(&settings.refresh_cookie)
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(SecretString::from)
}
