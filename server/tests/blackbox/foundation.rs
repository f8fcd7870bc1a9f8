//! The skeleton's promises: health, migrations, headers, errors in the
//! contract's shape, the body limit and the server-rendered app.

use crate::common::{Backend, TestApp, TestDb, assert_error};
use latchkey::store::Db;

async fn health_reports_the_database(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.get("/api/health").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    match backend {
        Backend::Sqlite => assert_eq!(body, serde_json::json!({"status": "ok", "db": "ok"})),
        // PostgreSQL also reports the revocation LISTEN link, up shortly
        // after start.
        Backend::Postgres => {
            assert_eq!((&body["status"], &body["db"]), (&"ok".into(), &"ok".into()), "{body}");
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
            loop {
                let body: serde_json::Value = app.get("/api/health").await.json().await.unwrap();
                if body["notify"] == "ok" {
                    break;
                }
                assert_eq!(body["notify"], "down", "{body}");
                assert!(std::time::Instant::now() < deadline, "the LISTEN link never came up");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

async fn health_is_503_when_the_database_is_gone(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    match backend {
        // A SQLite file cannot be taken away from an open connection; a
        // closed pool is what the server sees when its database is gone.
        Backend::Sqlite => app.state.db.pool.close().await,
        // PostgreSQL: terminate every connection and drop the database.
        Backend::Postgres => app.db.destroy(),
    }
    let response = app.get("/api/health").await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["db"], "unreachable");
}

async fn migrations_can_run_twice(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db = Db::connect(&test_db.url).await.unwrap();
    db.migrate().await.unwrap();
    db.migrate().await.unwrap();
    // The store picks its SQL dialect for a lent connection from the
    // connection itself.
    let lent = db.pool.acquire().await.unwrap();
    let expected = match backend {
        Backend::Sqlite => latchkey::store::Backend::Sqlite,
        Backend::Postgres => latchkey::store::Backend::Postgres,
    };
    assert_eq!((latchkey::store::Backend::of(&lent), db.backend), (expected, expected));
    drop(lent);
    let tables: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let shipped = std::fs::read_dir(match backend {
        Backend::Sqlite => "migrations/sqlite",
        Backend::Postgres => "migrations/postgres",
    })
    .unwrap()
    .count() as i64;
    assert_eq!(tables, shipped, "each migration is recorded once");
    // The schema the contract needs is there and empty.
    for sql in [
        "SELECT COUNT(*) FROM users",
        "SELECT COUNT(*) FROM sessions",
        "SELECT COUNT(*) FROM refresh_tokens",
        "SELECT COUNT(*) FROM signing_keys",
        "SELECT COUNT(*) FROM audit_events",
        "SELECT COUNT(*) FROM rate_limits",
    ] {
        let count: i64 = sqlx::query_scalar(sql).fetch_one(&db.pool).await.unwrap();
        assert_eq!(count, 0, "{sql}");
    }
}

async fn every_response_carries_the_security_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in ["/api/health", "/api/nope", "/", "/login", "/no-such-page"] {
        let response = app.get(path).await;
        let h = response.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert!(h.get("server").is_none(), "{path} names a server");
        assert!(
            h.get("x-request-id").is_some_and(|v| !v.is_empty()),
            "{path} has no request id"
        );
        assert!(
            h.get("strict-transport-security").is_none(),
            "HSTS over plain HTTP: {path}"
        );
    }
}

async fn pages_get_a_fresh_script_nonce(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let nonce_of = |csp: &str| {
        let start = csp.find("'nonce-").expect("nonce in CSP") + 7;
        csp[start..].split('\'').next().unwrap().to_string()
    };
    let first = app.get("/").await;
    assert_eq!(first.status(), 200);
    let csp = first.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(!csp.contains("'unsafe-inline'"), "{csp}");
    assert!(csp.contains("'wasm-unsafe-eval'") && csp.contains("object-src 'none'") && csp.contains("base-uri 'none'"));
    let nonce = nonce_of(&csp);
    assert!(nonce.len() >= 16);
    let html = first.text().await.unwrap();
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "hydration script lacks the nonce"
    );
    let second = app.get("/").await;
    let csp2 = second.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert_ne!(nonce_of(&csp2), nonce, "nonces must not repeat");
}

async fn unknown_api_routes_answer_in_the_contract_shape(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_error(app.get("/api/does-not-exist").await, 404, "not_found").await;
    let response = app.client.delete(app.url("/api/health")).send().await.unwrap();
    assert_error(response, 405, "method_not_allowed").await;
}

async fn unknown_pages_render_the_apps_not_found_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), 404);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("Page not found"), "{html}");
}

