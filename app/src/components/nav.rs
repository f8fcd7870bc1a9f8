//! The top bar: the product name and the links that fit the visitor —
//! sign in / create account when signed out, the account pages and
//! "Sign out" when signed in, nothing while that is still unknown (so a
//! signed-in reload does not flash "Sign in").

use latchkey_types::Role;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::auth::{Access, use_auth};

#[component]
pub fn Nav() -> impl IntoView {
    let auth = use_auth();
    view! {
        <header class="topbar">
            <nav class="container topbar-inner" aria-label="Main">
                <A href="/" attr:class="brand">"Latchkey"</A>
                <ul class="nav-links">
                    {move || match auth.access().get() {
                        Access::Granted => view! { <SignedInLinks/> }.into_any(),
                        Access::Pending => ().into_any(),
                        Access::Denied(_) | Access::Unreachable(_) => view! { <SignedOutLinks/> }.into_any(),
                    }}
                </ul>
            </nav>
        </header>
    }
}

#[component]
fn SignedOutLinks() -> impl IntoView {
    view! {
        <li><A href="/login">"Sign in"</A></li>
        <li><A href="/register" attr:class="button button-small">"Create account"</A></li>
    }
}

#[component]
fn SignedInLinks() -> impl IntoView {
    let auth = use_auth();
    let is_admin = move || auth.user().with(|u| u.as_ref().is_some_and(|u| u.role == Role::Admin));
    let busy = RwSignal::new(false);
    let failed = RwSignal::new(None::<String>);
    let sign_out = move |_| {
        busy.set(true);
        failed.set(None);
        leptos::task::spawn_local(async move {
            let result = auth.sign_out().await;
            // Signed out, this bar has usually been replaced already.
            failed.try_set(result.err().map(|failure| {
                format!(
                    "Not signed out: {} Your session is still active; try again.",
                    failure.message()
                )
            }));
            busy.try_set(false);
        });
    };
    view! {
        <li><A href="/account">"Account"</A></li>
        <li><A href="/security">"Security"</A></li>
        <li><A href="/how-it-works">"How it works"</A></li>
        // A convenience only: the admin API itself refuses non-admins.
        {move || is_admin().then(|| view! { <li><A href="/admin/users">"Admin"</A></li> })}
        <li>
            <button type="button" class="button-secondary button-small" on:click=sign_out disabled=busy>
                {move || match (busy.get(), failed.with(Option::is_some)) {
                    (true, _) => "Signing out…",
                    (false, true) => "Try signing out again",
                    (false, false) => "Sign out",
                }}
            </button>
        </li>
        {move || failed.get().map(|message| view! {
            <li class="nav-alert" role="alert" data-testid="sign-out-failed">{message}</li>
        })}
    }
}
