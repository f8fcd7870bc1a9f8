//! The admin area: users, one user's sessions, the audit log. Every page
//! sits behind `RequireAdmin`; the server enforces the same rule on every
//! `/api/admin/*` call, so these pages are a view, never the gate.

pub mod audit;
pub mod user_sessions;
pub mod users;

use leptos::prelude::*;
use leptos_router::components::A;

/// The admin area's own links, above each of its pages.
#[component]
fn AdminTabs() -> impl IntoView {
    view! {
        <nav class="admin-tabs" aria-label="Admin">
            <A href="/admin/users">"Users"</A>
            <A href="/admin/audit">"Audit log"</A>
        </nav>
    }
}
