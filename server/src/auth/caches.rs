//! The two caches that keep a Bearer request off the signature check and
//! the database:
//!
//! - [`VerifiedTokens`]: access tokens that passed full verification, keyed
//!   by their exact bytes (any other byte string is a miss and is verified
//!   in full). An entry is used only before the token's `exp`; after that
//!   the full check decides again (and refuses once the leeway is over).
//!   The revoked-session check is not cached: it runs on every request.
//! - [`UserCache`]: the public profile of a user, for `GET /api/me`, kept
//!   for at most [`USER_TTL_MS`]. Changes made on this server drop the entry
//!   at once; another replica's change shows here within that time.
//!
//! Both are bounded by entry count (S3-FIFO eviction, `quick_cache`).

use latchkey_types::{AccessClaims, User};
use quick_cache::sync::Cache;
use uuid::Uuid;

pub struct VerifiedTokens {
    cache: Cache<Box<str>, AccessClaims>,
}

impl VerifiedTokens {
    pub fn new(capacity: usize) -> Self {
        VerifiedTokens {
            cache: Cache::new(capacity.max(1)),
        }
    }

    /// The claims of `token` if it was verified before and `now_unix` is
    /// still before its `exp`.
    pub fn get(&self, token: &str, now_unix: i64) -> Option<AccessClaims> {
        let claims = self.cache.get(token)?;
        if now_unix < claims.exp {
            Some(claims)
        } else {
            self.cache.remove(token);
            None
        }
    }

    /// Remembers a token that just passed full verification.
    pub fn insert(&self, token: &str, claims: &AccessClaims) {
        self.cache.insert(token.into(), claims.clone());
    }

    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}

/// How long a cached profile may be served: the bound on how stale
/// another replica's change can look here.
pub const USER_TTL_MS: i64 = 1_000;

pub struct UserCache {
    cache: Cache<Uuid, (User, i64)>,
}

impl UserCache {
    pub fn new(capacity: usize) -> Self {
        UserCache {
            cache: Cache::new(capacity.max(1)),
        }
    }

    pub fn get(&self, id: Uuid, now_ms: i64) -> Option<User> {
        let (user, fetched_at) = self.cache.get(&id)?;
        (now_ms - fetched_at < USER_TTL_MS && now_ms >= fetched_at).then_some(user)
    }

    pub fn insert(&self, user: User, now_ms: i64) {
        self.cache.insert(user.id, (user, now_ms));
    }

    /// Drops a user whose profile, role or status just changed here.
    pub fn forget(&self, id: Uuid) {
        self.cache.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use latchkey_types::Role;

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
        assert_eq!(cache.get("aaa.bbb.ccc", 999), Some(c));
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
        cache.insert(user.clone(), 10_000);
        assert_eq!(cache.get(user.id, 10_500), Some(user.clone()));
        assert_eq!(cache.get(user.id, 11_000), None, "older than the TTL");
        assert_eq!(
            cache.get(user.id, 9_000),
            None,
            "a clock that went back is no reason to trust it"
        );
        cache.insert(user.clone(), 20_000);
        cache.forget(user.id);
        assert_eq!(cache.get(user.id, 20_001), None);
    }
}
