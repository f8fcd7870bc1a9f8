//! Loading, sharing and rotating the access-token signing keys.
//!
//! With `LATCHKEY_JWT_KEY_FILE` the file's key signs; otherwise keys live in
//! the database, generated on first start, so every replica signs and
//! verifies with the same set. Keys are reloaded every few seconds, which is
//! how a `latchkey keys rotate` reaches running servers; a retired key keeps
//! verifying for as long as a token it signed can live.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;

use secrecy::{ExposeSecret, SecretString};

use super::vault::{KeyVault, Opened};
use crate::config::Settings;
use crate::core::clock::now_ms;
use crate::core::tokens::{AccessTokens, DEFAULT_LEEWAY_SECS, Keyring, SigningKey, TokenConfig, generate_ed25519_pem};
use crate::store::Db;

/// How often running servers re-read the key table.
pub const RELOAD_EVERY: Duration = Duration::from_secs(5);

/// The token issuer/verifier in use, swapped whole when keys change.
#[derive(Clone)]
pub struct SharedTokens(Arc<RwLock<Arc<AccessTokens>>>);

impl SharedTokens {
    pub fn new(tokens: AccessTokens) -> Self {
        SharedTokens(Arc::new(RwLock::new(Arc::new(tokens))))
    }

    pub fn current(&self) -> Arc<AccessTokens> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn replace(&self, tokens: AccessTokens) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(tokens);
    }
}

pub fn token_config(settings: &Settings) -> TokenConfig {
    TokenConfig {
        issuer: settings.public_origin.clone(),
        audience: format!("{}/api", settings.public_origin),
        ttl: settings.access_ttl,
        leeway_secs: DEFAULT_LEEWAY_SECS,
    }
}

/// How long outside verifiers may cache `/.well-known/jwks.json`.
pub const JWKS_MAX_AGE_SECS: u64 = 5;

/// A new key is published (verifies, appears in the JWKS) at once but signs
/// only after every replica has had two reloads to learn it: a token it
/// signs is never shown to a server that cannot check it yet. Until then
/// the key it replaces keeps signing.
pub const KEY_ACTIVATION_MS: i64 = 2 * RELOAD_EVERY.as_millis() as i64;

// An outside verifier may have fetched the JWKS from a replica just before
// that replica reloaded (up to `RELOAD_EVERY` after the rotation) and keep
// it for `JWKS_MAX_AGE_SECS`: the new key must not sign before both have
// passed, or such a verifier refuses fresh tokens.
const _: () = assert!(KEY_ACTIVATION_MS >= (RELOAD_EVERY.as_secs() + JWKS_MAX_AGE_SECS) as i64 * 1000);

/// Retired keys verify for this long: they may sign until their successor
/// activates, and a token they signed then lives a whole TTL (plus leeway
/// and a minute of slack).
fn verify_window_ms(settings: &Settings) -> i64 {
    KEY_ACTIVATION_MS + (settings.access_ttl.as_millis() as i64) + (DEFAULT_LEEWAY_SECS as i64 + 60) * 1000
}

/// Which of the stored keys (newest first) signs at `now`: the newest one
/// that is past its activation delay, or, when none is (a first start, or
/// rotations in quick succession), the oldest, which every replica knows.
fn signing_index(stored: &[crate::store::keys::StoredKey], now: i64) -> usize {
    stored
        .iter()
        .position(|k| k.created_at <= now - KEY_ACTIVATION_MS)
        .unwrap_or(stored.len().saturating_sub(1))
}

fn read_key_file(path: &std::path::Path, what: &str) -> anyhow::Result<SigningKey> {
    let pem = std::fs::read_to_string(path).with_context(|| format!("cannot read {what} {}", path.display()))?;
    SigningKey::from_pem_with_thumbprint_kid(&pem)
        .with_context(|| format!("{what} {} is not a PKCS#8 Ed25519 key", path.display()))
}

/// Once at start: seals database keys stored in the clear by an older
/// version, and, when a key file is configured, retires every database key
/// (it keeps verifying only while tokens it signed can still be alive).
pub async fn prepare(db: &Db, settings: &Settings, vault: &KeyVault) -> anyhow::Result<()> {
    for stored in db.usable_signing_keys(0).await? {
        if let Opened::Plain(pem) = vault.open(&stored.kid, &stored.private_key_pem)? {
            let sealed = vault.seal(&stored.kid, &pem);
            db.seal_signing_key(&stored.kid, &stored.private_key_pem, &sealed)
                .await?;
            tracing::info!(kid = %stored.kid, "sealed a signing key that was stored in the clear");
        }
    }
    if settings.jwt_key_file.is_some() {
        let retired = db.retire_signing_keys(now_ms()).await?;
        if retired > 0 {
            tracing::info!(retired, "LATCHKEY_JWT_KEY_FILE is set: database keys retired");
        }
    }
    Ok(())
}

