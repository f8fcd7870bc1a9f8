//! Soak and race (issue 7): simulated users sign up, then refresh in loops
//! and call `/api/me` — sometimes two "tabs" refreshing the same cookie at
//! the same instant — on SQLite and on PostgreSQL. Nothing may answer 5xx,
//! no rotation may be mistaken for reuse, and every session must still
//! work at the end.
//!
//! The short variant runs with `make test`; the long one is
//! `LATCHKEY_SOAK_USERS=200 LATCHKEY_SOAK_SECS=60 cargo test -p latchkey --test blackbox soak -- --nocapture`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::common::{Backend, GOOD_PASSWORD, REFRESH_COOKIE, SignedIn, TestApp, bare_client, set_cookie};
use tokio::sync::Semaphore;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[derive(Default)]
struct Tally {
    refreshes: AtomicU64,
    twin_refreshes: AtomicU64,
    me_calls: AtomicU64,
}

/// One user's loop: refresh, call /api/me with the new token, and now and
/// then refresh twice at once with the same cookie, as two tabs would.
async fn user_loop(app: Arc<TestApp>, mut signed: SignedIn, until: Instant, tally: Arc<Tally>) -> SignedIn {
    let client = bare_client();
    let mut round = 0u64;
    while Instant::now() < until {
        round += 1;
        let next = if round.is_multiple_of(5) {
            let (a, b) = tokio::join!(app.refresh_with(&signed.refresh), app.refresh_with(&signed.refresh));
            let (status_a, status_b) = (a.status().as_u16(), b.status().as_u16());
            assert!(
                status_a == 200 && status_b == 200,
                "twin refreshes: {status_a} / {status_b}"
            );
            let (a, b) = (
                set_cookie(&a, REFRESH_COOKIE).unwrap(),
                set_cookie(&b, REFRESH_COOKIE).unwrap(),
            );
            assert_eq!(a.value, b.value, "two tabs must end up with the same successor");
            tally.twin_refreshes.fetch_add(1, Ordering::Relaxed);
            SignedIn::from_response(app.refresh_with(&a.value).await).await
        } else {
            let response = app.refresh_with(&signed.refresh).await;
            let status = response.status().as_u16();
            assert_eq!(status, 200, "refresh answered {status}");
            SignedIn::from_response(response).await
        };
        tally.refreshes.fetch_add(1, Ordering::Relaxed);
        signed = next;
        for _ in 0..3 {
            let me = client
                .get(app.url("/api/me"))
                .bearer_auth(&signed.access_token)
                .send()
                .await
                .expect("request");
            assert_eq!(me.status(), 200, "/api/me with a fresh token");
            tally.me_calls.fetch_add(1, Ordering::Relaxed);
        }
    }
    signed
}

async fn soak(backend: Backend) {
    let users = setting("LATCHKEY_SOAK_USERS", 40) as usize;
    let secs = setting("LATCHKEY_SOAK_SECS", 6);
    let app = Arc::new(
        TestApp::spawn_with(
            backend,
            &[
                "--rate-address-per-min=100000000",
                "--rate-refresh-per-min=100000000",
                "--refresh-grace-secs=5",
            ],
        )
        .await,
    );
    // Sign-ups a few at a time: argon2 is bounded on purpose, and a
    // thundering herd of them would be shed with 503 by design.
    let gate = Arc::new(Semaphore::new(4));
    let mut signups = Vec::new();
    for i in 0..users {
        let (app, gate) = (app.clone(), gate.clone());
        signups.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            app.register(&format!("soak{i}@example.com"), GOOD_PASSWORD).await
        }));
    }
    let mut signed = Vec::new();
    for signup in signups {
        signed.push(signup.await.unwrap());
    }

    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let until = started + Duration::from_secs(secs);
    let loops: Vec<_> = signed
        .into_iter()
        .map(|s| tokio::spawn(user_loop(app.clone(), s, until, tally.clone())))
        .collect();
    let mut last = Vec::new();
    for handle in loops {
        last.push(handle.await.expect("a user loop failed"));
    }
    let elapsed = started.elapsed().as_secs_f64();

    // Every session still works: its last token and its last cookie.
    for signed in &last {
        assert_eq!(app.get_with_bearer("/api/me", &signed.access_token).await.status(), 200);
        assert_eq!(app.refresh_with(&signed.refresh).await.status(), 200);
    }
    let reuse: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE event = 'refresh.reuse_detected'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(reuse, 0, "a legitimate rotation was taken for reuse");
    let live: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(live as usize, users, "every session is still live");
    println!(
        "MEASURE soak {backend:?}: {users} users, {elapsed:.1} s: {} refreshes ({} twin), {} /api/me, no 5xx, no reuse",
        tally.refreshes.load(Ordering::Relaxed),
        tally.twin_refreshes.load(Ordering::Relaxed),
        tally.me_calls.load(Ordering::Relaxed),
    );
}

both_backends!(soak);
