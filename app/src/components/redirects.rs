//! The one place that moves people because their session changed: a
//! protected page without a session goes to /login (and back afterwards),
//! and a tab whose session just ended — signed out here or in another
//! tab, or revoked elsewhere — goes to /login too.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_location, use_navigate};

use crate::auth::{Access, use_auth};
use crate::redirect::signed_out_target;

#[component]
pub fn AuthRedirects() -> impl IntoView {
    let auth = use_auth();
    let location = use_location();
    let navigate = use_navigate();
    let was_signed_in = StoredValue::new(false);
    Effect::new(move |_| {
        let access = auth.access().get();
        let path = location.pathname.get();
        let target = match access {
            Access::Granted => {
                was_signed_in.set_value(true);
                None
            }
            Access::Denied(reason) => {
                let just_ended = was_signed_in.get_value();
                was_signed_in.set_value(false);
                signed_out_target(reason, just_ended, &path, &location.search.get_untracked())
            }
            Access::Pending | Access::Unreachable(_) => None,
        };
        if let Some(target) = target {
            navigate(
                &target,
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
    });
}
