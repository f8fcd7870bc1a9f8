//! Small pieces shared by several pages.

pub mod nav;
