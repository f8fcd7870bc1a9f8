//! `GET /api/openapi.json`: the OpenAPI 3.1 description of this API.
//!
//! Generated, not written: every route is registered through
//! `utoipa_axum::routes!`, so a handler without its `#[utoipa::path]` does
//! not compile into the router, and the body schemas are the shared types'
//! own (`latchkey-types`, feature `openapi`). Each handler's attribute lists
//! what only it answers (its success, 404, 409, 422, 429); [`finish`] adds
//! what comes from the layers every route shares, by the same rules those
//! layers follow:
//!
//! - a request body (`ApiJson`): 400, 413, 415;
//! - a credential (`AuthUser`): 401 `invalid_token` with `WWW-Authenticate`,
//!   403 `forbidden` / `csrf_rejected`;
//! - the same-origin layer of the cookie routes: 403 `csrf_rejected`;
//! - everything: 500; everything that reaches the database: 503.
//!
//! It also names the credentials after this server's configuration (the
//! cookie names differ with `LATCHKEY_COOKIE_SECURE`) and marks every
//! documented response header as required, so a client (or schemathesis)
//! may rely on `Retry-After` and `Set-Cookie` being there — except the
//! refresh cookie where a native client gets its token in the body.

use serde_json::{Map, Value, json};
use utoipa::OpenApi;

use crate::config::Settings;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Latchkey",
        description = "Sign-in with short-lived JWT access tokens and rotating refresh cookies, or with \
                       server-side session cookies; every sign-in is a session that can be listed and \
                       revoked. Errors are `{\"error\", \"message\", \"fields\"?}` (see `ErrorBody`)."
    ),
    components(schemas(latchkey_types::ErrorBody, latchkey_types::ErrorCode)),
    tags(
        (name = "auth", description = "JWT mode: access token in the body, refresh cookie on `/api/auth`. Native clients (`\"client\": \"native\"`) get and send the refresh token in the body instead, and send no cookies."),
        (name = "session", description = "Session mode: an opaque session cookie plus `X-CSRF-Token`."),
        (name = "me", description = "The signed-in user, with either credential."),
        (name = "email", description = "Proving control of an address: links mailed with a single-use token in their fragment."),
        (name = "mfa", description = "Second factors (an authenticator app and recovery codes), the second step of a sign-in, and step-up: sensitive actions answer 401 `reauth_required` until `POST /api/me/reauth`."),
        (name = "api-keys", description = "Personal API keys (`Authorization: Bearer lk_…`): made by a recently authenticated session, shown once, revoked at once everywhere. Keys reach the routes whose security lists `api_key`."),
        (name = "admin", description = "Administrators only."),
        (name = "meta", description = "Health, keys and this document."),
    )
)]
pub struct ApiDoc;

/// The served document, made once at start-up.
#[derive(Clone)]
pub struct Document(pub axum::body::Bytes);

/// This document.
#[utoipa::path(
    get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "This OpenAPI 3.1 document.", body = Object))
)]
pub async fn openapi_json(axum::Extension(doc): axum::Extension<Document>) -> axum::response::Response {
    use axum::http::header;
    axum::response::IntoResponse::into_response((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        doc.0,
    ))
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The document as served: `doc` (from the router) plus the shared
/// responses and this configuration's credentials.
pub fn finish(doc: utoipa::openapi::OpenApi, settings: &Settings) -> Value {
    let mut doc = serde_json::to_value(doc).expect("an OpenAPI document serialises");
    doc["components"]["securitySchemes"] = json!({
        "bearer": {
            "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": "An access token from login, register or refresh (EdDSA, `typ: at+jwt`).",
        },
        "session": {
            "type": "apiKey", "in": "cookie", "name": settings.session_cookie,
            "description": "Session mode's opaque session id (HttpOnly).",
        },
        "csrf": {
            "type": "apiKey", "in": "header", "name": "X-CSRF-Token",
            "description": "The session's CSRF token; needed with the session cookie on unsafe methods.",
        },
        "refresh": {
            "type": "apiKey", "in": "cookie", "name": settings.refresh_cookie,
            "description": "The rotating refresh cookie (HttpOnly, Path=/api/auth).",
        },
        "api_key": {
            "type": "http", "scheme": "bearer", "bearerFormat": "lk_…",
            "description": "A personal API key (`POST /api/me/api-keys`), on the routes that list it; a `read` key on GET only.",
        },
    });
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            for (method, operation) in item.as_object_mut().into_iter().flatten() {
                if METHODS.contains(&method.as_str()) {
                    add_shared_responses(path, method, operation);
                }
            }
        }
    }
    doc
}

fn add_shared_responses(path: &str, method: &str, operation: &mut Value) {
    let secured = operation["security"].as_array().is_some_and(|alternatives| {
        alternatives
            .iter()
            .any(|a| a.as_object().is_some_and(|a| !a.is_empty()))
    });
    let has_body = operation.get("requestBody").is_some();
    let cookie_route = method == "post" && (path.starts_with("/api/auth/") || path.starts_with("/api/session/"));
    let uses_database = path.starts_with("/api/") && path != "/api/openapi.json";
    let Some(responses) = operation["responses"].as_object_mut() else {
        return;
    };
    let mut add = |status: &str, description: &str| {
        responses.entry(status).or_insert_with(|| error_response(description));
    };
    if has_body {
        add(
            "400",
            "`bad_request`: not JSON, not an object, or a field of the wrong type",
        );
        add("413", "`payload_too_large`: over 64 KiB, refused before parsing");
        add("415", "`unsupported_media_type`: not `application/json`");
    }
    if secured {
        add(
            "401",
            "`invalid_token`: no credential, or an expired, forged or revoked one",
        );
        add(
            "403",
            "`forbidden` (not an administrator) or `csrf_rejected` (a cookie request from another origin, or without its CSRF token)",
        );
    } else if cookie_route {
        add("403", "`csrf_rejected`: sent from another origin");
    }
    add("500", "`internal`: the message never carries internals");
    if uses_database {
        add(
            "503",
            "`unavailable`: the database or the password hasher is overloaded or down",
        );
    }
    if secured
        && let Some(unauthorized) = responses.get_mut("401")
        && unauthorized.get("headers").is_none()
        && !unauthorized.to_string().contains("invalid_refresh_token")
    {
        unauthorized["headers"] = json!({
            "WWW-Authenticate": {
                "description": "`Bearer error=\"invalid_token\"`",
                "schema": {"type": "string"},
            }
        });
    }
    for response in responses.values_mut() {
        let headers = response.get_mut("headers").and_then(Value::as_object_mut);
        for header in headers.into_iter().flat_map(Map::values_mut) {
            // A native client's sign-in gets its refresh token in the body.
            let optional = header["description"]
                .as_str()
                .is_some_and(|d| d.contains(NATIVE_GETS_NO_COOKIE));
            header["required"] = Value::Bool(!optional);
        }
    }
}

/// How a `Set-Cookie` header's description says it is absent for a native
/// client (the only response header that is not always there).
const NATIVE_GETS_NO_COOKIE: &str = "none for a native client";

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    })
}
