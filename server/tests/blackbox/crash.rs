//! Crash safety (issue 7): `kill -9` the server in the middle of a refresh
//! storm, start it again on the same database, and every session must
//! still work — none left half-rotated. A client whose last refresh was in
//! flight when the server died holds the token before it; presented again
//! inside the grace window, that token still renews (the swap either
//! committed, and the parent is forgiven, or it did not, and it is live).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Backend, GOOD_PASSWORD, REFRESH_COOKIE, TestDb, bare_client, set_cookie};
use serde_json::json;

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
}

pub(crate) fn start(db: &TestDb, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["serve"])
        .env("DATABASE_URL", &db.url)
        .env("LATCHKEY_KEY_ENCRYPTION_KEY_FILE", &db.key_file)
        // Welcome mails go beside the database, not into the working tree.
        .env("LATCHKEY_MAIL_DIR", db.key_file.with_file_name("mail"))
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LATCHKEY_RATE_ADDRESS_PER_MIN", "100000000")
        .env("LATCHKEY_RATE_REFRESH_PER_MIN", "100000000")
        .env("LATCHKEY_REFRESH_GRACE_SECS", "10")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server binary starts");
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

pub(crate) async fn wait_up(base: &str) {
    for _ in 0..100 {
        if let Ok(r) = bare_client().get(format!("{base}/api/health")).send().await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not come up");
}

async fn refresh(base: &str, cookie: &str) -> Result<(u16, Option<String>), reqwest::Error> {
    let response = bare_client()
        .post(format!("{base}/api/auth/refresh"))
        .header("cookie", format!("{REFRESH_COOKIE}={cookie}"))
        .json(&json!({}))
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, set_cookie(&response, REFRESH_COOKIE).map(|c| c.value)))
}

async fn crash_mid_refresh_loses_no_session(backend: Backend) {
    let db = TestDb::new(backend).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = start(&db, port);
    let base = server.base.clone();
    wait_up(&base).await;

    let users = 24;
    let mut cookies = Vec::new();
    for i in 0..users {
        let response = bare_client()
            .post(format!("{base}/api/auth/register"))
            .json(&json!({"email": format!("crash{i}@example.com"), "password": GOOD_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        cookies.push(set_cookie(&response, REFRESH_COOKIE).unwrap().value);
    }

    // Each user refreshes in a loop, keeping the last cookie the server
    // acknowledged, until the connection fails.
    let loops: Vec<_> = cookies
        .into_iter()
        .map(|mut cookie| {
            let base = base.clone();
            tokio::spawn(async move {
                let mut rotations = 0;
                loop {
                    match refresh(&base, &cookie).await {
                        Ok((200, Some(next))) => {
                            cookie = next;
                            rotations += 1;
                        }
                        Ok((status, _)) => panic!("refresh answered {status} before the crash"),
                        Err(_) => return (cookie, rotations),
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.child.kill().expect("kill -9");
    server.child.wait().unwrap();
    let killed_at = Instant::now();
    let mut held = Vec::new();
    for handle in loops {
        held.push(handle.await.unwrap());
    }
    let rotations: usize = held.iter().map(|(_, n)| n).sum();
    assert!(
        rotations > users,
        "the storm was running when the server died ({rotations} rotations)"
    );

    // Nothing half-written: every JWT session's live token is on record.
    let check = latchkey::store::Db::connect(&db.url).await.unwrap();
    let orphaned: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sessions s WHERE s.kind = 'jwt' AND NOT EXISTS \
         (SELECT 1 FROM refresh_tokens t WHERE t.token_hash = s.secret_hash AND t.session_id = s.id)",
    )
    .fetch_one(&check.pool)
    .await
    .unwrap();
    assert_eq!(orphaned, 0, "a session's live token is missing from its history");

    let server = start(&db, port);
    wait_up(&base).await;
    let since_kill = killed_at.elapsed();
    assert!(
        since_kill < Duration::from_secs(8),
        "restart took {since_kill:?}: outside the grace window"
    );
    for (cookie, _) in &held {
        let (status, next) = refresh(&base, cookie).await.unwrap();
        assert_eq!(status, 200, "a session did not survive the crash");
        let (status, _) = refresh(&base, &next.unwrap()).await.unwrap();
        assert_eq!(status, 200, "and it keeps rotating");
    }
    let revoked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NOT NULL")
        .fetch_one(&check.pool)
        .await
        .unwrap();
    assert_eq!(revoked, 0, "no session was revoked by the crash or by the retries");
    println!(
        "MEASURE crash {backend:?}: {users} sessions, {rotations} rotations before kill -9, all alive after restart"
    );
    let mut server = server;
    let _ = server.child.kill();
    let _ = server.child.wait();
}

both_backends!(crash_mid_refresh_loses_no_session);
