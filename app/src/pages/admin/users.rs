//! Users: search, pages of 20, promote/demote and disable/enable, each
//! after a confirmation that says what it will do.

use latchkey_types::{AdminUpdateUserRequest, AdminUser, AdminUserList, MfaStatus, Role};
use leptos::prelude::*;
use leptos_meta::Title;

use super::AdminTabs;
use crate::api::{self, ApiFailure, ApiRequest};
use crate::auth::use_auth;
use crate::components::gate::{Loading, RequireAdmin};
use crate::components::step_up::StepUp;
use crate::format::date_time;
use crate::redirect::encode_component;

const PER_PAGE: u64 = 20;

#[derive(Clone, Debug, PartialEq)]
enum Load {
    Loading,
    Ready(AdminUserList),
    Failed(ApiFailure),
}

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    view! {
        <Title text="Users"/>
        <RequireAdmin>
            <div class="stack" data-signed-in="true">
                <h1>"Users"</h1>
                <AdminTabs/>
                <UsersTable/>
            </div>
        </RequireAdmin>
    }
}

#[component]
fn UsersTable() -> impl IntoView {
    let auth = use_auth();
    let draft = RwSignal::new(String::new());
    let query = RwSignal::new(String::new());
    let page = RwSignal::new(1_u64);
    let reload = RwSignal::new(0_u32);
    let state = RwSignal::new(Load::Loading);
    let notice = RwSignal::new(None::<String>);

    Effect::new(move |_| {
        reload.track();
        let path = format!(
            "/api/admin/users?q={}&page={}&per_page={PER_PAGE}",
            encode_component(&query.get()),
            page.get()
        );
        state.set(Load::Loading);
        leptos::task::spawn_local(async move {
            let answer = api::call::<AdminUserList>(auth, ApiRequest::get(path)).await;
            state.try_set(match answer {
                Ok(list) => Load::Ready(list),
                Err(failure) => Load::Failed(failure),
            });
        });
    });

    let search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        query.set(draft.get_untracked().trim().to_string());
        page.set(1);
    };
    let changed = move |message: String| {
        notice.set(Some(message));
        reload.update(|n| *n += 1);
    };

    view! {
        <section class="card">
            <form class="search" role="search" on:submit=search>
                <label for="user-search">"Search by email or name"</label>
                <div class="search-row">
                    <input
                        id="user-search"
                        type="search"
                        maxlength="254"
                        prop:value=move || draft.get()
                        on:input=move |ev| draft.set(event_target_value(&ev))
                    />
                    <button type="submit" class="button-small">"Search"</button>
                </div>
            </form>
            <crate::components::form::Notice message=notice/>
            {move || match state.get() {
                Load::Loading => view! { <Loading/> }.into_any(),
                Load::Failed(failure) => view! { <p class="alert" role="alert">{failure.message()}</p> }.into_any(),
                Load::Ready(list) if list.users.is_empty() => {
                    view! { <p class="muted">"No users match."</p> }.into_any()
                }
                Load::Ready(list) => {
                    let pages = list.total.div_ceil(PER_PAGE).max(1);
                    view! {
                        <div class="table-scroll">
                            <table class="data">
                                <thead>
                                    <tr>
                                        <th scope="col">"Email"</th>
                                        <th scope="col">"Name"</th>
                                        <th scope="col">"Role"</th>
                                        <th scope="col">"Status"</th>
                                        <th scope="col">"Two-step"</th>
                                        <th scope="col">"Joined"</th>
                                        <th scope="col">"Actions"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list.users.into_iter().map(|row| view! { <UserRow row changed/> }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <div class="pager">
                            <button
                                type="button"
                                class="button-secondary button-small"
                                disabled=move || { page.get() <= 1 }
                                on:click=move |_| page.update(|p| *p = p.saturating_sub(1).max(1))
                            >
                                "Previous"
                            </button>
                            <span data-testid="page-of">
                                {move || format!("Page {} of {pages} · {} users", page.get(), list.total)}
                            </span>
                            <button
                                type="button"
                                class="button-secondary button-small"
                                disabled=move || { page.get() >= pages }
                                on:click=move |_| page.update(|p| *p += 1)
                            >
                                "Next"
                            </button>
                        </div>
                    }
                    .into_any()
                }
            }}
        </section>
    }
}

/// A change an admin may make to a user, and how the confirmation puts it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Change {
    Promote,
    Demote,
    Disable,
    Enable,
    ResetFactors,
}

impl Change {
    fn button(self) -> &'static str {
        match self {
            Change::Promote => "Make admin",
            Change::Demote => "Make user",
            Change::Disable => "Disable",
            Change::Enable => "Enable",
            Change::ResetFactors => "Reset two-step",
        }
    }

    fn question(self, email: &str) -> String {
        match self {
            Change::Promote => format!("Make {email} an administrator?"),
            Change::Demote => format!("Make {email} a regular user? Their sessions end now."),
            Change::Disable => format!("Disable {email}? Their sessions end now and they cannot sign in."),
            Change::Enable => format!("Enable {email} again?"),
            Change::ResetFactors => {
                format!("Remove the authenticator app, passkeys and recovery codes of {email}? Their sessions end now.")
            }
        }
    }

    fn done(self, email: &str) -> String {
        match self {
            Change::Promote => format!("{email} is now an administrator."),
            Change::Demote => format!("{email} is now a regular user; their sessions were ended."),
            Change::Disable => format!("{email} is disabled; their sessions were ended."),
            Change::Enable => format!("{email} is enabled again."),
            Change::ResetFactors => {
                format!("{email} signs in with the password alone now; their sessions were ended.")
            }
        }
    }

    fn request(self, user: uuid::Uuid) -> ApiRequest {
        let (role, disabled) = match self {
            Change::Promote => (Some(Role::Admin), None),
            Change::Demote => (Some(Role::User), None),
            Change::Disable => (None, Some(true)),
            Change::Enable => (None, Some(false)),
            Change::ResetFactors => return ApiRequest::delete(format!("/api/admin/users/{user}/mfa")),
        };
        ApiRequest::patch(
            format!("/api/admin/users/{user}"),
            &AdminUpdateUserRequest { role, disabled },
        )
    }
}

