//! The one way the browser app talks to the server.
//!
//! Every call goes through [`call_raw`] (or its thin wrappers): it attaches
//! the in-memory credential (access token or CSRF token), and when the server answers 401
//! `invalid_token` it renews the token once through the auth store and
//! retries once. A 401 means the server did nothing, so retrying even a
//! POST is safe. Failures come back as a typed [`ApiFailure`], never raw
//! JSON. Calls that need no token (sign-in, registration, refresh) use
//! [`call_public`], which shares the same transport.

mod failure;
mod transport;

use latchkey_types::ErrorCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::{AuthStore, Credential};
pub use failure::ApiFailure;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Patch,
    Delete,
}

/// A request ready to send (and to send again after a renewal).
#[derive(Clone, Debug)]
pub struct ApiRequest {
    pub verb: Verb,
    pub path: String,
    /// Serialised JSON. Unsafe methods always carry a body, `{}` when there
    /// is nothing to say: the server refuses anything but JSON on them.
    pub body: Option<String>,
}

impl ApiRequest {
    pub fn get(path: impl Into<String>) -> Self {
        ApiRequest {
            verb: Verb::Get,
            path: path.into(),
            body: None,
        }
    }

    pub fn delete(path: impl Into<String>) -> Self {
        ApiRequest {
            verb: Verb::Delete,
            path: path.into(),
            body: None,
        }
    }

    pub fn post(path: impl Into<String>, body: &impl Serialize) -> Self {
        Self::with_body(Verb::Post, path, body)
    }

    pub fn patch(path: impl Into<String>, body: &impl Serialize) -> Self {
        Self::with_body(Verb::Patch, path, body)
    }

    /// A POST whose meaning is all in the path and the credentials.
    pub fn post_empty(path: impl Into<String>) -> Self {
        ApiRequest {
            verb: Verb::Post,
            path: path.into(),
            body: Some("{}".into()),
        }
    }

    fn with_body(verb: Verb, path: impl Into<String>, body: &impl Serialize) -> Self {
        ApiRequest {
            verb,
            path: path.into(),
            // Our own request types always serialise; `{}` keeps the request well-formed regardless.
            body: Some(serde_json::to_string(body).unwrap_or_else(|_| "{}".into())),
        }
    }
}

/// A successful answer: the status and the raw body text.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiFailure> {
        serde_json::from_str(&self.body).map_err(|_| ApiFailure::Unexpected { status: self.status })
    }
}

/// Sends an authenticated request: the credential from the auth store
/// (the access token, or in session mode the CSRF token beside the
/// cookie), one renewal and one retry on `invalid_token`.
///
/// An admin request on a server whose admin area keeps a session of its own
/// goes out with that session's credential instead (`auth::admin`), and a
/// refusal from the area closes it.
pub async fn call_raw(auth: AuthStore, request: ApiRequest) -> Result<Reply, ApiFailure> {
    let admin = request.path.starts_with("/api/admin/");
    if admin && let Some(credential) = auth.admin_credential()? {
        let answer = transport::send(&request, Some(&credential)).await;
        if let Err(failure) = &answer {
            auth.admin_refused(failure);
        }
        return answer;
    }
    let credential = auth.usable_credential().await?;
    let answer = match transport::send(&request, Some(&credential)).await {
        Err(failure) if failure.code() == Some(ErrorCode::InvalidToken) => {
            let credential = auth.renew_rejected(&credential).await?;
            transport::send(&request, Some(&credential)).await
        }
        other => other,
    };
    if admin && let Err(failure) = &answer {
        auth.admin_refused(failure);
    }
    answer
}

/// An authenticated call that answers with a JSON body.
pub async fn call<T: DeserializeOwned>(auth: AuthStore, request: ApiRequest) -> Result<T, ApiFailure> {
    call_raw(auth, request).await?.json()
}

/// An authenticated call that answers 204.
pub async fn call_empty(auth: AuthStore, request: ApiRequest) -> Result<(), ApiFailure> {
    call_raw(auth, request).await.map(drop)
}

/// A call that needs no access token: the refresh or session cookie, if
/// any, travels on its own (same-origin credentials).
pub async fn call_public(request: ApiRequest) -> Result<Reply, ApiFailure> {
    transport::send(&request, None).await
}

/// Like [`call_public`], with a credential the caller already holds
/// (signing out uses the one it is about to drop).
pub async fn call_with(request: ApiRequest, credential: &Credential) -> Result<Reply, ApiFailure> {
    transport::send(&request, Some(credential)).await
}
