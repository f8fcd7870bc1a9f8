//! Email verification through a real SMTP conversation (`SmtpSink`): the
//! link a registration mails, its single use (also under two concurrent
//! submits), expiry on the server's clock, a newer link ending the older,
//! the per-mailbox limit, a relay that is down (the mail waits in the
//! outbox and leaves when it is back), and the `.eml` files of a server
//! without a relay. Each test runs on SQLite and PostgreSQL.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Backend, GOOD_PASSWORD, SmtpSink, TestApp, assert_error, bare_client, mailed_link};

const EMAIL: &str = "ada@example.com";
const MAIL_WAIT: Duration = Duration::from_secs(10);

async fn spawn(backend: Backend, flags: &[&str]) -> TestApp {
    TestApp::spawn_unlimited(backend, flags).await
}

async fn verify(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/api/auth/email/verify", &json!({ "token": token }))
        .await
}

async fn resend(app: &TestApp, access_token: &str) -> reqwest::Response {
    bare_client()
        .post(app.url("/api/me/email/verify"))
        .bearer_auth(access_token)
        .json(&json!({}))
        .send()
        .await
        .expect("request")
}

async fn me(app: &TestApp, access_token: &str) -> Value {
    app.get_with_bearer("/api/me", access_token)
        .await
        .json()
        .await
        .expect("a user")
}

async fn a_registration_mails_a_link_that_verifies_once(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn(backend, &[&sink.url(), "--public-origin=https://latchkey.example"]).await;
    let ada = app.register(EMAIL, GOOD_PASSWORD).await;
    let answered = Instant::now();
    let mail = sink.wait_for(1, MAIL_WAIT).await.remove(0);
    eprintln!(
        "MEASURE registration answered → mail at the relay: {:?}",
        answered.elapsed()
    );
    assert!(mail.contains("To: ada@example.com"), "{mail}");
    assert!(mail.contains("Content-Type: text/plain") && mail.contains("Content-Type: text/html"));
    let (link, token) = mailed_link(&mail);
    assert!(
        link.starts_with("https://latchkey.example/verify-email#token="),
        "{link}"
    );
    assert_eq!(token.len(), 43, "256 bits, base64url");
    assert!(me(&app, &ada.access_token).await["email_verified_at"].is_null());

    let verified = verify(&app, &token).await;
    assert_eq!(verified.status(), 200);
    let user: Value = verified.json().await.unwrap();
    assert!(user["email_verified_at"].is_string(), "{user}");
    assert!(me(&app, &ada.access_token).await["email_verified_at"].is_string());
    // Single use: the same link again is refused, and changes nothing.
    assert_error(verify(&app, &token).await, 400, "invalid_token").await;
    // Only the hash is stored.
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM email_tokens WHERE token_hash = $1")
        .bind(&token)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    let events = app.state.db.audit_events_for_user(ada.body.user.id).await.unwrap();
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert!(
        names.contains(&"email.verification_sent") && names.contains(&"email.verified"),
        "{names:?}"
    );
}

async fn two_concurrent_submits_of_one_link_succeed_once(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn(backend, &[&sink.url()]).await;
    app.register(EMAIL, GOOD_PASSWORD).await;
    let (_, token) = mailed_link(&sink.wait_for(1, MAIL_WAIT).await[0]);
    let (a, b) = tokio::join!(verify(&app, &token), verify(&app, &token));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 400]);
}

async fn links_expire_and_a_newer_one_ends_the_older(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn(
        backend,
        &[&sink.url(), "--verify-ttl-secs=3600", "--access-ttl-secs=86400"],
    )
    .await;
    let ada = app.register(EMAIL, GOOD_PASSWORD).await;
    let (_, first) = mailed_link(&sink.wait_for(1, MAIL_WAIT).await[0]);
    assert_eq!(resend(&app, &ada.access_token).await.status(), 202);
    let (_, second) = mailed_link(&sink.wait_for(2, MAIL_WAIT).await[1]);
    assert_ne!(first, second);
    assert_error(verify(&app, &first).await, 400, "invalid_token").await;
    // The newer one works for an hour, not longer.
    app.clock.advance(Duration::from_secs(3601));
    assert_error(verify(&app, &second).await, 400, "invalid_token").await;
    assert!(me(&app, &ada.access_token).await["email_verified_at"].is_null());
    // Asking again works, and a verified address gets no more mail.
    assert_eq!(resend(&app, &ada.access_token).await.status(), 202);
    let (_, third) = mailed_link(&sink.wait_for(3, MAIL_WAIT).await[2]);
    assert_eq!(verify(&app, &third).await.status(), 200);
    assert_eq!(resend(&app, &ada.access_token).await.status(), 202);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 3, "no link for a verified address");
}

