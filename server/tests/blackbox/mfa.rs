//! Second factors end to end, on SQLite and PostgreSQL: an authenticator
//! app (a software one here, computing RFC 6238 codes from the enrolment's
//! secret on the server's settable clock) is enrolled and confirmed,
//! sign-in becomes two steps in both modes, a code and a recovery code
//! work once (also under two concurrent submits), a challenge expires, and
//! step-up guards every sensitive action.

use std::time::Duration;

use latchkey::core::factors;
use serde_json::{Value, json};

use crate::common::{Backend, GOOD_PASSWORD, SignedIn, SmtpSink, TestApp, assert_error, bare_client, mailed_link};

const EMAIL: &str = "ada@example.com";
const STEP: Duration = Duration::from_secs(30);

async fn spawn(backend: Backend, flags: &[&str]) -> TestApp {
    // Access tokens that outlive the clock jumps below (step-up is about
    // the session's authentication time, not the token's).
    let mut all = vec!["--access-ttl-secs=3600"];
    all.extend_from_slice(flags);
    TestApp::spawn_unlimited(backend, &all).await
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = bare_client().request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> reqwest::Response {
    send(app, reqwest::Method::POST, path, token, Some(body)).await
}

/// The authenticator app: the secret it was given at enrolment.
pub(crate) struct App {
    secret: Vec<u8>,
}

impl App {
    /// The code it shows now, by the server's clock.
    pub(crate) fn code(&self, app: &TestApp) -> String {
        factors::code_at(&self.secret, (app.clock.now_ms() / 1000) as u64).unwrap()
    }
}

/// Enrols and confirms an authenticator app; returns it and the recovery codes.
pub(crate) async fn enrol(app: &TestApp, token: &str) -> (App, Vec<String>) {
    let response = post(app, "/api/me/mfa/totp", token, json!({})).await;
    assert_eq!(response.status(), 200);
    let enrolment: Value = response.json().await.unwrap();
    let uri = enrolment["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Latchkey:"), "{uri}");
    assert!(enrolment["qr_svg"].as_str().unwrap().contains("<svg"));
    let secret = factors::secret_from_base32(enrolment["secret"].as_str().unwrap()).unwrap();
    assert_eq!(secret.len(), 20, "160 bits");
    let authenticator = App { secret };
    let confirmed = post(
        app,
        "/api/me/mfa/totp/confirm",
        token,
        json!({ "code": authenticator.code(app) }),
    )
    .await;
    assert_eq!(confirmed.status(), 200);
    let codes: Value = confirmed.json().await.unwrap();
    let codes: Vec<String> = codes["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    (authenticator, codes)
}

/// A right password for an account with a second factor: the challenge.
async fn challenge(app: &TestApp, path: &str) -> String {
    let response = app
        .post_json(path, &json!({ "email": EMAIL, "password": GOOD_PASSWORD }))
        .await;
    assert!(response.headers().get("set-cookie").is_none(), "no credential yet");
    let body = assert_error(response, 401, "mfa_required").await;
    assert_eq!(body["mfa"]["expires_in"], 300);
    assert_eq!(body["mfa"]["methods"], json!(["totp", "recovery_code"]));
    body["mfa"]["challenge_id"].as_str().unwrap().to_string()
}

async fn verify(app: &TestApp, path: &str, challenge: &str, code: &str) -> reqwest::Response {
    app.post_json(path, &json!({ "challenge_id": challenge, "code": code }))
        .await
}

async fn sign_in_with_code(app: &TestApp, authenticator: &App) -> SignedIn {
    let challenge = challenge(app, "/api/auth/login").await;
    SignedIn::from_response(verify(app, "/api/auth/mfa/verify", &challenge, &authenticator.code(app)).await).await
}

async fn an_authenticator_app_makes_sign_in_two_steps_and_each_code_counts_once(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let ada = app.register(EMAIL, GOOD_PASSWORD).await;
    let status: Value = app
        .get_with_bearer("/api/me/mfa", &ada.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(status["totp_enabled_at"].is_null(), "{status}");

    // Confirming needs the code the app shows.
    assert_eq!(
        post(&app, "/api/me/mfa/totp", &ada.access_token, json!({}))
            .await
            .status(),
        200
    );
    let wrong = post(
        &app,
        "/api/me/mfa/totp/confirm",
        &ada.access_token,
        json!({ "code": "000000" }),
    )
    .await;
    assert_error(wrong, 422, "validation_failed").await;
    // Not active until then: sign-in is still one step.
    app.login(EMAIL, GOOD_PASSWORD).await;
    let (authenticator, recovery) = enrol(&app, &ada.access_token).await;
    // A second enrolment is refused while one is active.
    assert_error(
        post(&app, "/api/me/mfa/totp", &ada.access_token, json!({})).await,
        409,
        "conflict",
    )
    .await;
    let status: Value = app
        .get_with_bearer("/api/me/mfa", &ada.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(status["totp_enabled_at"].is_string(), "{status}");
    assert_eq!(status["recovery_codes_left"], 10);

    // Stored sealed and hashed only.
    let sealed: String = sqlx::query_scalar("SELECT sealed_secret FROM totp_factors")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert!(sealed.starts_with("sealed1:"));
    assert!(!sealed.contains(&factors::secret_base32(&authenticator.secret)));
    let stored: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM recovery_codes")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 10);
    assert!(
        recovery
            .iter()
            .all(|code| !stored.iter().any(|h| h.contains(&code.replace('-', ""))))
    );

    // The code that confirmed the app was used: the same step is a replay.
    let first = challenge(&app, "/api/auth/login").await;
    assert_error(
        verify(&app, "/api/auth/mfa/verify", &first, &authenticator.code(&app)).await,
        401,
        "invalid_credentials",
    )
    .await;
    // The next step's code signs in (the challenge survived the wrong code).
    app.clock.advance(STEP);
    let signed_in = verify(&app, "/api/auth/mfa/verify", &first, &authenticator.code(&app)).await;
    let signed_in = SignedIn::from_response(signed_in).await;
    assert_eq!(
        app.get_with_bearer("/api/me", &signed_in.access_token).await.status(),
        200
    );
    // A challenge starts one session.
    app.clock.advance(STEP);
    assert_error(
        verify(&app, "/api/auth/mfa/verify", &first, &authenticator.code(&app)).await,
        400,
        "invalid_token",
    )
    .await;

    // A recovery code works once, typed loosely.
    let second = challenge(&app, "/api/auth/login").await;
    let loose = recovery[0].to_uppercase().replace('-', " ");
    SignedIn::from_response(verify(&app, "/api/auth/mfa/verify", &second, &loose).await).await;
    let third = challenge(&app, "/api/auth/login").await;
    assert_error(
        verify(&app, "/api/auth/mfa/verify", &third, &recovery[0]).await,
        401,
        "invalid_credentials",
    )
    .await;
    let status: Value = app
        .get_with_bearer("/api/me/mfa", &ada.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["recovery_codes_left"], 9);

    // A challenge lasts five minutes.
    app.clock.advance(Duration::from_secs(301));
    assert_error(
        verify(&app, "/api/auth/mfa/verify", &third, &authenticator.code(&app)).await,
        400,
        "invalid_token",
    )
    .await;

    // Session mode: the same two steps, ending in a session cookie; a
    // challenge made for one mode does not start the other.
    let jwt_challenge = challenge(&app, "/api/auth/login").await;
    let cookie_challenge = challenge(&app, "/api/session/login").await;
    app.clock.advance(STEP);
    assert_error(
        verify(
            &app,
            "/api/session/mfa/verify",
            &jwt_challenge,
            &authenticator.code(&app),
        )
        .await,
        400,
        "invalid_token",
    )
    .await;
    let session = verify(
        &app,
        "/api/session/mfa/verify",
        &cookie_challenge,
        &authenticator.code(&app),
    )
    .await;
    assert_eq!(session.status(), 200);
    assert!(crate::common::set_cookie(&session, "__Host-latchkey-session").is_some());
    let body: Value = session.json().await.unwrap();
    assert!(body["csrf_token"].is_string() && body["user"]["email"] == EMAIL);

    let events = app.state.db.audit_events_for_user(ada.body.user.id).await.unwrap();
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    for expected in [
        "mfa.totp_enrolment_started",
        "mfa.totp_enabled",
        "login.second_factor_required",
        "mfa.failed",
        "mfa.recovery_code_used",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    assert!(
        events
            .iter()
            .any(|e| e.event == "login.succeeded" && e.detail.as_ref().is_some_and(|d| d["factor"] == "recovery_code")),
        "the sign-in says which factor"
    );
}

async fn one_code_on_two_racing_challenges_starts_one_session(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let ada = app.register(EMAIL, GOOD_PASSWORD).await;
    let (authenticator, recovery) = enrol(&app, &ada.access_token).await;
    app.clock.advance(STEP);
    for code in [authenticator.code(&app), recovery[1].clone()] {
        let a = challenge(&app, "/api/auth/login").await;
        let b = challenge(&app, "/api/auth/login").await;
        let (x, y) = tokio::join!(
            verify(&app, "/api/auth/mfa/verify", &a, &code),
            verify(&app, "/api/auth/mfa/verify", &b, &code)
        );
        let mut statuses = [x.status().as_u16(), y.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 401], "{code}");
    }
}

async fn sensitive_actions_need_a_recent_authentication(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let ada = app.register(EMAIL, GOOD_PASSWORD).await;
    let token = ada.access_token.as_str();
    // Fresh from registration: allowed. Ten minutes on: not.
    app.clock.advance(Duration::from_secs(601));
    let change_password =
        json!({ "current_password": GOOD_PASSWORD, "new_password": "amber-kettle-sings-over-granite" });
    assert_error(
        post(&app, "/api/me/password", token, change_password.clone()).await,
        401,
        "reauth_required",
    )
    .await;
    let change_email = json!({ "new_email": "ada@elsewhere.example", "password": GOOD_PASSWORD });
    assert_error(
        post(&app, "/api/me/email", token, change_email).await,
        401,
        "reauth_required",
    )
    .await;
    assert_error(
        post(&app, "/api/me/mfa/totp", token, json!({})).await,
        401,
        "reauth_required",
    )
    .await;
    // The session is still good for everything else.
    assert_eq!(app.get_with_bearer("/api/me", token).await.status(), 200);

    let wrong = post(
        &app,
        "/api/me/reauth",
        token,
        json!({ "password": "not-the-password-at-all" }),
    )
    .await;
    assert_error(wrong, 422, "validation_failed").await;
    assert_eq!(
        post(&app, "/api/me/reauth", token, json!({ "password": GOOD_PASSWORD }))
            .await
            .status(),
        204
    );
    let (authenticator, _) = enrol(&app, token).await;
    let elsewhere = {
        app.clock.advance(STEP);
        sign_in_with_code(&app, &authenticator).await
    };

    // With a second factor, the password alone is not a full authentication.
    app.clock.advance(Duration::from_secs(601));
    assert_error(
        send(&app, reqwest::Method::DELETE, "/api/me/mfa/totp", token, None).await,
        401,
        "reauth_required",
    )
    .await;
    let body = assert_error(
        post(&app, "/api/me/reauth", token, json!({ "password": GOOD_PASSWORD })).await,
        422,
        "validation_failed",
    )
    .await;
    assert!(body["fields"]["code"].is_array(), "{body}");
    let reauth = json!({ "password": GOOD_PASSWORD, "code": authenticator.code(&app) });
    assert_eq!(post(&app, "/api/me/reauth", token, reauth.clone()).await.status(), 204);
    // The code counted: the same one again is refused.
    assert_error(
        post(&app, "/api/me/reauth", token, reauth).await,
        422,
        "validation_failed",
    )
    .await;

    // New recovery codes end every other session at once.
    let codes = post(&app, "/api/me/mfa/recovery-codes", token, json!({})).await;
    assert_eq!(codes.status(), 200);
    assert_error(
        app.get_with_bearer("/api/me", &elsewhere.access_token).await,
        401,
        "invalid_token",
    )
    .await;
    assert_eq!(app.get_with_bearer("/api/me", token).await.status(), 200);
    // So does removing the app; sign-in is one step again.
    app.clock.advance(STEP);
    let another = sign_in_with_code(&app, &authenticator).await;
    assert_eq!(
        send(&app, reqwest::Method::DELETE, "/api/me/mfa/totp", token, None)
            .await
            .status(),
        204
    );
    assert_error(
        app.get_with_bearer("/api/me", &another.access_token).await,
        401,
        "invalid_token",
    )
    .await;
    app.login(EMAIL, GOOD_PASSWORD).await;
    assert_eq!(
        post(&app, "/api/me/password", token, change_password).await.status(),
        204
    );

    // An administrator's role changes need it too (a status change does not).
    sqlx::query("UPDATE users SET role = 'admin'")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let admin = app.login(EMAIL, "amber-kettle-sings-over-granite").await;
    let bob = app.register("bob@example.com", GOOD_PASSWORD).await;
    app.clock.advance(Duration::from_secs(601));
    let path = format!("/api/admin/users/{}", bob.body.user.id);
    let promote = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        &admin.access_token,
        Some(json!({ "role": "admin" })),
    )
    .await;
    assert_error(promote, 401, "reauth_required").await;
    let disable = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        &admin.access_token,
        Some(json!({ "disabled": true })),
    )
    .await;
    assert_eq!(disable.status(), 200);
    let names: Vec<String> = app
        .state
        .db
        .audit_events_for_user(ada.body.user.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    for expected in [
        "reauth.succeeded",
        "reauth.failed",
        "mfa.recovery_codes_regenerated",
        "mfa.totp_disabled",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} in {names:?}");
    }
}

async fn a_reset_link_alone_does_not_pass_the_second_factor(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn(backend, &[&sink.url()]).await;
    let ada = app.register(EMAIL, GOOD_PASSWORD).await;
    let (authenticator, _) = enrol(&app, &ada.access_token).await;
    sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(
        app.post_json("/api/auth/password/forgot", &json!({ "email": EMAIL }))
            .await
            .status(),
        202
    );
    let mails = sink.wait_for(2, Duration::from_secs(10)).await;
    let (_, token) = mailed_link(&mails[1]);
    let new_password = "amber-kettle-sings-over-granite";
    let without = app
        .post_json(
            "/api/auth/password/reset",
            &json!({ "token": token, "password": new_password }),
        )
        .await;
    let body = assert_error(without, 422, "validation_failed").await;
    assert!(body["fields"]["code"].is_array(), "{body}");
    app.clock.advance(STEP);
    let with = app
        .post_json(
            "/api/auth/password/reset",
            &json!({ "token": token, "password": new_password, "code": authenticator.code(&app) }),
        )
        .await;
    SignedIn::from_response(with).await;
    // Every earlier session ended with the reset.
    assert_error(
        app.get_with_bearer("/api/me", &ada.access_token).await,
        401,
        "invalid_token",
    )
    .await;
}

async fn admins_see_and_reset_factors_and_can_be_made_to_have_one(backend: Backend) {
    let app = spawn(backend, &["--require-mfa-for-admins=true"]).await;
    app.register(EMAIL, GOOD_PASSWORD).await;
    sqlx::query("UPDATE users SET role = 'admin'")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let admin = app.login(EMAIL, GOOD_PASSWORD).await;
    // Without a second factor of their own, the admin area is closed.
    let refused = app.get_with_bearer("/api/admin/users", &admin.access_token).await;
    let body = assert_error(refused, 403, "forbidden").await;
    assert!(body["message"].as_str().unwrap().contains("two-step"), "{body}");
    let (authenticator, _) = enrol(&app, &admin.access_token).await;
    let list: Value = app
        .get_with_bearer("/api/admin/users", &admin.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(list["users"][0]["factors"]["totp_enabled_at"].is_string(), "{list}");
    assert_eq!(list["users"][0]["factors"]["recovery_codes_left"], 10);

    // A member with an app, who lost their phone.
    let bob = app.register("bob@example.com", GOOD_PASSWORD).await;
    app.clock.advance(STEP);
    let (_, _) = enrol(&app, &bob.access_token).await;
    let list: Value = app
        .get_with_bearer("/api/admin/users?q=bob", &admin.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(list["users"][0]["factors"]["totp_enabled_at"].is_string(), "{list}");
    let path = format!("/api/admin/users/{}/mfa", bob.body.user.id);
    // A stale administrator sign-in must be refreshed first.
    app.clock.advance(Duration::from_secs(601));
    let stale = send(&app, reqwest::Method::DELETE, &path, &admin.access_token, None).await;
    assert_error(stale, 401, "reauth_required").await;
    let reauth = json!({ "password": GOOD_PASSWORD, "code": authenticator.code(&app) });
    assert_eq!(
        post(&app, "/api/me/reauth", &admin.access_token, reauth).await.status(),
        204
    );
    assert_eq!(
        send(&app, reqwest::Method::DELETE, &path, &admin.access_token, None)
            .await
            .status(),
        204
    );
    // Bob's sessions ended; he signs in with the password alone.
    assert_error(
        app.get_with_bearer("/api/me", &bob.access_token).await,
        401,
        "invalid_token",
    )
    .await;
    let response = app
        .post_json(
            "/api/auth/login",
            &json!({ "email": "bob@example.com", "password": GOOD_PASSWORD }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let again = send(&app, reqwest::Method::DELETE, &path, &admin.access_token, None).await;
    assert_error(again, 404, "not_found").await;
    let events = app
        .state
        .db
        .audit_events(10, None, Some("admin.factors_reset"), Some(bob.body.user.id))
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor_id, Some(admin.body.user.id));
    assert_eq!(events[0].detail.as_ref().unwrap()["sessions_revoked"], 1);
}

crate::both_backends!(
    admins_see_and_reset_factors_and_can_be_made_to_have_one,
    an_authenticator_app_makes_sign_in_two_steps_and_each_code_counts_once,
    one_code_on_two_racing_challenges_starts_one_session,
    sensitive_actions_need_a_recent_authentication,
    a_reset_link_alone_does_not_pass_the_second_factor,
);
