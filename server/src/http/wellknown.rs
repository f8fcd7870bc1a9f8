//! `GET /.well-known/jwks.json`: the public keys that verify access tokens,
//! so other services can check them without any secret.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::auth::keys::JWKS_MAX_AGE_SECS;

#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "meta",
    responses((status = 200, description = "The public keys (RFC 7517 JWK set) that verify access tokens.", body = Object))
)]
pub async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = Json(state.tokens.current().keyring().jwks()).into_response();
    // Short: a rotated-in key must reach verifiers before it signs tokens
    // they have to check (`keys::KEY_ACTIVATION_MS`).
    let cache = format!("public, max-age={JWKS_MAX_AGE_SECS}");
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_str(&cache).expect("ASCII"));
    response
}
