//! The signed-in user's account. Filled in by the browser-app issue.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <Title text="Account"/>
        <section class="card narrow">
            <h1>"Your account"</h1>
            <p class="muted">"You are not signed in."</p>
            <p><A href="/login">"Sign in"</A></p>
        </section>
    }
}
