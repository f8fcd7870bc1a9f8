//! `GET /api/health`: 200 when the database answers, 503 when it does not;
//! on PostgreSQL also whether the revocation LISTEN link is up (a link that
//! is down degrades revocation latency to the 250 ms re-read, it does not
//! make the server unhealthy).
//!
//! The route is public, so it must not be a way to load the database: the
//! answer is shared ([`HealthProbe`]). However many requests come, the
//! database sees one ping at a time and at most one per [`ANSWER_REUSE`].

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_types::Health;
use tokio::sync::Mutex;

use super::AppState;
use crate::core::clock::Clock;
use crate::store::Backend;

#[utoipa::path(
    get, path = "/health", tag = "meta",
    responses(
        (status = 200, description = "The database answers.", body = Health),
        (status = 503, description = "The database does not answer.", body = Health),
    )
)]
pub async fn health(State(state): State<AppState>) -> Response {
    let notify = (state.db.backend == Backend::Postgres)
        .then(|| if state.notify_link.is_up() { "ok" } else { "down" }.to_string());
    let (status, health) = if state.health.database_answers(|| state.db.ping()).await {
        (
            StatusCode::OK,
            Health {
                status: "ok".into(),
                db: "ok".into(),
                notify,
            },
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Health {
                status: "unavailable".into(),
                db: "unreachable".into(),
                notify,
            },
        )
    };
    (status, Json(health)).into_response()
}

/// How long a ping's answer stands for every health request after it.
pub const ANSWER_REUSE: Duration = Duration::from_millis(250);

/// The database's last answer to a ping, shared by the health requests
/// that come while it is in flight or within [`ANSWER_REUSE`] after it.
pub struct HealthProbe {
    clock: Clock,
    /// When the last answer came (clock ms), and what it was.
    last: Mutex<Option<(i64, bool)>>,
}

impl HealthProbe {
    pub fn new(clock: Clock) -> Self {
        HealthProbe {
            clock,
            last: Mutex::new(None),
        }
    }

    /// Whether the database answers: the last answer if it is recent,
    /// otherwise `ping`'s, which the requests waiting meanwhile share (a
    /// flood during an outage waits for one timeout, not one each).
    pub async fn database_answers<F: Future<Output = bool>>(&self, ping: impl FnOnce() -> F) -> bool {
        let mut last = self.last.lock().await;
        let now = self.clock.now_ms();
        if let Some((answered_at, answer)) = *last
            && (answered_at..answered_at + ANSWER_REUSE.as_millis() as i64).contains(&now)
        {
            return answer;
        }
        let answer = ping().await;
        *last = Some((self.clock.now_ms(), answer));
        answer
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn requests_during_a_ping_share_it() {
        let probe = Arc::new(HealthProbe::new(Clock::default()));
        let pings = Arc::new(AtomicUsize::new(0));
        let answer = Arc::new(tokio::sync::Notify::new());
        let mut asks = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let (probe, pings, answer) = (probe.clone(), pings.clone(), answer.clone());
            asks.spawn(async move {
                let ping = || async {
                    pings.fetch_add(1, Ordering::SeqCst);
                    answer.notified().await;
                    true
                };
                probe.database_answers(ping).await
            });
        }
        // Every task has run: one is in its ping, the others wait for it.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        answer.notify_one();
        while let Some(answered) = asks.join_next().await {
            assert!(answered.unwrap());
        }
        assert_eq!(pings.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_answer_stands_for_its_window_only() {
        let clock = Clock::default();
        let probe = HealthProbe::new(clock.clone());
        let pings = AtomicUsize::new(0);
        let ping = |up: bool| {
            let pings = &pings;
            move || async move {
                pings.fetch_add(1, Ordering::SeqCst);
                up
            }
        };
        assert!(probe.database_answers(ping(true)).await);
        // Within the window the database is not asked, even if it is gone.
        assert!(probe.database_answers(ping(false)).await);
        assert_eq!(pings.load(Ordering::SeqCst), 1);
        clock.advance(ANSWER_REUSE);
        assert!(
            !probe.database_answers(ping(false)).await,
            "a lost database shows after the window"
        );
        assert_eq!(pings.load(Ordering::SeqCst), 2);
        // A failure stands the same way, and so does the recovery after it.
        assert!(!probe.database_answers(ping(true)).await);
        clock.advance(ANSWER_REUSE);
        assert!(probe.database_answers(ping(true)).await);
        assert_eq!(pings.load(Ordering::SeqCst), 3);
    }
}
