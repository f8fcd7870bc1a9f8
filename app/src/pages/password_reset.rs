//! Forgotten passwords: ask for a link (the answer is the same whether or
//! not the address has an account), then, from the mailed link, choose a
//! new password and be signed in here — every other session ends.

use latchkey_types::{ForgotPasswordRequest, ResetPasswordRequest};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::{self, ApiRequest};
use crate::auth::use_auth;
use crate::browser::take_fragment_token;
use crate::components::form::{FormAlert, FormState, Notice, SubmitButton, TextField};

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let sent = RwSignal::new(None::<String>);
    let form = FormState::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        sent.set(None);
        let request = ForgotPasswordRequest {
            email: email.get_untracked().trim().to_string(),
        };
        leptos::task::spawn_local(async move {
            let result = api::call_public(ApiRequest::post("/api/auth/password/forgot", &request)).await;
            if result.is_ok() {
                sent.try_set(Some(format!(
                    "If {} belongs to an account, a link to choose a new password is on its way. It works once, for an hour.",
                    request.email
                )));
            }
            form.finish(result.map(drop));
        });
    };
    view! {
        <Title text="Forgot your password"/>
        <section class="card narrow">
            <h1>"Forgot your password?"</h1>
            <p>"We will mail you a link to choose a new one."</p>
            <form method="post" novalidate on:submit=submit>
                <Notice message=sent/>
                <FormAlert form/>
                <TextField label="Email" id="email" kind="email" autocomplete="username" value=email
                    errors=form.errors("email") required=true/>
                <SubmitButton form label="Mail me a link" busy_label="Sending…"/>
            </form>
            <p><A href="/login">"Back to sign in"</A></p>
        </section>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let auth = use_auth();
    let navigate = leptos_router::hooks::use_navigate();
    let token = RwSignal::new(None::<String>);
    let missing = RwSignal::new(false);
    Effect::new(move |_| match take_fragment_token() {
        Some(found) => token.set(Some(found)),
        None => missing.set(true),
    });
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let form = FormState::new();
    // An account with two-step sign-in: the server asks for its code too.
    let needs_code = RwSignal::new(false);
    Effect::new(move |_| {
        if !form.errors("code").get().is_empty() {
            needs_code.set(true);
        }
    });
    let min_chars = crate::facts::server_facts().password_min_chars;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(token) = token.get_untracked() else {
            return;
        };
        if !form.begin() {
            return;
        }
        let typed = code.get_untracked().trim().to_string();
        let request = ResetPasswordRequest {
            code: Some(typed).filter(|c| !c.is_empty()),
            token,
            password: password.get_untracked(),
        };
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let result = auth.reset_password(&request).await;
            let done = result.is_ok();
            form.finish(result);
            // Signed in by the reset: on to the account page.
            if done {
                navigate("/account", Default::default());
            }
        });
    };
    view! {
        <Title text="Choose a new password"/>
        <section class="card narrow">
            <h1>"Choose a new password"</h1>
            <Show when=move || missing.get()>
                <p class="alert" role="alert">
                    "This link is incomplete. Open the whole link from the mail, or "
                    <A href="/forgot-password">"ask for a new one"</A> "."
                </p>
            </Show>
            <form method="post" novalidate on:submit=submit>
                <FormAlert form/>
                <TextField label="New password" id="password" kind="password" autocomplete="new-password"
                    value=password errors=form.errors("password") required=true
                    hint=format!("At least {min_chars} characters. Every other browser and device will be signed out.")/>
                <Show when=move || needs_code.get()>
                    <TextField label="Authentication code" id="code" autocomplete="one-time-code" value=code
                        errors=form.errors("code") required=true
                        hint="Your account has two-step sign-in: the six digits your app shows, or a recovery code."/>
                </Show>
                <SubmitButton form label="Set password and sign in" busy_label="Saving…"/>
            </form>
        </section>
    }
}
