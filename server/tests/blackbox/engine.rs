//! The engine's guarantees that a security review found missing, each as a
//! test that fails without its fix: sign-ins that overlap an account change,
//! retried refreshes, the refresh budget, caching, duplicate JSON keys, the
//! audit gaps, the revocation feed's own connection, secrets in `Debug`.
//! Each test runs on SQLite and PostgreSQL.

use std::time::Duration;

use latchkey::core::secrets::hash_token;
use latchkey::store::accounts::Entrant;
use latchkey::store::audit::{Event, NewAuditEvent};
use latchkey::store::sessions::{NewSession, SessionKind};
use latchkey_types::Role;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{Backend, GOOD_PASSWORD, REFRESH_COOKIE, SignedIn, TestApp, assert_error, bare_client, set_cookie};

const EMAIL: &str = "ada@example.com";
const NEW_PASSWORD: &str = "amber-kettle-sings-over-granite";

async fn spawn(backend: Backend, flags: &[&str]) -> TestApp {
    TestApp::spawn_unlimited(backend, flags).await
}

/// What a password sign-in holds once argon2 has said yes: the user id and
/// the hash the password matched.
async fn verified_hash(app: &TestApp, user_id: Uuid) -> String {
    app.state
        .db
        .find_user(user_id)
        .await
        .expect("read user")
        .expect("user exists")
        .password_hash
}

/// Runs the sign-in transaction the engine runs after a password matched
/// `hash`: `Some(role issued)` if it admits the user, `None` if it refuses.
async fn start_verified_session(app: &TestApp, user_id: Uuid, hash: &str) -> Option<Role> {
    let now = app.clock.now_ms();
    let secret_hash = hash_token("a refresh token of this test");
    let session = NewSession {
        id: Uuid::now_v7(),
        user_id,
        kind: SessionKind::Jwt,
        secret_hash: &secret_hash,
        csrf_hash: None,
        sealed_csrf: None,
        now,
        idle_expires_at: now + 60_000,
        expires_at: now + 120_000,
        user_agent: None,
        ip: None,
    };
    let audit = NewAuditEvent {
        event: Event::LoginSucceeded,
        actor_id: None,
        user_id: None,
        session_id: None,
        ip: None,
        user_agent: None,
        detail: None,
    };
    let started = app
        .state
        .db
        .start_session(
            Entrant::Verified {
                user_id,
                password_hash: hash,
            },
            session,
            50,
            None,
            audit,
        )
        .await
        .expect("the transaction runs");
    started.value().as_ref().map(|user| user.role)
}

async fn sql(app: &TestApp, statement: &'static str, bind: String) {
    sqlx::query(statement)
        .bind(bind)
        .execute(&app.state.db.pool)
        .await
        .expect(statement);
}

async fn promote_in_db(app: &TestApp, user_id: Uuid) {
    sql(
        app,
        "UPDATE users SET role = 'admin' WHERE id = $1",
        user_id.to_string(),
    )
    .await;
}

async fn post_with_bearer(app: &TestApp, path: &str, token: &str, body: &Value) -> reqwest::Response {
    bare_client()
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("request")
}

async fn events_named(app: &TestApp, event: &str) -> Vec<latchkey_types::AuditEvent> {
    app.state
        .db
        .audit_events(200, None, Some(event), None)
        .await
        .expect("audit events")
}

