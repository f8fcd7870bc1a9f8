//! Pieces shared by several pages.

pub mod cooldown;
pub mod form;
pub mod gate;
pub mod nav;
pub mod redirects;
pub mod sessions;
pub mod step_up;
