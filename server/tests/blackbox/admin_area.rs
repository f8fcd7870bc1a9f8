//! `LATCHKEY_ADMIN_AUTH=session` (issue 17): the admin area takes only a
//! session cookie, entered with a recent full authentication and closed by
//! its own idle timeout, while Bearer tokens keep working for the
//! user-facing API. Black-box on SQLite and PostgreSQL, the clock set, not
//! slept on.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Backend, GOOD_PASSWORD, TestApp, assert_error, bare_client, set_cookie};

use crate::common::SESSION_COOKIE;
const ADMIN: &str = "root@example.com";

struct Cookie {
    value: String,
    csrf: String,
}

async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_unlimited(
        backend,
        &[
            "--admin-auth=session",
            "--admin-idle-secs=900",
            "--access-ttl-secs=7200",
        ],
    )
    .await
}

async fn make_admin(app: &TestApp) {
    app.register(ADMIN, GOOD_PASSWORD).await;
    sqlx::query("UPDATE users SET role = 'admin' WHERE email_key = $1")
        .bind(ADMIN)
        .execute(&app.state.db.pool)
        .await
        .expect("promote");
}

async fn cookie_sign_in(app: &TestApp) -> Cookie {
    let response = app
        .post_json(
            "/api/session/login",
            &json!({"email": ADMIN, "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let value = set_cookie(&response, SESSION_COOKIE).expect("session cookie").value;
    let body: Value = response.json().await.expect("JSON");
    Cookie {
        value,
        csrf: body["csrf_token"].as_str().expect("csrf").to_string(),
    }
}

async fn admin_users_by_cookie(app: &TestApp, cookie: &Cookie) -> reqwest::Response {
    bare_client()
        .get(app.url("/api/admin/users"))
        .header("cookie", format!("{SESSION_COOKIE}={}", cookie.value))
        .send()
        .await
        .expect("request")
}

async fn bearer_is_refused_in_the_admin_area_only(backend: Backend) {
    let app = spawn(backend).await;
    make_admin(&app).await;
    let jwt = app.login(ADMIN, GOOD_PASSWORD).await;
    let refused = app.get_with_bearer("/api/admin/users", &jwt.access_token).await;
    let body = assert_error(refused, 403, "forbidden").await;
    assert!(body["message"].as_str().unwrap().contains("session"), "{body}");
    // The same token works everywhere else.
    assert_eq!(app.get_with_bearer("/api/me", &jwt.access_token).await.status(), 200);
    assert_eq!(
        app.get_with_bearer("/api/me/sessions", &jwt.access_token)
            .await
            .status(),
        200
    );

    // A session cookie enters, and a cookie request without the CSRF token
    // still changes nothing.
    let cookie = cookie_sign_in(&app).await;
    assert_eq!(admin_users_by_cookie(&app, &cookie).await.status(), 200);
    let user_id = jwt.body.user.id;
    let no_csrf = bare_client()
        .patch(app.url(&format!("/api/admin/users/{user_id}")))
        .header("cookie", format!("{SESSION_COOKIE}={}", cookie.value))
        .json(&json!({"disabled": false}))
        .send()
        .await
        .expect("request");
    assert_error(no_csrf, 403, "csrf_rejected").await;
}

/// The area's idle timeout: activity there keeps it open, a pause longer
/// than the timeout closes it until a fresh authentication — and a session
/// that signed in long ago must authenticate again to enter at all.
async fn the_admin_area_closes_when_idle_and_reopens_after_reauthentication(backend: Backend) {
    let app = spawn(backend).await;
    make_admin(&app).await;
    let cookie = cookie_sign_in(&app).await;
    assert_eq!(admin_users_by_cookie(&app, &cookie).await.status(), 200);
    for _ in 0..3 {
        app.clock.advance(Duration::from_secs(600));
        assert_eq!(
            admin_users_by_cookie(&app, &cookie).await.status(),
            200,
            "in use, still open"
        );
    }
    app.clock.advance(Duration::from_secs(901));
    assert_error(admin_users_by_cookie(&app, &cookie).await, 401, "reauth_required").await;
    // The rest of the app still takes the session.
    let me = bare_client()
        .get(app.url("/api/me"))
        .header("cookie", format!("{SESSION_COOKIE}={}", cookie.value))
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), 200);

    let reauth = bare_client()
        .post(app.url("/api/me/reauth"))
        .header("cookie", format!("{SESSION_COOKIE}={}", cookie.value))
        .header("x-csrf-token", &cookie.csrf)
        .json(&json!({"password": GOOD_PASSWORD}))
        .send()
        .await
        .expect("request");
    assert_eq!(reauth.status(), 204);
    assert_eq!(admin_users_by_cookie(&app, &cookie).await.status(), 200);

    // Signed in an hour ago and busy elsewhere: entering needs a fresh
    // authentication.
    let other = cookie_sign_in(&app).await;
    app.clock.advance(Duration::from_secs(3600));
    let me = bare_client()
        .get(app.url("/api/me"))
        .header("cookie", format!("{SESSION_COOKIE}={}", other.value))
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), 200);
    assert_error(admin_users_by_cookie(&app, &other).await, 401, "reauth_required").await;
}

both_backends!(
    bearer_is_refused_in_the_admin_area_only,
    the_admin_area_closes_when_idle_and_reopens_after_reauthentication,
);
