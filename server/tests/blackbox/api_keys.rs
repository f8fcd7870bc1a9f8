//! Personal API keys (issue 17), black-box over HTTP on SQLite and
//! PostgreSQL: made by a recently authenticated session (JWT or cookie),
//! shown once, stored as a hash, listed with their last use, refused the
//! moment they are revoked (on this server and another replica), expired or
//! their user disabled; read-only scope, the routes keys do not reach, the
//! per-key rate limit, and the audit trail.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Backend, GOOD_PASSWORD, SignedIn, TestApp, assert_error, bare_client};

async fn create_key(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    bare_client()
        .post(app.url("/api/me/api-keys"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request")
}

/// Makes a key; returns the key and its listing.
async fn new_key(app: &TestApp, user: &SignedIn, body: Value) -> (String, Value) {
    let response = create_key(app, &user.access_token, body).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("JSON");
    let key = created["key"].as_str().expect("key").to_string();
    (key, created["api_key"].clone())
}

async fn with_key(app: &TestApp, method: reqwest::Method, path: &str, key: &str) -> reqwest::Response {
    bare_client()
        .request(method, app.url(path))
        .bearer_auth(key)
        .json(&json!({}))
        .send()
        .await
        .expect("request")
}

async fn audit_count(app: &TestApp, event: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE event = $1")
        .bind(event)
        .fetch_one(&app.state.db.pool)
        .await
        .expect("audit count")
}

async fn a_key_is_shown_once_stored_as_a_hash_and_works_until_revoked(backend: Backend) {
    let app = TestApp::spawn_unlimited(backend, &[]).await;
    let ada = app.register("ada@example.com", GOOD_PASSWORD).await;
    let (key, listed) = new_key(&app, &ada, json!({"name": "  backup script  "})).await;
    assert!(key.starts_with("lk_") && key.len() == 46, "{key}");
    assert_eq!(listed["name"], "backup script");
    assert_eq!(listed["scope"], "full");
    assert_eq!(listed["prefix"], &key[..10]);
    assert_eq!(listed["expires_at"], Value::Null);
    assert_eq!(listed["last_used_at"], Value::Null);

    // Only a hash is stored: the key appears nowhere in the database.
    let stored: Vec<(String, String)> = sqlx::query_as("SELECT secret_hash, prefix FROM api_keys")
        .fetch_all(&app.state.db.pool)
        .await
        .expect("rows");
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].0, key);
    assert_eq!(stored[0].0.len(), 64, "SHA-256 hex");

    // The key authenticates the routes keys reach.
    let me = app.get_with_bearer("/api/me", &key).await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.expect("JSON");
    assert_eq!(me["email"], "ada@example.com");
    let renamed = bare_client()
        .patch(app.url("/api/me"))
        .bearer_auth(&key)
        .json(&json!({"display_name": "Ada by script"}))
        .send()
        .await
        .expect("request");
    assert_eq!(renamed.status(), 200);
    let sessions: Vec<Value> = app
        .get_with_bearer("/api/me/sessions", &key)
        .await
        .json()
        .await
        .expect("sessions");
    assert!(sessions.iter().all(|s| s["current"] == false), "a key is no session");

    // Its use is listed (to the minute).
    let keys: Vec<Value> = app
        .get_with_bearer("/api/me/api-keys", &ada.access_token)
        .await
        .json()
        .await
        .expect("keys");
    assert_eq!(keys.len(), 1);
    assert!(keys[0]["last_used_at"].is_string(), "{keys:?}");

    // Revoked: refused at once.
    let id = listed["id"].as_str().expect("id");
    let revoked = bare_client()
        .delete(app.url(&format!("/api/me/api-keys/{id}")))
        .bearer_auth(&ada.access_token)
        .send()
        .await
        .expect("request");
    assert_eq!(revoked.status(), 204);
    assert_error(app.get_with_bearer("/api/me", &key).await, 401, "invalid_token").await;
    let keys: Vec<Value> = app
        .get_with_bearer("/api/me/api-keys", &ada.access_token)
        .await
        .json()
        .await
        .expect("keys");
    assert!(keys.is_empty());
    assert_eq!(audit_count(&app, "api_key.created").await, 1);
    assert_eq!(audit_count(&app, "api_key.revoked").await, 1);
    assert!(audit_count(&app, "api_key.refused").await >= 1);

    // A forged key of the right shape, and another user's key id.
    let forged = format!("lk_{}", "A".repeat(43));
    assert_error(app.get_with_bearer("/api/me", &forged).await, 401, "invalid_token").await;
    let bob = app.register("bob@example.com", GOOD_PASSWORD).await;
    let (_, bobs) = new_key(&app, &bob, json!({"name": "bob's"})).await;
    let other = bare_client()
        .delete(app.url(&format!("/api/me/api-keys/{}", bobs["id"].as_str().unwrap())))
        .bearer_auth(&ada.access_token)
        .send()
        .await
        .expect("request");
    assert_error(other, 404, "not_found").await;
}

