//! Black-box tests of the JWT-mode auth API of API.md: registration and
//! login, the Bearer boundary (including forged tokens), refresh-token
//! rotation, the grace window and reuse detection, logout and logout-all,
//! `/api/me*`, the JWKS, cross-site refusals, rate limits, session limits and
//! timeouts, and the audit trail. Each test runs on SQLite and PostgreSQL.
//!
//! The refresh cookie is `Secure`, which reqwest never sends over plain HTTP,
//! so tests read `Set-Cookie` themselves and send `Cookie:` by hand.

use std::time::{Duration, Instant};

use crate::common::{
    Backend, GOOD_PASSWORD, REFRESH_COOKIE, SignedIn, TEST_USER_AGENT, TestApp, assert_error, bare_client, set_cookie,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use latchkey::core::secrets::hash_token;
use latchkey::core::tokens::generate_ed25519_pem;
use serde_json::{Value, json};
use uuid::Uuid;

const EMAIL: &str = "ada@example.com";
const NEW_PASSWORD: &str = "amber-kettle-sings-over-granite";

// --- helpers -------------------------------------------------------------

async fn spawn(backend: Backend, flags: &[&str]) -> TestApp {
    TestApp::spawn_unlimited(backend, flags).await
}

/// A JSON part of a JWT (0: header, 1: claims), decoded without checks.
fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("JSON"))
}

/// The session id (`sid`) an access token names.
fn sid_of(token: &str) -> Uuid {
    jwt_part(token, 1)["sid"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("sid claim")
}

/// Signs header and claims with an Ed25519 PKCS#8 PEM key, by hand.
fn forge(header: &Value, claims: &Value, pem: &str) -> String {
    let key = ed25519_dalek::SigningKey::from_pkcs8_pem(pem).expect("Ed25519 PEM");
    let message = format!("{}.{}", b64_json(header), b64_json(claims));
    let signature = key.sign(message.as_bytes()).to_bytes();
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn me(app: &TestApp, token: &str) -> reqwest::Response {
    app.get_with_bearer("/api/me", token).await
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

async fn assert_token_works(app: &TestApp, token: &str) {
    let response = me(app, token).await;
    assert_eq!(
        response.status(),
        200,
        "token refused: {}",
        response.text().await.unwrap_or_default()
    );
}

/// Revocation must reach the Bearer check within a second (API.md).
async fn assert_token_dies_within_a_second(app: &TestApp, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let response = me(app, token).await;
        if response.status() == 401 {
            return assert_invalid_token(response).await;
        }
        assert_eq!(
            response.status(),
            200,
            "unexpected answer for a revoked session's token"
        );
        assert!(
            Instant::now() < deadline,
            "a revoked session's access token still works after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The cookie in a response, asserted to be a cleared refresh cookie.
fn assert_cookie_cleared(response: &reqwest::Response) {
    let cookie = set_cookie(response, REFRESH_COOKIE).expect("the refresh cookie is cleared");
    assert_eq!(cookie.value, "", "{cookie:?}");
    assert_eq!(cookie.max_age(), Some(0), "{cookie:?}");
    assert_eq!(
        cookie.attr("path"),
        Some("/api/auth"),
        "a removal must name the cookie's path: {cookie:?}"
    );
}

/// 401 `invalid_refresh_token`, and the cookie is cleared.
async fn assert_refresh_refused(response: reqwest::Response) {
    assert_cookie_cleared(&response);
    assert_error(response, 401, "invalid_refresh_token").await;
}

/// Refreshes and returns the rotated session; panics unless 200.
async fn refresh_ok(app: &TestApp, refresh: &str) -> SignedIn {
    let response = app.refresh_with(refresh).await;
    assert_eq!(response.status(), 200, "refresh refused");
    SignedIn::from_response(response).await
}

fn no_store(response: &reqwest::Response) -> bool {
    response.headers().get("cache-control").is_some_and(|v| v == "no-store")
}

/// A POST with a JSON body and, optionally, the refresh cookie.
fn post(app: &TestApp, path: &str, refresh: Option<&str>) -> reqwest::RequestBuilder {
    let request = bare_client().post(app.url(path));
    match refresh {
        Some(value) => request.header("cookie", format!("{REFRESH_COOKIE}={value}")),
        None => request,
    }
}

async fn scalar(app: &TestApp, sql: &'static str, bind: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(bind.to_string())
        .fetch_one(&app.state.db.pool)
        .await
        .expect(sql)
}

async fn live_sessions_in_db(app: &TestApp, user_id: Uuid) -> i64 {
    scalar(
        app,
        "SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL",
        &user_id.to_string(),
    )
    .await
}

async fn user_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&app.state.db.pool)
        .await
        .expect("count users")
}

/// Audit event names about a user, oldest first.
async fn audit_names(app: &TestApp, user_id: Uuid) -> Vec<String> {
    let mut events = app.state.db.audit_events_for_user(user_id).await.expect("audit events");
    events.reverse();
    events.into_iter().map(|e| e.event).collect()
}

/// The private key the server signs with, read from its database: lets a
/// test mint tokens that are validly signed but wrong in one other way.
async fn server_signing_key(app: &TestApp) -> (String, String) {
    use secrecy::ExposeSecret as _;
    let keys = app.state.db.usable_signing_keys(0).await.expect("signing keys");
    let key = keys
        .into_iter()
        .find(|k| k.retired_at.is_none())
        .expect("a current signing key");
    let opened = app
        .state
        .vault
        .open(&key.kid, &key.private_key_pem)
        .expect("sealed under the server's key");
    let pem = opened.pem().expose_secret().to_string();
    (key.kid, pem)
}

// --- registration --------------------------------------------------------

async fn register_returns_tokens_and_a_locked_down_refresh_cookie(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let response = app
        .post_json(
            "/api/auth/register",
            &json!({"email": " Ada@Example.com ", "password": GOOD_PASSWORD, "display_name": "Ada"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert!(no_store(&response), "token responses carry Cache-Control: no-store");
    let cookie = set_cookie(&response, REFRESH_COOKIE).expect("refresh cookie");
    let body: Value = response.json().await.expect("JSON");

    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    let user = &body["user"];
    assert_eq!(user["email"], "Ada@Example.com", "trimmed, case kept");
    assert_eq!(user["display_name"], "Ada");
    assert_eq!(user["role"], "user");
    let user_id: Uuid = user["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("user id is a UUID");
    assert!(
        user["created_at"]
            .as_str()
            .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok())
    );
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["access_token", "expires_in", "token_type", "user"]);

    // The refresh cookie: opaque, ≥ 256 bits, and out of reach of scripts
    // and other sites.
    assert!(cookie.has("httponly") && cookie.has("secure"), "{cookie:?}");
    assert_eq!(
        cookie.attr("samesite").map(str::to_ascii_lowercase).as_deref(),
        Some("strict")
    );
    assert_eq!(cookie.attr("path"), Some("/api/auth"));
    let max_age = cookie.max_age().expect("Max-Age");
    assert!(
        (7 * 24 * 3600 - 60..=7 * 24 * 3600).contains(&max_age),
        "Max-Age {max_age}: the idle lifetime"
    );
    assert!(cookie.attr("domain").is_none(), "a host-only cookie");
    assert!(
        URL_SAFE_NO_PAD.decode(&cookie.value).is_ok_and(|raw| raw.len() >= 32),
        "{}",
        cookie.value
    );

    // The access token: EdDSA, typ at+jwt, a kid from the JWKS, the
    // registered claims and no personal data.
    let token = body["access_token"].as_str().expect("access token");
    let header = jwt_part(token, 0);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "at+jwt");
    let jwks: Value = app.get("/.well-known/jwks.json").await.json().await.expect("JWKS");
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == header["kid"]),
        "kid not in the JWKS"
    );
    let claims = jwt_part(token, 1);
    assert_eq!(claims["sub"], user_id.to_string());
    assert_eq!(claims["role"], "user");
    assert_eq!(claims["iss"], app.base);
    assert!(claims["aud"].is_string() && claims["jti"].is_string() && claims["sid"].is_string());
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 300);
    let allowed = ["iss", "aud", "sub", "sid", "role", "iat", "nbf", "exp", "jti"];
    let names: Vec<&str> = claims.as_object().unwrap().keys().map(String::as_str).collect();
    assert!(
        names.iter().all(|n| allowed.contains(n)),
        "unexpected claims (personal data?): {names:?}"
    );
    assert!(
        !claims.to_string().to_lowercase().contains("example.com"),
        "no email in the token: {claims}"
    );
    assert_token_works(&app, token).await;

    // Stored only as a hash.
    let sid = sid_of(token).to_string();
    let stored: String = sqlx::query_scalar("SELECT secret_hash FROM sessions WHERE id = $1")
        .bind(&sid)
        .fetch_one(&app.state.db.pool)
        .await
        .expect("session row");
    assert_eq!(stored, hash_token(&cookie.value));
    assert_ne!(stored, cookie.value);

    // The password: argon2id with at least OWASP's minimum parameters.
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_one(&app.state.db.pool)
        .await
        .expect("user row");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let params: std::collections::HashMap<&str, u32> = hash
        .split('$')
        .nth(3)
        .expect("argon2 parameters")
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k, v.parse().expect("a number")))
        .collect();
    assert!(params["m"] >= 19_456 && params["t"] >= 2 && params["p"] >= 1, "{hash}");
}

