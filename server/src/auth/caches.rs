//! The two caches that keep a Bearer request off the signature check and
//! the database:
//!
//! - [`VerifiedTokens`]: access tokens that passed full verification, keyed
//!   by the SHA-256 of their exact bytes (any other byte string is a miss
//!   and is verified in full; finding another token with the same digest
//!   is as hard as breaking SHA-256). An entry holds only what a request
//!   needs (user, session, role, `exp`): about 100 bytes instead of the
//!   whole token and its claims. It is used only before the token's `exp`;
//!   after that the full check decides again (and refuses once the leeway
//!   is over). The revoked-session check is not cached: it runs on every
//!   request.
//! - [`UserCache`]: the public profile of a user, for `GET /api/me`, as the
//!   JSON body itself (serialised once, not per request), kept for at most
//!   [`USER_TTL_MS`]. Changes made on this server drop the entry at once;
//!   another replica's (or the database's, by hand) reaches it through the
//!   revocation feed within a second (`users.changed_at`).
//!
//! - [`SessionCache`]: sessions as last read — cookie sessions by their
//!   hashed secret, the sessions Bearer tokens name under `session-lookup`
//!   by id — so a busy session costs one read every [`SESSION_TTL_MS`]
//!   instead of one per request. An entry is used only while
//!   it says the session is live and the revocation feed is current and
//!   names neither a revocation of the session nor a change made after the
//!   read (a new id, the user's role or status: `sessions.changed_at`, kept
//!   by database triggers) — this server's own at once, the other
//!   replicas' within a second, a stale feed means no; otherwise the
//!   database decides. A user's change made here drops every entry
//!   (`Engine::user_changed`).
//!
//! All are bounded by entry count (S3-FIFO eviction, `quick_cache`).

use std::sync::Arc;

use latchkey_types::{AccessClaims, Role, User};
use quick_cache::sync::Cache;
use uuid::Uuid;

use crate::core::secrets::token_digest;
use crate::store::sessions::SessionWithUser;

/// What a verified access token said that a request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedClaims {
    pub sub: Uuid,
    pub sid: Uuid,
    pub role: Role,
    pub exp: i64,
}

impl From<&AccessClaims> for VerifiedClaims {
    fn from(claims: &AccessClaims) -> Self {
        VerifiedClaims {
            sub: claims.sub,
            sid: claims.sid,
            role: claims.role,
            exp: claims.exp,
        }
    }
}

// An entry is its 32-byte digest and these claims, plus the cache's own
// bookkeeping: kept well under 200 bytes (`latchkey-facts` measures it).
const _: () = assert!(std::mem::size_of::<VerifiedClaims>() + 32 <= 96);

pub struct VerifiedTokens {
    cache: Cache<[u8; 32], VerifiedClaims>,
}

impl VerifiedTokens {
    pub fn new(capacity: usize) -> Self {
        VerifiedTokens {
            cache: Cache::new(capacity.max(1)),
        }
    }

    /// The claims of `token` if it was verified before and `now_unix` is
    /// still before its `exp`.
    pub fn get(&self, token: &str, now_unix: i64) -> Option<VerifiedClaims> {
        let key = token_digest(token);
        let claims = self.cache.get(&key)?;
        if now_unix < claims.exp {
            Some(claims)
        } else {
            self.cache.remove(&key);
            None
        }
    }

    /// Remembers a token that just passed full verification.
    pub fn insert(&self, token: &str, claims: &AccessClaims) {
        self.cache.insert(token_digest(token), claims.into());
    }

    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}

/// How long a cached profile may be served at most: changes reach it
/// sooner through the revocation feed.
pub const USER_TTL_MS: i64 = 30_000;

/// A cached profile: its JSON, and when its read began by this server's
/// wall clock (what the feed's sightings compare with).
#[derive(Clone)]
pub struct ProfileRead {
    pub json: bytes::Bytes,
    pub read_at: i64,
    kept_at: i64,
}

pub struct UserCache {
    cache: Cache<Uuid, ProfileRead>,
}

impl UserCache {
    pub fn new(capacity: usize) -> Self {
        UserCache {
            cache: Cache::new(capacity.max(1)),
        }
    }

    /// The profile, if kept within the TTL (whether the feed still stands
    /// behind it is the caller's check).
    pub fn get(&self, id: Uuid, now_ms: i64) -> Option<ProfileRead> {
        let read = self.cache.get(&id)?;
        (now_ms - read.kept_at < USER_TTL_MS && now_ms >= read.kept_at).then_some(read)
    }

    /// Keeps the profile as JSON, read from a read begun at `read_at` (wall
    /// clock), at `now_ms` (engine clock); answers that JSON.
    pub fn insert(&self, user: &User, read_at: i64, now_ms: i64) -> bytes::Bytes {
        let json = bytes::Bytes::from(serde_json::to_vec(user).unwrap_or_default());
        let read = ProfileRead {
            json: json.clone(),
            read_at,
            kept_at: now_ms,
        };
        self.cache.insert(user.id, read);
        json
    }

