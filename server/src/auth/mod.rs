//! The auth engine between the HTTP edge and the pure core: it keeps the
//! signing keys and the revoked-session set in step with the database, and
//! runs the session flows (sign in, refresh, revoke) that handlers call.

pub mod caches;
pub mod cookie_sessions;
pub mod keys;
pub mod revocations;
pub mod sessions;
