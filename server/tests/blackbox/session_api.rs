//! Session mode (API.md "Session") and the `LATCHKEY_ACCESS_CHECK` dial,
//! black-box over HTTP on SQLite and PostgreSQL.
//!
//! Cookies go out by hand: reqwest never sends a `Secure` cookie over plain
//! HTTP, and each test decides exactly what the "browser" holds.

use std::time::{Duration, Instant};

use crate::common::{
    Backend, GOOD_PASSWORD, REFRESH_COOKIE, SetCookie, TestApp, assert_error, bare_client, set_cookie,
};
use serde_json::{Value, json};

use crate::common::SESSION_COOKIE;

/// What a browser in session mode holds: the cookie (its jar) and the CSRF
/// token (the page's memory).
#[derive(Debug, Clone)]
struct CookieSession {
    cookie: String,
    csrf: String,
    user: Value,
}

impl CookieSession {
    fn header(&self) -> String {
        format!("{SESSION_COOKIE}={}", self.cookie)
    }
}

async fn read_session(response: reqwest::Response, status: u16) -> (CookieSession, SetCookie) {
    assert_eq!(response.status(), status, "session sign-in failed");
    let cookie = set_cookie(&response, SESSION_COOKIE).expect("a session cookie");
    let body: Value = response.json().await.expect("JSON body");
    let csrf = body["csrf_token"].as_str().expect("csrf_token").to_string();
    let session = CookieSession {
        cookie: cookie.value.clone(),
        csrf,
        user: body["user"].clone(),
    };
    (session, cookie)
}

async fn session_login(app: &TestApp, email: &str) -> CookieSession {
    let response = app
        .post_json(
            "/api/session/login",
            &json!({"email": email, "password": GOOD_PASSWORD}),
        )
        .await;
    read_session(response, 200).await.0
}

async fn session_register(app: &TestApp, email: &str) -> CookieSession {
    let response = app
        .post_json(
            "/api/session/register",
            &json!({"email": email, "password": GOOD_PASSWORD}),
        )
        .await;
    read_session(response, 201).await.0
}

/// A request carrying the session cookie (and the CSRF token, if given).
fn with_cookie(
    builder: reqwest::RequestBuilder,
    session: &CookieSession,
    csrf: Option<&str>,
) -> reqwest::RequestBuilder {
    let builder = builder.header("cookie", session.header());
    match csrf {
        Some(token) => builder.header("x-csrf-token", token),
        None => builder,
    }
}

async fn me_with_cookie(app: &TestApp, session: &CookieSession) -> reqwest::Response {
    with_cookie(bare_client().get(app.url("/api/me")), session, None)
        .send()
        .await
        .expect("request")
}

async fn patch_name(app: &TestApp, session: &CookieSession, csrf: Option<&str>, name: &str) -> reqwest::Response {
    with_cookie(bare_client().patch(app.url("/api/me")), session, csrf)
        .json(&json!({"display_name": name}))
        .send()
        .await
        .expect("request")
}

/// POST a JSON body with the session cookie (and the CSRF token, if given).
async fn post_with_cookie(
    app: &TestApp,
    path: &str,
    session: &CookieSession,
    csrf: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    with_cookie(bare_client().post(app.url(path)), session, csrf)
        .json(body)
        .send()
        .await
        .expect("request")
}

async fn display_name(app: &TestApp, session: &CookieSession) -> Value {
    let response = me_with_cookie(app, session).await;
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.expect("user")["display_name"].clone()
}

/// 401 `invalid_token`, and the session cookie is removed.
async fn assert_cookie_refused(response: reqwest::Response) {
    let cleared = set_cookie(&response, SESSION_COOKIE).expect("the session cookie is cleared");
    assert_eq!(cleared.value, "");
    assert_eq!(cleared.max_age(), Some(0));
    assert_eq!(cleared.attr("path"), Some("/"));
    assert_error(response, 401, "invalid_token").await;
}

async fn scalar(app: &TestApp, sql: &'static str, bind: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .bind(bind)
        .fetch_one(&app.state.db.pool)
        .await
        .expect("query")
}

