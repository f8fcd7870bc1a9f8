//! The wire: one fetch per request, answers mapped to [`Reply`] or
//! [`ApiFailure`]. Only the browser build sends anything; the server
//! build never calls the API (pages fetch in effects and event handlers,
//! which run only in the browser) and gets an inert stand-in.

use super::{ApiFailure, ApiRequest, Reply};
use crate::auth::Credential;

#[cfg(feature = "hydrate")]
pub async fn send(request: &ApiRequest, credential: Option<&Credential>) -> Result<Reply, ApiFailure> {
    use gloo_net::http::{Method, RequestBuilder};
    use web_sys::RequestCredentials;

    use super::Verb;

    let method = match request.verb {
        Verb::Get => Method::GET,
        Verb::Post => Method::POST,
        Verb::Patch => Method::PATCH,
        Verb::Delete => Method::DELETE,
    };
    let mut builder = RequestBuilder::new(&request.path)
        .method(method)
        .credentials(RequestCredentials::SameOrigin)
        .header("Accept", "application/json");
    match credential {
        Some(Credential::Bearer(token)) => {
            builder = builder.header("Authorization", &format!("Bearer {}", token.token));
        }
        Some(Credential::Cookie { csrf_token }) if request.verb != Verb::Get => {
            builder = builder.header("X-CSRF-Token", csrf_token);
        }
        _ => {}
    }
    let built = match &request.body {
        Some(json) => builder.header("Content-Type", "application/json").body(json.as_str()),
        None => builder.build(),
    };
    let response = built
        .map_err(|_| ApiFailure::Network)?
        .send()
        .await
        .map_err(|_| ApiFailure::Network)?;
    let status = response.status();
    let retry_after = response.headers().get("retry-after");
    let body = response.text().await.map_err(|_| ApiFailure::Network)?;
    to_result(status, body, retry_after.as_deref())
}

#[cfg(not(feature = "hydrate"))]
pub async fn send(_request: &ApiRequest, _credential: Option<&Credential>) -> Result<Reply, ApiFailure> {
    Err(ApiFailure::Network)
}

/// 2xx is a reply; anything else must be the contract's error body.
// The server build's stand-in never gets an answer to map.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn to_result(status: u16, body: String, retry_after: Option<&str>) -> Result<Reply, ApiFailure> {
    if (200..300).contains(&status) {
        return Ok(Reply { status, body });
    }
    match serde_json::from_str(&body) {
        Ok(body) => Err(ApiFailure::Api {
            status,
            body,
            retry_after_secs: retry_after.and_then(|v| v.trim().parse().ok()),
        }),
        Err(_) => Err(ApiFailure::Unexpected { status }),
    }
}

#[cfg(test)]
mod tests {
    use latchkey_types::ErrorCode;

    use super::*;

    #[test]
    fn error_bodies_are_typed_and_others_are_unexpected() {
        let limited = to_result(429, r#"{"error":"rate_limited","message":"wait"}"#.into(), Some("42"));
        assert_eq!(limited.err().and_then(|f| f.retry_after()), Some(42));
        let html = to_result(502, "<html>Bad gateway</html>".into(), None);
        assert_eq!(html.err(), Some(ApiFailure::Unexpected { status: 502 }));
        let ok = to_result(204, String::new(), None);
        assert!(ok.is_ok());
        let denied = to_result(401, r#"{"error":"invalid_token","message":"no"}"#.into(), None);
        assert!(denied.err().is_some_and(|f| f.is(ErrorCode::InvalidToken)));
    }
}
