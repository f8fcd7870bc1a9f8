//! Black-box tests of the admin API of API.md: who may use it (admins only;
//! users get 403, strangers 401), the users list (literal, case-insensitive
//! search; paging), role and disabled changes (sessions revoked at once, the
//! last-admin rule), mass assignment through the user routes, any user's
//! sessions, and the read-only audit log with cursor pagination. Each test
//! runs on SQLite and PostgreSQL.
//!
//! An admin is made as an operator would without the CLI: register through
//! the API, set the role in the database, sign in again (a token's role is
//! fixed when it is issued).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::common::{Backend, GOOD_PASSWORD, SignedIn, TEST_USER_AGENT, TestApp, assert_error, bare_client};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_types::{AdminUser as AdminRow, AdminUserList, AuditEvent, Role, Session, User};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";
const CAROL: &str = "carol@example.com";
const WRONG_PASSWORD: &str = "amber-kettle-sings-over-granite";

// --- helpers -------------------------------------------------------------

/// Every test talks from 127.0.0.1 and signs in a lot: lift the
/// per-address limit.
async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, &["--rate-address-per-min=100000"]).await
}

/// Registers an account with an optional display name; panics unless 201.
async fn register_as(app: &TestApp, email: &str, display_name: Option<&str>) -> SignedIn {
    let mut body = json!({"email": email, "password": GOOD_PASSWORD});
    if let Some(name) = display_name {
        body["display_name"] = json!(name);
    }
    let response = app.post_json("/api/auth/register", &body).await;
    assert_eq!(response.status(), 201, "register {email}");
    SignedIn::from_response(response).await
}

/// Sets a user's role to admin behind the API's back (as the CLI would).
async fn promote_in_db(app: &TestApp, email: &str) {
    let done = sqlx::query("UPDATE users SET role = 'admin' WHERE email_key = $1")
        .bind(email.to_lowercase())
        .execute(&app.state.db.pool)
        .await
        .expect("promote in the database");
    assert_eq!(done.rows_affected(), 1, "no user {email}");
}

/// Registers, promotes in the database, signs in again: a signed-in admin.
async fn make_admin(app: &TestApp, email: &str, display_name: Option<&str>) -> SignedIn {
    register_as(app, email, display_name).await;
    promote_in_db(app, email).await;
    let admin = app.login(email, GOOD_PASSWORD).await;
    assert_eq!(admin.body.user.role, Role::Admin);
    admin
}

/// A JSON part of a JWT (0: header, 1: claims), decoded without checks.
fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

/// The session id (`sid`) an access token names.
fn sid_of(token: &str) -> Uuid {
    jwt_part(token, 1)["sid"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("sid claim")
}

fn role_claim(token: &str) -> String {
    jwt_part(token, 1)["role"].as_str().expect("role claim").to_string()
}

/// A request with an optional Bearer token and an optional JSON body.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = bare_client().request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.expect("request")
}

/// A request whose body is sent as raw bytes labelled `application/json`.
async fn call_raw(app: &TestApp, method: Method, path: &str, token: &str, body: &[u8]) -> reqwest::Response {
    bare_client()
        .request(method, app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .expect("request")
}

/// Asserts 200 and parses the body, showing it on failure.
async fn ok_json<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> T {
    let status = response.status();
    let url = response.url().to_string();
    let text = response.text().await.expect("body");
    assert_eq!(status, 200, "{url}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {e}: {text}"))
}

/// `GET /api/admin/users` with query parameters (URL-encoded here).
async fn users_request(app: &TestApp, token: &str, query: &[(&str, &str)]) -> reqwest::Response {
    bare_client()
        .get(app.url("/api/admin/users"))
        .query(query)
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
}

async fn list_users(app: &TestApp, token: &str, query: &[(&str, &str)]) -> AdminUserList {
    ok_json(users_request(app, token, query).await).await
}

/// The admin list's row for one user.
async fn user_row(app: &TestApp, token: &str, id: Uuid) -> AdminRow {
    let list = list_users(app, token, &[("per_page", "100")]).await;
    list.users
        .into_iter()
        .find(|row| row.user.id == id)
        .unwrap_or_else(|| panic!("user {id} is not in the admin list"))
}

async fn patch_user(app: &TestApp, token: &str, id: impl std::fmt::Display, body: &Value) -> reqwest::Response {
    call(
        app,
        Method::PATCH,
        &format!("/api/admin/users/{id}"),
        Some(token),
        Some(body),
    )
    .await
}

/// PATCHes a user; panics unless 200; returns the `User`.
async fn patch_user_ok(app: &TestApp, token: &str, id: Uuid, body: &Value) -> User {
    ok_json(patch_user(app, token, id, body).await).await
}

async fn user_sessions(app: &TestApp, token: &str, id: Uuid) -> Vec<Session> {
    ok_json(
        app.get_with_bearer(&format!("/api/admin/users/{id}/sessions"), token)
            .await,
    )
    .await
}

async fn revoke_session(app: &TestApp, token: &str, id: impl std::fmt::Display) -> reqwest::Response {
    call(
        app,
        Method::DELETE,
        &format!("/api/admin/sessions/{id}"),
        Some(token),
        None,
    )
    .await
}

async fn audit_request(app: &TestApp, token: &str, query: &[(&str, &str)]) -> reqwest::Response {
    bare_client()
        .get(app.url("/api/admin/audit"))
        .query(query)
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
}

