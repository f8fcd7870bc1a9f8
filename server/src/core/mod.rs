//! Pure rules with no axum or sqlx types: identities, passwords, time.
//! Handlers translate HTTP into calls to these and back.

pub mod clock;
pub mod factors;
pub mod identity;
pub mod password;
pub mod refresh;
pub mod revocation;
pub mod secrets;
pub mod tokens;