async fn access_token_lifetime_follows_the_configuration(backend: Backend) {
    let app = spawn(backend, &["--access-ttl-secs=60"]).await;
    let signed = app.register(EMAIL, GOOD_PASSWORD).await;
    assert_eq!(signed.body.expires_in, 60);
    let claims = jwt_part(&signed.access_token, 1);
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 60);
    assert_eq!(refresh_ok(&app, &signed.refresh).await.body.expires_in, 60);
}

async fn register_refuses_a_taken_email_whatever_its_case(backend: Backend) {
    let app = spawn(backend, &[]).await;
    app.register("Ada@Example.com", GOOD_PASSWORD).await;
    for taken in ["ADA@EXAMPLE.COM", "  ada@example.com "] {
        let response = app
            .post_json("/api/auth/register", &json!({"email": taken, "password": NEW_PASSWORD}))
            .await;
        assert!(
            set_cookie(&response, REFRESH_COOKIE).is_none(),
            "no session for a refused registration"
        );
        assert_error(response, 409, "email_taken").await;
    }
    assert_eq!(user_count(&app).await, 1);
}

async fn register_explains_every_invalid_field(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let cases = [
        (json!({"email": EMAIL, "password": "short-pass"}), "password"),
        (json!({"email": EMAIL, "password": "passwordpassword"}), "password"),
        (json!({"email": EMAIL, "password": "1234567890123456789"}), "password"),
        (json!({"email": EMAIL, "password": "qwertyuiopasdfghjkl"}), "password"),
        (
            json!({"email": "grace.hopper@example.com", "password": "Grace.Hopper@Example.com"}),
            "password",
        ),
        (
            json!({"email": "grace.hopper.fan.club@example.com", "password": "Grace.Hopper.Fan.Club"}),
            "password",
        ),
        (json!({"email": "not-an-email", "password": GOOD_PASSWORD}), "email"),
        (json!({"email": "", "password": GOOD_PASSWORD}), "email"),
        (json!({"email": "a@localhost", "password": GOOD_PASSWORD}), "email"),
        (
            json!({"email": format!("{}@example.com", "a".repeat(250)), "password": GOOD_PASSWORD}),
            "email",
        ),
        (
            json!({"email": EMAIL, "password": GOOD_PASSWORD, "display_name": "x".repeat(65)}),
            "display_name",
        ),
        (
            json!({"email": EMAIL, "password": GOOD_PASSWORD, "display_name": "bell\u{7}"}),
            "display_name",
        ),
    ];
    for (body, field) in cases {
        let response = app.post_json("/api/auth/register", &body).await;
        let error = assert_error(response, 422, "validation_failed").await;
        let problems = error["fields"][field]
            .as_array()
            .unwrap_or_else(|| panic!("no {field} problem for {body}: {error}"));
        assert!(
            !problems.is_empty() && problems.iter().all(|p| p.as_str().is_some_and(|p| !p.is_empty())),
            "{error}"
        );
    }
    // Equal to the email says why.
    let response = app
        .post_json(
            "/api/auth/register",
            &json!({"email": "grace.hopper@example.com", "password": "grace.hopper@example.com"}),
        )
        .await;
    let error = assert_error(response, 422, "validation_failed").await;
    assert!(error["fields"]["password"].to_string().contains("email"), "{error}");
    // Every problem at once.
    let response = app
        .post_json(
            "/api/auth/register",
            &json!({"email": "nope", "password": "short", "display_name": "y".repeat(65)}),
        )
        .await;
    let error = assert_error(response, 422, "validation_failed").await;
    for field in ["email", "password", "display_name"] {
        assert!(error["fields"][field].is_array(), "{field} missing: {error}");
    }
    assert_eq!(user_count(&app).await, 0, "nothing was created");
}

async fn register_ignores_fields_that_would_choose_privileges(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let chosen_id = Uuid::now_v7();
    let body = json!({
        "email": EMAIL, "password": GOOD_PASSWORD,
        "role": "admin", "id": chosen_id, "disabled": false, "is_admin": true,
    });
    let response = app.post_json("/api/auth/register", &body).await;
    assert_eq!(response.status(), 201);
    let signed = SignedIn::from_response(response).await;
    assert_eq!(signed.body.user.role, latchkey_types::Role::User);
    assert_ne!(signed.body.user.id, chosen_id);
    assert_eq!(jwt_part(&signed.access_token, 1)["role"], "user");
    let role: String = sqlx::query_scalar("SELECT role FROM users")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(role, "user");
}

async fn bodies_that_are_not_json_objects_are_refused(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let signed = app.register(EMAIL, GOOD_PASSWORD).await;
    let login_json = json!({"email": EMAIL, "password": GOOD_PASSWORD}).to_string();
    // 415: another media type, even when the bytes are JSON (a cross-site
    // form or text/plain post must not reach these routes).
    for path in [
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/auth/logout",
    ] {
        for content_type in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            None,
        ] {
            let mut request = post(&app, path, Some(&signed.refresh)).body(login_json.clone());
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let response = request.send().await.unwrap();
            assert_error(response, 415, "unsupported_media_type").await;
        }
        let form = post(&app, path, Some(&signed.refresh))
            .form(&[("email", EMAIL), ("password", GOOD_PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_error(form, 415, "unsupported_media_type").await;
    }
    // None of that rotated or ended anything.
    assert_eq!(live_sessions_in_db(&app, signed.body.user.id).await, 1);
    refresh_ok(&app, &signed.refresh).await;

    // 400: malformed JSON, wrong types, invalid UTF-8.
    let bad_bodies: [&[u8]; 6] = [
        b"{\"email\":",
        b"not json",
        b"{\"email\": 1, \"password\": true}",
        b"{\"email\": [\"a\"], \"password\": {}}",
        b"",
        b"{\"email\": \"ada@example.com\", \"password\": \"\xff\xfe\"}",
    ];
    for path in ["/api/auth/register", "/api/auth/login"] {
        for body in bad_bodies {
            let response = post(&app, path, None)
                .header("content-type", "application/json")
                .body(body.to_vec())
                .send()
                .await
                .unwrap();
            assert_error(response, 400, "bad_request").await;
        }
    }
    assert_eq!(user_count(&app).await, 1);
}

async fn oversized_bodies_are_refused_before_parsing(backend: Backend) {
    let app = spawn(backend, &[]).await;
    // Just over 64 KiB, and a 1 MB password: both over the body limit.
    for password in ["x".repeat(64 * 1024), "p".repeat(1_000_000)] {
        for path in ["/api/auth/register", "/api/auth/login"] {
            let started = Instant::now();
            let response = app
                .post_json(path, &json!({"email": EMAIL, "password": password}))
                .await;
            assert_error(response, 413, "payload_too_large").await;
            assert!(started.elapsed() < Duration::from_secs(5));
        }
    }
    // Without a Content-Length (chunked), the limit holds while reading.
    let response = chunked_post(&app, "/api/auth/login", &vec![b' '; 70 * 1024]).await;
    assert!(
        response.starts_with("HTTP/1.1 413"),
        "chunked oversize body: {}",
        response.lines().next().unwrap_or("")
    );
    assert!(response.contains("payload_too_large"), "{response}");
    assert_eq!(user_count(&app).await, 0);
}

/// Sends a chunked POST over a raw connection and returns what came back.
async fn chunked_post(app: &TestApp, path: &str, body: &[u8]) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.addr
    )
    .into_bytes();
    for chunk in body.chunks(8 * 1024) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    // The server may answer and close before reading everything.
    let _ = stream.write_all(&request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

async fn passwords_are_bounded_in_bytes_and_counted_in_code_points(backend: Backend) {
    let app = spawn(backend, &[]).await;
    // Inside the body limit but far past the 1024-byte password limit: a
    // plain 422 / 401 at once, without hashing 60 KB.
    let huge = "correct horse ".repeat(4300);
    let started = Instant::now();
    let response = app
        .post_json("/api/auth/register", &json!({"email": EMAIL, "password": huge}))
        .await;
    let error = assert_error(response, 422, "validation_failed").await;
    assert!(error["fields"]["password"].to_string().contains("1024"), "{error}");
    let response = app
        .post_json("/api/auth/login", &json!({"email": EMAIL, "password": huge}))
        .await;
    assert_error(response, 401, "invalid_credentials").await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );

    // 1024 bytes is the limit, and the whole of it is verified.
    let longest = varied_ascii(1024);
    let response = app
        .post_json(
            "/api/auth/register",
            &json!({"email": EMAIL, "password": format!("{longest}x")}),
        )
        .await;
    assert_error(response, 422, "validation_failed").await;
    app.register(EMAIL, &longest).await;
    app.login(EMAIL, &longest).await;
    let response = app
        .post_json("/api/auth/login", &json!({"email": EMAIL, "password": &longest[..72]}))
        .await;
    assert_error(response, 401, "invalid_credentials").await;

    // Length counts code points, not bytes: 14 CJK characters (42 bytes) are
    // too short, 15 are enough.
    let cjk = "天地玄黄宇宙洪荒日月盈昃辰宿列";
    let fourteen: String = cjk.chars().take(14).collect();
    let response = app
        .post_json(
            "/api/auth/register",
            &json!({"email": "bob@example.com", "password": fourteen}),
        )
        .await;
    let error = assert_error(response, 422, "validation_failed").await;
    assert!(error["fields"]["password"].to_string().contains("15"), "{error}");
    app.register("bob@example.com", cjk).await;

    // NFKC: the same passphrase typed in full-width forms is the same password.
    let full_width: String = GOOD_PASSWORD
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() {
                char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap()
            } else {
                c
            }
        })
        .collect();
    assert_ne!(full_width, GOOD_PASSWORD);
    app.register("carol@example.com", &full_width).await;
    app.login("carol@example.com", GOOD_PASSWORD).await;
}

