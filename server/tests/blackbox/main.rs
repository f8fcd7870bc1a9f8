//! The black-box tests, one binary (linking the server once instead of once
//! per file): each module starts the real server on a random port with a
//! database of its own and talks HTTP to it, on SQLite and on PostgreSQL
//! (`both_backends!`). `common` is the harness.

#[macro_use]
mod common;

mod admin_api;
mod admin_area;
mod api_keys;
mod auth_api;
mod cached_sessions;
mod cli;
mod crash;
mod email;
mod engine;
mod foundation;
mod mfa;
mod native;
mod openapi;
mod passkeys;
mod replicas;
mod session_api;
mod soak;
mod tls;