async fn read_only_keys_only_read_and_keys_reach_only_their_routes(backend: Backend) {
    let app = TestApp::spawn_unlimited(backend, &[]).await;
    let ada = app.register("ada@example.com", GOOD_PASSWORD).await;
    let (read, _) = new_key(&app, &ada, json!({"name": "reader", "scope": "read"})).await;
    assert_eq!(app.get_with_bearer("/api/me", &read).await.status(), 200);
    let write = bare_client()
        .patch(app.url("/api/me"))
        .bearer_auth(&read)
        .json(&json!({"display_name": "nope"}))
        .send()
        .await
        .expect("request");
    assert_error(write, 403, "forbidden").await;
    let me: Value = app.get_with_bearer("/api/me", &read).await.json().await.unwrap();
    assert_eq!(me["display_name"], Value::Null, "nothing changed");

    // A key makes no keys, changes no password, signs nothing out and does
    // not reach the admin area — whatever its scope.
    let (full, _) = new_key(&app, &ada, json!({"name": "full"})).await;
    assert_error(
        create_key(&app, &full, json!({"name": "child"})).await,
        403,
        "forbidden",
    )
    .await;
    for (method, path) in [
        (reqwest::Method::POST, "/api/me/password"),
        (reqwest::Method::POST, "/api/auth/logout-all"),
        (reqwest::Method::GET, "/api/me/mfa"),
        (reqwest::Method::GET, "/api/admin/users"),
    ] {
        assert_error(with_key(&app, method, path, &full).await, 403, "forbidden").await;
    }
    // And is never taken for an access token or a refresh token.
    assert_error(app.refresh_with(&full).await, 401, "invalid_refresh_token").await;
    assert_eq!(
        app.get_with_bearer("/api/me/sessions", &ada.access_token)
            .await
            .status(),
        200
    );
}

async fn expired_keys_and_disabled_users_are_refused(backend: Backend) {
    let app = TestApp::spawn_unlimited(backend, &[]).await;
    let ada = app.register("ada@example.com", GOOD_PASSWORD).await;
    let (short, listed) = new_key(&app, &ada, json!({"name": "a day", "expires_in_days": 1})).await;
    assert!(listed["expires_at"].is_string());
    let (long, _) = new_key(&app, &ada, json!({"name": "forever"})).await;
    for bad in [
        json!({"name": ""}),
        json!({"name": "x".repeat(65)}),
        json!({"name": "ok", "expires_in_days": 0}),
        json!({"name": "ok", "expires_in_days": 366}),
        json!({"name": "ok", "scope": "admin"}),
    ] {
        let response = create_key(&app, &ada.access_token, bad.clone()).await;
        assert!(
            [400, 422].contains(&response.status().as_u16()),
            "{bad}: {}",
            response.status()
        );
    }
    assert_eq!(app.get_with_bearer("/api/me", &short).await.status(), 200);
    app.clock.advance(Duration::from_secs(24 * 3600 + 1));
    assert_error(app.get_with_bearer("/api/me", &short).await, 401, "invalid_token").await;
    assert_eq!(app.get_with_bearer("/api/me", &long).await.status(), 200);

    sqlx::query("UPDATE users SET disabled_at = 1 WHERE email_key = 'ada@example.com'")
        .execute(&app.state.db.pool)
        .await
        .expect("disable");
    assert_error(app.get_with_bearer("/api/me", &long).await, 401, "invalid_token").await;
}

/// Creating a key is a sensitive action: a session whose last full
/// authentication is old must authenticate again, in either mode.
async fn creating_a_key_needs_a_recent_authentication(backend: Backend) {
    let app = TestApp::spawn_unlimited(backend, &["--access-ttl-secs=3600"]).await;
    let ada = app.register("ada@example.com", GOOD_PASSWORD).await;
    app.clock.advance(Duration::from_secs(601));
    assert_error(
        create_key(&app, &ada.access_token, json!({"name": "late"})).await,
        401,
        "reauth_required",
    )
    .await;
    let reauth = bare_client()
        .post(app.url("/api/me/reauth"))
        .bearer_auth(&ada.access_token)
        .json(&json!({"password": GOOD_PASSWORD}))
        .send()
        .await
        .expect("request");
    assert_eq!(reauth.status(), 204);
    assert_eq!(
        create_key(&app, &ada.access_token, json!({"name": "late"}))
            .await
            .status(),
        201
    );

    // Session mode: the cookie, the CSRF token, and the same rule.
    let login = app
        .post_json(
            "/api/session/login",
            &json!({"email": "ada@example.com", "password": GOOD_PASSWORD}),
        )
        .await;
    let cookie = crate::common::set_cookie(&login, "__Host-latchkey-session").expect("cookie");
    let body: Value = login.json().await.unwrap();
    let csrf = body["csrf_token"].as_str().unwrap();
    let by_cookie = |name: &str| {
        bare_client()
            .post(app.url("/api/me/api-keys"))
            .header("cookie", format!("__Host-latchkey-session={}", cookie.value))
            .header("x-csrf-token", csrf)
            .json(&json!({"name": name}))
            .send()
    };
    assert_eq!(by_cookie("cookie key").await.unwrap().status(), 201);
    let without_csrf = bare_client()
        .post(app.url("/api/me/api-keys"))
        .header("cookie", format!("__Host-latchkey-session={}", cookie.value))
        .json(&json!({"name": "no csrf"}))
        .send()
        .await
        .unwrap();
    assert_error(without_csrf, 403, "csrf_rejected").await;
    app.clock.advance(Duration::from_secs(601));
    assert_error(by_cookie("stale").await.unwrap(), 401, "reauth_required").await;
}

