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

pub async fn limit_address(state: &AppState, client: &ClientInfo) -> ApiResult<()> {
    let now = now_ms();
    let bucket = format!("addr:{}", client.ip);
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
