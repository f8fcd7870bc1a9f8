//! Wraps the pages that need a session. Until the first refresh answers
//! (and always on the server) it shows a neutral "Loading…", so a
//! signed-in reload never flashes the sign-in form; `redirects` sends
//! signed-out visitors to /login.

use leptos::prelude::*;

use latchkey_types::Role;

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

/// Admin pages: `RequireAuth`, then the role. A signed-in user who is not
/// an administrator sees a plain "not allowed" page. This only decides
/// what to render; the server refuses the admin API to non-admins (403)
/// whatever the page does.
#[component]
pub fn RequireAdmin(children: ChildrenFn) -> impl IntoView {
    let auth = use_auth();
    let is_admin = move || auth.user().with(|u| u.as_ref().is_some_and(|u| u.role == Role::Admin));
    let children = StoredValue::new(children);
    view! {
        <RequireAuth>
            <Show when=is_admin fallback=NotAllowed>
                {children.read_value()()}
            </Show>
        </RequireAuth>
    }
}

#[component]
fn NotAllowed() -> impl IntoView {
    view! {
        <section class="card narrow" role="alert" data-testid="not-allowed" data-signed-in="true">
            <h1>"Not allowed"</h1>
            <p>"This page is for administrators, and your account is not one."</p>
            <p><a href="/account">"Back to your account"</a></p>
        </section>
    }
}