fn sha256_hex(value: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn signed_up(app: &TestApp, email: &str) {
    app.register(email, GOOD_PASSWORD).await;
}

async fn session_login_sets_a_host_cookie_and_returns_a_csrf_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    signed_up(&app, "sam@example.com").await;
    let response = app
        .post_json(
            "/api/session/login",
            &json!({"email": "SAM@example.com", "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(
        response.headers().get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    assert!(
        set_cookie(&response, REFRESH_COOKIE).is_none(),
        "session mode sets no refresh cookie"
    );
    let (session, cookie) = read_session(response, 200).await;
    assert!(cookie.has("httponly") && cookie.has("secure"), "{cookie:?}");
    assert_eq!(cookie.attr("samesite"), Some("Strict"));
    assert_eq!(cookie.attr("path"), Some("/"));
    assert!(cookie.attr("domain").is_none(), "__Host- cookies have no Domain");
    assert_eq!(cookie.max_age(), Some(30 * 24 * 3600), "lives until the absolute end");
    assert!(cookie.value.len() >= 43 && session.csrf.len() >= 43);
    assert_ne!(cookie.value, session.csrf);
    assert_eq!(session.user["email"], "sam@example.com");

    let me = me_with_cookie(&app, &session).await;
    assert_eq!(me.status(), 200);
    assert_eq!(me.json::<Value>().await.unwrap()["email"], "sam@example.com");

    // A reload asks who is signed in and gets the same CSRF token back.
    let current = with_cookie(bare_client().get(app.url("/api/session")), &session, None)
        .send()
        .await
        .unwrap();
    assert_eq!(current.status(), 200);
    let body: Value = current.json().await.unwrap();
    assert_eq!(body["csrf_token"], session.csrf.as_str());
    assert_eq!(body["user"]["email"], "sam@example.com");

    // One row in the shared sessions table, holding hashes only.
    let sessions = with_cookie(bare_client().get(app.url("/api/me/sessions")), &session, None)
        .send()
        .await
        .unwrap()
        .json::<Vec<Value>>()
        .await
        .unwrap();
    assert_eq!(sessions.len(), 2, "the registration's JWT session and this one");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let kind: String = sqlx::query_scalar("SELECT kind FROM sessions WHERE secret_hash = $1")
        .bind(sha256_hex(&session.cookie))
        .fetch_one(&app.state.db.pool)
        .await
        .expect("the row stores the id's hash");
    assert_eq!(kind, "cookie");
    for secret in [&session.cookie, &session.csrf] {
        let stored = scalar(
            &app,
            "SELECT COUNT(*) FROM sessions WHERE secret_hash = $1 OR csrf_hash = $1 OR sealed_successor = $1",
            secret,
        )
        .await;
        assert_eq!(stored, 0, "a secret is stored in the clear");
    }

    // Without the cookie nobody is signed in: nothing to report, no error
    // (a signed-out page load). A cookie that names no session is refused.
    let nobody = bare_client().get(app.url("/api/session")).send().await.unwrap();
    assert_eq!(nobody.status(), 204);
    assert!(set_cookie(&nobody, SESSION_COOKIE).is_none());
    let dead = bare_client()
        .get(app.url("/api/session"))
        .header("cookie", format!("{SESSION_COOKIE}=not-a-session-we-issued"))
        .send()
        .await
        .unwrap();
    assert_cookie_refused(dead).await;
}

async fn session_register_creates_a_cookie_session_and_ignores_privileges(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app
        .post_json(
            "/api/session/register",
            &json!({"email": "new@example.com", "password": GOOD_PASSWORD, "role": "admin", "display_name": "New"}),
        )
        .await;
    let (session, _) = read_session(response, 201).await;
    assert_eq!(session.user["role"], "user");
    assert_eq!(display_name(&app, &session).await, "New");
    let taken = app
        .post_json(
            "/api/session/register",
            &json!({"email": "NEW@example.com", "password": GOOD_PASSWORD}),
        )
        .await;
    assert_error(taken, 409, "email_taken").await;
    let weak = app
        .post_json(
            "/api/session/register",
            &json!({"email": "w@example.com", "password": "short"}),
        )
        .await;
    assert_error(weak, 422, "validation_failed").await;
}

async fn unsafe_methods_need_the_sessions_csrf_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = session_register(&app, "alice@example.com").await;
    let bob = session_register(&app, "bob@example.com").await;

    for csrf in [None, Some(""), Some("not-the-token"), Some(bob.csrf.as_str())] {
        let refused = patch_name(&app, &alice, csrf, "Mallory").await;
        assert_error(refused, 403, "csrf_rejected").await;
    }
    assert_eq!(
        display_name(&app, &alice).await,
        Value::Null,
        "a refused request changed something"
    );

    // Logout and revocations need it too; the session survives the attempts.
    let logout = post_with_cookie(&app, "/api/session/logout", &alice, None, &json!({})).await;
    assert_error(logout, 403, "csrf_rejected").await;
    let everywhere = post_with_cookie(&app, "/api/auth/logout-all", &alice, Some("wrong"), &json!({})).await;
    assert_error(everywhere, 403, "csrf_rejected").await;
    assert_eq!(me_with_cookie(&app, &alice).await.status(), 200);

    let accepted = patch_name(&app, &alice, Some(&alice.csrf), "Alice").await;
    assert_eq!(accepted.status(), 200);
    assert_eq!(display_name(&app, &alice).await, "Alice");
}

async fn cross_site_requests_with_the_cookie_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = session_register(&app, "alice@example.com").await;
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("referer", "https://evil.example/page"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let read = with_cookie(bare_client().get(app.url("/api/me")), &alice, None)
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_error(read, 403, "csrf_rejected").await;
        let write = with_cookie(bare_client().patch(app.url("/api/me")), &alice, Some(&alice.csrf))
            .header(name, value)
            .json(&json!({"display_name": "Evil"}))
            .send()
            .await
            .unwrap();
        assert_error(write, 403, "csrf_rejected").await;
    }
    let login = bare_client()
        .post(app.url("/api/session/login"))
        .header("origin", "https://evil.example")
        .json(&json!({"email": "alice@example.com", "password": GOOD_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_error(login, 403, "csrf_rejected").await;
    assert_eq!(display_name(&app, &alice).await, Value::Null);
    // The same origin passes.
    let same = with_cookie(bare_client().patch(app.url("/api/me")), &alice, Some(&alice.csrf))
        .header("origin", app.base.as_str())
        .json(&json!({"display_name": "Alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 200);
}

async fn forged_revoked_and_foreign_ids_get_401_and_a_cleared_cookie(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let jwt = app.register("alice@example.com", GOOD_PASSWORD).await;
    let alice = session_login(&app, "alice@example.com").await;

    let forged = CookieSession {
        cookie: "A".repeat(43),
        ..alice.clone()
    };
    assert_cookie_refused(me_with_cookie(&app, &forged).await).await;
    // A refresh token is a secret of the same shape, but never a session id.
    let refresh_as_id = CookieSession {
        cookie: jwt.refresh.clone(),
        ..alice.clone()
    };
    assert_cookie_refused(me_with_cookie(&app, &refresh_as_id).await).await;
    // An access token in the cookie is no session id either.
    let token_as_id = CookieSession {
        cookie: jwt.access_token.clone(),
        ..alice.clone()
    };
    assert_eq!(me_with_cookie(&app, &token_as_id).await.status(), 401);

    // Revoked from the JWT session: the cookie stops working at once.
    let id = alice_cookie_session_id(&app, &alice).await;
    let revoke = bare_client()
        .delete(app.url(&format!("/api/me/sessions/{id}")))
        .bearer_auth(&jwt.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 204);
    assert_cookie_refused(me_with_cookie(&app, &alice).await).await;
    let again = with_cookie(bare_client().get(app.url("/api/session")), &alice, None)
        .send()
        .await
        .unwrap();
    assert_cookie_refused(again).await;
}

async fn alice_cookie_session_id(app: &TestApp, session: &CookieSession) -> String {
    let sessions: Vec<Value> = with_cookie(bare_client().get(app.url("/api/me/sessions")), session, None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    sessions
        .into_iter()
        .find(|s| s["current"] == true)
        .expect("the current session is listed")["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn a_session_id_sent_at_login_is_never_adopted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    signed_up(&app, "victim@example.com").await;
    signed_up(&app, "attacker@example.com").await;
    let attacker = session_login(&app, "attacker@example.com").await;
    let planted = "p".repeat(43);

    for sent in [attacker.cookie.clone(), planted.clone()] {
        let response = bare_client()
            .post(app.url("/api/session/login"))
            .header("cookie", format!("{SESSION_COOKIE}={sent}"))
            .json(&json!({"email": "victim@example.com", "password": GOOD_PASSWORD}))
            .send()
            .await
            .unwrap();
        let (victim, _) = read_session(response, 200).await;
        assert_ne!(victim.cookie, sent, "the id the client sent was adopted");
        let who = me_with_cookie(&app, &victim).await.json::<Value>().await.unwrap();
        assert_eq!(who["email"], "victim@example.com");
        // The id sent before signing in names no session of the victim's.
        let old = CookieSession {
            cookie: sent.clone(),
            ..victim.clone()
        };
        assert_cookie_refused(me_with_cookie(&app, &old).await).await;
    }
    let planted_rows = scalar(
        &app,
        "SELECT COUNT(*) FROM sessions WHERE secret_hash = $1",
        &sha256_hex(&planted),
    )
    .await;
    assert_eq!(planted_rows, 0);
}

async fn idle_timeout_slides_and_the_absolute_lifetime_does_not(backend: Backend) {
    let app = TestApp::spawn_with(backend, &["--refresh-idle-secs=60", "--session-max-secs=150"]).await;
    signed_up(&app, "sam@example.com").await;

    // Used every 40 s, the session outlives its 60-second idle limit...
    let busy = session_login(&app, "sam@example.com").await;
    for step in 1..=3 {
        app.clock.advance(Duration::from_secs(40));
        assert_eq!(
            me_with_cookie(&app, &busy).await.status(),
            200,
            "an active session timed out after {} s",
            step * 40
        );
    }
    // ...but not its 150-second absolute lifetime, however busy.
    app.clock.advance(Duration::from_secs(31));
    assert_cookie_refused(me_with_cookie(&app, &busy).await).await;

    // Left alone for longer than the idle limit, a session ends.
    let idle = session_login(&app, "sam@example.com").await;
    app.clock.advance(Duration::from_secs(59));
    assert_eq!(
        me_with_cookie(&app, &idle).await.status(),
        200,
        "ended before its idle limit"
    );
    app.clock.advance(Duration::from_secs(61));
    assert_cookie_refused(me_with_cookie(&app, &idle).await).await;
}

/// The idle renewal is written in the background (`auth::touches`): within
/// about a second it is in the database, where another server finds it.
async fn an_idle_renewal_is_written_behind_the_request_and_seen_elsewhere(backend: Backend) {
    let a = TestApp::spawn_with(backend, &["--refresh-idle-secs=60"]).await;
    let b = a.spawn_replica(&["--refresh-idle-secs=60"]).await;
    signed_up(&a, "rene@example.com").await;
    let session = session_login(&a, "rene@example.com").await;
    let idle_end = || async {
        sqlx::query_scalar::<_, i64>("SELECT idle_expires_at FROM sessions WHERE kind = 'cookie'")
            .fetch_one(&a.state.db.pool)
            .await
            .unwrap()
    };
    let first = idle_end().await;
    a.clock.advance(Duration::from_secs(40));
    assert_eq!(me_with_cookie(&a, &session).await.status(), 200);
    let started = Instant::now();
    while idle_end().await <= first {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the renewal was not written"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(idle_end().await >= first + 40_000, "slid by the 40 s that passed");
    // Past the first idle end on B's clock, but not the renewed one.
    b.clock.advance(Duration::from_secs(70));
    assert_eq!(me_with_cookie(&b, &session).await.status(), 200);
}

async fn session_logout_ends_the_session_and_clears_the_cookie(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = session_register(&app, "alice@example.com").await;
    let response = post_with_cookie(&app, "/api/session/logout", &alice, Some(&alice.csrf), &json!({})).await;
    assert_eq!(response.status(), 204);
    let cleared = set_cookie(&response, SESSION_COOKIE).expect("cookie cleared");
    assert_eq!((cleared.value.as_str(), cleared.max_age()), ("", Some(0)));
    assert_cookie_refused(me_with_cookie(&app, &alice).await).await;
    let events: Vec<String> = sqlx::query_scalar("SELECT event FROM audit_events ORDER BY at, id")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(events, ["user.registered", "email.verification_sent", "logout"]);
}

async fn a_password_change_gives_the_cookie_session_a_new_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = session_register(&app, "alice@example.com").await;
    let other = session_login(&app, "alice@example.com").await;
    let response = post_with_cookie(
        &app,
        "/api/me/password",
        &alice,
        Some(&alice.csrf),
        &json!({"current_password": GOOD_PASSWORD, "new_password": "a-brand-new-passphrase-for-alice"}),
    )
    .await;
    assert_eq!(response.status(), 204);
    let renewed = set_cookie(&response, SESSION_COOKIE).expect("a new session id");
    assert_ne!(renewed.value, alice.cookie);
    assert!(renewed.has("httponly") && renewed.has("secure"));
    assert_cookie_refused(me_with_cookie(&app, &alice).await).await;
    assert_cookie_refused(me_with_cookie(&app, &other).await).await;
    // Same session, same CSRF token, new id.
    let now = CookieSession {
        cookie: renewed.value,
        ..alice.clone()
    };
    assert_eq!(patch_name(&app, &now, Some(&alice.csrf), "Alice").await.status(), 200);
}

async fn logout_all_from_a_cookie_session_ends_every_kind(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let jwt = app.register("alice@example.com", GOOD_PASSWORD).await;
    let alice = session_login(&app, "alice@example.com").await;
    let response = post_with_cookie(&app, "/api/auth/logout-all", &alice, Some(&alice.csrf), &json!({})).await;
    assert_eq!(response.status(), 204);
    assert!(set_cookie(&response, SESSION_COOKIE).is_some_and(|c| c.value.is_empty()));
    assert_cookie_refused(me_with_cookie(&app, &alice).await).await;
    assert_error(
        app.get_with_bearer("/api/me", &jwt.access_token).await,
        401,
        "invalid_token",
    )
    .await;
}

// --- The dial: what a revoked session's access token gets, and when. ---

/// Two replicas behind one public origin (tokens name it as issuer and
/// audience), with the access check under test.
async fn replicas(backend: Backend, flags: &[&str]) -> (TestApp, TestApp) {
    let mut all = vec!["--public-origin=https://latchkey.example"];
    all.extend_from_slice(flags);
    let app = TestApp::spawn_with(backend, &all).await;
    let replica = app.spawn_replica(&all).await;
    (app, replica)
}

/// Signs in twice on `app` (token A to be revoked, B to revoke it), checks
/// that A works on both servers, and revokes A's session; returns A's
/// access token and when the revocation answered.
async fn revoke_first_session(app: &TestApp, replica: &TestApp) -> (String, Instant) {
    let a = app.register("dial@example.com", GOOD_PASSWORD).await;
    let b = app.login("dial@example.com", GOOD_PASSWORD).await;
    assert_eq!(status_of(app, &a.access_token).await, 200);
    assert_eq!(
        status_of(replica, &a.access_token).await,
        200,
        "replicas must share keys"
    );
    let sessions: Vec<Value> = app
        .get_with_bearer("/api/me/sessions", &b.access_token)
        .await
        .json()
        .await
        .unwrap();
    let a_id = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let revoke = bare_client()
        .delete(app.url(&format!("/api/me/sessions/{a_id}")))
        .bearer_auth(&b.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 204);
    (a.access_token, Instant::now())
}

/// Polls `replica` until it refuses `token`; fails if it still accepts it
/// a second after `revoked_at`.
async fn refused_within_a_second(replica: &TestApp, token: &str, revoked_at: Instant) {
    loop {
        match status_of(replica, token).await {
            401 => return,
            200 => assert!(
                revoked_at.elapsed() < Duration::from_secs(1),
                "replica still accepts after 1 s"
            ),
            other => panic!("unexpected {other}"),
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn status_of(app: &TestApp, token: &str) -> u16 {
    app.get_with_bearer("/api/me", token).await.status().as_u16()
}

async fn stateless_accepts_a_revoked_sessions_token_until_it_expires(backend: Backend) {
    let (app, replica) = replicas(backend, &["--access-check=stateless", "--access-ttl-secs=1"]).await;
    let (token, _) = revoke_first_session(&app, &replica).await;
    let advance = |by: Duration| {
        for server in [&app, &replica] {
            server.clock.advance(by);
        }
    };
    // Accepted everywhere after the revocation, past `exp` (1 s) and inside
    // the verifier's 5-second clock leeway, as a pure JWT system does...
    advance(Duration::from_millis(1_200));
    assert_eq!(status_of(&app, &token).await, 200, "stateless checked the session");
    assert_eq!(status_of(&replica, &token).await, 200);
    // (`iat` and `exp` are whole seconds: allow one for the truncation.)
    advance(Duration::from_secs(2));
    assert_eq!(status_of(&app, &token).await, 200, "refused before exp + leeway");
    // ...and refused once that is over.
    advance(Duration::from_secs(5));
    assert_eq!(status_of(&app, &token).await, 401, "accepted after exp + leeway");
    assert_eq!(status_of(&replica, &token).await, 401);
}

async fn revocation_cache_refuses_within_a_second_on_every_server(backend: Backend) {
    let (app, replica) = replicas(backend, &["--access-check=revocation-cache"]).await;
    let (token, revoked_at) = revoke_first_session(&app, &replica).await;
    assert_eq!(status_of(&app, &token).await, 401, "the revoking server knows at once");
    refused_within_a_second(&replica, &token, revoked_at).await;
}

/// `session-lookup` checks a token against its session as read, cached by
/// id like a cookie session's: refused at once by the revoking server and
/// within a second by every other, the same bound as `revocation-cache`.
async fn session_lookup_refuses_within_a_second_on_every_server(backend: Backend) {
    let (app, replica) = replicas(backend, &["--access-check=session-lookup"]).await;
    // Read (and kept) on both before the revocation.
    let (token, revoked_at) = revoke_first_session(&app, &replica).await;
    assert_eq!(status_of(&app, &token).await, 401, "the revoking server knows at once");
    refused_within_a_second(&replica, &token, revoked_at).await;
    // A live session's token still works, including a refreshed one.
    let live = app.login("dial@example.com", GOOD_PASSWORD).await;
    assert_eq!(status_of(&replica, &live.access_token).await, 200);
    let renewed = crate::common::SignedIn::from_response(app.refresh_with(&live.refresh).await).await;
    assert_eq!(status_of(&replica, &renewed.access_token).await, 200);
}

/// Under `session-lookup` a token's session is read once per TTL, not per
/// request: a change no feed announces (the session's end, moved by hand)
/// shows once the read is that old.
async fn a_token_sessions_read_stands_for_its_ttl_at_most(backend: Backend) {
    let app = TestApp::spawn_unlimited(backend, &["--access-check=session-lookup"]).await;
    let signed = app.register("kept@example.com", GOOD_PASSWORD).await;
    assert_eq!(status_of(&app, &signed.access_token).await, 200);
    sqlx::query("UPDATE sessions SET expires_at = 1")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        status_of(&app, &signed.access_token).await,
        200,
        "the read of a moment ago answers"
    );
    let ttl = latchkey::auth::caches::SESSION_TTL_MS as u64;
    app.clock.advance(Duration::from_millis(ttl - 1_000));
    assert_eq!(
        status_of(&app, &signed.access_token).await,
        200,
        "and goes on for its TTL"
    );
    app.clock.advance(Duration::from_millis(1_000));
    assert_eq!(status_of(&app, &signed.access_token).await, 401, "then the row decides");
}

/// A busy cookie session is read from the database at most once per
/// `SESSION_TTL_MS` (the session cache). What makes a read stale — a
/// revocation, a new id, the user's role or status — reaches it through the
/// revocation feed (`cached_sessions.rs`); a change nothing announces —
/// here the session's end moved by hand — is seen once the read is that old.
async fn a_cookie_session_read_stands_for_its_ttl_at_most(backend: Backend) {
    let app = TestApp::spawn_unlimited(backend, &[]).await;
    session_register(&app, "cached@example.com").await;
    let session = session_login(&app, "cached@example.com").await;
    let me = || with_cookie(bare_client().get(app.url("/api/me")), &session, None).send();
    assert_eq!(me().await.unwrap().status(), 200);
    sqlx::query("UPDATE sessions SET expires_at = 1")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(me().await.unwrap().status(), 200, "the read of a moment ago answers");
    let ttl = latchkey::auth::caches::SESSION_TTL_MS as u64;
    // (This clock also runs in real time: a second's margin for the test.)
    app.clock.advance(std::time::Duration::from_millis(ttl - 1_000));
    assert_eq!(me().await.unwrap().status(), 200, "and goes on answering for its TTL");
    app.clock.advance(std::time::Duration::from_millis(1_000));
    assert_eq!(me().await.unwrap().status(), 401, "then the row decides");
}

both_backends!(
    a_cookie_session_read_stands_for_its_ttl_at_most,
    session_login_sets_a_host_cookie_and_returns_a_csrf_token,
    session_register_creates_a_cookie_session_and_ignores_privileges,
    unsafe_methods_need_the_sessions_csrf_token,
    cross_site_requests_with_the_cookie_are_refused,
    forged_revoked_and_foreign_ids_get_401_and_a_cleared_cookie,
    a_session_id_sent_at_login_is_never_adopted,
    idle_timeout_slides_and_the_absolute_lifetime_does_not,
    an_idle_renewal_is_written_behind_the_request_and_seen_elsewhere,
    session_logout_ends_the_session_and_clears_the_cookie,
    a_password_change_gives_the_cookie_session_a_new_id,
    logout_all_from_a_cookie_session_ends_every_kind,
    stateless_accepts_a_revoked_sessions_token_until_it_expires,
    revocation_cache_refuses_within_a_second_on_every_server,
    session_lookup_refuses_within_a_second_on_every_server,
    a_token_sessions_read_stands_for_its_ttl_at_most,
);
