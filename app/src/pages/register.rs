//! Create an account. The form arrives with the browser-app issue.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn RegisterPage() -> impl IntoView {
    view! {
        <Title text="Create account"/>
        <section class="card narrow">
            <h1>"Create an account"</h1>
            <p class="muted">"Registration from the browser is not available yet."</p>
            <p>"Already have an account? " <A href="/login">"Sign in"</A></p>
        </section>
    }
}
