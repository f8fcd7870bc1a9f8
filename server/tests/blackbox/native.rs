//! Native clients (issue 17): the refresh token in the body instead of a
//! cookie, with the same rotation, grace-window successor, reuse detection,
//! expiry and revocation as the browser's cookie — and the two ways never
//! mixed. Black-box over HTTP, SQLite and PostgreSQL.

use std::time::Duration;

use crate::common::{Backend, GOOD_PASSWORD, REFRESH_COOKIE, TestApp, assert_error, bare_client, set_cookie};
use serde_json::{Value, json};

/// What a native client keeps: the access token and the refresh token.
#[derive(Debug, Clone)]
struct Native {
    access: String,
    refresh: String,
}

async fn read_native(response: reqwest::Response) -> Native {
    let status = response.status();
    assert!(
        set_cookie(&response, REFRESH_COOKIE).is_none(),
        "a native client gets no refresh cookie"
    );
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["refresh_expires_in"].as_u64().is_some_and(|s| s > 0), "{body}");
    Native {
        access: body["access_token"].as_str().expect("access_token").into(),
        refresh: body["refresh_token"].as_str().expect("refresh_token").into(),
    }
}

async fn native_login(app: &TestApp, email: &str) -> Native {
    let response = app
        .post_json(
            "/api/auth/login",
            &json!({"email": email, "password": GOOD_PASSWORD, "client": "native"}),
        )
        .await;
    read_native(response).await
}

async fn native_refresh(app: &TestApp, refresh: &str) -> reqwest::Response {
    app.post_json("/api/auth/refresh", &json!({"refresh_token": refresh}))
        .await
}

async fn sessions(app: &TestApp, access: &str) -> Vec<Value> {
    let response = app.get_with_bearer("/api/me/sessions", access).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("sessions")
}

async fn a_native_client_signs_in_refreshes_and_rotates(backend: Backend) {
    let app = TestApp::spawn_unlimited(backend, &[]).await;
    app.register("ada@example.com", GOOD_PASSWORD).await;
    let first = native_login(&app, "ada@example.com").await;
    let me = app.get_with_bearer("/api/me", &first.access).await;
    assert_eq!(me.status(), 200);

    // Refresh: a new access token and a new refresh token (rotation).
    let second = read_native(native_refresh(&app, &first.refresh).await).await;
    assert_ne!(second.refresh, first.refresh, "rotated on use");
    assert_eq!(app.get_with_bearer("/api/me", &second.access).await.status(), 200);
    let third = read_native(native_refresh(&app, &second.refresh).await).await;

    // The session list says which kind each session is (registering
    // signed the browser in too).
    app.post_json(
        "/api/session/login",
        &json!({"email": "ada@example.com", "password": GOOD_PASSWORD}),
    )
    .await;
    let listed = sessions(&app, &third.access).await;
    let mut kinds: Vec<&str> = listed.iter().filter_map(|s| s["kind"].as_str()).collect();
    kinds.sort();
    assert_eq!(kinds, ["cookie", "jwt", "native"], "{listed:?}");
    let current: Vec<&Value> = listed.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["kind"], "native");
}

/// Two requests racing with the same token inside the grace window both get
/// the same successor; after the window the old token is reuse and ends the
/// session — and its access tokens with it.
async fn native_reuse_after_the_grace_window_ends_the_session(backend: Backend) {
    let app = TestApp::spawn_unlimited(backend, &[]).await;
    app.register("bob@example.com", GOOD_PASSWORD).await;
    let first = native_login(&app, "bob@example.com").await;
    let a = read_native(native_refresh(&app, &first.refresh).await).await;
    let b = read_native(native_refresh(&app, &first.refresh).await).await;
    assert_eq!(a.refresh, b.refresh, "the grace window hands out the same successor");

    app.clock.advance(Duration::from_secs(60));
    let reused = native_refresh(&app, &first.refresh).await;
    assert_error(reused, 401, "invalid_refresh_token").await;
    // The whole session ended: the live successor and the access token too.
    assert_error(native_refresh(&app, &a.refresh).await, 401, "invalid_refresh_token").await;
    assert_error(app.get_with_bearer("/api/me", &a.access).await, 401, "invalid_token").await;
    let reuse: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE event = 'refresh.reuse_detected'")
        .fetch_one(&app.state.db.pool)
        .await
        .expect("audit count");
    assert_eq!(reuse, 1);
}

