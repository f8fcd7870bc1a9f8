//! The security page's passkeys section: the account's passkeys (rename,
//! remove) and adding one. A passkey signs in on its own ("Sign in with a
//! passkey") and also answers the second step after a password, so it
//! counts as a second factor: the first one brings recovery codes, shown
//! once. Adding and removing are sensitive actions (`StepUp` in the form's
//! alert, as for the authenticator app).
//!
//! Browsers refuse passkeys on an IP address; a server whose public origin
//! is one offers none, and the section says how to open the site instead.

use latchkey_types::{FieldErrors, PasskeyAdded, PasskeyInfo, PasskeyOptions, PasskeyRename, RecoveryCodes};
use leptos::prelude::*;
use uuid::Uuid;

use super::two_factor::{Factors, FactorsLoad, ShowCodes};
use crate::api::{self, ApiFailure, ApiRequest};
use crate::auth::{AuthStore, use_auth};
use crate::components::form::{FormAlert, FormState, Notice, SubmitButton, TextField};
use crate::components::gate::Loading;
use crate::facts::server_facts;
use crate::format::date_time;
use crate::webauthn;

/// What the name field starts with.
const DEFAULT_NAME: &str = "My passkey";

#[component]
pub fn Passkeys(factors: Factors, changed: RwSignal<u32>) -> impl IntoView {
    let body = if server_facts().passkeys {
        view! { <Manage factors changed/> }.into_any()
    } else {
        view! {
            <p class="muted" data-testid="passkeys-off">
                "Passkeys need the site to be opened by a domain name, e.g. http://localhost:3000"
            </p>
        }
        .into_any()
    };
    view! {
        <section class="card" aria-labelledby="passkeys-heading" data-testid="passkeys">
            <h2 id="passkeys-heading">"Passkeys"</h2>
            {body}
        </section>
    }
}

/// The list, then the form to add one (or, right after the first, the
/// recovery codes that came with it).
#[component]
fn Manage(factors: Factors, changed: RwSignal<u32>) -> impl IntoView {
    let notice = RwSignal::new(None::<String>);
    let codes = RwSignal::new(None::<RecoveryCodes>);
    view! {
        <p>
            "A passkey signs you in with your fingerprint, face, screen lock or security key: nothing to type, "
            "nothing to steal. After your password, it can also be the second step."
        </p>
        <Notice message=notice/>
        {move || match factors.get() {
            FactorsLoad::Loading => view! { <Loading/> }.into_any(),
            FactorsLoad::Failed(text) => view! { <p class="alert" role="alert">{text}</p> }.into_any(),
            FactorsLoad::Ready(status) => view! { <List passkeys=status.passkeys factors changed notice/> }.into_any(),
        }}
        {move || match codes.get() {
            Some(codes_now) => view! { <ShowCodes codes=codes_now done=move || codes.set(None)/> }.into_any(),
            None => view! { <Add factors codes notice/> }.into_any(),
        }}
    }
}

#[component]
fn List(
    passkeys: Vec<PasskeyInfo>,
    factors: Factors,
    changed: RwSignal<u32>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let none = passkeys.is_empty();
    view! {
        <ul class="passkey-list" data-testid="passkey-list">
            {passkeys
                .into_iter()
                .map(|passkey| view! { <Item passkey factors changed notice/> })
                .collect_view()}
        </ul>
        {if none {
            view! { <p class="muted">"No passkeys yet."</p> }.into_any()
        } else {
            view! { <p class="muted">"Removing a passkey signs out every other browser and device."</p> }.into_any()
        }}
    }
}

/// One passkey: its name, when it was added and last used, whether it is
/// synced to the person's other devices; renamed in place, or removed.
#[component]
fn Item(
    passkey: PasskeyInfo,
    factors: Factors,
    changed: RwSignal<u32>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let auth = use_auth();
    let id = passkey.id;
    let remove = FormState::new();
    let on_remove = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !remove.begin() {
            return;
        }
        notice.set(None);
        leptos::task::spawn_local(async move {
            let result = remove_passkey(auth, id).await;
            remove.finish(result.map(|()| {
                notice.set(Some(
                    "Passkey removed. Every other browser and device has been signed out.".into(),
                ));
                changed.update(|n| *n += 1);
                factors.reload();
            }));
        });
    };
    let last_used = passkey
        .last_used_at
        .as_ref()
        .map(date_time)
        .unwrap_or_else(|| "never".into());
    view! {
        <li class="passkey" data-testid="passkey-item">
            <div class="passkey-main">
                <p class="passkey-name">
                    {passkey.name.clone()}
                    {passkey.backed_up.then(|| view! {
                        <span class="badge" title="Synced to your other devices by your browser or phone">"synced"</span>
                    })}
                </p>
                <p class="muted passkey-meta">
                    "Added " {date_time(&passkey.created_at)} " · Last used " {last_used}
                </p>
            </div>
            <div class="passkey-actions">
                <Rename id current=passkey.name factors notice/>
                <form class="passkey-remove" method="post" novalidate on:submit=on_remove>
                    <FormAlert form=remove/>
                    <SubmitButton form=remove label="Remove" busy_label="Removing…"/>
                </form>
            </div>
        </li>
    }
}

