//! The engine: the one value that owns everything an auth decision needs —
//! the database, the signing keys, the revoked-session set, the caches, the
//! password hasher, the settings and the clock — and the only code that
//! starts, refreshes, re-keys or ends a session. The flows themselves are
//! `impl Engine` blocks in `accounts.rs`, `sessions.rs` and `access.rs`.

use std::sync::Arc;

use uuid::Uuid;

use super::caches::{SessionCache, UserCache, VerifiedTokens};
use super::client::ClientInfo;
use super::error::AuthResult;
use super::keys::SharedTokens;
use super::revocations::NotifyLink;
use crate::config::Settings;
use crate::core::clock::Clock;
use crate::core::identity::Email;
use crate::core::password::{NewPassword, PasswordHasher, PasswordPolicy};
use crate::core::revocation::RevocationSet;
use crate::store::audit::{Event, NewAuditEvent};
use crate::store::{Backend, Db, Revoked};

/// Profiles kept for `GET /api/me` (a few hundred bytes each).
const USER_CACHE_ENTRIES: usize = 10_000;
/// Sessions kept read (about 600 bytes each).
const SESSION_CACHE_ENTRIES: usize = 20_000;

/// How many argon2 jobs may wait per running one before 503.
const HASH_QUEUE_PER_PERMIT: usize = 16;

pub struct Engine {
    pub db: Db,
    pub settings: Settings,
    pub hasher: PasswordHasher,
    pub policy: PasswordPolicy,
    pub tokens: SharedTokens,
    /// Seals the signing keys kept in the database.
    pub vault: Arc<super::vault::KeyVault>,
    pub revocations: Arc<RevocationSet>,
    /// PostgreSQL's LISTEN link for revocations (always down on SQLite).
    pub notify_link: Arc<NotifyLink>,
    /// Access tokens that passed full verification (`caches`).
    pub verified: Option<VerifiedTokens>,
    /// Public profiles for `GET /api/me`, briefly.
    pub users: UserCache,
    /// Sessions as last read, briefly (`caches::SessionCache`).
    pub sessions: SessionCache,
    /// Cookie sessions' idle renewals not written yet (`touches`).
    pub touches: Arc<super::touches::PendingTouches>,
    pub clock: Clock,
    /// Sends what the outbox holds (`mail::spawn_sender`).
    pub mailer: Arc<crate::mail::Mailer>,
    /// The WebAuthn relying party; `None` (passkeys off) when the public
    /// origin's host is not a domain name.
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
}

impl Engine {
    /// Connects to the database, applies migrations, loads the keys and the
    /// revoked sessions, and starts the feeds that keep them current.
    pub async fn start(settings: Settings, clock: Clock) -> anyhow::Result<Engine> {
        let db = Db::connect(&settings.database_url).await?;
        db.migrate().await?;
        let hasher = PasswordHasher::new(settings.hash_permits, HASH_QUEUE_PER_PERMIT)?;
        let policy = PasswordPolicy {
            min_chars: settings.password_min_chars,
        };
        let vault = Arc::new(super::vault::KeyVault::open_or_create(&settings)?);
        super::keys::prepare(&db, &settings, &vault).await?;
        let tokens = SharedTokens::new(super::keys::load(&db, &settings, &vault).await?);
        let revocations = super::revocations::new_set(&settings);
        super::revocations::initial_sync(&db, &revocations, &settings).await?;
        // The feed polls over a connection of its own: a request flood that
        // saturates the pool must not starve it (and turn every Bearer
        // request into a 503 once the set goes stale).
        let feed_db = Db::connect_single(&settings.database_url).await?;
        super::revocations::spawn_feed(feed_db, revocations.clone(), &settings);
        let notify_link = Arc::new(NotifyLink::default());
        if db.backend == Backend::Postgres {
            super::revocations::spawn_listener(settings.database_url.clone(), revocations.clone(), notify_link.clone());
        }
        let touches = Arc::new(super::touches::PendingTouches::default());
        super::touches::spawn_flusher(db.clone(), touches.clone());
        super::keys::spawn_reloader(db.clone(), settings.clone(), vault.clone(), tokens.clone());
        let mailer = Arc::new(crate::mail::Mailer::from_settings(&settings)?);
        tracing::info!("mail: {}", mailer.describe(&settings));
        crate::mail::spawn_sender(db.clone(), mailer.clone(), clock.clone());
        let cache_entries = settings.token_cache_entries;
        let webauthn = super::passkeys::relying_party(&settings.public_origin).map(Arc::new);
        if webauthn.is_none() {
            tracing::info!(
                "passkeys: off (LATCHKEY_PUBLIC_ORIGIN {} has no domain name; try http://localhost:PORT)",
                settings.public_origin
            );
        }
        Ok(Engine {
            webauthn,
            db,
            hasher,
            policy,
            tokens,
            vault,
            revocations,
            notify_link,
            verified: (cache_entries > 0).then(|| VerifiedTokens::new(cache_entries)),
            users: UserCache::new(USER_CACHE_ENTRIES),
            sessions: SessionCache::new(SESSION_CACHE_ENTRIES),
            touches,
            clock,
            mailer,
            settings,
        })
    }

    /// The time every decision of this engine is made at.
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The one place a revocation becomes visible: every store write that
    /// ended sessions returns `Revoked`, and this unwraps it only after
    /// telling this server's revoked-session set (other servers learn it
    /// from the database feed within a second) and dropping the cached
    /// profiles of the users concerned.
    pub(crate) fn publish<T>(&self, revoked: Revoked<T>) -> T {
        let Revoked { value, sessions, at } = revoked;
        self.revocations.insert(sessions.iter().map(|id| (*id, at)));
        value
    }

    /// A user's profile, role, status or address changed on this server:
    /// no cached read of it (profile or session) may answer for it again.
    pub(crate) fn user_changed(&self, id: Uuid) {
        self.users.forget(id);
        self.sessions.clear();
    }

    /// The password policy, off the async workers: zxcvbn's estimate is
    /// CPU work an unauthenticated caller can ask for.
    pub async fn check_password(
        &self,
        password: &str,
        email: Option<&Email>,
    ) -> AuthResult<Result<NewPassword, Vec<String>>> {
        let (policy, password, email) = (self.policy.clone(), password.to_string(), email.cloned());
        Ok(self
            .hasher
            .offload(move || policy.check(&password, email.as_ref()))
            .await?)
    }

    /// Records an event that stands alone (a refusal: nothing else was
    /// written). A failure to record is logged, not returned.
    pub async fn audit(&self, event: NewAuditEvent<'_>) {
        let name = event.event.as_str();
        if let Err(err) = self.db.record_audit(event, self.now()).await {
            tracing::error!(event = %name, error = %err, "audit event not recorded");
        }
    }
}

/// An audit event about what `user` did from `client` (actor and subject).
pub(crate) fn event_by<'a>(
    client: &'a ClientInfo,
    ip: &'a str,
    event: Event,
    user_id: Option<Uuid>,
    session_id: Option<Uuid>,
) -> NewAuditEvent<'a> {
    NewAuditEvent {
        event,
        actor_id: user_id,
        user_id,
        session_id,
        ip: Some(ip),
        user_agent: client.user_agent.as_deref(),
        detail: None,
    }
}