/// An administrator lists and revokes anyone's keys; the revocation holds
/// on the next request on another replica too.
async fn admins_revoke_keys_and_every_replica_refuses_them_at_once(backend: Backend) {
    let app = TestApp::spawn_unlimited(backend, &[]).await;
    let ada = app.register("ada@example.com", GOOD_PASSWORD).await;
    let (key, listed) = new_key(&app, &ada, json!({"name": "ci"})).await;
    let replica = app.spawn_replica(&["--rate-address-per-min=100000"]).await;
    assert_eq!(replica.get_with_bearer("/api/me", &key).await.status(), 200);

    app.register("root@example.com", GOOD_PASSWORD).await;
    sqlx::query("UPDATE users SET role = 'admin' WHERE email_key = 'root@example.com'")
        .execute(&app.state.db.pool)
        .await
        .expect("promote");
    let root = app.login("root@example.com", GOOD_PASSWORD).await;
    let user_id = ada.body.user.id;
    let keys: Vec<Value> = app
        .get_with_bearer(&format!("/api/admin/users/{user_id}/api-keys"), &root.access_token)
        .await
        .json()
        .await
        .expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["id"], listed["id"]);
    // Not for a user.
    let as_user = app
        .get_with_bearer(&format!("/api/admin/users/{user_id}/api-keys"), &ada.access_token)
        .await;
    assert_error(as_user, 403, "forbidden").await;

    let revoked = bare_client()
        .delete(app.url(&format!("/api/admin/api-keys/{}", listed["id"].as_str().unwrap())))
        .bearer_auth(&root.access_token)
        .send()
        .await
        .expect("request");
    assert_eq!(revoked.status(), 204);
    assert_error(replica.get_with_bearer("/api/me", &key).await, 401, "invalid_token").await;
    assert_error(app.get_with_bearer("/api/me", &key).await, 401, "invalid_token").await;
    let (subject, actor): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT user_id, actor_id FROM audit_events WHERE event = 'admin.api_key_revoked'")
            .fetch_one(&app.state.db.pool)
            .await
            .expect("audit row");
    assert_eq!(subject.as_deref(), Some(user_id.to_string().as_str()));
    assert_eq!(actor.as_deref(), Some(root.body.user.id.to_string().as_str()));
}

async fn each_key_has_a_request_budget(backend: Backend) {
    let app = TestApp::spawn_unlimited(backend, &["--rate-api-key-per-min=5"]).await;
    let ada = app.register("ada@example.com", GOOD_PASSWORD).await;
    let (first, _) = new_key(&app, &ada, json!({"name": "busy"})).await;
    let (second, _) = new_key(&app, &ada, json!({"name": "quiet"})).await;
    for _ in 0..5 {
        assert_eq!(app.get_with_bearer("/api/me", &first).await.status(), 200);
    }
    let limited = app.get_with_bearer("/api/me", &first).await;
    assert!(limited.headers().get("retry-after").is_some());
    assert_error(limited, 429, "rate_limited").await;
    // Another key of the same user has its own budget.
    assert_eq!(app.get_with_bearer("/api/me", &second).await.status(), 200);
    app.clock.advance(Duration::from_secs(61));
    assert_eq!(app.get_with_bearer("/api/me", &first).await.status(), 200);
}

both_backends!(
    a_key_is_shown_once_stored_as_a_hash_and_works_until_revoked,
    read_only_keys_only_read_and_keys_reach_only_their_routes,
    expired_keys_and_disabled_users_are_refused,
    creating_a_key_needs_a_recent_authentication,
    admins_revoke_keys_and_every_replica_refuses_them_at_once,
    each_key_has_a_request_budget,
);