/// "Rename" opens the name for editing, in place: the new name, then Save
/// (or Cancel).
#[component]
fn Rename(id: Uuid, current: String, factors: Factors, notice: RwSignal<Option<String>>) -> impl IntoView {
    let auth = use_auth();
    let editing = RwSignal::new(false);
    let current = StoredValue::new(current);
    let name = RwSignal::new(current.get_value());
    let form = FormState::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        notice.set(None);
        let Some(request) = checked_name(form, &name.get_untracked()).map(|name| PasskeyRename { name }) else {
            return;
        };
        leptos::task::spawn_local(async move {
            let path = format!("/api/me/mfa/passkeys/{id}");
            let result = api::call_empty(auth, ApiRequest::patch(path, &request)).await;
            form.finish(result.map(|()| {
                notice.set(Some(format!("Renamed to “{}”.", request.name)));
                editing.set(false);
                factors.reload();
            }));
        });
    };
    let cancel = move |_| {
        editing.set(false);
        form.clear();
        name.set(current.get_value());
    };
    let errors = form.errors("name");
    view! {
        <Show
            when=move || editing.get()
            fallback=move || view! {
                <button type="button" class="button-secondary button-small" on:click=move |_| editing.set(true)>
                    "Rename"
                </button>
            }
        >
            <form class="passkey-rename" method="post" novalidate on:submit=submit>
                <FormAlert form/>
                <input type="text" name="name" autocomplete="off"
                    aria-label=move || format!("New name for {}", current.get_value())
                    aria-invalid=move || errors.with(|e| !e.is_empty()).to_string() bind:value=name/>
                <SubmitButton form label="Save" busy_label="Saving…"/>
                <button type="button" class="button-secondary button-small" on:click=cancel disabled=move || form.busy()>
                    "Cancel"
                </button>
                {move || {
                    let problems = errors.get();
                    (!problems.is_empty()).then(|| {
                        let text = problems.iter().map(|p| format!("The name {p}.")).collect::<Vec<_>>().join(" ");
                        view! { <p class="field-error" role="alert">{text}</p> }
                    })
                }}
            </form>
        </Show>
    }
}

/// 404 means it was already gone: the reloaded list shows that.
async fn remove_passkey(auth: AuthStore, id: Uuid) -> Result<(), ApiFailure> {
    match api::call_empty(auth, ApiRequest::delete(format!("/api/me/mfa/passkeys/{id}"))).await {
        Err(f) if f.is(latchkey_types::ErrorCode::NotFound) => Ok(()),
        other => other,
    }
}

/// The name field, then the browser's passkey prompt; the server makes the
/// ceremony (asking for a fresh sign-in first if the last is old) and
/// checks the answer.
#[component]
fn Add(factors: Factors, codes: RwSignal<Option<RecoveryCodes>>, notice: RwSignal<Option<String>>) -> impl IntoView {
    let auth = use_auth();
    let name = RwSignal::new(DEFAULT_NAME.to_string());
    let form = FormState::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        notice.set(None);
        let Some(typed) = checked_name(form, &name.get_untracked()) else {
            return;
        };
        leptos::task::spawn_local(async move {
            let result = add_passkey(auth, typed).await;
            form.finish(result.map(|added| {
                notice.set(Some(format!("Passkey “{}” added.", added.passkey.name)));
                if let Some(first_codes) = added.recovery_codes {
                    codes.set(Some(first_codes));
                }
                factors.reload();
            }));
        });
    };
    view! {
        <form class="passkey-add" method="post" novalidate on:submit=submit>
            <FormAlert form/>
            <TextField label="Passkey name" id="passkey_name" value=name errors=form.errors("name") required=true
                hint="So you can tell your passkeys apart, e.g. “Work laptop” or “Phone”."/>
            <SubmitButton form label="Add a passkey" busy_label="Waiting for your passkey…" testid="passkey-add"/>
        </form>
    }
}

/// Ceremony options from the server, the browser's new credential, and the
/// server's check of it.
async fn add_passkey(auth: AuthStore, name: String) -> Result<PasskeyAdded, ApiFailure> {
    let options = api::call::<PasskeyOptions>(auth, ApiRequest::post_empty("/api/me/mfa/passkeys/options")).await?;
    let registration = webauthn::create(options, name).await?;
    api::call(auth, ApiRequest::post("/api/me/mfa/passkeys", &registration)).await
}

/// The trimmed name if the server would take it; otherwise `form` shows
/// why, before the person is sent through a passkey prompt for nothing.
fn checked_name(form: FormState, raw: &str) -> Option<String> {
    match name_problem(raw) {
        None => Some(raw.trim().to_string()),
        Some(problem) => {
            form.refuse(FieldErrors::from([("name".to_string(), vec![problem.to_string()])]));
            None
        }
    }
}

/// The server's rule for a passkey name (and its words): 1–64 characters
/// once trimmed, no control characters.
fn name_problem(raw: &str) -> Option<&'static str> {
    let name = raw.trim();
    let chars = name.chars().count();
    (chars == 0 || chars > 64 || name.chars().any(char::is_control))
        .then_some("must be 1 to 64 characters, without control characters")
}

#[cfg(test)]
mod tests {
    use super::name_problem;

    #[test]
    fn names_follow_the_server_rule() {
        assert_eq!(name_problem("  Work laptop "), None);
        assert!(name_problem("   ").is_some());
        assert!(name_problem(&"x".repeat(65)).is_some());
        assert_eq!(name_problem(&"é".repeat(64)), None);
        assert!(name_problem("a\u{7}b").is_some());
    }
}
