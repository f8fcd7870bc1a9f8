//! The admin area's own session, when the server keeps one
//! (`LATCHKEY_ADMIN_AUTH=session`): the article's "sessions for the admin
//! dashboard, tokens for the app".
//!
//! Such a server takes only a session cookie on `/api/admin/*`, fresh within
//! the area's idle timeout. In session mode the app's own cookie is that
//! session, and a timed-out area opens again after a step-up. In JWT mode
//! the app holds an access token, which the admin area refuses: entering
//! signs in once more, this time for a session cookie, and admin requests go
//! out with that cookie and its CSRF token while every other request keeps
//! using the token. `api::call_raw` asks [`AuthStore::admin_credential`] for
//! admin paths; this module decides what that is.

use latchkey_types::{AdminAuth, ErrorCode, LoginRequest, MfaVerifyRequest, ReauthRequest, SessionLoginResponse};
use leptos::prelude::*;

use super::{AuthStore, Credential};
use crate::api::{self, ApiFailure, ApiRequest};
use crate::facts::{AuthMode, server_facts};

#[derive(Clone, Debug, PartialEq)]
pub enum AdminArea {
    /// Not looked at yet (JWT mode: is there an admin session cookie?).
    Unknown,
    /// Open: admin requests go out with this credential (`None`: the app's
    /// own, as on a server whose admin area takes what the app uses).
    Open(Option<Credential>),
    /// Closed: entering takes a fresh authentication. `timed_out`: it was
    /// open and its idle timeout ran out (the cookie session still lives,
    /// and `stale` is its credential, for the step-up).
    Closed { timed_out: bool, stale: Option<Credential> },
}

impl AdminArea {
    /// Where a new tab starts.
    pub(super) fn initial(mode: AuthMode) -> AdminArea {
        match (server_facts().admin_auth, mode) {
            (AdminAuth::Same, _) | (AdminAuth::Session, AuthMode::Session) => AdminArea::Open(None),
            (AdminAuth::Session, AuthMode::Jwt) => AdminArea::Unknown,
        }
    }
}

impl AuthStore {
    pub fn admin_area(&self) -> ReadSignal<AdminArea> {
        self.admin.read_only()
    }

    /// Whether the admin area keeps a session of its own on this server.
    pub fn admin_has_own_session(&self) -> bool {
        server_facts().admin_auth == AdminAuth::Session
    }

    /// What an admin request goes out with: `Ok(None)` for the app's own
    /// credential; the admin cookie session's in JWT mode; `Err` while the
    /// area is closed.
    pub(crate) fn admin_credential(&self) -> Result<Option<Credential>, ApiFailure> {
        match self.admin.get_untracked() {
            AdminArea::Open(credential) => Ok(credential),
            AdminArea::Unknown | AdminArea::Closed { .. } => Err(ApiFailure::AdminClosed),
        }
    }

    /// An admin request was refused: a timed-out area (401
    /// `reauth_required`), or in JWT mode an admin session that ended, close
    /// the area until it is entered again.
    pub(crate) fn admin_refused(&self, failure: &ApiFailure) {
        if !self.admin_has_own_session() {
            return;
        }
        let ended = self.mode == AuthMode::Jwt && failure.is(ErrorCode::InvalidToken);
        if failure.is(ErrorCode::ReauthRequired) || ended {
            self.admin.update(|area| {
                let stale = match area {
                    AdminArea::Open(credential) if !ended => credential.clone(),
                    _ => None,
                };
                *area = AdminArea::Closed { timed_out: true, stale };
            });
        }
    }

    /// JWT mode: looks for an admin session cookie this browser already
    /// holds (a reload) — the server says whose it is and its CSRF token.
    pub async fn check_admin_area(&self) {
        if self.admin.get_untracked() != AdminArea::Unknown {
            return;
        }
        let me = self.user().get_untracked().map(|u| u.id);
        let held = match api::call_public(ApiRequest::get("/api/session")).await {
            Ok(reply) if reply.status == 200 => reply.json::<SessionLoginResponse>().ok(),
            _ => None,
        };
        let area = match held {
            Some(session) if Some(session.user.id) == me => AdminArea::Open(Some(Credential::Cookie {
                csrf_token: session.csrf_token,
            })),
            _ => AdminArea::Closed {
                timed_out: false,
                stale: None,
            },
        };
        self.admin.set(area);
    }

    /// Opens the area with a fresh authentication: a step-up of the session
    /// that timed out, or (JWT mode, no admin session yet) a sign-in for a
    /// session cookie, with the second step when the account has one.
    pub async fn enter_admin_area(&self, password: String, code: Option<String>) -> Result<(), ApiFailure> {
        let stale = match self.admin.get_untracked() {
            AdminArea::Closed { stale, .. } => stale,
            _ => None,
        };
        let reauth = ReauthRequest {
            password: password.clone(),
            code: code.clone(),
        };
        let opened = match (self.mode, stale) {
            (AuthMode::Session, _) => {
                api::call_empty(*self, ApiRequest::post("/api/me/reauth", &reauth)).await?;
                None
            }
            (AuthMode::Jwt, Some(credential)) => {
                api::call_with(ApiRequest::post("/api/me/reauth", &reauth), &credential).await?;
                Some(credential)
            }
            (AuthMode::Jwt, None) => Some(self.admin_sign_in(password, code).await?),
        };
        self.admin.set(AdminArea::Open(opened));
        Ok(())
    }

    async fn admin_sign_in(&self, password: String, code: Option<String>) -> Result<Credential, ApiFailure> {
        let email = self
            .user()
            .get_untracked()
            .map(|u| u.email)
            .ok_or(ApiFailure::SignedOut)?;
        let login = LoginRequest {
            email,
            password,
            client: Default::default(),
        };
        let reply = match api::call_public(ApiRequest::post("/api/session/login", &login)).await {
            Err(failure) => match (failure.mfa_challenge(), code) {
                (Some(challenge), Some(code)) => {
                    let verify = MfaVerifyRequest {
                        challenge_id: challenge.challenge_id,
                        code: Some(code),
                        passkey: None,
                        client: Default::default(),
                    };
                    api::call_public(ApiRequest::post("/api/session/mfa/verify", &verify)).await?
                }
                _ => return Err(failure),
            },
            Ok(reply) => reply,
        };
        let session = reply.json::<SessionLoginResponse>()?;
        Ok(Credential::Cookie {
            csrf_token: session.csrf_token,
        })
    }

    /// JWT mode's sign-out also ends the admin session cookie, if any.
    pub(super) async fn leave_admin_area(&self) {
        if let AdminArea::Open(Some(credential))
        | AdminArea::Closed {
            stale: Some(credential),
            ..
        } = self.admin.get_untracked()
        {
            let _ = api::call_with(ApiRequest::post_empty("/api/session/logout"), &credential).await;
        }
        self.admin.set(AdminArea::initial(self.mode));
    }
}
