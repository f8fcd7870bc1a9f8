//! The `latchkey` binary's command line, good and bad paths, run as a
//! process the way an operator runs it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::common::{Backend, TestDb};
use latchkey::store::Db;

fn latchkey(db_url: &str, args: &[&str], stdin: &str) -> Output {
    run(db_url, None, args, stdin)
}

/// `latchkey` on a test database, with the key file its servers use.
fn latchkey_on(db: &TestDb, args: &[&str], stdin: &str) -> Output {
    run(&db.url, Some(&db.key_file), args, stdin)
}

fn run(db_url: &str, key_file: Option<&std::path::Path>, args: &[&str], stdin: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .args(args)
        .env("DATABASE_URL", db_url)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(path) = key_file {
        command.env("LATCHKEY_KEY_ENCRYPTION_KEY_FILE", path);
    }
    let mut child = command.spawn().expect("latchkey runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Exactly one line, starting `error:`, and no panic or backtrace.
fn assert_one_line_error(output: &Output, needle: &str) {
    assert!(!output.status.success(), "exit code 0");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "stderr: {stderr}");
    assert!(lines[0].starts_with("error: "), "stderr: {stderr}");
    assert!(lines[0].contains(needle), "stderr lacks {needle:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}

/// Users in the database (migrating first: a refused command may not even
/// have created the schema, which is also "nothing written").
async fn user_count(url: &str) -> i64 {
    let db = Db::connect(url).await.unwrap();
    db.migrate().await.unwrap();
    db.count_users().await.unwrap()
}

const GOOD_PASSWORD: &str = "correct horse battery staple\n";

async fn user_create_makes_an_account_that_can_be_found(backend: Backend) {
    let db = TestDb::new(backend).await;
    let out = latchkey_on(
        &db,
        &[
            "user",
            "create",
            "--email",
            "Ada@Example.com",
            "--role",
            "admin",
            "--display-name",
            "Ada",
        ],
        GOOD_PASSWORD,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("created admin user Ada@Example.com"));
    let store = Db::connect(&db.url).await.unwrap();
    let email = latchkey::core::identity::Email::parse("ada@example.com").unwrap();
    let user = store.find_user_by_email(&email).await.unwrap().expect("user stored");
    assert_eq!(user.role, latchkey_types::Role::Admin);
    assert_eq!(user.display_name.as_deref(), Some("Ada"));
    assert!(user.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(!user.password_hash.contains("correct horse"));
    // Recorded in the audit log, in the same transaction as the account.
    let events = store.audit_events(10, None, None, Some(user.id)).await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event, "user.created");
    assert_eq!(events[0].actor_id, None);
    assert_eq!(events[0].detail.as_ref().unwrap()["role"], "admin");
    // The address waits for a mailed link unless the operator vouches for it.
    assert!(user.email_verified_at.is_none());
    let out = latchkey_on(
        &db,
        &["user", "create", "--email", "bob@example.com", "--verified"],
        GOOD_PASSWORD,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let email = latchkey::core::identity::Email::parse("bob@example.com").unwrap();
    let bob = store.find_user_by_email(&email).await.unwrap().expect("user stored");
    assert!(bob.email_verified_at.is_some());
}

async fn user_create_refuses_bad_input_and_writes_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let out = latchkey_on(&db, &["user", "create", "--email", "not-an-email"], GOOD_PASSWORD);
    assert_one_line_error(&out, "invalid email");
    let out = latchkey_on(&db, &["user", "create", "--email", "a@example.com"], "short\n");
    assert_one_line_error(&out, "at least 15 characters");
    let out = latchkey_on(&db, &["user", "create", "--email", "a@example.com"], "");
    assert_one_line_error(&out, "no password");
    let out = latchkey_on(
        &db,
        &["user", "create", "--email", "a@example.com"],
        "passwordpassword\n",
    );
    assert_one_line_error(&out, "too easy to guess");
    assert_eq!(user_count(&db.url).await, 0);

    let out = latchkey_on(&db, &["user", "create", "--email", "a@example.com"], GOOD_PASSWORD);
    assert!(out.status.success());
    let out = latchkey_on(&db, &["user", "create", "--email", "A@EXAMPLE.COM"], GOOD_PASSWORD);
    assert_one_line_error(&out, "already exists");
    assert_eq!(user_count(&db.url).await, 1);
    // The refused duplicate left no audit event behind (one transaction).
    let store = Db::connect(&db.url).await.unwrap();
    let created = store.audit_events(10, None, Some("user.created"), None).await.unwrap();
    assert_eq!(created.len(), 1);
}

async fn migrate_can_run_twice(backend: Backend) {
    let db = TestDb::new(backend).await;
    for _ in 0..2 {
        let out = latchkey_on(&db, &["migrate"], "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

both_backends!(
    user_create_makes_an_account_that_can_be_found,
    user_create_refuses_bad_input_and_writes_nothing,
    migrate_can_run_twice,
    keys_rotate_reaches_a_running_server,
);

#[test]
fn a_malformed_database_url_is_one_clear_line() {
    let out = latchkey("mysql://somewhere/db", &["migrate"], "");
    assert_one_line_error(&out, "DATABASE_URL must start with sqlite:// or postgres://");
    let out = latchkey("postgres://user:secret@[::1", &["migrate"], "");
    assert_one_line_error(&out, "malformed");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("secret"));
}

#[test]
fn an_unreachable_database_is_one_clear_line_without_the_password() {
    let out = latchkey("postgres://user:hunter2@127.0.0.1:1/latchkey", &["migrate"], "");
    assert_one_line_error(&out, "cannot connect to the database");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("hunter2"));
    let out = latchkey("postgres://user:hunter2@127.0.0.1:1/latchkey", &["serve"], "");
    assert_one_line_error(&out, "cannot connect to the database");
}

#[test]
fn bad_configuration_is_refused_before_anything_starts() {
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["migrate"])
        .env("LATCHKEY_PUBLIC_ORIGIN", "https://example.com/path")
        .env("DATABASE_URL", "sqlite:///nonexistent/never-created.db")
        .output()
        .unwrap();
    assert_one_line_error(&out, "LATCHKEY_PUBLIC_ORIGIN");
    assert!(!std::path::Path::new("/nonexistent").exists());
}

/// `latchkey serve` answers, then stops cleanly (exit 0) on SIGTERM.
#[test]
fn serve_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["serve"])
        .env("DATABASE_URL", format!("sqlite://{}/serve.db", dir.path().display()))
        .env("LATCHKEY_MAIL_DIR", dir.path().join("mail"))
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let up = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(up, "server did not start listening");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "exit {:?}: {stderr}", output.status);
    assert!(
        stderr.contains("shutting down") && stderr.contains("stopped"),
        "{stderr}"
    );
}

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap();
    serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `latchkey keys rotate` against a running server's database: the server
