//! Create an account; on success the new user is signed in and lands on
//! their account page (or on `next`).

use latchkey_types::RegisterRequest;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::login::go_on_when_signed_in;
use crate::auth::{Registration, use_auth};
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
    // Set when the server signs in only verified addresses: the account
    // exists and the link is on its way to this address.
    let verify_first = RwSignal::new(None::<String>);
    let min_chars = crate::facts::server_facts().password_min_chars;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        // The server's own rules, checked here first so a typo or a short
        // password is named before anything is sent; the server checks
        // everything again (and more: guessability, a taken email).
        let problems = local_problems(&email.get_untracked(), &password.get_untracked(), min_chars);
        if !problems.is_empty() {
            form.refuse(problems);
            return;
        }
        let name = display_name.get_untracked();
        let request = RegisterRequest {
            email: email.get_untracked(),
            password: password.get_untracked(),
            display_name: Some(name.trim().to_string()).filter(|n| !n.is_empty()),
        };
        leptos::task::spawn_local(async move {
            let result = auth.register(&request).await;
            if matches!(result, Ok(Registration::VerifyFirst)) {
                verify_first.try_set(Some(request.email.trim().to_string()));
            }
            form.finish(result.map(drop));
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
            <Show when=move || verify_first.with(Option::is_some) fallback=move || view! {
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
            }>
                <p class="notice" role="status" data-testid="verify-first">
                    "Your account is ready. We mailed a link to " <strong>{move || verify_first.get()}</strong>
                    ": follow it to confirm the address, then sign in."
                </p>
            </Show>
            <p>"Already have an account? " <A href=login_href>"Sign in"</A></p>
        </section>
    }
}

/// What the page can tell without the server: the email syntax rule the
/// server applies, and the minimum length for an ASCII password (NFKC, which
/// the server counts after, changes nothing in ASCII; anything else is left
/// to the server).
fn local_problems(email: &str, password: &str, min_chars: usize) -> latchkey_types::FieldErrors {
    let mut problems = latchkey_types::FieldErrors::new();
    if let Err(problem) = latchkey_types::check_email_syntax(email.trim()) {
        problems.insert("email".into(), vec![problem.to_string()]);
    }
    let chars = password.chars().count();
    if password.is_ascii() && chars < min_chars {
        problems.insert(
            "password".into(),
            vec![format!("must be at least {min_chars} characters (it has {chars})")],
        );
    }
    problems
}
