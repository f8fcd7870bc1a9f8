//! `GET /api/openapi.json`: the document covers exactly API.md's routes (plus
//! the two session-mode additions), names this server's credentials, and
//! every operation it says needs a credential refuses a request without
//! one. (schemathesis, run by `make test`, fuzzes the same document.)

use std::collections::BTreeSet;

use crate::common::{Backend, TestApp, assert_error, bare_client};
use serde_json::Value;

async fn document(app: &TestApp) -> Value {
    let response = app.get("/api/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    response.json().await.unwrap()
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                found.push((method.to_uppercase(), path.clone(), operation));
            }
        }
    }
    found
}

async fn the_document_lists_the_contracts_routes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let listed: BTreeSet<String> = operations(&doc).iter().map(|(m, p, _)| format!("{m} {p}")).collect();
    let expected: BTreeSet<String> = [
        "POST /api/auth/register",
        "POST /api/auth/login",
        "POST /api/auth/refresh",
        "POST /api/auth/logout",
        "POST /api/auth/logout-all",
        "POST /api/session/login",
        "POST /api/session/logout",
        "POST /api/session/register",
        "GET /api/session",
        "GET /api/me",
        "PATCH /api/me",
        "POST /api/me/password",
        "GET /api/me/sessions",
        "DELETE /api/me/sessions/{id}",
        "POST /api/me/email/verify",
        "POST /api/me/email",
        "POST /api/auth/email/verify",
        "POST /api/auth/email/resend",
        "POST /api/auth/password/forgot",
        "POST /api/auth/password/reset",
        "POST /api/session/password/reset",
        "POST /api/auth/mfa/verify",
        "POST /api/session/mfa/verify",
        "GET /api/me/mfa",
        "POST /api/me/mfa/totp",
        "DELETE /api/me/mfa/totp",
        "POST /api/me/mfa/totp/confirm",
        "POST /api/me/mfa/recovery-codes",
        "POST /api/me/reauth",
        "POST /api/auth/passkey/options",
        "POST /api/auth/passkey/login",
        "POST /api/session/passkey/login",
        "POST /api/auth/mfa/passkey/options",
        "POST /api/me/mfa/passkeys/options",
        "POST /api/me/mfa/passkeys",
        "PATCH /api/me/mfa/passkeys/{id}",
        "DELETE /api/me/mfa/passkeys/{id}",
        "POST /api/me/reauth/passkey/options",
        "POST /api/me/reauth/passkey",
        "DELETE /api/admin/users/{id}/mfa",
        "GET /api/me/api-keys",
        "POST /api/me/api-keys",
        "DELETE /api/me/api-keys/{id}",
        "GET /api/admin/users/{id}/api-keys",
        "DELETE /api/admin/api-keys/{id}",
        "GET /api/admin/users",
        "PATCH /api/admin/users/{id}",
        "GET /api/admin/users/{id}/sessions",
        "DELETE /api/admin/sessions/{id}",
        "GET /api/admin/audit",
        "GET /.well-known/jwks.json",
        "GET /api/health",
        "GET /api/openapi.json",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(listed, expected);

    // The credentials carry this server's cookie names (`--cookie-secure`
    // is off in tests, so no `__Host-`/`__Secure-` prefixes).
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["session"]["name"], app.state.settings.session_cookie.as_str());
    assert_eq!(schemes["refresh"]["name"], app.state.settings.refresh_cookie.as_str());
    assert_eq!(schemes["csrf"]["name"], "X-CSRF-Token");

    // Response headers are promised, except the refresh cookie that a
    // native client's sign-in does without.
    let set_cookie = |path: &str| doc["paths"][path]["post"]["responses"]["200"]["headers"]["Set-Cookie"].clone();
    for path in ["/api/auth/login", "/api/auth/refresh", "/api/auth/mfa/verify"] {
        assert_eq!(set_cookie(path)["required"], false, "{path}");
    }
    for path in [
        "/api/session/login",
        "/api/auth/passkey/login",
        "/api/session/mfa/verify",
    ] {
        assert_eq!(set_cookie(path)["required"], true, "{path}");
    }

    for (method, path, operation) in operations(&doc) {
        let responses = operation["responses"].as_object().unwrap();
        let has = |status: &str| responses.contains_key(status);
        if operation.get("requestBody").is_some() {
            assert!(has("400") && has("413") && has("415"), "{method} {path}: body errors");
        }
        if operation.get("security").is_some() {
            assert!(has("401") && has("403"), "{method} {path}: credential errors");
        }
        if responses.contains_key("429") {
            assert_eq!(
                responses["429"]["headers"]["Retry-After"]["required"], true,
                "{method} {path}"
            );
        }
        assert!(has("500"), "{method} {path}");
    }
}

/// Every operation the document marks as needing a credential answers 401
/// to a request with none, and to one with a forged Bearer token: no route
/// is described as protected yet left open.
async fn every_protected_operation_refuses_a_missing_credential(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc = document(&app).await;
    let client = bare_client();
    let (mut protected, mut optional) = (0, 0);
    for (method, path, operation) in operations(&doc) {
        let Some(security) = operation.get("security").and_then(Value::as_array) else {
            continue;
        };
        // `{}` among the alternatives: the credential is optional. With
        // none at all there is nothing to do (a signed-out page load).
        if security.iter().any(|s| s.as_object().is_some_and(|o| o.is_empty())) {
            optional += 1;
            let mut request = client.request(method.parse().unwrap(), app.url(&path));
            if method != "GET" {
                request = request.json(&serde_json::json!({}));
            }
            assert_eq!(request.send().await.unwrap().status(), 204, "{method} {path}");
            continue;
        }
        protected += 1;
        let url = app.url(&path.replace("{id}", &uuid::Uuid::now_v7().to_string()));
        for bearer in [None, Some("Bearer eyJhbGciOiJFZERTQSJ9.e30.c2ln")] {
            let mut request = client.request(method.parse().unwrap(), &url);
            if let Some(value) = bearer {
                request = request.header("authorization", value);
            }
            if method != "GET" && method != "DELETE" {
                request = request.json(&serde_json::json!({}));
            }
            let response = request.send().await.unwrap();
            let code = match path.as_str() {
                "/api/auth/refresh" | "/api/auth/logout" => "invalid_refresh_token",
                _ => "invalid_token",
            };
            assert_error(response, 401, code).await;
        }
    }
    assert_eq!(
        (protected, optional),
        (33, 2),
        "the count of protected operations changed: update this test"
    );
}

both_backends!(
    the_document_lists_the_contracts_routes,
    every_protected_operation_refuses_a_missing_credential,
);
