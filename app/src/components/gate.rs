//! Wraps the pages that need a session. Until the first refresh answers
//! (and always on the server) it shows a neutral "Loading…", so a
//! signed-in reload never flashes the sign-in form; `redirects` sends
//! signed-out visitors to /login.

use leptos::prelude::*;

use latchkey_types::Role;

use crate::auth::{Access, AdminArea, use_auth};
use crate::components::form::{FormAlert, FormState, SubmitButton, TextField};

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

/// Admin pages: `RequireAuth`, then the role, then — where the server keeps
/// a session of the admin area's own — that session. A signed-in user who
/// is not an administrator sees a plain "not allowed" page. This only
/// decides what to render; the server refuses the admin API to non-admins
/// (403) whatever the page does.
#[component]
pub fn RequireAdmin(children: ChildrenFn) -> impl IntoView {
    let auth = use_auth();
    let is_admin = move || auth.user().with(|u| u.as_ref().is_some_and(|u| u.role == Role::Admin));
    let children = StoredValue::new(children);
    view! {
        <RequireAuth>
            <Show when=is_admin fallback=NotAllowed>
                <AdminGate>{children.read_value()()}</AdminGate>
            </Show>
        </RequireAuth>
    }
}

/// The admin area's own session (`LATCHKEY_ADMIN_AUTH=session`): open, the
/// pages; closed, the form that enters it.
#[component]
fn AdminGate(children: ChildrenFn) -> impl IntoView {
    let auth = use_auth();
    Effect::new(move |_| {
        if auth.admin_area().get() == AdminArea::Unknown {
            leptos::task::spawn_local(async move { auth.check_admin_area().await });
        }
    });
    move || match auth.admin_area().get() {
        AdminArea::Open(_) => children().into_any(),
        AdminArea::Unknown => view! { <Loading/> }.into_any(),
        AdminArea::Closed { timed_out, .. } => view! { <EnterAdminArea timed_out/> }.into_any(),
    }
}

/// Entering the admin area: the password again (and a code, for an account
/// with an authenticator app).
#[component]
fn EnterAdminArea(timed_out: bool) -> impl IntoView {
    let auth = use_auth();
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let form = FormState::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let typed = code.get_untracked().trim().to_string();
        let (secret, typed) = (password.get_untracked(), Some(typed).filter(|c| !c.is_empty()));
        leptos::task::spawn_local(async move {
            let result = auth.enter_admin_area(secret, typed).await;
            if result.is_err() {
                password.try_set(String::new());
                code.try_set(String::new());
            }
            form.finish(result);
        });
    };
    view! {
        <section class="card narrow" data-testid="enter-admin" data-signed-in="true">
            <h1>"Enter the admin area"</h1>
            <p>
                {if timed_out {
                    "The admin area closed after a while without use. "
                } else {
                    ""
                }}
                "On this server the admin area keeps a session of its own, with a short idle timeout: "
                "confirm it is you to enter."
            </p>
            <form method="post" novalidate on:submit=submit>
                <FormAlert form/>
                <TextField label="Password" id="admin_password" kind="password" autocomplete="current-password"
                    value=password errors=form.errors("password") required=true/>
                <TextField label="Code" id="admin_code" autocomplete="one-time-code" value=code
                    errors=form.errors("code") hint="From your authenticator app, if you use one."/>
                <SubmitButton form label="Enter" busy_label="Checking…" testid="enter-admin-area"/>
            </form>
        </section>
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
