//! The top bar: the product name and the main links.

use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn Nav() -> impl IntoView {
    view! {
        <header class="topbar">
            <nav class="container topbar-inner" aria-label="Main">
                <A href="/" attr:class="brand">"Latchkey"</A>
                <ul class="nav-links">
                    <li><A href="/account">"Account"</A></li>
                    <li><A href="/login">"Sign in"</A></li>
                    <li><A href="/register" attr:class="button button-small">"Create account"</A></li>
                </ul>
            </nav>
        </header>
    }
}
