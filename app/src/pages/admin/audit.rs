//! The audit log, newest first: filter by event and by user, relative
//! times (the exact time on hover), the raw detail on demand, and older
//! entries a page at a time (cursor: the last id shown).

use latchkey_types::AuditEvent;
use leptos::prelude::*;
use leptos_meta::Title;
use uuid::Uuid;

use super::AdminTabs;
use crate::api::{self, ApiFailure, ApiRequest};
use crate::auth::use_auth;
use crate::browser::now_ms;
use crate::components::gate::{Loading, RequireAdmin};
use crate::format::{date_time, device, relative, short_id};
use crate::redirect::encode_component;

const PAGE: usize = 50;

/// Every event the server records, for the filter.
const EVENTS: &[&str] = &[
    "user.registered",
    "user.created",
    "login.succeeded",
    "login.failed",
    "logout",
    "logout_all",
    "password.changed",
    "session.revoked",
    "refresh.reuse_detected",
    "admin.user_updated",
    "admin.session_revoked",
];

#[derive(Clone, Debug, Default, PartialEq)]
struct Filter {
    event: String,
    user: String,
}

impl Filter {
    fn path(&self, before: Option<Uuid>) -> String {
        let mut path = format!("/api/admin/audit?limit={PAGE}");
        if !self.event.is_empty() {
            path.push_str(&format!("&event={}", encode_component(&self.event)));
        }
        if !self.user.is_empty() {
            path.push_str(&format!("&user_id={}", encode_component(&self.user)));
        }
        if let Some(id) = before {
            path.push_str(&format!("&before={id}"));
        }
        path
    }
}

#[component]
pub fn AdminAuditPage() -> impl IntoView {
    view! {
        <Title text="Audit log"/>
        <RequireAdmin>
            <div class="stack" data-signed-in="true">
                <h1>"Audit log"</h1>
                <AdminTabs/>
                <AuditLog/>
            </div>
        </RequireAdmin>
    }
}

#[component]
fn AuditLog() -> impl IntoView {
    let auth = use_auth();
    let filter = RwSignal::new(Filter::default());
    let user_draft = RwSignal::new(String::new());
    let events = RwSignal::new(Vec::<AuditEvent>::new());
    let loading = RwSignal::new(true);
    let exhausted = RwSignal::new(false);
    let failure = RwSignal::new(None::<ApiFailure>);

    // `before`: None starts over (a new filter), Some continues the list.
    let fetch = move |before: Option<Uuid>| {
        loading.set(true);
        failure.set(None);
        let path = filter.get_untracked().path(before);
        leptos::task::spawn_local(async move {
            match api::call::<Vec<AuditEvent>>(auth, ApiRequest::get(path)).await {
                Ok(page) => {
                    exhausted.try_set(page.len() < PAGE);
                    if before.is_none() {
                        events.try_set(page);
                    } else {
                        events.try_update(|all| all.extend(page));
                    }
                }
                Err(f) => {
                    failure.try_set(Some(f));
                }
            }
            loading.try_set(false);
        });
    };
    Effect::new(move |_| {
        filter.track();
        fetch(None);
    });
    let filter_user = move |id: Uuid| {
        user_draft.set(id.to_string());
        filter.update(|f| f.user = id.to_string());
    };
    let now = RwSignal::new(now_ms());

    view! {
        <section class="card">
            <form class="filters" on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                filter.update(|f| f.user = user_draft.get_untracked().trim().to_string());
            }>
                <div class="field">
                    <label for="audit-event">"Event"</label>
                    <select id="audit-event" on:change=move |ev| {
                        let event = event_target_value(&ev);
                        filter.update(|f| f.event = event);
                    }>
                        <option value="">"All events"</option>
                        {EVENTS.iter().map(|e| view! { <option value=*e>{*e}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="audit-user">"User id"</label>
                    <input id="audit-user" type="text" spellcheck="false" placeholder="any user"
                        prop:value=move || user_draft.get()
                        on:input=move |ev| user_draft.set(event_target_value(&ev))/>
                </div>
                <div class="actions">
                    <button type="submit" class="button-small">"Filter"</button>
                    <button type="button" class="button-secondary button-small" on:click=move |_| {
                        user_draft.set(String::new());
                        filter.update(|f| f.user.clear());
                    }>"Any user"</button>
                </div>
            </form>
            {move || failure.get().map(|f| view! { <p class="alert" role="alert">{f.message()}</p> })}
            <div class="table-scroll">
                <table class="data audit" data-testid="audit-log">
                    <thead>
                        <tr>
                            <th scope="col">"When"</th>
                            <th scope="col">"Event"</th>
                            <th scope="col">"Actor"</th>
                            <th scope="col">"User"</th>
                            <th scope="col">"Session"</th>
                            <th scope="col">"From"</th>
                            <th scope="col">"Detail"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || events.get() key=|e| e.id let:event>
                            <AuditRow event now=now.read_only() filter_user/>
                        </For>
                    </tbody>
                </table>
            </div>
            {move || {
                (!loading.get() && events.with(Vec::is_empty))
                    .then(|| view! { <p class="muted">"No events match."</p> })
            }}
            <Show when=move || loading.get()>
                <Loading/>
            </Show>
            <Show when=move || !loading.get() && !exhausted.get()>
                <button type="button" class="button-secondary button-small" on:click=move |_| {
                    now.set(now_ms());
                    fetch(events.with_untracked(|all| all.last().map(|e| e.id)));
                }>"Older events"</button>
            </Show>
        </section>
    }
}

#[component]
fn AuditRow(
    event: AuditEvent,
    now: ReadSignal<f64>,
    filter_user: impl Fn(Uuid) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let at_ms = event.at.timestamp_millis() as f64;
    let detail = event.detail.as_ref().and_then(|d| serde_json::to_string_pretty(d).ok());
    let id_cell = |id: Option<Uuid>| id.map(|id| view! { <code title=id.to_string()>{short_id(&id)}</code> });
    let from = match (&event.ip, &event.user_agent) {
        (Some(ip), ua) => format!("{ip} · {}", device(ua.as_deref())),
        (None, ua) => device(ua.as_deref()),
    };
    view! {
        <tr data-event=event.event.clone()>
            <td><time title=date_time(&event.at)>{move || relative(at_ms, now.get())}</time></td>
            <td><code>{event.event.clone()}</code></td>
            <td>{id_cell(event.actor_id)}</td>
            <td>
                {event.user_id.map(|id| view! {
                    <button type="button" class="link" title=format!("Only events of {id}")
                        on:click=move |_| filter_user(id)>{short_id(&id)}</button>
                })}
            </td>
            <td>{id_cell(event.session_id)}</td>
            <td class="muted">{from}</td>
            <td>
                {detail.map(|text| view! {
                    <details>
                        <summary>"Show"</summary>
                        <pre class="code">{text}</pre>
                    </details>
                })}
            </td>
        </tr>
    }
}
