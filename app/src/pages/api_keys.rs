//! The security page's API keys section: personal keys for scripts and
//! services (`Authorization: Bearer lk_…`). A new key is shown once, right
//! after it is made (only its hash is kept); the list shows each key's
//! start, scope, expiry and last use, and revokes it. Making a key is a
//! sensitive action (`StepUp` in the form's alert). An administrator sees
//! and revokes any user's keys (`KeyScope::OfUser`) on the user's page.

use latchkey_types::{ApiKey, ApiKeyScope, CreateApiKeyRequest, CreatedApiKey};
use leptos::prelude::*;
use uuid::Uuid;

use crate::api::{self, ApiFailure, ApiRequest};
use crate::auth::use_auth;
use crate::components::form::{FormAlert, FormState, Notice, SubmitButton, TextField};
use crate::components::gate::Loading;
use crate::format::date_time;

#[derive(Clone, Debug, PartialEq)]
enum Load {
    Loading,
    Ready(Vec<ApiKey>),
    Failed(ApiFailure),
}

/// Whose keys a list shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeyScope {
    /// The signed-in user's, with the form to make one.
    #[default]
    Mine,
    /// Any user's, for an administrator: list and revoke.
    OfUser(Uuid),
}

impl KeyScope {
    fn list_path(self) -> String {
        match self {
            KeyScope::Mine => "/api/me/api-keys".into(),
            KeyScope::OfUser(user) => format!("/api/admin/users/{user}/api-keys"),
        }
    }

    fn revoke_path(self, key: Uuid) -> String {
        match self {
            KeyScope::Mine => format!("/api/me/api-keys/{key}"),
            KeyScope::OfUser(_) => format!("/api/admin/api-keys/{key}"),
        }
    }
}

#[component]
pub fn ApiKeys(#[prop(optional)] scope: KeyScope) -> impl IntoView {
    let auth = use_auth();
    let state = RwSignal::new(Load::Loading);
    let notice = RwSignal::new(None::<String>);
    let created = RwSignal::new(None::<String>);
    let reload = move || {
        leptos::task::spawn_local(async move {
            let answer = api::call::<Vec<ApiKey>>(auth, ApiRequest::get(scope.list_path())).await;
            state.try_set(match answer {
                Ok(keys) => Load::Ready(keys),
                Err(failure) => Load::Failed(failure),
            });
        });
    };
    Effect::new(move |_| reload());
    view! {
        <section class="card" aria-labelledby="api-keys-heading" data-testid="api-keys">
            <h2 id="api-keys-heading">"API keys"</h2>
            {(scope == KeyScope::Mine).then(|| view! {
                <p>
                    "A key lets a script or another service use your account's API: send it as "
                    <code>"Authorization: Bearer lk_…"</code>
                    ". A read-only key can only read. Revoke a key you no longer use."
                </p>
            })}
            <Notice message=notice/>
            {move || created.get().map(|key| view! { <ShowKey key done=move || created.set(None)/> })}
            {move || match state.get() {
                Load::Loading => view! { <Loading/> }.into_any(),
                Load::Failed(failure) => view! { <p class="alert" role="alert">{failure.message()}</p> }.into_any(),
                Load::Ready(keys) if keys.is_empty() => view! { <p class="muted">"No API keys."</p> }.into_any(),
                Load::Ready(keys) => view! {
                    <ul class="passkey-list" data-testid="api-key-list">
                        {keys.into_iter().map(|key| view! { <Item key scope notice reload/> }).collect_view()}
                    </ul>
                }
                .into_any(),
            }}
            {(scope == KeyScope::Mine).then(|| view! { <Create created reload/> })}
        </section>
    }
}

/// The new key, once: a read-only field to copy it from.
#[component]
fn ShowKey(key: String, done: impl Fn() + Send + Sync + 'static) -> impl IntoView {
    view! {
        <div class="notice" role="status" data-testid="new-api-key">
            <p>"Your new key. Copy it now: it will not be shown again."</p>
            <input type="text" readonly aria-label="New API key" value=key class="mono"/>
            <button type="button" class="button-small" on:click=move |_| done()>"Done"</button>
        </div>
    }
}

