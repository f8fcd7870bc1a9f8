//! Create an account; on success the new user is signed in and lands on
//! their account page (or on `next`).

use latchkey_types::RegisterRequest;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::login::go_on_when_signed_in;
use crate::auth::use_auth;
use crate::components::form::{FormAlert, FormState, SubmitButton, TextField};
use crate::redirect::with_next;

#[component]
pub fn RegisterPage() -> impl IntoView {
    let auth = use_auth();
    let next = go_on_when_signed_in();

    let email = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let form = FormState::new();
    let min_chars = crate::facts::server_facts().password_min_chars;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        // The server's own rule, checked here first so a typo is named
        // before anything is sent.
        if let Err(problem) = latchkey_types::check_email_syntax(email.get_untracked().trim()) {
            form.refuse_field("email", problem);
            return;
        }
        let name = display_name.get_untracked();
        let request = RegisterRequest {
            email: email.get_untracked(),
            password: password.get_untracked(),
            display_name: Some(name.trim().to_string()).filter(|n| !n.is_empty()),
        };
        leptos::task::spawn_local(async move {
            form.finish(auth.register(&request).await);
        });
    };
    let login_href = move || match next.get() {
        Some(next) => with_next("/login", &next),
        None => "/login".to_string(),
    };

    view! {
        <Title text="Create account"/>
        <section class="card narrow">
            <h1>"Create an account"</h1>
            <form method="post" novalidate on:submit=submit>
                <FormAlert form/>
                <TextField label="Email" id="email" kind="email" autocomplete="email" value=email
                    errors=form.errors("email") required=true/>
                <TextField label="Display name" id="display_name" autocomplete="nickname" value=display_name
                    errors=form.errors("display_name") hint="Optional. How we greet you."/>
                <TextField label="Password" id="password" kind="password" autocomplete="new-password"
                    value=password errors=form.errors("password") required=true
                    hint=format!("At least {min_chars} characters. A few unrelated words make a strong, memorable passphrase.")/>
                <SubmitButton form label="Create account" busy_label="Creating your account…"/>
            </form>
            <p>"Already have an account? " <A href=login_href>"Sign in"</A></p>
        </section>
    }
}