async fn app_routes_render_on_the_server(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let public = [
        ("/", "Sign in once"),
        ("/login", "Sign in"),
        ("/register", "Create an account"),
        ("/how-it-works", "How it works"),
    ];
    for (path, heading) in public {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains(heading), "{path} lacks {heading:?}");
        assert!(html.contains("/pkg/latchkey.js"), "{path} does not load the WASM app");
    }
    // Pages behind sign-in render a neutral state on the server: the
    // browser resolves it after the silent refresh, so a signed-in reload
    // never flashes the sign-in form.
    for path in ["/account", "/security"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains("Loading…"), "{path} is not neutral");
        assert!(!html.contains("type=\"password\""), "{path} shows a sign-in form");
    }
}

async fn oversized_bodies_are_refused_before_parsing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = vec![b'x'; 64 * 1024 + 1];
    let response = app
        .client
        .post(app.url("/api/health"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_error(response, 413, "payload_too_large").await;
}

async fn hsts_is_sent_when_browsers_use_https(backend: Backend) {
    let app = TestApp::spawn_with(backend, &["--public-origin=https://auth.example"]).await;
    let response = app.get("/api/health").await;
    let hsts = response.headers()["strict-transport-security"].to_str().unwrap();
    assert!(
        hsts.starts_with("max-age=") && hsts.contains("includeSubDomains"),
        "{hsts}"
    );
}

both_backends!(
    hsts_is_sent_when_browsers_use_https,
    health_reports_the_database,
    health_is_503_when_the_database_is_gone,
    migrations_can_run_twice,
    every_response_carries_the_security_headers,
    pages_get_a_fresh_script_nonce,
    unknown_api_routes_answer_in_the_contract_shape,
    unknown_pages_render_the_apps_not_found_page,
    app_routes_render_on_the_server,
    oversized_bodies_are_refused_before_parsing,
);

mod housekeeping {
    use crate::common::{Backend, GOOD_PASSWORD, TestApp};

    async fn ended_sessions_and_their_token_history_are_swept(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let old = app.register("sweep@example.com", GOOD_PASSWORD).await;
        let live = app.login("sweep@example.com", GOOD_PASSWORD).await;
        assert_eq!(app.refresh_with(&old.refresh).await.status(), 200, "adds history");
        let db = &app.state.db;
        let day = 24 * 3_600_000_i64;
        let now = latchkey::core::clock::now_ms();
        // The first session ended eight days ago.
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE secret_hash <> $2")
            .bind(now - 8 * day)
            .bind(latchkey::core::secrets::hash_token(&live.refresh))
            .execute(&db.pool)
            .await
            .unwrap();
        assert_eq!(db.sweep_ended_sessions(now - 7 * day).await.unwrap(), 1);
        let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        let tokens: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM refresh_tokens")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(
            (sessions, tokens),
            (1, 1),
            "only the live session and its one token remain"
        );
        assert_eq!(
            app.refresh_with(&live.refresh).await.status(),
            200,
            "the live session still works"
        );
        assert_eq!(
            db.sweep_ended_sessions(now - 7 * day).await.unwrap(),
            0,
            "nothing recent is swept"
        );
    }

    /// A live session's history is cut to its current token and that
    /// token's parent once older than the cut-off: refresh and the grace
    /// window keep working, an older token is merely unknown.
    async fn a_live_sessions_old_history_is_pruned(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let first = app.register("prune@example.com", GOOD_PASSWORD).await;
        let other = app.login("prune@example.com", GOOD_PASSWORD).await;
        let mut refresh = first.refresh.clone();
        let mut chain = vec![refresh.clone()];
        for _ in 0..4 {
            let response = app.refresh_with(&refresh).await;
            refresh = crate::common::SignedIn::from_response(response).await.refresh;
            chain.push(refresh.clone());
        }
        let db = &app.state.db;
        let count = || async {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM refresh_tokens")
                .fetch_one(&db.pool)
                .await
                .unwrap()
        };
        assert_eq!(count().await, 5 + 1, "every rotation is history until pruned");
        let now = latchkey::core::clock::now_ms();
        assert_eq!(
            db.prune_refresh_history(now - 60_000).await.unwrap(),
            0,
            "nothing is old yet"
        );
        // A cut-off after every issue: all but the two needed rows of each
        // session go (the other session's single token is its current one).
        assert_eq!(db.prune_refresh_history(now + 60_000).await.unwrap(), 3);
        assert_eq!(count().await, 2 + 1);
        // The parent is still forgiven within the grace window (same
        // successor), and the current token still rotates.
        let parent = app.refresh_with(&chain[3]).await;
        assert_eq!(parent.status(), 200, "the parent inside the grace window");
        let current = app.refresh_with(&chain[4]).await;
        assert_eq!(current.status(), 200, "the current token");
        // A pruned ancestor is unknown: refused, and its session lives on.
        let ancestor = app.refresh_with(&chain[0]).await;
        crate::common::assert_error(ancestor, 401, "invalid_refresh_token").await;
        let next = crate::common::SignedIn::from_response(current).await;
        assert_eq!(
            app.refresh_with(&next.refresh).await.status(),
            200,
            "the session lives on"
        );
        assert_eq!(
            app.refresh_with(&other.refresh).await.status(),
            200,
            "the other session too"
        );
    }

    crate::both_backends!(
        ended_sessions_and_their_token_history_are_swept,
        a_live_sessions_old_history_is_pruned
    );
}