async fn audit(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Vec<AuditEvent> {
    ok_json(audit_request(app, token, query).await).await
}

/// Who did it: the actor is stored but not part of `AuditEvent`.
async fn audit_actor(app: &TestApp, event_id: Uuid) -> Option<Uuid> {
    let actor: Option<String> = sqlx::query_scalar("SELECT actor_id FROM audit_events WHERE id = $1")
        .bind(event_id.to_string())
        .fetch_one(&app.state.db.pool)
        .await
        .expect("audit row");
    actor.map(|a| a.parse().expect("actor id is a UUID"))
}

async fn role_in_db(app: &TestApp, id: Uuid) -> (String, bool) {
    let (role, disabled_at): (String, Option<i64>) =
        sqlx::query_as("SELECT role, disabled_at FROM users WHERE id = $1")
            .bind(id.to_string())
            .fetch_one(&app.state.db.pool)
            .await
            .expect("user row");
    (role, disabled_at.is_some())
}

async fn enabled_admins_in_db(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL")
        .fetch_one(&app.state.db.pool)
        .await
        .expect("count admins")
}

/// 401 `invalid_token` with RFC 6750's `WWW-Authenticate` challenge.
async fn assert_invalid_token(response: reqwest::Response) {
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_error(response, 401, "invalid_token").await;
    assert_eq!(challenge.as_deref(), Some(r#"Bearer error="invalid_token""#));
}

/// A 422 `validation_failed` that names at least one field.
async fn assert_validation_failed(response: reqwest::Response) {
    let body = assert_error(response, 422, "validation_failed").await;
    assert!(
        body["fields"].as_object().is_some_and(|f| !f.is_empty()),
        "a 422 carries fields: {body}"
    );
}

/// A method the route does not have: 405 `method_not_allowed` (with
/// `Allow`) or 404 `not_found`, in the error shape either way.
async fn assert_no_such_method(response: reqwest::Response, what: &str) {
    let status = response.status().as_u16();
    match status {
        405 => {
            assert!(
                response.headers().get("allow").is_some(),
                "{what}: a 405 must say what is allowed (RFC 9110)"
            );
            assert_error(response, 405, "method_not_allowed").await;
        }
        404 => {
            assert_error(response, 404, "not_found").await;
        }
        _ => panic!(
            "{what}: expected 405 or 404, got {status}: {}",
            response.text().await.unwrap_or_default()
        ),
    }
}

async fn assert_works(app: &TestApp, path: &str, token: &str) {
    let response = app.get_with_bearer(path, token).await;
    assert_eq!(
        response.status(),
        200,
        "{path} refused a live token: {}",
        response.text().await.unwrap_or_default()
    );
}

/// Revocation must reach the Bearer check within a second (API.md).
async fn assert_refused_within_a_second(app: &TestApp, path: &str, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let response = app.get_with_bearer(path, token).await;
        if response.status() == 401 {
            return assert_invalid_token(response).await;
        }
        assert!(
            response.status() == 200 || response.status() == 403,
            "unexpected answer {} for a revoked session's token on {path}",
            response.status()
        );
        assert!(
            Instant::now() < deadline,
            "a revoked session's access token still works on {path} after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// 401 `invalid_refresh_token` for a refresh cookie that must be dead.
async fn assert_refresh_refused(app: &TestApp, refresh: &str) {
    assert_error(app.refresh_with(refresh).await, 401, "invalid_refresh_token").await;
}

/// Status and body of a failed login (to compare answers).
async fn failed_login(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    let response = app
        .post_json("/api/auth/login", &json!({"email": email, "password": password}))
        .await;
    let status = response.status().as_u16();
    let body = assert_error(response, 401, "invalid_credentials").await;
    (status, body)
}

fn emails(list: &AdminUserList) -> BTreeSet<String> {
    list.users.iter().map(|row| row.user.email.clone()).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// --- who may use the admin API -------------------------------------------

async fn admin_routes_answer_admins_only(backend: Backend) {
    let app = spawn(backend).await;
    let ada = make_admin(&app, ADA, None).await;
    let bob = app.register(BOB, GOOD_PASSWORD).await;
    let bob_id = bob.body.user.id;
    let ada_id = ada.body.user.id;
    let bob_sid = sid_of(&bob.access_token);
    let ada_sid = sid_of(&ada.access_token);

    // Every route and method, valid and invalid input alike: who is asking
    // is decided before anything else.
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/admin/users".into(), None),
        (Method::GET, "/api/admin/users?q=a&page=1&per_page=5".into(), None),
        (Method::GET, "/api/admin/users?page=abc&per_page=0".into(), None),
        (
            Method::PATCH,
            format!("/api/admin/users/{bob_id}"),
            Some(json!({"role": "admin"})),
        ),
        (
            Method::PATCH,
            format!("/api/admin/users/{ada_id}"),
            Some(json!({"role": "user", "disabled": true})),
        ),
        (
            Method::PATCH,
            format!("/api/admin/users/{ada_id}"),
            Some(json!({"role": 7})),
        ),
        (Method::PATCH, "/api/admin/users/not-a-uuid".into(), Some(json!({}))),
        (Method::GET, format!("/api/admin/users/{bob_id}/sessions"), None),
        (Method::GET, format!("/api/admin/users/{ada_id}/sessions"), None),
        (
            Method::GET,
            format!("/api/admin/users/{}/sessions", Uuid::now_v7()),
            None,
        ),
        (Method::DELETE, format!("/api/admin/sessions/{ada_sid}"), None),
        (Method::DELETE, format!("/api/admin/sessions/{bob_sid}"), None),
        (Method::DELETE, "/api/admin/sessions/not-a-uuid".into(), None),
        (Method::GET, "/api/admin/audit".into(), None),
        (Method::GET, "/api/admin/audit?limit=1".into(), None),
        (Method::GET, "/api/admin/audit?limit=0&before=x".into(), None),
    ];
    for (method, path, body) in &routes {
        let what = format!("{method} {path}");
        // A plain user: 403.
        let response = call(&app, method.clone(), path, Some(&bob.access_token), body.as_ref()).await;
        assert_eq!(response.status(), 403, "{what} as a user");
        assert_error(response, 403, "forbidden").await;
        // Signed out, or with a token that is not one: 401 with the challenge.
        assert_invalid_token(call(&app, method.clone(), path, None, body.as_ref()).await).await;
        assert_invalid_token(call(&app, method.clone(), path, Some("not.a.token"), body.as_ref()).await).await;
    }

    // None of that changed anything: bob is still a user whose session is
    // live (a refresh still issues a user token), ada an enabled admin.
    assert_eq!(role_in_db(&app, bob_id).await, ("user".to_string(), false));
    assert_eq!(role_in_db(&app, ada_id).await, ("admin".to_string(), false));
    assert_works(&app, "/api/me", &bob.access_token).await;
    let bob_again = SignedIn::from_response(app.refresh_with(&bob.refresh).await).await;
    assert_eq!(role_claim(&bob_again.access_token), "user");
    assert_works(&app, "/api/admin/users", &ada.access_token).await;
    let bob = bob_again;

    // The admin: every route answers with the contract's body.
    let list = list_users(&app, &ada.access_token, &[]).await;
    assert_eq!(list.total, 2);
    assert_eq!(emails(&list), set(&[ADA, BOB]));
    let bob_row = list.users.iter().find(|r| r.user.id == bob_id).unwrap();
    assert_eq!(bob_row.user, bob.body.user);
    assert!(!bob_row.disabled);
    let ada_row = list.users.iter().find(|r| r.user.id == ada_id).unwrap();
    assert_eq!(ada_row.user.role, Role::Admin);
    // Rows are a `User` plus `disabled` and `factors`, nothing else (no
    // hash, no key, no secret).
    let raw: Value = ok_json(app.get_with_bearer("/api/admin/users", &ada.access_token).await).await;
    for row in raw["users"].as_array().expect("users array") {
        let keys: BTreeSet<&str> = row.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from([
                "id",
                "email",
                "display_name",
                "role",
                "created_at",
                "email_verified_at",
                "disabled",
                "factors"
            ]),
            "{row}"
        );
        // Factors are what is set up and when, never a secret.
        let factors: BTreeSet<&str> = row["factors"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            factors,
            BTreeSet::from([
                "totp_enabled_at",
                "totp_last_used_at",
                "recovery_codes_left",
                "passkeys"
            ])
        );
    }

    let user = patch_user_ok(&app, &ada.access_token, bob_id, &json!({"disabled": false})).await;
    assert_eq!(user, bob.body.user);

    let sessions = user_sessions(&app, &ada.access_token, bob_id).await;
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0].id, bob_sid);

    let events = audit(&app, &ada.access_token, &[]).await;
    assert!(
        events
            .iter()
            .any(|e| e.event == "user.registered" && e.user_id == Some(bob_id))
    );

    let response = revoke_session(&app, &ada.access_token, bob_sid).await;
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty(), "204 has no body");
    assert_refused_within_a_second(&app, "/api/me", &bob.access_token).await;
}

// --- the users list ------------------------------------------------------

/// Nine accounts whose emails and display names hold SQL and LIKE
/// metacharacters and mixed case.
async fn seed_search_users(app: &TestApp) -> SignedIn {
    let ada = make_admin(app, ADA, Some("Ada Lovelace")).await;
    for (email, name) in [
        ("Per%Cent@Example.com", None),
        ("under_score@example.com", None),
        ("o'brien@example.com", Some("Miles O'Brien")),
        ("backslash@example.com", Some("Back\\Slash")),
        ("plain@example.com", Some("100% Sure")),
        ("grace@example.com", Some("Grace_Hopper")),
        (BOB, Some("BOB the Builder")),
        ("xyz@example.org", None),
    ] {
        register_as(app, email, name).await;
    }
    ada
}

async fn users_search_matches_literally_and_case_insensitively(backend: Backend) {
    let app = spawn(backend).await;
    let ada = seed_search_users(&app).await;
    let all = list_users(&app, &ada.access_token, &[]).await;
    assert_eq!(all.total, 9);
    assert_eq!(all.users.len(), 9);

    let cases: &[(&str, &[&str])] = &[
        // LIKE metacharacters match only themselves.
        ("%", &["Per%Cent@Example.com", "plain@example.com"]),
        ("_", &["under_score@example.com", "grace@example.com"]),
        ("%_", &[]),
        ("r%c", &["Per%Cent@Example.com"]),
        ("\\", &["backslash@example.com"]),
        ("\\%", &[]),
        // Quotes are data, not SQL.
        ("'", &["o'brien@example.com"]),
        ("' OR '1'='1", &[]),
        ("%' OR 1=1 --", &[]),
        // Case-insensitive, in emails and in display names.
        ("ADA", &[ADA]),
        ("lovelace", &[ADA]),
        ("HOPPER", &["grace@example.com"]),
        ("bob THE", &[BOB]),
        ("per%cent@EXAMPLE", &["Per%Cent@Example.com"]),
        ("EXAMPLE.ORG", &["xyz@example.org"]),
        ("nobody", &[]),
    ];
    for &(q, expected) in cases {
        let list = list_users(&app, &ada.access_token, &[("q", q)]).await;
        assert_eq!(emails(&list), set(expected), "q={q:?}");
        assert_eq!(list.total, expected.len() as u64, "total for q={q:?}");
    }
    // An empty search lists everyone.
    let list = list_users(&app, &ada.access_token, &[("q", "")]).await;
    assert_eq!(list.total, 9);
}

async fn users_search_folds_case_beyond_ascii(backend: Backend) {
    let app = spawn(backend).await;
    let ada = make_admin(&app, ADA, None).await;
    register_as(&app, "ez@example.fr", Some("Émile Zola")).await;
    register_as(&app, "ju@example.de", Some("Jörg Ünal")).await;
    for (q, expected) in [
        ("zola", "ez@example.fr"),
        ("émile", "ez@example.fr"),
        ("ÉMILE ZOLA", "ez@example.fr"),
        ("JÖRG ü", "ju@example.de"),
    ] {
        let list = list_users(&app, &ada.access_token, &[("q", q)]).await;
        assert_eq!(emails(&list), set(&[expected]), "q={q:?}");
    }
}

async fn users_list_pages_are_stable_disjoint_and_validated(backend: Backend) {
    let app = spawn(backend).await;
    let ada = make_admin(&app, ADA, None).await;
    for i in 1..=6 {
        register_as(&app, &format!("user{i}@example.com"), None).await;
    }
    let everyone = list_users(&app, &ada.access_token, &[("per_page", "100")]).await;
    assert_eq!(everyone.total, 7);
    assert_eq!(everyone.users.len(), 7);
    let all_ids: Vec<Uuid> = everyone.users.iter().map(|r| r.user.id).collect();

    let mut paged = Vec::new();
    for (page, len) in [("1", 3), ("2", 3), ("3", 1), ("4", 0)] {
        let list = list_users(&app, &ada.access_token, &[("page", page), ("per_page", "3")]).await;
        assert_eq!(list.total, 7, "total is every match, not the page");
        assert_eq!(list.users.len(), len, "page {page}");
        // The same page twice is the same page.
        let again = list_users(&app, &ada.access_token, &[("page", page), ("per_page", "3")]).await;
        assert_eq!(list, again, "page {page} is stable");
        paged.extend(list.users.iter().map(|r| r.user.id));
    }
    // Pages are disjoint and together are the whole list, in its order.
    assert_eq!(paged, all_ids);
    assert_eq!(paged.iter().collect::<BTreeSet<_>>().len(), 7);

    // Paging applies to a search too.
    let list = list_users(
        &app,
        &ada.access_token,
        &[("q", "USER"), ("page", "2"), ("per_page", "4")],
    )
    .await;
    assert_eq!(list.total, 6);
    assert_eq!(list.users.len(), 2);
    assert_eq!(list.users.iter().map(|r| r.user.id).collect::<Vec<_>>(), all_ids[5..]);

    for (name, value) in [
        ("page", "0"),
        ("page", "-1"),
        ("page", "abc"),
        ("page", "1.5"),
        ("page", "99999999999999999999"),
        ("per_page", "0"),
        ("per_page", "-1"),
        ("per_page", "101"),
        ("per_page", "abc"),
        ("per_page", "99999999999999999999"),
        // PostgreSQL text cannot hold NUL: found by fuzzing as a 500.
        ("q", "a\0b"),
        ("q", "\u{7f}"),
    ] {
        let response = users_request(&app, &ada.access_token, &[(name, value)]).await;
        assert_eq!(response.status(), 422, "{name}={value}");
        assert_validation_failed(response).await;
    }
    // A huge page is refused or empty, never an overflow.
    let response = users_request(
        &app,
        &ada.access_token,
        &[("page", &i64::MAX.to_string()), ("per_page", "100")],
    )
    .await;
    assert!(
        response.status() == 422 || response.status() == 200,
        "page=i64::MAX: {}",
        response.status()
    );
}

// --- role changes --------------------------------------------------------

async fn promotion_takes_effect_on_the_next_token(backend: Backend) {
    let app = spawn(backend).await;
    let ada = make_admin(&app, ADA, None).await;
    let bob = app.register(BOB, GOOD_PASSWORD).await;
    let bob_id = bob.body.user.id;

    let user = patch_user_ok(&app, &ada.access_token, bob_id, &json!({"role": "admin"})).await;
    assert_eq!(user.id, bob_id);
    assert_eq!(user.email, BOB);
    assert_eq!(user.role, Role::Admin);
    let row = user_row(&app, &ada.access_token, bob_id).await;
    assert_eq!(row.user.role, Role::Admin);
    assert!(!row.disabled);
    // Promotion revokes nothing; bob's next token carries the new role.
    assert_works(&app, "/api/me", &bob.access_token).await;
    let refreshed = SignedIn::from_response(app.refresh_with(&bob.refresh).await).await;
    assert_eq!(role_claim(&refreshed.access_token), "admin");
    assert_eq!(refreshed.body.user.role, Role::Admin);
    assert_works(&app, "/api/admin/users", &refreshed.access_token).await;
    let login = app.login(BOB, GOOD_PASSWORD).await;
    assert_eq!(role_claim(&login.access_token), "admin");
    assert_works(&app, "/api/admin/audit", &login.access_token).await;
}

async fn demotion_revokes_every_session_at_once(backend: Backend) {
    let app = spawn(backend).await;
    let ada = make_admin(&app, ADA, None).await;
    let carol = app.register(CAROL, GOOD_PASSWORD).await;
    // bob: an admin with two sessions (and his registration's session).
    let bob_id = app.register(BOB, GOOD_PASSWORD).await.body.user.id;
    patch_user_ok(&app, &ada.access_token, bob_id, &json!({"role": "admin"})).await;
    let bob1 = app.login(BOB, GOOD_PASSWORD).await;
    let bob2 = app.login(BOB, GOOD_PASSWORD).await;
    assert_works(&app, "/api/admin/users", &bob1.access_token).await;
    let bob_sessions = user_sessions(&app, &ada.access_token, bob_id).await.len();
    assert_eq!(bob_sessions, 3);

    let user = patch_user_ok(&app, &ada.access_token, bob_id, &json!({"role": "user"})).await;
    assert_eq!(user.role, Role::User);
    // The admin role in bob's tokens dies with the demotion, not at expiry.
    assert_refused_within_a_second(&app, "/api/admin/users", &bob1.access_token).await;
    assert_refused_within_a_second(&app, "/api/me", &bob2.access_token).await;
    assert_refresh_refused(&app, &bob1.refresh).await;
    assert_refresh_refused(&app, &bob2.refresh).await;
    assert!(user_sessions(&app, &ada.access_token, bob_id).await.is_empty());
    // Nobody else lost anything.
    assert_works(&app, "/api/admin/users", &ada.access_token).await;
    assert_works(&app, "/api/me", &carol.access_token).await;

    // Signing in again works, as a user.
    let again = app.login(BOB, GOOD_PASSWORD).await;
    assert_eq!(again.body.user.role, Role::User);
    assert_eq!(role_claim(&again.access_token), "user");
    assert_error(
        app.get_with_bearer("/api/admin/users", &again.access_token).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(user_row(&app, &ada.access_token, bob_id).await.user.role, Role::User);

    // Audited: who (ada) did what to whom (bob), from where.
    let events = audit(
        &app,
        &ada.access_token,
        &[("event", "admin.user_updated"), ("user_id", &bob_id.to_string())],
    )
    .await;
    assert_eq!(events.len(), 2, "promotion and demotion: {events:?}");
    let demotion = &events[0];
    assert_eq!(demotion.event, "admin.user_updated");
    assert_eq!(demotion.user_id, Some(bob_id));
    assert_eq!(demotion.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(demotion.user_agent.as_deref(), Some(TEST_USER_AGENT));
    let detail = demotion.detail.as_ref().expect("detail");
    assert_eq!(detail["role"], "user", "{detail}");
    assert_eq!(detail["sessions_revoked"], bob_sessions, "{detail}");
    assert_eq!(audit_actor(&app, demotion.id).await, Some(ada.body.user.id));
    assert_eq!(events[1].detail.as_ref().unwrap()["role"], "admin");
}

async fn disabling_locks_the_user_out_until_enabled(backend: Backend) {
    let app = spawn(backend).await;
    let ada = make_admin(&app, ADA, None).await;
    let carol = app.register(CAROL, GOOD_PASSWORD).await;
    let bob = app.register(BOB, GOOD_PASSWORD).await;
    let bob_id = bob.body.user.id;
    let wrong_password = failed_login(&app, BOB, WRONG_PASSWORD).await;

    let user = patch_user_ok(&app, &ada.access_token, bob_id, &json!({"disabled": true})).await;
    assert_eq!(user.id, bob_id);
    assert_eq!(user.role, Role::User, "disabling keeps the role");
    let row = user_row(&app, &ada.access_token, bob_id).await;
    assert!(row.disabled);
    assert!(!user_row(&app, &ada.access_token, carol.body.user.id).await.disabled);
    assert_refused_within_a_second(&app, "/api/me", &bob.access_token).await;
    assert_refresh_refused(&app, &bob.refresh).await;
    assert!(user_sessions(&app, &ada.access_token, bob_id).await.is_empty());
    assert_works(&app, "/api/me", &carol.access_token).await;

    // The right password answers exactly like a wrong one.
    assert_eq!(failed_login(&app, BOB, GOOD_PASSWORD).await, wrong_password);
    assert_eq!(
        failed_login(&app, "nobody@example.com", GOOD_PASSWORD).await,
        wrong_password
    );
    // Disabling again changes nothing and is no error.
    patch_user_ok(&app, &ada.access_token, bob_id, &json!({"disabled": true})).await;
    assert!(user_row(&app, &ada.access_token, bob_id).await.disabled);

    let user = patch_user_ok(&app, &ada.access_token, bob_id, &json!({"disabled": false})).await;
    assert_eq!(user.id, bob_id);
    assert!(!user_row(&app, &ada.access_token, bob_id).await.disabled);
    let again = app.login(BOB, GOOD_PASSWORD).await;
    assert_works(&app, "/api/me", &again.access_token).await;
    // Enabling does not bring the old session back.
    assert_refresh_refused(&app, &bob.refresh).await;

    // Disabling an admin (there being another) kills their admin token too.
    let carol_admin = {
        patch_user_ok(&app, &ada.access_token, carol.body.user.id, &json!({"role": "admin"})).await;
        app.login(CAROL, GOOD_PASSWORD).await
    };
    assert_works(&app, "/api/admin/users", &carol_admin.access_token).await;
    patch_user_ok(&app, &ada.access_token, carol.body.user.id, &json!({"disabled": true})).await;
    assert_refused_within_a_second(&app, "/api/admin/users", &carol_admin.access_token).await;
    assert_eq!(failed_login(&app, CAROL, GOOD_PASSWORD).await, wrong_password);
}

async fn the_last_enabled_admin_cannot_be_demoted_or_disabled(backend: Backend) {
    let app = spawn(backend).await;
    let ada = make_admin(&app, ADA, None).await;
    let ada_id = ada.body.user.id;
    let bob_id = app.register(BOB, GOOD_PASSWORD).await.body.user.id;

    // Alone, ada can neither demote nor disable herself.
    for body in [
        json!({"role": "user"}),
        json!({"disabled": true}),
        json!({"role": "user", "disabled": true}),
        json!({"role": "admin", "disabled": true}),
    ] {
        let response = patch_user(&app, &ada.access_token, ada_id, &body).await;
        assert_error(response, 409, "conflict").await;
    }
    // ... and a refused change changes nothing and revokes nothing.
    assert_eq!(role_in_db(&app, ada_id).await, ("admin".to_string(), false));
    assert_works(&app, "/api/admin/users", &ada.access_token).await;
    // Changes that keep her an enabled admin are fine; so is demoting a user.
    let user = patch_user_ok(&app, &ada.access_token, ada_id, &json!({"role": "admin"})).await;
    assert_eq!(user.role, Role::Admin);
    patch_user_ok(&app, &ada.access_token, ada_id, &json!({"disabled": false})).await;
    patch_user_ok(&app, &ada.access_token, bob_id, &json!({"role": "user"})).await;
    assert_works(&app, "/api/admin/users", &ada.access_token).await;

    // A disabled admin does not count.
    patch_user_ok(&app, &ada.access_token, bob_id, &json!({"role": "admin"})).await;
    let bob = app.login(BOB, GOOD_PASSWORD).await;
    patch_user_ok(&app, &ada.access_token, bob_id, &json!({"disabled": true})).await;
    assert_error(
        patch_user(&app, &ada.access_token, ada_id, &json!({"role": "user"})).await,
        409,
        "conflict",
    )
    .await;
    assert_refused_within_a_second(&app, "/api/admin/users", &bob.access_token).await;

    // With two enabled admins, one can demote the other ...
    patch_user_ok(&app, &ada.access_token, bob_id, &json!({"disabled": false})).await;
    let bob = app.login(BOB, GOOD_PASSWORD).await;
    let user = patch_user_ok(&app, &bob.access_token, ada_id, &json!({"role": "user"})).await;
    assert_eq!(user.role, Role::User);
    assert_refused_within_a_second(&app, "/api/admin/users", &ada.access_token).await;
    // ... and then the one left is the last.
    for body in [json!({"role": "user"}), json!({"disabled": true})] {
        assert_error(
            patch_user(&app, &bob.access_token, bob_id, &body).await,
            409,
            "conflict",
        )
        .await;
    }
    assert_works(&app, "/api/admin/users", &bob.access_token).await;

    // With two, an admin may also step down themself.
    patch_user_ok(&app, &bob.access_token, ada_id, &json!({"role": "admin"})).await;
    let user = patch_user_ok(&app, &bob.access_token, bob_id, &json!({"role": "user"})).await;
    assert_eq!(user.role, Role::User);
    assert_refused_within_a_second(&app, "/api/admin/users", &bob.access_token).await;
    assert_eq!(enabled_admins_in_db(&app).await, 1);
}

async fn racing_demotions_never_leave_no_admin(backend: Backend) {
    let app = spawn(backend).await;
    let ada_id = app.register(ADA, GOOD_PASSWORD).await.body.user.id;
    let bob_id = app.register(BOB, GOOD_PASSWORD).await.body.user.id;
    for round in 0..3 {
        promote_in_db(&app, ADA).await;
        promote_in_db(&app, BOB).await;
        sqlx::query("UPDATE users SET disabled_at = NULL")
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        let ada = app.login(ADA, GOOD_PASSWORD).await;
        let bob = app.login(BOB, GOOD_PASSWORD).await;
        // Each demotes (or, in odd rounds, disables) the other at once.
        let body = if round % 2 == 0 {
            json!({"role": "user"})
        } else {
            json!({"disabled": true})
        };
        let (a, b) = tokio::join!(
            patch_user(&app, &ada.access_token, bob_id, &body),
            patch_user(&app, &bob.access_token, ada_id, &body),
        );
        let statuses = [a.status().as_u16(), b.status().as_u16()];
        for status in statuses {
            assert!(
                [200, 409, 401].contains(&status),
                "round {round}: unexpected {statuses:?}"
            );
        }
        assert!(statuses != [200, 200], "round {round}: both changes went through");
        assert_eq!(enabled_admins_in_db(&app).await, 1, "round {round}: {statuses:?}");
    }
}

async fn patch_refuses_unknown_ids_and_bad_bodies(backend: Backend) {
    let app = spawn(backend).await;
    let ada = make_admin(&app, ADA, None).await;
    let bob = app.register(BOB, GOOD_PASSWORD).await;
    let bob_id = bob.body.user.id;
    let token = &ada.access_token;

    for id in [
        Uuid::now_v7().to_string(),
        Uuid::nil().to_string(),
        "not-a-uuid".into(),
        "1%20OR%201=1".into(),
        "%27".into(),
    ] {
        let response = patch_user(&app, token, &id, &json!({"role": "admin"})).await;
        assert_error(response, 404, "not_found").await;
        let response = app
            .get_with_bearer(&format!("/api/admin/users/{id}/sessions"), token)
            .await;
        assert_error(response, 404, "not_found").await;
    }

    let path = format!("/api/admin/users/{bob_id}");
    // Wrong types and malformed JSON: 400, and nothing applied (not even
    // the well-typed half of a body).
    let bad_bodies: &[&[u8]] = &[
        br#"{"role": 1}"#,
        br#"{"role": ["admin"]}"#,
        br#"{"role": {"name": "admin"}}"#,
        br#"{"role": true}"#,
        br#"{"disabled": "true"}"#,
        br#"{"disabled": 1}"#,
        br#"{"role": "admin", "disabled": "no"}"#,
        br#"{"disabled": true, "role": 0}"#,
        br#"{"role": "#,
        b"not json",
        b"\"admin\"",
        b"",
    ];
    for &body in bad_bodies {
        let response = call_raw(&app, Method::PATCH, &path, token, body).await;
        let what = String::from_utf8_lossy(body).into_owned();
        assert_eq!(response.status(), 400, "body {what}");
        assert_error(response, 400, "bad_request").await;
    }
    // Roles other than the two: 400 or 422.
    for role in [
        "superadmin",
        "ADMIN",
        "Admin",
        "",
        " admin",
        "admin ",
        "root",
        "admin\u{0}",
    ] {
        let response = patch_user(&app, token, bob_id, &json!({"role": role})).await;
        let status = response.status().as_u16();
        assert!(status == 400 || status == 422, "role {role:?}: {status}");
        let code = if status == 400 {
            "bad_request"
        } else {
            "validation_failed"
        };
        assert_error(response, status, code).await;
    }
    // JSON in another media type: 415.
    let response = bare_client()
        .patch(app.url(&path))
        .bearer_auth(token)
        .header("content-type", "text/plain")
        .body(r#"{"role": "admin"}"#)
        .send()
        .await
        .unwrap();
    assert_error(response, 415, "unsupported_media_type").await;
    // Fields the route does not take are ignored.
    let user = patch_user_ok(
        &app,
        token,
        bob_id,
        &json!({"email": "evil@example.com", "id": Uuid::now_v7(), "password_hash": "x", "display_name": "Evil"}),
    )
    .await;
    assert_eq!(user, bob.body.user);

    // Nothing was applied: bob is an enabled user whose session lives.
    assert_eq!(role_in_db(&app, bob_id).await, ("user".to_string(), false));
    assert_works(&app, "/api/me", &bob.access_token).await;
    let me: User = ok_json(app.get_with_bearer("/api/me", &bob.access_token).await).await;
    assert_eq!(me, bob.body.user);

    // A JSON array is not an object, whatever serde could make of it
    // (positionally: role, then disabled).
    let response = call_raw(&app, Method::PATCH, &path, token, br#"["admin", true]"#).await;
    assert_error(response, 400, "bad_request").await;
    assert_eq!(role_in_db(&app, bob_id).await, ("user".to_string(), false));
}

// --- mass assignment -----------------------------------------------------

async fn privileges_cannot_be_chosen_through_the_user_routes(backend: Backend) {
    let app = spawn(backend).await;
    let ada = make_admin(&app, ADA, None).await;
    let chosen_id = Uuid::now_v7();
    let response = app
        .post_json(
            "/api/auth/register",
            &json!({
                "email": CAROL, "password": GOOD_PASSWORD,
                "role": "admin", "disabled": true, "id": chosen_id,
                "is_admin": true, "disabled_at": 1, "created_at": "2000-01-01T00:00:00Z",
            }),
        )
        .await;
    assert_eq!(response.status(), 201);
    let carol = SignedIn::from_response(response).await;
    let carol_id = carol.body.user.id;
    assert_ne!(carol_id, chosen_id);
    assert_eq!(carol.body.user.role, Role::User);
    assert_eq!(role_claim(&carol.access_token), "user");
    let row = user_row(&app, &ada.access_token, carol_id).await;
    assert_eq!((row.user.role, row.disabled), (Role::User, false));
    assert!(row.user.created_at > chrono::Utc::now() - chrono::Duration::hours(1));

    // PATCH /api/me takes a display name and nothing else.
    for body in [
        json!({"role": "admin"}),
        json!({"disabled": true}),
        json!({"role": "admin", "disabled": true, "id": chosen_id, "email": "evil@example.com", "display_name": "Carol"}),
    ] {
        let response = call(&app, Method::PATCH, "/api/me", Some(&carol.access_token), Some(&body)).await;
        let status = response.status().as_u16();
        assert!(status == 200 || status == 422, "{body}: {status}");
        if status == 200 {
            let user: User = response.json().await.unwrap();
            assert_eq!(user.role, Role::User, "{body}");
            assert_eq!(user.id, carol_id);
            assert_eq!(user.email, CAROL);
        }
    }
    assert_eq!(role_in_db(&app, carol_id).await, ("user".to_string(), false));
    let row = user_row(&app, &ada.access_token, carol_id).await;
    assert_eq!((row.user.role, row.disabled), (Role::User, false));
    assert_eq!((row.user.id, row.user.email.as_str()), (carol_id, CAROL));
    // Still signed in, can still sign in, and still no admin.
    assert_works(&app, "/api/me", &carol.access_token).await;
    let again = app.login(CAROL, GOOD_PASSWORD).await;
    assert_eq!(role_claim(&again.access_token), "user");
    assert_error(
        app.get_with_bearer("/api/admin/users", &again.access_token).await,
        403,
        "forbidden",
    )
    .await;

    // Nor can an admin drop or disable themself through /api/me.
    let body = json!({"role": "user", "disabled": true});
    let response = call(&app, Method::PATCH, "/api/me", Some(&ada.access_token), Some(&body)).await;
    assert!(response.status() == 200 || response.status() == 422);
    assert_eq!(role_in_db(&app, ada.body.user.id).await, ("admin".to_string(), false));
    assert_works(&app, "/api/admin/users", &ada.access_token).await;
}

// --- sessions ------------------------------------------------------------

async fn admins_list_and_revoke_any_users_sessions(backend: Backend) {
    let app = spawn(backend).await;
    let ada = make_admin(&app, ADA, None).await;
    let bob1 = app.register(BOB, GOOD_PASSWORD).await;
    let bob_id = bob1.body.user.id;
    let bob2 = app.login(BOB, GOOD_PASSWORD).await;
    let ended = app.login(BOB, GOOD_PASSWORD).await;
    let response = bare_client()
        .post(app.url("/api/auth/logout"))
        .bearer_auth(&ended.access_token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let (s1, s2, s_ended) = (
        sid_of(&bob1.access_token),
        sid_of(&bob2.access_token),
        sid_of(&ended.access_token),
    );

    // Bob's live sessions, none of them the admin's own.
    let sessions = user_sessions(&app, &ada.access_token, bob_id).await;
    let ids: BTreeSet<Uuid> = sessions.iter().map(|s| s.id).collect();
    assert_eq!(ids, BTreeSet::from([s1, s2]), "{sessions:?}");
    for s in &sessions {
        assert!(!s.current, "bob's session is not the admin's: {s:?}");
        assert_eq!(s.ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(s.user_agent.as_deref(), Some(TEST_USER_AGENT));
        assert!(s.expires_at > chrono::Utc::now() && s.created_at <= s.last_seen_at);
    }
    // The admin's own list marks the session asking.
    let own = user_sessions(&app, &ada.access_token, ada.body.user.id).await;
    assert_eq!(own.len(), 2, "registration and sign-in: {own:?}");
    let current: Vec<Uuid> = own.iter().filter(|s| s.current).map(|s| s.id).collect();
    assert_eq!(current, [sid_of(&ada.access_token)]);

    // Revoking one of bob's sessions ends it, and only it.
    let response = revoke_session(&app, &ada.access_token, s1).await;
    assert_eq!(response.status(), 204);
    assert_refused_within_a_second(&app, "/api/me", &bob1.access_token).await;
    assert_refresh_refused(&app, &bob1.refresh).await;
    assert_works(&app, "/api/me", &bob2.access_token).await;
    let ids: Vec<Uuid> = user_sessions(&app, &ada.access_token, bob_id)
        .await
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, [s2]);
    assert_works(&app, "/api/admin/users", &ada.access_token).await;

    // Gone, ended, unknown or not an id: 404.
    for id in [
        s1.to_string(),
        s_ended.to_string(),
        Uuid::now_v7().to_string(),
        "not-a-uuid".into(),
        "1%20OR%201=1".into(),
    ] {
        assert_error(revoke_session(&app, &ada.access_token, &id).await, 404, "not_found").await;
    }
    assert_works(&app, "/api/me", &bob2.access_token).await;

    // Audited, once, naming the session, its owner and the admin.
    let events = audit(&app, &ada.access_token, &[("event", "admin.session_revoked")]).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].session_id, Some(s1));
    assert_eq!(events[0].user_id, Some(bob_id));
    assert_eq!(events[0].ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(events[0].user_agent.as_deref(), Some(TEST_USER_AGENT));
    assert_eq!(audit_actor(&app, events[0].id).await, Some(ada.body.user.id));
}

// --- replicas ------------------------------------------------------------

/// Replicas behind one public origin, on one database.
const REPLICA_FLAGS: [&str; 2] = [
    "--public-origin=https://latchkey.example",
    "--rate-address-per-min=100000",
];

async fn admin_revocations_reach_every_replica_within_a_second(backend: Backend) {
    let a = TestApp::spawn_with(backend, &REPLICA_FLAGS).await;
    let b = a.spawn_replica(&REPLICA_FLAGS).await;
    let ada = make_admin(&a, ADA, None).await;
    let bob_id = a.register(BOB, GOOD_PASSWORD).await.body.user.id;
    patch_user_ok(&a, &ada.access_token, bob_id, &json!({"role": "admin"})).await;
    let bob = b.login(BOB, GOOD_PASSWORD).await;
    let carol = b.register(CAROL, GOOD_PASSWORD).await;
    let dave = b.register("dave@example.com", GOOD_PASSWORD).await;
    assert_works(&b, "/api/admin/users", &bob.access_token).await;

    // Demoted on one replica: the admin token dies on the other too.
    patch_user_ok(&a, &ada.access_token, bob_id, &json!({"role": "user"})).await;
    assert_refused_within_a_second(&b, "/api/admin/users", &bob.access_token).await;
    // Disabled through the other replica: likewise the other way round.
    patch_user_ok(&b, &ada.access_token, carol.body.user.id, &json!({"disabled": true})).await;
    assert_refused_within_a_second(&a, "/api/me", &carol.access_token).await;
    // One session revoked by an admin: gone everywhere.
    let response = revoke_session(&a, &ada.access_token, sid_of(&dave.access_token)).await;
    assert_eq!(response.status(), 204);
    assert_refused_within_a_second(&b, "/api/me", &dave.access_token).await;
    assert_works(&b, "/api/admin/users", &ada.access_token).await;
}

// --- the audit log -------------------------------------------------------

async fn audit_log_is_newest_first_with_cursor_pages_and_filters(backend: Backend) {
    let app = spawn(backend).await;
    let ada = make_admin(&app, ADA, None).await;
    let token = &ada.access_token;
    let bob_id = app.register(BOB, GOOD_PASSWORD).await.body.user.id;
    failed_login(&app, BOB, WRONG_PASSWORD).await;
    app.login(BOB, GOOD_PASSWORD).await;
    app.register(CAROL, GOOD_PASSWORD).await;
    // The admin's client sends a huge User-Agent: the log keeps a prefix.
    let huge_agent = "Mozilla/5.0 ".repeat(1000);
    let response = bare_client()
        .patch(app.url(&format!("/api/admin/users/{bob_id}")))
        .bearer_auth(token)
        .header("user-agent", &huge_agent)
        .json(&json!({"disabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let all = audit(&app, token, &[("limit", "200")]).await;
    // ada: registered (+ verification mailed), signed in; bob: registered
    // (+ mailed), failed, signed in; carol: registered (+ mailed); ada
    // updated bob.
    assert_eq!(all.len(), 10, "{all:#?}");
    assert_eq!(all[0].event, "admin.user_updated", "the newest comes first");
    let agent = all[0].user_agent.as_deref().expect("the admin's user agent");
    assert!(
        !agent.is_empty() && agent.len() <= 1024 && huge_agent.starts_with(agent),
        "user agents are truncated: {} bytes",
        agent.len()
    );
    assert_eq!(all[0].ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(all.last().unwrap().event, "user.registered");
    for pair in all.windows(2) {
        assert!(pair[0].id > pair[1].id, "ids descend: {pair:?}");
        assert!(pair[0].at >= pair[1].at, "times descend: {pair:?}");
    }
    assert_eq!(audit(&app, token, &[]).await, all, "the default limit covers ten");

    // limit and the `before` cursor: pages of three walk the whole log.
    assert_eq!(audit(&app, token, &[("limit", "2")]).await, all[..2]);
    let first = audit(&app, token, &[("limit", "3")]).await;
    assert_eq!(first, all[..3]);
    let mut walked = first.clone();
    loop {
        let cursor = walked.last().unwrap().id.to_string();
        let page = audit(&app, token, &[("limit", "3"), ("before", &cursor)]).await;
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        let previous = walked.last().unwrap();
        assert!(page.iter().all(|e| e.id < previous.id && e.at <= previous.at));
        walked.extend(page);
    }
    assert_eq!(walked, all, "the pages are the log, in order, once");

    // Filters: an exact event name, one user, both.
    let failed = audit(&app, token, &[("event", "login.failed")]).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].user_id, Some(bob_id));
    let registered = audit(&app, token, &[("event", "user.registered")]).await;
    assert_eq!(registered.len(), 3);
    assert!(registered.iter().all(|e| e.event == "user.registered"));
    // LIKE metacharacters and capitals are refused below (not event names);
    // `_` is a name character, and must not act as a wildcard.
    for pattern in ["login._ailed", "login_failed", "nothing.happened"] {
        assert!(
            audit(&app, token, &[("event", pattern)]).await.is_empty(),
            "event={pattern:?} is a name, not a pattern"
        );
    }
    let bobs = audit(&app, token, &[("user_id", &bob_id.to_string())]).await;
    let names: Vec<&str> = bobs.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        names,
        [
            "admin.user_updated",
            "login.succeeded",
            "login.failed",
            "email.verification_sent",
            "user.registered"
        ]
    );
    assert!(bobs.iter().all(|e| e.user_id == Some(bob_id)));
    let both = audit(
        &app,
        token,
        &[("event", "user.registered"), ("user_id", &bob_id.to_string())],
    )
    .await;
    assert_eq!(both.len(), 1);
    assert_eq!(
        (both[0].event.as_str(), both[0].user_id),
        ("user.registered", Some(bob_id))
    );
    assert!(
        audit(&app, token, &[("user_id", &Uuid::now_v7().to_string())])
            .await
            .is_empty()
    );
    // Filters and the cursor together.
    let bobs_page = audit(
        &app,
        token,
        &[
            ("user_id", &bob_id.to_string()),
            ("limit", "2"),
            ("before", &bobs[1].id.to_string()),
        ],
    )
    .await;
    assert_eq!(bobs_page, bobs[2..4]);

    // Parameters out of range or of the wrong kind: 422.
    for (name, value) in [
        ("limit", "0"),
        ("limit", "-1"),
        ("limit", "201"),
        ("limit", "x"),
        ("limit", "1.5"),
        ("before", "x"),
        ("before", "1 OR 1=1"),
        ("before", ""),
        ("user_id", "x"),
        // Another spelling of an id is not one the API writes.
        ("user_id", &bob_id.simple().to_string()),
        // Event names are a-z, 0-9, '.' and '_' (a NUL was a 500 on PostgreSQL).
        ("event", "login\0failed"),
        ("event", "Login.Failed"),
        ("event", "%"),
        ("event", "login%"),
        ("event", &"a".repeat(65)),
    ] {
        let response = audit_request(&app, token, &[(name, value)]).await;
        assert_eq!(response.status(), 422, "{name}={value}");
        assert_validation_failed(response).await;
    }
    assert_eq!(audit(&app, token, &[("limit", "1")]).await, all[..1]);
}

async fn nothing_writes_the_audit_log_or_takes_other_methods(backend: Backend) {
    let app = spawn(backend).await;
    let ada = make_admin(&app, ADA, None).await;
    let bob = app.register(BOB, GOOD_PASSWORD).await;
    let bob_id = bob.body.user.id;
    let bob_sid = sid_of(&bob.access_token);
    let token = &ada.access_token;
    let before = audit(&app, token, &[("limit", "200")]).await;
    let some_event = before[0].id;

    let forged = json!({
        "id": Uuid::now_v7(), "at": "2030-01-01T00:00:00Z", "event": "forged.event",
        "user_id": bob_id, "session_id": null, "ip": "10.0.0.1", "user_agent": "x", "detail": null,
    });
    let writes: Vec<(Method, String)> = vec![
        (Method::POST, "/api/admin/audit".into()),
        (Method::PUT, "/api/admin/audit".into()),
        (Method::PATCH, "/api/admin/audit".into()),
        (Method::DELETE, "/api/admin/audit".into()),
        (Method::PUT, format!("/api/admin/audit/{some_event}")),
        (Method::PATCH, format!("/api/admin/audit/{some_event}")),
        (Method::DELETE, format!("/api/admin/audit/{some_event}")),
        // No user is created, replaced or deleted here either.
        (Method::POST, "/api/admin/users".into()),
        (Method::PUT, "/api/admin/users".into()),
        (Method::DELETE, "/api/admin/users".into()),
        (Method::PUT, format!("/api/admin/users/{bob_id}")),
        (Method::POST, format!("/api/admin/users/{bob_id}")),
        (Method::DELETE, format!("/api/admin/users/{bob_id}")),
        (Method::POST, format!("/api/admin/users/{bob_id}/sessions")),
        (Method::DELETE, format!("/api/admin/users/{bob_id}/sessions")),
        (Method::POST, format!("/api/admin/sessions/{bob_sid}")),
        (Method::PATCH, format!("/api/admin/sessions/{bob_sid}")),
        (Method::PUT, format!("/api/admin/sessions/{bob_sid}")),
    ];
    for (method, path) in &writes {
        let what = format!("{method} {path}");
        for caller in [Some(token.as_str()), Some(bob.access_token.as_str())] {
            let response = call(&app, method.clone(), path, caller, Some(&forged)).await;
            assert_no_such_method(response, &what).await;
        }
    }

    let after = audit(&app, token, &[("limit", "200")]).await;
    assert_eq!(after, before, "the audit log is unchanged");
    assert_eq!(role_in_db(&app, bob_id).await, ("user".to_string(), false));
    assert_works(&app, "/api/me", &bob.access_token).await;
}

both_backends!(
    admin_routes_answer_admins_only,
    users_search_matches_literally_and_case_insensitively,
    users_search_folds_case_beyond_ascii,
    users_list_pages_are_stable_disjoint_and_validated,
    promotion_takes_effect_on_the_next_token,
    demotion_revokes_every_session_at_once,
    disabling_locks_the_user_out_until_enabled,
    the_last_enabled_admin_cannot_be_demoted_or_disabled,
    racing_demotions_never_leave_no_admin,
    patch_refuses_unknown_ids_and_bad_bodies,
    privileges_cannot_be_chosen_through_the_user_routes,
    admins_list_and_revoke_any_users_sessions,
    admin_revocations_reach_every_replica_within_a_second,
    audit_log_is_newest_first_with_cursor_pages_and_filters,
    nothing_writes_the_audit_log_or_takes_other_methods,
);