/// Builds the keyring from the key file or the database (creating the first
/// key when there is none).
pub async fn load(db: &Db, settings: &Settings, vault: &KeyVault) -> anyhow::Result<AccessTokens> {
    let since = now_ms() - verify_window_ms(settings);
    let mut stored = db.usable_signing_keys(since).await?;
    let from_db = |stored: &[crate::store::keys::StoredKey]| -> anyhow::Result<Vec<SigningKey>> {
        stored
            .iter()
            .map(|k| {
                let opened = vault.open(&k.kid, &k.private_key_pem)?;
                SigningKey::from_pem(k.kid.clone(), opened.pem().expose_secret()).map_err(anyhow::Error::from)
            })
            .collect()
    };
    let keyring = match &settings.jwt_key_file {
        Some(path) => {
            let current = read_key_file(path, "LATCHKEY_JWT_KEY_FILE")?;
            let mut older = from_db(&stored)?;
            for previous in &settings.jwt_previous_key_files {
                older.push(read_key_file(previous, "LATCHKEY_JWT_PREVIOUS_KEY_FILES")?);
            }
            Keyring::new(current, older)?
        }
        None => {
            if !stored.iter().any(|k| k.retired_at.is_none()) {
                let pem = SecretString::from(generate_ed25519_pem());
                let key = SigningKey::from_pem_with_thumbprint_kid(pem.expose_secret())?;
                db.add_first_signing_key(&key.kid, &vault.seal(&key.kid, &pem), now_ms())
                    .await?;
                stored = db.usable_signing_keys(since).await?;
            }
            let mut keys = from_db(&stored)?;
            if keys.is_empty() {
                anyhow::bail!("no signing key in the database");
            }
            let current = keys.remove(signing_index(&stored, now_ms()));
            Keyring::new(current, keys)?
        }
    };
    Ok(AccessTokens::new(token_config(settings), keyring))
}

/// Adds a new signing key (the `latchkey keys rotate` command), sealed.
/// Servers publish it within `RELOAD_EVERY` and sign with it after
/// `KEY_ACTIVATION_MS`; older keys keep verifying until their tokens have
/// expired.
pub async fn rotate(db: &Db, vault: &KeyVault) -> anyhow::Result<String> {
    let pem = SecretString::from(generate_ed25519_pem());
    let key = SigningKey::from_pem_with_thumbprint_kid(pem.expose_secret())?;
    let audit = crate::store::audit::NewAuditEvent {
        event: crate::store::audit::Event::KeysRotated,
        actor_id: None,
        user_id: None,
        session_id: None,
        ip: None,
        user_agent: Some("latchkey keys rotate"),
        detail: Some(serde_json::json!({ "kid": key.kid, "via": "cli" })),
    };
    db.rotate_signing_key(&key.kid, &vault.seal(&key.kid, &pem), now_ms(), audit)
        .await?;
    Ok(key.kid)
}

/// Re-reads the keys every few seconds for as long as the server runs.
pub fn spawn_reloader(db: Db, settings: Settings, vault: Arc<KeyVault>, shared: SharedTokens) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(RELOAD_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            match load(&db, &settings, &vault).await {
                Ok(tokens) => shared.replace(tokens),
                Err(err) => tracing::warn!(error = %format!("{err:#}"), "reloading signing keys failed"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keys::StoredKey;

    fn key(kid: &str, created_at: i64) -> StoredKey {
        StoredKey {
            kid: kid.into(),
            algorithm: "EdDSA".into(),
            private_key_pem: String::new(),
            created_at,
            retired_at: None,
        }
    }

    #[test]
    fn a_new_key_signs_only_after_its_activation_delay() {
        let now = 1_000_000;
        // Newest first, as the store returns them.
        let stored = [key("new", now - 1_000), key("old", now - 3_600_000)];
        assert_eq!(signing_index(&stored, now), 1, "the new key is only published");
        assert_eq!(
            signing_index(&stored, now - 1_000 + KEY_ACTIVATION_MS),
            0,
            "then it signs"
        );
        // A first start has one key, and it signs at once.
        assert_eq!(signing_index(&[key("first", now)], now), 0);
        // Two rotations in quick succession: the oldest known key keeps signing.
        let quick = [key("c", now), key("b", now - 100), key("a", now - 200)];
        assert_eq!(signing_index(&quick, now), 2);
    }
}
