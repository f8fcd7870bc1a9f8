//! The refresh-token rotation rules, as a pure function of what the
//! database holds and what the client presented.
//!
//! A session has one live refresh token. Using it rotates it. The token it
//! replaced (its immediate parent) is forgiven for a short grace window and
//! answered with the *same* successor, so two tabs refreshing at once both
//! succeed and the browser ends up with a working cookie whichever response
//! lands last. Anything else that was ever issued for the session — the
//! parent after the window, or any older ancestor — is reuse: a copy of the
//! token is in someone else's hands, so the whole session dies.

/// What the session row says, reduced to what the decision needs.
#[derive(Debug, Clone)]
pub struct SessionState<'a> {
    pub live_hash: &'a str,
    pub parent_hash: Option<&'a str>,
    /// When the live token replaced its parent (ms).
    pub rotated_at: Option<i64>,
    pub revoked: bool,
    pub idle_expires_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshDecision {
    /// The presented token is the live one: rotate it.
    Rotate,
    /// The immediate parent, inside the grace window: hand out the live
    /// successor again, rotate nothing.
    ReturnSuccessor,
    /// A rotated token presented again: revoke the session.
    Reuse,
    /// The session is over (revoked, idle or past its absolute lifetime).
    Ended,
}

/// Decides what a refresh with `presented_hash` means. `presented_hash` must
/// belong to this session (the caller found the session through it).
pub fn decide(state: &SessionState<'_>, presented_hash: &str, now_ms: i64, grace_ms: i64) -> RefreshDecision {
    if state.revoked || now_ms >= state.idle_expires_at || now_ms >= state.expires_at {
        return RefreshDecision::Ended;
    }
    if crate::core::secrets::constant_time_eq(presented_hash.as_bytes(), state.live_hash.as_bytes()) {
        return RefreshDecision::Rotate;
    }
    let is_parent = state
        .parent_hash
        .is_some_and(|parent| crate::core::secrets::constant_time_eq(presented_hash.as_bytes(), parent.as_bytes()));
    let in_grace = state.rotated_at.is_some_and(|at| now_ms - at <= grace_ms);
    if is_parent && in_grace {
        RefreshDecision::ReturnSuccessor
    } else {
        RefreshDecision::Reuse
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: i64 = 5_000;

    fn state(revoked: bool) -> SessionState<'static> {
        SessionState {
            live_hash: "h2",
            parent_hash: Some("h1"),
            rotated_at: Some(10_000),
            revoked,
            idle_expires_at: 100_000,
            expires_at: 200_000,
        }
    }

    #[test]
    fn the_live_token_rotates() {
        assert_eq!(decide(&state(false), "h2", 11_000, GRACE), RefreshDecision::Rotate);
    }

    #[test]
    fn the_parent_inside_the_window_gets_the_successor() {
        assert_eq!(
            decide(&state(false), "h1", 10_000, GRACE),
            RefreshDecision::ReturnSuccessor
        );
        assert_eq!(
            decide(&state(false), "h1", 15_000, GRACE),
            RefreshDecision::ReturnSuccessor
        );
    }

    #[test]
    fn the_parent_after_the_window_is_reuse() {
        assert_eq!(decide(&state(false), "h1", 15_001, GRACE), RefreshDecision::Reuse);
    }

    #[test]
    fn an_older_ancestor_is_reuse_even_inside_the_window() {
        assert_eq!(decide(&state(false), "h0", 10_001, GRACE), RefreshDecision::Reuse);
    }

    #[test]
    fn a_first_generation_token_has_no_parent_to_forgive() {
        let fresh = SessionState {
            parent_hash: None,
            rotated_at: None,
            ..state(false)
        };
        assert_eq!(decide(&fresh, "h2", 0, GRACE), RefreshDecision::Rotate);
        assert_eq!(decide(&fresh, "h1", 0, GRACE), RefreshDecision::Reuse);
    }

    #[test]
    fn ended_sessions_refuse_everything() {
        assert_eq!(decide(&state(true), "h2", 11_000, GRACE), RefreshDecision::Ended);
        assert_eq!(
            decide(&state(false), "h2", 100_000, GRACE),
            RefreshDecision::Ended,
            "idle timeout"
        );
        let capped = SessionState {
            expires_at: 50_000,
            ..state(false)
        };
        assert_eq!(
            decide(&capped, "h2", 50_000, GRACE),
            RefreshDecision::Ended,
            "absolute lifetime"
        );
    }
}
