//! Silent refresh: renew the access token on start, ahead of expiry and
//! when the server refuses it, with the tabs taking turns.
//!
//! The tab that renewed a token renews the next one when 20% of its
//! lifetime is left; tabs that adopted it wait until 10% is left, so they
//! act only if that tab has gone (closed, frozen). Every renewal happens
//! under the cross-tab lock and starts by checking whether someone else
//! already renewed: N tabs cost about one refresh per token lifetime.

use std::time::Duration;

use latchkey_types::{ErrorCode, TokenResponse};
use leptos::prelude::*;

use super::tabs::{self, TabMessage};
use super::{AuthStatus, AuthStore, Outcome, SignedIn, SignedOutReason, Trigger};
use crate::api::{self, ApiFailure, ApiRequest};
use crate::browser::now_ms;

/// A token closer than this to expiry is not worth sending.
const EXPIRY_MARGIN_MS: f64 = 1_000.0;
/// Never schedule sooner than this, however short the lifetime.
const MIN_DELAY_MS: f64 = 1_000.0;
const LEADER_SHARE: f64 = 0.2;
const FOLLOWER_SHARE: f64 = 0.1;
/// After a failure without `Retry-After`.
const RETRY_DELAY_MS: f64 = 5_000.0;

impl AuthStore {
    /// A token good enough to send now, renewing first if this tab's has
    /// run out (timers are throttled in background tabs and stop during
    /// sleep, so the schedule alone is not enough).
    pub(crate) async fn usable_token(&self) -> Result<String, ApiFailure> {
        let now = now_ms();
        // Ok: send this. Err(stale): renew first, replacing `stale` (None: no token yet).
        let held = self.status.with_untracked(|status| match status {
            AuthStatus::SignedIn(s) if s.remaining_ms(now) > EXPIRY_MARGIN_MS => Some(Ok(s.access_token.clone())),
            AuthStatus::SignedIn(s) => Some(Err(Some(s.access_token.clone()))),
            AuthStatus::Unknown | AuthStatus::Unreachable(_) => Some(Err(None)),
            AuthStatus::SignedOut(_) => None,
        });
        match held.ok_or(ApiFailure::SignedOut)? {
            Ok(token) => Ok(token),
            Err(stale) => {
                self.renew(Trigger::Expired, stale).await?;
                self.current_token().ok_or(ApiFailure::SignedOut)
            }
        }
    }

    /// The server refused `rejected`: renew (unless another tab already
    /// did) and hand back the token to retry with.
    pub(crate) async fn renew_rejected(&self, rejected: &str) -> Result<String, ApiFailure> {
        self.renew(Trigger::Rejected, Some(rejected.to_string())).await?;
        self.current_token().ok_or(ApiFailure::SignedOut)
    }

    /// Replaces `stale` (None: this tab has no token yet) with a fresh
    /// token, from another tab if one arrived while waiting for the lock,
    /// else from `POST /api/auth/refresh`.
    pub(super) async fn renew(&self, trigger: Trigger, stale: Option<String>) -> Result<(), ApiFailure> {
        let store = *self;
        tabs::with_refresh_lock(async move {
            if store.holds_fresh_token_other_than(stale.as_deref()) {
                store.record(trigger, Outcome::Adopted);
                return Ok(());
            }
            let answer = api::call_public(ApiRequest::post_empty("/api/auth/refresh"))
                .await
                .and_then(|reply| reply.json::<TokenResponse>());
            match answer {
                Ok(response) => {
                    store.accept(response);
                    store.record(trigger, Outcome::Renewed);
                    Ok(())
                }
                Err(failure) => {
                    store.renewal_failed(trigger, &failure);
                    Err(failure)
                }
            }
        })
        .await
    }

    fn holds_fresh_token_other_than(&self, stale: Option<&str>) -> bool {
        let now = now_ms();
        self.status.with_untracked(|status| match status {
            AuthStatus::SignedIn(s) => Some(s.access_token.as_str()) != stale && s.remaining_ms(now) > EXPIRY_MARGIN_MS,
            _ => false,
        })
    }

    /// A token this tab obtained (sign-in, registration or refresh): use
    /// it, lead the next renewal, and share it.
    pub(super) fn accept(&self, response: TokenResponse) {
        let expires_at_ms = now_ms() + response.expires_in as f64 * 1000.0;
        tabs::broadcast(&TabMessage::Renewed {
            response: response.clone(),
            expires_at_ms,
        });
        self.take(SignedIn::new(response, expires_at_ms), LEADER_SHARE);
    }

    fn take(&self, signed_in: SignedIn, renew_at_share: f64) {
        let delay = signed_in.expires_at_ms - signed_in.lifetime_ms * renew_at_share - now_ms();
        self.status.set(AuthStatus::SignedIn(signed_in));
        self.schedule(Trigger::Scheduled, delay);
    }

    fn renewal_failed(&self, trigger: Trigger, failure: &ApiFailure) {
        if failure.is(ErrorCode::InvalidRefreshToken) {
            // Signed in a moment ago and now no session: it was ended elsewhere.
            let (reason, tell) = if self.is_signed_in() {
                (SignedOutReason::SessionEnded, true)
            } else {
                (SignedOutReason::NeverSignedIn, false)
            };
            self.record(trigger, Outcome::Ended);
            self.end(reason, tell);
            return;
        }
        self.record(trigger, Outcome::Failed(failure.message()));
        if matches!(self.status.get_untracked(), AuthStatus::Unknown) {
            self.status.set(AuthStatus::Unreachable(failure.clone()));
            return;
        }
        // Keep the current token (it may still be valid) and try again.
        let delay = failure
            .retry_after()
            .map_or(RETRY_DELAY_MS, |secs| secs as f64 * 1000.0);
        self.schedule(Trigger::Retry, delay);
    }

    pub(super) fn on_tab_message(&self, message: TabMessage) {
        match message {
            TabMessage::Renewed {
                response,
                expires_at_ms,
            } => {
                let newer = self.status.with_untracked(|status| match status {
                    AuthStatus::SignedIn(s) => expires_at_ms > s.expires_at_ms,
                    _ => true,
                });
                if newer {
                    self.take(SignedIn::new(response, expires_at_ms), FOLLOWER_SHARE);
                    self.record(Trigger::OtherTab, Outcome::Adopted);
                }
            }
            TabMessage::SignedOut { reason } => {
                if self.is_signed_in() {
                    self.end(reason, false);
                }
            }
        }
    }

    fn schedule(&self, trigger: Trigger, delay_ms: f64) {
        self.cancel_renewal();
        let store = *self;
        let delay = Duration::from_millis(delay_ms.max(MIN_DELAY_MS) as u64);
        let handle = set_timeout_with_handle(
            move || {
                leptos::task::spawn_local(async move {
                    let stale = store.current_token();
                    let _ = store.renew(trigger, stale).await;
                })
            },
            delay,
        );
        self.timer.set_value(handle.ok());
    }

    pub(super) fn cancel_renewal(&self) {
        if let Some(handle) = self.timer.get_value() {
            handle.clear();
        }
        self.timer.set_value(None);
    }
}
