//! The auth store: who is signed in, the access token (in memory only) and
//! this tab's refresh history. One per app, provided as context; pages
//! read it, and `api` asks it for tokens.
//!
//! `session` holds the user's actions (sign in, register, sign out),
//! `renew` the silent refresh, `tabs` the coordination between tabs.

mod admin;
mod renew;
mod session;
mod status;
mod tabs;
pub mod token;

use latchkey_types::User;
use leptos::prelude::*;

pub use admin::AdminArea;
pub use session::Registration;
pub use status::{
    Access, AccessToken, AuthStatus, Credential, Grant, Outcome, RefreshEvent, SignedIn, SignedOutReason, Trigger,
};

use crate::browser::now_ms;
use crate::facts::{AuthMode, server_facts};

/// How many refresh events the "How it works" page keeps.
const HISTORY_LEN: usize = 50;

#[derive(Clone, Copy)]
pub struct AuthStore {
    /// Which credential this app signs in with (the server's setting).
    mode: AuthMode,
    status: RwSignal<AuthStatus>,
    history: RwSignal<Vec<RefreshEvent>>,
    access: Memo<Access>,
    user: Memo<Option<User>>,
    timer: StoredValue<Option<TimeoutHandle>>,
    /// The admin area's own session, where the server keeps one.
    admin: RwSignal<AdminArea>,
}

/// Creates the store and makes it available to every component below.
pub fn provide_auth() -> AuthStore {
    let status = RwSignal::new(AuthStatus::Unknown);
    let mode = server_facts().auth_mode;
    let store = AuthStore {
        mode,
        status,
        history: RwSignal::new(Vec::new()),
        access: Memo::new(move |_| status.with(|s| Access::from(s))),
        user: Memo::new(move |_| {
            status.with(|s| match s {
                AuthStatus::SignedIn(signed_in) => Some(signed_in.user.clone()),
                _ => None,
            })
        }),
        timer: StoredValue::new(None),
        admin: RwSignal::new(AdminArea::initial(mode)),
    };
    provide_context(store);
    store
}

pub fn use_auth() -> AuthStore {
    use_context().expect("App provides the AuthStore above every page")
}

impl AuthStore {
    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    pub fn status(&self) -> ReadSignal<AuthStatus> {
        self.status.read_only()
    }

    /// Changes only when access changes, not when a token is renewed, so
    /// pages keyed on it keep their state across renewals.
    pub fn access(&self) -> Memo<Access> {
        self.access
    }

    pub fn user(&self) -> Memo<Option<User>> {
        self.user
    }

    pub fn history(&self) -> ReadSignal<Vec<RefreshEvent>> {
        self.history.read_only()
    }

    /// Browser only, once: listen to the other tabs, then ask the server
    /// whether the refresh (or session) cookie still names a live session.
    pub fn start(&self) {
        let store = *self;
        tabs::listen(move |message| store.on_tab_message(message));
        self.restart();
    }

    /// After the first refresh could not reach the server.
    pub fn restart(&self) {
        let store = *self;
        self.status.set(AuthStatus::Unknown);
        leptos::task::spawn_local(async move {
            let _ = store.renew(Trigger::Startup, None).await;
        });
    }

    /// The profile changed (`PATCH /api/me`); the token did not.
    pub fn set_user(&self, user: User) {
        self.status.update(|status| {
            if let AuthStatus::SignedIn(signed_in) = status {
                signed_in.user = user;
            }
        });
    }

    /// Stops renewing until the next sign-in (the revocation demonstration
    /// keeps its old credential on purpose).
    pub fn pause_renewal(&self) {
        self.cancel_renewal();
    }

    /// This tab's session is over (it revoked it itself): sign every tab out.
    pub fn session_ended_here(&self) {
        self.end(SignedOutReason::SessionEnded, true);
    }

    /// The credential this tab holds, if signed in.
    pub fn credential(&self) -> Option<Credential> {
        self.status.with_untracked(|status| match status {
            AuthStatus::SignedIn(signed_in) => Some(signed_in.credential.clone()),
            _ => None,
        })
    }

    fn is_signed_in(&self) -> bool {
        self.status.with_untracked(|s| matches!(s, AuthStatus::SignedIn(_)))
    }

    fn record(&self, trigger: Trigger, outcome: Outcome) {
        self.history.update(|events| {
            events.push(RefreshEvent {
                at_ms: now_ms(),
                trigger,
                outcome,
            });
            let excess = events.len().saturating_sub(HISTORY_LEN);
            events.drain(..excess);
        });
    }
}
