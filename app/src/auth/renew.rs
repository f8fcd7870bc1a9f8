//! Silent refresh: renew the access token on start, ahead of expiry and
//! when the server refuses it, with the tabs taking turns. In session mode
//! there is nothing to renew: on start (and after a 401) the page only
//! asks whether its session cookie is still live, and learns the CSRF
//! token again.
//!
//! The tab that renewed a token renews the next one when 20% of its
//! lifetime is left; tabs that adopted it wait until 10% is left, so they
//! act only if that tab has gone (closed, frozen). Every renewal happens
//! under the cross-tab lock and starts by checking whether someone else
//! already renewed: N tabs cost about one refresh per token lifetime.

use std::time::Duration;

use latchkey_types::{ErrorCode, SessionLoginResponse, TokenResponse};
use leptos::prelude::*;

use super::tabs::{self, TabMessage};
use super::{AuthStatus, AuthStore, Credential, Grant, Outcome, SignedIn, SignedOutReason, Trigger};
use crate::api::{self, ApiFailure, ApiRequest};
use crate::browser::{jitter, now_ms};
use crate::facts::AuthMode;

/// A token closer than this to expiry is not worth sending.
const EXPIRY_MARGIN_MS: f64 = 1_000.0;
/// Never schedule sooner than this, however short the lifetime.
const MIN_DELAY_MS: f64 = 1_000.0;
const LEADER_SHARE: f64 = 0.2;
const FOLLOWER_SHARE: f64 = 0.1;
/// After a failure without `Retry-After`: soon, and spread out so that many
/// tabs or clients that failed together do not retry together. Well inside
/// the server's grace window (30 s by default), so a retry after a lost
/// response still receives the successor the server already issued.
const RETRY_DELAY_MS: f64 = 1_000.0;
const RETRY_JITTER_MS: f64 = 2_000.0;

impl AuthStore {
    /// A credential good enough to send now, renewing first if this tab's
    /// token has run out (timers are throttled in background tabs and stop
    /// during sleep, so the schedule alone is not enough).
    pub(crate) async fn usable_credential(&self) -> Result<Credential, ApiFailure> {
        let now = now_ms();
        // Ok: send this. Err(stale): renew first, replacing `stale` (None: nothing yet).
        let held = self.status.with_untracked(|status| match status {
            AuthStatus::SignedIn(s) if s.remaining_ms(now) > EXPIRY_MARGIN_MS => Some(Ok(s.credential.clone())),
            AuthStatus::SignedIn(s) => Some(Err(Some(s.credential.secret().to_string()))),
            AuthStatus::Unknown | AuthStatus::Unreachable(_) => Some(Err(None)),
            AuthStatus::SignedOut(_) => None,
        });
        match held.ok_or(ApiFailure::SignedOut)? {
            Ok(credential) => Ok(credential),
            Err(stale) => {
                self.renew(Trigger::Expired, stale).await?;
                self.credential().ok_or(ApiFailure::SignedOut)
            }
        }
    }

    /// The server refused `rejected`: renew (unless another tab already
    /// did) and hand back the credential to retry with.
    pub(crate) async fn renew_rejected(&self, rejected: &Credential) -> Result<Credential, ApiFailure> {
        self.renew(Trigger::Rejected, Some(rejected.secret().to_string()))
            .await?;
        self.credential().ok_or(ApiFailure::SignedOut)
    }

