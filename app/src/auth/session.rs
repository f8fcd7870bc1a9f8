//! What the user does with their session: sign in, register, sign out
//! here or everywhere. Each ends in the store's state and a message to the
//! other tabs.

use latchkey_types::{LoginRequest, RegisterRequest, TokenResponse};
use leptos::prelude::Set;

use super::tabs::{self, TabMessage};
use super::{AuthStatus, AuthStore, SignedOutReason};
use crate::api::{self, ApiFailure, ApiRequest};

impl AuthStore {
    pub async fn login(&self, request: &LoginRequest) -> Result<(), ApiFailure> {
        let reply = api::call_public(ApiRequest::post("/api/auth/login", request)).await?;
        self.accept(reply.json::<TokenResponse>()?);
        Ok(())
    }

    pub async fn register(&self, request: &RegisterRequest) -> Result<(), ApiFailure> {
        let reply = api::call_public(ApiRequest::post("/api/auth/register", request)).await?;
        self.accept(reply.json::<TokenResponse>()?);
        Ok(())
    }

    /// Ends this session on the server (the refresh cookie names it) and
    /// signs every tab out. Held under the refresh lock so no tab is
    /// half-way through a renewal that would hand the token back.
    pub async fn sign_out(&self) {
        let store = *self;
        tabs::with_refresh_lock(async move {
            let request = ApiRequest::post_empty("/api/auth/logout");
            // Whatever the answer, this browser is done with the session:
            // the server has ended it, or it was already over.
            let _ = match store.current_token() {
                Some(token) => api::call_with_token(request, &token).await,
                None => api::call_public(request).await,
            };
            store.end(SignedOutReason::SignedOut, true);
        })
        .await;
    }

    /// Revokes every session of the user, this one included.
    pub async fn sign_out_everywhere(&self) -> Result<(), ApiFailure> {
        api::call_empty(*self, ApiRequest::post_empty("/api/auth/logout-all")).await?;
        self.end(SignedOutReason::SignedOut, true);
        Ok(())
    }

    /// Drops the token and stops renewing; optionally tells the other tabs.
    pub(super) fn end(&self, reason: SignedOutReason, tell_other_tabs: bool) {
        self.cancel_renewal();
        self.status.set(AuthStatus::SignedOut(reason));
        if tell_other_tabs {
            tabs::broadcast(&TabMessage::SignedOut { reason });
        }
    }
}
