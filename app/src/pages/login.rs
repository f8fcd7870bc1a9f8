//! Sign in. The form arrives with the browser-app issue; the route exists now
//! so links and navigation are real.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn LoginPage() -> impl IntoView {
    view! {
        <Title text="Sign in"/>
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <p class="muted">"Signing in from the browser is not available yet."</p>
            <p>"New here? " <A href="/register">"Create an account"</A></p>
        </section>
    }
}
