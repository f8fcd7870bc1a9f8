//! Step-up: a sensitive action answered 401 `reauth_required` (the last
//! full authentication is older than the server allows). The form that
//! sent it shows this in place of its alert: the password again, and a
//! code for an account with an authenticator app — or, where the site
//! offers passkeys, one of the account's passkeys instead. Once the server
//! accepts them, the same form is submitted again (or, outside a form, the
//! caller's `on_confirmed` runs).

use latchkey_types::{PasskeyOptions, ReauthRequest};
use leptos::prelude::*;

use crate::api::{self, ApiFailure, ApiRequest};
use crate::auth::{AuthStore, use_auth};
use crate::facts::server_facts;
use crate::webauthn;

/// In a form, a confirmed step-up submits that form again; elsewhere (a
/// table row's button) `on_confirmed` says what to do instead.
#[component]
pub fn StepUp(#[prop(optional)] on_confirmed: Option<Callback<()>>) -> impl IntoView {
    let auth = use_auth();
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    // Busy with the passkey prompt rather than the password.
    let via_passkey = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);
    let button = NodeRef::<leptos::html::Button>::new();
    let confirmed = move || match on_confirmed {
        Some(retry) => retry.run(()),
        None => resubmit(button),
    };
    let confirm = move || {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        via_passkey.set(false);
        problem.set(None);
        let typed = code.get_untracked().trim().to_string();
        let request = ReauthRequest {
            password: password.get_untracked(),
            code: Some(typed).filter(|c| !c.is_empty()),
        };
        leptos::task::spawn_local(async move {
            match api::call_empty(auth, ApiRequest::post("/api/me/reauth", &request)).await {
                Ok(()) => {
                    busy.try_set(false);
                    confirmed();
                }
                Err(failure) => {
                    busy.try_set(false);
                    password.try_set(String::new());
                    code.try_set(String::new());
                    let fields = failure.fields();
                    let text = if fields.contains_key("code") {
                        "Enter the code from your authenticator app (or a recovery code).".to_string()
                    } else if fields.contains_key("password") {
                        "That is not your password.".to_string()
                    } else {
                        failure.message()
                    };
                    problem.try_set(Some(text));
                }
            }
        });
    };
    // No passkey on the account: the server says so (404), shown as any problem.
    let with_passkey = move || {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        via_passkey.set(true);
        problem.set(None);
        leptos::task::spawn_local(async move {
            let result = passkey_reauth(auth).await;
            busy.try_set(false);
            match result {
                Ok(()) => confirmed(),
                Err(failure) => {
                    problem.try_set(Some(failure.message()));
                }
            }
        });
    };
    let passkey_button = server_facts().passkeys.then(|| {
        view! {
            <button type="button" class="button-secondary" on:click=move |_| with_passkey() disabled=move || busy.get()>
                {move || if busy.get() && via_passkey.get() { "Waiting for your passkey…" } else { "Use a passkey" }}
            </button>
        }
    });
    view! {
        <div class="step-up" role="group" aria-labelledby="step-up-heading">
            <p class="alert" role="alert" id="step-up-heading">
                "This needs a recent sign-in. Please confirm it is you."
            </p>
            {move || problem.get().map(|text| view! { <p class="field-error" role="alert">{text}</p> })}
            <label for="step-up-password">"Your password"</label>
            <input id="step-up-password" type="password" autocomplete="current-password"
                prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))
                on:keydown=move |ev| if is_enter(&ev) { ev.prevent_default(); confirm() }/>
            <label for="step-up-code">"Authentication code (if you use an authenticator app)"</label>
            <input id="step-up-code" type="text" inputmode="numeric" autocomplete="one-time-code"
                prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))
                on:keydown=move |ev| if is_enter(&ev) { ev.prevent_default(); confirm() }/>
            <button type="button" node_ref=button on:click=move |_| confirm() disabled=move || busy.get()>
                {move || if busy.get() && !via_passkey.get() { "Confirming…" } else { "Confirm and continue" }}
            </button>
            {passkey_button}
        </div>
    }
}

/// A ceremony for the caller's own passkeys, then its answer: a fresh
/// full authentication, as good as the password and a code.
async fn passkey_reauth(auth: AuthStore) -> Result<(), ApiFailure> {
    let options = api::call::<PasskeyOptions>(auth, ApiRequest::post_empty("/api/me/reauth/passkey/options")).await?;
    let assertion = webauthn::get(options).await?;
    api::call_empty(auth, ApiRequest::post("/api/me/reauth/passkey", &assertion)).await
}

/// Enter in these fields confirms here instead of submitting the form
/// (which would only be refused again).
fn is_enter(ev: &leptos::ev::KeyboardEvent) -> bool {
    #[cfg(feature = "hydrate")]
    return ev.key() == "Enter";
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        false
    }
}

/// Sends the form this step-up sits in again, as if its own button were
/// pressed (its submit handler runs, with the page's checks).
fn resubmit(button: NodeRef<leptos::html::Button>) {
    #[cfg(feature = "hydrate")]
    if let Some(form) = button.get_untracked().and_then(|b| b.form()) {
        let _ = form.request_submit();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = button;
}
