//! Wraps the pages that need a session. Until the first refresh answers
//! (and always on the server) it shows a neutral "Loading…", so a
//! signed-in reload never flashes the sign-in form; `redirects` sends
//! signed-out visitors to /login.

use leptos::prelude::*;

use crate::auth::{Access, use_auth};

#[component]
pub fn RequireAuth(children: ChildrenFn) -> impl IntoView {
    let auth = use_auth();
    move || match auth.access().get() {
        Access::Granted => children().into_any(),
        Access::Unreachable(message) => view! {
            <section class="card narrow" role="alert">
                <h1>"We couldn't confirm your sign-in"</h1>
                <p>{message}</p>
                <button type="button" on:click=move |_| auth.restart()>"Try again"</button>
            </section>
        }
        .into_any(),
        Access::Pending | Access::Denied(_) => view! { <Loading/> }.into_any(),
    }
}

#[component]
pub fn Loading() -> impl IntoView {
    view! {
        <p class="loading" role="status" aria-live="polite">
            <span class="spinner" aria-hidden="true"></span>
            "Loading…"
        </p>
    }
}