/// Slowloris and oversized heads (issue 7): a client that trickles its
/// request head is cut off after `LATCHKEY_HEADER_TIMEOUT_SECS`, a hundred
/// of them do not keep others from being served, and heads past the limits
/// get 431 without reaching a handler.
mod connection_limits {
    use std::time::{Duration, Instant};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use crate::common::{Backend, TestApp};

    /// Opens a connection and sends an unfinished request head, then one
    /// more header byte every 200 ms, as a slowloris client does.
    async fn trickle(addr: std::net::SocketAddr) -> TcpStream {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await
            .unwrap();
        stream
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_clients_are_cut_off_and_do_not_starve_others() {
        let app = TestApp::spawn_with(Backend::Sqlite, &["--header-timeout-secs=1"]).await;
        let mut slow = Vec::new();
        for _ in 0..100 {
            slow.push(trickle(app.addr).await);
        }
        let started = Instant::now();
        // Everyone else is served meanwhile, promptly.
        for _ in 0..20 {
            let asked = Instant::now();
            assert_eq!(app.get("/api/health").await.status(), 200);
            assert!(asked.elapsed() < Duration::from_millis(500), "{:?}", asked.elapsed());
        }
        // Keep trickling; the server closes each connection within the timeout
        // (plus a tick), whatever the client still sends.
        let mut closed = 0;
        while started.elapsed() < Duration::from_secs(4) && closed < slow.len() {
            closed = 0;
            for stream in &mut slow {
                let _ = stream.write_all(b"a").await;
                let mut buf = [0u8; 256];
                match tokio::time::timeout(Duration::from_millis(5), stream.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
                    Ok(Ok(n)) => {
                        let answer = String::from_utf8_lossy(&buf[..n]).to_string();
                        assert!(answer.starts_with("HTTP/1.1 408"), "a slow head got {answer:?}");
                        closed += 1;
                    }
                    Err(_) => {}
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(
            closed,
            slow.len(),
            "slow connections still open after {:?}",
            started.elapsed()
        );
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "cut off before the timeout"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn oversized_and_overlong_heads_get_431() {
        let app = TestApp::spawn(Backend::Sqlite).await;
        let big = app
            .client
            .get(app.url("/api/health"))
            .header("x-big", "a".repeat(20 * 1024))
            .send()
            .await
            .unwrap();
        assert_eq!(big.status(), 431);
        let mut many = app.client.get(app.url("/api/health"));
        for i in 0..100 {
            many = many.header(format!("x-h{i}"), "1");
        }
        assert_eq!(many.send().await.unwrap().status(), 431);
        // Within the limits all is well.
        let mut fine = app
            .client
            .get(app.url("/api/health"))
            .header("x-ok", "a".repeat(4 * 1024));
        for i in 0..40 {
            fine = fine.header(format!("x-h{i}"), "1");
        }
        assert_eq!(fine.send().await.unwrap().status(), 200);
    }
}