async fn a_mailbox_gets_a_few_links_an_hour_at_most(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn(backend, &[&sink.url(), "--access-ttl-secs=86400"]).await;
    let ada = app.register(EMAIL, GOOD_PASSWORD).await;
    for _ in 0..4 {
        assert_eq!(resend(&app, &ada.access_token).await.status(), 202);
    }
    let limited = resend(&app, &ada.access_token).await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_error(limited, 429, "rate_limited").await;
    sink.wait_for(5, MAIL_WAIT).await;
    // An hour later the mailbox may get another.
    app.clock.advance(Duration::from_secs(3600));
    assert_eq!(resend(&app, &ada.access_token).await.status(), 202);
}

async fn a_relay_that_is_down_delays_mail_and_loses_none(backend: Backend) {
    let relay = SmtpSink::free_addr();
    let app = spawn(backend, &[&SmtpSink::url_for(relay)]).await;
    app.register(EMAIL, GOOD_PASSWORD).await;
    // The first attempt fails; the mail stays queued with its error.
    let deadline = Instant::now() + MAIL_WAIT;
    loop {
        let failed: Option<(i64, Option<String>)> =
            sqlx::query_as("SELECT attempts, last_error FROM outbox WHERE sent_at IS NULL")
                .fetch_optional(&app.state.db.pool)
                .await
                .unwrap();
        if let Some((attempts, Some(_))) = failed {
            assert!(attempts >= 1);
            break;
        }
        assert!(Instant::now() < deadline, "no failed attempt recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The relay comes back; once the retry is due, the mail leaves.
    let sink = SmtpSink::start_on(relay).await;
    app.clock.advance(Duration::from_secs(60));
    let mail = sink.wait_for(1, MAIL_WAIT).await.remove(0);
    assert!(mail.contains("To: ada@example.com"));
    let (_, token) = mailed_link(&mail);
    assert_eq!(verify(&app, &token).await.status(), 200);
    let unsent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(unsent, 0);
}

async fn without_a_relay_mails_are_files(backend: Backend) {
    let app = spawn(backend, &[]).await;
    app.register(EMAIL, GOOD_PASSWORD).await;
    let dir = app.db.key_file.with_file_name("mail");
    let deadline = Instant::now() + MAIL_WAIT;
    let file = loop {
        let found = std::fs::read_dir(&dir).ok().and_then(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "eml"))
        });
        if let Some(file) = found {
            break file;
        }
        assert!(Instant::now() < deadline, "no .eml file under {}", dir.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mail = std::fs::read_to_string(file).unwrap();
    let (_, token) = mailed_link(&mail);
    assert_eq!(verify(&app, &token).await.status(), 200);
}

// --- forgot / reset ----------------------------------------------------

const NEW_PASSWORD: &str = "amber-kettle-sings-over-granite";

async fn forgot(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_json("/api/auth/password/forgot", &json!({ "email": email }))
        .await
}

async fn reset(app: &TestApp, path: &str, token: &str, password: &str) -> reqwest::Response {
    app.post_json(path, &json!({ "token": token, "password": password }))
        .await
}

/// The reset link among the mails, the newest first.
fn reset_token(mails: &[String]) -> String {
    let mail = mails
        .iter()
        .rev()
        .find(|m| m.contains("Subject: Reset your password"))
        .expect("a reset mail");
    mailed_link(mail).1
}

async fn forgot_answers_alike_and_mails_only_accounts(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn(backend, &[&sink.url()]).await;
    app.register(EMAIL, GOOD_PASSWORD).await;
    sink.wait_for(1, MAIL_WAIT).await;
    let known = forgot(&app, EMAIL).await;
    let unknown = forgot(&app, "nobody@example.com").await;
    let malformed = forgot(&app, "not an address").await;
    for response in [known, unknown, malformed] {
        assert_eq!(response.status(), 202);
        assert_eq!(response.text().await.unwrap(), "", "the same (empty) body");
    }
    // Longer than any address: invalid input, not an answer about accounts.
    let too_long = forgot(&app, &format!("{}@example.com", "a".repeat(250))).await;
    assert_error(too_long, 422, "validation_failed").await;
    let mails = sink.wait_for(2, MAIL_WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 2, "no mail for an address without an account");
    assert!(mails[1].contains("To: ada@example.com") && mails[1].contains("Subject: Reset your password"));
    let (link, _) = mailed_link(&mails[1]);
    assert!(link.contains("/reset-password#token="), "{link}");
}

async fn a_reset_signs_in_here_and_ends_every_other_session(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn(backend, &[&sink.url()]).await;
    let here = app.register(EMAIL, GOOD_PASSWORD).await;
    let elsewhere = app.login(EMAIL, GOOD_PASSWORD).await;
    assert_eq!(forgot(&app, EMAIL).await.status(), 202);
    let token = reset_token(&sink.wait_for(2, MAIL_WAIT).await);
    // A refused password uses nothing up.
    let weak = reset(&app, "/api/auth/password/reset", &token, "short").await;
    assert_error(weak, 422, "validation_failed").await;
    let started = Instant::now();
    let response = reset(&app, "/api/auth/password/reset", &token, NEW_PASSWORD).await;
    assert_eq!(response.status(), 200);
    let signed_in = crate::common::SignedIn::from_response(response).await;
    assert!(
        signed_in.body.user.email_verified_at.is_some(),
        "the mail reached the address"
    );
    // Every earlier session is over, its access tokens within a second.
    for old in [&here, &elsewhere] {
        assert_error(app.refresh_with(&old.refresh).await, 401, "invalid_refresh_token").await;
        loop {
            let status = app.get_with_bearer("/api/me", &old.access_token).await.status();
            if status == 401 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "an old access token outlived the reset"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    eprintln!(
        "MEASURE reset answered → old access tokens refused: {:?}",
        started.elapsed()
    );
    assert_eq!(
        app.get_with_bearer("/api/me", &signed_in.access_token).await.status(),
        200
    );
    // The new password is the password; the link is used up.
    let old_password = app
        .post_json("/api/auth/login", &json!({"email": EMAIL, "password": GOOD_PASSWORD}))
        .await;
    assert_error(old_password, 401, "invalid_credentials").await;
    app.login(EMAIL, NEW_PASSWORD).await;
    assert_error(
        reset(&app, "/api/auth/password/reset", &token, NEW_PASSWORD).await,
        400,
        "invalid_token",
    )
    .await;
    let events = app.state.db.audit_events_for_user(here.body.user.id).await.unwrap();
    assert!(events.iter().any(|e| e.event == "password.reset"), "{events:?}");
}

async fn reset_links_expire_end_each_other_and_end_with_a_password_change(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn(
        backend,
        &[&sink.url(), "--reset-ttl-secs=600", "--access-ttl-secs=86400"],
    )
    .await;
    let ada = app.register(EMAIL, GOOD_PASSWORD).await;
    forgot(&app, EMAIL).await;
    let first = reset_token(&sink.wait_for(2, MAIL_WAIT).await);
    forgot(&app, EMAIL).await;
    let second = reset_token(&sink.wait_for(3, MAIL_WAIT).await);
    assert_error(
        reset(&app, "/api/auth/password/reset", &first, NEW_PASSWORD).await,
        400,
        "invalid_token",
    )
    .await;
    // Expired after ten minutes.
    app.clock.advance(Duration::from_secs(601));
    assert_error(
        reset(&app, "/api/auth/password/reset", &second, NEW_PASSWORD).await,
        400,
        "invalid_token",
    )
    .await;
    // A password change ends an outstanding link.
    forgot(&app, EMAIL).await;
    let third = reset_token(&sink.wait_for(4, MAIL_WAIT).await);
    // Ten minutes on, a password change needs a fresh authentication first.
    let fresh = bare_client()
        .post(app.url("/api/me/reauth"))
        .bearer_auth(&ada.access_token)
        .json(&json!({ "password": GOOD_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 204);
    let changed = bare_client()
        .post(app.url("/api/me/password"))
        .bearer_auth(&ada.access_token)
        .json(&json!({"current_password": GOOD_PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 204);
    assert_error(
        reset(
            &app,
            "/api/auth/password/reset",
            &third,
            "another-quiet-passphrase-of-ours",
        )
        .await,
        400,
        "invalid_token",
    )
    .await;
}

async fn two_concurrent_resets_with_one_link_succeed_once(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn(backend, &[&sink.url()]).await;
    app.register(EMAIL, GOOD_PASSWORD).await;
    forgot(&app, EMAIL).await;
    let token = reset_token(&sink.wait_for(2, MAIL_WAIT).await);
    let (a, b) = tokio::join!(
        reset(&app, "/api/auth/password/reset", &token, NEW_PASSWORD),
        reset(
            &app,
            "/api/session/password/reset",
            &token,
            "another-quiet-passphrase-of-ours"
        ),
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 400]);
}

async fn a_reset_in_session_mode_signs_in_with_a_session_cookie(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn(backend, &[&sink.url()]).await;
    app.register(EMAIL, GOOD_PASSWORD).await;
    forgot(&app, EMAIL).await;
    let token = reset_token(&sink.wait_for(2, MAIL_WAIT).await);
    let response = reset(&app, "/api/session/password/reset", &token, NEW_PASSWORD).await;
    assert_eq!(response.status(), 200);
    assert!(crate::common::set_cookie(&response, "__Host-latchkey-session").is_some());
    let body: Value = response.json().await.unwrap();
    assert!(body["csrf_token"].is_string());
    assert_eq!(body["user"]["email"], EMAIL);
}

// --- change email --------------------------------------------------------

async fn change_email(app: &TestApp, access_token: &str, new_email: &str, password: &str) -> reqwest::Response {
    bare_client()
        .post(app.url("/api/me/email"))
        .bearer_auth(access_token)
        .json(&json!({ "new_email": new_email, "password": password }))
        .send()
        .await
        .expect("request")
}

async fn a_new_address_counts_once_it_confirms_and_the_old_one_is_told(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn(backend, &[&sink.url()]).await;
    let ada = app.register(EMAIL, GOOD_PASSWORD).await;
    sink.wait_for(1, MAIL_WAIT).await;
    let asked = change_email(&app, &ada.access_token, "ada@new.example", GOOD_PASSWORD).await;
    assert_eq!(asked.status(), 202);
    let mails = sink.wait_for(3, MAIL_WAIT).await;
    let to_new = mails
        .iter()
        .find(|m| m.contains("To: ada@new.example"))
        .expect("a link to the new address");
    let to_old = mails[1..]
        .iter()
        .find(|m| m.contains("To: ada@example.com"))
        .expect("a notice to the old address");
    assert!(!to_old.contains("token="), "the notice carries no link");
    // Nothing changes until the new address confirms.
    assert_eq!(me(&app, &ada.access_token).await["email"], EMAIL);
    let (_, token) = mailed_link(to_new);
    let confirmed = verify(&app, &token).await;
    assert_eq!(confirmed.status(), 200);
    let user: Value = confirmed.json().await.unwrap();
    assert_eq!(user["email"], "ada@new.example");
    assert!(user["email_verified_at"].is_string());
    app.login("ada@new.example", GOOD_PASSWORD).await;
    let old = app
        .post_json("/api/auth/login", &json!({"email": EMAIL, "password": GOOD_PASSWORD}))
        .await;
    assert_error(old, 401, "invalid_credentials").await;
    let events = app.state.db.audit_events_for_user(ada.body.user.id).await.unwrap();
    assert!(events.iter().any(|e| e.event == "email.changed"), "{events:?}");
}

async fn a_change_needs_the_password_a_free_address_and_a_new_one(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn(backend, &[&sink.url()]).await;
    let ada = app.register(EMAIL, GOOD_PASSWORD).await;
    app.register("bob@example.com", GOOD_PASSWORD).await;
    let wrong = change_email(&app, &ada.access_token, "ada@new.example", "not the password at all").await;
    let body = assert_error(wrong, 422, "validation_failed").await;
    assert!(body["fields"]["password"].is_array(), "{body}");
    let taken = change_email(&app, &ada.access_token, "BOB@example.com", GOOD_PASSWORD).await;
    assert_error(taken, 409, "email_taken").await;
    let same = change_email(&app, &ada.access_token, "ADA@example.com", GOOD_PASSWORD).await;
    assert_error(same, 422, "validation_failed").await;
    let bad = change_email(&app, &ada.access_token, "not an address", GOOD_PASSWORD).await;
    assert_error(bad, 422, "validation_failed").await;
    // Taken between the request and the confirmation: nothing changes.
    assert_eq!(
        change_email(&app, &ada.access_token, "carol@example.com", GOOD_PASSWORD)
            .await
            .status(),
        202
    );
    let mails = sink.wait_for(4, MAIL_WAIT).await;
    let link_mail = mails
        .iter()
        .find(|m| m.contains("To: carol@example.com"))
        .expect("the link");
    let (_, token) = mailed_link(link_mail);
    app.register("carol@example.com", GOOD_PASSWORD).await;
    assert_error(verify(&app, &token).await, 409, "email_taken").await;
    assert_eq!(me(&app, &ada.access_token).await["email"], EMAIL);
}

// --- sign-in needs a verified address ---------------------------------

async fn login_status(app: &TestApp, path: &str, email: &str, password: &str) -> reqwest::Response {
    app.post_json(path, &json!({ "email": email, "password": password }))
        .await
}

/// `LATCHKEY_REQUIRE_VERIFIED_EMAIL=true`: registration starts no session,
/// a right password for an unverified address is 403 `email_unverified`
/// (a wrong one stays 401), a new link can be asked for by address (the
/// answer says nothing about accounts), and the link opens the door.
async fn where_sign_in_needs_a_verified_address_the_link_opens_the_door(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn(backend, &[&sink.url(), "--require-verified-email=true"]).await;
    for (path, email) in [
        ("/api/auth/register", EMAIL),
        ("/api/session/register", "bob@example.com"),
    ] {
        let response = app
            .post_json(path, &json!({ "email": email, "password": GOOD_PASSWORD }))
            .await;
        assert_eq!(response.status(), 202, "{path}");
        assert!(response.headers().get("set-cookie").is_none(), "{path}: no credential");
        let user: Value = response.json().await.unwrap();
        assert_eq!(user["email"], email);
        assert!(user["email_verified_at"].is_null());
    }
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(sessions, 0, "registration started no session");
    let first = sink.wait_for(2, MAIL_WAIT).await;

    for path in ["/api/auth/login", "/api/session/login"] {
        let refused = login_status(&app, path, EMAIL, GOOD_PASSWORD).await;
        assert!(refused.headers().get("set-cookie").is_none());
        assert_error(refused, 403, "email_unverified").await;
        // Without the password, nothing about the address is told.
        assert_error(
            login_status(&app, path, EMAIL, "wrong-password-entirely-here").await,
            401,
            "invalid_credentials",
        )
        .await;
    }

    // A new link, by address; the same empty 202 for an unknown address.
    for email in [EMAIL, "nobody@example.com"] {
        let response = app
            .post_json("/api/auth/email/resend", &json!({ "email": email }))
            .await;
        assert_eq!(response.status(), 202);
        assert_eq!(response.text().await.unwrap(), "");
    }
    let mails = sink.wait_for(3, MAIL_WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 3, "no mail for an address without an account");
    assert!(mails[2].contains("To: ada@example.com"), "{}", mails[2]);
    let ada_first = first.iter().find(|m| m.contains("To: ada@example.com")).unwrap();
    // The newer link ended the older one.
    assert_error(verify(&app, &mailed_link(ada_first).1).await, 400, "invalid_token").await;
    assert_eq!(verify(&app, &mailed_link(&mails[2]).1).await.status(), 200);
    let signed_in = login_status(&app, "/api/auth/login", EMAIL, GOOD_PASSWORD).await;
    assert_eq!(signed_in.status(), 200);
    // A verified address asks for nothing more.
    let response = app
        .post_json("/api/auth/email/resend", &json!({ "email": EMAIL }))
        .await;
    assert_eq!(response.status(), 202);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 3, "no link for a verified address");

    // A reset link proves the mailbox too: it signs the other account in.
    assert_eq!(forgot(&app, "bob@example.com").await.status(), 202);
    let token = reset_token(&sink.wait_for(4, MAIL_WAIT).await);
    let reset = reset(&app, "/api/session/password/reset", &token, NEW_PASSWORD).await;
    assert_eq!(reset.status(), 200);
    assert_eq!(
        login_status(&app, "/api/session/login", "bob@example.com", NEW_PASSWORD)
            .await
            .status(),
        200
    );

    let events = app
        .state
        .db
        .audit_events(50, None, Some("login.failed"), None)
        .await
        .unwrap();
    assert!(
        events.iter().any(|e| e.event.as_str() == "login.failed"
            && e.detail.as_ref().is_some_and(|d| d["reason"] == "email_unverified")),
        "the refusal is audited"
    );
}

crate::both_backends!(
    where_sign_in_needs_a_verified_address_the_link_opens_the_door,
    forgot_answers_alike_and_mails_only_accounts,
    a_reset_signs_in_here_and_ends_every_other_session,
    reset_links_expire_end_each_other_and_end_with_a_password_change,
    two_concurrent_resets_with_one_link_succeed_once,
    a_reset_in_session_mode_signs_in_with_a_session_cookie,
    a_new_address_counts_once_it_confirms_and_the_old_one_is_told,
    a_change_needs_the_password_a_free_address_and_a_new_one,
    a_registration_mails_a_link_that_verifies_once,
    two_concurrent_submits_of_one_link_succeed_once,
    links_expire_and_a_newer_one_ends_the_older,
    a_mailbox_gets_a_few_links_an_hour_at_most,
    a_relay_that_is_down_delays_mail_and_loses_none,
    without_a_relay_mails_are_files,
);
