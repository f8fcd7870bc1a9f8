//! Security: change the password (which signs out every other session),
//! two-step sign-in, passkeys, API keys, and the sessions this account has.

use latchkey_types::ChangePasswordRequest;
use leptos::prelude::*;
use leptos_meta::Title;

use super::api_keys::ApiKeys;
use super::passkeys::Passkeys;
use super::two_factor::{Factors, TwoFactor};
use crate::api::{self, ApiRequest};
use crate::auth::use_auth;
use crate::components::form::{FormAlert, FormState, Notice, SubmitButton, TextField};
use crate::components::gate::RequireAuth;
use crate::components::sessions::Sessions;

#[component]
pub fn SecurityPage() -> impl IntoView {
    view! {
        <Title text="Security"/>
        <RequireAuth>
            <Sections/>
        </RequireAuth>
    }
}

/// Signed in: the sections. The two-step and passkey sections show the
/// same second factors; `sessions_changed` ticks when a change ended the
/// other sessions, so the list below is read again.
#[component]
fn Sections() -> impl IntoView {
    let sessions_changed = RwSignal::new(0_u32);
    let factors = Factors::new();
    view! {
        <div class="stack" data-signed-in="true">
            <h1>"Security"</h1>
            <ChangePassword changed=sessions_changed/>
            <TwoFactor factors changed=sessions_changed/>
            <Passkeys factors changed=sessions_changed/>
            <ApiKeys/>
            <Sessions changed=sessions_changed.read_only()/>
        </div>
    }
}

#[component]
fn ChangePassword(changed: RwSignal<u32>) -> impl IntoView {
    let auth = use_auth();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let done = RwSignal::new(None::<String>);
    let form = FormState::new();
    let min_chars = crate::facts::server_facts().password_min_chars;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        done.set(None);
        let request = ChangePasswordRequest {
            current_password: current.get_untracked(),
            new_password: new.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            let result = api::call_empty(auth, ApiRequest::post("/api/me/password", &request)).await;
            if result.is_ok() {
                current.set(String::new());
                new.set(String::new());
                done.set(Some(
                    "Password changed. Every other session has been signed out.".into(),
                ));
                changed.update(|n| *n += 1);
            }
            form.finish(result);
        });
    };
    view! {
        <section class="card" aria-labelledby="password-heading">
            <h2 id="password-heading">"Change password"</h2>
            <form method="post" novalidate on:submit=submit>
                <Notice message=done/>
                <FormAlert form/>
                <TextField label="Current password" id="current_password" kind="password"
                    autocomplete="current-password" value=current errors=form.errors("current_password") required=true/>
                <TextField label="New password" id="new_password" kind="password" autocomplete="new-password"
                    value=new errors=form.errors("new_password") required=true
                    hint=format!("At least {min_chars} characters. Other browsers and devices will be signed out.")/>
                <SubmitButton form label="Change password" busy_label="Changing…"/>
            </form>
        </section>
    }
}