    /// Drops a user whose profile, role or status just changed here.
    pub fn forget(&self, id: Uuid) {
        self.cache.remove(&id);
    }
}

/// How long a session read may stand in for the database at most. What
/// would make it stale reaches every server through the revocation feed,
/// which drops it sooner; the bound is for what the feed cannot see (a
/// session's idle end slid by another server is only ever earlier here,
/// and then the database decides).
pub const SESSION_TTL_MS: i64 = 30_000;

/// A cached session read: shared, not copied, by the requests it answers.
#[derive(Clone)]
pub struct SessionRead {
    pub found: Arc<SessionWithUser>,
    /// When the read began, by this server's wall clock (what the
    /// revocation feed's sightings compare with).
    pub read_at: i64,
    /// When it was kept, by the engine's clock (the TTL's).
    kept_at: i64,
}

impl SessionRead {
    /// Whether the read may still answer at `now_ms` (engine clock): kept
    /// within the TTL and saying the session is live. (Whether the feed
    /// still stands behind it is the caller's check.)
    fn answers_at(&self, now_ms: i64) -> bool {
        let young = now_ms >= self.kept_at && now_ms - self.kept_at < SESSION_TTL_MS;
        young && self.found.is_live(now_ms)
    }
}

pub struct SessionCache {
    /// Cookie sessions by the SHA-256 of their secret.
    by_secret: Cache<[u8; 32], SessionRead>,
    /// Sessions by id, for the Bearer tokens that name them
    /// (`session-lookup`): the token's verified signature vouches for the
    /// id, so the id itself is the key.
    by_id: Cache<Uuid, SessionRead>,
}

impl SessionCache {
    pub fn new(capacity: usize) -> Self {
        SessionCache {
            by_secret: Cache::new(capacity.max(1)),
            by_id: Cache::new(capacity.max(1)),
        }
    }

    /// A live cookie session read within the TTL.
    pub fn cookie(&self, secret_digest: &[u8; 32], now_ms: i64) -> Option<SessionRead> {
        self.by_secret.get(secret_digest).filter(|read| read.answers_at(now_ms))
    }

    /// Keeps a read begun at `read_at` (wall clock), at `now_ms` (engine
    /// clock).
    pub fn keep_cookie(&self, secret_digest: &[u8; 32], found: Arc<SessionWithUser>, read_at: i64, now_ms: i64) {
        let read = SessionRead {
            found,
            read_at,
            kept_at: now_ms,
        };
        self.by_secret.insert(*secret_digest, read);
    }

    /// A live session read by id within the TTL.
    pub fn by_id(&self, id: &Uuid, now_ms: i64) -> Option<SessionRead> {
        self.by_id.get(id).filter(|read| read.answers_at(now_ms))
    }

    /// Keeps a read by id, as `keep_cookie` does.
    pub fn keep_by_id(&self, found: Arc<SessionWithUser>, read_at: i64, now_ms: i64) {
        let id = found.session.id;
        let read = SessionRead {
            found,
            read_at,
            kept_at: now_ms,
        };
        self.by_id.insert(id, read);
    }

    /// A cookie whose secret was replaced (re-keyed) or ended.
    pub fn forget_cookie(&self, secret_digest: &[u8; 32]) {
        self.by_secret.remove(secret_digest);
    }

