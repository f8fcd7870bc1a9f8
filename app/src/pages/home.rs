//! The landing page: what Latchkey is and where to go next.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text=""/>
        <section class="hero">
            <h1>"Sign in once. Stay signed in safely."</h1>
            <p class="lead">
                "Latchkey keeps a short-lived access token in memory only and renews it through an "
                "HttpOnly cookie. Every sign-in is a server-side session you can see and revoke."
            </p>
            <p class="actions">
                <A href="/register" attr:class="button">"Create an account"</A>
                <A href="/login" attr:class="button button-secondary">"Sign in"</A>
            </p>
        </section>
    }
}
