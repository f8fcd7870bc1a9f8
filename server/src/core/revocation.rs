//! The revoked-session set every server keeps in memory, so a Bearer token
//! whose session was revoked is refused without a database read.
//!
//! A session id needs to stay in the set only as long as an access token
//! naming it can still be valid: access tokens are never issued for a
//! revoked session, so `revoked_at + access lifetime + leeway` is enough.
//! The set is fed by local revocations at once and by a poll of the
//! database (every replica sees the others' revocations); if the feed falls
//! behind, `is_fresh` turns false and callers must fail closed.
//!
//! The same feed carries the cookie sessions that *changed* without ending
//! (a new id after a privilege change, their user's role or status) and
//! the users whose profile changed: a server may serve such a session or
//! profile from a read it made before the change only until the feed has
//! seen the change. Each change is remembered with the time this server
//! first saw it; a read is still good if it was made after that
//! (`read_is_current`).

use std::collections::HashMap;
use std::sync::RwLock;

use uuid::Uuid;

/// What a batch of changes the feed read is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    /// Cookie sessions (`sessions.changed_at`).
    Sessions,
    /// Users' profiles (`users.changed_at`).
    Users,
}

/// No change of `id` seen at or after `read_at`.
fn unchanged_since(changed: &HashMap<Uuid, (i64, i64)>, id: &Uuid, read_at: i64) -> bool {
    changed.get(id).is_none_or(|(_, seen_at)| *seen_at < read_at)
}

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
    /// Session id → (changed at, by the changing database's clock; when
    /// this server first saw that change, by its own).
    changed: HashMap<Uuid, (i64, i64)>,
    /// The same for users whose profile changed.
    changed_users: HashMap<Uuid, (i64, i64)>,
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

    /// Records changed sessions the feed read, as seen at `seen_at` (a time
    /// after the read returned). A change seen before keeps its first
    /// sighting: the feed re-reads its whole window every poll.
    pub fn record_changes(&self, of: Changed, changes: impl IntoIterator<Item = (Uuid, i64)>, seen_at: i64) {
        self.write(|inner| {
            let map = match of {
                Changed::Sessions => &mut inner.changed,
                Changed::Users => &mut inner.changed_users,
            };
            for (id, changed_at) in changes {
                let entry = map.entry(id).or_insert((changed_at, seen_at));
                if entry.0 != changed_at {
                    *entry = (changed_at, seen_at);
                }
            }
        });
    }

    /// Marks the set as caught up at `now`, and forgets entries that no live
    /// access token, and no session read a cache may still hold, can name
    /// any more.
    pub fn mark_synced(&self, now: i64) {
        let horizon = now - self.retain_ms;
        self.write(|inner| {
            inner.synced_at = now;
            inner.revoked.retain(|_, at| *at >= horizon);
            inner.changed.retain(|_, (at, _)| *at >= horizon);
            inner.changed_users.retain(|_, (at, _)| *at >= horizon);
        });
    }

    /// Whether a read of `session` made at `read_at` may still stand in for
    /// the database: `None` when the set is stale (fail closed); otherwise
    /// `Some(true)` unless the session was revoked, or changed after the
    /// read began (seen by the feed at or after `read_at`).
    pub fn read_is_current(&self, session: &Uuid, read_at: i64, now: i64, max_lag_ms: i64) -> Option<bool> {
        self.read(|inner| {
            (now - inner.synced_at <= max_lag_ms)
                .then(|| !inner.revoked.contains_key(session) && unchanged_since(&inner.changed, session, read_at))
        })
    }

    /// The same question for a user's profile read at `read_at`.
    pub fn profile_is_current(&self, user: &Uuid, read_at: i64, now: i64, max_lag_ms: i64) -> Option<bool> {
        self.read(|inner| {
            (now - inner.synced_at <= max_lag_ms).then(|| unchanged_since(&inner.changed_users, user, read_at))
        })
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
    fn a_read_stands_until_the_feed_sees_a_change_made_after_it() {
        let set = RevocationSet::new(60_000);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(set.read_is_current(&a, 4_000, 5_000, 1_000), None, "never synced");
        set.mark_synced(5_000);
        assert_eq!(set.read_is_current(&a, 4_000, 5_000, 1_000), Some(true));
        // `a` changed (its database stamped 5_100); the feed saw it at 5_200.
        set.record_changes(Changed::Sessions, [(a, 5_100)], 5_200);
        set.mark_synced(5_150);
        assert_eq!(set.read_is_current(&a, 4_000, 5_300, 1_000), Some(false), "read before");
        assert_eq!(
            set.read_is_current(&a, 5_200, 5_300, 1_000),
            Some(false),
            "read as it was seen"
        );
        assert_eq!(set.read_is_current(&a, 5_201, 5_300, 1_000), Some(true), "read after");
        assert_eq!(
            set.read_is_current(&b, 4_000, 5_300, 1_000),
            Some(true),
            "another session"
        );
        // The next polls read the same change again: its first sighting stands.
        set.record_changes(Changed::Sessions, [(a, 5_100)], 5_700);
        assert_eq!(set.read_is_current(&a, 5_500, 5_800, 1_000), Some(true));
        // A second change of the same session is a new sighting.
        set.record_changes(Changed::Sessions, [(a, 5_900)], 6_000);
        set.mark_synced(5_950);
        assert_eq!(set.read_is_current(&a, 5_500, 6_100, 1_000), Some(false));
        // Revoked beats everything; a stale feed answers nothing.
        set.insert([(b, 6_000)]);
        assert_eq!(set.read_is_current(&b, 7_000, 6_100, 1_000), Some(false));
        assert_eq!(set.read_is_current(&b, 7_000, 7_000, 1_000), None);
        // Changes are forgotten with the retention, by their own stamp.
        set.mark_synced(5_900 + 60_001);
        assert_eq!(set.read_is_current(&a, 0, 65_901, 1_000), Some(true));
    }

    #[test]
    fn profile_changes_are_kept_apart_from_session_changes() {
        let set = RevocationSet::new(60_000);
        let (user, session) = (Uuid::now_v7(), Uuid::now_v7());
        set.mark_synced(5_000);
        assert_eq!(set.profile_is_current(&user, 4_000, 5_000, 1_000), Some(true));
        set.record_changes(Changed::Users, [(user, 5_100)], 5_200);
        assert_eq!(set.profile_is_current(&user, 4_000, 5_300, 1_000), Some(false));
        assert_eq!(set.profile_is_current(&user, 5_201, 5_300, 1_000), Some(true));
        assert_eq!(
            set.read_is_current(&user, 4_000, 5_300, 1_000),
            Some(true),
            "not a session change"
        );
        set.record_changes(Changed::Sessions, [(session, 5_100)], 5_200);
        assert_eq!(
            set.profile_is_current(&session, 4_000, 5_300, 1_000),
            Some(true),
            "not a user change"
        );
        assert_eq!(set.profile_is_current(&user, 4_000, 6_001, 1_000), None, "stale");
        set.mark_synced(5_100 + 60_001);
        assert_eq!(set.profile_is_current(&user, 0, 65_101, 1_000), Some(true), "forgotten");
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