    /// Everything: a user's role, status or facts changed here.
    pub fn clear(&self) {
        self.by_secret.clear();
        self.by_id.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            iss: "https://latchkey.example".into(),
            aud: "https://latchkey.example/api".into(),
            sub: Uuid::now_v7(),
            sid: Uuid::now_v7(),
            role: Role::User,
            iat: exp - 300,
            nbf: None,
            exp,
            jti: Uuid::now_v7(),
        }
    }

    #[test]
    fn only_the_exact_bytes_hit_and_only_before_exp() {
        let cache = VerifiedTokens::new(16);
        let c = claims(1_000);
        cache.insert("aaa.bbb.ccc", &c);
        assert_eq!(cache.get("aaa.bbb.ccc", 999), Some(VerifiedClaims::from(&c)));
        assert_eq!(cache.get("aaa.bbb.ccC", 999), None, "another byte string is a miss");
        assert_eq!(cache.get("aaa.bbb.cc", 999), None);
        assert_eq!(cache.get("aaa.bbb.ccc", 1_000), None, "dropped at exp");
        assert!(cache.is_empty(), "the expired entry is gone");
    }

    #[test]
    fn the_token_cache_is_bounded() {
        let cache = VerifiedTokens::new(100);
        for i in 0..10_000 {
            cache.insert(&format!("token-{i}"), &claims(i64::MAX));
        }
        assert!(cache.len() <= 110, "{} entries", cache.len());
    }

    fn session(idle_expires_at: i64) -> SessionWithUser {
        use crate::store::sessions::{SessionKind, SessionRecord};
        SessionWithUser {
            session: SessionRecord {
                id: Uuid::now_v7(),
                user_id: Uuid::now_v7(),
                kind: SessionKind::Cookie,
                secret_hash: "a".repeat(64),
                parent_hash: None,
                sealed_successor: None,
                rotated_at: None,
                generation: 0,
                csrf_hash: None,
                created_at: 0,
                last_seen_at: 0,
                idle_expires_at,
                expires_at: i64::MAX,
                revoked_at: None,
                user_agent: None,
                ip: None,
                keyed_role: Some(Role::User),
            },
            role: Role::User,
            user_disabled: false,
        }
    }

    fn key(secret: &str) -> [u8; 32] {
        token_digest(secret)
    }

    #[test]
    fn a_session_read_answers_within_the_ttl_and_only_while_live() {
        let cache = SessionCache::new(16);
        let keep = |secret: &str, s: SessionWithUser| cache.keep_cookie(&key(secret), Arc::new(s), 7, 10_000);
        keep("hash", session(50_000));
        let hit = cache
            .cookie(&key("hash"), 10_000 + SESSION_TTL_MS - 1)
            .expect("within the TTL");
        assert_eq!(hit.read_at, 7, "the read's wall-clock start comes back");
        assert!(
            cache.cookie(&key("hash"), 10_000 + SESSION_TTL_MS).is_none(),
            "older than the TTL"
        );
        assert!(cache.cookie(&key("hash"), 9_999).is_none(), "a clock that went back");
        assert!(cache.cookie(&key("other"), 10_500).is_none());
        // A read that says the session ended is never served: the database
        // decides again (the idle end may have moved since).
        keep("idle", session(10_500));
        assert!(cache.cookie(&key("idle"), 10_400).is_some());
        assert!(cache.cookie(&key("idle"), 10_500).is_none());
        let mut revoked = session(50_000);
        revoked.session.revoked_at = Some(1);
        keep("revoked", revoked);
        assert!(cache.cookie(&key("revoked"), 10_001).is_none());
        let mut disabled = session(50_000);
        disabled.user_disabled = true;
        keep("disabled", disabled);
        assert!(cache.cookie(&key("disabled"), 10_001).is_none());

        cache.forget_cookie(&key("hash"));
        assert!(cache.cookie(&key("hash"), 10_500).is_none());
        keep("hash", session(50_000));
        cache.clear();
        assert!(cache.cookie(&key("hash"), 10_500).is_none());
    }

    #[test]
    fn a_read_by_id_follows_the_same_rules() {
        let cache = SessionCache::new(16);
        let live = Arc::new(session(50_000));
        let id = live.session.id;
        cache.keep_by_id(live, 7, 10_000);
        assert_eq!(cache.by_id(&id, 10_001).expect("kept").read_at, 7);
        assert!(
            cache.by_id(&id, 10_000 + SESSION_TTL_MS).is_none(),
            "older than the TTL"
        );
        assert!(cache.by_id(&Uuid::now_v7(), 10_001).is_none());
        assert!(
            cache.cookie(&key(&id.to_string()), 10_001).is_none(),
            "the two keys never meet"
        );
        let mut ended = session(10_500);
        ended.session.kind = crate::store::sessions::SessionKind::Jwt;
        let ended = Arc::new(ended);
        let ended_id = ended.session.id;
        cache.keep_by_id(ended, 7, 10_000);
        assert!(cache.by_id(&ended_id, 10_400).is_some());
        assert!(cache.by_id(&ended_id, 10_500).is_none(), "not past its idle end");
        cache.clear();
        assert!(cache.by_id(&id, 10_001).is_none());
    }

    #[test]
    fn profiles_expire_and_can_be_forgotten() {
        let cache = UserCache::new(16);
        let user = User {
            id: Uuid::now_v7(),
            email: "ada@example.com".into(),
            display_name: None,
            role: Role::User,
            created_at: chrono::Utc::now(),
            email_verified_at: None,
        };
        let json = cache.insert(&user, 7, 10_000);
        let back: User = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, user);
        let hit = cache.get(user.id, 10_000 + USER_TTL_MS - 1).expect("within the TTL");
        assert_eq!((hit.json, hit.read_at), (json, 7));
        assert!(cache.get(user.id, 10_000 + USER_TTL_MS).is_none(), "older than the TTL");
        assert!(
            cache.get(user.id, 9_000).is_none(),
            "a clock that went back is no reason to trust it"
        );
        cache.insert(&user, 8, 20_000);
        cache.forget(user.id);
        assert!(cache.get(user.id, 20_001).is_none());
    }
}
