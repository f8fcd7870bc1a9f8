//! The signed-in user's profile, with their display name editable.

use latchkey_types::{ChangeEmailRequest, UpdateMeRequest, User};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{self, ApiRequest};
use crate::auth::use_auth;
use crate::components::form::{FormAlert, FormState, Notice, SubmitButton, TextField};
use crate::components::gate::RequireAuth;
use crate::format::date_time;

#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <Title text="Account"/>
        <RequireAuth>
            <Profile/>
        </RequireAuth>
    }
}

#[component]
fn Profile() -> impl IntoView {
    let auth = use_auth();
    let user = auth.user();
    let field = |read: fn(&User) -> String| move || user.with(|u| u.as_ref().map(read).unwrap_or_default());
    view! {
        <div class="stack" data-signed-in="true">
            <section class="card">
                <h1>{move || greeting(user.get().as_ref())}</h1>
                <dl class="facts">
                    <dt>"Email"</dt>
                    <dd>{field(|u| u.email.clone())} " " <EmailState/></dd>
                    <dt>"Display name"</dt>
                    <dd>{field(|u| u.display_name.clone().unwrap_or_else(|| "Not set".into()))}</dd>
                    <dt>"Role"</dt>
                    <dd>{field(|u| u.role.as_str().to_string())}</dd>
                    <dt>"Member since"</dt>
                    <dd>{field(|u| date_time(&u.created_at))}</dd>
                </dl>
            </section>
            <DisplayNameForm/>
            <ChangeEmailForm/>
        </div>
    }
}

/// Whether the address is confirmed; if not, a way to get a new link.
#[component]
fn EmailState() -> impl IntoView {
    let auth = use_auth();
    let verified = move || {
        auth.user()
            .with(|u| u.as_ref().is_some_and(|u| u.email_verified_at.is_some()))
    };
    let sent = RwSignal::new(None::<String>);
    let form = FormState::new();
    let resend = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        sent.set(None);
        leptos::task::spawn_local(async move {
            let result = api::call_raw(auth, ApiRequest::post_empty("/api/me/email/verify")).await;
            if result.is_ok() {
                sent.try_set(Some("A new link is on its way. It works once.".into()));
            }
            form.finish(result.map(drop));
        });
    };
    move || {
        if verified() {
            view! { <span class="badge" data-testid="email-state">"confirmed"</span> }.into_any()
        } else {
            view! {
                <span class="badge badge-warn" data-testid="email-state">"not confirmed"</span>
                <form class="inline-form" method="post" novalidate on:submit=resend>
                    <Notice message=sent/>
                    <FormAlert form/>
                    <SubmitButton form label="Send a new confirmation link" busy_label="Sending…"/>
                </form>
            }
            .into_any()
        }
    }
}

fn greeting(user: Option<&User>) -> String {
    match user.and_then(|u| u.display_name.as_deref()) {
        Some(name) => format!("Hello, {name}"),
        None => "Your account".into(),
    }
}

#[component]
fn DisplayNameForm() -> impl IntoView {
    let auth = use_auth();
    let initial = auth
        .user()
        .get_untracked()
        .and_then(|u| u.display_name)
        .unwrap_or_default();
    let name = RwSignal::new(initial);
    let saved = RwSignal::new(None::<String>);
    let form = FormState::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        saved.set(None);
        let trimmed = name.get_untracked().trim().to_string();
        let request = UpdateMeRequest {
            display_name: Some(trimmed).filter(|n| !n.is_empty()),
        };
        leptos::task::spawn_local(async move {
            let result = api::call::<User>(auth, ApiRequest::patch("/api/me", &request)).await;
            let result = result.map(|user| {
                auth.set_user(user);
                saved.try_set(Some("Saved.".into()));
            });
            form.finish(result);
        });
    };
    view! {
        <section class="card" aria-labelledby="name-heading">
            <h2 id="name-heading">"Display name"</h2>
            <form method="post" novalidate on:submit=submit>
                <Notice message=saved/>
                <FormAlert form/>
                <TextField label="Display name" id="display_name" autocomplete="nickname" value=name
                    errors=form.errors("display_name") hint="Up to 64 characters. Leave empty to remove it."/>
                <SubmitButton form label="Save" busy_label="Saving…"/>
            </form>
        </section>
    }
}

/// Moving the account to another address: the password again, then a
/// link to the new address (the old one gets a notice).
#[component]
fn ChangeEmailForm() -> impl IntoView {
    let auth = use_auth();
    let new_email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let sent = RwSignal::new(None::<String>);
    let form = FormState::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        sent.set(None);
        let address = new_email.get_untracked().trim().to_string();
        if let Err(problem) = latchkey_types::check_email_syntax(&address) {
            form.refuse(latchkey_types::FieldErrors::from([(
                "new_email".to_string(),
                vec![problem.to_string()],
            )]));
            return;
        }
        let request = ChangeEmailRequest {
            new_email: address.clone(),
            password: password.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            let result = api::call_raw(auth, ApiRequest::post("/api/me/email", &request)).await;
            password.try_set(String::new());
            if result.is_ok() {
                sent.try_set(Some(format!(
                    "A confirmation link is on its way to {address}. Your address changes when you open it."
                )));
            }
            form.finish(result.map(drop));
        });
    };
    view! {
        <section class="card" aria-labelledby="email-heading">
            <h2 id="email-heading">"Change email"</h2>
            <form method="post" novalidate on:submit=submit>
                <Notice message=sent/>
                <FormAlert form/>
                <TextField label="New email" id="new_email" kind="email" autocomplete="email" value=new_email
                    errors=form.errors("new_email") required=true/>
                <TextField label="Current password" id="email_password" kind="password"
                    autocomplete="current-password" value=password errors=form.errors("password") required=true/>
                <SubmitButton form label="Send a confirmation link" busy_label="Sending…"/>
            </form>
        </section>
    }
}
