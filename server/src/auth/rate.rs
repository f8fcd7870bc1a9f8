//! Rate limits, kept in the database so they hold across replicas: per
//! client address for sign-in and registration, a separate and larger
//! per-address budget for refresh (one abuser behind a NAT must not stop
//! everyone else's silent refresh), and per account for password attempts.

use super::client::ClientInfo;
use super::engine::{Engine, event_by};
use super::error::{AuthError, AuthResult};
use crate::core::identity::Email;
use crate::store::audit::Event;

const MINUTE_MS: i64 = 60_000;
const ACCOUNT_WINDOW_MS: i64 = 15 * MINUTE_MS;

/// Which per-address budget an attempt counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressBudget {
    /// Sign-in and registration: `LATCHKEY_RATE_ADDRESS_PER_MIN`.
    SignIn,
    /// Refresh: `LATCHKEY_RATE_REFRESH_PER_MIN`.
    Refresh,
}

fn limited(resets_at: i64, now: i64) -> AuthError {
    AuthError::RateLimited {
        retry_after_secs: ((resets_at - now + 999) / 1000).max(1) as u64,
    }
}

/// The unit one client is counted by: an IPv4 address, or an IPv6 /64 (a
/// single subscriber usually holds a whole /64, so per-/128 buckets would
/// hand out unlimited attempts).
fn address_bucket(ip: std::net::IpAddr) -> String {
    match ip.to_canonical() {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

impl Engine {
    pub(crate) async fn limit_address(&self, client: &ClientInfo, budget: AddressBudget) -> AuthResult<()> {
        let now = self.now();
        let (prefix, limit) = match budget {
            AddressBudget::SignIn => ("addr", self.settings.rate_address_per_min),
            AddressBudget::Refresh => ("refresh", self.settings.rate_refresh_per_min),
        };
        let bucket = format!("{prefix}:{}", address_bucket(client.ip));
        let hit = self.db.hit_rate_limit(&bucket, MINUTE_MS, now).await?;
        if hit.count > i64::from(limit) {
            return Err(limited(hit.resets_at, now));
        }
        Ok(())
    }

    /// A personal API key's request budget (`LATCHKEY_RATE_API_KEY_PER_MIN`),
    /// counted in the database so it holds across replicas; the first
    /// refusal of a window is audited.
    pub(crate) async fn limit_api_key(
        &self,
        key_id: uuid::Uuid,
        user: uuid::Uuid,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        let now = self.now();
        let hit = self.db.hit_rate_limit(&format!("key:{key_id}"), MINUTE_MS, now).await?;
        let limit = i64::from(self.settings.rate_api_key_per_min);
        if hit.count > limit {
            if hit.count == limit + 1 {
                let ip = client.ip_string();
                let mut event = event_by(client, &ip, Event::ApiKeyRefused, Some(user), None);
                event.actor_id = None;
                event.detail = Some(serde_json::json!({ "reason": "rate_limited", "key_id": key_id }));
                self.audit(event).await;
            }
            return Err(limited(hit.resets_at, now));
        }
        Ok(())
    }

    /// Refused API keys per client address: past the sign-in budget, 429
    /// (and no more audit records) for the rest of the minute.
    pub(crate) async fn limit_key_failures(&self, client: &ClientInfo) -> AuthResult<()> {
        let now = self.now();
        let bucket = format!("keyfail:{}", address_bucket(client.ip));
        let hit = self.db.hit_rate_limit(&bucket, MINUTE_MS, now).await?;
        if hit.count > i64::from(self.settings.rate_address_per_min) {
            return Err(limited(hit.resets_at, now));
        }
        Ok(())
    }

    /// Counts a password attempt against the account *before* checking it,
    /// so parallel guesses cannot slip past the limit; a success clears the
    /// bucket (the returned name). Past the limit the answer is 429 whatever
    /// the password; the first refusal of a window is audited (once, so an
    /// attacker cannot fill the log through it).
    pub(crate) async fn limit_account(
        &self,
        email: &Email,
        client: &ClientInfo,
        user: Option<uuid::Uuid>,
    ) -> AuthResult<String> {
        let now = self.now();
        let bucket = format!("acct:{}", email.key());
        let hit = self.db.hit_rate_limit(&bucket, ACCOUNT_WINDOW_MS, now).await?;
        let limit = i64::from(self.settings.rate_account_failures);
        if hit.count > limit {
            if hit.count == limit + 1 {
                let ip = client.ip_string();
                let mut event = event_by(client, &ip, Event::LoginRateLimited, user, None);
                event.actor_id = None;
                event.detail = Some(serde_json::json!({ "failures": limit }));
                self.audit(event).await;
            }
            return Err(limited(hit.resets_at, now));
        }
        Ok(bucket)
    }
}

#[cfg(test)]
mod tests {
    use super::address_bucket;

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let a = address_bucket("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = address_bucket("2001:db8:1:2:bbbb::9".parse().unwrap());
        let other = address_bucket("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(address_bucket("::ffff:192.0.2.7".parse().unwrap()), "192.0.2.7");
        assert_eq!(address_bucket("192.0.2.7".parse().unwrap()), "192.0.2.7");
    }
}
