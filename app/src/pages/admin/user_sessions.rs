//! One user's live sessions and API keys, each revocable by the
//! administrator.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use uuid::Uuid;

use super::AdminTabs;
use crate::components::gate::RequireAdmin;
use crate::components::sessions::{SessionScope, Sessions};
use crate::pages::api_keys::{ApiKeys, KeyScope};

#[component]
pub fn AdminUserSessionsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let user = move || params.with(|p| p.get("id").and_then(|id| Uuid::parse_str(&id).ok()));
    // For the heading only: the server decides whose sessions these are.
    let email = move || query.with(|q| q.get("email")).unwrap_or_else(|| "this user".into());
    let unchanged = RwSignal::new(0_u32);
    view! {
        <Title text="User sessions"/>
        <RequireAdmin>
            <div class="stack" data-signed-in="true">
                <h1>"Sessions of " {email}</h1>
                <AdminTabs/>
                {move || match user() {
                    Some(id) => view! {
                        <Sessions changed=unchanged.read_only() scope=SessionScope::OfUser(id)/>
                        <ApiKeys scope=KeyScope::OfUser(id)/>
                    }
                    .into_any(),
                    None => view! { <p class="alert" role="alert">"That is not a user id."</p> }.into_any(),
                }}
            </div>
        </RequireAdmin>
    }
}
