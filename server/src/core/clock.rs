//! Time as the database stores it: Unix milliseconds, read through a
//! [`Clock`] so that tests can move time forward instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

/// The wall clock, now. Code that decides anything about a session reads
/// [`Clock::now_ms`] instead; this is for what is about real elapsed time
/// (how stale the revocation feed is, housekeeping).
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Milliseconds from the store back to the RFC 3339 timestamps of the API.
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// The time every auth decision is made at: the wall clock plus an offset
/// that only [`Clock::advance`] changes (tests do, to reach an idle timeout,
/// a grace window's end or a token's `exp` without waiting for it).
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        now_ms() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Moves this clock (and every copy of it) forward.
    pub fn advance(&self, by: Duration) {
        self.offset_ms.fetch_add(by.as_millis() as i64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_copy() {
        let clock = Clock::default();
        let copy = clock.clone();
        let before = copy.now_ms();
        clock.advance(Duration::from_secs(3600));
        let after = copy.now_ms();
        assert!(after - before >= 3_600_000, "{before} → {after}");
        assert!(after - before < 3_700_000, "{before} → {after}");
    }
}
