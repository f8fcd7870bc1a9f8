//! Several `latchkey` servers on one PostgreSQL, as a deployment behind a
//! load balancer runs them: nobody may notice which one answers. And one
//! replica whose database connection is cut (through a TCP proxy the test
//! controls) must fail closed and recover by itself.
//!
//! PostgreSQL only: SQLite is the single-machine backend.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::common::{
    GOOD_PASSWORD, REFRESH_COOKIE, SignedIn, TestApp, TestDb, bare_client, postgres_admin_url, within,
};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

const FLAGS: [&str; 1] = ["--public-origin=https://latchkey.example"];

async fn health(app: &TestApp) -> (u16, Value) {
    let response = app.get("/api/health").await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.get_with_bearer("/api/me", token).await.status().as_u16()
}

async fn session_ids(app: &TestApp, token: &str) -> Vec<(String, bool)> {
    let sessions: Vec<Value> = app
        .get_with_bearer("/api/me/sessions", token)
        .await
        .json()
        .await
        .unwrap();
    sessions
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_string(), s["current"] == true))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_sessions_revocations_keys_and_rate_limits() {
    if !crate::common::postgres_available().await {
        return;
    }
    // A fresh database and three servers starting at once: they all migrate
    // it (sqlx holds an advisory lock), none fails.
    let db = TestDb::new(crate::common::Backend::Postgres).await;
    let (a, b, c) = tokio::join!(
        TestApp::spawn_on(db.share(), &FLAGS),
        TestApp::spawn_on(db.share(), &FLAGS),
        TestApp::spawn_on(db.share(), &FLAGS),
    );
    for replica in [&a, &b, &c] {
        let (status, body) = health(replica).await;
        assert_eq!(status, 200);
        assert_eq!(body["db"], "ok");
        within(Duration::from_secs(3), "LISTEN link up", || async {
            health(replica).await.1["notify"] == "ok"
        })
        .await;
    }

    // Signed in on A, refreshed on B, the new token good on C.
    let on_a = a.register("replica@example.com", GOOD_PASSWORD).await;
    let on_b = SignedIn::from_response(b.refresh_with(&on_a.refresh).await).await;
    assert_eq!(me_status(&c, &on_b.access_token).await, 200);

    // Revoked on C: A refuses the token within a second.
    let on_c = c.login("replica@example.com", GOOD_PASSWORD).await;
    let first = session_ids(&c, &on_c.access_token)
        .await
        .into_iter()
        .find(|(_, current)| !current)
        .unwrap()
        .0;
    assert_eq!(me_status(&a, &on_b.access_token).await, 200);
    let revoke = bare_client()
        .delete(c.url(&format!("/api/me/sessions/{first}")))
        .bearer_auth(&on_c.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 204);
    let latency = within(Duration::from_secs(1), "revocation seen on A", || async {
        me_status(&a, &on_b.access_token).await == 401
    })
    .await;
    println!("MEASURE revocation on C seen by A after {latency:?}");
    assert_eq!(me_status(&b, &on_b.access_token).await, 401);

    // Keys rotated through B's database: C publishes the new key and keeps
    // accepting tokens signed before.
    let new_kid = latchkey::auth::keys::rotate(&b.state.db, &b.state.vault).await.unwrap();
    within(Duration::from_secs(7), "new key published on C", || async {
        c.get("/.well-known/jwks.json")
            .await
            .text()
            .await
            .unwrap()
            .contains(&new_kid)
    })
    .await;
    assert_eq!(me_status(&c, &on_c.access_token).await, 200);
    assert_eq!(me_status(&a, &on_c.access_token).await, 200);

    // Thirty wrong passwords spread over the three: the account limit holds
    // across them (10 failures per 15 minutes by default).
    let mut statuses = Vec::new();
    for i in 0..30 {
        let replica = [&a, &b, &c][i % 3];
        let response = replica
            .post_json(
                "/api/auth/login",
                &json!({"email": "replica@example.com", "password": format!("wrong password {i}")}),
            )
            .await;
        statuses.push(response.status().as_u16());
    }
    assert!(statuses[..10].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[10..].iter().all(|s| *s == 429), "{statuses:?}");
    drop((a, b, c));
    drop(db);
}

