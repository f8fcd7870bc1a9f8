//! Rate limits of API.md, kept in the database so they hold across
//! replicas: per client address for login/register/refresh, and per
//! account for password attempts.

use latchkey_types::ErrorCode;

use super::client::ClientInfo;
use super::{ApiError, ApiResult, AppState};
use crate::core::clock::now_ms;
use crate::core::identity::Email;

const MINUTE_MS: i64 = 60_000;
const ACCOUNT_WINDOW_MS: i64 = 15 * MINUTE_MS;

fn limited(resets_at: i64, now: i64) -> ApiError {
    ApiError {
        retry_after_secs: Some(((resets_at - now + 999) / 1000).max(1) as u64),
        ..ApiError::new(
            ErrorCode::RateLimited,
            "Too many attempts; please wait before trying again.",
        )
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

pub async fn limit_address(state: &AppState, client: &ClientInfo) -> ApiResult<()> {
    let now = now_ms();
    let bucket = format!("addr:{}", address_bucket(client.ip));
    let hit = state.db.hit_rate_limit(&bucket, MINUTE_MS, now).await?;
    if hit.count > i64::from(state.settings.rate_address_per_min) {
        return Err(limited(hit.resets_at, now));
    }
    Ok(())
}

/// Counts a password attempt against the account *before* checking it, so
/// parallel guesses cannot slip past the limit; a success clears the
/// bucket (the returned name). Past the limit the answer is 429 whatever
/// the password.
pub async fn limit_account(state: &AppState, email: &Email) -> ApiResult<String> {
    let now = now_ms();
    let bucket = format!("acct:{}", email.key());
    let hit = state.db.hit_rate_limit(&bucket, ACCOUNT_WINDOW_MS, now).await?;
    if hit.count > i64::from(state.settings.rate_account_failures) {
        return Err(limited(hit.resets_at, now));
    }
    Ok(bucket)
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
