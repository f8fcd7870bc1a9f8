//! A cookie session's read and a user's profile are cached for many seconds
//! (`auth::caches`), so what would make them stale must reach every server
//! through the revocation feed: a demotion, a disabled account, a new
//! session id, a new name. These change the
//! database behind both servers' backs (hand-written SQL: no server hears of
//! it from its own code) or on the other server, and each server must act on
//! the change within a second. On SQLite both servers share the file; on
//! PostgreSQL they are two replicas.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{
    Backend, GOOD_PASSWORD, SESSION_COOKIE, TestApp, bare_client, set_cookie, with_session_cookie, within,
};

const EMAIL: &str = "cached-admin@example.com";

struct Cookie {
    value: String,
    csrf: String,
}

async fn sign_in(app: &TestApp) -> Cookie {
    let response = app
        .post_json(
            "/api/session/login",
            &json!({"email": EMAIL, "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let value = set_cookie(&response, SESSION_COOKIE).expect("session cookie").value;
    let body: serde_json::Value = response.json().await.expect("JSON");
    Cookie {
        value,
        csrf: body["csrf_token"].as_str().expect("csrf").to_string(),
    }
}

async fn status(app: &TestApp, path: &str, cookie: &str) -> u16 {
    with_session_cookie(app, path, cookie).await.status().as_u16()
}

#[derive(Clone, Copy)]
enum With<'a> {
    Cookie(&'a str),
    Bearer(&'a str),
}

/// Waits until every server answers `path` with `expected`, or panics after
/// a second (the contract's bound).
async fn everywhere_within_a_second(apps: [&TestApp; 2], path: &str, with: With<'_>, expected: u16, what: &str) {
    within(Duration::from_secs(1), what, || async move {
        let mut all = true;
        for app in apps {
            let answer = match with {
                With::Cookie(cookie) => status(app, path, cookie).await,
                With::Bearer(token) => app.get_with_bearer(path, token).await.status().as_u16(),
            };
            all &= answer == expected;
        }
        all
    })
    .await;
}

async fn sql(app: &TestApp, statement: &'static str) {
    let done = sqlx::query(statement)
        .bind(EMAIL)
        .execute(&app.state.db.pool)
        .await
        .expect("statement");
    assert_eq!(done.rows_affected(), 1);
}

async fn changes_behind_the_servers_backs_reach_their_cached_reads(backend: Backend) {
    let a = TestApp::spawn(backend).await;
    let b = a.spawn_replica(&[]).await;
    a.register(EMAIL, GOOD_PASSWORD).await;
    sql(&a, "UPDATE users SET role = 'admin' WHERE email_key = $1").await;
    let cookie = sign_in(&a).await.value;
    // Read, and cached, on both.
    for app in [&a, &b] {
        for _ in 0..3 {
            assert_eq!(status(app, "/api/admin/users", &cookie).await, 200);
        }
    }

    // Demoted by hand: the admin area closes on both servers.
    sql(&a, "UPDATE users SET role = 'user' WHERE email_key = $1").await;
    everywhere_within_a_second([&a, &b], "/api/admin/users", With::Cookie(&cookie), 403, "the demotion").await;
    assert_eq!(status(&b, "/api/me", &cookie).await, 200, "still signed in, as a user");

    // Disabled by hand (no session revoked): refused on both.
    sql(&a, "UPDATE users SET disabled_at = 1 WHERE email_key = $1").await;
    everywhere_within_a_second([&a, &b], "/api/me", With::Cookie(&cookie), 401, "the disabled account").await;
    sql(&a, "UPDATE users SET disabled_at = NULL WHERE email_key = $1").await;
    everywhere_within_a_second([&a, &b], "/api/me", With::Cookie(&cookie), 200, "the enabled account").await;
}

async fn display_name(app: &TestApp, cookie: &str) -> serde_json::Value {
    let response = with_session_cookie(app, "/api/me", cookie).await;
    assert_eq!(response.status(), 200);
    response.json::<serde_json::Value>().await.expect("JSON")["display_name"].clone()
}

/// The profile `GET /api/me` serves from its cache follows a change made by
/// hand, on both servers, within a second — and one made through the API
/// on one server at once there.
async fn profiles_follow_changes_made_behind_the_servers_backs(backend: Backend) {
    let a = TestApp::spawn(backend).await;
    let b = a.spawn_replica(&[]).await;
    a.register(EMAIL, GOOD_PASSWORD).await;
    let cookie = sign_in(&a).await;
    for app in [&a, &b] {
        assert_eq!(display_name(app, &cookie.value).await, serde_json::Value::Null);
    }
    sql(
        &a,
        "UPDATE users SET display_name = 'Renamed by hand' WHERE email_key = $1",
    )
    .await;
    let started = Instant::now();
    for app in [&a, &b] {
        while display_name(app, &cookie.value).await != "Renamed by hand" {
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "the new name: not within a second"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let renamed = bare_client()
        .patch(b.url("/api/me"))
        .header("cookie", format!("{SESSION_COOKIE}={}", cookie.value))
        .header("x-csrf-token", &cookie.csrf)
        .json(&json!({"display_name": "Renamed on B"}))
        .send()
        .await
        .expect("request");
    assert_eq!(renamed.status(), 200);
    assert_eq!(
        display_name(&b, &cookie.value).await,
        "Renamed on B",
        "at once where it changed"
    );
}

/// A password change on one server gives its cookie session a new id: the
/// old cookie, cached on the other server, stops working there too.
async fn a_new_session_id_retires_the_old_cookie_everywhere(backend: Backend) {
    let a = TestApp::spawn(backend).await;
    let b = a.spawn_replica(&[]).await;
    a.register(EMAIL, GOOD_PASSWORD).await;
    let old = sign_in(&a).await;
    for app in [&a, &b] {
        assert_eq!(status(app, "/api/me", &old.value).await, 200);
    }
    let changed = bare_client()
        .post(a.url("/api/me/password"))
        .header("cookie", format!("{SESSION_COOKIE}={}", old.value))
        .header("x-csrf-token", &old.csrf)
        .json(&json!({"current_password": GOOD_PASSWORD, "new_password": "an entirely new passphrase 7"}))
        .send()
        .await
        .expect("request");
    assert_eq!(changed.status(), 204);
    let new = set_cookie(&changed, SESSION_COOKIE).expect("a new session id").value;
    assert_ne!(new, old.value);

    assert_eq!(status(&a, "/api/me", &old.value).await, 401, "at once where it changed");
    everywhere_within_a_second([&a, &b], "/api/me", With::Cookie(&old.value), 401, "the old session id").await;
    for app in [&a, &b] {
        assert_eq!(status(app, "/api/me", &new).await, 200);
    }
}

/// Under `session-lookup` a Bearer token's session is cached by id: a
/// change of its user's role or status made by hand reaches both servers
/// within a second there too (the trigger stamps every kind of session).
async fn session_lookup_tokens_follow_changes_behind_the_servers_backs(backend: Backend) {
    // One public origin: a token is issued for it, not for one server.
    let lookup = [
        "--access-check=session-lookup",
        "--public-origin=https://latchkey.example",
    ];
    let a = TestApp::spawn_with(backend, &lookup).await;
    let b = a.spawn_replica(&lookup).await;
    a.register(EMAIL, GOOD_PASSWORD).await;
    let token = a.login(EMAIL, GOOD_PASSWORD).await.access_token;
    // Read, and cached, on both.
    for _ in 0..3 {
        everywhere_within_a_second([&a, &b], "/api/me", With::Bearer(&token), 200, "signed in").await;
    }
    // Disabled by hand (no session revoked): refused on both.
    sql(&a, "UPDATE users SET disabled_at = 1 WHERE email_key = $1").await;
    everywhere_within_a_second([&a, &b], "/api/me", With::Bearer(&token), 401, "the disabled account").await;
    sql(&a, "UPDATE users SET disabled_at = NULL WHERE email_key = $1").await;
    everywhere_within_a_second([&a, &b], "/api/me", With::Bearer(&token), 200, "the enabled account").await;
    // Promoted by hand: the token says `user`, the row now `admin`, and
    // session-lookup honours only the role the user has now.
    sql(&a, "UPDATE users SET role = 'admin' WHERE email_key = $1").await;
    everywhere_within_a_second(
        [&a, &b],
        "/api/me",
        With::Bearer(&token),
        401,
        "a token of a role the user lacks",
    )
    .await;
}

both_backends!(
    session_lookup_tokens_follow_changes_behind_the_servers_backs,
    changes_behind_the_servers_backs_reach_their_cached_reads,
    profiles_follow_changes_made_behind_the_servers_backs,
    a_new_session_id_retires_the_old_cookie_everywhere,
);
