//! One module per page.

pub mod account;
pub mod admin;
pub mod api_keys;
pub mod home;
pub mod how_it_works;
pub mod login;
pub mod not_found;
pub mod passkeys;
pub mod password_reset;
pub mod register;
pub mod security;
pub mod two_factor;
pub mod verify_email;
