//! The auth engine: every flow that starts, refreshes, re-keys or ends a
//! session, and every check of a credential, in one place between the HTTP
//! edge (which parses and responds) and the store (which persists).
//!
//! - `engine.rs`: the [`Engine`] value and [`Engine::publish`], the one
//!   place a revocation reaches the in-memory revoked-session set;
//! - `accounts.rs`: registration, password sign-in, password change, the
//!   administrator's role/status change;
//! - `sessions.rs`: the one start-session core for both kinds, refresh
//!   rotation, sign-out and revocation;
//! - `access.rs`: Bearer tokens and session cookies on requests;
//! - `api_keys.rs`: personal API keys (made, checked on requests, revoked);
//! - `email.rs`: verification links (mailed through the outbox);
//! - `rate.rs`: the rate limits;
//! - `keys.rs`, `vault.rs`, `revocations.rs`, `caches.rs`: signing keys
//!   (sealed in the database), the revocation feed and the caches the
//!   engine keeps current.

pub mod access;
pub mod accounts;
pub mod api_keys;
pub mod caches;
pub mod client;
pub mod email;
pub mod engine;
pub mod error;
pub mod factors;
pub mod keys;
pub mod passkeys;
pub mod rate;
pub mod revocations;
pub mod sessions;
pub mod touches;
pub mod vault;

pub use access::{Credential, Principal};
pub use accounts::Registered;
pub use client::ClientInfo;
pub use engine::Engine;
pub use error::{AuthError, AuthResult};
pub use sessions::{Issued, SignedIn};