    /// Replaces `stale` (None: this tab has none yet) with a fresh
    /// credential, from another tab if one arrived while waiting for the
    /// lock, else from the server: `POST /api/auth/refresh` in JWT mode,
    /// `GET /api/session` (is the cookie still good, and its CSRF token?)
    /// in session mode.
    pub(super) async fn renew(&self, trigger: Trigger, stale: Option<String>) -> Result<(), ApiFailure> {
        let store = *self;
        tabs::with_refresh_lock(async move {
            if store.holds_fresh_credential_other_than(stale.as_deref()) {
                store.record(trigger, Outcome::Adopted);
                return Ok(());
            }
            let request = match store.mode {
                AuthMode::Jwt => ApiRequest::post_empty("/api/auth/refresh"),
                AuthMode::Session => ApiRequest::get("/api/session"),
            };
            let reply = api::call_public(request).await;
            // No refresh (or session) cookie at all: nothing to renew, no error.
            if reply.as_ref().is_ok_and(|reply| reply.status == 204) {
                store.no_session(trigger);
                return Ok(());
            }
            let answer = reply.and_then(|reply| match store.mode {
                AuthMode::Jwt => reply
                    .json::<TokenResponse>()
                    .map(|response| Grant::tokens(response, now_ms())),
                AuthMode::Session => reply
                    .json::<SessionLoginResponse>()
                    .map(|response| Grant::Session { response }),
            });
            match answer {
                Ok(grant) => {
                    store.accept(grant);
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

    fn holds_fresh_credential_other_than(&self, stale: Option<&str>) -> bool {
        let now = now_ms();
        self.status.with_untracked(|status| match status {
            AuthStatus::SignedIn(s) => Some(s.credential.secret()) != stale && s.remaining_ms(now) > EXPIRY_MARGIN_MS,
            _ => false,
        })
    }

    /// A credential this tab obtained (sign-in, registration or renewal):
    /// use it, lead the next renewal, and share it.
    pub(super) fn accept(&self, grant: Grant) {
        tabs::broadcast(&TabMessage::Renewed { grant: grant.clone() });
        self.take(SignedIn::new(grant), LEADER_SHARE);
    }

    /// Signs in with `signed_in`; a token is renewed when `renew_at_share`
    /// of its lifetime is left (a session cookie needs no renewal).
    fn take(&self, signed_in: SignedIn, renew_at_share: f64) {
        let delay = match &signed_in.credential {
            Credential::Bearer(token) => Some(token.expires_at_ms - token.lifetime_ms * renew_at_share - now_ms()),
            Credential::Cookie { .. } => None,
        };
        self.status.set(AuthStatus::SignedIn(Box::new(signed_in)));
        match delay {
            Some(delay) => self.schedule(Trigger::Scheduled, delay),
            None => self.cancel_renewal(),
        }
    }

    /// No live session behind the cookie (or no cookie at all).
    fn no_session(&self, trigger: Trigger) {
        self.record(trigger, Outcome::Ended);
        // Signed in a moment ago and now no session: it was ended elsewhere.
        if self.is_signed_in() {
            self.end(SignedOutReason::SessionEnded, true);
            return;
        }
        // Signed out already (a call that raced the one that found the
        // session over, say): keep the reason it was given.
        if matches!(self.status.get_untracked(), AuthStatus::SignedOut(_)) {
            return;
        }
        self.end(SignedOutReason::NeverSignedIn, false);
    }

    fn renewal_failed(&self, trigger: Trigger, failure: &ApiFailure) {
        if failure.is(ErrorCode::InvalidRefreshToken) || failure.is(ErrorCode::InvalidToken) {
            self.no_session(trigger);
            return;
        }
        self.record(trigger, Outcome::Failed(failure.message()));
        if matches!(self.status.get_untracked(), AuthStatus::Unknown) {
            self.status.set(AuthStatus::Unreachable(failure.clone()));
            return;
        }
        // Keep the current credential (it may still be valid) and try again.
        let delay = failure.retry_after().map_or_else(
            || RETRY_DELAY_MS + RETRY_JITTER_MS * jitter(),
            |secs| secs as f64 * 1000.0,
        );
        self.schedule(Trigger::Retry, delay);
    }

    pub(super) fn on_tab_message(&self, message: TabMessage) {
        match message {
            TabMessage::Renewed { grant } => {
                let offered = SignedIn::new(grant);
                let newer = self
                    .status
                    .with_untracked(|status| match (status, &offered.credential) {
                        (AuthStatus::SignedIn(held), Credential::Bearer(token)) => match &held.credential {
                            Credential::Bearer(mine) => token.expires_at_ms > mine.expires_at_ms,
                            Credential::Cookie { .. } => true,
                        },
                        (AuthStatus::SignedIn(held), Credential::Cookie { csrf_token }) => {
                            held.credential.secret() != csrf_token || held.user != offered.user
                        }
                        _ => true,
                    });
                if newer {
                    self.take(offered, FOLLOWER_SHARE);
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
                    let stale = store.credential().map(|c| c.secret().to_string());
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
