//! Feeds the in-memory revoked-session set from the database, so a session
//! revoked on any server is refused by every server within a second.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Settings;
use crate::core::clock::now_ms;
use crate::core::revocation::RevocationSet;
use crate::core::tokens::DEFAULT_LEEWAY_SECS;
use crate::store::Db;

/// How often the database is polled for new revocations.
pub const POLL_EVERY: Duration = Duration::from_millis(250);

/// Past this without a successful poll, Bearer tokens are refused (503):
/// the set may be missing a revocation.
pub const MAX_LAG_MS: i64 = 3_000;

/// Re-reads this far behind the last sync, so a revocation committed late
/// by a slow transaction elsewhere is still picked up.
const OVERLAP_MS: i64 = 2_000;

pub fn new_set(settings: &Settings) -> Arc<RevocationSet> {
    let retain = settings.access_ttl.as_millis() as i64 + (DEFAULT_LEEWAY_SECS as i64) * 1000 + OVERLAP_MS;
    Arc::new(RevocationSet::new(retain))
}

/// Loads every revocation a live token could still name.
pub async fn initial_sync(db: &Db, set: &RevocationSet, settings: &Settings) -> anyhow::Result<()> {
    let now = now_ms();
    let since = now - settings.access_ttl.as_millis() as i64 - (DEFAULT_LEEWAY_SECS as i64) * 1000 - OVERLAP_MS;
    set.insert(db.revoked_since(since).await?);
    set.mark_synced(now);
    Ok(())
}

pub fn spawn_feed(db: Db, set: Arc<RevocationSet>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let started = now_ms();
            match db.revoked_since(set.synced_at() - OVERLAP_MS).await {
                Ok(revoked) => {
                    set.insert(revoked);
                    set.mark_synced(started);
                }
                Err(err) => tracing::warn!(error = %err, "revocation feed: database unreachable"),
            }
        }
    });
}
