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

crate::both_backends!(
    a_registration_mails_a_link_that_verifies_once,
    two_concurrent_submits_of_one_link_succeed_once,
    links_expire_and_a_newer_one_ends_the_older,
    a_mailbox_gets_a_few_links_an_hour_at_most,
    a_relay_that_is_down_delays_mail_and_loses_none,
    without_a_relay_mails_are_files,
);