/// A native token is refused as a cookie, a browser's cookie token is
/// refused in the body, and a request carrying both is refused outright —
/// none of them revokes anything.
async fn body_tokens_and_cookies_do_not_mix(backend: Backend) {
    let app = TestApp::spawn_unlimited(backend, &[]).await;
    app.register("cy@example.com", GOOD_PASSWORD).await;
    let native = native_login(&app, "cy@example.com").await;
    let browser = app.login("cy@example.com", GOOD_PASSWORD).await;

    assert_error(app.refresh_with(&native.refresh).await, 401, "invalid_refresh_token").await;
    assert_error(
        native_refresh(&app, &browser.refresh).await,
        401,
        "invalid_refresh_token",
    )
    .await;
    let both = bare_client()
        .post(app.url("/api/auth/refresh"))
        .header("cookie", format!("{REFRESH_COOKIE}={}", browser.refresh))
        .json(&json!({"refresh_token": native.refresh}))
        .send()
        .await
        .expect("request");
    assert_error(both, 400, "bad_request").await;
    let native_with_cookie = bare_client()
        .post(app.url("/api/auth/login"))
        .header("cookie", format!("{REFRESH_COOKIE}={}", browser.refresh))
        .json(&json!({"email": "cy@example.com", "password": GOOD_PASSWORD, "client": "native"}))
        .send()
        .await
        .expect("request");
    assert_error(native_with_cookie, 400, "bad_request").await;
    // Session mode is for browsers.
    let session_native = app
        .post_json(
            "/api/session/login",
            &json!({"email": "cy@example.com", "password": GOOD_PASSWORD, "client": "native"}),
        )
        .await;
    assert_error(session_native, 422, "validation_failed").await;

    // Nothing was revoked by the refused attempts: both still renew.
    read_native(native_refresh(&app, &native.refresh).await).await;
    assert_eq!(app.refresh_with(&browser.refresh).await.status(), 200);
}

/// Sign-out with the body token, the idle expiry, and a revocation from the
/// session list all end a native session at once.
async fn native_sessions_end_by_logout_expiry_and_revocation(backend: Backend) {
    let app = TestApp::spawn_unlimited(backend, &["--refresh-idle-secs=600"]).await;
    app.register("dee@example.com", GOOD_PASSWORD).await;

    let one = native_login(&app, "dee@example.com").await;
    let logout = app
        .post_json("/api/auth/logout", &json!({"refresh_token": one.refresh}))
        .await;
    assert_eq!(logout.status(), 204);
    assert_error(native_refresh(&app, &one.refresh).await, 401, "invalid_refresh_token").await;
    assert_error(app.get_with_bearer("/api/me", &one.access).await, 401, "invalid_token").await;

    let two = native_login(&app, "dee@example.com").await;
    app.clock.advance(Duration::from_secs(601));
    assert_error(native_refresh(&app, &two.refresh).await, 401, "invalid_refresh_token").await;

    let three = native_login(&app, "dee@example.com").await;
    let browser = app.login("dee@example.com", GOOD_PASSWORD).await;
    let listed = sessions(&app, &browser.access_token).await;
    let native_id = listed
        .iter()
        .find(|s| s["kind"] == "native")
        .and_then(|s| s["id"].as_str())
        .expect("the native session is listed")
        .to_string();
    let revoked = bare_client()
        .delete(app.url(&format!("/api/me/sessions/{native_id}")))
        .bearer_auth(&browser.access_token)
        .send()
        .await
        .expect("request");
    assert_eq!(revoked.status(), 204);
    assert_error(native_refresh(&app, &three.refresh).await, 401, "invalid_refresh_token").await;
    assert_error(
        app.get_with_bearer("/api/me", &three.access).await,
        401,
        "invalid_token",
    )
    .await;
}

