//! Active sessions: where someone is signed in, this browser marked, each
//! other one revocable. The signed-in user's own (with "sign out
//! everywhere"), or, for an administrator, any user's.

use latchkey_types::Session;
use leptos::prelude::*;
use uuid::Uuid;

use super::gate::Loading;
use crate::api::{self, ApiFailure, ApiRequest};
use crate::auth::{AuthStore, use_auth};
use crate::format::{date_time, device};

#[derive(Clone, Debug, PartialEq)]
enum Load {
    Loading,
    Ready(Vec<Session>),
    Failed(ApiFailure),
}

/// Whose sessions a list shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SessionScope {
    /// The signed-in user's (`/api/me/sessions`).
    #[default]
    Mine,
    /// Any user's, for an administrator (`/api/admin/...`).
    OfUser(Uuid),
}

impl SessionScope {
    fn list_path(self) -> String {
        match self {
            SessionScope::Mine => "/api/me/sessions".into(),
            SessionScope::OfUser(user) => format!("/api/admin/users/{user}/sessions"),
        }
    }

    fn revoke_path(self, session: Uuid) -> String {
        match self {
            SessionScope::Mine => format!("/api/me/sessions/{session}"),
            SessionScope::OfUser(_) => format!("/api/admin/sessions/{session}"),
        }
    }
}

/// `changed` ticks when something else on the page changed the sessions
/// (a password change ends all the others).
#[component]
pub fn Sessions(changed: ReadSignal<u32>, #[prop(optional)] scope: SessionScope) -> impl IntoView {
    let auth = use_auth();
    let state = RwSignal::new(Load::Loading);
    let notice = RwSignal::new(None::<String>);
    let reload = move || load_sessions(auth, scope, state);
    Effect::new(move |_| {
        changed.track();
        reload();
    });

    view! {
        <section class="card" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">
                {match scope {
                    SessionScope::Mine => "Where you're signed in",
                    SessionScope::OfUser(_) => "Active sessions",
                }}
            </h2>
            <super::form::Notice message=notice/>
            {move || match state.get() {
                Load::Loading => view! { <Loading/> }.into_any(),
                Load::Failed(failure) => view! {
                    <div class="alert" role="alert">
                        <p>{failure.message()}</p>
                        <button type="button" class="button-small" on:click=move |_| reload()>"Retry"</button>
                    </div>
                }
                .into_any(),
                Load::Ready(sessions) if sessions.is_empty() => {
                    view! { <p class="muted">"No active sessions."</p> }.into_any()
                }
                Load::Ready(sessions) => view! {
                    <ul class="session-list">
                        {sessions
                            .into_iter()
                            .map(|session| view! { <SessionRow session scope state notice/> })
                            .collect_view()}
                    </ul>
                }
                .into_any(),
            }}
            {(scope == SessionScope::Mine).then(|| view! { <SignOutEverywhere/> })}
        </section>
    }
}

/// Current session first, then the most recently used.
fn load_sessions(auth: AuthStore, scope: SessionScope, state: RwSignal<Load>) {
    state.set(Load::Loading);
    leptos::task::spawn_local(async move {
        let answer = api::call::<Vec<Session>>(auth, ApiRequest::get(scope.list_path())).await;
        state.try_set(match answer {
            Ok(mut sessions) => {
                sessions.sort_by(|a, b| b.current.cmp(&a.current).then(b.last_seen_at.cmp(&a.last_seen_at)));
                Load::Ready(sessions)
            }
            Err(failure) => Load::Failed(failure),
        });
    });
}

#[component]
fn SessionRow(
    session: Session,
    scope: SessionScope,
    state: RwSignal<Load>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let auth = use_auth();
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    let id = session.id;
    let revoke = move |_| {
        busy.set(true);
        failure.set(None);
        leptos::task::spawn_local(async move {
            match revoke_session(auth, scope.revoke_path(id)).await {
                Ok(()) => {
                    notice.set(Some("That session has been signed out.".into()));
                    load_sessions(auth, scope, state);
                }
                Err(f) => {
                    busy.try_set(false);
                    failure.try_set(Some(f.message()));
                }
            }
        });
    };
    let device_name = device(session.user_agent.as_deref());
    let label = format!(
        "Sign out {device_name}, last active {}",
        date_time(&session.last_seen_at)
    );
    view! {
        <li class="session" class:current=session.current>
            <div class="session-main">
                <p class="session-device">
                    {device_name}
                    {session.current.then(|| view! { <span class="badge">"This browser"</span> })}
                    {(session.kind == latchkey_types::SessionKind::Native)
                        .then(|| view! { <span class="badge" title="A mobile or desktop app, or a command-line tool">"app"</span> })}
                </p>
                <p class="muted session-meta">
                    {session.ip.clone().map(|ip| format!("{ip} · "))}
                    "Signed in " {date_time(&session.created_at)}
                    " · Last active " {date_time(&session.last_seen_at)}
                </p>
                {move || failure.get().map(|text| view! { <p class="field-error" role="alert">{text}</p> })}
            </div>
            {(!session.current).then(|| view! {
                <button type="button" class="button-secondary button-small" aria-label=label on:click=revoke disabled=busy>
                    {move || if busy.get() { "Signing out…" } else { "Sign out" }}
                </button>
            })}
        </li>
    }
}

/// 404 means it was already gone: the list reload shows that.
async fn revoke_session(auth: AuthStore, path: String) -> Result<(), ApiFailure> {
    match api::call_empty(auth, ApiRequest::delete(path)).await {
        Err(f) if f.is(latchkey_types::ErrorCode::NotFound) => Ok(()),
        other => other,
    }
}

/// Asks once more before ending every session, this one included.
#[component]
fn SignOutEverywhere() -> impl IntoView {
    let auth = use_auth();
    let confirming = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    let confirm = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            if let Err(f) = auth.sign_out_everywhere().await {
                failure.try_set(Some(f.message()));
                busy.try_set(false);
            }
        });
    };
    view! {
        <div class="danger-zone">
            {move || failure.get().map(|text| view! { <p class="alert" role="alert">{text}</p> })}
            <Show
                when=move || confirming.get()
                fallback=move || view! {
                    <button type="button" class="button-danger" on:click=move |_| confirming.set(true)>
                        "Sign out everywhere"
                    </button>
                }
            >
                <p>"This signs out every browser and device, this one included."</p>
                <div class="actions">
                    <button type="button" class="button-danger" on:click=confirm disabled=busy>
                        {move || if busy.get() { "Signing out…" } else { "Yes, sign out everywhere" }}
                    </button>
                    <button type="button" class="button-secondary" on:click=move |_| confirming.set(false)>
                        "Cancel"
                    </button>
                </div>
            </Show>
        </div>
    }
}
