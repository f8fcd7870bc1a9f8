//! Cross-site request defence for cookie-authenticated requests (API.md).
//!
//! `SameSite=Strict` already keeps the refresh cookie off cross-site
//! requests in current browsers; this is the second, server-side layer: a
//! request whose `Origin` (or, absent that, `Referer`) names another origin,
//! or whose `Sec-Fetch-Site` says `cross-site`, changes nothing. Requests
//! with neither header (non-browser clients) pass: they carry no ambient
//! cookies an attacker could borrow.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use latchkey_types::ErrorCode;

use super::{ApiError, AppState};

/// The layer on the routes a browser reaches with its cookies: a cross-site
/// request is refused before its body is even read.
pub async fn same_origin_only(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match check_same_origin(request.headers(), &state.settings.public_origin) {
        Ok(()) => next.run(request).await,
        Err(rejected) => rejected.into_response(),
    }
}

pub fn check_same_origin(headers: &HeaderMap, public_origin: &str) -> Result<(), ApiError> {
    let header = |name: &HeaderName| headers.get(name).map(|v| v.to_str().unwrap_or("\u{0}"));
    if header(&SEC_FETCH_SITE) == Some("cross-site") {
        return Err(rejected());
    }
    let same = match (header(&header::ORIGIN), header(&header::REFERER)) {
        (Some(origin), _) => origin == public_origin,
        (None, Some(referer)) => origin_of(referer).is_some_and(|origin| origin == public_origin),
        (None, None) => true,
    };
    if same { Ok(()) } else { Err(rejected()) }
}

static SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    matches!(parsed.scheme(), "http" | "https").then(|| parsed.origin().ascii_serialization())
}

fn rejected() -> ApiError {
    ApiError::new(
        ErrorCode::CsrfRejected,
        "This request came from another site and was refused.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "http://127.0.0.1:3000";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn same_origin_and_headerless_requests_pass() {
        assert!(check_same_origin(&headers(&[]), ORIGIN).is_ok());
        assert!(check_same_origin(&headers(&[("origin", ORIGIN)]), ORIGIN).is_ok());
        assert!(check_same_origin(&headers(&[("referer", "http://127.0.0.1:3000/login?x=1")]), ORIGIN).is_ok());
        assert!(
            check_same_origin(
                &headers(&[("sec-fetch-site", "same-origin"), ("origin", ORIGIN)]),
                ORIGIN
            )
            .is_ok()
        );
    }

    #[test]
    fn other_origins_are_refused() {
        for h in [
            vec![("origin", "https://evil.example")],
            vec![("origin", "null")],
            vec![("origin", "http://127.0.0.1:3001")],
            vec![("referer", "https://evil.example/page")],
            vec![("referer", "not a url")],
            vec![("sec-fetch-site", "cross-site")],
            vec![("sec-fetch-site", "cross-site"), ("origin", ORIGIN)],
        ] {
            assert!(check_same_origin(&headers(&h), ORIGIN).is_err(), "{h:?} passed");
        }
    }

    proptest::proptest! {
        /// Any Origin other than ours is refused; ours passes unless the
        /// browser says the request is cross-site.
        #[test]
        fn only_our_origin_passes(origin in "[ -~]{0,80}", fetch_site in "(same-origin|same-site|none|cross-site)") {
            let Ok(value) = axum::http::HeaderValue::from_str(&origin) else { return Ok(()); };
            let mut map = HeaderMap::new();
            map.insert("origin", value);
            map.insert("sec-fetch-site", fetch_site.parse().unwrap());
            let passed = check_same_origin(&map, ORIGIN).is_ok();
            proptest::prop_assert_eq!(passed, origin == ORIGIN && fetch_site != "cross-site");
        }
    }
}
