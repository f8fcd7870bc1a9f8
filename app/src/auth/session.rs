//! What the user does with their session: sign in, register, sign out
//! here or everywhere. Each ends in the store's state and a message to the
//! other tabs. The routes depend on the mode: `/api/auth/*` hands out
//! tokens, `/api/session/*` sets the session cookie.

use latchkey_types::{
    ErrorCode, LoginRequest, MfaVerifyRequest, PasskeyAssertion, RegisterRequest, ResetPasswordRequest,
    SessionLoginResponse, TokenResponse,
};
use leptos::prelude::Set;

use super::tabs::{self, TabMessage};
use super::{AuthStatus, AuthStore, Grant, SignedOutReason};
use crate::api::{self, ApiFailure, ApiRequest, Reply};
use crate::browser::now_ms;
use crate::facts::AuthMode;

/// How a registration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    SignedIn,
    /// The account exists; the server signs in only verified addresses and
    /// has mailed the link.
    VerifyFirst,
}

impl AuthStore {
    pub async fn login(&self, request: &LoginRequest) -> Result<(), ApiFailure> {
        let path = match self.mode {
            AuthMode::Jwt => "/api/auth/login",
            AuthMode::Session => "/api/session/login",
        };
        let reply = api::call_public(ApiRequest::post(path, request)).await?;
        self.accept(self.grant(&reply)?);
        Ok(())
    }

    /// Creates the account and, unless the server signs in only verified
    /// addresses (it answers 202 then, with no credential), signs in.
    pub async fn register(&self, request: &RegisterRequest) -> Result<Registration, ApiFailure> {
        let path = match self.mode {
            AuthMode::Jwt => "/api/auth/register",
            AuthMode::Session => "/api/session/register",
        };
        let reply = api::call_public(ApiRequest::post(path, request)).await?;
        if reply.status == 202 {
            return Ok(Registration::VerifyFirst);
        }
        self.accept(self.grant(&reply)?);
        Ok(Registration::SignedIn)
    }

    /// The second step of a sign-in: the challenge of the `mfa_required`
    /// answer and a code (or a recovery code), or a passkey's answer.
    pub async fn complete_mfa(&self, request: &MfaVerifyRequest) -> Result<(), ApiFailure> {
        let path = match self.mode {
            AuthMode::Jwt => "/api/auth/mfa/verify",
            AuthMode::Session => "/api/session/mfa/verify",
        };
        let reply = api::call_public(ApiRequest::post(path, request)).await?;
        self.accept(self.grant(&reply)?);
        Ok(())
    }

    /// Signs in with a passkey alone (username-less): the browser's answer
    /// to `POST /api/auth/passkey/options`. The server answers as it does
    /// to a password sign-in, so from here on it is an ordinary one.
    pub async fn passkey_login(&self, assertion: &PasskeyAssertion) -> Result<(), ApiFailure> {
        let path = match self.mode {
            AuthMode::Jwt => "/api/auth/passkey/login",
            AuthMode::Session => "/api/session/passkey/login",
        };
        let reply = api::call_public(ApiRequest::post(path, assertion)).await?;
        self.accept(self.grant(&reply)?);
        Ok(())
    }

    /// Sets a new password with a mailed reset link and signs in here
    /// (every other session of the account ends on the server).
    pub async fn reset_password(&self, request: &ResetPasswordRequest) -> Result<(), ApiFailure> {
        let path = match self.mode {
            AuthMode::Jwt => "/api/auth/password/reset",
            AuthMode::Session => "/api/session/password/reset",
        };
        let reply = api::call_public(ApiRequest::post(path, request)).await?;
        self.accept(self.grant(&reply)?);
        Ok(())
    }

    fn grant(&self, reply: &Reply) -> Result<Grant, ApiFailure> {
        Ok(match self.mode {
            AuthMode::Jwt => Grant::tokens(reply.json::<TokenResponse>()?, now_ms()),
            AuthMode::Session => Grant::Session {
                response: reply.json::<SessionLoginResponse>()?,
            },
        })
    }

    /// Ends this session on the server (the refresh or session cookie names
    /// it) and signs every tab out. Held under the refresh lock so no tab
    /// is half-way through a renewal that would hand the token back.
    ///
    /// Only an answer that the session is over signs this browser out: if
    /// the server could not be reached or failed, the session may live on,
    /// so the tab stays signed in and the caller shows the failure (and
    /// lets the person try again) instead of claiming a sign-out that did
    /// not happen.
    pub async fn sign_out(&self) -> Result<(), ApiFailure> {
        let store = *self;
        tabs::with_refresh_lock(async move {
            let path = match store.mode {
                AuthMode::Jwt => "/api/auth/logout",
                AuthMode::Session => "/api/session/logout",
            };
            let request = ApiRequest::post_empty(path);
            let answer = match store.credential() {
                Some(credential) => api::call_with(request, &credential).await,
                None => api::call_public(request).await,
            };
            match answer {
                // Ended now, or already over (nothing left to end).
                Ok(_) => {}
                Err(failure) if failure.is(ErrorCode::InvalidRefreshToken) || failure.is(ErrorCode::InvalidToken) => {}
                Err(failure) => return Err(failure),
            }
            store.leave_admin_area().await;
            store.end(SignedOutReason::SignedOut, true);
            Ok(())
        })
        .await
    }

    /// Revokes every session of the user, this one included.
    pub async fn sign_out_everywhere(&self) -> Result<(), ApiFailure> {
        api::call_empty(*self, ApiRequest::post_empty("/api/auth/logout-all")).await?;
        self.end(SignedOutReason::SignedOut, true);
        Ok(())
    }

    /// Drops the credential and stops renewing; optionally tells the other tabs.
    pub(super) fn end(&self, reason: SignedOutReason, tell_other_tabs: bool) {
        self.cancel_renewal();
        self.admin.set(super::AdminArea::initial(self.mode));
        self.status.set(AuthStatus::SignedOut(reason));
        if tell_other_tabs {
            tabs::broadcast(&TabMessage::SignedOut { reason });
        }
    }
}