#[component]
fn UserRow(row: AdminUser, changed: impl Fn(String) + Copy + Send + Sync + 'static) -> impl IntoView {
    let auth = use_auth();
    let confirming = RwSignal::new(None::<Change>);
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    // A change the server wants a fresh sign-in for: confirmed, it is sent again.
    let stale = RwSignal::new(None::<Change>);
    let user = row.user.clone();
    let id = user.id;
    let email = StoredValue::new(user.email.clone());
    let role_change = if user.role == Role::Admin {
        Change::Demote
    } else {
        Change::Promote
    };
    let access_change = if row.disabled { Change::Enable } else { Change::Disable };

    let apply = move |change: Change| {
        busy.set(true);
        failure.set(None);
        leptos::task::spawn_local(async move {
            let request = change.request(id);
            match api::call_empty(auth, request).await {
                Ok(()) => changed(change.done(&email.get_value())),
                Err(f) => {
                    busy.try_set(false);
                    confirming.try_set(None);
                    if f.is(latchkey_types::ErrorCode::ReauthRequired) {
                        stale.try_set(Some(change));
                    } else {
                        failure.try_set(Some(f.message()));
                    }
                }
            }
        });
    };
    let has_factor = row.factors.has_second_factor();
    let factors_text = factors_text(&row.factors);
    let sessions_href = format!("/admin/users/{id}?email={}", encode_component(&user.email));

    view! {
        <tr data-email=user.email.clone() class:disabled=row.disabled>
            <td>
                {user.email.clone()} " "
                {match &user.email_verified_at {
                    Some(at) => view! {
                        <span class="badge" data-testid="email-state" title=format!("confirmed {}", date_time(at))>"confirmed"</span>
                    }.into_any(),
                    None => view! { <span class="badge badge-warn" data-testid="email-state">"not confirmed"</span> }.into_any(),
                }}
            </td>
            <td>{user.display_name.clone().unwrap_or_default()}</td>
            <td>{user.role.as_str()}</td>
            <td>{if row.disabled { "disabled" } else { "active" }}</td>
            <td data-testid="factors">{factors_text.clone()}</td>
            <td>{date_time(&user.created_at)}</td>
            <td class="row-actions">
                <Show
                    when=move || confirming.get().is_some()
                    fallback=move || view! {
                        <button type="button" class="button-secondary button-small"
                            on:click=move |_| confirming.set(Some(role_change))>{role_change.button()}</button>
                        <button type="button" class="button-secondary button-small"
                            on:click=move |_| confirming.set(Some(access_change))>{access_change.button()}</button>
                        {has_factor.then(|| view! {
                            <button type="button" class="button-secondary button-small"
                                on:click=move |_| confirming.set(Some(Change::ResetFactors))>{Change::ResetFactors.button()}</button>
                        })}
                        <a href=sessions_href.clone()>"Sessions"</a>
                    }
                >
                    {move || confirming.get().map(|change| view! {
                        <div class="confirm" role="group" aria-label="Confirm">
                            <p>{change.question(&email.get_value())}</p>
                            <button type="button" class="button-danger button-small" disabled=busy
                                on:click=move |_| apply(change)>
                                {move || if busy.get() { "Saving…".to_string() } else { format!("Yes, {}", change.button().to_lowercase()) }}
                            </button>
                            <button type="button" class="button-secondary button-small"
                                on:click=move |_| confirming.set(None)>"Cancel"</button>
                        </div>
                    })}
                </Show>
                {move || failure.get().map(|text| view! { <p class="field-error" role="alert">{text}</p> })}
                {move || stale.get().map(|change| {
                    let retry = Callback::new(move |()| {
                        stale.set(None);
                        apply(change);
                    });
                    view! { <StepUp on_confirmed=retry/> }
                })}
            </td>
        </tr>
    }
}

/// "app, 10 codes left; last used never", "app + 2 passkeys, …", "off":
/// which second factors, and when any of them last signed in.
fn factors_text(factors: &MfaStatus) -> String {
    if !factors.has_second_factor() {
        return "off".to_string();
    }
    let mut kinds = Vec::new();
    if factors.totp_enabled_at.is_some() {
        kinds.push("app".to_string());
    }
    match factors.passkeys.len() {
        0 => {}
        1 => kinds.push("1 passkey".to_string()),
        n => kinds.push(format!("{n} passkeys")),
    }
    let last_used = factors
        .passkeys
        .iter()
        .filter_map(|p| p.last_used_at)
        .chain(factors.totp_last_used_at)
        .max()
        .as_ref()
        .map(date_time)
        .unwrap_or_else(|| "never".into());
    format!(
        "{}, {} codes left; last used {last_used}",
        kinds.join(" + "),
        factors.recovery_codes_left
    )
}
