//! What the request extractors read from headers, on arbitrary bytes: the
//! `Authorization` parser, the session-cookie reader and the same-origin
//! check. None may panic, and each may only accept what it promises to.

#![no_main]

use axum::http::header::{AUTHORIZATION, COOKIE, ORIGIN, REFERER};
use axum::http::{HeaderName, HeaderValue, Request};
use axum_extra::extract::CookieJar;
use latchkey::http::cookies::read_secret;
use latchkey::http::csrf::check_same_origin;
use latchkey::http::extract::bearer_token;
use libfuzzer_sys::fuzz_target;

const PUBLIC_ORIGIN: &str = "http://127.0.0.1:3000";
const SESSION_COOKIE: &str = "__Host-latchkey-session";

fuzz_target!(|data: &[u8]| {
    // Five header values, separated by 0xFF (never valid in a header).
    let mut fields = data.split(|b| *b == 0xFF);
    let names = [
        AUTHORIZATION,
        COOKIE,
        ORIGIN,
        REFERER,
        HeaderName::from_static("sec-fetch-site"),
    ];
    let mut request = Request::builder();
    for name in names {
        if let Some(value) = fields.next().and_then(|raw| HeaderValue::from_bytes(raw).ok()) {
            request = request.header(name, value);
        }
    }
    let Ok(request) = request.body(()) else { return };
    let (parts, ()) = request.into_parts();
    let headers = &parts.headers;

    // A token only from `Bearer <token68>`, scheme in any case.
    if let Some(token) = bearer_token(&parts) {
        let value = headers[AUTHORIZATION].to_str().unwrap();
        assert!(
            value.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("bearer ")),
            "{value:?}"
        );
        assert!(!token.is_empty() && value.ends_with(token), "{value:?} gave {token:?}");
        assert!(!token.contains(' '));
    }

    // A session secret only from a cookie of that name, never empty or
    // longer than ours could be.
    if let Some(secret) = read_secret(&CookieJar::from_headers(headers), SESSION_COOKIE) {
        use secrecy::ExposeSecret;
        let secret = secret.expose_secret();
        assert!(!secret.is_empty() && secret.len() <= 128);
        let cookies = headers[COOKIE].to_str().unwrap_or_default();
        assert!(cookies.contains(&format!("{SESSION_COOKIE}=")));
    }

    // Same-origin passes only with our origin (or no claim at all) and
    // never for `Sec-Fetch-Site: cross-site`.
    if check_same_origin(headers, PUBLIC_ORIGIN).is_ok() {
        assert_ne!(
            headers.get("sec-fetch-site").map(|v| v.as_bytes()),
            Some(&b"cross-site"[..])
        );
        if let Some(origin) = headers.get(ORIGIN) {
            assert_eq!(origin.as_bytes(), PUBLIC_ORIGIN.as_bytes());
        } else if let Some(referer) = headers.get(REFERER) {
            let referer = url::Url::parse(referer.to_str().unwrap()).unwrap();
            let names = (referer.scheme(), referer.host_str(), referer.port_or_known_default());
            assert_eq!(names, ("http", Some("127.0.0.1"), Some(3000)), "{referer}");
        }
    }
});
