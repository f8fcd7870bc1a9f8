//! Sliding renewal of cookie sessions, off the request path. A request that
//! is due to push its session's idle end forward (`Engine::touch_if_due`)
//! records the new end here and goes on; a background task writes what has
//! gathered once a second, every session's latest in one transaction. So a
//! read never waits on a write, and a busy server writes one small batch a
//! second instead of one row per session and minute on the requests' time.
//!
//! Until a batch is written, this server reads its own pending renewals into
//! every session read (`merge_into`); other servers see them within the
//! second. Pending renewals lost to a crash cost nothing but an idle end a
//! second earlier: the next request renews it again. Shutdown writes them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use uuid::Uuid;

use crate::store::Db;
use crate::store::sessions::SessionRecord;

/// How often pending renewals are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// A session's renewal: used at `last_seen_at`, idle until `idle_expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touch {
    pub last_seen_at: i64,
    pub idle_expires_at: i64,
}

impl Touch {
    /// The later of two renewals of one session.
    fn max(self, other: Touch) -> Touch {
        Touch {
            last_seen_at: self.last_seen_at.max(other.last_seen_at),
            idle_expires_at: self.idle_expires_at.max(other.idle_expires_at),
        }
    }
}

#[derive(Debug, Default)]
pub struct PendingTouches {
    pending: Mutex<HashMap<Uuid, Touch>>,
}

impl PendingTouches {
    /// Records a renewal (a later one of the same session wins).
    pub fn defer(&self, session: Uuid, touch: Touch) {
        let mut pending = self.lock();
        let merged = pending.get(&session).map_or(touch, |earlier| earlier.max(touch));
        pending.insert(session, merged);
    }

    /// Applies a pending renewal to a session just read from the database.
    pub fn merge_into(&self, session: &mut SessionRecord) {
        if let Some(touch) = self.lock().get(&session.id) {
            session.last_seen_at = session.last_seen_at.max(touch.last_seen_at);
            session.idle_expires_at = session.idle_expires_at.max(touch.idle_expires_at);
        }
    }

    /// Everything pending, emptied.
    fn take(&self) -> Vec<(Uuid, Touch)> {
        self.lock().drain().collect()
    }

    /// Puts back a batch that could not be written.
    fn restore(&self, batch: Vec<(Uuid, Touch)>) {
        for (session, touch) in batch {
            self.defer(session, touch);
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Touch>> {
        // A poisoned lock only means a panic mid-insert into a plain map.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Writes every pending renewal in one transaction; on failure they stay
/// pending for the next try.
pub async fn flush(db: &Db, touches: &PendingTouches) -> anyhow::Result<()> {
    let batch = touches.take();
    if batch.is_empty() {
        return Ok(());
    }
    let rows: Vec<(Uuid, i64, i64)> = batch
        .iter()
        .map(|(id, touch)| (*id, touch.last_seen_at, touch.idle_expires_at))
        .collect();
    if let Err(err) = db.touch_sessions(&rows).await {
        touches.restore(batch);
        return Err(err.into());
    }
    Ok(())
}

pub fn spawn_flusher(db: Db, touches: Arc<PendingTouches>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(err) = flush(&db, &touches).await {
                tracing::warn!(error = %err, pending = touches.len(), "session renewals: not written yet");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(last_seen_at: i64, idle_expires_at: i64) -> Touch {
        Touch {
            last_seen_at,
            idle_expires_at,
        }
    }

    #[test]
    fn the_latest_renewal_of_a_session_wins_whatever_the_order() {
        let touches = PendingTouches::default();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        touches.defer(a, touch(200, 2_000));
        touches.defer(a, touch(100, 1_000));
        touches.defer(b, touch(150, 1_500));
        let mut batch = touches.take();
        batch.sort_by_key(|(id, _)| *id);
        let mut expected = vec![(a, touch(200, 2_000)), (b, touch(150, 1_500))];
        expected.sort_by_key(|(id, _)| *id);
        assert_eq!(batch, expected);
        assert!(touches.is_empty(), "taken");
        // A failed batch comes back, merged with what came meanwhile.
        touches.defer(a, touch(300, 3_000));
        touches.restore(batch);
        assert_eq!(touches.lock().get(&a), Some(&touch(300, 3_000)));
        assert_eq!(touches.lock().get(&b), Some(&touch(150, 1_500)));
    }
}
