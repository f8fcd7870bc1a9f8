//! Personal API keys: a long-lived credential a user makes for a script or
//! a service (`Authorization: Bearer lk_…`). A key is `lk_` and 256 random
//! bits, shown once and stored as its SHA-256 hash; every request that
//! presents one reads its row (one indexed read, never cached), so a
//! revoked or expired key, or a disabled user's, is refused on the next
//! request on every server. Creating one needs a recent full
//! authentication; every creation, refusal and revocation is audited, and
//! each key has a request budget of its own.

use latchkey_types::{ApiKeyScope, CreateApiKeyRequest};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::access::{Credential, Principal};
use super::client::ClientInfo;
use super::engine::{Engine, event_by};
use super::error::{AuthError, AuthResult};
use super::passkeys::short_name;
use crate::core::secrets::{hash_token, random_token};
use crate::store::api_keys::{ApiKeyRecord, ApiKeyWithUser, NewApiKey};
use crate::store::audit::Event;

/// What every API key starts with: a credential scanner (and a person) can
/// tell it from an access token at a glance.
pub const API_KEY_PREFIX: &str = "lk_";
/// Characters of a key kept in the clear to tell keys apart in a list
/// (`lk_` and 7 of the random part: 42 bits, nothing to guess from).
const SHOWN_CHARS: usize = 10;
/// Live keys per user.
const MAX_LIVE_KEYS: u32 = 25;
/// `last_used_at` is written at most once a minute per key.
const TOUCH_EVERY_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// Whether a Bearer credential is an API key (rather than an access token).
pub fn is_api_key(token: &str) -> bool {
    token.starts_with(API_KEY_PREFIX)
}

impl Engine {
    /// Makes a key for the caller (a session, recently authenticated in
    /// full); returns it with the key itself, which is never shown again.
    pub async fn create_api_key(
        &self,
        auth: &Principal,
        request: &CreateApiKeyRequest,
        client: &ClientInfo,
    ) -> AuthResult<(ApiKeyRecord, SecretString)> {
        let name = short_name(&request.name)?;
        let now = self.now();
        let expires_at = match request.expires_in_days {
            None => None,
            Some(days @ 1..=365) => Some(now + i64::from(days) * DAY_MS),
            Some(_) => {
                return Err(AuthError::field(
                    "expires_in_days",
                    "must be 1 to 365 (leave it out for a key that does not expire)",
                ));
            }
        };
        self.require_recent_auth(auth).await?;
        let key = SecretString::from(format!("{API_KEY_PREFIX}{}", random_token().expose_secret()));
        let secret_hash = hash_token(key.expose_secret());
        let id = Uuid::now_v7();
        let ip = client.ip_string();
        let mut audit = event_by(
            client,
            &ip,
            Event::ApiKeyCreated,
            Some(auth.user_id),
            Some(auth.session_id),
        );
        audit.detail = Some(serde_json::json!({
            "key_id": id,
            "name": name,
            "scope": request.scope,
            "expires_at": expires_at,
        }));
        let new = NewApiKey {
            id,
            user_id: auth.user_id,
            name: &name,
            prefix: &key.expose_secret()[..SHOWN_CHARS],
            secret_hash: &secret_hash,
            scope: request.scope,
            expires_at,
        };
        match self.db.create_api_key(new, MAX_LIVE_KEYS, now, audit).await {
            Ok(Some(record)) => Ok((record, key)),
            Ok(None) => Err(AuthError::Conflict(
                "You have as many API keys as an account may hold (25); revoke one first.",
            )),
            Err(crate::store::StoreError::Conflict) => Err(AuthError::AccountChanged),
            Err(err) => Err(err.into()),
        }
    }

    /// A user's keys that are not revoked, newest first.
    pub async fn api_keys(&self, user_id: Uuid) -> AuthResult<Vec<ApiKeyRecord>> {
        Ok(self.db.list_api_keys(user_id).await?)
    }

    /// Revokes one of the caller's keys (an API key may revoke itself).
    /// `NotFound` for a key that is not theirs or is revoked already.
    pub async fn revoke_own_api_key(&self, auth: &Principal, id: Uuid, client: &ClientInfo) -> AuthResult<()> {
        let ip = client.ip_string();
        let audit = event_by(client, &ip, Event::ApiKeyRevoked, Some(auth.user_id), auth.session());
        self.db
            .revoke_api_key(id, Some(auth.user_id), self.now(), audit)
            .await?
            .map(|_| ())
            .ok_or(AuthError::NotFound("No such API key."))
    }

    /// An administrator revokes anyone's key.
    pub async fn admin_revoke_api_key(&self, admin: &Principal, id: Uuid, client: &ClientInfo) -> AuthResult<()> {
        let ip = client.ip_string();
        let audit = event_by(
            client,
            &ip,
            Event::AdminApiKeyRevoked,
            Some(admin.user_id),
            admin.session(),
        );
        self.db
            .revoke_api_key(id, None, self.now(), audit)
            .await?
            .map(|_| ())
            .ok_or(AuthError::NotFound("No such API key."))
    }

    /// The caller a key stands for, if the key is live, its user enabled,
    /// its scope allows the request (`safe`: a GET or HEAD) and it is within
    /// its request budget. Refusals are audited (at most the per-address
    /// budget of them a minute, so a flood of bad keys cannot fill the log).
    pub async fn authenticate_api_key(&self, key: &str, safe: bool, client: &ClientInfo) -> AuthResult<Principal> {
        let now = self.now();
        let found = self.db.find_api_key(&hash_token(key)).await?;
        let refusal = match &found {
            None => Some(("unknown", AuthError::InvalidToken)),
            Some(f) if f.key.revoked_at.is_some() => Some(("revoked", AuthError::InvalidToken)),
            Some(f) if !f.key.is_live(now) => Some(("expired", AuthError::InvalidToken)),
            Some(f) if f.user_disabled => Some(("account_disabled", AuthError::InvalidToken)),
            Some(f) if f.key.scope == ApiKeyScope::Read && !safe => Some((
                "read_only",
                AuthError::Forbidden("This API key is read-only: it may only read (GET)."),
            )),
            Some(_) => None,
        };
        if let Some((reason, refusal)) = refusal {
            self.refuse_api_key(found.as_ref(), reason, client).await?;
            return Err(refusal);
        }
        let Some(ApiKeyWithUser { key, role, .. }) = found else {
            return Err(AuthError::InvalidToken);
        };
        self.limit_api_key(key.id, key.user_id, client).await?;
        // The row just read says whether a use is due to be recorded: most
        // requests need no write at all.
        if key.last_used_at.is_none_or(|at| now - at >= TOUCH_EVERY_MS) {
            self.db.touch_api_key(key.id, now, TOUCH_EVERY_MS).await?;
        }
        Ok(Principal {
            user_id: key.user_id,
            session_id: Uuid::nil(),
            role,
            credential: Credential::ApiKey {
                key_id: key.id,
                scope: key.scope,
            },
        })
    }

    async fn refuse_api_key(
        &self,
        found: Option<&ApiKeyWithUser>,
        reason: &'static str,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        self.limit_key_failures(client).await?;
        let ip = client.ip_string();
        let user = found.map(|f| f.key.user_id);
        let mut event = event_by(client, &ip, Event::ApiKeyRefused, user, None);
        event.actor_id = None;
        event.detail = Some(match found {
            Some(f) => serde_json::json!({ "reason": reason, "key_id": f.key.id }),
            None => serde_json::json!({ "reason": reason }),
        });
        self.audit(event).await;
        Ok(())
    }
}
