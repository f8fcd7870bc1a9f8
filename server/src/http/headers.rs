//! Response headers every answer carries (API.md "Response headers"), and
//! the body-size guard that runs before any handler reads a byte.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::json::too_large;

/// Request bodies over this are refused before they are parsed.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Refuses a declared oversize body at once; bodies without a length are
/// cut off at the same limit by `DefaultBodyLimit` while being read.
pub async fn limit_body(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return too_large().into_response();
    }
    next.run(request).await
}

/// Sets the security headers. Pages get their nonce-based CSP from the app
/// shell; anything else (JSON, files) gets a CSP that allows nothing.
pub async fn security_headers(State(state): State<AppState>, request: Request<Body>, next: Next) -> Response {
    // Browsers reach us over HTTPS (a TLS proxy in front): keep them there.
    let hsts = state.settings.public_origin.starts_with("https://");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    );
    headers.remove(header::SERVER);
    if hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
        );
    }
    response
}
