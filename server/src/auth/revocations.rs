//! Feeds the in-memory revoked-session set from the database, so a session
//! revoked on any server is refused by every server within a second — and
//! so is a cookie session's or a profile's cached read once it changed
//! elsewhere (`sessions.changed_at`, `users.changed_at`, stamped by
//! triggers in the database).
//!
//! Each poll re-reads every revocation a live token could still name (the
//! whole retention window), not just those since the last poll: a revoking
//! server stamps `revoked_at` with its own clock before its transaction
//! commits, so a slow commit or a skewed clock can land a row "in the past"
//! where an incremental poll would never look. The partial index on
//! `revoked_at` keeps the re-read cheap.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use uuid::Uuid;

use super::caches::{SESSION_TTL_MS, USER_TTL_MS};
use crate::config::Settings;
use crate::core::clock::now_ms;
use crate::core::revocation::{Changed, RevocationSet};
use crate::core::tokens::DEFAULT_LEEWAY_SECS;
use crate::store::Db;

/// How often the database is polled for revocations.
pub const POLL_EVERY: Duration = Duration::from_millis(250);

/// Past this without a successful poll, Bearer tokens are refused (503):
/// the set may be missing a revocation, and the contract promises one
/// second.
pub const MAX_LAG_MS: i64 = 1_000;

/// A poll slower than this is worth a warning: a few more like it and the
/// set goes stale.
const SLOW_SYNC_MS: i64 = 250;

/// Margin for clock skew between the servers that revoke and this one.
const SKEW_MS: i64 = 30_000;

/// How far back a revocation or a change still matters: the longest an
/// access token issued before it, or a cached read made before it
/// (`caches::SESSION_TTL_MS`, `caches::USER_TTL_MS`), can still be used,
/// plus the skew margin.
fn window_ms(settings: &Settings) -> i64 {
    let token = settings.access_ttl.as_millis() as i64 + (DEFAULT_LEEWAY_SECS as i64) * 1000;
    token.max(SESSION_TTL_MS).max(USER_TTL_MS) + SKEW_MS
}

pub fn new_set(settings: &Settings) -> Arc<RevocationSet> {
    Arc::new(RevocationSet::new(window_ms(settings)))
}

/// Loads every revocation a live token could still name, and every change
/// of a cookie session a cached read could predate.
pub async fn sync(db: &Db, set: &RevocationSet, window_ms: i64) -> anyhow::Result<()> {
    let started = now_ms();
    let feed = db.feed_since(started - window_ms).await?;
    // Seen now, after the read returned: a change it found was committed
    // before this instant, so a read of it begun after it is current.
    let seen_at = now_ms();
    let took_ms = seen_at - started;
    if took_ms > SLOW_SYNC_MS {
        tracing::warn!(
            took_ms,
            "revocation feed: a poll was slow; Bearer tokens fail closed past {MAX_LAG_MS} ms"
        );
    }
    set.insert(feed.revoked);
    set.record_changes(Changed::Sessions, feed.sessions_changed, seen_at);
    set.record_changes(Changed::Users, feed.users_changed, seen_at);
    set.mark_synced(started);
    Ok(())
}

pub async fn initial_sync(db: &Db, set: &RevocationSet, settings: &Settings) -> anyhow::Result<()> {
    sync(db, set, window_ms(settings)).await
}

pub fn spawn_feed(db: Db, set: Arc<RevocationSet>, settings: &Settings) {
    let window = window_ms(settings);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(err) = sync(&db, &set, window).await {
                tracing::warn!(error = %err, "revocation feed: database unreachable");
            }
        }
    });
}

/// The channel the `sessions_revoked_notify` trigger (PostgreSQL) speaks on.
const CHANNEL: &str = "latchkey_revoked";

/// Whether this server's LISTEN connection is up, for `/api/health`.
#[derive(Debug, Default)]
pub struct NotifyLink(AtomicBool);

impl NotifyLink {
    pub fn is_up(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self, up: bool) {
        self.0.store(up, Ordering::Relaxed);
    }
}

/// PostgreSQL: hears every revocation the moment its transaction commits,
/// on any replica. A lost connection is retried every second; what was
/// announced meanwhile reaches the set through the poll.
pub fn spawn_listener(database_url: String, set: Arc<RevocationSet>, link: Arc<NotifyLink>) {
    tokio::spawn(async move {
        loop {
            match listen(&database_url, &set, &link).await {
                Ok(()) => tracing::warn!("revocation listener: connection lost; reconnecting"),
                Err(err) => tracing::warn!(error = %err, "revocation listener: cannot listen; retrying"),
            }
            link.set(false);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

/// Listens until the connection drops (`Ok`) or fails to start (`Err`).
async fn listen(database_url: &str, set: &RevocationSet, link: &NotifyLink) -> Result<(), sqlx::Error> {
    let mut listener = sqlx::postgres::PgListener::connect(database_url).await?;
    listener.listen(CHANNEL).await?;
    link.set(true);
    // `try_recv` answers `None` when the connection is lost, instead of
    // quietly reconnecting: the link state must say so.
    while let Some(notification) = listener.try_recv().await? {
        match parse_payload(notification.payload()) {
            Some(revoked) => set.insert([revoked]),
            None => tracing::warn!(payload = notification.payload(), "revocation listener: bad payload"),
        }
    }
    Ok(())
}

/// `<session id>:<revoked_at ms>`.
fn parse_payload(payload: &str) -> Option<(Uuid, i64)> {
    let (id, at) = payload.split_once(':')?;
    Some((Uuid::parse_str(id).ok()?, at.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_an_id_and_a_time() {
        let id = Uuid::now_v7();
        assert_eq!(
            parse_payload(&format!("{id}:1700000000000")),
            Some((id, 1_700_000_000_000))
        );
        assert_eq!(parse_payload(&format!("{id}")), None);
        assert_eq!(parse_payload("not-an-id:1"), None);
        assert_eq!(parse_payload(&format!("{id}:soon")), None);
    }
}