/// `len` bytes of printable ASCII without repeats a strength meter would
/// punish.
fn varied_ascii(len: usize) -> String {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from(b'!' + ((state >> 33) % 94) as u8)
        })
        .collect()
}

// --- login ---------------------------------------------------------------

async fn login_starts_a_new_session(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let first = app.register(EMAIL, GOOD_PASSWORD).await;
    let response = app
        .post_json(
            "/api/auth/login",
            &json!({"email": "  ADA@example.COM ", "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(no_store(&response));
    let cookie = set_cookie(&response, REFRESH_COOKIE).expect("refresh cookie");
    assert!(cookie.has("httponly") && cookie.has("secure") && cookie.attr("path") == Some("/api/auth"));
    let second = SignedIn::from_response(response).await;
    assert_eq!(second.body.token_type, "Bearer");
    assert_eq!(second.body.user, first.body.user);
    assert_ne!(second.refresh, first.refresh);
    assert_ne!(sid_of(&second.access_token), sid_of(&first.access_token));
    assert_token_works(&app, &first.access_token).await;
    assert_token_works(&app, &second.access_token).await;
    assert_eq!(live_sessions_in_db(&app, first.body.user.id).await, 2);
}

async fn failed_logins_are_indistinguishable(backend: Backend) {
    let app = spawn(backend, &[]).await;
    app.register(EMAIL, GOOD_PASSWORD).await;
    app.register("carol@example.com", GOOD_PASSWORD).await;
    sqlx::query("UPDATE users SET disabled_at = 1 WHERE email_key = 'carol@example.com'")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let extra = format!("{GOOD_PASSWORD}x");
    // (what, body, whether the account exists)
    let attempts = [
        (
            "wrong password",
            json!({"email": EMAIL, "password": NEW_PASSWORD}),
            true,
        ),
        (
            "unknown email",
            json!({"email": "nobody@example.com", "password": GOOD_PASSWORD}),
            false,
        ),
        (
            "disabled account",
            json!({"email": "carol@example.com", "password": GOOD_PASSWORD}),
            true,
        ),
        (
            "truncated password",
            json!({"email": EMAIL, "password": &GOOD_PASSWORD[..GOOD_PASSWORD.len() - 1]}),
            true,
        ),
        (
            "another unknown email",
            json!({"email": "nobody.else@example.com", "password": NEW_PASSWORD}),
            false,
        ),
        (
            "password plus a character",
            json!({"email": EMAIL, "password": extra}),
            true,
        ),
    ];
    let mut answers = Vec::new();
    let (mut known_fastest, mut unknown_fastest) = (Duration::MAX, Duration::MAX);
    for (what, body, exists) in &attempts {
        let started = Instant::now();
        let response = app.post_json("/api/auth/login", body).await;
        let took = started.elapsed();
        if *exists {
            known_fastest = known_fastest.min(took);
        } else {
            unknown_fastest = unknown_fastest.min(took);
        }
        assert!(set_cookie(&response, REFRESH_COOKIE).is_none(), "{what}");
        let status = response.status();
        let challenge = response.headers().get("www-authenticate").cloned();
        let error = assert_error(response, 401, "invalid_credentials").await;
        answers.push((status, challenge, error));
    }
    for (answer, (what, ..)) in answers.iter().zip(&attempts).skip(1) {
        assert_eq!(answer, &answers[0], "{what} must answer like a wrong password");
    }
    // No timing oracle: an unknown email costs the same argon2 work. (A
    // loose bound: skipping the hash would be about a hundred times faster.)
    assert!(
        unknown_fastest * 4 > known_fastest,
        "unknown emails answer in {unknown_fastest:?}, known ones in {known_fastest:?}"
    );
}

async fn hostile_emails_never_break_the_server(backend: Backend) {
    let app = spawn(backend, &[]).await;
    app.register(EMAIL, GOOD_PASSWORD).await;
    // Not addresses at all: 401 on login, 422 on register, never 500.
    let malformed = [
        "ada\u{0}@example.com",
        "\u{0}",
        "ada@example.com\u{0}",
        "' OR '1'='1",
        "ada@example.com' --",
        "' OR 1=1; DROP TABLE users; --@example.com",
        "ada@example.com\"; DELETE FROM sessions; --",
    ];
    for email in malformed {
        let body = json!({"email": email, "password": GOOD_PASSWORD});
        let response = app.post_json("/api/auth/login", &body).await;
        assert_error(response, 401, "invalid_credentials").await;
        let response = app.post_json("/api/auth/register", &body).await;
        let error = assert_error(response, 422, "validation_failed").await;
        assert!(error["fields"]["email"].is_array(), "{email:?}: {error}");
    }
    // Plausible addresses full of SQL metacharacters reach the database.
    for email in ["x'or'1'='1@example.com", "%@example.com", "ada'--@example.com"] {
        let body = json!({"email": email, "password": GOOD_PASSWORD});
        let response = app.post_json("/api/auth/login", &body).await;
        assert_error(response, 401, "invalid_credentials").await;
    }
    // NUL in the other fields too.
    let response = app
        .post_json(
            "/api/auth/register",
            &json!({"email": "nul@example.com", "password": GOOD_PASSWORD, "display_name": "a\u{0}b"}),
        )
        .await;
    assert_error(response, 422, "validation_failed").await;
    let response = app
        .post_json(
            "/api/auth/login",
            &json!({"email": EMAIL, "password": "vivid\u{0}otter"}),
        )
        .await;
    assert_error(response, 401, "invalid_credentials").await;
    // Quotes are legal in an address and round-trip.
    let quoted = "o'brien+tag@example.co.uk";
    app.register(quoted, GOOD_PASSWORD).await;
    let signed = app.login(quoted, GOOD_PASSWORD).await;
    assert_eq!(signed.body.user.email, quoted);
    // The tables survived.
    assert_eq!(user_count(&app).await, 2);
    assert_eq!(live_sessions_in_db(&app, signed.body.user.id).await, 2);
}

// --- the Bearer boundary -------------------------------------------------

async fn me_requires_a_bearer_token_in_the_authorization_header(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let signed = app.register(EMAIL, GOOD_PASSWORD).await;
    let token = &signed.access_token;

    let response = me(&app, token).await;
    assert_eq!(response.status(), 200);
    let user: latchkey_types::User = response.json().await.unwrap();
    assert_eq!(user, signed.body.user);
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let response = bare_client()
            .get(app.url("/api/me"))
            .header("authorization", format!("{scheme} {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "scheme {scheme}");
    }

    // Missing or malformed credentials.
    assert_invalid_token(bare_client().get(app.url("/api/me")).send().await.unwrap()).await;
    for authorization in [
        "Bearer".to_string(),
        "Bearer ".to_string(),
        "Bearer garbage".to_string(),
        "Bearer a.b.c".to_string(),
        format!("Basic {token}"),
        format!("Token {token}"),
        token.clone(),
        format!("Bearer {token}x"),
        format!("Bearer {token} {token}"),
        format!("Bearer {}", "a".repeat(10_000)),
    ] {
        let response = bare_client()
            .get(app.url("/api/me"))
            .header("authorization", authorization.clone())
            .send()
            .await
            .unwrap();
        assert_invalid_token(response).await;
    }

    // Never from the URL, a body or a cookie.
    for query in ["access_token", "token", "bearer", "authorization"] {
        let response = bare_client()
            .get(app.url(&format!("/api/me?{query}={token}")))
            .send()
            .await
            .unwrap();
        assert_invalid_token(response).await;
    }
    let response = bare_client()
        .patch(app.url("/api/me"))
        .json(&json!({"access_token": token, "display_name": "x"}))
        .send()
        .await
        .unwrap();
    assert_invalid_token(response).await;
    let response = bare_client()
        .get(app.url("/api/me"))
        .header("cookie", format!("access_token={token}"))
        .send()
        .await
        .unwrap();
    assert_invalid_token(response).await;
    // The refresh cookie is no access credential either.
    let response = bare_client()
        .get(app.url("/api/me"))
        .header("cookie", format!("{REFRESH_COOKIE}={}", signed.refresh))
        .send()
        .await
        .unwrap();
    assert_invalid_token(response).await;
}

async fn forged_and_foreign_tokens_are_refused(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let signed = app.register(EMAIL, GOOD_PASSWORD).await;
    let token = signed.access_token.clone();
    let header = jwt_part(&token, 0);
    let claims = jwt_part(&token, 1);
    let kid = header["kid"].as_str().unwrap().to_string();
    let stranger = generate_ed25519_pem();
    let mut forged: Vec<(&str, String)> = Vec::new();

    // Unsigned.
    for alg in ["none", "None", "NONE"] {
        let mut h = header.clone();
        h["alg"] = json!(alg);
        forged.push(("alg none", format!("{}.{}.", b64_json(&h), b64_json(&claims))));
        forged.push((
            "alg none, old signature",
            format!(
                "{}.{}.{}",
                b64_json(&h),
                b64_json(&claims),
                token.split('.').nth(2).unwrap()
            ),
        ));
    }
    // HS256 with the public key (from the JWKS) as the HMAC secret.
    let jwks: Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    let x = jwks["keys"][0]["x"].as_str().unwrap().to_string();
    let raw_public = URL_SAFE_NO_PAD.decode(&x).unwrap();
    for secret in [raw_public.as_slice(), x.as_bytes()] {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        h.typ = Some("at+jwt".into());
        h.kid = Some(kid.clone());
        let hs = jsonwebtoken::encode(&h, &claims, &jsonwebtoken::EncodingKey::from_secret(secret)).unwrap();
        forged.push(("HS256 with the public key", hs));
    }
    // The real signature over a changed payload.
    let parts: Vec<&str> = token.split('.').collect();
    for (field, value) in [
        ("role", json!("admin")),
        ("sub", json!(Uuid::now_v7())),
        ("exp", json!(now_secs() + 86_400)),
    ] {
        let mut c = claims.clone();
        c[field] = value;
        forged.push((
            "tampered payload",
            format!("{}.{}.{}", parts[0], b64_json(&c), parts[2]),
        ));
    }
    forged.push(("signature stripped", format!("{}.{}.", parts[0], parts[1])));
    // Signed by a key the server does not have.
    let mut unknown_kid = header.clone();
    unknown_kid["kid"] = json!("not-a-kid-we-know");
    forged.push(("unknown kid", forge(&unknown_kid, &claims, &stranger)));
    forged.push(("a stranger's key under our kid", forge(&header, &claims, &stranger)));
    let stranger_x = {
        let key = ed25519_dalek::SigningKey::from_pkcs8_pem(&stranger).unwrap();
        URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes())
    };
    let mut embedded = header.clone();
    embedded["jwk"] = json!({"kty": "OKP", "crv": "Ed25519", "x": stranger_x, "kid": kid});
    forged.push(("a key embedded in the token", forge(&embedded, &claims, &stranger)));
    let mut no_kid = header.clone();
    no_kid.as_object_mut().unwrap().remove("kid");
    forged.push(("no kid, stranger's key", forge(&no_kid, &claims, &stranger)));
    // Not access tokens at all.
    forged.push(("the refresh token", signed.refresh.clone()));
    forged.push(("the session id", sid_of(&token).to_string()));
    forged.push(("the user id", signed.body.user.id.to_string()));
    forged.push(("the JWKS public key", x.clone()));

    for (what, bad) in &forged {
        let response = me(&app, bad).await;
        assert_eq!(response.status(), 401, "{what} was accepted");
        assert_invalid_token(response).await;
    }
    assert_token_works(&app, &token).await;
}

async fn validly_signed_tokens_with_bad_claims_are_refused(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let signed = app.register(EMAIL, GOOD_PASSWORD).await;
    let (kid, pem) = server_signing_key(&app).await;
    let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid});
    let now = now_secs();
    let claims = {
        let mut c = jwt_part(&signed.access_token, 1);
        c["jti"] = json!(Uuid::now_v7());
        c["iat"] = json!(now);
        c["nbf"] = json!(now);
        c["exp"] = json!(now + 300);
        c
    };
    // Guards the forging: the server's key with good header and claims works.
    assert_token_works(&app, &forge(&header, &claims, &pem)).await;

    let with = |field: &str, value: Value| {
        let mut c = claims.clone();
        c[field] = value;
        c
    };
    let without = |field: &str| {
        let mut c = claims.clone();
        c.as_object_mut().unwrap().remove(field);
        c
    };
    let header_with = |field: &str, value: Value| {
        let mut h = header.clone();
        h[field] = value;
        h
    };
    let mut header_no_typ = header.clone();
    header_no_typ.as_object_mut().unwrap().remove("typ");
    let cases: Vec<(&str, Value, Value)> = vec![
        ("no typ", header_no_typ, claims.clone()),
        (
            "typ JWT (an ID token or another service's JWT)",
            header_with("typ", json!("JWT")),
            claims.clone(),
        ),
        ("crit extension", header_with("crit", json!(["exp"])), claims.clone()),
        (
            "jku header",
            header_with("jku", json!("https://evil.example/jwks.json")),
            claims.clone(),
        ),
        (
            "x5c header",
            header_with("x5c", json!([URL_SAFE_NO_PAD.encode(b"not a certificate")])),
            claims.clone(),
        ),
        (
            "x5u header",
            header_with("x5u", json!("https://evil.example/cert.pem")),
            claims.clone(),
        ),
        (
            "expired 10 s ago (past the leeway)",
            header.clone(),
            with("exp", json!(now - 10)),
        ),
        (
            "expired 50 s ago (inside a 60 s library default)",
            header.clone(),
            with("exp", json!(now - 50)),
        ),
        ("not valid for a minute", header.clone(), with("nbf", json!(now + 60))),
        (
            "wrong audience",
            header.clone(),
            with("aud", json!("https://other.example/api")),
        ),
        ("no audience", header.clone(), without("aud")),
        (
            "wrong issuer",
            header.clone(),
            with("iss", json!("https://evil.example")),
        ),
        ("no issuer", header.clone(), without("iss")),
        ("no exp", header.clone(), without("exp")),
        ("no sid", header.clone(), without("sid")),
        ("no sub", header.clone(), without("sub")),
        ("unknown role", header.clone(), with("role", json!("root"))),
        (
            "a user that does not exist",
            header.clone(),
            with("sub", json!(Uuid::now_v7())),
        ),
    ];
    for (what, h, c) in cases {
        let response = me(&app, &forge(&h, &c, &pem)).await;
        assert_eq!(response.status(), 401, "{what} was accepted");
        assert_invalid_token(response).await;
    }
    // A revoked session's sid stays refused even in a freshly signed token.
    let other = app.login(EMAIL, GOOD_PASSWORD).await;
    let logout = post(&app, "/api/auth/logout", Some(&other.refresh))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let revoked = forge(&header, &with("sid", json!(sid_of(&other.access_token))), &pem);
    assert_invalid_token(me(&app, &revoked).await).await;
}

async fn jwks_publishes_public_keys_that_verify_our_tokens(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let response = app.get("/.well-known/jwks.json").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let jwks: Value = response.json().await.unwrap();
    let keys = jwks["keys"].as_array().expect("keys");
    assert!(!keys.is_empty());
    for key in keys {
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()), "{key}");
        assert!(key.get("d").is_none(), "a private key is published: {key}");
        let x = URL_SAFE_NO_PAD
            .decode(key["x"].as_str().expect("x"))
            .expect("x is base64url");
        assert_eq!(x.len(), 32);
        if let Some(alg) = key.get("alg") {
            assert_eq!(alg, "EdDSA");
        }
    }
    assert!(!jwks.to_string().contains("PRIVATE"), "{jwks}");

    // Another service verifies a token with nothing but the JWKS.
    let signed = app.register(EMAIL, GOOD_PASSWORD).await;
    let kid = jwt_part(&signed.access_token, 0)["kid"].as_str().unwrap().to_string();
    let jwk = keys
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the token's kid is published");
    let key = jsonwebtoken::DecodingKey::from_ed_components(jwk["x"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_issuer(&[&app.base]);
    validation.set_audience(&[jwt_part(&signed.access_token, 1)["aud"].as_str().unwrap()]);
    let verified =
        jsonwebtoken::decode::<Value>(&signed.access_token, &key, &validation).expect("verifies with the JWKS");
    assert_eq!(verified.claims["sub"], signed.body.user.id.to_string());
}

// --- /api/me -------------------------------------------------------------

async fn patch_me_sets_and_clears_the_display_name(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let signed = app.register(EMAIL, GOOD_PASSWORD).await;
    let token = &signed.access_token;
    let patch = |body: Value| {
        bare_client()
            .patch(app.url("/api/me"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };

    let response = patch(json!({"display_name": "  Ada Lovelace "})).await.unwrap();
    assert_eq!(response.status(), 200);
    let user: latchkey_types::User = response.json().await.unwrap();
    assert_eq!(user.display_name.as_deref(), Some("Ada Lovelace"));
    let fetched: latchkey_types::User = me(&app, token).await.json().await.unwrap();
    assert_eq!(fetched, user);

    // Other fields are ignored: no way to change email or role here.
    let response = patch(json!({"email": "evil@example.com", "role": "admin"}))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let user: latchkey_types::User = response.json().await.unwrap();
    assert_eq!(
        (user.email.as_str(), user.role, user.display_name.as_deref()),
        (EMAIL, latchkey_types::Role::User, Some("Ada Lovelace"))
    );

    let unicode = "é".repeat(64);
    let user: latchkey_types::User = patch(json!({"display_name": unicode}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user.display_name.as_deref(), Some(unicode.as_str()));

    for invalid in [
        "x".repeat(65),
        "tab\there".into(),
        "nul\u{0}".into(),
        "esc\u{1b}[31m".into(),
    ] {
        let error = assert_error(
            patch(json!({"display_name": invalid})).await.unwrap(),
            422,
            "validation_failed",
        )
        .await;
        assert!(error["fields"]["display_name"].is_array(), "{error}");
    }
    assert_error(patch(json!({"display_name": 42})).await.unwrap(), 400, "bad_request").await;
    let fetched: latchkey_types::User = me(&app, token).await.json().await.unwrap();
    assert_eq!(
        fetched.display_name.as_deref(),
        Some(unicode.as_str()),
        "refused patches change nothing"
    );

    for clear in [json!({"display_name": null}), json!({"display_name": "   "})] {
        patch(json!({"display_name": "Ada"})).await.unwrap();
        let user: latchkey_types::User = patch(clear.clone()).await.unwrap().json().await.unwrap();
        assert_eq!(user.display_name, None, "{clear}");
    }
    let response = bare_client()
        .patch(app.url("/api/me"))
        .json(&json!({"display_name": "x"}))
        .send()
        .await
        .unwrap();
    assert_invalid_token(response).await;
}

async fn changing_the_password_revokes_every_other_session(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let mine = app.register(EMAIL, GOOD_PASSWORD).await;
    let other = app.login(EMAIL, GOOD_PASSWORD).await;
    let change = |current: &str, new: &str| {
        bare_client()
            .post(app.url("/api/me/password"))
            .bearer_auth(&mine.access_token)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };

    let error = assert_error(
        change(NEW_PASSWORD, NEW_PASSWORD).await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert!(error["fields"]["current_password"].is_array(), "{error}");
    for weak in ["passwordpassword", "ADA@example.com"] {
        let error = assert_error(change(GOOD_PASSWORD, weak).await.unwrap(), 422, "validation_failed").await;
        assert!(error["fields"]["new_password"].is_array(), "{weak}: {error}");
    }
    // Refused changes changed nothing.
    assert_token_works(&app, &other.access_token).await;

    let response = change(GOOD_PASSWORD, NEW_PASSWORD).await.unwrap();
    assert_eq!(response.status(), 204);
    assert!(no_store(&response));

    // Every other session is gone: its access token and its refresh cookie.
    assert_token_dies_within_a_second(&app, &other.access_token).await;
    assert_refresh_refused(app.refresh_with(&other.refresh).await).await;
    // The caller's own session carries on.
    assert_token_works(&app, &mine.access_token).await;
    let renewed = refresh_ok(&app, &mine.refresh).await;
    assert_token_works(&app, &renewed.access_token).await;

    // Only the new password signs in now.
    let response = app
        .post_json("/api/auth/login", &json!({"email": EMAIL, "password": GOOD_PASSWORD}))
        .await;
    assert_error(response, 401, "invalid_credentials").await;
    app.login(EMAIL, NEW_PASSWORD).await;
    assert!(
        audit_names(&app, mine.body.user.id)
            .await
            .contains(&"password.changed".to_string())
    );
}

async fn sessions_can_be_listed_and_revoked(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let first = app.register(EMAIL, GOOD_PASSWORD).await;
    let second = app.login(EMAIL, GOOD_PASSWORD).await;
    let bob = app.register("bob@example.com", GOOD_PASSWORD).await;
    let delete = |token: &str, id: &str| {
        bare_client()
            .delete(app.url(&format!("/api/me/sessions/{id}")))
            .bearer_auth(token)
            .send()
    };

    let sessions = list_sessions(&app, &second.access_token).await;
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let current: Vec<_> = sessions.iter().filter(|s| s.current).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].id, sid_of(&second.access_token));
    assert!(sessions.iter().any(|s| s.id == sid_of(&first.access_token)));
    for s in &sessions {
        assert_eq!(s.ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(s.user_agent.as_deref(), Some(TEST_USER_AGENT));
        assert!(s.expires_at > chrono::Utc::now() && s.created_at <= s.last_seen_at);
    }

    // Someone else's session, garbage and unknown ids: 404, nothing revoked.
    let bobs = sid_of(&bob.access_token).to_string();
    for id in [bobs.as_str(), "not-a-uuid", &Uuid::now_v7().to_string(), "1%20OR%201=1"] {
        assert_error(delete(&first.access_token, id).await.unwrap(), 404, "not_found").await;
    }
    assert_token_works(&app, &bob.access_token).await;
    refresh_ok(&app, &bob.refresh).await;

    // One's own other session: gone, with its tokens.
    let first_id = sid_of(&first.access_token).to_string();
    let response = delete(&second.access_token, &first_id).await.unwrap();
    assert_eq!(response.status(), 204);
    assert_token_dies_within_a_second(&app, &first.access_token).await;
    assert_refresh_refused(app.refresh_with(&first.refresh).await).await;
    let sessions = list_sessions(&app, &second.access_token).await;
    assert_eq!(
        sessions.iter().map(|s| s.id).collect::<Vec<_>>(),
        [sid_of(&second.access_token)]
    );
    assert_error(delete(&second.access_token, &first_id).await.unwrap(), 404, "not_found").await;
    assert_invalid_token(delete("", &first_id).await.unwrap()).await;
    assert!(
        audit_names(&app, first.body.user.id)
            .await
            .contains(&"session.revoked".to_string())
    );
}

async fn list_sessions(app: &TestApp, token: &str) -> Vec<latchkey_types::Session> {
    let response = app.get_with_bearer("/api/me/sessions", token).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("[Session]")
}

// --- refresh -------------------------------------------------------------

async fn refresh_rotates_the_cookie_and_issues_a_new_access_token(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let signed = app.register(EMAIL, GOOD_PASSWORD).await;
    let response = app.refresh_with(&signed.refresh).await;
    assert_eq!(response.status(), 200);
    assert!(no_store(&response));
    let cookie = set_cookie(&response, REFRESH_COOKIE).expect("rotated cookie");
    assert!(
        cookie.has("httponly") && cookie.has("secure") && cookie.attr("path") == Some("/api/auth"),
        "{cookie:?}"
    );
    assert!(cookie.max_age().is_some_and(|age| age > 0));
    let renewed = SignedIn::from_response(response).await;
    assert_ne!(renewed.refresh, signed.refresh, "the refresh cookie rotates");
    assert_ne!(renewed.access_token, signed.access_token);
    assert_eq!(renewed.body.token_type, "Bearer");
    assert_eq!(renewed.body.expires_in, 300);
    assert_eq!(renewed.body.user, signed.body.user);
    assert_eq!(
        sid_of(&renewed.access_token),
        sid_of(&signed.access_token),
        "same session"
    );
    // The old access token is not revoked by a rotation.
    assert_token_works(&app, &signed.access_token).await;
    assert_token_works(&app, &renewed.access_token).await;
    // The new cookie rotates in turn.
    let third = refresh_ok(&app, &renewed.refresh).await;
    assert_ne!(third.refresh, renewed.refresh);
    assert_ne!(third.refresh, signed.refresh);

    // No cookie: nothing to renew (204, nothing set). An unknown one, an
    // empty one: 401 and the cookie cleared.
    let response = post(&app, "/api/auth/refresh", None)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert!(set_cookie(&response, REFRESH_COOKIE).is_none());
    for bogus in ["nope", &"A".repeat(43), &hash_token(&third.refresh), &"x".repeat(500)] {
        assert_refresh_refused(app.refresh_with(bogus).await).await;
    }
    let response = post(&app, "/api/auth/refresh", None)
        .header("cookie", format!("{REFRESH_COOKIE}="))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_refresh_refused(response).await;
    // None of that disturbed the live session.
    refresh_ok(&app, &third.refresh).await;
}

async fn refresh_reuse_after_the_grace_window_revokes_the_whole_session(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let stolen = app.register(EMAIL, GOOD_PASSWORD).await;
    let elsewhere = app.login(EMAIL, GOOD_PASSWORD).await;
    let current = refresh_ok(&app, &stolen.refresh).await;
    // Past the default 30-second window.
    app.clock.advance(Duration::from_secs(31));

    assert_refresh_refused(app.refresh_with(&stolen.refresh).await).await;
    // The whole session is dead: its current cookie and every access token.
    assert_refresh_refused(app.refresh_with(&current.refresh).await).await;
    assert_token_dies_within_a_second(&app, &current.access_token).await;
    assert_token_dies_within_a_second(&app, &stolen.access_token).await;
    // Only that session: the user's other sign-in is untouched.
    assert_token_works(&app, &elsewhere.access_token).await;
    refresh_ok(&app, &elsewhere.refresh).await;

    let events = app.state.db.audit_events_for_user(stolen.body.user.id).await.unwrap();
    let reuse = events
        .iter()
        .find(|e| e.event == "refresh.reuse_detected")
        .expect("reuse is audited");
    assert_eq!(reuse.session_id, Some(sid_of(&stolen.access_token)));
    let revoked = live_sessions_in_db(&app, stolen.body.user.id).await;
    assert_eq!(revoked, 1, "only the other session is live");
}

async fn an_older_ancestor_is_reuse_even_inside_the_window(backend: Backend) {
    let app = spawn(backend, &["--refresh-grace-secs=30"]).await;
    let first = app.register(EMAIL, GOOD_PASSWORD).await;
    let second = refresh_ok(&app, &first.refresh).await;
    let third = refresh_ok(&app, &second.refresh).await;
    // `first` is the grandparent of the live token: reuse, at once.
    assert_refresh_refused(app.refresh_with(&first.refresh).await).await;
    assert_refresh_refused(app.refresh_with(&third.refresh).await).await;
    assert_token_dies_within_a_second(&app, &third.access_token).await;
    assert_eq!(live_sessions_in_db(&app, first.body.user.id).await, 0);
    assert!(
        audit_names(&app, first.body.user.id)
            .await
            .contains(&"refresh.reuse_detected".to_string())
    );
}

async fn refreshes_inside_the_window_get_the_same_successor(backend: Backend) {
    let app = spawn(backend, &["--refresh-grace-secs=30"]).await;
    let signed = app.register(EMAIL, GOOD_PASSWORD).await;
    let a = refresh_ok(&app, &signed.refresh).await;
    let b = refresh_ok(&app, &signed.refresh).await;
    let c = refresh_ok(&app, &signed.refresh).await;
    assert_eq!(a.refresh, b.refresh, "the second tab gets the same successor");
    assert_eq!(a.refresh, c.refresh);
    assert_ne!(a.refresh, signed.refresh);
    for tab in [&a, &b, &c] {
        assert_token_works(&app, &tab.access_token).await;
    }
    // The successor is live, and rotating it is normal use, not reuse.
    let next = refresh_ok(&app, &b.refresh).await;
    assert_ne!(next.refresh, b.refresh);
    refresh_ok(&app, &next.refresh).await;
    assert_eq!(live_sessions_in_db(&app, signed.body.user.id).await, 1);
}

async fn racing_refreshes_all_succeed_and_leave_one_live_token(backend: Backend) {
    const ROUNDS: usize = 20;
    const TABS: usize = 10;
    let app = spawn(backend, &[]).await;
    let signed = app.register(EMAIL, GOOD_PASSWORD).await;
    let session_id = sid_of(&signed.access_token).to_string();
    let url = app.url("/api/auth/refresh");
    let mut cookie = signed.refresh.clone();
    for round in 0..ROUNDS {
        let mut tabs = tokio::task::JoinSet::new();
        for _ in 0..TABS {
            let (url, cookie) = (url.clone(), cookie.clone());
            tabs.spawn(async move {
                let response = bare_client()
                    .post(url)
                    .header("cookie", format!("{REFRESH_COOKIE}={cookie}"))
                    .json(&json!({}))
                    .send()
                    .await
                    .expect("request");
                let status = response.status();
                let next = set_cookie(&response, REFRESH_COOKIE).map(|c| c.value);
                (status, next, response.text().await.unwrap_or_default())
            });
        }
        let mut successors = std::collections::HashSet::new();
        while let Some(result) = tabs.join_next().await {
            let (status, next, body) = result.expect("task");
            assert_eq!(status, 200, "round {round}: {body}");
            successors.insert(next.expect("a cookie"));
        }
        assert_eq!(
            successors.len(),
            1,
            "round {round}: tabs got different cookies: {successors:?}"
        );
        let next = successors.into_iter().next().unwrap();
        assert_ne!(next, cookie, "round {round} did not rotate");
        cookie = next;
    }
    // Exactly one rotation per round, one live session, and its one live
    // token is the cookie the tabs hold.
    let live = live_sessions_in_db(&app, signed.body.user.id).await;
    assert_eq!(live, 1);
    let stored: String = sqlx::query_scalar("SELECT secret_hash FROM sessions WHERE id = $1")
        .bind(&session_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, hash_token(&cookie));
    let issued = scalar(
        &app,
        "SELECT COUNT(*) FROM refresh_tokens WHERE session_id = $1",
        &session_id,
    )
    .await;
    assert_eq!(issued, ROUNDS as i64 + 1, "one token issued per round, plus the first");
    refresh_ok(&app, &cookie).await;
}

async fn cross_site_requests_change_nothing(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let signed = app.register(EMAIL, GOOD_PASSWORD).await;
    let user_id = signed.body.user.id;
    let cross_site: [(&str, &str); 5] = [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("origin", "http://127.0.0.1:1"),
        ("referer", "https://evil.example/page"),
        ("sec-fetch-site", "cross-site"),
    ];
    for (name, value) in cross_site {
        let response = post(&app, "/api/auth/refresh", Some(&signed.refresh))
            .header(name, value)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert!(set_cookie(&response, REFRESH_COOKIE).is_none(), "{name}: {value}");
        assert_error(response, 403, "csrf_rejected").await;
        let response = post(&app, "/api/auth/logout", Some(&signed.refresh))
            .header(name, value)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_error(response, 403, "csrf_rejected").await;
        let login = json!({"email": EMAIL, "password": GOOD_PASSWORD});
        let response = post(&app, "/api/auth/login", None)
            .header(name, value)
            .json(&login)
            .send()
            .await
            .unwrap();
        assert!(set_cookie(&response, REFRESH_COOKIE).is_none());
        assert_error(response, 403, "csrf_rejected").await;
        let register = json!({"email": "mallory@example.com", "password": GOOD_PASSWORD});
        let response = post(&app, "/api/auth/register", None)
            .header(name, value)
            .json(&register)
            .send()
            .await
            .unwrap();
        assert_error(response, 403, "csrf_rejected").await;
    }
    // Nothing rotated, ended or was created: the same cookie still renews.
    assert_eq!(live_sessions_in_db(&app, user_id).await, 1);
    assert_eq!(user_count(&app).await, 1);
    let generation = scalar(
        &app,
        "SELECT generation FROM sessions WHERE id = $1",
        &sid_of(&signed.access_token).to_string(),
    )
    .await;
    assert_eq!(generation, 0, "a refused refresh rotated the token");
    // The app's own origin passes.
    let response = post(&app, "/api/auth/refresh", Some(&signed.refresh))
        .header("origin", app.base.as_str())
        .header("sec-fetch-site", "same-origin")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

async fn safe_methods_change_nothing_and_cors_stays_off(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let signed = app.register(EMAIL, GOOD_PASSWORD).await;
    let cookie = format!("{REFRESH_COOKIE}={}", signed.refresh);
    for path in [
        "/api/auth/refresh",
        "/api/auth/logout",
        "/api/auth/logout-all",
        "/api/auth/login",
    ] {
        for method in [reqwest::Method::GET, reqwest::Method::HEAD, reqwest::Method::OPTIONS] {
            let response = bare_client()
                .request(method.clone(), app.url(path))
                .header("cookie", &cookie)
                .bearer_auth(&signed.access_token)
                .header("origin", "https://evil.example")
                .header("access-control-request-method", "POST")
                .send()
                .await
                .unwrap();
            assert!(
                !response.status().is_success(),
                "{method} {path} answered {}",
                response.status()
            );
            assert!(
                set_cookie(&response, REFRESH_COOKIE).is_none(),
                "{method} {path} set the cookie"
            );
            assert_no_cors(&response);
        }
    }
    // A cross-origin read of a protected route gets no CORS grant either.
    let response = bare_client()
        .get(app.url("/api/me"))
        .bearer_auth(&signed.access_token)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_no_cors(&response);
    // Nothing ended or rotated.
    assert_token_works(&app, &signed.access_token).await;
    let generation = scalar(
        &app,
        "SELECT generation FROM sessions WHERE id = $1",
        &sid_of(&signed.access_token).to_string(),
    )
    .await;
    assert_eq!(generation, 0);
    refresh_ok(&app, &signed.refresh).await;
}

fn assert_no_cors(response: &reqwest::Response) {
    for header in ["access-control-allow-origin", "access-control-allow-credentials"] {
        assert!(
            response.headers().get(header).is_none(),
            "{header} on {}: {:?}",
            response.url(),
            response.headers()
        );
    }
}

async fn concurrent_registrations_of_one_email_create_one_account(backend: Backend) {
    let app = spawn(backend, &["--hash-permits=4"]).await;
    let mut racers = tokio::task::JoinSet::new();
    for email in [
        "race@example.com",
        "RACE@example.com",
        "Race@Example.com",
        "race@EXAMPLE.COM",
    ] {
        let url = app.url("/api/auth/register");
        racers.spawn(async move {
            let response = bare_client()
                .post(url)
                .json(&json!({"email": email, "password": GOOD_PASSWORD}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or_default())
        });
    }
    let mut created = 0;
    while let Some(result) = racers.join_next().await {
        match result.expect("task") {
            (201, _) => created += 1,
            (409, body) => assert_eq!(body["error"], "email_taken", "{body}"),
            (status, body) => panic!("a racing registration answered {status}: {body}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(user_count(&app).await, 1);
}

// --- logout --------------------------------------------------------------

async fn logout_ends_the_session_of_the_cookie(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let kept = app.register(EMAIL, GOOD_PASSWORD).await;
    let ended = app.login(EMAIL, GOOD_PASSWORD).await;

    let response = post(&app, "/api/auth/logout", Some(&ended.refresh))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert!(no_store(&response));
    assert_cookie_cleared(&response);
    let cleared = set_cookie(&response, REFRESH_COOKIE).unwrap();
    assert!(cleared.has("httponly") && cleared.has("secure"), "{cleared:?}");
    assert_token_dies_within_a_second(&app, &ended.access_token).await;
    assert_refresh_refused(app.refresh_with(&ended.refresh).await).await;
    // The user's other session is untouched.
    assert_token_works(&app, &kept.access_token).await;

    // With only a Bearer token, that token's session ends.
    let bearer_only = app.login(EMAIL, GOOD_PASSWORD).await;
    let response = post(&app, "/api/auth/logout", None)
        .bearer_auth(&bearer_only.access_token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_cookie_cleared(&response);
    assert_token_dies_within_a_second(&app, &bearer_only.access_token).await;
    assert_refresh_refused(app.refresh_with(&bearer_only.refresh).await).await;

    // With nothing to end: 401 and the cookie cleared.
    let response = post(&app, "/api/auth/logout", None)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_refresh_refused(response).await;
    let response = post(&app, "/api/auth/logout", Some("unknown"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_refresh_refused(response).await;

    assert_token_works(&app, &kept.access_token).await;
    refresh_ok(&app, &kept.refresh).await;
    let logouts = audit_names(&app, kept.body.user.id)
        .await
        .iter()
        .filter(|e| *e == "logout")
        .count();
    assert_eq!(logouts, 2);
}

async fn logout_all_ends_every_session_of_the_user(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let sessions = [
        app.register(EMAIL, GOOD_PASSWORD).await,
        app.login(EMAIL, GOOD_PASSWORD).await,
    ];
    let bob = app.register("bob@example.com", GOOD_PASSWORD).await;

    let response = post(&app, "/api/auth/logout-all", None)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_invalid_token(response).await;
    let response = post(&app, "/api/auth/logout-all", None)
        .bearer_auth(&sessions[1].access_token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert!(no_store(&response));
    for session in &sessions {
        assert_token_dies_within_a_second(&app, &session.access_token).await;
        assert_refresh_refused(app.refresh_with(&session.refresh).await).await;
    }
    assert_eq!(live_sessions_in_db(&app, sessions[0].body.user.id).await, 0);
    // Another user is untouched.
    assert_token_works(&app, &bob.access_token).await;
    refresh_ok(&app, &bob.refresh).await;
    // Signing in again works.
    assert_token_works(&app, &app.login(EMAIL, GOOD_PASSWORD).await.access_token).await;
}

// --- limits --------------------------------------------------------------

async fn repeated_wrong_passwords_lock_the_account(backend: Backend) {
    let app = spawn(backend, &[]).await;
    app.register(EMAIL, GOOD_PASSWORD).await;
    let wrong = json!({"email": EMAIL, "password": NEW_PASSWORD});
    let mut limited_at = None;
    for attempt in 1..30 {
        let response = app.post_json("/api/auth/login", &wrong).await;
        if response.status() == 429 {
            limited_at = Some(attempt);
            assert_retry_after(response, 15 * 60).await;
            break;
        }
        assert_error(response, 401, "invalid_credentials").await;
    }
    let limited_at = limited_at.expect("30 wrong passwords in a row were never rate-limited");
    assert!(limited_at > 3, "limited after only {limited_at} attempts");
    // Locked whatever the password, and whatever the email's case.
    for email in [EMAIL, "ADA@Example.com"] {
        let response = app
            .post_json("/api/auth/login", &json!({"email": email, "password": GOOD_PASSWORD}))
            .await;
        assert!(set_cookie(&response, REFRESH_COOKIE).is_none());
        assert_retry_after(response, 15 * 60).await;
    }
    // Another account from the same address is not locked.
    let response = app
        .post_json(
            "/api/auth/login",
            &json!({"email": "bob@example.com", "password": GOOD_PASSWORD}),
        )
        .await;
    assert_error(response, 401, "invalid_credentials").await;
}

/// 429 `rate_limited` with a `Retry-After` of 1..=max seconds.
async fn assert_retry_after(response: reqwest::Response, max: u64) {
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_error(response, 429, "rate_limited").await;
    let secs: u64 = retry_after
        .expect("Retry-After")
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=max).contains(&secs), "Retry-After {secs}");
}

async fn the_address_limit_applies_to_login_and_register_not_refresh(backend: Backend) {
    let app = spawn(backend, &["--rate-address-per-min=5"]).await;
    keep_clear_of_a_minutes_end(&app);
    let signed = app.register(EMAIL, GOOD_PASSWORD).await;
    // Each attempt claims another client address: X-Forwarded-For from an
    // untrusted peer must not buy fresh limits.
    let attempt = |n: u32| {
        post(&app, "/api/auth/login", None)
            .header("x-forwarded-for", format!("203.0.113.{n}"))
            .json(&json!({"email": "nobody", "password": "x"}))
            .send()
    };
    for n in 2..=5 {
        // Not even an address: refused without argon2 work, but counted.
        assert_eq!(attempt(n).await.unwrap().status(), 401, "attempt {n}");
    }
    assert_retry_after(attempt(6).await.unwrap(), 60).await;
    let response = app
        .post_json(
            "/api/auth/register",
            &json!({"email": "other@example.com", "password": GOOD_PASSWORD}),
        )
        .await;
    assert_retry_after(response, 60).await;
    assert_eq!(user_count(&app).await, 1);
    // Refresh has a budget of its own: one abuser behind a shared address
    // cannot stop everyone's silent refresh.
    let renewed = refresh_ok(&app, &signed.refresh).await;
    refresh_ok(&app, &renewed.refresh).await;
}

async fn refresh_has_its_own_budget_per_address(backend: Backend) {
    let app = spawn(backend, &["--rate-refresh-per-min=3"]).await;
    keep_clear_of_a_minutes_end(&app);
    let mut signed = app.register(EMAIL, GOOD_PASSWORD).await;
    for _ in 0..3 {
        signed = refresh_ok(&app, &signed.refresh).await;
    }
    assert_retry_after(app.refresh_with(&signed.refresh).await, 60).await;
    // Signing in is still possible from that address.
    app.login(EMAIL, GOOD_PASSWORD).await;
}

/// Rate limits count per clock minute: move the server's clock past the
/// end of the current minute when it is close, so a test's attempts all
/// land in one window.
fn keep_clear_of_a_minutes_end(app: &TestApp) {
    let into_minute = app.clock.now_ms().rem_euclid(60_000);
    if into_minute > 50_000 {
        app.clock.advance(Duration::from_millis((60_500 - into_minute) as u64));
    }
}

async fn signing_in_past_the_session_cap_evicts_the_oldest(backend: Backend) {
    let app = spawn(backend, &["--max-sessions=2"]).await;
    let oldest = app.register(EMAIL, GOOD_PASSWORD).await;
    let middle = app.login(EMAIL, GOOD_PASSWORD).await;
    assert_token_works(&app, &oldest.access_token).await;
    let newest = app.login(EMAIL, GOOD_PASSWORD).await;
    assert_refresh_refused(app.refresh_with(&oldest.refresh).await).await;
    assert_token_dies_within_a_second(&app, &oldest.access_token).await;
    for live in [&middle, &newest] {
        assert_token_works(&app, &live.access_token).await;
    }
    let listed: Vec<Value> = app
        .get_with_bearer("/api/me/sessions", &newest.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(live_sessions_in_db(&app, oldest.body.user.id).await, 2);
    refresh_ok(&app, &middle.refresh).await;
}

async fn idle_sessions_expire_and_use_keeps_them_alive(backend: Backend) {
    let app = spawn(backend, &["--refresh-idle-secs=60", "--access-ttl-secs=600"]).await;
    let signed = app.register(EMAIL, GOOD_PASSWORD).await;
    app.clock.advance(Duration::from_secs(40));
    let renewed = refresh_ok(&app, &signed.refresh).await;
    app.clock.advance(Duration::from_secs(40));
    // 80 s after sign-in: alive only because the refresh slid the window.
    let renewed = refresh_ok(&app, &renewed.refresh).await;
    // Idle for longer than 60 s: over.
    app.clock.advance(Duration::from_secs(61));
    assert_refresh_refused(app.refresh_with(&renewed.refresh).await).await;
    let listed: Vec<Value> = app
        .get_with_bearer("/api/me/sessions", &renewed.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(listed.is_empty(), "an idle-expired session is not listed: {listed:?}");
}

async fn sessions_end_at_their_absolute_lifetime(backend: Backend) {
    let app = spawn(backend, &["--session-max-secs=120"]).await;
    let signed = app.register(EMAIL, GOOD_PASSWORD).await;
    app.clock.advance(Duration::from_secs(70));
    let response = app.refresh_with(&signed.refresh).await;
    assert_eq!(response.status(), 200);
    let max_age = set_cookie(&response, REFRESH_COOKIE)
        .and_then(|c| c.max_age())
        .expect("Max-Age");
    assert!(max_age <= 50, "the cookie outlives the session: Max-Age={max_age}");
    let renewed = SignedIn::from_response(response).await;
    app.clock.advance(Duration::from_secs(51));
    assert_refresh_refused(app.refresh_with(&renewed.refresh).await).await;
}

async fn forwarded_for_counts_only_from_trusted_proxies(backend: Backend) {
    let app = spawn(backend, &["--trusted-proxies=127.0.0.1", "--rate-address-per-min=2"]).await;
    keep_clear_of_a_minutes_end(&app);
    let login_from = |forwarded: &str| {
        post(&app, "/api/auth/login", None)
            .header("x-forwarded-for", forwarded)
            .json(&json!({"email": "nobody", "password": "x"}))
            .send()
    };
    // Behind a trusted proxy, each client has its own limit...
    for _ in 0..2 {
        assert_eq!(login_from("198.51.100.1").await.unwrap().status(), 401);
    }
    assert_retry_after(login_from("198.51.100.1").await.unwrap(), 60).await;
    assert_eq!(login_from("198.51.100.2").await.unwrap().status(), 401);
    // ...and only the entry the proxy added counts: a client-supplied one
    // to its left buys nothing.
    assert_retry_after(login_from("6.6.6.6, 198.51.100.1").await.unwrap(), 60).await;
    // The session and audit trail record the client, not the proxy.
    let response = post(&app, "/api/auth/register", None)
        .header("x-forwarded-for", "203.0.113.7")
        .json(&json!({"email": EMAIL, "password": GOOD_PASSWORD}))
        .send()
        .await
        .unwrap();
    let signed = SignedIn::from_response(response).await;
    let sessions = list_sessions(&app, &signed.access_token).await;
    assert_eq!(sessions[0].ip.as_deref(), Some("203.0.113.7"));
}

async fn the_refresh_cookie_name_and_secure_flag_are_configurable(backend: Backend) {
    let app = spawn(backend, &["--cookie-secure=false", "--refresh-cookie=lk-refresh"]).await;
    let response = app
        .post_json(
            "/api/auth/register",
            &json!({"email": EMAIL, "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert!(set_cookie(&response, REFRESH_COOKIE).is_none());
    let cookie = set_cookie(&response, "lk-refresh").expect("the configured name");
    assert!(!cookie.has("secure"), "{cookie:?}");
    assert!(
        cookie.has("httponly") && cookie.attr("path") == Some("/api/auth"),
        "{cookie:?}"
    );
    assert_eq!(
        cookie.attr("samesite").map(str::to_ascii_lowercase).as_deref(),
        Some("strict")
    );
    let refresh = |name: &str| {
        post(&app, "/api/auth/refresh", None)
            .header("cookie", format!("{name}={}", cookie.value))
            .json(&json!({}))
            .send()
    };
    // Only the configured name is read: under another name there is no
    // refresh cookie at all.
    let response = refresh(REFRESH_COOKIE).await.unwrap();
    assert_eq!(response.status(), 204);
    let response = refresh("lk-refresh").await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(set_cookie(&response, "lk-refresh").is_some_and(|c| c.value != cookie.value));
}

/// The configuration flags alone, as the binary parses them.
#[derive(clap::Parser)]
struct Flags {
    #[command(flatten)]
    config: latchkey::config::Config,
}

fn settings_from(flags: &[&str]) -> anyhow::Result<latchkey::config::Settings> {
    use clap::Parser as _;
    let args = std::iter::once("latchkey").chain(flags.iter().copied());
    Flags::try_parse_from(args)
        .map_err(anyhow::Error::from)?
        .config
        .validate()
}

/// A cookie browsers would drop (RFC 6265bis: `__Host-` needs `Path=/`; a
/// name is a token) would silently break every sign-in: refuse it at start.
/// (No database involved, so a plain test rather than one per backend.)
#[test]
fn refresh_cookie_names_browsers_would_drop_are_refused_at_start() {
    assert!(settings_from(&["--refresh-cookie=lk-refresh"]).is_ok());
    let accepted: Vec<&str> = [
        "__Host-latchkey-refresh",
        "",
        "bad name",
        "bad;name",
        "bad=name",
        "bad,name",
        "bäd",
    ]
    .into_iter()
    .filter(|name| settings_from(&[&format!("--refresh-cookie={name}")]).is_ok())
    .collect();
    assert!(
        accepted.is_empty(),
        "accepted as the refresh cookie's name: {accepted:?}"
    );
}

// --- replicas --------------------------------------------------------

/// Replicas behind one public origin, on one database.
const REPLICA_FLAGS: [&str; 2] = [
    "--public-origin=https://latchkey.example",
    "--rate-address-per-min=100000",
];

async fn replicas_share_keys_sessions_and_revocations(backend: Backend) {
    let a = spawn(backend, &REPLICA_FLAGS).await;
    let b = a.spawn_replica(&REPLICA_FLAGS).await;
    let signed = a.register(EMAIL, GOOD_PASSWORD).await;
    // One key set: a token from one replica is good on the other, and a
    // cookie from one refreshes on the other.
    assert_token_works(&b, &signed.access_token).await;
    let renewed = refresh_ok(&b, &signed.refresh).await;
    assert_token_works(&a, &renewed.access_token).await;

    // A logout on one replica reaches the other within a second.
    let other = b.login(EMAIL, GOOD_PASSWORD).await;
    let response = post(&a, "/api/auth/logout", Some(&other.refresh))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_token_dies_within_a_second(&b, &other.access_token).await;

    // Reuse detected on one replica kills the session on the other.
    let latest = refresh_ok(&a, &renewed.refresh).await;
    assert_refresh_refused(b.refresh_with(&signed.refresh).await).await;
    assert_token_dies_within_a_second(&a, &latest.access_token).await;
    assert_refresh_refused(a.refresh_with(&latest.refresh).await).await;
}

async fn rate_limits_hold_across_replicas(backend: Backend) {
    let flags = ["--public-origin=https://latchkey.example", "--rate-address-per-min=4"];
    let a = spawn(backend, &flags).await;
    let b = a.spawn_replica(&flags).await;
    // Both replicas must count in the same window: move both clocks alike.
    let into_minute = a.clock.now_ms().rem_euclid(60_000);
    if into_minute > 50_000 {
        for replica in [&a, &b] {
            replica
                .clock
                .advance(Duration::from_millis((60_500 - into_minute) as u64));
        }
    }
    let attempt = json!({"email": "nobody", "password": "x"});
    for replica in [&a, &b, &a, &b] {
        assert_eq!(replica.post_json("/api/auth/login", &attempt).await.status(), 401);
    }
    for replica in [&a, &b] {
        assert_retry_after(replica.post_json("/api/auth/login", &attempt).await, 60).await;
    }
}

// --- audit ---------------------------------------------------------------

async fn the_audit_log_records_every_auth_event(backend: Backend) {
    let app = spawn(backend, &["--refresh-grace-secs=30"]).await;
    let first = app.register(EMAIL, GOOD_PASSWORD).await;
    let user_id = first.body.user.id;
    app.post_json("/api/auth/login", &json!({"email": EMAIL, "password": NEW_PASSWORD}))
        .await;
    app.post_json(
        "/api/auth/login",
        &json!({"email": "nobody@example.com", "password": NEW_PASSWORD}),
    )
    .await;
    let second = app.login(EMAIL, GOOD_PASSWORD).await;
    // Reuse: the grandparent of the live token.
    let r1 = refresh_ok(&app, &second.refresh).await;
    refresh_ok(&app, &r1.refresh).await;
    app.refresh_with(&second.refresh).await;
    let third = app.login(EMAIL, GOOD_PASSWORD).await;
    let response = bare_client()
        .delete(app.url(&format!("/api/me/sessions/{}", sid_of(&third.access_token))))
        .bearer_auth(&first.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let response = bare_client()
        .post(app.url("/api/me/password"))
        .bearer_auth(&first.access_token)
        .json(&json!({"current_password": GOOD_PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let fourth = app.login(EMAIL, NEW_PASSWORD).await;
    assert_eq!(
        post(&app, "/api/auth/logout", Some(&fourth.refresh))
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let response = post(&app, "/api/auth/logout-all", None)
        .bearer_auth(&first.access_token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    let events = app
        .state
        .db
        .audit_events(100, None, None, None)
        .await
        .expect("audit events");
    let mine: Vec<_> = events.iter().filter(|e| e.user_id == Some(user_id)).collect();
    let names: Vec<&str> = mine.iter().rev().map(|e| e.event.as_str()).collect();
    for expected in [
        "user.registered",
        "login.failed",
        "login.succeeded",
        "refresh.reuse_detected",
        "session.revoked",
        "password.changed",
        "logout",
        "logout_all",
    ] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    let find = |name: &str| mine.iter().find(|e| e.event == name).unwrap();
    assert_eq!(find("user.registered").session_id, Some(sid_of(&first.access_token)));
    assert_eq!(
        find("refresh.reuse_detected").session_id,
        Some(sid_of(&second.access_token))
    );
    assert_eq!(find("session.revoked").session_id, Some(sid_of(&third.access_token)));
    assert_eq!(find("logout").session_id, Some(sid_of(&fourth.access_token)));
    for event in &mine {
        assert_eq!(event.ip.as_deref(), Some("127.0.0.1"), "{event:?}");
        assert_eq!(event.user_agent.as_deref(), Some(TEST_USER_AGENT), "{event:?}");
    }
    // The unknown email's failure is recorded without inventing a user.
    assert!(events.iter().any(|e| e.event == "login.failed" && e.user_id.is_none()));
    // No secret ever reaches the log.
    let log = serde_json::to_string(&events).unwrap();
    for secret in [
        GOOD_PASSWORD,
        NEW_PASSWORD,
        &first.refresh,
        &second.refresh,
        &first.access_token,
    ] {
        assert!(!log.contains(secret), "a secret is in the audit log");
    }
}

both_backends!(
    register_returns_tokens_and_a_locked_down_refresh_cookie,
    access_token_lifetime_follows_the_configuration,
    register_refuses_a_taken_email_whatever_its_case,
    register_explains_every_invalid_field,
    register_ignores_fields_that_would_choose_privileges,
    bodies_that_are_not_json_objects_are_refused,
    oversized_bodies_are_refused_before_parsing,
    passwords_are_bounded_in_bytes_and_counted_in_code_points,
    login_starts_a_new_session,
    failed_logins_are_indistinguishable,
    hostile_emails_never_break_the_server,
    me_requires_a_bearer_token_in_the_authorization_header,
    forged_and_foreign_tokens_are_refused,
    validly_signed_tokens_with_bad_claims_are_refused,
    jwks_publishes_public_keys_that_verify_our_tokens,
    patch_me_sets_and_clears_the_display_name,
    changing_the_password_revokes_every_other_session,
    sessions_can_be_listed_and_revoked,
    refresh_rotates_the_cookie_and_issues_a_new_access_token,
    refresh_reuse_after_the_grace_window_revokes_the_whole_session,
    an_older_ancestor_is_reuse_even_inside_the_window,
    refreshes_inside_the_window_get_the_same_successor,
    racing_refreshes_all_succeed_and_leave_one_live_token,
    cross_site_requests_change_nothing,
    safe_methods_change_nothing_and_cors_stays_off,
    logout_ends_the_session_of_the_cookie,
    logout_all_ends_every_session_of_the_user,
    repeated_wrong_passwords_lock_the_account,
    the_address_limit_applies_to_login_and_register_not_refresh,
    refresh_has_its_own_budget_per_address,
    signing_in_past_the_session_cap_evicts_the_oldest,
    idle_sessions_expire_and_use_keeps_them_alive,
    sessions_end_at_their_absolute_lifetime,
    forwarded_for_counts_only_from_trusted_proxies,
    the_refresh_cookie_name_and_secure_flag_are_configurable,
    replicas_share_keys_sessions_and_revocations,
    rate_limits_hold_across_replicas,
    concurrent_registrations_of_one_email_create_one_account,
    the_audit_log_records_every_auth_event,
);