/// A TCP proxy in front of PostgreSQL that the test can cut and restore:
/// cutting drops every open connection and refuses new ones.
struct Proxy {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let links = Arc::new(Mutex::new(Vec::new()));
        let (cut_in, links_in) = (cut.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if cut_in.load(Ordering::SeqCst) {
                    continue; // dropped: the connection closes at once
                }
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                links_in.lock().await.push(link);
            }
        });
        Proxy { addr, cut, links }
    }

    async fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for link in self.links.lock().await.drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_loses_its_database_fails_closed_and_recovers() {
    if !crate::common::postgres_available().await {
        return;
    }
    let a = TestApp::spawn_with(crate::common::Backend::Postgres, &FLAGS).await;
    let admin = url::Url::parse(&postgres_admin_url()).unwrap();
    let upstream = tokio::net::lookup_host((admin.host_str().unwrap(), admin.port().unwrap_or(5432)))
        .await
        .unwrap()
        .next()
        .unwrap();
    let proxy = Proxy::start(upstream).await;
    let mut proxied = url::Url::parse(&a.db.url).unwrap();
    proxied.set_host(Some("127.0.0.1")).unwrap();
    proxied.set_port(Some(proxy.addr.port())).unwrap();
    let b = TestApp::spawn_on(a.db.share_at(proxied.to_string()), &FLAGS).await;

    let signed = a.register("cut@example.com", GOOD_PASSWORD).await;
    let other = a.login("cut@example.com", GOOD_PASSWORD).await;
    assert_eq!(me_status(&b, &signed.access_token).await, 200);

    proxy.cut().await;
    // Health says so, and Bearer requests are refused (503) rather than
    // checked against a revocation set that can no longer catch up.
    within(Duration::from_secs(6), "health reports the lost database", || async {
        health(&b).await.0 == 503
    })
    .await;
    within(Duration::from_secs(3), "Bearer requests fail closed", || async {
        me_status(&b, &signed.access_token).await == 503
    })
    .await;
    // Meanwhile the session is revoked on A; B must not have missed it.
    let first = session_ids(&a, &other.access_token)
        .await
        .into_iter()
        .find(|(_, current)| !current)
        .unwrap()
        .0;
    let revoke = bare_client()
        .delete(a.url(&format!("/api/me/sessions/{first}")))
        .bearer_auth(&other.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 204);
    for _ in 0..5 {
        assert_ne!(me_status(&b, &signed.access_token).await, 200, "accepted while blind");
    }

    proxy.restore();
    within(Duration::from_secs(10), "health recovers", || async {
        health(&b).await.0 == 200
    })
    .await;
    within(Duration::from_secs(3), "the revocation is caught up", || async {
        me_status(&b, &signed.access_token).await == 401
    })
    .await;
    assert_eq!(
        me_status(&b, &other.access_token).await,
        200,
        "live sessions work again"
    );
    within(Duration::from_secs(5), "LISTEN link back", || async {
        health(&b).await.1["notify"] == "ok"
    })
    .await;
    // The refresh cookie of the revoked session is refused there too.
    let refresh = bare_client()
        .post(b.url("/api/auth/refresh"))
        .header("cookie", format!("{REFRESH_COOKIE}={}", signed.refresh))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), 401);
}

/// Sessions are cached on each replica — cookie sessions, and the sessions
/// Bearer tokens name under `session-lookup`: a revocation on one replica
/// is still refused on the revoking one at once and on the others within a
/// second (the revoked-session set, fed by LISTEN/NOTIFY), and the cache
/// never answers for a session the set names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_sessions_are_refused_everywhere_once_revoked() {
    if !crate::common::postgres_available().await {
        return;
    }
    let db = TestDb::new(crate::common::Backend::Postgres).await;
    let lookup = [
        "--public-origin=https://latchkey.example",
        "--access-check=session-lookup",
    ];
    let a = TestApp::spawn_on(db.share(), &lookup).await;
    let b = TestApp::spawn_on(db.share(), &lookup).await;
    let _db = db;

    let ada = a.register("cached@example.com", GOOD_PASSWORD).await;
    let login = bare_client()
        .post(a.url("/api/session/login"))
        .json(&json!({ "email": "cached@example.com", "password": GOOD_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let name = a.state.settings.session_cookie.clone();
    let cookie = crate::common::set_cookie(&login, &name)
        .expect("a session cookie")
        .value;
    let with_cookie = |app: &TestApp| {
        let request = bare_client()
            .get(app.url("/api/me"))
            .header("cookie", format!("{name}={cookie}"));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let bearer = a.login("cached@example.com", GOOD_PASSWORD).await;
    // Read (and cached) on both replicas, by cookie and by token.
    for app in [&a, &b] {
        for _ in 0..3 {
            assert_eq!(with_cookie(app).await, 200);
            assert_eq!(me_status(app, &bearer.access_token).await, 200);
        }
    }

    // Every session but Ada's first ends, on A.
    let ended = bare_client()
        .post(a.url("/api/auth/logout-all"))
        .bearer_auth(&ada.access_token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(ended.status().is_success(), "{}", ended.status());
    // The revoking replica: at once, cache or not.
    assert_eq!(with_cookie(&a).await, 401);
    assert_eq!(me_status(&a, &bearer.access_token).await, 401);
    // The other: within a second.
    let latency = within(
        Duration::from_secs(1),
        "the cookie and the token refused on B",
        || async { with_cookie(&b).await == 401 && me_status(&b, &bearer.access_token).await == 401 },
    )
    .await;
    eprintln!("revocation seen on B: {latency:?}");
}