/// signs with the new key within seconds, and a token signed before keeps
/// working until it expires.
async fn keys_rotate_reaches_a_running_server(backend: Backend) {
    let app = crate::common::TestApp::spawn(backend).await;
    let before = app.register("rotate@example.com", crate::common::GOOD_PASSWORD).await;
    let out = latchkey_on(&app.db, &["keys", "rotate"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let new_kid = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(3)
        .unwrap()
        .trim_end_matches(';')
        .to_string();
    assert_ne!(new_kid, kid_of(&before.access_token));

    // Published first: within a reload the JWKS lists the new key while
    // tokens are still signed with the old one...
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(7);
    loop {
        let jwks: serde_json::Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
        if jwks.to_string().contains(&new_kid) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the new key was never published");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let meanwhile = app.login("rotate@example.com", crate::common::GOOD_PASSWORD).await;
    assert_eq!(
        kid_of(&meanwhile.access_token),
        kid_of(&before.access_token),
        "the new key signed before every replica could know it"
    );
    // ...then, after its activation delay, it signs.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(17);
    let after = loop {
        let signed_in = app.login("rotate@example.com", crate::common::GOOD_PASSWORD).await;
        if kid_of(&signed_in.access_token) == new_kid || std::time::Instant::now() > deadline {
            break signed_in;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    assert_eq!(
        kid_of(&after.access_token),
        new_kid,
        "the server never switched to the new key"
    );
    assert_eq!(
        app.get_with_bearer("/api/me", &before.access_token).await.status(),
        200,
        "old token"
    );
    assert_eq!(
        app.get_with_bearer("/api/me", &after.access_token).await.status(),
        200,
        "new token"
    );
    let jwks: serde_json::Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&new_kid.as_str()) && kids.contains(&kid_of(&before.access_token).as_str()),
        "{kids:?}"
    );
}