fn cache_control(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

// --- sign-ins that overlap an account change (review defect 1) -----------

async fn a_sign_in_that_overlapped_a_password_change_gets_no_session(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let ada = app.register(EMAIL, GOOD_PASSWORD).await;
    let user_id = ada.body.user.id;
    // A sign-in's argon2 check matched the old password...
    let old_hash = verified_hash(&app, user_id).await;
    // ...while the password was changed...
    let changed = post_with_bearer(
        &app,
        "/api/me/password",
        &ada.access_token,
        &json!({"current_password": GOOD_PASSWORD, "new_password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(changed.status(), 204);
    // ...so its session is refused: it would otherwise outlive the change.
    assert_eq!(start_verified_session(&app, user_id, &old_hash).await, None);
    let new_hash = verified_hash(&app, user_id).await;
    assert_eq!(
        start_verified_session(&app, user_id, &new_hash).await,
        Some(Role::User),
        "a sign-in with the current password is admitted"
    );
}

async fn a_sign_in_that_overlapped_a_disable_gets_no_session(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let ada = app.register(EMAIL, GOOD_PASSWORD).await;
    let hash = verified_hash(&app, ada.body.user.id).await;
    sql(
        &app,
        "UPDATE users SET disabled_at = 1 WHERE id = $1",
        ada.body.user.id.to_string(),
    )
    .await;
    assert_eq!(start_verified_session(&app, ada.body.user.id, &hash).await, None);
}

async fn a_sign_in_that_overlapped_a_demotion_carries_the_new_role(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let ada = app.register(EMAIL, GOOD_PASSWORD).await;
    let bob = app.register("bob@example.com", GOOD_PASSWORD).await;
    promote_in_db(&app, ada.body.user.id).await;
    promote_in_db(&app, bob.body.user.id).await;
    let ada = app.login(EMAIL, GOOD_PASSWORD).await;
    // Bob, a rogue admin, signs in: his password matches while he is admin...
    let bob_hash = verified_hash(&app, bob.body.user.id).await;
    // ...and Ada demotes him before his session is written.
    let demoted = bare_client()
        .patch(app.url(&format!("/api/admin/users/{}", bob.body.user.id)))
        .bearer_auth(&ada.access_token)
        .json(&json!({"role": "user"}))
        .send()
        .await
        .unwrap();
    assert_eq!(demoted.status(), 200);
    // The session is issued from the row as it is now, not as it was read.
    assert_eq!(
        start_verified_session(&app, bob.body.user.id, &bob_hash).await,
        Some(Role::User)
    );
}

async fn session_lookup_refuses_a_token_whose_role_the_user_lost(backend: Backend) {
    let app = spawn(backend, &["--access-check=session-lookup"]).await;
    let ada = app.register(EMAIL, GOOD_PASSWORD).await;
    promote_in_db(&app, ada.body.user.id).await;
    let admin = app.login(EMAIL, GOOD_PASSWORD).await;
    assert_eq!(admin.body.user.role, Role::Admin);
    assert_eq!(app.get_with_bearer("/api/me", &admin.access_token).await.status(), 200);
    // Demoted behind the API's back (no session revoked): the row decides,
    // as read again once the revocation feed reports the change (within a
    // second; `cached_sessions.rs` has the same on two servers).
    sql(
        &app,
        "UPDATE users SET role = 'user' WHERE id = $1",
        ada.body.user.id.to_string(),
    )
    .await;
    let demoted = std::time::Instant::now();
    while app.get_with_bearer("/api/me", &admin.access_token).await.status() == 200 {
        assert!(
            demoted.elapsed() < Duration::from_secs(1),
            "still admitted after a second"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_error(
        app.get_with_bearer("/api/me", &admin.access_token).await,
        401,
        "invalid_token",
    )
    .await;
}

// --- a retried refresh after a lost response (review defect 2) ----------

async fn a_retried_refresh_after_a_lost_response_keeps_the_session(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let signed = app.register(EMAIL, GOOD_PASSWORD).await;
    // The server rotates, but its answer never reaches the client...
    let lost = app.refresh_with(&signed.refresh).await;
    assert_eq!(lost.status(), 200);
    let lost = SignedIn::from_response(lost).await;
    // ...which retries with the cookie it still has, 20 s later.
    app.clock.advance(Duration::from_secs(20));
    let retried = app.refresh_with(&signed.refresh).await;
    assert_eq!(retried.status(), 200, "a retry inside the grace window is not reuse");
    let retried = SignedIn::from_response(retried).await;
    assert_eq!(retried.refresh, lost.refresh, "the same successor is handed out again");
    // The session goes on, and nothing was taken for theft.
    let next = app.refresh_with(&retried.refresh).await;
    assert_eq!(next.status(), 200);
    assert!(events_named(&app, "refresh.reuse_detected").await.is_empty());
}

// --- refresh with nothing to renew (review defect 15) -------------------

async fn refresh_without_a_cookie_has_nothing_to_renew(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let response = bare_client()
        .post(app.url("/api/auth/refresh"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204, "a signed-out page load is no error");
    assert!(set_cookie(&response, REFRESH_COOKIE).is_none());
    assert_eq!(response.text().await.unwrap(), "");
    // A cookie that names nothing is still refused, and cleared.
    let response = app.refresh_with("not-a-token-we-issued").await;
    assert!(set_cookie(&response, REFRESH_COOKIE).is_some_and(|c| c.value.is_empty()));
    assert_error(response, 401, "invalid_refresh_token").await;
}

// --- caching (review defects 4 and 12) -----------------------------------

async fn nothing_under_api_is_cached_and_the_jwks_briefly(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let ada = app.register(EMAIL, GOOD_PASSWORD).await;
    promote_in_db(&app, ada.body.user.id).await;
    let admin = app.login(EMAIL, GOOD_PASSWORD).await;
    for path in [
        "/api/me",
        "/api/me/sessions",
        "/api/admin/users",
        "/api/admin/audit",
        &format!("/api/admin/users/{}/sessions", ada.body.user.id),
        "/api/health",
        "/api/no-such-route",
    ] {
        let response = app.get_with_bearer(path, &admin.access_token).await;
        assert_eq!(cache_control(&response), "no-store", "{path}");
    }
    // Outside verifiers may cache the JWKS only as long as a rotated-in key
    // waits before it signs, less the servers' own reload interval.
    let jwks = app.get("/.well-known/jwks.json").await;
    let max_age: i64 = cache_control(&jwks)
        .strip_prefix("public, max-age=")
        .and_then(|s| s.parse().ok())
        .expect("a max-age");
    let reload = latchkey::auth::keys::RELOAD_EVERY.as_millis() as i64;
    assert!(
        max_age * 1000 + reload <= latchkey::auth::keys::KEY_ACTIVATION_MS,
        "max-age={max_age} lets verifiers refuse a new key's tokens"
    );
}

// --- bodies (review defects 10 and 13) -----------------------------------

async fn json_keys_given_twice_are_refused(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let body = format!(r#"{{"email": "{EMAIL}", "password": "{GOOD_PASSWORD}", "email": "mallory@example.com"}}"#);
    let response = bare_client()
        .post(app.url("/api/auth/register"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let body = assert_error(response, 422, "validation_failed").await;
    assert!(body["fields"]["email"].is_array(), "{body}");
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(users, 0, "nothing was created");
}

async fn emails_follow_the_html_email_input_rule(backend: Backend) {
    let app = spawn(backend, &[]).await;
    for bad in [
        "\"ada\"@example.com",
        "ada(x)@example.com",
        "ada@exa_mple.com",
        "ada@-example.com",
    ] {
        let response = app
            .post_json("/api/auth/register", &json!({"email": bad, "password": GOOD_PASSWORD}))
            .await;
        let body = assert_error(response, 422, "validation_failed").await;
        assert!(body["fields"]["email"].is_array(), "{bad}: {body}");
    }
    app.register("o'brien+tag@mail.example.co.uk", GOOD_PASSWORD).await;
}

// --- the audit log's gaps (review defect 9) -----------------------------

async fn evictions_disabled_refreshes_wrong_passwords_and_lockouts_are_audited(backend: Backend) {
    let app = spawn(backend, &["--max-sessions=1", "--rate-account-failures=2"]).await;
    let first = app.register(EMAIL, GOOD_PASSWORD).await;
    let second = app.login(EMAIL, GOOD_PASSWORD).await;
    let evicted = events_named(&app, "session.evicted").await;
    assert_eq!(evicted.len(), 1, "{evicted:?}");
    assert_eq!(
        evicted[0].session_id.map(|id| id.to_string()),
        crate::common::claim(&first.access_token, "sid"),
        "the evicted session is named"
    );

    let wrong = post_with_bearer(
        &app,
        "/api/me/password",
        &second.access_token,
        &json!({"current_password": "not the password at all", "new_password": NEW_PASSWORD}),
    )
    .await;
    assert_error(wrong, 422, "validation_failed").await;
    assert_eq!(events_named(&app, "password.change_failed").await.len(), 1);

    // Two failures are allowed (the wrong current password above was one);
    // the lockout is recorded once, however often it refuses.
    let bad_login = json!({"email": EMAIL, "password": "not the password at all"});
    assert_eq!(app.post_json("/api/auth/login", &bad_login).await.status(), 401);
    for _ in 0..3 {
        assert_error(app.post_json("/api/auth/login", &bad_login).await, 429, "rate_limited").await;
    }
    assert_eq!(events_named(&app, "login.rate_limited").await.len(), 1);

    // Disabled behind the API's back, with a live session: its next refresh
    // ends it, and says why.
    sql(
        &app,
        "UPDATE users SET disabled_at = 1 WHERE id = $1",
        second.body.user.id.to_string(),
    )
    .await;
    let refused = app.refresh_with(&second.refresh).await;
    assert_error(refused, 401, "invalid_refresh_token").await;
    assert_eq!(events_named(&app, "refresh.refused_disabled").await.len(), 1);
}

async fn key_rotations_are_audited(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let kid = latchkey::auth::keys::rotate(&app.state.db, &app.state.vault)
        .await
        .expect("rotate");
    let events = events_named(&app, "keys.rotated").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail.as_ref().unwrap()["kid"], kid.as_str());
}

// --- signing keys at rest (review defects 3 and 5) -----------------------

async fn stored_keys(app: &TestApp) -> Vec<(String, String, Option<i64>)> {
    sqlx::query_as("SELECT kid, private_key_pem, retired_at FROM signing_keys ORDER BY created_at")
        .fetch_all(&app.state.db.pool)
        .await
        .expect("signing keys")
}

fn kid_of(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_string()
}

fn key_file(dir: &std::path::Path, name: &str) -> (String, String) {
    let path = dir.join(name);
    let pem = latchkey::core::tokens::generate_ed25519_pem();
    std::fs::write(&path, &pem).unwrap();
    let kid = latchkey::core::tokens::SigningKey::from_pem_with_thumbprint_kid(&pem)
        .unwrap()
        .kid
        .clone();
    (path.display().to_string(), kid)
}

async fn signing_keys_in_the_database_are_sealed(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let signed = app.register(EMAIL, GOOD_PASSWORD).await;
    latchkey::auth::keys::rotate(&app.state.db, &app.state.vault)
        .await
        .unwrap();
    let keys = stored_keys(&app).await;
    assert_eq!(keys.len(), 2);
    for (kid, stored, _) in &keys {
        assert!(stored.starts_with("sealed1:"), "{kid} is stored in the clear");
        assert!(!stored.contains("PRIVATE KEY"));
    }
    assert!(keys.iter().any(|(kid, _, _)| *kid == kid_of(&signed.access_token)));
    // The key-encryption key is private to the server's user.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&app.db.key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Another key-encryption key opens nothing: the server refuses to start.
    let other = tempfile::tempdir().unwrap();
    let flags = [
        format!("--database-url={}", app.db.url),
        format!("--key-encryption-key-file={}", other.path().join("k").display()),
    ];
    let err = match settings(&flags).map(latchkey::build_state) {
        Some(started) => started.await.err().expect("refused"),
        None => panic!("flags parse"),
    };
    assert!(
        format!("{err:#}").contains("LATCHKEY_KEY_ENCRYPTION_KEY_FILE"),
        "{err:#}"
    );
}

fn settings(flags: &[String]) -> Option<latchkey::config::Settings> {
    #[derive(clap::Parser)]
    struct Flags {
        #[command(flatten)]
        config: latchkey::config::Config,
    }
    let args = std::iter::once("latchkey".to_string()).chain(flags.iter().cloned());
    <Flags as clap::Parser>::try_parse_from(args)
        .ok()?
        .config
        .validate()
        .ok()
}

async fn keys_stored_in_the_clear_by_an_older_version_are_sealed_at_start(backend: Backend) {
    let db = crate::common::TestDb::new(backend).await;
    let store = latchkey::store::Db::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let pem = latchkey::core::tokens::generate_ed25519_pem();
    let kid = latchkey::core::tokens::SigningKey::from_pem_with_thumbprint_kid(&pem)
        .unwrap()
        .kid
        .clone();
    store.add_first_signing_key(&kid, &pem, 0).await.unwrap();
    let app = TestApp::spawn_on(db, &["--rate-address-per-min=100000"]).await;
    let keys = stored_keys(&app).await;
    assert_eq!(keys.len(), 1);
    assert!(keys[0].1.starts_with("sealed1:"), "still in the clear");
    // Still the same key: it signs.
    let signed = app.register(EMAIL, GOOD_PASSWORD).await;
    assert_eq!(kid_of(&signed.access_token), kid);
}

async fn a_key_file_retires_the_database_keys_and_replaces_gracefully(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    // One origin for every server: tokens name it as issuer and audience.
    const ORIGIN: &str = "--public-origin=https://latchkey.example";
    let first = spawn(backend, &[ORIGIN]).await;
    let from_db = first.register(EMAIL, GOOD_PASSWORD).await;
    // Switching to a key file: database keys stop signing, but their live
    // tokens keep verifying until they expire.
    let (file_a, kid_a) = key_file(dir.path(), "a.pem");
    let flag_a = format!("--jwt-key-file={file_a}");
    let a = first
        .spawn_replica(&[ORIGIN, "--rate-address-per-min=100000", &flag_a])
        .await;
    assert!(stored_keys(&a).await.iter().all(|(_, _, retired)| retired.is_some()));
    assert_eq!(a.get_with_bearer("/api/me", &from_db.access_token).await.status(), 200);
    let signed_a = a.login(EMAIL, GOOD_PASSWORD).await;
    assert_eq!(kid_of(&signed_a.access_token), kid_a);

    // Replacing the file: listed as previous, the old file keeps verifying.
    let (file_b, kid_b) = key_file(dir.path(), "b.pem");
    let flag_b = format!("--jwt-key-file={file_b}");
    let previous = format!("--jwt-previous-key-files={file_a}");
    let b = first
        .spawn_replica(&[ORIGIN, "--rate-address-per-min=100000", &flag_b, &previous])
        .await;
    assert_eq!(b.get_with_bearer("/api/me", &signed_a.access_token).await.status(), 200);
    assert_eq!(kid_of(&b.login(EMAIL, GOOD_PASSWORD).await.access_token), kid_b);
    let jwks: Value = b.get("/.well-known/jwks.json").await.json().await.unwrap();
    assert!(
        jwks.to_string().contains(&kid_a),
        "the previous key is published: {jwks}"
    );
    // Not listed, it is gone at once.
    let c = first
        .spawn_replica(&[ORIGIN, "--rate-address-per-min=100000", &flag_b])
        .await;
    assert_eq!(c.get_with_bearer("/api/me", &signed_a.access_token).await.status(), 401);
}

// --- a promotion re-keys a cookie session (review defect 8) -------------

use crate::common::{SESSION_COOKIE, with_session_cookie};

async fn a_promotion_takes_effect_under_a_new_session_id(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let ada = app.register(EMAIL, GOOD_PASSWORD).await;
    promote_in_db(&app, ada.body.user.id).await;
    let ada = app.login(EMAIL, GOOD_PASSWORD).await;
    let sam = app.register("sam@example.com", GOOD_PASSWORD).await;
    let signed_in = app
        .post_json(
            "/api/session/login",
            &json!({"email": "sam@example.com", "password": GOOD_PASSWORD}),
        )
        .await;
    let old = set_cookie(&signed_in, SESSION_COOKIE).expect("a session cookie").value;

    let promoted = bare_client()
        .patch(app.url(&format!("/api/admin/users/{}", sam.body.user.id)))
        .bearer_auth(&ada.access_token)
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(promoted.status(), 200);
    // The id issued before the promotion does not carry it...
    assert_error(
        with_session_cookie(&app, "/api/admin/users", &old).await,
        403,
        "forbidden",
    )
    .await;
    // ...the page's next look at its session re-keys it, and the new id does.
    let reloaded = with_session_cookie(&app, "/api/session", &old).await;
    assert_eq!(reloaded.status(), 200);
    let new = set_cookie(&reloaded, SESSION_COOKIE).expect("a new session id").value;
    assert_ne!(new, old);
    let body: Value = reloaded.json().await.unwrap();
    assert_eq!(body["user"]["role"], "admin");
    assert_eq!(with_session_cookie(&app, "/api/admin/users", &new).await.status(), 200);
    assert_error(with_session_cookie(&app, "/api/me", &old).await, 401, "invalid_token").await;
    // Once re-keyed, a reload changes nothing.
    let again = with_session_cookie(&app, "/api/session", &new).await;
    assert_eq!(again.status(), 200);
    assert!(set_cookie(&again, SESSION_COOKIE).is_none());
}

// --- the revocation feed's own connection (review defect 7) -------------

async fn a_saturated_pool_does_not_stall_the_revocation_feed(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let size = app.state.db.pool.options().get_max_connections();
    let mut held = Vec::new();
    for _ in 0..size {
        held.push(app.state.db.pool.acquire().await.expect("a pool connection"));
    }
    // The feed polls every 250 ms; its freshness is about real time.
    tokio::time::sleep(latchkey::auth::revocations::POLL_EVERY * 6).await;
    let fresh = app
        .state
        .revocations
        .is_fresh(latchkey::core::clock::now_ms(), latchkey::auth::revocations::MAX_LAG_MS);
    drop(held);
    assert!(fresh, "the feed stalled behind the request pool");
}

crate::both_backends!(
    a_sign_in_that_overlapped_a_password_change_gets_no_session,
    a_sign_in_that_overlapped_a_disable_gets_no_session,
    a_sign_in_that_overlapped_a_demotion_carries_the_new_role,
    session_lookup_refuses_a_token_whose_role_the_user_lost,
    a_retried_refresh_after_a_lost_response_keeps_the_session,
    refresh_without_a_cookie_has_nothing_to_renew,
    nothing_under_api_is_cached_and_the_jwks_briefly,
    json_keys_given_twice_are_refused,
    emails_follow_the_html_email_input_rule,
    evictions_disabled_refreshes_wrong_passwords_and_lockouts_are_audited,
    key_rotations_are_audited,
    a_saturated_pool_does_not_stall_the_revocation_feed,
    signing_keys_in_the_database_are_sealed,
    keys_stored_in_the_clear_by_an_older_version_are_sealed_at_start,
    a_key_file_retires_the_database_keys_and_replaces_gracefully,
    a_promotion_takes_effect_under_a_new_session_id,
);
