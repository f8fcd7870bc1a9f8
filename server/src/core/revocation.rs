//! The revoked-session set every server keeps in memory, so a Bearer token
//! whose session was revoked is refused without a database read.
//!
//! A session id needs to stay in the set only as long as an access token
//! naming it can still be valid: access tokens are never issued for a
//! revoked session, so `revoked_at + access lifetime + leeway` is enough.
//! The set is fed by local revocations at once and by a poll of the
//! database (every replica sees the others' revocations); if the feed falls
//! behind, `is_fresh` turns false and callers must fail closed.

use std::collections::HashMap;
use std::sync::RwLock;

use uuid::Uuid;

#[derive(Debug)]
pub struct RevocationSet {
    inner: RwLock<Inner>,
    /// How long an entry is kept after its revocation (ms).
    retain_ms: i64,
}

#[derive(Debug, Default)]
struct Inner {
    /// Session id → revoked at (ms).
    revoked: HashMap<Uuid, i64>,
    /// When the set last caught up with the database (ms).
    synced_at: i64,
}

impl RevocationSet {
    pub fn new(retain_ms: i64) -> Self {
        RevocationSet {
            inner: RwLock::new(Inner::default()),
            retain_ms,
        }
    }

    pub fn is_revoked(&self, session: &Uuid) -> bool {
        self.read(|inner| inner.revoked.contains_key(session))
    }

    /// Records revocations (local ones at once, remote ones from the feed).
    pub fn insert(&self, sessions: impl IntoIterator<Item = (Uuid, i64)>) {
        self.write(|inner| inner.revoked.extend(sessions));
    }

    /// Marks the set as caught up at `now`, and forgets entries that no live
    /// access token can name any more.
    pub fn mark_synced(&self, now: i64) {
        let horizon = now - self.retain_ms;
        self.write(|inner| {
            inner.synced_at = now;
            inner.revoked.retain(|_, at| *at >= horizon);
        });
    }

    /// False when the feed has not caught up for longer than `max_lag_ms`:
    /// a revocation elsewhere might be missing, so nobody may be let in.
    pub fn is_fresh(&self, now: i64, max_lag_ms: i64) -> bool {
        self.read(|inner| now - inner.synced_at <= max_lag_ms)
    }

    /// Both questions a Bearer request asks, under one read of the lock:
    /// `None` when the set is stale (fail closed), else whether `session`
    /// is revoked.
    pub fn check(&self, session: &Uuid, now: i64, max_lag_ms: i64) -> Option<bool> {
        self.read(|inner| (now - inner.synced_at <= max_lag_ms).then(|| inner.revoked.contains_key(session)))
    }

    pub fn synced_at(&self) -> i64 {
        self.read(|inner| inner.synced_at)
    }

    pub fn len(&self) -> usize {
        self.read(|inner| inner.revoked.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read<T>(&self, f: impl FnOnce(&Inner) -> T) -> T {
        // A poisoned lock only means a writer panicked mid-update of a plain
        // map; the data is still a valid map.
        f(&self.inner.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn write<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.write().unwrap_or_else(|e| e.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoked_sessions_are_refused_until_no_token_can_name_them() {
        let set = RevocationSet::new(1_000);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        set.insert([(a, 10_000)]);
        assert!(set.is_revoked(&a));
        assert!(!set.is_revoked(&b));
        set.mark_synced(10_900);
        assert!(set.is_revoked(&a), "kept while a token may still be valid");
        set.mark_synced(11_001);
        assert!(!set.is_revoked(&a), "forgotten after the retention");
    }

    #[test]
    fn one_check_answers_staleness_and_revocation() {
        let set = RevocationSet::new(60_000);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(set.check(&a, 5_000, 1_000), None, "never synced: stale");
        set.insert([(a, 5_000)]);
        set.mark_synced(5_000);
        assert_eq!(set.check(&a, 5_500, 1_000), Some(true));
        assert_eq!(set.check(&b, 5_500, 1_000), Some(false));
        assert_eq!(set.check(&b, 6_001, 1_000), None, "stale again");
    }

    #[test]
    fn a_stale_feed_is_not_fresh() {
        let set = RevocationSet::new(1_000);
        assert!(!set.is_fresh(5_000, 1_000), "never synced");
        set.mark_synced(5_000);
        assert!(set.is_fresh(5_900, 1_000));
        assert!(!set.is_fresh(6_001, 1_000));
    }
}