/// With a second factor, a native sign-in stops at a challenge that only a
/// native second step can finish.
async fn a_native_second_step_finishes_a_native_challenge_only(backend: Backend) {
    let app = TestApp::spawn_unlimited(backend, &[]).await;
    let ada = app.register("eve@example.com", GOOD_PASSWORD).await;
    let (authenticator, _) = crate::mfa::enrol(&app, &ada.access_token).await;
    let started = app
        .post_json(
            "/api/auth/login",
            &json!({"email": "eve@example.com", "password": GOOD_PASSWORD, "client": "native"}),
        )
        .await;
    let body = assert_error(started, 401, "mfa_required").await;
    let challenge = body["mfa"]["challenge_id"].as_str().expect("challenge").to_string();
    app.clock.advance(Duration::from_secs(30));
    let code = authenticator.code(&app);
    // The browser's second step cannot finish it.
    let as_browser = app
        .post_json(
            "/api/auth/mfa/verify",
            &json!({"challenge_id": challenge, "code": code}),
        )
        .await;
    assert_error(as_browser, 400, "invalid_token").await;
    let as_native = app
        .post_json(
            "/api/auth/mfa/verify",
            &json!({"challenge_id": challenge, "code": code, "client": "native"}),
        )
        .await;
    let signed_in = read_native(as_native).await;
    read_native(native_refresh(&app, &signed_in.refresh).await).await;
}

/// The example client (`server/examples/native_client.rs`) signs in once,
/// renews round after round, and carries on across a server restart
/// (`kill -9`, then a new process on the same database and port) without
/// signing in again: the same session from the first round to the last.
async fn the_example_client_survives_a_server_restart(backend: Backend) {
    use std::io::{BufRead, BufReader};
    let example = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("examples").join("native_client")))
        .filter(|path| path.exists())
        .expect("the native_client example is built (cargo test builds examples)");
    let db = crate::common::TestDb::new(backend).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = crate::crash::start(&db, port);
    crate::crash::wait_up(&server.base).await;
    let registered = bare_client()
        .post(format!("{}/api/auth/register", server.base))
        .json(&json!({"email": "native@example.com", "password": GOOD_PASSWORD}))
        .send()
        .await
        .expect("register");
    assert_eq!(registered.status(), 201);

    let dir = tempfile::tempdir().expect("temp dir");
    let token_file = dir.path().join("refresh-token");
    let mut client = std::process::Command::new(example)
        .args(["--base", &server.base, "--rounds", "6", "--interval-ms", "100"])
        .arg("--token-file")
        .arg(&token_file)
        .env("LATCHKEY_EMAIL", "native@example.com")
        .env("LATCHKEY_PASSWORD", GOOD_PASSWORD)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the example starts");
    let mut lines = BufReader::new(client.stdout.take().expect("stdout")).lines();
    let mut rounds: Vec<Value> = Vec::new();
    let mut read_round = |lines: &mut std::io::Lines<_>| {
        let line: String = lines.next().expect("a round").expect("a line");
        let round: Value = serde_json::from_str(&line).expect("a JSON line");
        rounds.push(round);
    };
    read_round(&mut lines);
    read_round(&mut lines);
    // The server dies mid-run and comes back on the same database.
    server.child.kill().expect("kill");
    server.child.wait().expect("reaped");
    let mut restarted = crate::crash::start(&db, port);
    for _ in 0..4 {
        read_round(&mut lines);
    }
    let status = client.wait().expect("the example ends");
    restarted.child.kill().ok();
    restarted.child.wait().ok();
    assert!(status.success(), "the example failed: {status}");
    assert_eq!(rounds.len(), 6);
    let session = rounds[0]["session"].as_str().expect("a session id").to_string();
    for round in &rounds {
        assert_eq!(round["email"], "native@example.com");
        assert_eq!(round["session"], session.as_str(), "one session throughout: {rounds:?}");
    }
    // The token file holds the live refresh token, readable by its owner only.
    let stored = std::fs::read_to_string(&token_file).expect("token file");
    assert_eq!(stored.len(), 43);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o}");
    }
}

both_backends!(
    the_example_client_survives_a_server_restart,
    a_native_client_signs_in_refreshes_and_rotates,
    native_reuse_after_the_grace_window_ends_the_session,
    body_tokens_and_cookies_do_not_mix,
    native_sessions_end_by_logout_expiry_and_revocation,
    a_native_second_step_finishes_a_native_challenge_only,
);