#[component]
fn Item(
    key: ApiKey,
    scope: KeyScope,
    notice: RwSignal<Option<String>>,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let auth = use_auth();
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    let id: Uuid = key.id;
    let revoke = move |_| {
        busy.set(true);
        failure.set(None);
        leptos::task::spawn_local(async move {
            match api::call_empty(auth, ApiRequest::delete(scope.revoke_path(id))).await {
                Ok(()) => {
                    notice.set(Some("API key revoked.".into()));
                    reload();
                }
                Err(f) => {
                    busy.try_set(false);
                    failure.try_set(Some(f.message()));
                }
            }
        });
    };
    let last_used = key
        .last_used_at
        .as_ref()
        .map(date_time)
        .unwrap_or_else(|| "never".into());
    let expiry = match (&key.expires_at, key.expired) {
        (_, true) => "expired".to_string(),
        (Some(at), false) => format!("expires {}", date_time(at)),
        (None, false) => "does not expire".to_string(),
    };
    let label = format!("Revoke the API key {}", key.name);
    view! {
        <li class="passkey" data-testid="api-key-item">
            <div class="passkey-main">
                <p class="passkey-name">
                    {key.name.clone()}
                    {(key.scope == ApiKeyScope::Read).then(|| view! { <span class="badge">"read-only"</span> })}
                </p>
                <p class="muted passkey-meta">
                    <code>{format!("{}…", key.prefix)}</code>
                    " · Made " {date_time(&key.created_at)} " · Last used " {last_used} " · " {expiry}
                </p>
                {move || failure.get().map(|text| view! { <p class="field-error" role="alert">{text}</p> })}
            </div>
            <button type="button" class="button-secondary button-small" aria-label=label on:click=revoke disabled=busy>
                {move || if busy.get() { "Revoking…" } else { "Revoke" }}
            </button>
        </li>
    }
}

#[component]
fn Create(created: RwSignal<Option<String>>, reload: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let auth = use_auth();
    let name = RwSignal::new(String::new());
    let read_only = RwSignal::new(false);
    let expiry = RwSignal::new("90".to_string());
    let form = FormState::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let request = CreateApiKeyRequest {
            name: name.get_untracked(),
            scope: if read_only.get_untracked() {
                ApiKeyScope::Read
            } else {
                ApiKeyScope::Full
            },
            expires_in_days: expiry.get_untracked().parse().ok(),
        };
        leptos::task::spawn_local(async move {
            let answer = api::call::<CreatedApiKey>(auth, ApiRequest::post("/api/me/api-keys", &request)).await;
            form.finish(answer.map(|made| {
                name.set(String::new());
                created.set(Some(made.key));
                reload();
            }));
        });
    };
    view! {
        <form method="post" novalidate on:submit=submit data-testid="api-key-form">
            <h3>"New key"</h3>
            <FormAlert form/>
            <TextField label="Key name" id="api_key_name" value=name errors=form.errors("name") required=true
                hint="What it is for, e.g. “backup script”."/>
            <div class="field">
                <label for="api_key_expiry">"Expires"</label>
                <select id="api_key_expiry" name="api_key_expiry" bind:value=expiry>
                    <option value="30">"in 30 days"</option>
                    <option value="90">"in 90 days"</option>
                    <option value="365">"in a year"</option>
                    <option value="never">"never"</option>
                </select>
                {move || form.errors("expires_in_days").get().first().map(|p| view! {
                    <p class="field-error">{format!("Expiry {p}.")}</p>
                })}
            </div>
            <div class="field checkbox">
                <label>
                    <input type="checkbox" id="api_key_read_only" bind:checked=read_only/>
                    " Read-only (can only read, never change anything)"
                </label>
            </div>
            <SubmitButton form label="Create key" busy_label="Creating…" testid="create-api-key"/>
        </form>
    }
}
